import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  STATUS_CODES,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { InterServerEvents, ServerToClientEvents, SocketData } from '@onair/protocol';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { MessageBudget, type MessageBudgetOptions } from './MessageBudget';
import { engine, eventPacket, openPacket, textFrame } from './packets';
import { ConnectRefusal, RealtimeSocket, type SocketOwner } from './RealtimeSocket';
import { SocketsPerAddress } from './SocketsPerAddress';

/** What crosses between nodes: a broadcast, a room change, or an event for the servers only. */
export type BusMessage =
  | { kind: 'emit'; rooms: string[] | null; except: string[]; packet: string }
  | { kind: 'leave'; rooms: string[]; room: string }
  | {
      kind: 'server';
      event: keyof InterServerEvents;
      payload: Parameters<InterServerEvents[keyof InterServerEvents]>[0];
    };

/** Carries `BusMessage`s to the other nodes (Redis pub/sub when clustered). */
export interface RealtimeBus {
  publish(message: BusMessage): void;
}

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
  /** The largest message a client may send; a larger one closes its connection. */
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

const path = '/socket.io/';
/**
 * Well above what a client of ours sends at its busiest (joining a stream while its peer
 * connection trickles a dozen or two ICE candidates), far below what costs a node anything.
 */
const defaultMessageBudget: MessageBudgetOptions = { perSecond: 20, burst: 60 };
const defaultBudgetRefusal = (retryAfterSeconds: number) => ({
  ok: false,
  error: { code: 'rate_limited', message: 'Too many messages; slow down', retryAfterSeconds },
});
/** The heartbeat visits one slice of the sockets at a time, so pings never go out all at once. */
const heartbeatSlices = 10;

/**
 * A Socket.IO server for WebSocket clients (see `packets.ts` for what it speaks), built for
 * rooms of thousands: a broadcast is encoded and framed once and the same bytes are written to
 * every socket in the room; a socket holds no timers, listeners or per-socket closures beyond the
 * WebSocket's own. Long polling is not offered: every client it serves has WebSocket.
 *
 * Rooms reach across nodes through a `RealtimeBus`; everything else is this node's.
 */
export class RealtimeServer implements SocketOwner {
  private readonly wss: WebSocketServer;
  private readonly sockets = new Set<RealtimeSocket>();
  private readonly connectedById = new Map<string, RealtimeSocket>();
  private readonly rooms = new Map<string, Set<RealtimeSocket>>();
  private readonly hooks = new EventEmitter();
  private readonly heartbeat: NodeJS.Timeout;
  private readonly pingFrame = textFrame(engine.ping);
  private readonly openSettings: Parameters<typeof openPacket>[1];
  private readonly pingIntervalMs: number;
  private readonly connectTimeoutMs: number;
  private readonly maxBufferedBytes: number;
  private readonly logger: Logger;
  private readonly authenticator: (auth: unknown) => Promise<SocketData>;
  private readonly responseHeaders: Readonly<Record<string, string>>;
  private readonly addressOf: (req: IncomingMessage) => string;
  private readonly perAddress: SocketsPerAddress;
  /** Sockets over their address's cap, open only until they are told so. */
  private readonly overCap = new Set<RealtimeSocket>();
  private readonly detach: () => void;
  private readonly budgetRefusal: (retryAfterSeconds: number) => unknown;
  readonly messageBudget: MessageBudget;
  private clientEvents: ClientEventListener = () => undefined;
  private bus: RealtimeBus | undefined;
  private slotCounter = 0;
  private heartbeatTick = 0;
  private closed = false;

  constructor(
    private readonly http: HttpServer,
    options: RealtimeServerOptions,
  ) {
    this.pingIntervalMs = options.pingIntervalMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
    this.logger = options.logger;
    this.authenticator = options.authenticate;
    this.responseHeaders = options.responseHeaders ?? {};
    this.addressOf = options.addressOf ?? ((req) => req.socket.remoteAddress ?? 'unknown');
    this.perAddress = new SocketsPerAddress(options.socketsPerAddress ?? Infinity);
    this.messageBudget = new MessageBudget(options.messageBudget ?? defaultMessageBudget);
    this.budgetRefusal = options.budgetRefusal ?? defaultBudgetRefusal;
    const maxPayload = options.maxPayload ?? 1e6;
    this.openSettings = {
      pingIntervalMs: this.pingIntervalMs,
      pingTimeoutMs: options.pingTimeoutMs ?? 10_000,
      maxPayload,
    };
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload,
    });
    this.detach = this.attach(http);
    this.heartbeat = setInterval(() => this.beat(), this.pingIntervalMs / heartbeatSlices);
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
    return this.rooms.get(room)?.size ?? 0;
  }

  /** This node's rooms and their sockets (to bring them up to date after the bus was cut). */
  localRooms(): ReadonlyMap<string, ReadonlySet<RealtimeSocket>> {
    return this.rooms;
  }

  on<E extends keyof Hooks>(event: E, listener: (...args: Hooks[E]) => void): this {
    this.hooks.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  off<E extends keyof Hooks>(event: E, listener: (...args: Hooks[E]) => void): this {
    this.hooks.off(event, listener as (...args: unknown[]) => void);
    return this;
  }

  /** The one listener for every client event of every socket. */
  onClientEvent(listener: ClientEventListener): void {
    this.clientEvents = listener;
  }

  /** Makes rooms, broadcasts and server events reach the other nodes through `bus`. */
  useBus(bus: RealtimeBus): void {
    this.bus = bus;
  }

  /** What another node sent over the bus. */
  receive(message: BusMessage): void {
    switch (message.kind) {
      case 'emit':
        this.deliver(message.rooms, message.except, message.packet);
        return;
      case 'leave':
        this.leaveLocal(message.rooms, message.room);
        return;
      case 'server':
        this.fire(message.event, message.payload);
        return;
    }
  }

  /** Sockets in any of `rooms`, on every node. */
  to(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this, roomList(rooms), []);
  }

  /** Every connected socket on every node but those in any of `rooms`. */
  except(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this, null, roomList(rooms));
  }

  in(rooms: string | readonly string[]): Broadcast {
    return this.to(rooms);
  }

  /** Every connected socket on every node. */
  emit<E extends keyof ServerToClientEvents>(
    event: E,
    payload: Parameters<ServerToClientEvents[E]>[0],
  ): void {
    this.broadcast(null, [], event, payload);
  }

  /** Tells the other nodes' servers (not this one's). */
  serverSideEmit<E extends keyof InterServerEvents>(
    event: E,
    payload: Parameters<InterServerEvents[E]>[0],
  ): void {
    this.bus?.publish({ kind: 'server', event, payload });
  }

  /** @internal `Broadcast.emit`. */
  broadcast(rooms: string[] | null, except: string[], event: string, payload: unknown): void {
    const packet = eventPacket(event, payload);
    this.deliver(rooms, except, packet);
    this.bus?.publish({ kind: 'emit', rooms, except, packet });
  }

  /** @internal `Broadcast.socketsLeave`. */
  socketsLeave(rooms: string[], room: string): void {
    this.leaveLocal(rooms, room);
    this.bus?.publish({ kind: 'leave', rooms, room });
  }

  /**
   * Closes every client's connection without a disconnect packet, as a restarting server does
   * (1012, Service Restart, RFC 6455 §7.4.1 and the IANA registry): each client reconnects by
   * itself, behind a load balancer to another node. The server goes on accepting connections.
   */
  reconnectAll(): void {
    for (const socket of [...this.sockets]) socket.end(1012);
  }

  /** Disconnects every socket and stops serving; the HTTP server is the caller's to close. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.detach();
    for (const socket of [...this.sockets]) socket.disconnect();
    this.wss.close();
  }

  // SocketOwner: what sockets tell their server.

  authenticate(socket: RealtimeSocket, auth: unknown): Promise<SocketData> {
    if (this.overCap.has(socket)) {
      this.log('debug', socket, 'refused a socket over its address cap', {
        openSockets: this.perAddress.countOf(socket.address),
      });
      return Promise.reject(tooManySockets);
    }
    return this.authenticator(auth);
  }

  connected(socket: RealtimeSocket): void {
    this.connectedById.set(socket.id, socket);
    this.fire('connection', socket);
  }

  clientEvent(socket: RealtimeSocket, event: string, args: unknown[]): void {
    try {
      this.clientEvents(socket, event, args);
    } catch (err) {
      this.logger.error({ err, event }, 'a socket event listener threw');
    }
  }

  overBudget(
    socket: RealtimeSocket,
    verdict: 'refused' | 'disconnect',
    retryAfterSeconds: number,
  ): unknown {
    if (verdict === 'disconnect')
      this.log('debug', socket, 'disconnected a socket that kept sending over its budget');
    this.fire('overBudget', socket, verdict);
    return this.budgetRefusal(retryAfterSeconds);
  }

  joined(socket: RealtimeSocket, room: string): void {
    let members = this.rooms.get(room);
    if (!members) this.rooms.set(room, (members = new Set()));
    members.add(socket);
  }

  left(socket: RealtimeSocket, room: string): void {
    const members = this.rooms.get(room);
    if (!members) return;
    members.delete(socket);
    if (members.size === 0) this.rooms.delete(room);
  }

  disconnecting(socket: RealtimeSocket): void {
    this.fire('disconnecting', socket);
  }

  disconnected(socket: RealtimeSocket): void {
    this.sockets.delete(socket);
    this.perAddress.remove(socket.address);
    this.overCap.delete(socket);
    if (this.connectedById.get(socket.id) !== socket) return;
    this.connectedById.delete(socket.id);
    this.fire('disconnect', socket);
  }

  log(
    level: 'debug' | 'warn',
    socket: RealtimeSocket,
    message: string,
    details: Record<string, unknown> = {},
  ): void {
    this.logger[level]({ socketId: socket.id, ...details }, message);
  }

  // Internals.

  private fire<E extends keyof Hooks>(event: E, ...args: Hooks[E]): void {
    try {
      this.hooks.emit(event, ...args);
    } catch (err) {
      this.logger.error({ err, event }, 'a realtime listener threw');
    }
  }

  /**
   * Writes one framed packet to this node's sockets in `rooms` (all sockets when null) and in none
   * of `except`, once each.
   */
  private deliver(rooms: string[] | null, except: string[], packet: string): void {
    const frame = textFrame(packet);
    if (except.length > 0) {
      const excluded = this.membersOf(except);
      const included = rooms === null ? this.connectedById.values() : this.membersOf(rooms);
      for (const socket of included) if (!excluded.has(socket)) socket.write(frame);
      return;
    }
    if (rooms === null) {
      for (const socket of this.connectedById.values()) socket.write(frame);
      return;
    }
    const [only, ...more] = rooms;
    if (only !== undefined && more.length === 0) {
      // The common case, a stream's room, needs no set of its own. A write may drop a socket
      // from the room's set; a Set's iteration allows that.
      for (const socket of this.rooms.get(only) ?? []) socket.write(frame);
      return;
    }
    for (const socket of this.membersOf(rooms)) socket.write(frame);
  }

  private leaveLocal(rooms: string[], room: string): void {
    for (const socket of this.membersOf(rooms)) socket.leave(room);
  }

  private membersOf(rooms: string[]): Set<RealtimeSocket> {
    const found = new Set<RealtimeSocket>();
    for (const room of rooms) for (const socket of this.rooms.get(room) ?? []) found.add(socket);
    return found;
  }

  private beat(): void {
    const slot = this.heartbeatTick++ % heartbeatSlices;
    const connectDeadline = Date.now() - this.connectTimeoutMs;
    for (const socket of this.sockets)
      if (socket.heartbeatSlot === slot) socket.heartbeat(this.pingFrame, connectDeadline);
  }

  /**
   * Takes over the HTTP server's upgrades and its requests under the Socket.IO path: a polling
   * client gets a clear refusal instead of the web app's HTML.
   */
  private attach(http: HttpServer): () => void {
    const onUpgrade = (req: IncomingMessage, raw: Duplex, head: Buffer) =>
      this.upgrade(req, raw, head);
    const others = http.listeners('request') as ((...args: unknown[]) => void)[];
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      if (req.url?.startsWith(path)) {
        this.refuseHttp(res, 400, 0, 'Transport unknown');
        return;
      }
      for (const listener of others) listener.call(http, req, res);
    };
    http.removeAllListeners('request');
    http.on('request', onRequest);
    http.on('upgrade', onUpgrade);
    return () => {
      http.off('upgrade', onUpgrade);
      http.off('request', onRequest);
      for (const listener of others) http.on('request', listener);
    };
  }

  private upgrade(req: IncomingMessage, raw: Duplex, head: Buffer): void {
    raw.on('error', ignoreSocketError);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== path || this.closed) {
      raw.destroy();
      return;
    }
    if (url.searchParams.get('EIO') !== '4') {
      this.refuseUpgrade(raw, 5, 'Unsupported protocol version');
      return;
    }
    if (url.searchParams.get('transport') !== 'websocket' || url.searchParams.has('sid')) {
      this.refuseUpgrade(raw, 3, 'Bad request');
      return;
    }
    const address = this.addressOf(req);
    if (!this.perAddress.mayUpgrade(address)) {
      // Every descriptor such an address gets is one fewer for everyone else.
      this.logger.debug({ openSockets: this.perAddress.countOf(address) }, 'refused an upgrade');
      this.refuseUpgrade(raw, 4, tooManySocketsMessage, 429, { 'retry-after': '10' });
      return;
    }
    this.wss.handleUpgrade(req, raw, head, (ws) => this.open(ws, raw, address));
  }

  private open(ws: WebSocket, raw: Duplex, clientAddress: string): void {
    ws.on('error', ignoreSocketError);
    if (this.closed) {
      ws.terminate();
      return;
    }
    const { address, admission } = this.perAddress.add(clientAddress);
    if (admission === 'reject') {
      // An upgrade that raced past the hard bound.
      this.perAddress.remove(address);
      ws.terminate();
      return;
    }
    const socket = new RealtimeSocket(
      newId(),
      this.slotCounter++ % heartbeatSlices,
      Date.now(),
      this,
      ws,
      raw,
      this.maxBufferedBytes,
      address,
    );
    this.sockets.add(socket);
    // Over the cap: the client still gets its open packet, so that its connect can be answered
    // with a refusal it understands, rather than a failed upgrade it retries.
    if (admission === 'refuse') this.overCap.add(socket);
    socket.write(textFrame(openPacket(newId(), this.openSettings)));
  }

  /** Engine.IO's error body: `{code, message}`. */
  private refuseHttp(res: ServerResponse, status: number, code: number, message: string): void {
    const body = JSON.stringify({ code, message });
    res.writeHead(status, {
      ...this.responseHeaders,
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  }

  private refuseUpgrade(
    raw: Duplex,
    code: number,
    message: string,
    status: 400 | 429 = 400,
    extraHeaders: Record<string, string> = {},
  ): void {
    const body = JSON.stringify({ code, message });
    const headers = {
      ...this.responseHeaders,
      ...extraHeaders,
      connection: 'close',
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(body)),
    };
    raw.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${Object.entries(headers)
        .map(([name, value]) => `${name}: ${value}\r\n`)
        .join('')}\r\n${body}`,
      // Not left half-open for a client that never closes its side: that would hold the
      // descriptor the refusal is there to save.
      () => raw.destroy(),
    );
  }
}

/**
 * Emits to the sockets in some rooms (every socket when `rooms` is null), on every node. No rooms
 * at all reaches nobody.
 */
export class Broadcast {
  constructor(
    private readonly server: RealtimeServer,
    private readonly rooms: string[] | null,
    private readonly excluded: string[],
  ) {}

  /** The same sockets but those in any of `rooms`. */
  except(rooms: string | readonly string[]): Broadcast {
    return new Broadcast(this.server, this.rooms, [...this.excluded, ...roomList(rooms)]);
  }

  emit<E extends keyof ServerToClientEvents>(
    event: E,
    payload: Parameters<ServerToClientEvents[E]>[0],
  ): void {
    if (this.rooms?.length !== 0) this.server.broadcast(this.rooms, this.excluded, event, payload);
  }

  /** The sockets in these rooms, on every node, leave `room`. */
  socketsLeave(room: string): void {
    if (this.rooms === null) throw new Error('socketsLeave needs rooms');
    if (this.rooms.length > 0) this.server.socketsLeave(this.rooms, room);
  }
}

const roomList = (rooms: string | readonly string[]): string[] =>
  typeof rooms === 'string' ? [rooms] : [...rooms];

/** 120 random bits, URL-safe: unguessable, and unique across nodes. */
const newId = () => randomBytes(15).toString('base64url');

/** What a socket over its address's cap is told (`connect_error` with `data.code`). */
const tooManySocketsMessage = 'Too many connections from your address';
const tooManySockets = new ConnectRefusal(
  'rate_limited',
  { code: 'rate_limited', message: tooManySocketsMessage },
  true,
);

/** A connection reset by the peer is the peer's business; `close` follows and cleans up. */
const ignoreSocketError = () => undefined;
