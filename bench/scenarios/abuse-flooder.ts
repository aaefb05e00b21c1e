/**
 * The flooding process of the abuse scenario: raw WebSockets speaking Engine.IO v4 / Socket.IO v5
 * themselves, each sending one event open loop at a fixed rate whatever the server answers, with
 * an ack id on every event so refusals can be counted. A socket the server disconnects connects
 * again and carries on, as an attacker would.
 *
 * Args: <baseUrl>. Messages: flood {attacks, perSocket, seconds} → flooded; close.
 */
import WebSocket from 'ws';
import { serveParent } from '../lib/ipc';

const [baseUrl] = process.argv.slice(2) as [string];
const tickMs = 10;

export interface Attack {
  event: string;
  payload: unknown;
  /** Signed in as this token; anonymous without. */
  token?: string;
}

export type FloodReport = {
  type: 'flooded';
  sent: number;
  /** Acks by outcome: `ok`, or the error code. */
  acks: Record<string, number>;
  /** Connections the server accepted, reconnections included. */
  connections: number;
  /** Connections the server refused or dropped before the Socket.IO connect. */
  refusedConnections: number;
  /** Times the server disconnected a flooding socket. */
  disconnects: number;
};

/** Connects and resolves once the Socket.IO connect is accepted (undefined when it is not). */
function open(
  token: string | undefined,
  onFrame: (ws: WebSocket, frame: Buffer) => void,
  onGone: (ws: WebSocket) => void,
): Promise<WebSocket | undefined> {
  const ws = new WebSocket(
    `${baseUrl.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`,
    {
      perMessageDeflate: false,
      skipUTF8Validation: true,
    },
  );
  return new Promise((resolve) => {
    let connected = false;
    const timer = setTimeout(() => ws.terminate(), 10_000);
    ws.on('error', () => undefined);
    ws.on('close', () => {
      clearTimeout(timer);
      if (connected) onGone(ws);
      else resolve(undefined);
    });
    ws.on('message', (data: Buffer) => {
      if (data[0] === 0x32) ws.send('3');
      else if (data[0] === 0x30) ws.send(token ? `40${JSON.stringify({ token })}` : '40');
      else if (data[0] === 0x34 && data[1] === 0x30) {
        clearTimeout(timer);
        connected = true;
        resolve(ws);
      } else if (data[0] === 0x34 && data[1] === 0x34) ws.close();
      else onFrame(ws, data);
    });
  });
}

/** One attacking socket for `seconds`, reconnecting whenever it is let go. */
async function attack(
  { event, payload, token }: Attack,
  perSecond: number,
  deadline: number,
  report: FloodReport,
): Promise<void> {
  const body = JSON.stringify([event, payload]);
  let ws: WebSocket | undefined;
  let ackId = 0;
  const gone = (socket: WebSocket) => {
    if (ws !== socket) return;
    report.disconnects += 1;
    ws = undefined;
    socket.terminate();
  };
  const onFrame = (socket: WebSocket, frame: Buffer) => {
    // `41`: the server disconnected this socket.
    if (frame[0] === 0x34 && frame[1] === 0x31) return gone(socket);
    if (frame[0] !== 0x34 || frame[1] !== 0x33) return;
    let i = 2;
    while (i < frame.length && frame[i]! >= 0x30 && frame[i]! <= 0x39) i += 1;
    const [reply] = JSON.parse(frame.toString('utf8', i)) as [
      { ok: boolean; error?: { code: string } },
    ];
    const outcome = reply.ok ? 'ok' : (reply.error?.code ?? 'unknown');
    report.acks[outcome] = (report.acks[outcome] ?? 0) + 1;
  };
  let owed = 0;
  let lastAt = Date.now();
  while (Date.now() < deadline) {
    if (!ws) {
      ws = await open(token, onFrame, gone);
      if (ws) report.connections += 1;
      else {
        report.refusedConnections += 1;
        await new Promise((r) => setTimeout(r, 100));
      }
      owed = 0;
      lastAt = Date.now();
      continue;
    }
    // Open loop: what is due goes out (at most a tenth of a second's worth at once).
    const now = Date.now();
    owed = Math.min(owed + ((now - lastAt) * perSecond) / 1000, perSecond / 10);
    lastAt = now;
    while (owed >= 1 && ws?.readyState === WebSocket.OPEN) {
      ws.send(`42${ackId++}${body}`);
      report.sent += 1;
      owed -= 1;
    }
    await new Promise((r) => setTimeout(r, tickMs));
  }
  const last = ws;
  ws = undefined;
  last?.terminate();
}

async function flood(attacks: Attack[], perSocket: number, seconds: number): Promise<FloodReport> {
  const report: FloodReport = {
    type: 'flooded',
    sent: 0,
    acks: {},
    connections: 0,
    refusedConnections: 0,
    disconnects: 0,
  };
  const deadline = Date.now() + seconds * 1000;
  await Promise.all(attacks.map((a) => attack(a, perSocket, deadline, report)));
  // Acks still on their way when the sockets closed are not counted.
  return report;
}

serveParent({
  flood: (m) => flood(m.attacks as Attack[], Number(m.perSocket), Number(m.seconds)),
  close: () => process.exit(0),
});
process.send!({ type: 'ready' });
