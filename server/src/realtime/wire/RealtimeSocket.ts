import type { Duplex } from 'node:stream';
import type { ServerToClientEvents, SocketData } from '@onair/protocol';
import { WebSocket, type RawData } from 'ws';
import type { BudgetState, MessageBudget } from './MessageBudget';
import {
  ackPacket,
  connectErrorPacket,
  connectedPacket,
  decodeClientFrame,
  disconnectPacket,
  eventPacket,
  textFrame,
  type ClientPacket,
} from './packets';

/** What a socket needs from the server that holds it. */
export interface SocketOwner {
  /** Who the connect packet's auth names; rejects with a `ConnectRefusal` to refuse it. */
  authenticate(socket: RealtimeSocket, auth: unknown): Promise<SocketData>;
  connected(socket: RealtimeSocket): void;
  clientEvent(socket: RealtimeSocket, event: string, args: unknown[]): void;
  /** Every socket's allowance of messages (pongs are free). */
  readonly messageBudget: MessageBudget;
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

  constructor(
    /** Unique across nodes: it names an anonymous viewer and a socket's presence. */
    readonly id: string,
    /** Which slice of the heartbeat visits this socket, so pings are spread over the interval. */
    readonly heartbeatSlot: number,
    readonly openedAt: number,
    private readonly owner: SocketOwner,
    private readonly ws: WebSocket,
    /** The connection under `ws`: prebuilt frames are written to it directly. */
    private readonly raw: Duplex,
    private readonly maxBufferedBytes: number,
    /** The client's address as per-address limits count it (an IPv6 /64 as one). */
    readonly address: string,
  ) {
    this.messageBudget = owner.messageBudget.opened(openedAt);
    ws.on('message', (data, isBinary) => this.receive(data, isBinary));
    ws.on('close', () => this.closed());
  }

  /** True once the connection is gone or was closed by the server. */
  get disconnected(): boolean {
    return this.state === State.Closed;
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
    payload: Parameters<ServerToClientEvents[E]>[0],
  ): void {
    this.write(textFrame(eventPacket(event, payload)));
  }

  /** Tells the client it was disconnected (it will not reconnect by itself), then closes. */
  disconnect(): void {
    if (this.state === State.Connected) this.write(textFrame(disconnectPacket()));
    this.closed();
    this.ws.close(1000);
  }

  /**
   * Closes once what was written is with the kernel, without waiting for the client's close frame
   * (which a hostile client never sends): the kernel delivers the rest after the descriptor goes.
   */
  end(code: number): void {
    this.closed();
    this.ws.close(code);
    this.raw.end(() => this.raw.destroy());
  }

  /** Drops the connection without a word, as for a dead peer. */
  terminate(): void {
    this.closed();
    this.ws.terminate();
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
      this.terminate();
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
    if (this.state !== State.Connected && this.openedAt < connectDeadline) {
      // Not `disconnect`: a close handshake waits for a client that never spoke (issue 16).
      this.terminate();
      return;
    }
    if (this.awaitingPong) {
      this.terminate();
      return;
    }
    this.awaitingPong = true;
    this.write(pingFrame);
  }

  private receive(data: RawData, isBinary: boolean): void {
    if (this.state === State.Closed) return;
    const packet = isBinary ? undefined : decodeClientFrame(data.toString());
    // A pong answers the server's own ping: it is not the client's to ration.
    if (packet?.type !== 'pong' && !this.withinBudget(packet)) return;
    // The attachments of a binary event (see `decodeClientFrame`): nothing here reads them.
    if (packet === undefined) return;
    switch (packet.type) {
      case 'pong':
        this.awaitingPong = false;
        return;
      case 'ignored':
        return;
      case 'close':
      case 'disconnect':
        this.terminate();
        return;
      case 'invalid':
        this.refuse(packet.reason);
        return;
      case 'connect':
        this.authenticate(packet.auth);
        return;
      case 'event': {
        // Events before the connect is accepted are not the client's yet to send.
        if (this.state !== State.Connected) return;
        const { ackId } = packet;
        const args =
          ackId === undefined
            ? packet.args
            : [
                ...packet.args,
                (response: unknown) => this.write(textFrame(ackPacket(ackId, response))),
              ];
        this.owner.clientEvent(this, packet.event, args);
        return;
      }
    }
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
    if (verdict === 'disconnect') this.disconnect();
    else if (packet?.type === 'event' && packet.ackId !== undefined && this.isConnected)
      this.write(textFrame(ackPacket(packet.ackId, refusal)));
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
        // 1013, Try Again Later (RFC 6455 §7.4.2, IANA registry).
        if (error instanceof ConnectRefusal && error.final) this.end(1013);
      },
    );
  }

  private refuse(reason: string): void {
    this.owner.log('debug', this, 'closed a connection that broke the protocol', { reason });
    this.terminate();
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
