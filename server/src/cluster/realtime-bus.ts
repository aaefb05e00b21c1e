import { randomUUID } from 'node:crypto';
import type { InterServerEvents } from '@onair/protocol';
import type { Logger } from 'pino';

type ServerEvent = keyof InterServerEvents;
type ServerEventPayload<E extends ServerEvent> = Parameters<InterServerEvents[E]>[0];

/**
 * What one node's realtime server and the other nodes' tell each other: the same three things
 * go out of a server to the bus and come into the others' from it.
 */
export interface RealtimeTraffic {
  /**
   * A broadcast, encoded once: for the sockets in any of `rooms` (every socket when null) and in
   * none of `except`.
   */
  emit(rooms: string[] | null, except: string[], packet: string): void;
  /** The sockets in any of `rooms` leave `room`. */
  leave(rooms: string[], room: string): void;
  /** An event for the servers, not their clients. */
  serverEvent<E extends ServerEvent>(event: E, payload: ServerEventPayload<E>): void;
}

/**
 * A realtime server that can join a bus: it sends its traffic through `outbound` from then on,
 * and returns where the other nodes' traffic goes in.
 */
export interface RealtimeNode {
  useBus(outbound: RealtimeTraffic): RealtimeTraffic;
}

/** The two clients the bus needs: one publishes, one only listens (Redis's subscriber mode). */
export interface PubSubClients {
  publisher: { publish(channel: string, message: string): Promise<unknown> };
  subscriber: {
    subscribe(channel: string, listener: (message: string) => void): Promise<unknown>;
    unsubscribe(channel: string): Promise<unknown>;
  };
}

/** `RealtimeTraffic` as it crosses the channel, with the node that sent it. */
type BusMessage = { node: string } & (
  | { kind: 'emit'; rooms: string[] | null; except: string[]; packet: string }
  | { kind: 'leave'; rooms: string[]; room: string }
  | { kind: 'server'; event: ServerEvent; payload: ServerEventPayload<ServerEvent> }
);

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
  server: RealtimeNode,
  { publisher, subscriber }: PubSubClients,
  { channel, logger, isUp = () => true }: { channel: string; logger: Logger; isUp?: () => boolean },
): Promise<() => Promise<void>> {
  const node = randomUUID();
  let cutOff = false;
  const publish = (message: BusMessage) => {
    if (!isUp()) {
      if (!cutOff) logger.warn('realtime bus unreachable: broadcasts reach this node only');
      cutOff = true;
      return;
    }
    cutOff = false;
    publisher
      .publish(channel, JSON.stringify(message))
      .catch((err: unknown) => logger.warn({ err }, 'could not publish on the realtime bus'));
  };
  const inbound = server.useBus({
    emit: (rooms, except, packet) => publish({ node, kind: 'emit', rooms, except, packet }),
    leave: (rooms, room) => publish({ node, kind: 'leave', rooms, room }),
    serverEvent: (event, payload) => publish({ node, kind: 'server', event, payload }),
  });
  await subscriber.subscribe(channel, (text) => {
    let message: BusMessage;
    try {
      message = JSON.parse(text) as BusMessage;
    } catch (err) {
      logger.error({ err }, 'unreadable message on the realtime bus');
      return;
    }
    if (message.node === node) return;
    switch (message.kind) {
      case 'emit':
        inbound.emit(message.rooms, message.except, message.packet);
        return;
      case 'leave':
        inbound.leave(message.rooms, message.room);
        return;
      case 'server':
        inbound.serverEvent(message.event, message.payload);
        return;
      default:
        // A newer node's kind this one does not know: nothing to act on.
        return;
    }
  });
  return async () => {
    await subscriber.unsubscribe(channel).catch(() => undefined);
  };
}
