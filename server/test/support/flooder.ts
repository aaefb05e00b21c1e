import { WebSocket } from 'ws';

/**
 * A hostile client on a raw WebSocket speaking Engine.IO v4 / Socket.IO v5 itself (`0` open,
 * `2` ping → `3` pong, `40` connect, `42<id>[event, payload]`, acks `43<id>[reply]`, `41`
 * disconnect): it sends one event at a fixed rate whatever the server answers, and when the
 * server disconnects it, it connects again and carries on, as an attacker would.
 */
export interface FloodOptions {
  /** The server's base URL (`http://127.0.0.1:port`). */
  url: string;
  /** Signs the socket in; anonymous without. */
  token?: string;
  event: string;
  payload: (seq: number) => unknown;
  perSecond: number;
  durationMs: number;
}

export interface FloodResult {
  sent: number;
  /** Acks by outcome: `ok`, or the error code. */
  acks: Record<string, number>;
  /** Connections the server accepted (the first one and every reconnection). */
  connections: number;
  /** Times the server disconnected the flooder (a `41` packet or the connection closed). */
  disconnects: number;
}

const tickMs = 10;

/** Connects and resolves once the server accepted the Socket.IO connect (undefined if it did not). */
function open(
  url: string,
  token: string | undefined,
  onFrame: (ws: WebSocket, text: string) => void,
  onGone: (ws: WebSocket) => void,
): Promise<WebSocket | undefined> {
  const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`);
  return new Promise((resolve) => {
    let connected = false;
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (connected) onGone(ws);
      else resolve(undefined);
    });
    ws.on('message', (data) => {
      const text = String(data);
      if (text === '2') ws.send('3');
      else if (text.startsWith('0')) ws.send(token ? `40${JSON.stringify({ token })}` : '40');
      else if (text.startsWith('40')) {
        connected = true;
        resolve(ws);
      } else if (text.startsWith('44')) ws.close();
      else onFrame(ws, text);
    });
  });
}

/** Floods one event from one socket; resolves when the time is up and its socket is closed. */
export async function flood(options: FloodOptions): Promise<FloodResult> {
  const result: FloodResult = { sent: 0, acks: {}, connections: 0, disconnects: 0 };
  const deadline = Date.now() + options.durationMs;
  let ws: WebSocket | undefined;
  let ackId = 0;

  // The server let go of `socket`: a `41` first, or the connection simply closed.
  const gone = (socket: WebSocket) => {
    if (ws !== socket) return;
    result.disconnects += 1;
    ws = undefined;
    socket.terminate();
  };
  const onFrame = (socket: WebSocket, text: string) => {
    if (text === '41') return gone(socket);
    const ack = /^43\d+(.*)$/s.exec(text);
    if (!ack) return;
    const [reply] = JSON.parse(ack[1]!) as [{ ok: boolean; error?: { code: string } }];
    const outcome = reply.ok ? 'ok' : (reply.error?.code ?? 'unknown');
    result.acks[outcome] = (result.acks[outcome] ?? 0) + 1;
  };

  let owed = 0;
  let lastAt = Date.now();
  while (Date.now() < deadline) {
    if (!ws) {
      ws = await open(options.url, options.token, onFrame, gone);
      if (ws) result.connections += 1;
      else await new Promise((r) => setTimeout(r, tickMs));
      owed = 0;
      lastAt = Date.now();
      continue;
    }
    // Open loop at the rate, whatever comes back; a late timer sends a bigger batch (up to a
    // tenth of a second's worth), a reconnection starts afresh.
    const now = Date.now();
    owed = Math.min(owed + ((now - lastAt) * options.perSecond) / 1000, options.perSecond / 10);
    lastAt = now;
    while (owed >= 1 && ws?.readyState === WebSocket.OPEN) {
      ws.send(`42${ackId++}${JSON.stringify([options.event, options.payload(result.sent)])}`);
      result.sent += 1;
      owed -= 1;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  const last = ws;
  ws = undefined;
  last?.terminate();
  return result;
}
