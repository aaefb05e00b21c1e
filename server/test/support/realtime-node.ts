import { createServer, type RequestListener, type Server as HttpServer } from 'node:http';
import type { AddressInfo, Socket as NetSocket } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect } from 'vitest';
import { WebSocket } from 'ws';
import { RealtimeServer, type RealtimeServerOptions } from '../../src/realtime/wire/RealtimeServer';

/*
 * The realtime server on its own, for the suites that hold it to its wire: a bare HTTP server on
 * 127.0.0.1 and a bare WebSocket client that speaks Engine.IO by hand.
 */

export type OnCleanup = (cleanup: () => unknown) => void;

/**
 * Everything a test opens, closed after it in reverse order; the first failure to close fails
 * the test. Call once at the top of a test file.
 */
export function cleanupAfterEach(): OnCleanup {
  const cleanups: (() => unknown)[] = [];
  afterEach(async () => {
    const failures: unknown[] = [];
    for (const cleanup of cleanups.splice(0).reverse()) {
      try {
        await cleanup();
      } catch (error) {
        failures.push(error);
      }
    }
    if (failures.length > 0) throw failures[0];
  });
  return (cleanup) => void cleanups.push(cleanup);
}

export interface LogLine {
  level: number;
  msg: string;
  socketId?: string;
  [key: string]: unknown;
}

export interface RealtimeNode {
  http: HttpServer;
  server: RealtimeServer;
  url: string;
  wsUrl: string;
  /** What the server logged, at debug and above. */
  logs: LogLine[];
  /** WebSocket upgrades the HTTP server has seen. */
  upgrades: () => number;
}

/**
 * A RealtimeServer on a fresh HTTP server, whose own request listener (`app`) answers what is
 * not the realtime server's; closed, with every connection, when the test ends.
 */
export async function startRealtimeNode(
  options: Omit<RealtimeServerOptions, 'logger'>,
  onCleanup: OnCleanup,
  app: RequestListener = (_req, res) => res.end('app'),
): Promise<RealtimeNode> {
  const http = createServer(app);
  const connections = new Set<NetSocket>();
  http.on('connection', (connection: NetSocket) => {
    connections.add(connection);
    connection.once('close', () => connections.delete(connection));
  });
  let upgrades = 0;
  http.on('upgrade', () => upgrades++);
  const logs: LogLine[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const server = new RealtimeServer(http, { logger, ...options });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    server.close();
    for (const connection of connections) connection.destroy();
    await new Promise<void>((resolve) => http.close(() => resolve()));
  });
  const { port } = http.address() as AddressInfo;
  return {
    http,
    server,
    url: `http://127.0.0.1:${port}`,
    wsUrl: `ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`,
    logs,
    upgrades: () => upgrades,
  };
}

/**
 * A bare WebSocket speaking Engine.IO by hand. Pings are answered (unless told not to) and
 * counted with their times, never queued: `next` and `unread` see every other frame.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly opened: Promise<number>;
  readonly closed: Promise<{ code: number; reason: string; at: number }>;
  readonly pingTimes: number[] = [];
  private readonly queue: string[] = [];
  private wake: (() => void) | undefined;

  constructor(url: string, onCleanup: OnCleanup, { answerPings = true } = {}) {
    this.ws = new WebSocket(url);
    this.ws.on('error', () => undefined);
    this.opened = new Promise((resolve) => this.ws.once('open', () => resolve(Date.now())));
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) =>
        resolve({ code, reason: reason.toString(), at: Date.now() }),
      ),
    );
    this.ws.on('message', (data, isBinary) => {
      const text = isBinary ? '<binary>' : (data as Buffer).toString();
      if (text === '2') {
        this.pingTimes.push(Date.now());
        if (answerPings) this.ws.send('3');
        return;
      }
      this.queue.push(text);
      this.wake?.();
    });
    onCleanup(() => this.ws.terminate());
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  get pings(): number {
    return this.pingTimes.length;
  }

  /** Frames received and not yet read by `next`. */
  get unread(): readonly string[] {
    return this.queue;
  }

  send(data: string | Buffer): void {
    this.ws.send(data);
  }

  async next(ms = 3000): Promise<string> {
    const deadline = Date.now() + ms;
    while (this.queue.length === 0) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wake = undefined;
    }
    return this.queue.shift()!;
  }

  /** Reads the Engine.IO open packet; resolves with its handshake. */
  async open(): Promise<Record<string, unknown>> {
    const open = await this.next();
    expect(open[0]).toBe('0');
    return JSON.parse(open.slice(1)) as Record<string, unknown>;
  }

  /** Opens and connects to the main namespace; resolves with the Socket.IO id. */
  async connect(auth?: Record<string, unknown>): Promise<string> {
    await this.open();
    this.send(auth ? `40${JSON.stringify(auth)}` : '40');
    const reply = await this.next();
    expect(reply).toMatch(/^40\{/);
    return (JSON.parse(reply.slice(2)) as { sid: string }).sid;
  }

  /** Stops reading from the TCP connection, as a client that hangs would. */
  pauseReading(): void {
    (this.ws as unknown as { _socket: NetSocket })._socket.pause();
  }
}
