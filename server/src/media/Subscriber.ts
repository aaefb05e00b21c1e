import { randomUUID } from 'node:crypto';
import type { RTCPeerConnection, RTCRtpCodecParameters, RTCRtpSender, RtpPacket } from 'werift';
import { viewerCodec, type MediaKind } from './codecs';
import { RtpForwarder, type ClockMapping } from './RtpForwarder';
import {
  addRemoteCandidate,
  assertSdpOffer,
  createPeerConnection,
  negotiating,
  type MediaNetworkOptions,
  type RemoteCandidate,
} from './peer-config';

export interface SubscriberSink {
  /** The connection is up: time to send a keyframe. */
  onReady(subscriber: Subscriber): void;
  onKeyframeRequest(): void;
  /** The viewer lost these packets (its sequence numbers). */
  onNack(subscriber: Subscriber, kind: MediaKind, lost: number[]): void;
  onClosed(subscriber: Subscriber): void;
}

/** One viewer's receive-only connection. Each has its own SSRCs, sequence numbers and timestamps (werift's sender rewrites them). */
export class Subscriber {
  readonly id = randomUUID();
  private readonly pc: RTCPeerConnection;
  private readonly forwarders: Partial<Record<MediaKind, RtpForwarder>> = {};
  private ready = false;
  private closed = false;

  constructor(
    network: MediaNetworkOptions,
    private readonly codecs: Record<MediaKind, RTCRtpCodecParameters>,
    private readonly sink: SubscriberSink,
  ) {
    this.pc = createPeerConnection(
      network,
      {
        audio: [viewerCodec(codecs.audio)],
        video: [viewerCodec(codecs.video)],
      },
      'viewer',
    );
    this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected' && !this.ready && !this.closed) {
        this.ready = true;
        this.sink.onReady(this);
      } else if (state === 'failed' || state === 'closed') {
        this.close();
      }
    });
  }

  get isReady(): boolean {
    return this.ready && !this.closed;
  }

  /** Socket flow: the server offers, the viewer answers (`accept`). */
  async offer(): Promise<string> {
    return negotiating(async () => {
      for (const kind of ['audio', 'video'] as const) {
        this.watch(kind, this.pc.addTransceiver(kind, { direction: 'sendonly' }).sender);
      }
      await this.pc.setLocalDescription(await this.pc.createOffer());
      return this.pc.localDescription?.sdp ?? '';
    });
  }

  async accept(answerSdp: string): Promise<void> {
    await negotiating(() => this.pc.setRemoteDescription({ type: 'answer', sdp: answerSdp }));
  }

  /** WHEP flow: the viewer offers receive-only media and the server answers. */
  async answer(offerSdp: string): Promise<string> {
    assertSdpOffer(offerSdp);
    return negotiating(async () => {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
      for (const transceiver of this.pc.getTransceivers()) {
        const kind = transceiver.kind as MediaKind;
        if (this.forwarders[kind]) continue;
        transceiver.setDirection('sendonly');
        this.watch(kind, transceiver.sender);
      }
      await this.pc.setLocalDescription(await this.pc.createAnswer());
      return this.pc.localDescription?.sdp ?? '';
    });
  }

  addIceCandidate(candidate: RemoteCandidate): Promise<void> {
    return addRemoteCandidate(this.pc, candidate);
  }

  /** Whether this viewer can take the publisher's codec of `kind` as negotiated. */
  accepts(kind: MediaKind, codec: RTCRtpCodecParameters): boolean {
    const mine = this.codecs[kind];
    return mine.mimeType.toLowerCase() === codec.mimeType.toLowerCase();
  }

  send(kind: MediaKind, packet: RtpPacket, now: number): void {
    if (!this.ready || this.closed) return;
    this.forwarders[kind]?.send(packet, now);
  }

  /** Sends again what the viewer NACKed, found by the router in the stream's history. */
  resend(
    kind: MediaKind,
    outputSequence: number,
    lookup: (inputSequence: number) => RtpPacket | undefined,
  ): void {
    const forwarder = this.forwarders[kind];
    if (!forwarder || this.closed) return;
    const packet = lookup(forwarder.inputSequenceOf(outputSequence));
    if (packet) forwarder.resend(packet);
  }

  senderReport(kind: MediaKind, mapping: ClockMapping): void {
    if (!this.closed) this.forwarders[kind]?.senderReport(mapping);
  }

  /** The publisher changed (reconnected): keep this viewer's sequence numbers and timestamps continuous. */
  sourceChanged(): void {
    for (const forwarder of Object.values(this.forwarders)) forwarder.sourceChanged();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close().catch(() => undefined);
    this.sink.onClosed(this);
  }

  private watch(kind: MediaKind, sender: RTCRtpSender): void {
    this.forwarders[kind] = new RtpForwarder(sender, this.codecs[kind].clockRate);
    sender.onGenericNack.subscribe((nack) => this.sink.onNack(this, kind, nack.lost));
    if (kind === 'video') {
      sender.onPictureLossIndication.subscribe(() => this.sink.onKeyframeRequest());
    }
  }
}
