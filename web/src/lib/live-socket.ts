import type {
  Ack,
  AckResult,
  ClientEventName,
  ClientPayload,
  ClientToServerEvents,
  ErrorBody,
  ServerToClientEvents,
} from '@onair/protocol';
import { io, type Socket } from 'socket.io-client';

/** An acknowledgement that came back with `ok: false`. */
export class SocketError extends Error {
  constructor(readonly error: ErrorBody) {
    super(error.message);
  }
}

/** The node to watch on instead, when this one refused to open a session (it is full). */
export function otherNodeOf(error: unknown): string | undefined {
  const body = error instanceof SocketError ? error.error : undefined;
  return body?.code === 'unavailable' ? body.nodeUrl : undefined;
}

/** Seconds to wait before asking again, when the server said. */
export function retryAfterOf(error: unknown): number | undefined {
  const body = error instanceof SocketError ? error.error : undefined;
  return body && 'retryAfterSeconds' in body ? body.retryAfterSeconds : undefined;
}

/**
 * The one place the web app touches Socket.IO: typed requests with acknowledgements and a timeout,
 * and subscriptions that remove exactly the listener they added.
 */
export class LiveSocket {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private closed = false;

  /**
   * Without a token the socket is an anonymous watcher: it may watch public streams only.
   * `url`: another node of the deployment (one that has room to watch on); default this page's.
   */
  constructor(
    readonly token: string | null,
    url?: string,
  ) {
    const options = {
      auth: token ? { token } : {},
      transports: ['websocket'],
      // A node that dies drops its sockets at once: the first try (after 0.5-1.5 s) usually lands
      // on another node, and later tries are at most 2 s apart (not 5 s) so that a try that met
      // the dead node still has viewers back within 5 s.
      reconnectionDelayMax: 2000,
    };
    this.socket = url ? io(url, options) : io(options);
    this.socket.on('connect_error', (error) => this.retryAfterRefusal(error));
  }

  /**
   * Socket.IO never reconnects by itself after the server refused a connect. A refusal that
   * passes (too many sockets from this network, the database away) is tried again after a pause,
   * spread so that the tabs of one network do not all come back at once; a refused token is not.
   */
  private retryAfterRefusal(error: Error & { data?: unknown }): void {
    if (this.socket.active) return;
    const data = error.data as { code?: unknown; retryAfterSeconds?: unknown } | undefined;
    if (data?.code !== 'rate_limited' && data?.code !== 'unavailable') return;
    // A node shutting down asks for a short wait: by then its load balancer sends elsewhere.
    const waitMs =
      typeof data.retryAfterSeconds === 'number' ? data.retryAfterSeconds * 1000 : 5000;
    setTimeout(
      () => {
        if (!this.closed) this.socket.connect();
      },
      waitMs + Math.random() * waitMs,
    );
  }

  /** The server's id of the current connection (undefined while not connected). */
  get id(): string | undefined {
    return this.socket.id;
  }

  get connected(): boolean {
    return this.socket.connected;
  }

  async request<E extends ClientEventName>(
    event: E,
    payload: ClientPayload<E>,
  ): Promise<AckResult<E>> {
    let response: Ack<AckResult<E>>;
    try {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- socket.io's emitWithAck cannot infer over a generic event
      response = await (this.socket.timeout(8000) as any).emitWithAck(event, payload);
    } catch {
      throw new SocketError({ code: 'timeout', message: 'The server did not answer in time.' });
    }
    if (!response.ok) throw new SocketError(response.error);
    return response as unknown as AckResult<E>;
  }

  on<E extends keyof ServerToClientEvents>(event: E, handler: ServerToClientEvents[E]): () => void {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the typed overloads do not accept a generic event name
    const s = this.socket as any;
    s.on(event, handler);
    return () => s.off(event, handler);
  }

  onConnection(handler: (connected: boolean) => void): () => void {
    const up = () => handler(true);
    const down = () => handler(false);
    this.socket.on('connect', up);
    this.socket.on('disconnect', down);
    return () => {
      this.socket.off('connect', up);
      this.socket.off('disconnect', down);
    };
  }

  close(): void {
    this.closed = true;
    this.socket.close();
  }
}
