/**
 * The Socket.IO wire protocol as far as this server speaks it: Engine.IO v4 packets over a
 * WebSocket, carrying Socket.IO v5 packets on the main namespace, text only. Any Socket.IO v4
 * client (the web app's, socket.io-client in Node) talks to it with `transports: ['websocket']`.
 *
 * An Engine.IO text frame is one packet: its type digit, then its data. A Socket.IO packet rides
 * in an Engine.IO `message` (4): its type digit, an optional `/namespace,`, an optional ack id,
 * then JSON.
 */

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

/** What a client may send once the WebSocket is open. */
export type ClientPacket =
  | { type: 'pong' }
  /** Well-formed but needing nothing (a ping probe, a noop, an ack this server never asked for). */
  | { type: 'ignored' }
  | { type: 'close' }
  | { type: 'connect'; auth: unknown }
  | { type: 'disconnect' }
  | { type: 'event'; event: string; args: unknown[]; ackId: number | undefined }
  /** Something this server does not speak, or not well-formed: the connection is closed. */
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

/** Reads one text frame from a client. */
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

function decodeSocketPacket(text: string): ClientPacket {
  const type = text[0];
  let rest = text.slice(1);
  // A binary event names how many attachments follow it as binary frames. Nothing in the contract
  // is binary: the event is read like any other, its `{_placeholder}` objects left for its
  // schema to refuse, and the attachments are dropped as they come.
  if (type === kind.binaryEvent || type === kind.binaryAck) {
    const dash = rest.indexOf('-');
    if (dash < 1 || dash > 6 || !/^\d+$/.test(rest.slice(0, dash)))
      return invalid('a binary packet starts with its attachment count');
    rest = rest.slice(dash + 1);
  }
  // Only the main namespace exists; a packet for another one cannot be answered.
  if (rest.startsWith('/')) {
    const comma = rest.indexOf(',');
    const namespace = comma === -1 ? rest : rest.slice(0, comma);
    if (namespace !== '/') return invalid('unknown namespace');
    rest = comma === -1 ? '' : rest.slice(comma + 1);
  }
  switch (type) {
    case kind.connect: {
      if (rest === '') return { type: 'connect', auth: {} };
      const auth = parseJson(rest);
      // As Socket.IO's own parser: the auth is an object or nothing.
      const isObject =
        auth.ok &&
        typeof auth.value === 'object' &&
        auth.value !== null &&
        !Array.isArray(auth.value);
      return isObject
        ? { type: 'connect', auth: auth.value }
        : invalid('the auth is not an object');
    }
    case kind.disconnect:
      return { type: 'disconnect' };
    case kind.event:
    case kind.binaryEvent: {
      let digits = 0;
      while (digits < rest.length && rest.charCodeAt(digits) >= 48 && rest.charCodeAt(digits) <= 57)
        digits++;
      // Socket.IO's own parser caps ids the same way: they count up from 0 per client.
      if (digits > 15) return invalid('ack id too long');
      const ackId = digits > 0 ? Number(rest.slice(0, digits)) : undefined;
      const body = parseJson(rest.slice(digits));
      if (!body.ok || !Array.isArray(body.value) || typeof body.value[0] !== 'string')
        return invalid('an event is a JSON array that starts with its name');
      const [event, ...args] = body.value as [string, ...unknown[]];
      return { type: 'event', event, args, ackId };
    }
    case kind.ack:
    case kind.binaryAck:
      // This server never asks a client for an ack.
      return ignored;
    default:
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

export const connectErrorPacket = (error: { message: string; data?: unknown }): string =>
  engine.message + kind.connectError + JSON.stringify(error);

export const disconnectPacket = (): string => engine.message + kind.disconnect;

export const eventPacket = (event: string, payload: unknown): string =>
  engine.message + kind.event + JSON.stringify([event, payload]);

export const ackPacket = (ackId: number, response: unknown): string =>
  engine.message + kind.ack + String(ackId) + JSON.stringify([response]);

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
