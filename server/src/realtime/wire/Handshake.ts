import { randomBytes } from 'node:crypto';
import {
  STATUS_CODES,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import type { SocketData } from '@onair/protocol';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { closeCode, openPacket, textFrame, type CloseCode } from './packets';
import { ConnectRefusal } from './RealtimeSocket';
import { SocketsPerAddress } from './SocketsPerAddress';

/** What the handshake needs of the socket it opens. */
interface OpenedSocket {
  readonly id: string;
  readonly address: string;
  write(frame: Buffer): void;
}

export interface HandshakeOptions<Socket extends OpenedSocket> {
  /** Who a connect packet's auth names; rejects with a `ConnectRefusal` to refuse it. */
  authenticate: (auth: unknown) => Promise<SocketData>;
  logger: Logger;
  /** What the open packet tells the client (Engine.IO v4 handshake). */
  openSettings: Parameters<typeof openPacket>[1];
  /** Headers on the HTTP answers the handshake gives itself (a refusal). */
  responseHeaders: Readonly<Record<string, string>>;
  /** The client's address as per-address limits count it. */
  addressOf: (req: IncomingMessage) => string;
  /** Sockets one address may hold open on this node (Infinity for no cap). */
  socketsPerAddress: number;
  /** Makes the socket for an accepted WebSocket, counted under `address`. */
  socketFor: (ws: WebSocket, raw: Duplex, address: string) => Socket;
}

const path = '/socket.io/';

/**
 * How a client becomes a socket: the HTTP upgrade (Engine.IO v4 over WebSocket only, under a
 * per-address cap), the open packet, and the authentication of its connect packet. The one owner
 * of the WebSocket server.
 */
export class Handshake<Socket extends OpenedSocket> {
  private readonly wss: WebSocketServer;
  private readonly perAddress: SocketsPerAddress;
  /** Sockets over their address's cap, open only until they are told so. */
  private readonly overCap = new Set<Socket>();
  private readonly detach: () => void;
  private closed = false;

  constructor(
    http: HttpServer,
    private readonly options: HandshakeOptions<Socket>,
  ) {
    this.perAddress = new SocketsPerAddress(options.socketsPerAddress);
    this.wss = new WebSocketServer({
      noServer: true,
      perMessageDeflate: false,
      clientTracking: false,
      maxPayload: options.openSettings.maxPayload,
    });
    this.detach = this.attach(http);
  }

  /** Who a socket's connect packet names; a socket over its address's cap is refused. */
  authenticate(socket: Socket, auth: unknown): Promise<SocketData> {
    if (this.overCap.has(socket)) {
      this.options.logger.debug(
        { socketId: socket.id, openSockets: this.perAddress.countOf(socket.address) },
        'refused a socket over its address cap',
      );
      return Promise.reject(tooManySockets);
    }
    return this.options.authenticate(auth);
  }

  /** A socket closed: its address may open another. */
  released(socket: Socket): void {
    this.perAddress.remove(socket.address);
    this.overCap.delete(socket);
  }

  /** Stops accepting connections and gives the HTTP server its requests back. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.detach();
    this.wss.close();
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
    // Engine.IO's own error codes: 0 for a transport it does not offer (polling, here), 1 for a
    // session id, which only an upgrade from polling would carry.
    if (url.searchParams.get('transport') !== 'websocket') {
      this.refuseUpgrade(raw, 0, 'Transport unknown');
      return;
    }
    if (url.searchParams.has('sid')) {
      this.refuseUpgrade(raw, 1, 'Session ID unknown');
      return;
    }
    const address = this.options.addressOf(req);
    if (!this.perAddress.mayUpgrade(address)) {
      // Every descriptor such an address gets is one fewer for everyone else.
      this.options.logger.debug(
        { openSockets: this.perAddress.countOf(address) },
        'refused an upgrade',
      );
      this.refuseUpgrade(raw, 4, tooManySocketsMessage, 429, { 'retry-after': '10' });
      return;
    }
    this.wss.handleUpgrade(req, raw, head, (ws) => this.open(ws, raw, address));
  }

  private open(ws: WebSocket, raw: Duplex, clientAddress: string): void {
    ws.on('error', ignoreSocketError);
    if (this.closed) {
      closeUnopened(ws, raw, closeCode.goingAway);
      return;
    }
    const { address, admission } = this.perAddress.add(clientAddress);
    if (admission === 'reject') {
      // An upgrade that raced past the hard bound.
      this.perAddress.remove(address);
      closeUnopened(ws, raw, closeCode.tryAgainLater);
      return;
    }
    const socket = this.options.socketFor(ws, raw, address);
    // Over the cap: the client still gets its open packet, so that its connect can be answered
    // with a refusal it understands, rather than a failed upgrade it retries.
    if (admission === 'refuse') this.overCap.add(socket);
    socket.write(textFrame(openPacket(newId(), this.options.openSettings)));
  }

  /** Engine.IO's error body: `{code, message}`. */
  private refuseHttp(res: ServerResponse, status: number, code: number, message: string): void {
    const body = JSON.stringify({ code, message });
    res.writeHead(status, {
      ...this.options.responseHeaders,
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
      ...this.options.responseHeaders,
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

/** 120 random bits, URL-safe: unguessable, and unique across nodes. */
export const newId = () => randomBytes(15).toString('base64url');

/** What a socket over its address's cap is told (`connect_error` with `data.code`). */
const tooManySocketsMessage = 'Too many connections from your address';
const tooManySockets = new ConnectRefusal(
  'rate_limited',
  { code: 'rate_limited', message: tooManySocketsMessage },
  true,
);

/** A connection turned away before it became a socket: a close frame, then no waiting. */
function closeUnopened(ws: WebSocket, raw: Duplex, code: CloseCode): void {
  ws.close(code);
  raw.end(() => raw.destroy());
}

/** A connection reset by the peer is the peer's business; `close` follows and cleans up. */
const ignoreSocketError = () => undefined;
