import { randomInt } from 'node:crypto';
import type { QualityChoice } from '@onair/protocol';
import { Audio, Video, type PeerConnection, type Track } from 'node-datachannel';
import { codecName, type Codec, type MediaKind, type StreamCodecs } from './codecs';
import { MediaError } from './MediaError';
import {
  addRemoteCandidate,
  createPeerConnection,
  gatheredDescription,
  negotiating,
  type MediaNetworkOptions,
  type RemoteCandidate,
} from './peer-config';
import { LayerForwarder } from './LayerForwarder';
import { LayerSelector } from './LayerSelector';
import { RtpForwarder } from './RtpForwarder';
import {
  feedbackMediaSsrc,
  isRtcp,
  nackedSequences,
  readRemb,
  readReportBlocks,
  rtcpPackets,
  rtcpType,
  type ClockMapping,
} from './rtp';
import { assertSdpOffer, matchViewerFormat, offererAsDtlsClient, parseMedia } from './sdp';

export interface SubscriberSink {
  /** The connection is up: time to send a keyframe. */
  onReady(subscriber: Subscriber): void;
  /** The viewer lost its picture (PLI or FIR): a keyframe of the stream it is sent. */
  onKeyframeRequest(subscriber: Subscriber): void;
  /** The viewer lost these packets (its sequence numbers). */
  onNack(subscriber: Subscriber, kind: MediaKind, lost: number[]): void;
  onClosed(subscriber: Subscriber): void;
}

export interface SubscriberOptions {
  network: MediaNetworkOptions;
  /** A viewer not connected this long after negotiating is given up (issue: no leaked sessions). */
  connectTimeoutMs: number;
}

const defaultMids: Record<MediaKind, string> = { audio: '0', video: '1' };
/** Loss is judged over windows of about this long. */
const lossWindowMs = 1000;

/** One viewer's send-only connection, with its own SSRCs, payload types, sequence numbers and timestamps. */
export class Subscriber {
  readonly forwarders: Partial<Record<MediaKind, RtpForwarder>> = {};
  /** The video's simulcast stream and temporal layers, and the policy choosing them. */
  video: LayerForwarder | undefined;
  readonly selector: LayerSelector;
  private readonly pc: PeerConnection;
  /** libdatachannel drops a track's callbacks with its JS wrapper: keep every track referenced. */
  private readonly tracks: Track[] = [];
  private mids: string[] = [];
  private readonly timer: NodeJS.Timeout;
  private ready = false;
  private closed = false;
  /** Where the current loss window started: the viewer's totals then. */
  private lossFrom: { at: number; lost: number; highest: number } | undefined;

  constructor(
    readonly id: string,
    private readonly options: SubscriberOptions,
    readonly codecs: StreamCodecs,
    private readonly sink: SubscriberSink,
    quality: QualityChoice = 'auto',
  ) {
    // Only VP8's payload descriptor says which temporal layer a picture is of.
    this.selector = new LayerSelector({
      temporalLayers: codecs.video?.mimeType.toLowerCase() === 'video/vp8',
      startAtTop: true,
      // Temporal layers go on sustained loss only, never on the estimate: right after a
      // congested layer is left, the browser's estimate is at its lowest and lags what the lower
      // layer needs, so dropping frames on it would only slow the recovery (measured under tc).
      temporalOneBelow: 0,
      temporalZeroBelow: 0,
    });
    this.selector.setChoice(quality, Date.now());
    this.pc = createPeerConnection(options.network, 'viewer');
    this.pc.onStateChange((state) => {
      if (state === 'failed' || state === 'closed') this.close();
    });
    this.timer = setTimeout(() => {
      if (!this.ready) this.close();
    }, options.connectTimeoutMs);
    this.timer.unref();
  }

  get isReady(): boolean {
    return this.ready && !this.closed;
  }

  setQuality(quality: QualityChoice): void {
    this.selector.setChoice(quality, Date.now());
  }

  /** Socket flow: the server offers, the viewer answers (`accept`). */
  async offer(): Promise<string> {
    for (const kind of ['audio', 'video'] as const) {
      const codec = this.codecs[kind];
      if (codec) this.addTrack(kind, defaultMids[kind], codec, codec.payloadType);
    }
    this.mids = this.tracks.map((t) => t.mid());
    negotiating('offer', () => this.pc.setLocalDescription());
    return gatheredDescription(this.pc, this.options.network);
  }

  accept(answerSdp: string): void {
    negotiating('answer', () => this.pc.setRemoteDescription(answerSdp, 'answer'));
  }

  /** WHEP flow: the viewer offers receive-only media and the server answers. */
  async answer(offerSdp: string): Promise<string> {
    assertSdpOffer(offerSdp);
    const sections = parseMedia(offerSdp);
    this.mids = sections.map((s) => s.mid);
    for (const kind of ['audio', 'video'] as const) {
      const codec = this.codecs[kind];
      const section = sections.find((s) => s.kind === kind);
      if (!codec || !section) continue;
      const format = matchViewerFormat(section, { name: codecName(codec), fmtp: codec.fmtp });
      if (!format && kind === 'video')
        throw new MediaError(
          'invalid_sdp',
          'The session description could not be used',
          `the viewer cannot receive ${codec.mimeType}`,
        );
      // A track with the offer's mid answers that m-section with our SSRC and codec.
      if (format) this.addTrack(kind, section.mid, codec, format.payloadType);
    }
    negotiating('offer', () =>
      this.pc.setRemoteDescription(offererAsDtlsClient(offerSdp), 'offer'),
    );
    return gatheredDescription(this.pc, this.options.network);
  }

  addIceCandidate(candidate: RemoteCandidate): void {
    addRemoteCandidate(this.pc, candidate, this.mids);
  }

  /**
   * Sends again what the viewer NACKed, found by the router in the stream's history. Only what
   * came from the stream it is sent now: across a switch the timestamps no longer line up.
   */
  resend(
    kind: MediaKind,
    outputSequence: number,
    lookup: (encoding: number, inputSequence: number) => Buffer | undefined,
    out: (packet: Buffer) => Buffer,
  ): void {
    const forwarder = this.forwarders[kind];
    if (!forwarder || !this.isReady) return;
    const input = forwarder.inputOf(outputSequence);
    if (!input || (kind === 'video' && input.source !== this.video?.current)) return;
    const packet = lookup(input.source, input.sequence);
    if (!packet) return;
    if (kind === 'video' && this.video)
      this.video.resend(out(packet), outputSequence, packet.readUInt32BE(4));
    else forwarder.resend(out(packet), outputSequence, packet.readUInt32BE(4));
  }

  /** The publisher's clock mapping for one kind, and for video the simulcast stream it is of. */
  senderReport(kind: MediaKind, mapping: ClockMapping, encoding: number): void {
    if (!this.isReady) return;
    if (kind === 'video' && encoding !== this.video?.current) return;
    this.forwarders[kind]?.senderReport(mapping);
  }

  /** The publisher changed (reconnected): keep this viewer's sequence numbers and timestamps continuous. */
  sourceChanged(kind?: MediaKind): void {
    if (kind !== 'video') this.forwarders.audio?.sourceChanged();
    if (kind !== 'audio') this.video?.sourceChanged();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    for (const track of this.tracks) track.close();
    this.pc.close();
    this.sink.onClosed(this);
  }

  private addTrack(kind: MediaKind, mid: string, codec: Codec, payloadType: number): void {
    const forwarderSsrc = randomInt(1, 0xffffffff);
    const description = kind === 'audio' ? new Audio(mid, 'SendOnly') : new Video(mid, 'SendOnly');
    const name = codecName(codec).toLowerCase();
    if (description instanceof Audio) description.addOpusCodec(payloadType);
    else if (name === 'h264') description.addH264Codec(payloadType, codec.fmtp);
    else description.addVP8Codec(payloadType);
    description.addSSRC(forwarderSsrc, 'onair', 'onair', `onair-${kind}`);
    const track = this.pc.addTrack(description);
    this.tracks.push(track);
    // Ready when every track is open: sending on a track that is not throws inside the library.
    track.onOpen(() => {
      if (!this.ready && !this.closed && this.tracks.every((t) => t.isOpen())) {
        this.ready = true;
        clearTimeout(this.timer);
        this.sink.onReady(this);
      }
    });
    track.onClosed(() => this.close());
    const forwarder = new RtpForwarder(
      (packet) => track.sendMessageBinary(packet),
      payloadType,
      codec.clockRate,
      forwarderSsrc,
    );
    this.forwarders[kind] = forwarder;
    if (kind === 'video') this.video = new LayerForwarder(forwarder);
    track.onMessage((message) => this.feedback(message));
  }

  /**
   * Loss over about a second, from the report blocks' running totals (RFC 3550 §6.4.1). Not each
   * block's own fraction: a browser reports many times a second, so one packet lost of the two
   * since its last report reads as 50%.
   */
  private lossReport(cumulativeLost: number, highestSequence: number, now: number): void {
    const from = this.lossFrom;
    if (!from || highestSequence < from.highest) {
      this.lossFrom = { at: now, lost: cumulativeLost, highest: highestSequence };
      return;
    }
    if (now - from.at < lossWindowMs) return;
    const expected = highestSequence - from.highest;
    const lost = cumulativeLost - from.lost;
    if (expected > 0) this.selector.onLoss(Math.max(0, Math.min(1, lost / expected)), now);
    this.lossFrom = { at: now, lost: cumulativeLost, highest: highestSequence };
  }

  /**
   * The viewer's RTCP (decrypted by libdatachannel): keyframe requests and NACKs, and what the
   * layer policy weighs: its bandwidth estimate (REMB) and the loss it reports.
   */
  private feedback(message: Buffer): void {
    if (this.closed || !isRtcp(message)) return;
    const now = Date.now();
    for (const item of rtcpPackets(message)) {
      if (item.type === rtcpType.payloadFeedback && (item.format === 1 || item.format === 4)) {
        this.sink.onKeyframeRequest(this);
      } else if (item.type === rtcpType.payloadFeedback && item.format === 15) {
        const remb = readRemb(message, item);
        if (remb) this.selector.onEstimate(remb.bitrate, now);
      } else if (item.type === rtcpType.receiverReport || item.type === rtcpType.senderReport) {
        const video = this.forwarders.video?.ssrc;
        for (const block of readReportBlocks(message, item))
          if (block.ssrc === video)
            this.lossReport(block.cumulativeLost, block.highestSequence, now);
      } else if (item.type === rtcpType.transportFeedback && item.format === 1) {
        const ssrc = feedbackMediaSsrc(message, item);
        const kind = this.forwarders.video?.ssrc === ssrc ? 'video' : 'audio';
        if (this.forwarders[kind]?.ssrc === ssrc)
          this.sink.onNack(this, kind, nackedSequences(message, item));
      }
    }
  }
}
