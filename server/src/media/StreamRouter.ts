import type { QualityChoice, StreamLayer } from '@onair/protocol';
import { sameCodec, type MediaKind, type StreamCodecs } from './codecs';
import { keyframeSize } from './keyframes';
import { LayerSet } from './LayerSet';
import type { VideoPacket } from './LayerForwarder';
import { MediaError } from './MediaError';
import { Publisher, type PublisherOptions } from './Publisher';
import type { StreamRecorder } from './recording/StreamRecorder';
import { RateMeter } from './RateMeter';
import { RetransmissionBuffer } from './RetransmissionBuffer';
import { rtpSequence, rtpSsrc, rtpTimestamp, type ClockMapping } from './rtp';
import type { LayerDemand } from './StreamRelay';
import { readVp8 } from './vp8';
import { Subscriber, type SubscriberOptions } from './Subscriber';

export interface RouterListener {
  publisherConnected(router: StreamRouter, publisher: Publisher): void;
  publisherLost(router: StreamRouter, publisher: Publisher): void;
  publisherQuiet(router: StreamRouter, publisher: Publisher, quiet: boolean): void;
  subscriberConnected(router: StreamRouter, subscriber: Subscriber): void;
  subscriberClosed(router: StreamRouter, subscriber: Subscriber): void;
  /** The layers the publisher sends (the router holding the publisher only), on change and every few seconds. */
  layersChanged(router: StreamRouter, layers: StreamLayer[]): void;
}

/** Where a router's media goes besides its own viewers: other workers holding viewers of the stream. */
export interface RouterRelay {
  /** Passes one packet (or a sender report) on to every worker relaying this stream. */
  forward(kind: MediaKind, packet: Buffer, keyframe: boolean, encoding: number): void;
  senderReport(kind: MediaKind, mapping: ClockMapping, encoding: number): void;
  /** A relayed router's keyframe request, sent back to the worker holding the publisher. */
  requestKeyframe(encoding: number | undefined): void;
  /**
   * Whether this worker is fed from another node: it then passes the stream on to the other
   * workers of its node, as the publisher's worker does.
   */
  readonly fedFromNode: boolean;
  /** Whether other workers or nodes take the stream from this one (their viewers are unknown here). */
  readonly feedsOthers: boolean;
  /** A viewer asked for a packet this worker's history lacks (asked of the origin node, if any). */
  lacking(kind: MediaKind, sequence: number, encoding: number): void;
  /** What this worker's viewers (and those it feeds) need of the layers, told upstream. */
  reportDemand(demand: LayerDemand): void;
}

/** A downstream demand older than this is forgotten (it is renewed every second). */
const demandTtlMs = 5000;

/** At most one keyframe request per this many ms reaches the publisher, however many viewers ask. */
const keyframeRequestIntervalMs = 1000;
/** Room for the largest packet we forward: the path MTU is well under this. */
const maxPacketSize = 2048;
/** How often probe padding is sent. */
const tickMs = 100;
/**
 * How often each viewer's layer is decided (and the room told of a change in what is needed):
 * often enough to go down within 2 s of a 1 s shortfall, seldom enough to cost little per viewer
 * (deciding every 100 ms cost 2 µs per forwarded packet at 200 viewers).
 */
const decideMs = 500;
/** How often layers are measured, the publisher told what is useful and the room what is sent. */
const measureMs = 1000;
/** The layers are told to the room at least this often while the publisher sends. */
const layersReportMs = 5000;
/** Padding packets are this big (RFC 3550 §5.1 allows up to 255 bytes of padding). */
const paddingSize = 267;
/** A switch still waiting for its keyframe after this long asks for one again. */
const switchRetryMs = 1500;

/**
 * One live stream's media on this worker: its publisher (or the relay from the worker that holds
 * it) and any number of subscribers. RTP is forwarded without decoding; each viewer is sent the
 * one simulcast layer its network carries (its `LayerSelector` decides, its `LayerForwarder`
 * switches). The router owns its children and closing it closes them all.
 */
export class StreamRouter {
  private publisher: Publisher | undefined;
  private readonly subscribers = new Map<string, Subscriber>();
  private readonly layers = new LayerSet();
  private readonly audioHistory = new RetransmissionBuffer(256);
  /** The audio's rate: every viewer's estimate carries it beside the video layer. */
  private readonly audioRate = new RateMeter();
  /** Each packet is written here once and patched per viewer: no allocation per viewer. */
  private readonly scratch = Buffer.allocUnsafe(maxPacketSize);
  /** The packet being forwarded, as viewers' layer forwarders read it (one object, reused). */
  private readonly videoPacket: VideoPacket = {
    out: this.scratch,
    encoding: 0,
    sequence: 0,
    timestamp: 0,
    keyframe: false,
    vp8: undefined,
  };
  private audioSsrc = -1;
  private readonly videoSsrcs: number[] = [];
  /** The codecs of the latest publisher, kept through a reconnect so viewers can still join. */
  private codecs: StreamCodecs | undefined;
  private isVp8 = false;
  private lastKeyframeRequestAt = 0;
  private keyframeTimer: NodeJS.Timeout | undefined;
  private pendingKeyframe: number | undefined | null = null;
  private readonly ticker: NodeJS.Timeout;
  private measuredAt = 0;
  private decidedAt = 0;
  /** Viewers being probed, with their padding rate (bit/s). */
  private readonly probing = new Map<Subscriber, number>();
  private layersReportedAt = 0;
  private layersReported = '';
  /** What the workers and nodes fed from this router need, by sender. */
  private readonly downstream = new Map<string, LayerDemand & { at: number }>();
  private closed = false;
  /** Set where the publisher is and the stream is recorded (or packaged as HLS). */
  recorder: StreamRecorder | undefined;

  constructor(
    readonly streamId: string,
    private readonly publisherOptions: PublisherOptions,
    private readonly subscriberOptions: SubscriberOptions,
    private readonly listener: RouterListener,
    /** Set on the worker holding the publisher when other workers hold viewers; on those, the way back. */
    public relay: RouterRelay | undefined = undefined,
  ) {
    this.ticker = setInterval(() => this.tick(), tickMs);
    this.ticker.unref();
  }

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
      onRtp: (kind, packet, keyframe, encoding) => this.forward(kind, packet, keyframe, encoding),
      onSenderReport: (kind, mapping, encoding) => this.senderReport(kind, mapping, encoding),
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
        onKeyframeRequest: (s) => this.requestKeyframe(s.video?.current),
        onNack: (s, kind, lost) => {
          const now = Date.now();
          const lookUp = (encoding: number, input: number) => {
            const history =
              kind === 'audio' ? this.audioHistory : this.layers.get(encoding)?.history;
            const packet = history?.get(input, now);
            if (!packet) this.relay?.lacking(kind, input, encoding);
            return packet;
          };
          for (const sequence of lost)
            s.resend(kind, sequence, lookUp, (packet) => this.load(packet));
        },
        onClosed: (s) => {
          this.subscribers.delete(s.id);
          this.probing.delete(s);
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

  /**
   * Asks for a keyframe of one layer (or any), at most once a second for the whole stream: a
   * browser's simulcast encoder answers a request for one layer with a keyframe on every layer.
   */
  requestKeyframe(encoding?: number): void {
    if (this.closed) return;
    const since = Date.now() - this.lastKeyframeRequestAt;
    if (since >= keyframeRequestIntervalMs) {
      this.lastKeyframeRequestAt = Date.now();
      if (this.publisher) this.publisher.requestKeyframe(encoding);
      else this.relay?.requestKeyframe(encoding);
      return;
    }
    // One request waits: for a layer if only that layer was asked for, else for all.
    this.pendingKeyframe =
      this.pendingKeyframe === null || this.pendingKeyframe === encoding ? encoding : undefined;
    this.keyframeTimer ??= setTimeout(() => {
      this.keyframeTimer = undefined;
      const pending = this.pendingKeyframe;
      this.pendingKeyframe = null;
      if (pending !== null) this.requestKeyframe(pending);
    }, keyframeRequestIntervalMs - since);
  }

  /** A publisher replaced another: viewers with a matching codec continue seamlessly; others must rejoin. */
  adoptCodecs(codecs: StreamCodecs): void {
    const previous = this.codecs;
    this.codecs = codecs;
    this.isVp8 = codecs.video?.mimeType.toLowerCase() === 'video/vp8';
    this.layers.clear();
    this.layers.resize(codecs.video?.layers ?? 1);
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
  historyPacket(kind: MediaKind, sequence: number, encoding = 0): Buffer | undefined {
    const history = kind === 'audio' ? this.audioHistory : this.layers.get(encoding)?.history;
    return history?.get(sequence, Date.now());
  }

  /** Each layer's current group of pictures: what a newly relayed worker needs to serve its first viewers at once. */
  gopSnapshots(): { encoding: number; packets: readonly Buffer[] }[] {
    return this.layers.all().map((layer) => ({
      encoding: layer.encoding,
      packets: layer.gop.snapshot(),
    }));
  }

  /** One packet from the publisher, here or (relayed) on another worker. */
  forward(kind: MediaKind, packet: Buffer, keyframe: boolean, encoding = 0): void {
    if (this.closed) return;
    if (kind === 'audio') {
      this.forwardAudio(packet);
      return;
    }
    const layer = this.layers.get(encoding);
    if (!layer) return;
    const now = Date.now();
    const ssrc = rtpSsrc(packet);
    const previous = this.videoSsrcs[encoding];
    if (ssrc !== previous) {
      // A new source (the publisher reconnected): the viewers of this layer continue their own numbering.
      if (previous !== undefined)
        for (const subscriber of this.subscribers.values())
          if (subscriber.video?.current === encoding) subscriber.sourceChanged('video');
      this.videoSsrcs[encoding] = ssrc;
    }
    const sequence = rtpSequence(packet);
    // A packet we already have: the publisher resent what a reordering made look lost.
    if (layer.history.get(sequence, now)) return;
    layer.history.push(packet, now);
    layer.gop.push(packet, keyframe);
    this.layers.received(layer, packet.length, now);
    if (this.publisher) this.recorder?.packet('video', packet, encoding, now);
    if (keyframe) {
      const size = keyframeSize(this.codecs?.video?.mimeType ?? '', packet, 12);
      if (size) this.layers.sized(layer, size);
    }
    if (this.publisher || this.relay?.fedFromNode)
      this.relay?.forward('video', packet, keyframe, encoding);
    if (this.subscribers.size === 0) return;
    const p = this.videoPacket;
    p.out = this.load(packet);
    p.encoding = encoding;
    p.sequence = sequence;
    p.timestamp = rtpTimestamp(packet);
    p.keyframe = keyframe;
    p.vp8 = this.isVp8 ? readVp8(p.out, 12) : undefined;
    for (const subscriber of this.subscribers.values()) {
      const video = subscriber.isReady ? subscriber.video : undefined;
      if (!video) continue;
      try {
        video.send(p, now);
      } catch {
        subscriber.close();
      }
    }
  }

  senderReport(kind: MediaKind, mapping: ClockMapping, encoding = 0): void {
    if (this.closed) return;
    if (this.publisher || this.relay?.fedFromNode)
      this.relay?.senderReport(kind, mapping, encoding);
    for (const subscriber of this.subscribers.values()) {
      try {
        subscriber.senderReport(kind, mapping, encoding);
      } catch {
        subscriber.close();
      }
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.ticker);
    if (this.keyframeTimer) clearTimeout(this.keyframeTimer);
    this.publisher?.close();
    this.publisher = undefined;
    for (const subscriber of [...this.subscribers.values()]) subscriber.close();
    this.layers.clear();
    this.audioHistory.clear();
  }

  private forwardAudio(packet: Buffer): void {
    const now = Date.now();
    const ssrc = rtpSsrc(packet);
    if (ssrc !== this.audioSsrc) {
      if (this.audioSsrc !== -1)
        for (const subscriber of this.subscribers.values()) subscriber.sourceChanged('audio');
      this.audioSsrc = ssrc;
    }
    const sequence = rtpSequence(packet);
    if (this.audioHistory.get(sequence, now)) return;
    this.audioHistory.push(packet, now);
    this.audioRate.received(packet.length);
    if (this.publisher) this.recorder?.packet('audio', packet, 0, now);
    if (this.publisher || this.relay?.fedFromNode) this.relay?.forward('audio', packet, false, 0);
    if (this.subscribers.size === 0) return;
    const out = this.load(packet);
    const timestamp = rtpTimestamp(packet);
    for (const subscriber of this.subscribers.values()) {
      const forwarder = subscriber.isReady ? subscriber.forwarders.audio : undefined;
      if (!forwarder) continue;
      try {
        forwarder.send(out, sequence, timestamp, now);
      } catch {
        subscriber.close();
      }
    }
  }

  /**
   * Every 100 ms: each viewer's layer decision (a switch asks for the target layer's keyframe)
   * and its probe padding; every second, the layers' bit rates, what the publisher is told it may
   * send, and what the room is told is sent.
   */
  private tick(): void {
    if (this.closed) return;
    const now = Date.now();
    const measure = now - this.measuredAt >= measureMs;
    if (measure) {
      this.measuredAt = now;
      this.layers.measure(now);
      this.audioRate.measure(now);
    }
    if (measure || now - this.decidedAt >= decideMs) {
      this.decidedAt = now;
      const needs = measure ? this.layers.needsByRank() : undefined;
      for (const subscriber of this.subscribers.values()) {
        if (!subscriber.video || !subscriber.isReady) continue;
        try {
          if (needs) subscriber.selector.setLayers(needs, now, this.audioRate.bitrate);
          this.steer(subscriber, now);
        } catch {
          subscriber.close();
        }
      }
      this.reportLayers(now);
    }
    // The padding as of now, not as of the last decision: a probe that a falling estimate ended
    // stops at once, and the padding follows the estimate between decisions.
    for (const subscriber of this.probing.keys()) {
      const bps = subscriber.selector.probeBpsAt(now);
      if (bps > 0) this.pad(subscriber, bps);
      else this.probing.delete(subscriber);
    }
    if (measure) {
      this.tellPublisher();
      if (!this.publisher && this.relay) {
        const demand = this.demand(now);
        this.relay.reportDemand({
          wanted: this.subscribers.size === 0 && demand.remote < 0 ? -1 : demand.wanted,
          viewers: demand.viewers,
        });
      }
    }
  }

  /** Probe padding for one tick, spread over the ticks between decisions. */
  private pad(subscriber: Subscriber, bps: number): void {
    const video = subscriber.video;
    if (!video || !subscriber.isReady) {
      this.probing.delete(subscriber);
      return;
    }
    const packets = Math.min(40, Math.ceil((bps * tickMs) / 1000 / 8 / paddingSize));
    try {
      for (let i = 0; i < packets; i += 1) video.rtp.pad(paddingSize);
    } catch {
      subscriber.close();
    }
  }

  /**
   * A viewer's choice changed: decide for it now, and tell the room at once if a paused layer is
   * needed again, rather than at the next decision round.
   */
  decideNow(subscriber: Subscriber): void {
    if (this.closed || !subscriber.video || !subscriber.isReady) return;
    const now = Date.now();
    this.steer(subscriber, now);
    this.reportLayers(now);
  }

  /** A worker or node fed from this router says what its viewers need. */
  downstreamDemand(from: string, demand: LayerDemand): void {
    this.downstream.set(from, { ...demand, at: Date.now() });
  }

  /**
   * What the viewers here and downstream need: the highest layer (rank) any of them wants
   * (`remote`: downstream's alone, -1 for none), and how many get each encoding.
   */
  private demand(now: number): { wanted: number; remote: number; viewers: number[] } {
    const viewers = this.layers.all().map(() => 0);
    let wanted = -1;
    for (const subscriber of this.subscribers.values()) {
      wanted = Math.max(wanted, subscriber.selector.wanted);
      const current = subscriber.video?.current ?? -1;
      if (current >= 0 && current < viewers.length) viewers[current] = (viewers[current] ?? 0) + 1;
    }
    let remote = -1;
    for (const [from, d] of this.downstream) {
      if (now - d.at > demandTtlMs) {
        this.downstream.delete(from);
        continue;
      }
      remote = Math.max(remote, d.wanted);
      d.viewers.forEach((n, i) => {
        if (i < viewers.length) viewers[i] = (viewers[i] ?? 0) + n;
      });
    }
    return { wanted: Math.max(wanted, remote), remote, viewers };
  }

  private steer(subscriber: Subscriber, now: number): void {
    const video = subscriber.video;
    if (!video) return;
    const decision = subscriber.selector.decide(now);
    const encoding = this.layers.encodingAt(decision.spatial);
    if (video.aim(encoding, decision.temporal, now)) this.requestKeyframe(encoding);
    else if (video.switching && now - video.switchAskedAt > switchRetryMs) {
      video.switchAskedAt = now;
      this.requestKeyframe(video.target);
    }
    if (decision.probeBps > 0) this.probing.set(subscriber, decision.probeBps);
    else this.probing.delete(subscriber);
  }

  /**
   * The publisher may send what is useful: every layer while other workers or nodes take the
   * stream (their viewers are not known here) or nobody watches yet (the first viewers start at
   * once); else the layers up to the highest one a viewer here wants, so the layers above pause
   * (a browser shares the estimate among its layers from the lowest up).
   */
  private tellPublisher(): void {
    const publisher = this.publisher;
    if (!publisher) return;
    const top = this.layers.count - 1;
    const wanted = this.wantedRank();
    if (wanted >= top) {
      publisher.setBitrate(publisher.maxBitrate);
      return;
    }
    const needs = this.layers.needsByRank();
    let sum = 0;
    for (let rank = 0; rank <= wanted; rank += 1) sum += needs[rank] ?? 0;
    publisher.setBitrate(sum * 1.3 + 50_000);
  }

  /**
   * The highest layer (rank) useful now: see `tellPublisher`. Nobody watching, here or
   * downstream, wants them all (the first viewers start at once); a worker or node fed from here
   * that has not yet said what it needs is assumed to want them all.
   */
  private wantedRank(now = Date.now()): number {
    const top = this.layers.count - 1;
    const { wanted } = this.demand(now);
    const unheard = (this.relay?.feedsOthers ?? false) && this.downstream.size === 0;
    // A recording (and live HLS) packages every layer.
    const packaged = this.recorder?.isRecording ?? false;
    return wanted < 0 || unheard || packaged ? top : Math.min(wanted, top);
  }

  /**
   * Tells the room the layers when what viewers see of them changes (at once: a broadcaster
   * resumes a layer when it is needed again) and every few seconds with fresh bit rates.
   */
  private reportLayers(now: number): void {
    if (!this.publisher) return;
    const { viewers } = this.demand(now);
    const layers = this.layers.describe(
      (encoding) => viewers[encoding] ?? 0,
      this.wantedRank(now) + 1,
      now,
    );
    const shape = JSON.stringify(layers.map((l) => [l.height, l.active, l.needed, l.viewers]));
    if (shape === this.layersReported && now - this.layersReportedAt < layersReportMs) return;
    this.layersReported = shape;
    this.layersReportedAt = now;
    this.listener.layersChanged(this, layers);
  }

  /** Copies a packet into the shared buffer; the returned view is what viewers are sent. */
  private load(packet: Buffer): Buffer {
    const length = Math.min(packet.length, maxPacketSize);
    packet.copy(this.scratch, 0, 0, length);
    return this.scratch.subarray(0, length);
  }

  /**
   * A viewer just connected: it starts on the layer its policy picks, with that layer's current
   * group of pictures so it can decode at once, and a keyframe is asked for.
   */
  private welcome(subscriber: Subscriber): void {
    const now = Date.now();
    const video = subscriber.video;
    if (video) {
      subscriber.selector.setLayers(this.layers.needsByRank(), now, this.audioRate.bitrate);
      const decision = subscriber.selector.decide(now);
      const encoding = this.layers.encodingAt(decision.spatial);
      video.aim(encoding, decision.temporal, now);
      const p: VideoPacket = { ...this.videoPacket };
      const group = this.layers.get(encoding)?.gop.snapshot() ?? [];
      try {
        group.forEach((packet, i) => {
          p.out = this.load(packet);
          p.encoding = encoding;
          p.sequence = rtpSequence(packet);
          p.timestamp = rtpTimestamp(packet);
          // The group starts with its keyframe: the viewer's first packet.
          p.keyframe = i === 0;
          p.vp8 = this.isVp8 ? readVp8(p.out, 12) : undefined;
          video.send(p, now);
        });
      } catch {
        subscriber.close();
        return;
      }
      this.requestKeyframe(encoding);
      return;
    }
    this.requestKeyframe();
  }

  private assertOpen(): void {
    if (this.closed) throw new MediaError('closed', 'This stream has ended');
  }
}
