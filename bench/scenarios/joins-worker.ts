/**
 * A joining process of the joins scenario: anonymous sockets connected over the raw wire
 * protocol (bench/lib/socketio-wire.ts) ahead of time, which all send `join_live` for one stream
 * at once when told to. Per join it keeps the time from its send to its acknowledgement.
 *
 * Args: <baseUrl>. Messages: connect {count} → connected {total, failures}; join {streamId} →
 * joined {sentAt, lastAckAt (ms since the epoch), ok, refused, latenciesMs}; drop → dropped
 * (every socket closed); close.
 */
import { serveParent } from '../lib/ipc';
import { connectWire, type WireSocket } from '../lib/socketio-wire';

const [baseUrl] = process.argv.slice(2) as [string];
/** Connections in flight at once while sockets are added: the handshakes are not measured. */
const concurrency = 40;
const ackTimeoutMs = 60_000;

let sockets: WireSocket[] = [];

async function connect(count: number): Promise<string[]> {
  const failures: string[] = [];
  let left = count;
  const lane = async () => {
    while (left > 0) {
      left -= 1;
      try {
        sockets.push(await connectWire(baseUrl));
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return failures;
}

async function joinAll(streamId: string) {
  const refused: Record<string, number> = {};
  const latenciesMs: number[] = [];
  let ok = 0;
  let lastAckAt = 0;
  const sentAt = Date.now();
  const t0 = performance.now();
  // Every frame goes out in this one turn of the event loop: the storm arrives at once.
  const acks = sockets.map((socket) =>
    socket.emitWithAck('join_live', { streamId }, ackTimeoutMs).then(
      (reply) => {
        latenciesMs.push(Math.round((performance.now() - t0) * 10) / 10);
        lastAckAt = Date.now();
        const r = reply as { ok: boolean; error?: { code?: string } };
        if (r.ok) ok += 1;
        else refused[r.error?.code ?? 'unknown'] = (refused[r.error?.code ?? 'unknown'] ?? 0) + 1;
      },
      () => {
        refused.timeout = (refused.timeout ?? 0) + 1;
      },
    ),
  );
  await Promise.all(acks);
  return { sentAt, lastAckAt, ok, refused, latenciesMs };
}

serveParent({
  connect: async (m) => {
    const failures = await connect(Number(m.count));
    return { type: 'connected', total: sockets.length, failures: failures.slice(0, 3) };
  },
  join: async (m) => ({ type: 'joined', ...(await joinAll(String(m.streamId))) }),
  drop: () => {
    for (const socket of sockets) socket.close();
    sockets = [];
    return { type: 'dropped' };
  },
  close: () => {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  },
});

process.send!({ type: 'ready' });
