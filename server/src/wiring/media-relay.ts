import type { Logger } from 'pino';
import { z } from 'zod';
import type { MediaWorkerPool, OriginNode } from '../media/MediaWorkerPool';

/** A stream's origin as one node tells the others. */
export interface OriginAnnouncement {
  streamId: string;
  node: string;
  address: string;
  port: number;
  channel: number;
  codecs: unknown;
}

/** How the nodes of one deployment find where a stream is served from (Redis pub/sub). */
export interface OriginBus {
  /** Asks the node holding the stream's publisher to announce it. */
  want(streamId: string): void;
  announce(origin: OriginAnnouncement): void;
  /** Listens for the other nodes' requests; returns what stops listening. */
  onWanted(listener: (streamId: string) => void): () => void;
  onAnnounced(listener: (origin: OriginAnnouncement) => void): () => void;
}

interface Waiter {
  timer: NodeJS.Timeout;
  resolve(found: boolean): void;
}

const codec = z.object({
  mimeType: z.string().min(1).max(64),
  payloadType: z.number().int().min(0).max(127),
  clockRate: z.number().int().positive(),
  channels: z.number().int().positive().optional(),
  fmtp: z.string().max(1024).optional(),
});
const announcement = z.object({
  streamId: z.string().min(1).max(64),
  node: z.string().min(1),
  address: z.ipv4(),
  port: z.number().int().min(1).max(65535),
  channel: z.number().int().min(0).max(0xffffffff),
  codecs: z.object({ audio: codec.optional(), video: codec.optional() }),
});

/**
 * Media across nodes, the control half: a node asked to serve a stream it does not hold asks
 * the others over the bus where it is published; the node holding the publisher answers with
 * its worker's relay address, and the asking node's pool pulls one flow from there (the data
 * half is sealed UDP between workers, see `NodeRelaySocket`). When a publisher connects, its
 * node says so again, and nodes already pulling the stream from elsewhere move to it.
 */
export function connectMediaRelay(deps: {
  media: MediaWorkerPool;
  bus: OriginBus;
  nodeId: string;
  logger: Logger;
  /** How long a node waits for the origin's answer before it says there is no publisher. Default 1.5 s. */
  answerWithinMs?: number;
}): { close(): void } {
  const { media, bus, nodeId, logger, answerWithinMs = 1500 } = deps;
  /** Nodes waiting for a stream's origin to answer: told once it is pulled, or not. */
  const waiting = new Map<string, Waiter[]>();

  const announce = (streamId: string) => {
    const origin = media.originOf(streamId);
    if (origin) bus.announce({ streamId, node: nodeId, ...origin });
  };

  const settle = (streamId: string, found: boolean) => {
    const waiters = waiting.get(streamId) ?? [];
    waiting.delete(streamId);
    for (const waiter of waiters) {
      clearTimeout(waiter.timer);
      waiter.resolve(found);
    }
  };

  const onAnnounced = (message: OriginAnnouncement) => {
    if (message.node === nodeId) return;
    const parsed = announcement.safeParse(message);
    if (!parsed.success) {
      logger.warn({ node: message.node }, 'unreadable media origin on the bus');
      return;
    }
    const { streamId, address, port, channel, codecs } = parsed.data;
    const origin: OriginNode = { address, port, channel, codecs };
    const wanted = waiting.has(streamId);
    // Answered: the wait is over, however long the pull itself takes (first workers start).
    for (const waiter of waiting.get(streamId) ?? []) clearTimeout(waiter.timer);
    media.pullFromNode(streamId, origin, !wanted).then(
      () => settle(streamId, true),
      (err: unknown) => {
        logger.warn({ err, streamId }, 'could not pull a stream from its node');
        settle(streamId, false);
      },
    );
  };

  media.useRemoteOrigins({
    find: (streamId) =>
      new Promise<boolean>((resolve) => {
        // The pool asks once per stream at a time: one waiter, and no answer within the time
        // means nobody holds the stream's publisher.
        const timer = setTimeout(() => settle(streamId, false), answerWithinMs);
        waiting.set(streamId, [...(waiting.get(streamId) ?? []), { timer, resolve }]);
        bus.want(streamId);
      }),
  });
  const onConnected = (streamId: string) => announce(streamId);
  media.on('publisher_connected', onConnected);
  const stopWanted = bus.onWanted(announce);
  const stopAnnounced = bus.onAnnounced(onAnnounced);

  return {
    close() {
      media.off('publisher_connected', onConnected);
      stopWanted();
      stopAnnounced();
      for (const streamId of [...waiting.keys()]) settle(streamId, false);
    },
  };
}
