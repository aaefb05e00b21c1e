/**
 * A minimal Socket.IO client speaking the wire protocol itself over one WebSocket, for load
 * generators that must hold thousands of sockets on a fraction of a core: Engine.IO v4 with the
 * websocket transport only (no polling, no upgrade) and the Socket.IO v5 packet format, main
 * namespace, text packets only. What `socket.io-client` spends per socket and per message
 * (decoding every packet into objects, an emitter per socket, reconnection and buffering
 * machinery) is left out: received frames are handed over raw, as bytes, and the caller decides
 * what, if anything, to decode.
 *
 * Engine.IO packets: `0` open (JSON handshake), `2` ping → answer `3` pong, `4` message.
 * Socket.IO packets inside a message: `0` connect (`40{auth}` → `40{"sid"}`), `2` event
 * (`42[name, payload]`, with an ack id `42<id>[...]`), `3` ack (`43<id>[...]`), `4` connect error.
 */
import WebSocket from 'ws';

const PING = 0x32; // '2'
const MESSAGE = 0x34; // '4'
const OPEN = 0x30; // '0'
const SIO_CONNECT = 0x30; // '0'
const SIO_ACK = 0x33; // '3'
const SIO_CONNECT_ERROR = 0x34; // '4'
const SIO_EVENT = 0x32; // '2'

/** A raw `42[...]` event frame, as received: the caller searches it without decoding. */
export type FrameListener = (frame: Buffer) => void;

export class WireSocket {
  #nextAckId = 0;
  readonly #acks = new Map<number, (reply: unknown) => void>();
  #closed = false;

  constructor(
    private readonly ws: WebSocket,
    /** The socket id the server gave in its connect answer. */
    readonly sid: string,
    /** Called with every event frame the server sends (not acks, not pings). */
    private readonly onEvent: FrameListener | undefined,
    onClose: () => void,
  ) {
    ws.on('message', (data: Buffer) => this.#receive(data));
    // A socket error is followed by 'close', which is where it is handled.
    ws.on('error', () => undefined);
    ws.once('close', () => {
      this.#closed = true;
      for (const settle of this.#acks.values()) settle(new Error('socket closed'));
      this.#acks.clear();
      onClose();
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Sends `event` without asking for an acknowledgement. */
  emit(event: string, payload: unknown): void {
    this.ws.send(`42${JSON.stringify([event, payload])}`);
  }

  /** Sends `event` and resolves with the server's acknowledgement (its first argument). */
  emitWithAck(event: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    const id = this.#nextAckId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#acks.delete(id);
        reject(new Error(`${event}: no acknowledgement within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#acks.set(id, (reply) => {
        clearTimeout(timer);
        if (reply instanceof Error) reject(reply);
        else resolve(reply);
      });
      this.ws.send(`42${id}${JSON.stringify([event, payload])}`);
    });
  }

  close(): void {
    if (this.#closed) return;
    this.ws.close();
  }

  /** Drops the connection at once, as a tab that vanished would (no close handshake). */
  terminate(): void {
    this.ws.terminate();
  }

  #receive(data: Buffer): void {
    const kind = data[0];
    if (kind === PING) {
      this.ws.send('3');
      return;
    }
    if (kind !== MESSAGE) return;
    const packet = data[1];
    if (packet === SIO_EVENT) this.onEvent?.(data);
    else if (packet === SIO_ACK) this.#settleAck(data);
  }

  #settleAck(data: Buffer): void {
    // `43<id>[reply]`: digits from offset 2 up to the array.
    let id = 0;
    let i = 2;
    for (; i < data.length && data[i]! >= 0x30 && data[i]! <= 0x39; i += 1)
      id = id * 10 + data[i]! - 0x30;
    const settle = this.#acks.get(id);
    if (!settle) return;
    this.#acks.delete(id);
    const args = JSON.parse(data.toString('utf8', i)) as unknown[];
    settle(args[0]);
  }
}

export interface ConnectOptions {
  /** `auth.token` of the handshake; absent for an anonymous socket. */
  token?: string;
  onEvent?: FrameListener;
  onClose?: () => void;
  timeoutMs?: number;
}

/**
 * Opens `GET /socket.io/?EIO=4&transport=websocket` on `baseUrl` and connects to the main
 * namespace. Rejects with the server's reason when it refuses the connection.
 */
export function connectWire(baseUrl: string, options: ConnectOptions = {}): Promise<WireSocket> {
  const url = `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`;
  const ws = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no Socket.IO connection within ${options.timeoutMs ?? 20_000} ms`));
    }, options.timeoutMs ?? 20_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      ws.off('message', onHandshake);
      ws.off('close', onEarlyClose);
      ws.terminate();
      reject(error);
    };
    const onEarlyClose = () => fail(new Error('closed during the handshake'));
    const onHandshake = (data: Buffer) => {
      if (data[0] === OPEN) {
        ws.send(options.token ? `40${JSON.stringify({ token: options.token })}` : '40');
        return;
      }
      if (data[0] === PING) {
        ws.send('3');
        return;
      }
      if (data[0] !== MESSAGE) return;
      if (data[1] === SIO_CONNECT) {
        clearTimeout(timer);
        ws.off('message', onHandshake);
        ws.off('error', fail);
        ws.off('close', onEarlyClose);
        const { sid } = JSON.parse(data.toString('utf8', 2)) as { sid: string };
        resolve(new WireSocket(ws, sid, options.onEvent, options.onClose ?? (() => undefined)));
      } else if (data[1] === SIO_CONNECT_ERROR) {
        fail(new Error(`connection refused: ${data.toString('utf8', 2)}`));
      }
    };
    ws.on('message', onHandshake);
    ws.on('error', fail);
    ws.once('close', onEarlyClose);
  });
}
