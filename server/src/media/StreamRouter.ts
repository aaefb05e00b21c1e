import type { QualityChoice } from '@onair/protocol';
import { sameCodec, type MediaKind, type StreamCodecs } from './codecs';
import { GopCache } from './GopCache';
import { MediaError } from './MediaError';
import { Publisher, type PublisherOptions } from './Publisher';
import { RetransmissionBuffer } from './RetransmissionBuffer';
import { rtpSequence, rtpSsrc, rtpTimestamp, type ClockMapping } from './rtp';
import { Subscriber, type SubscriberOptions } from './Subscriber';

export interface RouterListener {
  publisherConnected(router: StreamRouter, publisher: Publisher): void;
  publisherLost(router: StreamRouter, publisher: Publisher): void;
  publisherQuiet(router: StreamRouter, publisher: Publisher, quiet: boolean): void;
  subscriberConnected(router: StreamRouter, subscriber: Subscriber): void;
  subscriberClosed(router: StreamRouter, subscriber: Subscriber): void;
}

/** Where a router's media goes besides its own viewers: other workers holding viewers of the stream. */
export interface RouterRelay {
  /** Passes one packet (or a sender report) on to every worker relaying this stream. */
  forward(kind: MediaKind, packet: Buffer, keyframe: boolean): void;
  senderReport(kind: MediaKind, mapping: ClockMapping): void;
  /** A relayed router's keyframe request, sent back to the worker holding the publisher. */
  requestKeyframe(): void;
  /**
   * Whether this worker is fed from another node: it then passes the stream on to the other
   * workers of its node, as the publisher's worker does.
   */
  readonly fedFromNode: boolean;
  /** A viewer asked for a packet this worker's history lacks (asked of the origin node, if any). */
  lacking(kind: MediaKind, sequence: number): void;
}

/** At most one keyframe request per this many ms reaches the publisher, however many viewers ask. */
const keyframeRequestIntervalMs = 1000;
/** Room for the largest packet we forward: the path MTU is well under this. */
const maxPacketSize = 2048;

/**
 * One live stream's media on this worker: its publisher (or the relay from the worker that holds
 * it) and any number of subscribers. RTP is forwarded without decoding; the router owns its
 * children and closing it closes them all.
 */
export class StreamRouter {
  private publisher: Publisher | undefined;
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly gop = new GopCache();
  private readonly history = {
    audio: new RetransmissionBuffer(256),
    video: new RetransmissionBuffer(1024),
  };
  /** Each packet is written here once and patched per viewer: no allocation per viewer. */
  private readonly scratch = Buffer.allocUnsafe(maxPacketSize);
  private readonly sourceSsrc: Record<MediaKind, number> = { audio: -1, video: -1 };
  /** The codecs of the latest publisher, kept through a reconnect so viewers can still join. */
  private codecs: StreamCodecs | undefined;
  private lastKeyframeRequestAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly streamId: string,
    private readonly publisherOptions: PublisherOptions,
    private readonly subscriberOptions: SubscriberOptions,
    private readonly listener: RouterListener,
    /** Set on the worker holding the publisher when other workers hold viewers; on those, the way back. */
    public relay: RouterRelay | undefined = undefined,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  get hasLivePublisher(): boolean {
    return this.publisher !== undefined;
  }

  get streamCodecs(): StreamCodecs | undefined {
    return this.codecs;
  }

  /** Accepts a publisher unless one is already there; a lost publisher's replacement resumes the stream. */
  async publish(id: string, offerSdp: string): Promise<{ publisher: Publisher; answer: string }> {
    this.assertOpen();
    if (this.publisher)
      throw new MediaError('publisher_exists', 'This stream already has a publisher');
    const publisher: Publisher = new Publisher(id, this.publisherOptions, {
      onRtp: (kind, packet, keyframe) => this.forward(kind, packet, keyframe),
      onSenderReport: (kind, mapping) => this.senderReport(kind, mapping),
      onConnected: () => this.listener.publisherConnected(this, publisher),
      onQuiet: (quiet) => this.listener.publisherQuiet(this, publisher, quiet),
      onLost: () => {
        if (this.publisher === publisher) this.publisher = undefined;
        this.listener.publisherLost(this, publisher);
      },
    });
    // Claimed before the first await, so two offers at once cannot both become the publisher.
    this.publisher = publisher;
    let answer: string;
    try {
      answer = await publisher.answer(offerSdp);
    } catch (error) {
      publisher.close();
      if (this.publisher === publisher) this.publisher = undefined;
      throw error;
    }
    this.adoptCodecs({ ...this.codecs, ...publisher.codecs });
    return { publisher, answer };
  }

  /** A new viewer connection; `offer` (server offers) or `answer` (viewer offers, WHEP) negotiates it. */
  createSubscriber(id: string, quality: QualityChoice = 'auto'): Subscriber {
    this.assertOpen();
    if (!this.codecs?.video && !this.codecs?.audio)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
    const subscriber = new Subscriber(
      id,
      this.subscriberOptions,
      this.codecs,
      {
        onReady: (s) => {
          this.welcome(s);
          this.listener.subscriberConnected(this, s);
        },
        onKeyframeRequest: () => this.requestKeyframe(),
        onNack: (s, kind, lost) => {
          const now = Date.now();
          const lookUp = (input: number) => {
            const packet = this.history[kind].get(input, now);
            if (!packet) this.relay?.lacking(kind, input);
            return packet;
          };
          for (const sequence of lost)
            s.resend(kind, sequence, lookUp, (packet) => this.load(packet));
        },
        onClosed: (s) => {
          this.subscribers.delete(s.id);
          this.listener.subscriberClosed(this, s);
        },
      },
      quality,
    );
    this.subscribers.set(id, subscriber);
    return subscriber;
  }

  publisherById(id: string): Publisher | undefined {
    return this.publisher?.id === id ? this.publisher : undefined;
  }

  subscriberById(id: string): Subscriber | undefined {
    return this.subscribers.get(id);
  }

  closePublisher(id: string): void {
    const publisher = this.publisherById(id);
    if (!publisher) return;
    this.publisher = undefined;
    publisher.close();
    this.listener.publisherLost(this, publisher);
  }

  requestKeyframe(): void {
    if (this.closed) return;
    const since = Date.now() - this.lastKeyframeRequestAt;
    if (since >= keyframeRequestIntervalMs) {
      this.lastKeyframeRequestAt = Date.now();
      if (this.publisher) this.publisher.requestKeyframe();
      else this.relay?.requestKeyframe();
      return;
    }
    this.keyframeTimer ??= setTimeout(() => {
      this.keyframeTimer = undefined;
      this.requestKeyframe();
    }, keyframeRequestIntervalMs - since);
  }

  /** A publisher replaced another: viewers with a matching codec continue seamlessly; others must rejoin. */
  adoptCodecs(codecs: StreamCodecs): void {
    const previous = this.codecs;
    this.codecs = codecs;
    this.gop.clear();
    if (!previous) return;
    for (const subscriber of [...this.subscribers.values()]) {
      const fits = (['audio', 'video'] as const).every(
        (kind) => !subscriber.codecs[kind] || sameCodec(subscriber.codecs[kind], codecs[kind]),
      );
      if (fits) subscriber.sourceChanged();
      else subscriber.close();
    }
  }

  /** A packet still in the history (to answer an edge node's NACK). */
  historyPacket(kind: MediaKind, sequence: number): Buffer | undefined {
    return this.history[kind].get(sequence, Date.now());
  }

  /** The video packets a newly relayed worker needs to serve its first viewers at once. */
  gopSnapshot(): readonly Buffer[] {
    return this.gop.snapshot();
  }

  /** One packet from the publisher, here or (relayed) on another worker. */
  forward(kind: MediaKind, packet: Buffer, keyframe: boolean): void {
    if (this.closed) return;
    const now = Date.now();
    const ssrc = rtpSsrc(packet);
    if (ssrc !== this.sourceSsrc[kind]) {
      // A new source (the publisher reconnected): every viewer continues its own numbering.
      if (this.sourceSsrc[kind] !== -1)
        for (const subscriber of this.subscribers.values()) subscriber.sourceChanged(kind);
      this.sourceSsrc[kind] = ssrc;
    }
    const sequence = rtpSequence(packet);
    // A packet we already have: the publisher resent what a reordering made look lost.
    if (this.history[kind].get(sequence, now)) return;
    this.history[kind].push(packet, now);
    if (kind === 'video') this.gop.push(packet, keyframe);
    if (this.publisher || this.relay?.fedFromNode) this.relay?.forward(kind, packet, keyframe);
    if (this.subscribers.size === 0) return;
    const out = this.load(packet);
    const timestamp = rtpTimestamp(packet);
    for (const subscriber of this.subscribers.values()) {
      const forwarder = subscriber.isReady ? subscriber.forwarders[kind] : undefined;
      if (!forwarder) continue;
      try {
        forwarder.send(out, sequence, timestamp, now);
      } catch {
        subscriber.close();
      }
    }
  }

  senderReport(kind: MediaKind, mapping: ClockMapping): void {
    if (this.closed) return;
    if (this.publisher || this.relay?.fedFromNode) this.relay?.senderReport(kind, mapping);
    for (const subscriber of this.subscribers.values()) {
      try {
        subscriber.senderReport(kind, mapping);
      } catch {
        subscriber.close();
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.keyframeTimer) clearTimeout(this.keyframeTimer);
    this.publisher?.close();
    this.publisher = undefined;
    for (const subscriber of [...this.subscribers.values()]) subscriber.close();
    this.gop.clear();
    this.history.audio.clear();
    this.history.video.clear();
  }

  /** Copies a packet into the shared buffer; the returned view is what viewers are sent. */
  private load(packet: Buffer): Buffer {
    const length = Math.min(packet.length, maxPacketSize);
    packet.copy(this.scratch, 0, 0, length);
    return this.scratch.subarray(0, length);
  }

  /** A viewer just connected: give it the current group of pictures so it can decode at once. */
  private welcome(subscriber: Subscriber): void {
    const now = Date.now();
    const forwarder = subscriber.forwarders.video;
    try {
      for (const packet of forwarder ? this.gop.snapshot() : []) {
        forwarder?.send(this.load(packet), rtpSequence(packet), rtpTimestamp(packet), now);
      }
    } catch {
      subscriber.close();
      return;
    }
    this.requestKeyframe();
  }

  private assertOpen(): void {
    if (this.closed) throw new MediaError('closed', 'This stream has ended');
  }
}
