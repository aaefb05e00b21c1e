import type { RTCRtpCodecParameters, RtpPacket } from 'werift';
import type { MediaKind } from './codecs';
import { GopCache } from './GopCache';
import { RetransmissionBuffer } from './RetransmissionBuffer';
import { MediaError } from './MediaError';
import type { MediaNetworkOptions } from './peer-config';
import { Publisher, type PublisherOptions } from './Publisher';
import { Subscriber } from './Subscriber';

export interface RouterListener {
  publisherConnected(router: StreamRouter, publisher: Publisher): void;
  publisherLost(router: StreamRouter, publisher: Publisher): void;
  subscriberClosed(router: StreamRouter, subscriber: Subscriber): void;
}

/** At most one keyframe request per this many ms reaches the publisher, however many viewers ask. */
const keyframeRequestIntervalMs = 1000;

/**
 * One live stream's media: one publisher, any number of subscribers. RTP is forwarded without
 * decoding; the router owns its children and closing it closes them all.
 */
export class StreamRouter {
  private publisher: Publisher | undefined;
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly gop = new GopCache();
  private readonly history = {
    audio: new RetransmissionBuffer(256),
    video: new RetransmissionBuffer(1024),
  };
  /** The codecs of the latest publisher, kept through a reconnect so viewers can still join. */
  private codecs: Record<MediaKind, RTCRtpCodecParameters> | undefined;
  private lastKeyframeRequestAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    readonly streamId: string,
    private readonly network: MediaNetworkOptions,
    private readonly publisherOptions: Omit<PublisherOptions, 'network'>,
    private readonly listener: RouterListener,
  ) {}

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Whether a publisher ever negotiated here (viewers can be offered its codecs). */
  get hasCodecs(): boolean {
    return this.codecs !== undefined;
  }

  get hasLivePublisher(): boolean {
    return this.publisher !== undefined;
  }

  /** Accepts a publisher unless one is already there; a lost publisher's replacement resumes the stream. */
  async publish(offerSdp: string): Promise<{ publisher: Publisher; answer: string }> {
    this.assertOpen();
    if (this.publisher)
      throw new MediaError('publisher_exists', 'This stream already has a publisher');
    const publisher: Publisher = new Publisher(
      { ...this.publisherOptions, network: this.network },
      {
        onRtp: (kind, packet, keyframe) => this.forward(kind, packet, keyframe),
        onSenderReport: (kind, mapping) => {
          for (const subscriber of this.subscribers.values())
            subscriber.senderReport(kind, mapping);
        },
        onConnected: () => this.listener.publisherConnected(this, publisher),
        onLost: () => {
          if (this.publisher === publisher) this.publisher = undefined;
          this.listener.publisherLost(this, publisher);
        },
      },
    );
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
    const codecs = this.completeCodecs(publisher);
    this.adoptCodecs(codecs);
    return { publisher, answer };
  }

  /** A new viewer connection; `offer` (server offers) or `answer` (viewer offers, WHEP) negotiates it. */
  createSubscriber(): Subscriber {
    this.assertOpen();
    if (!this.codecs)
      throw new MediaError('no_publisher', 'The broadcaster has not started sending yet');
    const subscriber = new Subscriber(this.network, this.codecs, {
      onReady: (s) => this.welcome(s),
      onKeyframeRequest: () => this.requestKeyframe(),
      onNack: (s, kind, lost) => {
        const now = Date.now();
        for (const sequence of lost)
          s.resend(kind, sequence, (input) => this.history[kind].get(input, now));
      },
      onClosed: (s) => {
        this.subscribers.delete(s.id);
        this.listener.subscriberClosed(this, s);
      },
    });
    this.subscribers.set(subscriber.id, subscriber);
    return subscriber;
  }

  publisherById(id: string): Publisher | undefined {
    return this.publisher?.id === id ? this.publisher : undefined;
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
      this.publisher?.requestKeyframe();
      return;
    }
    this.keyframeTimer ??= setTimeout(() => {
      this.keyframeTimer = undefined;
      this.requestKeyframe();
    }, keyframeRequestIntervalMs - since);
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

  private forward(kind: MediaKind, packet: RtpPacket, keyframe: boolean): void {
    // Padding-only packets are the publisher probing its own uplink; viewers need none of them.
    if (packet.payload.length === 0) return;
    const now = Date.now();
    this.history[kind].push(packet, now);
    if (kind === 'video') this.gop.push(packet, keyframe);
    for (const subscriber of this.subscribers.values()) subscriber.send(kind, packet, now);
  }

  /** A viewer just connected: give it the current group of pictures so it can decode at once. */
  private welcome(subscriber: Subscriber): void {
    const now = Date.now();
    for (const packet of this.gop.snapshot()) subscriber.send('video', packet, now);
    this.requestKeyframe();
  }

  private completeCodecs(publisher: Publisher): Record<MediaKind, RTCRtpCodecParameters> {
    const fallback = this.codecs;
    const audio = publisher.codecs.audio ?? fallback?.audio;
    const video = publisher.codecs.video ?? fallback?.video;
    if (audio && video) return { audio, video };
    // A publisher with only one kind: the other m-line of the viewer's offer stays silent.
    const some = (audio ?? video) as RTCRtpCodecParameters;
    return { audio: audio ?? some, video: video ?? some };
  }

  /** A publisher replaced another: viewers with a matching codec continue seamlessly; others must rejoin. */
  private adoptCodecs(codecs: Record<MediaKind, RTCRtpCodecParameters>): void {
    const hadPublisher = this.codecs !== undefined;
    this.codecs = codecs;
    this.gop.clear();
    if (!hadPublisher) return;
    for (const subscriber of [...this.subscribers.values()]) {
      if (subscriber.accepts('video', codecs.video) && subscriber.accepts('audio', codecs.audio)) {
        subscriber.sourceChanged();
      } else {
        subscriber.close();
      }
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new MediaError('closed', 'This stream has ended');
  }
}
