import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { InterServerEvents, ServerToClientEvents, SocketData } from '@onair/protocol';
import type { Logger } from 'pino';
import type { RealtimeNode, RealtimeTraffic } from '../../cluster/realtime-bus';
import { SafeEmitter } from '../../events/SafeEmitter';
import { Broadcast, roomList, type BroadcastTarget } from './Broadcast';
import { Handshake, newId } from './Handshake';
import { MessageBudget, type MessageBudgetOptions } from './MessageBudget';
import { closeCode, engine, eventPacket, textFrame } from './packets';
import { RealtimeSocket, type SocketOwner } from './RealtimeSocket';
import { Rooms } from './Rooms';

export interface RealtimeServerOptions {
  /** Who a connect packet's auth names; rejects with a `ConnectRefusal` to refuse it. */
  authenticate: (auth: unknown) => Promise<SocketData>;
  logger: Logger;
  /** How often each socket is pinged; a socket that has not answered by its next ping is dropped. */
  pingIntervalMs?: number;
  /** What clients are told to allow for a pong on their side (Engine.IO's open packet). */
  pingTimeoutMs?: number;
  /** A client must finish connecting (its connect packet answered) within this. */
  connectTimeoutMs?: number;
  /** The largest message a client may send; a larger one closes its connection (1009). */
  maxPayload?: number;
  /** A client with more than this waiting to be sent has stopped reading: it is dropped. */
  maxBufferedBytes?: number;
  /** Headers on the HTTP answers this server gives itself (a refused handshake). */
  responseHeaders?: Readonly<Record<string, string>>;
  /**
   * The client's address as per-address limits count it (behind a trusted proxy, the client's,
   * not the proxy's). Default: the peer's address.
   */
  addressOf?: (req: IncomingMessage) => string;
  /**
   * Sockets one address may hold open on this node; more are refused with `rate_limited`, and
   * beyond twice this many the upgrade itself is answered 429. Default: no cap.
   */
  socketsPerAddress?: number;
  /**
   * Each socket's allowance of messages (pongs are free). Default 20 per second, bursts of 60,
   * disconnected after 10 s over budget.
   */
  messageBudget?: MessageBudgetOptions;
  /** What the ack of an event refused for its socket's budget carries. */
  budgetRefusal?: (retryAfterSeconds: number) => unknown;
  /**
   * What the ack of a binary event carries: none is accepted, the connection stays. Default
   * `{ ok: false, error: { code: 'invalid_input', ... } }`.
   */
  binaryRefusal?: unknown;
}

type ClientEventListener = (socket: RealtimeSocket, event: string, args: unknown[]) => void;

type Hooks = {
  connection: [RealtimeSocket];
  /** The socket is going and still in its rooms. */
  disconnecting: [RealtimeSocket];
  disconnect: [RealtimeSocket];
  /** A message over its socket's budget was refused, or the socket is disconnected for it. */
  overBudget: [RealtimeSocket, 'refused' | 'disconnect'];
} & { [E in keyof InterServerEvents]: Parameters<InterServerEvents[E]> };

/**
 * Well above what a client of ours sends at its busiest (joining a stream while its peer
 * connection trickles a dozen or two ICE candidates), far below what costs a node anything.
 */
const defaultMessageBudget: MessageBudgetOptions = { perSecond: 20, burst: 60 };
const defaultBudgetRefusal = (retryAfterSeconds: number) => ({
  ok: false,
  error: { code: 'rate_limited', message: 'Too many messages; slow down', retryAfterSeconds },
});
const defaultBinaryRefusal = {
  ok: false,
  error: { code: 'invalid_input', message: 'Binary attachments are not accepted' },
};
/** The heartbeat visits one slice of the sockets at a time, so pings never go out all at once. */
const heartbeatSlices = 10;

/**
 * A Socket.IO server for WebSocket clients (see `packets.ts` for what it speaks), built for
 * rooms of thousands: a broadcast is encoded and framed once and the same bytes are written to
 * every socket in the room; a socket holds no timers, listeners or per-socket closures beyond the
 * WebSocket's own. Long polling is not offered: every client it serves has WebSocket.
 *
 * Its parts: `Handshake` (upgrade, open packet, authentication), `RealtimeSocket` (one client),
 * `Rooms`, `Broadcast`. Rooms reach across nodes through a bus (`cluster/realtime-bus`);
 * everything else is this node's.
 */
export class RealtimeServer implements RealtimeNode {
  private readonly sockets = new Set<RealtimeSocket>();
  private readonly connectedById = new Map<string, RealtimeSocket>();
  private readonly rooms = new Rooms<RealtimeSocket>();
  private readonly hooks: SafeEmitter<Hooks>;
  private readonly handshake: Handshake<RealtimeSocket>;
  /** What sockets tell their server: the server's own, not part of its API. */
  private readonly owner: SocketOwner;
  /** What broadcasts ask of their server. */
  private readonly broadcaster: BroadcastTarget;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly pingFrame = textFrame(engine.ping);
  private readonly connectTimeoutMs: number;
  private clientEvents: ClientEventListener = () => undefined;
  private bus: RealtimeTraffic | undefined;
  private slotCounter = 0;
  private heartbeatTick = 0;
  private closed = false;

  constructor(http: HttpServer, options: RealtimeServerOptions) {
    const pingIntervalMs = options.pingIntervalMs ?? 10_000;
    const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    const { logger } = options;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.hooks = new SafeEmitter<Hooks>((err, event) =>
      logger.error({ err, event }, 'a realtime listener threw'),
    );
    this.handshake = new Handshake(http, {
      authenticate: options.authenticate,
      logger,
      openSettings: {
        pingIntervalMs,
        pingTimeoutMs: options.pingTimeoutMs ?? 10_000,
        maxPayload: options.maxPayload ?? 1e6,
      },
      responseHeaders: options.responseHeaders ?? {},
      addressOf: options.addressOf ?? ((req) => req.socket.remoteAddress ?? 'unknown'),
      socketsPerAddress: options.socketsPerAddress ?? Infinity,
      socketFor: (ws, raw, address) => {
        const socket = new RealtimeSocket(
          newId(),
          this.slotCounter++ % heartbeatSlices,
          Date.now(),
          this.owner,
          ws,
          raw,
          maxBufferedBytes,
          address,
        );
        this.sockets.add(socket);
        return socket;
      },
    });
    this.owner = this.socketOwner(options);
    this.broadcaster = {
      broadcast: (rooms, except, event, args) => {
        const packet = eventPacket(event, args);
        this.deliver(rooms, except, packet);
        this.bus?.emit(rooms, except, packet);
      },
      socketsLeave: (rooms, room) => {
        this.leaveLocal(rooms, room);
        this.bus?.leave(rooms, room);
      },
    };
    this.heartbeat = setInterval(() => this.beat(), pingIntervalMs / heartbeatSlices);
    this.heartbeat.unref();
  }

  /** Open connections, connected or not yet. */
  get clientsCount(): number {
    return this.sockets.size;
  }

  /** A connected socket of this node, by id. */
  socket(id: string): RealtimeSocket | undefined {
    return this.connectedById.get(id);
  }

  /** How many of this node's sockets are in `room`. */
  roomSize(room: string): number {
    return this.rooms.size(room);
  }

  /** This node's rooms and their sockets (to bring them up to date after the bus was cut). */
  localRooms(): ReadonlyMap<string, ReadonlySet<RealtimeSocket>> {
    return this.rooms.all();
  }

  /** Listeners run one by one; one that throws is logged and the others still run. */
  on<E extends keyof Hooks>(event: E, listener: (...args: Hooks[E]) => void): this {
    this.hooks.on(event, listener as never);
    return this;
  }

  off<E extends keyof Hooks>(event: E, listener: (...args: Hooks[E]) => void): this {
    this.hooks.off(event, listener as never);
    return this;
  }

  /** The one listener for every client event of every socket. */
  onClientEvent(listener: ClientEventListener): void {
    this.clientEvents = listener;
  }

  /**
   * Makes rooms, broadcasts and server events reach the other nodes through `outbound`; returns
   * where the other nodes' traffic comes in.
   */
  useBus(outbound: RealtimeTraffic): RealtimeTraffic {
    this.bus = outbound;
    return {
      emit: (rooms, except, packet) => this.deliver(rooms, except, packet),
      leave: (rooms, room) => this.leaveLocal(rooms, room),
      serverEvent: (event, payload) => this.fire(event, ...([payload] as Hooks[typeof event])),
    };
  }

  /** Sockets in any of `rooms`, on every node. */
  to(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this.broadcaster, roomList(rooms), []);
  }

  /** Every connected socket on every node but those in any of `rooms`. */
  except(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this.broadcaster, null, roomList(rooms));
  }

  in(rooms: string | readonly string[]): Broadcast {
    return this.to(rooms);
  }

  /** Every connected socket on every node. */
  emit<E extends keyof ServerToClientEvents>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    this.broadcaster.broadcast(null, [], event, args);
  }

  /** Tells the other nodes' servers (not this one's). */
  serverSideEmit<E extends keyof InterServerEvents>(
    event: E,
    payload: Parameters<InterServerEvents[E]>[0],
  ): void {
    this.bus?.serverEvent(event, payload);
  }

  /**
   * Closes every client's connection without a disconnect packet, as a restarting server does
   * (1012, Service Restart, RFC 6455 §7.4.1 and the IANA registry): each client reconnects by
   * itself, behind a load balancer to another node. The server goes on accepting connections.
   */
  reconnectAll(): void {
    for (const socket of [...this.sockets]) socket.end(closeCode.serviceRestart);
  }

  /** Disconnects every socket and stops serving; the HTTP server is the caller's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.handshake.close();
    for (const socket of [...this.sockets]) socket.disconnect(closeCode.goingAway);
  }

  /** What each socket tells this server, as a closure over it rather than public methods. */
  private socketOwner(options: RealtimeServerOptions): SocketOwner {
    const { logger } = options;
    const budgetRefusal = options.budgetRefusal ?? defaultBudgetRefusal;
    const log: SocketOwner['log'] = (level, socket, message, details = {}) =>
      logger[level]({ socketId: socket.id, ...details }, message);
    return {
      messageBudget: new MessageBudget(options.messageBudget ?? defaultMessageBudget),
      binaryRefusal: options.binaryRefusal ?? defaultBinaryRefusal,
      authenticate: (socket, auth) => this.handshake.authenticate(socket, auth),
      connected: (socket) => {
        this.connectedById.set(socket.id, socket);
        this.fire('connection', socket);
      },
      clientEvent: (socket, event, args) => {
        try {
          this.clientEvents(socket, event, args);
        } catch (err) {
          logger.error({ err, event }, 'a socket event listener threw');
        }
      },
      overBudget: (socket, verdict, retryAfterSeconds) => {
        if (verdict === 'disconnect')
          log('debug', socket, 'disconnected a socket that kept sending over its budget');
        this.fire('overBudget', socket, verdict);
        return budgetRefusal(retryAfterSeconds);
      },
      joined: (socket, room) => this.rooms.add(room, socket),
      left: (socket, room) => this.rooms.remove(room, socket),
      disconnecting: (socket) => this.fire('disconnecting', socket),
      disconnected: (socket) => {
        this.sockets.delete(socket);
        this.handshake.released(socket);
        this.sessionEnded(socket);
      },
      namespaceLeft: (socket) => this.sessionEnded(socket),
      log,
    };
  }

  /** A connected socket's session is over: it disconnected, or left the namespace (`41`). */
  private sessionEnded(socket: RealtimeSocket): void {
    if (this.connectedById.get(socket.id) !== socket) return;
    this.connectedById.delete(socket.id);
    this.fire('disconnect', socket);
  }

  private fire<E extends keyof Hooks>(event: E, ...args: Hooks[E]): void {
    (this.hooks.emit as (event: E, ...args: Hooks[E]) => boolean)(event, ...args);
  }

  /**
   * Writes one framed packet to this node's sockets in `rooms` (all sockets when null) and in none
   * of `except`, once each.
   */
  private deliver(rooms: string[] | null, except: string[], packet: string): void {
    const frame = textFrame(packet);
    for (const socket of this.rooms.audience(rooms, except, () => this.connectedById.values()))
      socket.write(frame);
  }

  private leaveLocal(rooms: string[], room: string): void {
    for (const socket of this.rooms.membersOf(rooms)) socket.leave(room);
  }

  private beat(): void {
    const slot = this.heartbeatTick++ % heartbeatSlices;
    const connectDeadline = Date.now() - this.connectTimeoutMs;
    for (const socket of this.sockets)
      if (socket.heartbeatSlot === slot) socket.heartbeat(this.pingFrame, connectDeadline);
  }
}
