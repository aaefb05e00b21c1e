import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { BusMessage, RealtimeBus, RealtimeServer } from './RealtimeServer';

/** The two clients the bus needs: one publishes, one only listens (Redis's subscriber mode). */
export interface PubSubClients {
  publisher: { publish(channel: string, message: string): Promise<unknown> };
  subscriber: {
    subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
    unsubscribe(channel: string): Promise<unknown>;
  };
}

type Envelope = BusMessage & { node: string };

const kinds = new Set<string>(['emit', 'leave', 'server'] satisfies BusMessage['kind'][]);

/**
 * Joins `server` to every other node on one Redis pub/sub channel: a broadcast, a room change
 * or a server event published by one node is carried out by each of the others on its own
 * sockets. Redis hands a node its own messages back too; those are skipped, as the node has
 * already acted on them.
 *
 * While `isUp` says Redis cannot be reached, broadcasts reach this node's sockets only: they are
 * not queued for a server that may be gone (or frozen) for long, and what they carried is made
 * good once it is back (see `resyncRooms`).
 *
 * The server uses the bus at once; resolves, once subscribed, with what stops it.
 */
export async function joinRedisBus(
  server: RealtimeServer,
  { publisher, subscriber }: PubSubClients,
  { channel, logger, isUp = () => true }: { channel: string; logger: Logger; isUp?: () => boolean },
): Promise<() => Promise<void>> {
  const node = randomUUID();
  let cutOff = false;
  const bus: RealtimeBus = {
    publish(message) {
      if (!isUp()) {
        if (!cutOff) logger.warn('realtime bus unreachable: broadcasts reach this node only');
        cutOff = true;
        return;
      }
      cutOff = false;
      const envelope: Envelope = { ...message, node };
      publisher
        .publish(channel, JSON.stringify(envelope))
        .catch((err: unknown) => logger.warn({ err }, 'could not publish on the realtime bus'));
    },
  };
  server.useBus(bus);
  await subscriber.subscribe(channel, (text) => {
    let message: Envelope;
    try {
      message = JSON.parse(text) as Envelope;
    } catch (err) {
      logger.error({ err }, 'unreadable message on the realtime bus');
      return;
    }
    if (message.node === node || !kinds.has(message.kind)) return;
    server.receive(message);
  });
  return async () => {
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
