import type { Duplex } from 'node:stream';
import type { ServerToClientEvents, SocketData } from '@onair/protocol';
import { WebSocket, type RawData } from 'ws';
import type { BudgetState, MessageBudget } from './MessageBudget';
import {
  ackPacket,
  closeCode,
  connectErrorPacket,
  connectedPacket,
  decodeClientFrame,
  disconnectPacket,
  eventPacket,
  mainNamespace,
  maxAttachments,
  textFrame,
  type ClientPacket,
  type CloseCode,
} from './packets';

/**
 * What a socket needs from the server that holds it: given to each socket as a private object of
 * the server's, never the server's public API.
 */
export interface SocketOwner {
  /** Who the connect packet's auth names; rejects with a `ConnectRefusal` to refuse it. */
  authenticate(socket: RealtimeSocket, auth: unknown): Promise<SocketData>;
  connected(socket: RealtimeSocket): void;
  clientEvent(socket: RealtimeSocket, event: string, args: unknown[]): void;
  /** Every socket's allowance of messages (pongs are free). */
  readonly messageBudget: MessageBudget;
  /** What the ack of a binary event carries: the contract has none, so each is refused. */
  readonly binaryRefusal: unknown;
  /**
   * A message over the socket's budget, which nothing has handled: returns what the ack of a
   * refused event carries. On `disconnect` the socket kept going and is being disconnected.
   */
  overBudget(
    socket: RealtimeSocket,
    verdict: 'refused' | 'disconnect',
    retryAfterSeconds: number,
  ): unknown;
  joined(socket: RealtimeSocket, room: string): void;
  left(socket: RealtimeSocket, room: string): void;
  /** Runs while the socket is still in its rooms, then again once it has left them all. */
  disconnecting(socket: RealtimeSocket): void;
  disconnected(socket: RealtimeSocket): void;
  /** The client left its namespace (`41`); the connection stays open for another connect. */
  namespaceLeft(socket: RealtimeSocket): void;
  /** Something the operator may want to know; `debug` for what any client can cause at will. */
  log(
    level: 'debug' | 'warn',
    socket: RealtimeSocket,
    message: string,
    details?: Record<string, unknown>,
  ): void;
}

/** Why a connection is refused; the client's `connect_error` carries `message` and `data`. */
export class ConnectRefusal extends Error {
  constructor(
    message: string,
    readonly data?: unknown,
    /** The connection closes once the client is told: asking again would change nothing. */
    readonly final = false,
  ) {
    super(message);
  }
}

const State = {
  /** Open, waiting for the client's connect packet. */
  Opening: 0,
  Authenticating: 1,
  Connected: 2,
  Closed: 3,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * Past this much waiting to be written, a closing connection's client is not reading: its close
 * frame would never arrive, and waiting for it would hold the memory and the descriptor.
 */
const unreadBacklog = 64 * 1024;

const anonymousData: SocketData = { anonymous: true, userId: null, username: null };

/**
 * One client connection. A stream's room holds thousands of these, mostly idle, so a socket keeps
 * only what it must (ids, its rooms as a short list, heartbeat flags) and no listeners or timers
 * of its own: the server's one heartbeat visits every socket, and the server's hooks, not
 * per-socket listeners, hear connects and disconnects.
 */
export class RealtimeSocket {
  /** Set by authentication, before the socket counts as connected. */
  data: SocketData = anonymousData;
  private state: State = State.Opening;
  private roomList: string[] = [];
  /** A ping went out and no pong has come back yet. */
  private awaitingPong = false;
  /** What is left of its `MessageBudget`: three numbers, no timer. */
  private readonly messageBudget: BudgetState;
  /** Binary frames still to come for the last binary packet, read only to be discarded. */
  private attachmentsDue = 0;

  constructor(
    /** Unique across nodes: it names an anonymous viewer and a socket's presence. */
    readonly id: string,
    /** Which slice of the heartbeat visits this socket, so pings are spread over the interval. */
    readonly heartbeatSlot: number,
    /** When it opened, or last left its namespace: its connect deadline runs from here. */
    private unconnectedSince: number,
    private readonly owner: SocketOwner,
    private readonly ws: WebSocket,
    /** The connection under `ws`: prebuilt frames are written to it directly. */
    private readonly raw: Duplex,
    private readonly maxBufferedBytes: number,
    /** The client's address as per-address limits count it (an IPv6 /64 as one). */
    readonly address: string,
  ) {
    this.messageBudget = owner.messageBudget.opened(unconnectedSince);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.closed());
  }

  /**
   * True once its session is over: the connection is gone or closed by the server, or the client
   * left the namespace (`41`), so what a handler was doing for it must not go on.
   */
  get disconnected(): boolean {
    return this.state !== State.Connected;
  }

  get isConnected(): boolean {
    return this.state === State.Connected;
  }

  get rooms(): readonly string[] {
    return this.roomList;
  }

  inRoom(room: string): boolean {
    return this.roomList.includes(room);
  }

  join(room: string): void {
    if (this.state !== State.Connected || this.roomList.includes(room)) return;
    this.roomList.push(room);
    this.owner.joined(this, room);
  }

  leave(room: string): void {
    const index = this.roomList.indexOf(room);
    if (index === -1) return;
    this.roomList.splice(index, 1);
    this.owner.left(this, room);
  }

  emit<E extends keyof ServerToClientEvents>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void {
    // Only to a client in the namespace: one that has left (41) would keep it for its next session.
    if (this.state !== State.Connected) return;
    this.write(textFrame(eventPacket(event, args)));
  }

  /**
   * Tells the client it was disconnected from the namespace (socket.io-client then does not
   * reconnect by itself), then closes the connection: it carries no other namespace.
   */
  disconnect(code: CloseCode = closeCode.normal): void {
    if (this.state === State.Connected) this.write(textFrame(disconnectPacket()));
    this.end(code);
  }

  /**
   * Sends a close frame with `code` (RFC 6455 §5.5.1) and closes once it is with the kernel,
   * without waiting for the client's close frame, which a hostile or dead client never sends
   * (issue 16). A client that stopped reading gets nothing more: its backlog is dropped.
   */
  end(code: CloseCode, reason = ''): void {
    this.closed();
    if (this.ws.readyState === WebSocket.OPEN) this.ws.close(code, reason);
    if (this.raw.writableLength > unreadBacklog) this.raw.destroy();
    else this.raw.end(() => this.raw.destroy());
  }

  /**
   * Writes a complete WebSocket frame. A client that stopped reading is dropped rather than
   * buffered for without bound; it reconnects and asks for what it missed.
   */
  write(frame: Buffer): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    if (this.raw.writableLength > this.maxBufferedBytes) {
      this.owner.log('warn', this, 'dropped a client that stopped reading', {
        bufferedBytes: this.raw.writableLength,
      });
      this.end(closeCode.policy, 'not reading');
      return;
    }
    this.raw.write(frame);
  }

  /**
   * The heartbeat's visit: a socket that never finished connecting by `connectDeadline`, or that
   * left the last ping unanswered, is dropped; otherwise it is pinged.
   */
  heartbeat(pingFrame: Buffer, connectDeadline: number): void {
    if (this.state === State.Closed) return;
    if (this.state !== State.Connected && this.unconnectedSince < connectDeadline) {
      this.end(closeCode.policy, 'connect timeout');
      return;
    }
    if (this.awaitingPong) {
      this.end(closeCode.policy, 'ping timeout');
      return;
    }
    this.awaitingPong = true;
    this.write(pingFrame);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.state === State.Closed) return;
    if (isBinary) {
      this.receiveAttachment();
      return;
    }
    const packet = decodeClientFrame(data.toString());
    if (!this.expectAttachments(packet)) return;
    // A pong answers the server's own ping: it is not the client's to ration.
    if (packet.type !== 'pong' && !this.withinBudget(packet)) return;
    switch (packet.type) {
      case 'pong':
        this.awaitingPong = false;
        return;
      case 'ignored':
      case 'ack':
        // This server never asks a client for an ack: one can only be stale or stray.
        return;
      case 'close':
        this.end(closeCode.normal);
        return;
      case 'invalid':
        this.protocolError(packet.reason);
        return;
      case 'connect':
        if (packet.namespace !== mainNamespace) {
          // The client is told, and gives that namespace up; the connection and its other
          // namespace stay (Socket.IO v5: CONNECT_ERROR names the namespace it refuses).
          this.write(
            textFrame(connectErrorPacket({ message: 'Invalid namespace' }, packet.namespace)),
          );
          return;
        }
        this.authenticate(packet.auth);
        return;
      case 'disconnect':
        if (packet.namespace !== mainNamespace) {
          this.protocolError('a disconnect from a namespace it is not connected to');
          return;
        }
        this.leaveNamespace();
        return;
      case 'event':
        this.receiveEvent(packet);
        return;
    }
  }

  private receiveEvent(packet: Extract<ClientPacket, { type: 'event' }>): void {
    if (packet.namespace !== mainNamespace) {
      this.protocolError('an event for a namespace it is not connected to');
      return;
    }
    // Events before the connect is accepted are not the client's yet to send.
    if (this.state !== State.Connected) return;
    const { ackId } = packet;
    if (packet.attachments > 0) {
      // No event of the contract is binary: the client's ack, when it asked for one, says so;
      // the connection stays, and the attachments are discarded as they come.
      this.owner.log('debug', this, 'refused a binary event', { event: packet.event });
      if (ackId !== undefined) this.write(textFrame(ackPacket(ackId, [this.owner.binaryRefusal])));
      return;
    }
    if (ackId === undefined) {
      this.owner.clientEvent(this, packet.event, packet.args);
      return;
    }
    let answered = false;
    const ack = (...args: unknown[]) => {
      // Socket.IO acks once: a second call would answer an id the client has already let go.
      if (answered) return;
      answered = true;
      this.write(textFrame(ackPacket(ackId, args)));
    };
    this.owner.clientEvent(this, packet.event, [...packet.args, ack]);
  }

  /**
   * Keeps count of the binary frames a binary packet announces. A packet that arrives while
   * attachments are still due breaks the protocol (Socket.IO's own parser refuses it too), as
   * does one that announces more than this server will read.
   */
  private expectAttachments(packet: ClientPacket): boolean {
    const isSocketPacket =
      packet.type === 'connect' ||
      packet.type === 'disconnect' ||
      packet.type === 'event' ||
      packet.type === 'ack';
    if (isSocketPacket && this.attachmentsDue > 0) {
      this.protocolError('a packet before the attachments of the last one');
      return false;
    }
    if (packet.type !== 'event' && packet.type !== 'ack') return true;
    if (packet.attachments > maxAttachments) {
      this.owner.log('debug', this, 'closed a connection announcing too many attachments', {
        attachments: packet.attachments,
      });
      this.end(closeCode.policy, 'too many attachments');
      return false;
    }
    this.attachmentsDue = packet.attachments;
    return true;
  }

  /** A binary frame: an attachment to discard, or one no packet announced. */
  private receiveAttachment(): void {
    if (this.attachmentsDue === 0) {
      this.protocolError('a binary frame no packet announced');
      return;
    }
    this.attachmentsDue--;
    // Each is a message like any other: a stream of attachments spends the budget too.
    this.withinBudget(undefined);
  }

  /**
   * Spends one message of the socket's budget before anything handles it. Over budget, an
   * event that asked for an ack is answered with the owner's refusal and nothing else; a socket
   * that stays over budget is disconnected (issue 16: one socket's flood must not starve the node).
   */
  private withinBudget(packet: ClientPacket | undefined): boolean {
    const budget = this.owner.messageBudget;
    const verdict = budget.spend(this.messageBudget, Date.now());
    if (verdict === 'allowed') return true;
    const refusal = this.owner.overBudget(
      this,
      verdict,
      budget.retryAfterSeconds(this.messageBudget),
    );
    if (verdict === 'disconnect') this.disconnect(closeCode.policy);
    else if (packet?.type === 'event' && packet.ackId !== undefined && this.isConnected)
      this.write(textFrame(ackPacket(packet.ackId, [refusal])));
    return false;
  }

  private authenticate(auth: unknown): void {
    if (this.state !== State.Opening) return;
    this.state = State.Authenticating;
    this.owner.authenticate(this, auth).then(
      (data) => {
        if (this.state !== State.Authenticating) return;
        this.data = data;
        this.state = State.Connected;
        this.write(textFrame(connectedPacket(this.id)));
        this.owner.connected(this);
      },
      (error: unknown) => {
        if (this.state !== State.Authenticating) return;
        this.state = State.Opening;
        const refusal =
          error instanceof ConnectRefusal
            ? { message: error.message, data: error.data }
            : { message: 'Could not connect' };
        if (!(error instanceof ConnectRefusal))
          this.owner.log('warn', this, 'authentication failed', { err: error });
        this.write(textFrame(connectErrorPacket(refusal)));
        if (error instanceof ConnectRefusal && error.final) this.end(closeCode.tryAgainLater);
      },
    );
  }

  /**
   * `41`: the client leaves the main namespace (Socket.IO v5 DISCONNECT). Its session ends as a
   * disconnect does (hooks, rooms), but the Engine.IO connection stays, pinged, for a new `40`
   * within the connect deadline; socket.io-client closes its side itself when it is done.
   */
  private leaveNamespace(): void {
    const was = this.state;
    if (was === State.Opening) return;
    this.state = State.Opening;
    this.unconnectedSince = Date.now();
    if (was !== State.Connected) return;
    this.owner.disconnecting(this);
    for (const room of this.roomList) this.owner.left(this, room);
    this.roomList = [];
    this.owner.namespaceLeft(this);
    this.data = anonymousData;
  }

  private protocolError(reason: string): void {
    this.owner.log('debug', this, 'closed a connection that broke the protocol', { reason });
    this.end(closeCode.protocolError, reason);
  }

  private closed(): void {
    const was = this.state;
    if (was === State.Closed) return;
    this.state = State.Closed;
    if (was === State.Connected) {
      this.owner.disconnecting(this);
      for (const room of this.roomList) this.owner.left(this, room);
      this.roomList = [];
    }
    this.owner.disconnected(this);
  }
}
