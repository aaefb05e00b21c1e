import type { RemoteInfo } from 'node:dgram';
import { NodeRelaySocket, type NodeRelaySettings } from './NodeRelaySocket';
import {
  baseType,
  deliverRelayed,
  encodingOf,
  keyframeRequestEncoding,
  endpointKey,
  relayType,
  type NodeAddress,
  type StreamRelay,
} from './StreamRelay';
import type { StreamRouter } from './StreamRouter';

/** An edge node that has not renewed its pull for this long is sent nothing more. */
const edgeSilenceMs = 10_000;
/** How often an edge renews its pull; several renewals fit in the origin's patience. */
const keepAliveMs = 2000;
/**
 * A pull sealed longer ago than this is refused: a captured one replayed to a worker that has
 * restarted since (and so forgot the counters it saw) cannot redirect a stream.
 */
const subscribeMaxAgeMs = 30_000;

/** The streams of a worker, as the node relay needs them. */
export interface RelayedStreams {
  relays(): Iterable<StreamRelay>;
  /** The stream this worker numbers `channel`. */
  byChannel(channel: number): { relay: StreamRelay; router: StreamRouter } | undefined;
  /** The stream this worker pulls from the origin worker at `from`, where it is `channel`. */
  byOrigin(
    from: NodeAddress,
    channel: number,
  ): { relay: StreamRelay; router: StreamRouter } | undefined;
}

/**
 * A media worker's end of the relay between nodes: its sealed socket, what it does with each
 * datagram (media from the origin it pulls from; on the origin, an edge's pull, keep-alive,
 * keyframe request or NACK), and the timer that renews its pulls and forgets silent edges.
 */
export class NodeRelayHub {
  readonly socket: NodeRelaySocket;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(
    settings: NodeRelaySettings,
    private readonly streams: RelayedStreams,
  ) {
    this.socket = new NodeRelaySocket(settings, (type, channel, body, from) =>
      this.receive(type, channel, body, from),
    );
    this.keepAlive = setInterval(() => this.renew(), keepAliveMs);
  }

  close(): void {
    clearInterval(this.keepAlive);
    this.socket.close();
  }

  private renew(): void {
    const now = Date.now();
    for (const relay of this.streams.relays()) {
      relay.subscribe();
      for (const [key, edge] of relay.edges)
        if (now - edge.heardAt > edgeSilenceMs) relay.edges.delete(key);
    }
  }

  private receive(type: number, channel: number, body: Buffer, from: RemoteInfo): void {
    if (baseType(type) <= relayType.senderReportVideo) {
      // Only the origin this worker pulls from feeds it (not one it has just left).
      const pulled = this.streams.byOrigin(from, channel);
      if (pulled) deliverRelayed(pulled.router, type, body);
      return;
    }
    const stream = this.streams.byChannel(channel);
    if (!stream) return;
    const { relay, router } = stream;
    // Requests of edges reach the worker holding the publisher only, never an edge (no loops).
    if (relay.fedFromNode || relay.originPort !== undefined) return;
    const key = endpointKey(from.address, from.port);
    switch (type) {
      case relayType.subscribe: {
        if (body.length < 8 || Math.abs(Date.now() - body.readDoubleBE(0)) > subscribeMaxAgeMs)
          return;
        const edge = { address: from.address, port: from.port, heardAt: Date.now() };
        const known = relay.edges.has(key);
        relay.edges.set(key, edge);
        // A new edge gets the group of pictures at once, so its first viewers see a picture.
        if (!known) {
          relay.primeEdge(edge, router.gopSnapshots());
          router.requestKeyframe();
        }
        return;
      }
      case relayType.unsubscribe:
        relay.edges.delete(key);
        return;
      case relayType.demand:
        if (relay.edges.has(key)) deliverRelayed(router, type, body, `node:${key}`);
        return;
      case relayType.keyframeRequest:
        if (relay.edges.has(key)) router.requestKeyframe(keyframeRequestEncoding(body));
        return;
      case relayType.nack: {
        const edge = relay.edges.get(key);
        if (!edge || body.length < 3) return;
        const kind = baseType(body[0] ?? 0) === 0 ? 'audio' : 'video';
        const encoding = encodingOf(body[0] ?? 0);
        for (let at = 1; at + 2 <= body.length; at += 2) {
          const packet = router.historyPacket(kind, body.readUInt16BE(at), encoding);
          if (packet) relay.sendToEdge(edge, kind, packet, encoding);
        }
        return;
      }
    }
  }
}
