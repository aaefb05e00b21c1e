import { Video, type PeerConnection, type Track } from 'node-datachannel';
import { codecOf, sameFormat, type MediaKind, type StreamCodecs } from './codecs';
import { startsKeyframe } from './keyframes';
import { MediaError } from './MediaError';
import {
  addRemoteCandidate,
  createPeerConnection,
  gatheredDescription,
  negotiating,
  type MediaNetworkOptions,
  type RemoteCandidate,
} from './peer-config';
import {
  genericNack,
  isRtcp,
  normalizeRtp,
  pictureLossIndication,
  readSenderReport,
  receiverEstimatedMaxBitrate,
  rtcpPackets,
  rtcpType,
  rtpSequence,
  rtpSsrc,
  type ClockMapping,
} from './rtp';
import {
  assertSdpOffer,
  choosePublisherFormat,
  offererAsDtlsClient,
  parseMedia,
  restrictOffer,
} from './sdp';
import { withVideoBitrates } from './sdp-bitrate';
import { receiveOnlyVideoAnswer } from './publisher-sdp';

export interface PublisherSink {
  /**
   * One packet from the publisher (normalized); `keyframe` marks the first packet of a keyframe,
   * `encoding` which of its simulcast layers it belongs to (0 without simulcast).
   */
  onRtp(kind: MediaKind, packet: Buffer, keyframe: boolean, encoding: number): void;
  /** The publisher's sender report for one kind (and simulcast stream): its RTP clock against wall-clock time. */
  onSenderReport(kind: MediaKind, mapping: ClockMapping, encoding: number): void;
  onConnected(): void;
  /**
   * A connected publisher has sent nothing for `quietMs` (`true`), or sends again (`false`):
   * another may take its stream over meanwhile (issue 17).
   */
  onQuiet(quiet: boolean): void;
  /** The media connection failed or closed, or no packet came for `silenceMs`. */
  onLost(): void;
}

export interface PublisherOptions {
  network: MediaNetworkOptions;
  /** The bandwidth the server tells the publisher it may use (REMB), in bit/s. */
  maxBitrate: number;
  /** With no packet for this long a connected publisher counts as lost. */
  silenceMs: number;
  /** With no packet for this long a connected publisher is reported quiet (`onQuiet`). */
  quietMs: number;
  /** A publisher that has not connected this long after negotiating is given up. */
  connectTimeoutMs: number;
}

/** SSRC the server signs its own RTCP with (feedback to publishers). */
const serverSsrc = 0x6f6e6169;
/** Gaps wider than this are a new source or a reordering, not loss worth a NACK. */
const maxNackGap = 64;

/** Counters of every publisher in this process, read by the metrics. */
export const publisherTotals = { keyframeRequests: 0, nacksSent: 0 };

/** The one incoming connection of a stream: a broadcaster's browser, or OBS over WHIP. */
export class Publisher {
  readonly codecs: StreamCodecs = {};
  private readonly pc: PeerConnection;
  /** libdatachannel drops a track's callbacks with its JS wrapper: keep every track referenced. */
  private readonly tracks: Track[] = [];
  private videoTrack: Track | undefined;
  /** Each video SSRC's layer (its video section's place in the offer). */
  private readonly encodingOfSsrc = new Map<number, number>();
  /** Each simulcast stream's SSRC, and the next sequence number expected, to see upstream loss. */
  private readonly videoSsrcs: number[] = [];
  private readonly expectedVideoSeq: number[] = [];
  /** What the server tells the publisher it may send (REMB), bit/s: what its viewers can use. */
  private bitrate: number;
  private mids: string[] = [];
  private lastPacketAt = Date.now();
  private quiet = false;
  private connected = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    readonly id: string,
    private readonly options: PublisherOptions,
    private readonly sink: PublisherSink,
  ) {
    this.bitrate = options.maxBitrate;
    this.pc = createPeerConnection(options.network, 'publisher');
    this.pc.onTrack((track) => this.attach(track));
    this.pc.onStateChange((state) => {
      if (state === 'connected' && !this.connected && !this.closed) {
        this.connected = true;
        this.lastPacketAt = Date.now();
        this.sink.onConnected();
      } else if (state === 'failed' || state === 'closed') {
        this.lose();
      }
    });
  }

  get isConnected(): boolean {
    return this.connected && !this.closed;
  }

  /** Takes the publisher's offer (browser or WHIP) and returns the server's answer. */
  async answer(offerSdp: string): Promise<string> {
    assertSdpOffer(offerSdp);
    const sections = parseMedia(offerSdp);
    this.mids = sections.map((s) => s.mid);
    const keep = new Map<string, number>();
    const videoMids: string[] = [];
    for (const section of sections) {
      if (section.kind !== 'audio' && section.kind !== 'video') continue;
      const format = choosePublisherFormat(section);
      if (!format) continue;
      const codec = this.codecs[section.kind];
      if (section.kind === 'video') {
        // Up to three video sections of one codec are one camera's simulcast layers.
        if (codec && (videoMids.length >= 3 || !sameFormat(codec, format))) continue;
        videoMids.push(section.mid);
      } else if (codec) continue;
      this.codecs[section.kind] ??= codecOf(section.kind, format);
      keep.set(section.mid, format.payloadType);
    }
    if (!this.codecs.audio && !this.codecs.video)
      throw new MediaError(
        'invalid_sdp',
        'The session description could not be used',
        'no Opus, VP8 or H.264 in the offer',
      );
    if (this.codecs.video) this.codecs.video.layers = videoMids.length;
    videoMids.forEach((mid, encoding) => this.addVideoTrack(mid, encoding));
    negotiating('offer', () =>
      this.pc.setRemoteDescription(offererAsDtlsClient(restrictOffer(offerSdp, keep)), 'offer'),
    );
    this.startTimers();
    const max = Math.round(this.options.maxBitrate / 1000);
    let answer = await gatheredDescription(this.pc, this.options.network);
    for (const mid of videoMids) answer = receiveOnlyVideoAnswer(answer, mid);
    return withVideoBitrates(answer, {
      start: Math.round(max * 0.6),
      // Low enough that REMB can take the estimate down when viewers need little (layers paused).
      min: 100,
      max,
    });
  }

  /**
   * A video track, added before the offer is applied so that it answers one of the offer's video
   * sections: a track libdatachannel makes from a send-only offer is receive-only, and it drops
   * every packet the server writes to such a track, NACK, PLI and REMB included. Each video
   * section is one simulcast layer, `encoding` its place among them.
   */
  private addVideoTrack(mid: string, encoding: number): void {
    const codec = this.codecs.video;
    if (!codec) return;
    const description = new Video(mid, 'SendRecv');
    if (codec.mimeType.toLowerCase() === 'video/h264')
      description.addH264Codec(codec.payloadType, codec.fmtp);
    else description.addVP8Codec(codec.payloadType);
    this.attach(this.pc.addTrack(description), encoding);
  }

  addIceCandidate(candidate: RemoteCandidate): void {
    addRemoteCandidate(this.pc, candidate, this.mids);
  }

  /**
   * Asks for a keyframe of one simulcast stream, or of every one (RFC 4585 §6.3.1 PLI). The
   * router decides how often.
   */
  requestKeyframe(encoding?: number): void {
    if (this.closed || !this.videoTrack) return;
    const ssrcs =
      encoding === undefined ? this.videoSsrcs : [this.videoSsrcs[encoding] ?? this.videoSsrcs[0]];
    for (const ssrc of ssrcs) {
      if (ssrc === undefined) continue;
      publisherTotals.keyframeRequests += 1;
      this.sendRtcp(pictureLossIndication(serverSsrc, ssrc));
    }
  }

  /**
   * The bandwidth the publisher may use, told at once when it grows (a paused layer is needed
   * again) and with every periodic REMB.
   */
  setBitrate(bitrate: number): void {
    const next = Math.max(100_000, Math.min(this.options.maxBitrate, Math.round(bitrate)));
    const grows = next > this.bitrate * 1.1;
    this.bitrate = next;
    if (grows) this.sendRemb();
  }

  get maxBitrate(): number {
    return this.options.maxBitrate;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const track of this.tracks) track.close();
    this.pc.close();
  }

  /** `encoding`: for a video track the server added, which layer it carries. */
  private attach(track: Track, encoding?: number): void {
    const kind: MediaKind = track.type() === 'video' ? 'video' : 'audio';
    // A video section the server did not take (a fourth layer, another codec) gets no callbacks.
    if (kind === 'video' && encoding === undefined) return;
    this.tracks.push(track);
    if (kind === 'video') this.videoTrack ??= track;
    track.onMessage((message) => {
      if (this.closed) return;
      if (isRtcp(message)) this.senderReports(kind, message);
      else this.receive(kind, message, encoding ?? 0);
    });
  }

  private receive(kind: MediaKind, raw: Buffer, encoding: number): void {
    this.lastPacketAt = Date.now();
    if (this.quiet) {
      this.quiet = false;
      this.sink.onQuiet(false);
    }
    const packet = normalizeRtp(raw);
    if (!packet) return;
    let keyframe = false;
    if (kind === 'video') {
      const ssrc = rtpSsrc(packet);
      if (this.videoSsrcs[encoding] !== ssrc) {
        // A new source of this layer (the publisher started over): loss is counted afresh.
        const previous = this.videoSsrcs[encoding];
        if (previous !== undefined) this.encodingOfSsrc.delete(previous);
        this.videoSsrcs[encoding] = ssrc;
        this.encodingOfSsrc.set(ssrc, encoding);
        this.expectedVideoSeq[encoding] = -1;
      }
      this.detectLoss(encoding, rtpSequence(packet));
      // The codec is known once the answer is made, before any packet arrives.
      keyframe = startsKeyframe(this.codecs.video?.mimeType ?? '', packet, 12);
    }
    this.sink.onRtp(kind, packet, keyframe, encoding);
  }

  /** Upstream loss: NACK what is missing (RFC 4585 §6.2.1) so the publisher resends it. */
  private detectLoss(encoding: number, sequence: number): void {
    const expected = this.expectedVideoSeq[encoding] ?? -1;
    const ssrc = this.videoSsrcs[encoding];
    if (expected >= 0) {
      const gap = (sequence - expected) & 0xffff;
      if (gap >= 0x8000) return; // late or resent: leave the expectation where it is
      if (gap > 0 && gap <= maxNackGap && ssrc !== undefined) {
        const lost = Array.from({ length: gap }, (_, i) => (expected + i) & 0xffff);
        publisherTotals.nacksSent += 1;
        this.sendRtcp(genericNack(serverSsrc, ssrc, lost));
      }
    }
    this.expectedVideoSeq[encoding] = (sequence + 1) & 0xffff;
  }

  private senderReports(kind: MediaKind, message: Buffer): void {
    for (const item of rtcpPackets(message)) {
      if (item.type !== rtcpType.senderReport) continue;
      const report = readSenderReport(message, item);
      if (!report) continue;
      const encoding = kind === 'video' ? this.encodingOfSsrc.get(report.ssrc) : 0;
      if (encoding !== undefined) this.sink.onSenderReport(kind, report.mapping, encoding);
    }
  }

  private sendRemb(): void {
    const ssrc = this.videoSsrcs.find((s) => s !== undefined);
    if (this.connected && ssrc !== undefined)
      this.sendRtcp(receiverEstimatedMaxBitrate(serverSsrc, this.bitrate, ssrc));
  }

  private sendRtcp(packet: Buffer): void {
    try {
      this.videoTrack?.sendMessageBinary(packet);
    } catch {
      // The track closed under us; the state change will report it.
    }
  }

  private startTimers(): void {
    // REMB once a second (draft-alvestrand-rmcat-remb): with no transport-cc, this is the
    // estimate Chrome trusts; without it Chrome stays far below the camera's resolution.
    this.timers.push(setInterval(() => this.sendRemb(), 1000));
    // Twice a second, so a quiet publisher is reported within half a second of `quietMs`.
    this.timers.push(
      setInterval(() => {
        if (!this.connected || this.closed) return;
        const idleMs = Date.now() - this.lastPacketAt;
        if (idleMs > this.options.silenceMs) this.lose();
        else if (idleMs >= this.options.quietMs && !this.quiet) {
          this.quiet = true;
          this.sink.onQuiet(true);
        }
      }, 500),
    );
    this.timers.push(
      setTimeout(() => {
        if (!this.connected) this.lose();
      }, this.options.connectTimeoutMs),
    );
    for (const timer of this.timers) timer.unref();
  }

  private lose(): void {
    if (this.closed) return;
    this.close();
    this.sink.onLost();
  }
}
