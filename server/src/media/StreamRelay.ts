import type { Socket } from 'node:dgram';
import type { MediaKind } from './codecs';
import type { ClockMapping } from './rtp';
import type { RouterRelay, StreamRouter } from './StreamRouter';

/**
 * First byte of a relay datagram (its low four bits; for media and sender reports the high four
 * bits carry the simulcast stream, the encoding); a 4-byte channel follows (the stream: as its node numbers it
 * between workers, as its origin node numbers it between nodes), then the body.
 */
export const relayType = {
  audio: 0,
  video: 1,
  videoKeyframe: 2,
  senderReportAudio: 3,
  senderReportVideo: 4,
  keyframeRequest: 5,
  /** Between nodes, edge to origin: keep (or start) sending me this stream; body: sent-at ms (a double). */
  subscribe: 6,
  /** Between nodes, edge to origin: stop sending me this stream. */
  unsubscribe: 7,
  /**
   * Between nodes, edge to origin: resend these; body: kind (0 audio, 1 video; the encoding in
   * the high four bits), then 16-bit sequences.
   */
  nack: 8,
  /**
   * Toward the publisher, one hop at a time: what a worker's (or node's) viewers need of the
   * layers, about once a second; body: the highest layer (rank) wanted (255: none), then the
   * viewers on each encoding (16-bit each).
   */
  demand: 9,
} as const;

export const relayHeaderLength = 5;

/** A type byte with the encoding (0..15) of a simulcast stream in its high bits. */
export const withEncoding = (type: number, encoding: number): number =>
  (type & 0x0f) | ((encoding & 0x0f) << 4);
export const baseType = (type: number): number => type & 0x0f;
export const encodingOf = (type: number): number => type >> 4;
/** A keyframe request's body: the encoding asked for, or this for any. */
const anyEncoding = 0xff;

/** A node's worker: where its relay socket is reached. */
export interface NodeAddress {
  address: string;
  port: number;
}

/** Where relay datagrams to other nodes go out: sealed with the deployment's relay key. */
export interface NodeRelaySender {
  /** Seals the datagram once and sends it to each of `to`. */
  send(type: number, channel: number, body: Buffer, to: Iterable<NodeAddress>): void;
}

/**
 * The origin node's worker an edge pulls a stream from, and the stream's channel there: between
 * nodes a stream is named by its origin's channel both ways, so a packet is sealed once for all
 * of its edges.
 */
export interface NodeEndpoint extends NodeAddress {
  channel: number;
}

export interface EdgeTarget extends NodeAddress {
  /** When its last keep-alive arrived. */
  heardAt: number;
}

export const endpointKey = (address: string, port: number) => `${address}:${port}`;

/** What a downstream worker or node says its viewers need of the layers (see `relayType.demand`). */
export interface LayerDemand {
  /** The highest rank wanted, -1 for none. */
  wanted: number;
  /** Viewers on each encoding. */
  viewers: number[];
}

export function encodeDemand(demand: LayerDemand): Buffer {
  const body = Buffer.alloc(1 + 2 * demand.viewers.length);
  body[0] = demand.wanted < 0 ? 255 : Math.min(254, demand.wanted);
  demand.viewers.forEach((n, i) => body.writeUInt16BE(Math.min(0xffff, n), 1 + 2 * i));
  return body;
}

export function decodeDemand(body: Buffer): LayerDemand | undefined {
  if (body.length < 1 || body.length % 2 !== 1 || body.length > 1 + 2 * 16) return undefined;
  const viewers: number[] = [];
  for (let at = 1; at + 2 <= body.length; at += 2) viewers.push(body.readUInt16BE(at));
  return { wanted: body[0] === 255 ? -1 : (body[0] as number), viewers };
}

/**
 * Hands a relayed packet, sender report, keyframe request or layer demand to this worker's
 * router of its stream; `from` names the sender (a demand is kept per sender).
 */
export function deliverRelayed(router: StreamRouter, type: number, body: Buffer, from = ''): void {
  const base = baseType(type);
  const encoding = encodingOf(type);
  switch (base) {
    case relayType.audio:
      router.forward('audio', body, false);
      break;
    case relayType.video:
    case relayType.videoKeyframe:
      router.forward('video', body, base === relayType.videoKeyframe, encoding);
      break;
    case relayType.senderReportAudio:
    case relayType.senderReportVideo:
      if (body.length >= 12)
        router.senderReport(
          base === relayType.senderReportAudio ? 'audio' : 'video',
          {
            ntpSeconds: body.readUInt32BE(0),
            ntpFraction: body.readUInt32BE(4),
            rtpTimestamp: body.readUInt32BE(8),
          },
          encoding,
        );
      break;
    case relayType.keyframeRequest:
      router.requestKeyframe(keyframeRequestEncoding(body));
      break;
    case relayType.demand: {
      const demand = decodeDemand(body);
      if (demand) router.downstreamDemand(from, demand);
      break;
    }
  }
}

export const keyframeRequestEncoding = (body: Buffer): number | undefined =>
  body.length > 0 && body[0] !== anyEncoding ? body[0] : undefined;

/** One layer's group of pictures, keyframe first. */
interface Group {
  encoding: number;
  packets: readonly Buffer[];
}

const groupPacketType = (index: number, encoding: number): number =>
  withEncoding(index === 0 ? relayType.videoKeyframe : relayType.video, encoding);

/** Sequences an edge lacks are gathered this long before one NACK goes to the origin. */
const nackBatchMs = 10;

/**
 * A stream's links between workers and between nodes. On the worker holding the publisher it
 * sends every packet and sender report to the workers of this node holding viewers (over
 * 127.0.0.1) and to the nodes pulling the stream (sealed, on the node relay socket). On an edge
 * node, the worker fed by the origin node plays the origin for the other workers of its node.
 * Keyframe requests go back one hop at a time; sequences an edge's history lacks go back to the
 * origin node in batches. Loopback loss is not expected: a packet lost there is NACKed by the
 * viewer and answered from the receiving worker's history like any other.
 */
export class StreamRelay implements RouterRelay {
  /** Loopback ports of this node's workers that receive the stream from this one. */
  readonly targets = new Set<number>();
  /** Nodes pulling the stream from this one, by address:port. */
  readonly edges = new Map<string, EdgeTarget>();
  /** The worker of this node holding the publisher, when that is another one. */
  originPort: number | undefined;
  /** The origin node's worker, when this worker is fed from another node. */
  originNode: NodeEndpoint | undefined;
  /** Sequences lacking, by kind and encoding (the NACK body's first byte). */
  private readonly missing = new Map<number, Set<number>>();
  private nackTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly socket: Socket,
    private readonly nodes: NodeRelaySender,
    readonly channel: number,
  ) {}

  get fedFromNode(): boolean {
    return this.originNode !== undefined;
  }

  get feedsOthers(): boolean {
    return this.targets.size > 0 || this.edges.size > 0;
  }

  forward(kind: MediaKind, packet: Buffer, keyframe: boolean, encoding: number): void {
    const type =
      kind === 'audio' ? relayType.audio : keyframe ? relayType.videoKeyframe : relayType.video;
    this.fanOut(withEncoding(type, encoding), packet);
  }

  senderReport(kind: MediaKind, mapping: ClockMapping, encoding: number): void {
    if (this.targets.size === 0 && this.edges.size === 0) return;
    const body = Buffer.allocUnsafe(12);
    body.writeUInt32BE(mapping.ntpSeconds, 0);
    body.writeUInt32BE(mapping.ntpFraction, 4);
    body.writeUInt32BE(mapping.rtpTimestamp, 8);
    const type = kind === 'audio' ? relayType.senderReportAudio : relayType.senderReportVideo;
    this.fanOut(withEncoding(type, encoding), body);
  }

  requestKeyframe(encoding: number | undefined): void {
    const body = Buffer.of(encoding ?? anyEncoding);
    if (this.originPort !== undefined)
      this.sendLocal(relayType.keyframeRequest, body, [this.originPort]);
    else if (this.originNode) this.toOrigin(relayType.keyframeRequest, body);
  }

  /** Tells the worker (or node) this one is fed from what its viewers need of the layers. */
  reportDemand(demand: LayerDemand): void {
    const body = encodeDemand(demand);
    if (this.originPort !== undefined) this.sendLocal(relayType.demand, body, [this.originPort]);
    else if (this.originNode) this.toOrigin(relayType.demand, body);
  }

  /** Sequences a viewer asked for that this worker's history lacks: asked of the origin node. */
  lacking(kind: MediaKind, sequence: number, encoding: number): void {
    if (!this.originNode) return;
    const key = withEncoding(kind === 'audio' ? 0 : 1, encoding);
    let set = this.missing.get(key);
    if (!set) {
      set = new Set();
      this.missing.set(key, set);
    }
    set.add(sequence);
    this.nackTimer ??= setTimeout(() => this.flushNacks(), nackBatchMs);
  }

  /** Sends the groups of pictures the origin holds to a worker that just started relaying. */
  prime(port: number, groups: readonly Group[]): void {
    for (const { encoding, packets } of groups)
      packets.forEach((packet, i) => this.sendLocal(groupPacketType(i, encoding), packet, [port]));
  }

  /** The same for a node that just started pulling the stream. */
  primeEdge(edge: NodeAddress, groups: readonly Group[]): void {
    for (const { encoding, packets } of groups)
      packets.forEach((packet, i) =>
        this.nodes.send(groupPacketType(i, encoding), this.channel, packet, [edge]),
      );
  }

  /** Sends one datagram to an edge (a NACK's answer). */
  sendToEdge(edge: NodeAddress, kind: MediaKind, packet: Buffer, encoding: number): void {
    const type = kind === 'audio' ? relayType.audio : relayType.video;
    this.nodes.send(withEncoding(type, encoding), this.channel, packet, [edge]);
  }

  /** Tells the origin node to go on sending (a keep-alive; the first one starts the flow). */
  subscribe(): void {
    if (!this.originNode) return;
    const body = Buffer.allocUnsafe(8);
    body.writeDoubleBE(Date.now(), 0);
    this.toOrigin(relayType.subscribe, body);
  }

  /** Stops pulling from the origin node (its viewers here are gone, or the origin changed). */
  unsubscribe(): void {
    if (!this.originNode) return;
    this.toOrigin(relayType.unsubscribe, Buffer.alloc(0));
    this.originNode = undefined;
    this.clearNacks();
  }

  close(): void {
    this.unsubscribe();
    this.clearNacks();
    this.targets.clear();
    this.edges.clear();
  }

  private flushNacks(): void {
    this.nackTimer = undefined;
    for (const [key, set] of this.missing) {
      const sequences = [...set].slice(0, 256);
      if (sequences.length === 0) continue;
      const body = Buffer.allocUnsafe(1 + 2 * sequences.length);
      body[0] = key;
      sequences.forEach((sequence, i) => body.writeUInt16BE(sequence & 0xffff, 1 + 2 * i));
      this.toOrigin(relayType.nack, body);
    }
    this.missing.clear();
  }

  private clearNacks(): void {
    if (this.nackTimer) clearTimeout(this.nackTimer);
    this.nackTimer = undefined;
    this.missing.clear();
  }

  private toOrigin(type: number, body: Buffer): void {
    const origin = this.originNode;
    if (origin) this.nodes.send(type, origin.channel, body, [origin]);
  }

  private fanOut(type: number, body: Buffer): void {
    if (this.targets.size > 0) this.sendLocal(type, body, this.targets);
    if (this.edges.size > 0) this.nodes.send(type, this.channel, body, this.edges.values());
  }

  private sendLocal(type: number, body: Buffer, ports: Iterable<number>): void {
    const datagram = Buffer.allocUnsafe(relayHeaderLength + body.length);
    datagram[0] = type;
    datagram.writeUInt32BE(this.channel, 1);
    body.copy(datagram, relayHeaderLength);
    for (const port of ports) this.socket.send(datagram, port, '127.0.0.1');
  }
}
