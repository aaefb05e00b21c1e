import { randomUUID } from 'node:crypto';
import {
  ReceiverEstimatedMaxBitrate,
  RtcpSrPacket,
  RtcpPayloadSpecificFeedback,
  type MediaStreamTrack,
  type RTCPeerConnection,
  type RTCRtpCodecParameters,
  type RTCRtpTransceiver,
  type RtpPacket,
} from 'werift';
import { publisherCodecs, type MediaKind } from './codecs';
import { startsKeyframe } from './keyframes';
import type { ClockMapping } from './RtpForwarder';
import { withVideoBitrates } from './sdp-bitrate';
import {
  addRemoteCandidate,
  assertSdpOffer,
  createPeerConnection,
  negotiating,
  type MediaNetworkOptions,
  type RemoteCandidate,
} from './peer-config';

export interface PublisherSink {
  /** One packet from the publisher; `keyframe` marks the first packet of a keyframe. */
  onRtp(kind: MediaKind, packet: RtpPacket, keyframe: boolean): void;
  /** The publisher's sender report for one kind: how its RTP clock maps to wall-clock time. */
  onSenderReport(kind: MediaKind, mapping: ClockMapping): void;
  onConnected(): void;
  /** The media connection failed or closed, or no packet came for `silenceMs`. */
  onLost(): void;
}

export interface PublisherOptions {
  network: MediaNetworkOptions;
  /** The bandwidth the server tells the publisher it may use (REMB), in bit/s. */
  maxBitrate: number;
  /** With no packet for this long a connected publisher counts as lost. */
  silenceMs: number;
  /** A publisher that has not connected this long after negotiating is given up. Default 15 s. */
  connectTimeoutMs?: number;
}

/** The one incoming connection of a stream: a broadcaster's browser, or OBS over WHIP. */
export class Publisher {
  readonly id = randomUUID();
  readonly codecs: Partial<Record<MediaKind, RTCRtpCodecParameters>> = {};
  private readonly pc: RTCPeerConnection;
  private videoSsrc: number | undefined;
  private videoTransceiver: RTCRtpTransceiver | undefined;
  private lastPacketAt = Date.now();
  private connected = false;
  private closed = false;
  private readonly timers: NodeJS.Timeout[] = [];

  constructor(
    private readonly options: PublisherOptions,
    private readonly sink: PublisherSink,
  ) {
    this.pc = createPeerConnection(options.network, publisherCodecs(), 'publisher');
    this.pc.onTrack.subscribe((track) => this.attach(track));
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.connected) {
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
    return negotiating(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      const answer = await this.pc.createAnswer();
      await this.pc.setLocalDescription(answer);
      for (const transceiver of this.pc.getTransceivers()) {
        const kind = transceiver.kind as MediaKind;
        const codec = transceiver.codecs[0];
        if (codec && !this.codecs[kind]) this.codecs[kind] = codec;
        if (kind === 'video') this.videoTransceiver ??= transceiver;
      }
      if (!this.codecs.audio && !this.codecs.video) {
        throw new Error('no audio or video codec in common');
      }
      this.startTimers();
      const max = Math.round(this.options.maxBitrate / 1000);
      return withVideoBitrates(this.pc.localDescription?.sdp ?? '', {
        start: Math.round(max * 0.6),
        min: Math.round(max * 0.2),
        max,
      });
    });
  }

  addIceCandidate(candidate: RemoteCandidate): Promise<void> {
    return addRemoteCandidate(this.pc, candidate);
  }

  /** Asks for a keyframe (RFC 4585 §6.3.1 PLI). The router decides how often. */
  requestKeyframe(): void {
    if (this.closed || this.videoSsrc === undefined || !this.videoTransceiver) return;
    this.videoTransceiver.receiver.sendRtcpPLI(this.videoSsrc).catch(() => undefined);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.pc.close().catch(() => undefined);
  }

  private attach(track: MediaStreamTrack): void {
    const kind = track.kind as MediaKind;
    const transceiver = this.pc.getTransceivers().find((t) => t.kind === kind);
    transceiver?.receiver.onRtcp.subscribe((packet) => {
      if (packet.type !== RtcpSrPacket.type) return;
      const report = packet as RtcpSrPacket;
      if (report.ssrc !== track.ssrc) return;
      this.sink.onSenderReport(kind, {
        ntpTimestamp: report.senderInfo.ntpTimestamp,
        rtpTimestamp: report.senderInfo.rtpTimestamp,
      });
    });
    if (kind === 'video') this.videoSsrc = track.ssrc;
    track.onReceiveRtp.subscribe((packet) => {
      if (this.closed) return;
      this.lastPacketAt = Date.now();
      if (kind === 'video' && this.videoSsrc !== packet.header.ssrc)
        this.videoSsrc = packet.header.ssrc;
      // The codec is known only once the answer is made, after `onTrack` fired: look it up here.
      const keyframe =
        kind === 'video' && startsKeyframe(this.codecs.video?.mimeType ?? '', packet.payload);
      this.sink.onRtp(kind, packet, keyframe);
    });
  }

  private startTimers(): void {
    // REMB once a second (draft-alvestrand-rmcat-remb): with no transport-cc, this is the
    // estimate Chrome trusts; without it Chrome stays far below the camera's resolution.
    this.timers.push(setInterval(() => this.sendRemb(), 1000));
    this.timers.push(
      setInterval(() => {
        if (this.connected && Date.now() - this.lastPacketAt > this.options.silenceMs) this.lose();
      }, 1000),
    );
    this.timers.push(
      setTimeout(() => {
        if (!this.connected) this.lose();
      }, this.options.connectTimeoutMs ?? 15_000),
    );
    for (const timer of this.timers) timer.unref();
  }

  private sendRemb(): void {
    if (!this.connected || this.videoSsrc === undefined || !this.videoTransceiver) return;
    let mantissa = this.options.maxBitrate;
    let exp = 0;
    while (mantissa > 0x3ffff) {
      mantissa >>= 1;
      exp += 1;
    }
    const remb = new ReceiverEstimatedMaxBitrate({
      senderSsrc: 1,
      mediaSsrc: 0,
      ssrcNum: 1,
      brExp: exp,
      brMantissa: mantissa,
      bitrate: BigInt(this.options.maxBitrate),
      ssrcFeedbacks: [this.videoSsrc],
    });
    this.videoTransceiver.receiver.dtlsTransport
      .sendRtcp([new RtcpPayloadSpecificFeedback({ feedback: remb })])
      .catch(() => undefined);
  }

  private lose(): void {
    if (this.closed) return;
    this.close();
    this.sink.onLost();
  }
}
