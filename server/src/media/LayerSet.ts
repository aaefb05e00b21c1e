import type { StreamLayer } from '@onair/protocol';
import { GopCache } from './GopCache';
import { RetransmissionBuffer } from './RetransmissionBuffer';

/** A layer not heard from this long counts as paused. */
const pausedAfterMs = 1500;
/**
 * A measurement over less than this says nothing: the first, right after the publisher's
 * keyframes, read a 720p keyframe's 60 KB over a tenth of a second as 5 Mbit/s, and the smoothed
 * need took ten seconds to forget it, dropping viewers' temporal layers meanwhile.
 */
const shortestWindowMs = 500;
/** What a layer is assumed to need before it has been measured, by rank (lowest first). */
const assumedBitrates = [200_000, 700_000, 2_500_000];

/** One of the publisher's simulcast streams as a router receives it. */
export interface Layer {
  readonly encoding: number;
  /** Its recent packets, for viewers' NACKs, and its group of pictures, for new viewers. */
  readonly history: RetransmissionBuffer;
  readonly gop: GopCache;
  width: number;
  height: number;
  /** Bytes since the last measurement, and the bit rate then measured. */
  bytes: number;
  bitrate: number;
  /** The last bit rate measured while it was sent: what it needs when it is resumed. */
  needs: number;
  lastPacketAt: number;
}

/**
 * The simulcast streams (encodings) of one stream's publisher as a router receives them, in the
 * order the publisher named them, and ranked by picture size: rank 0 is the lowest quality.
 * Without simulcast there is one, encoding 0.
 */
export class LayerSet {
  private readonly layers: Layer[] = [];
  /** Encodings by rank, lowest picture first; recomputed when a keyframe tells a new size. */
  private order: number[] = [0];
  private measuredAt: number;

  constructor(count = 1, now = Date.now()) {
    this.measuredAt = now;
    this.resize(count);
  }

  get count(): number {
    return this.layers.length;
  }

  /** The publisher's simulcast streams are now `count` (a new publisher). */
  resize(count: number): void {
    const n = Math.max(1, Math.min(3, count));
    while (this.layers.length < n) {
      const encoding = this.layers.length;
      this.layers.push({
        encoding,
        history: new RetransmissionBuffer(1024),
        gop: new GopCache(),
        width: 0,
        height: 0,
        bytes: 0,
        bitrate: 0,
        needs: 0,
        lastPacketAt: 0,
      });
    }
    this.layers.length = n;
    this.rank();
  }

  get(encoding: number): Layer | undefined {
    return this.layers[encoding];
  }

  all(): readonly Layer[] {
    return this.layers;
  }

  /** The encoding at a rank (clamped to the ranks there are). */
  encodingAt(rank: number): number {
    return this.order[Math.max(0, Math.min(this.order.length - 1, rank))] ?? 0;
  }

  rankOf(encoding: number): number {
    return Math.max(0, this.order.indexOf(encoding));
  }

  received(layer: Layer, bytes: number, now: number): void {
    layer.bytes += bytes;
    layer.lastPacketAt = now;
  }

  /** A keyframe told a layer's picture size. */
  sized(layer: Layer, size: { width: number; height: number }): void {
    if (layer.width === size.width && layer.height === size.height) return;
    layer.width = size.width;
    layer.height = size.height;
    this.rank();
  }

  isActive(layer: Layer, now: number): boolean {
    return layer.lastPacketAt > 0 && now - layer.lastPacketAt < pausedAfterMs;
  }

  /** Bit rates since the last call; call about once a second (a shorter window is skipped). */
  measure(now: number): void {
    if (now - this.measuredAt < shortestWindowMs) return;
    const seconds = (now - this.measuredAt) / 1000;
    this.measuredAt = now;
    for (const layer of this.layers) {
      layer.bitrate = Math.round((layer.bytes * 8) / seconds);
      layer.bytes = 0;
      // Smoothed: one second holds a keyframe or not, and a layer just resumed sends a burst. The
      // first second holds the publisher's first keyframes, so it starts from the assumption.
      if (layer.bitrate > 0 && this.isActive(layer, now)) {
        const before = layer.needs > 0 ? layer.needs : this.assumedFor(layer.encoding);
        layer.needs = Math.round(0.75 * before + 0.25 * layer.bitrate);
      }
    }
  }

  /**
   * What each rank needs, lowest first, for the layer policy: its measured bit rate while sent,
   * what it needed when last sent while paused, an assumption before it was ever measured.
   */
  needsByRank(): number[] {
    return this.order.map((encoding) => {
      const layer = this.layers[encoding];
      return layer && layer.needs > 0 ? layer.needs : this.assumedFor(encoding);
    });
  }

  private assumedFor(encoding: number): number {
    return assumedBitrates[this.rankOf(encoding)] ?? 2_500_000;
  }

  /** The layers as the stream's page shows them, lowest first, with how many viewers get each. */
  describe(
    viewersOf: (encoding: number) => number,
    neededRanks: number,
    now: number,
  ): StreamLayer[] {
    return this.order.map((encoding, rank) => {
      const layer = this.layers[encoding] as Layer;
      const active = this.isActive(layer, now);
      return {
        width: layer.width,
        height: layer.height,
        bitrateKbps: active ? Math.round(layer.bitrate / 1000) : 0,
        active,
        needed: rank < neededRanks,
        viewers: viewersOf(encoding),
      };
    });
  }

  clear(): void {
    for (const layer of this.layers) {
      layer.history.clear();
      layer.gop.clear();
    }
  }

  /** Ranks by height where known; a layer of unknown size keeps its place in the publisher's order. */
  private rank(): void {
    this.order = this.layers
      .map((layer) => layer.encoding)
      .sort((a, b) => {
        const ha = this.layers[a]?.height ?? 0;
        const hb = this.layers[b]?.height ?? 0;
        return ha > 0 && hb > 0 && ha !== hb ? ha - hb : a - b;
      });
  }
}
