/**
 * The Socket.IO wire protocol as far as this server speaks it: Engine.IO v4 packets over a
 * WebSocket, carrying Socket.IO v5 packets on the main namespace. Any Socket.IO v4 client (the
 * web app's, socket.io-client in Node) talks to it with `transports: ['websocket']`; a bare
 * WebSocket client connects to `/socket.io/?EIO=4&transport=websocket`.
 *
 * An Engine.IO text frame is one packet: its type digit, then its data. A Socket.IO packet rides
 * in an Engine.IO `message` (4): its type digit, for a binary packet its attachment count and `-`,
 * an optional `/namespace,`, an optional ack id, then JSON. A binary packet's attachments follow
 * it as binary frames, one each.
 */

/**
 * The WebSocket close codes this server closes with (RFC 6455 §7.4.1). Every close sends one in a
 * close frame first, so a client can tell a protocol error from a dead network.
 */
export const closeCode = {
  /** The client asked to go (Engine.IO close, Socket.IO disconnect) or was disconnected. */
  normal: 1000,
  /** The server is shutting down. */
  goingAway: 1001,
  /** A frame that is not Engine.IO v4 / Socket.IO v5 as this server speaks it. */
  protocolError: 1002,
  /** Well-formed but against this server's rules: a missed deadline, a client that stopped reading. */
  policy: 1008,
  /** The server restarts: the client should reconnect, to this node or another. */
  serviceRestart: 1012,
  /** Refused for now (a draining node, too many sockets from an address): try again later. */
  tryAgainLater: 1013,
} as const;
export type CloseCode = (typeof closeCode)[keyof typeof closeCode];

/** Engine.IO packet types, as the digit that starts a frame. */
export const engine = {
  open: '0',
  close: '1',
  ping: '2',
  pong: '3',
  message: '4',
  noop: '6',
} as const;

/** Socket.IO packet types, as the digit after Engine.IO's `4`. */
const kind = {
  connect: '0',
  disconnect: '1',
  event: '2',
  ack: '3',
  connectError: '4',
  binaryEvent: '5',
  binaryAck: '6',
} as const;

/** The namespace every client connects to; the only one this server has. */
export const mainNamespace = '/';

/**
 * The most binary attachments one packet may announce. The contract has no binary events, so
 * attachments are only ever read to be discarded: more than a handful is a client probing how much
 * it can make the server swallow.
 */
export const maxAttachments = 16;

/** What a client may send once the WebSocket is open. */
export type ClientPacket =
  | { type: 'pong' }
  /** An Engine.IO packet that needs nothing (a ping probe, a noop). */
  | { type: 'ignored' }
  /** Engine.IO's close: the client is done with the connection. */
  | { type: 'close' }
  | { type: 'connect'; namespace: string; auth: unknown }
  | { type: 'disconnect'; namespace: string }
  | {
      type: 'event';
      namespace: string;
      event: string;
      args: unknown[];
      ackId: number | undefined;
      /** Binary frames that follow this packet (a BINARY_EVENT); 0 for a plain one. */
      attachments: number;
    }
  /** An ack from the client: this server never asks for one, so it only matters for its attachments. */
  | { type: 'ack'; namespace: string; attachments: number }
  /** Not well-formed, or not a packet a client sends: a protocol error. */
  | { type: 'invalid'; reason: string };

const ignored: ClientPacket = { type: 'ignored' };

const invalid = (reason: string): ClientPacket => ({ type: 'invalid', reason });

function parseJson(text: string): { ok: true; value: unknown } | { ok: false } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

/** Reads one text frame from a client (Engine.IO v4: one packet per WebSocket frame). */
export function decodeClientFrame(frame: string): ClientPacket {
  switch (frame[0]) {
    case engine.pong:
      return { type: 'pong' };
    case engine.close:
      return { type: 'close' };
    case engine.ping:
    case engine.noop:
      return ignored;
    case engine.message:
      return decodeSocketPacket(frame.slice(1));
    default:
      return invalid('unknown Engine.IO packet type');
  }
}

/** Leading decimal digits of `text`, as a count of characters. */
function digitsAt(text: string): number {
  let digits = 0;
  while (digits < text.length && text.charCodeAt(digits) >= 48 && text.charCodeAt(digits) <= 57)
    digits++;
  return digits;
}

/**
 * A Socket.IO v5 packet: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON>]`. The namespace
 * is read for every type; which namespaces exist is the socket's to judge.
 */
function decodeSocketPacket(text: string): ClientPacket {
  const type = text[0];
  let rest = text.slice(1);
  let attachments = 0;
  if (type === kind.binaryEvent || type === kind.binaryAck) {
    const digits = digitsAt(rest);
    if (digits === 0 || digits > 6 || rest[digits] !== '-')
      return invalid('a binary packet starts with its attachment count');
    attachments = Number(rest.slice(0, digits));
    rest = rest.slice(digits + 1);
  }
  let namespace = mainNamespace;
  if (rest.startsWith('/')) {
    const comma = rest.indexOf(',');
    namespace = comma === -1 ? rest : rest.slice(0, comma);
    rest = comma === -1 ? '' : rest.slice(comma + 1);
  }
  switch (type) {
    case kind.connect: {
      if (rest === '') return { type: 'connect', namespace, auth: {} };
      const auth = parseJson(rest);
      // As Socket.IO's own parser: the auth is an object or nothing.
      const isObject =
        auth.ok &&
        typeof auth.value === 'object' &&
        auth.value !== null &&
        !Array.isArray(auth.value);
      return isObject
        ? { type: 'connect', namespace, auth: auth.value }
        : invalid('the auth is not an object');
    }
    case kind.disconnect:
      return rest === '' ? { type: 'disconnect', namespace } : invalid('a disconnect has no data');
    case kind.event:
    case kind.binaryEvent: {
      const digits = digitsAt(rest);
      // Socket.IO's own parser caps ids the same way: they count up from 0 per client.
      if (digits > 15) return invalid('ack id too long');
      const ackId = digits > 0 ? Number(rest.slice(0, digits)) : undefined;
      const body = parseJson(rest.slice(digits));
      if (!body.ok || !Array.isArray(body.value) || typeof body.value[0] !== 'string')
        return invalid('an event is a JSON array that starts with its name');
      const [event, ...args] = body.value as [string, ...unknown[]];
      return { type: 'event', namespace, event, args, ackId, attachments };
    }
    case kind.ack:
    case kind.binaryAck: {
      const digits = digitsAt(rest);
      const body = parseJson(rest.slice(digits));
      if (digits === 0 || digits > 15 || !body.ok || !Array.isArray(body.value))
        return invalid('an ack is its id and a JSON array');
      return { type: 'ack', namespace, attachments };
    }
    default:
      // CONNECT_ERROR is the server's to send; anything else is not Socket.IO v5.
      return invalid('unknown Socket.IO packet type');
  }
}

/** The Engine.IO handshake: the first frame on a new connection. */
export function openPacket(
  engineId: string,
  { pingIntervalMs, pingTimeoutMs, maxPayload }: HeartbeatSettings & { maxPayload: number },
): string {
  return (
    engine.open +
    JSON.stringify({
      sid: engineId,
      // WebSocket from the start: there is nothing to upgrade to.
      upgrades: [],
      pingInterval: pingIntervalMs,
      pingTimeout: pingTimeoutMs,
      maxPayload,
    })
  );
}

export interface HeartbeatSettings {
  pingIntervalMs: number;
  pingTimeoutMs: number;
}

export const connectedPacket = (socketId: string): string =>
  engine.message + kind.connect + JSON.stringify({ sid: socketId });

/** `namespace` is named unless it is the main one, which Socket.IO leaves implicit. */
const namespacePrefix = (namespace: string): string =>
  namespace === mainNamespace ? '' : `${namespace},`;

export const connectErrorPacket = (
  error: { message: string; data?: unknown },
  namespace = mainNamespace,
): string =>
  engine.message + kind.connectError + namespacePrefix(namespace) + JSON.stringify(error);

export const disconnectPacket = (): string => engine.message + kind.disconnect;

/** An event with any number of arguments (`[event, ...args]`). */
export const eventPacket = (event: string, args: readonly unknown[]): string =>
  engine.message + kind.event + JSON.stringify([event, ...args]);

/** The answer to the client's ack id, with any number of arguments (none is `[]`). */
export const ackPacket = (ackId: number, args: readonly unknown[]): string =>
  engine.message + kind.ack + String(ackId) + JSON.stringify(args);

/**
 * One unmasked, final WebSocket text frame (RFC 6455 §5.2) holding `text`. Built once per
 * message and written as is to every recipient: a room's broadcast frames nothing per socket.
 */
export function textFrame(text: string): Buffer {
  const length = Buffer.byteLength(text);
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x81; // FIN + text
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeBigUInt64BE(BigInt(length), 2);
  }
  frame.write(text, headerLength, 'utf8');
  return frame;
}
