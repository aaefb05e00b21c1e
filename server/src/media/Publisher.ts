import type { PeerConnection, Track } from 'node-datachannel';
import { codecOf, type MediaKind, type StreamCodecs } from './codecs';
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

export interface PublisherSink {
  /** One packet from the publisher (normalized); `keyframe` marks the first packet of a keyframe. */
  onRtp(kind: MediaKind, packet: Buffer, keyframe: boolean): void;
  /** The publisher's sender report for one kind: how its RTP clock maps to wall-clock time. */
  onSenderReport(kind: MediaKind, mapping: ClockMapping): void;
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
  private videoSsrc: number | undefined;
  /** The next video sequence number expected, to see upstream loss. */
  private expectedVideoSeq = -1;
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
    for (const section of sections) {
      if (section.kind !== 'audio' && section.kind !== 'video') continue;
      const format = choosePublisherFormat(section);
      if (!format || this.codecs[section.kind]) continue;
      this.codecs[section.kind] = codecOf(section.kind, format);
      keep.set(section.mid, format.payloadType);
    }
    if (!this.codecs.audio && !this.codecs.video)
      throw new MediaError(
        'invalid_sdp',
        'The session description could not be used',
        'no Opus, VP8 or H.264 in the offer',
      );
    negotiating('offer', () =>
      this.pc.setRemoteDescription(offererAsDtlsClient(restrictOffer(offerSdp, keep)), 'offer'),
    );
    this.startTimers();
    const max = Math.round(this.options.maxBitrate / 1000);
    return withVideoBitrates(await gatheredDescription(this.pc, this.options.network), {
      start: Math.round(max * 0.6),
      min: Math.round(max * 0.2),
      max,
    });
  }

  addIceCandidate(candidate: RemoteCandidate): void {
    addRemoteCandidate(this.pc, candidate, this.mids);
  }

  /** Asks for a keyframe (RFC 4585 §6.3.1 PLI). The router decides how often. */
  requestKeyframe(): void {
    if (this.closed || this.videoSsrc === undefined || !this.videoTrack) return;
    publisherTotals.keyframeRequests += 1;
    this.sendRtcp(pictureLossIndication(serverSsrc, this.videoSsrc));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    for (const track of this.tracks) track.close();
    this.pc.close();
  }

  private attach(track: Track): void {
    this.tracks.push(track);
    const kind: MediaKind = track.type() === 'video' ? 'video' : 'audio';
    if (kind === 'video') this.videoTrack ??= track;
    track.onMessage((message) => {
      if (this.closed) return;
      if (isRtcp(message)) this.senderReports(kind, message);
      else this.receive(kind, message);
    });
  }

  private receive(kind: MediaKind, raw: Buffer): void {
    const packet = normalizeRtp(raw);
    this.lastPacketAt = Date.now();
    if (this.quiet) {
      this.quiet = false;
      this.sink.onQuiet(false);
    }
    if (!packet) return;
    let keyframe = false;
    if (kind === 'video') {
      const ssrc = rtpSsrc(packet);
      if (this.videoSsrc !== ssrc) {
        this.videoSsrc = ssrc;
        this.expectedVideoSeq = -1;
      }
      this.detectLoss(rtpSequence(packet));
      // The codec is known once the answer is made, before any packet arrives.
      keyframe = startsKeyframe(this.codecs.video?.mimeType ?? '', packet, 12);
    }
    this.sink.onRtp(kind, packet, keyframe);
  }

  /** Upstream loss: NACK what is missing (RFC 4585 §6.2.1) so the publisher resends it. */
  private detectLoss(sequence: number): void {
    if (this.expectedVideoSeq >= 0) {
      const gap = (sequence - this.expectedVideoSeq) & 0xffff;
      if (gap >= 0x8000) return; // late or resent: leave the expectation where it is
      if (gap > 0 && gap <= maxNackGap && this.videoSsrc !== undefined) {
        const lost = Array.from({ length: gap }, (_, i) => (this.expectedVideoSeq + i) & 0xffff);
        publisherTotals.nacksSent += 1;
        this.sendRtcp(genericNack(serverSsrc, this.videoSsrc, lost));
      }
    }
    this.expectedVideoSeq = (sequence + 1) & 0xffff;
  }

  private senderReports(kind: MediaKind, message: Buffer): void {
    for (const item of rtcpPackets(message)) {
      if (item.type !== rtcpType.senderReport) continue;
      const report = readSenderReport(message, item);
      if (report) this.sink.onSenderReport(kind, report.mapping);
    }
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
    this.timers.push(
      setInterval(() => {
        if (this.connected && this.videoSsrc !== undefined)
          this.sendRtcp(
            receiverEstimatedMaxBitrate(serverSsrc, this.options.maxBitrate, this.videoSsrc),
          );
      }, 1000),
    );
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
