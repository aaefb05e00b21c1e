/**
 * A receiving process of the chat scenario: anonymous sockets joined to one stream's room over
 * the raw wire protocol (bench/lib/socketio-wire.ts). Per comment frame it does a byte search for
 * the stamp, one clock read and a few array updates; nothing is decoded.
 *
 * Args: <baseUrl> <streamId>. Messages: connect {count} → connected; drop {count} → dropped;
 * arm {run, comments} → armed (counting starts afresh for that run); count → counted (unique
 * deliveries so far);
 * take → taken (the run's counts and latency histogram); close.
 */
import { LatencyHistogram } from '../lib/histogram';
import { serveParent } from '../lib/ipc';
import { readStamp, type Stamp } from '../lib/chat-stamp';
import { connectWire, type WireSocket } from '../lib/socketio-wire';

const [baseUrl, streamId] = process.argv.slice(2) as [string, string];
/** Connections in flight at once while sockets are added. */
const concurrency = 40;

const sockets: WireSocket[] = [];
/** Sockets the server closed (or that failed) since the current run was armed. */
let closedInRun = 0;

/** The run being counted; frames of other runs are stale. */
const run = {
  id: -1,
  comments: 0,
  /** Per comment: how many sockets got it at least once. */
  perSeq: new Uint32Array(0),
  /** Per socket and comment (index * comments + seq): got it already. */
  seen: new Uint8Array(0),
  histogram: new LatencyHistogram(),
  received: 0,
  stale: 0,
  /** A socket got a comment it already had: never expected. */
  duplicates: 0,
  /** A socket got a comment sent before one it already had (the server stored them out of order). */
  reordered: 0,
  /** Per socket (by index): the highest sequence number it has received in this run. */
  lastSeq: new Int32Array(0),
};

const stamp: Stamp = { run: 0, seq: 0, sentMs: 0 };

function onFrame(index: number, frame: Buffer): void {
  if (!readStamp(frame, stamp)) return;
  const now = Date.now();
  const { seq } = stamp;
  if (stamp.run !== run.id || seq >= run.comments || index >= run.lastSeq.length) {
    run.stale += 1;
    return;
  }
  run.received += 1;
  run.histogram.record(now - stamp.sentMs);
  const cell = index * run.comments + seq;
  if (run.seen[cell]) {
    run.duplicates += 1;
    return;
  }
  run.seen[cell] = 1;
  run.perSeq[seq]! += 1;
  if (seq < run.lastSeq[index]!) run.reordered += 1;
  else run.lastSeq[index] = seq;
}

async function connectOne(index: number): Promise<WireSocket> {
  const socket = await connectWire(baseUrl, {
    onEvent: (frame) => onFrame(index, frame),
    onClose: () => {
      closedInRun += 1;
    },
  });
  const reply = (await socket.emitWithAck('join_live', { streamId }, 60_000)) as {
    ok: boolean;
    error?: unknown;
  };
  if (!reply.ok) {
    socket.close();
    throw new Error(`join_live refused: ${JSON.stringify(reply.error)}`);
  }
  return socket;
}

/** Adds `count` sockets, `concurrency` at a time, each connected and joined. */
async function connect(count: number): Promise<{ failures: string[] }> {
  const failures: string[] = [];
  const first = sockets.length;
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const index = first + next;
      next += 1;
      try {
        sockets[index] = await connectOne(index);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  // A failed socket leaves a hole: close up so that `sockets` holds live sockets only.
  for (let i = sockets.length - 1; i >= first; i -= 1) if (!sockets[i]) sockets.splice(i, 1);
  return { failures };
}

serveParent({
  connect: async (m) => {
    const { failures } = await connect(Number(m.count));
    return {
      type: 'connected',
      total: sockets.length,
      failed: failures.length,
      failures: failures.slice(0, 3),
    };
  },
  drop: (m) => {
    for (const socket of sockets.splice(sockets.length - Number(m.count))) socket.close();
    return { type: 'dropped', total: sockets.length };
  },
  arm: (m) => {
    run.id = Number(m.run);
    run.comments = Number(m.comments);
    run.perSeq = new Uint32Array(run.comments);
    run.seen = new Uint8Array(sockets.length * run.comments);
    run.histogram = new LatencyHistogram();
    run.received = 0;
    run.stale = 0;
    run.duplicates = 0;
    run.reordered = 0;
    run.lastSeq = new Int32Array(sockets.length).fill(-1);
    closedInRun = 0;
    const open = sockets.filter((s) => !s.closed).length;
    return { type: 'armed', sockets: open };
  },
  count: () => ({ type: 'counted', received: run.perSeq.reduce((a, b) => a + b, 0) }),
  take: () => ({
    type: 'taken',
    received: run.received,
    perSeq: Array.from(run.perSeq),
    histogram: run.histogram.toSparse(),
    stale: run.stale,
    duplicates: run.duplicates,
    reordered: run.reordered,
    closed: closedInRun,
  }),
  close: () => {
    for (const socket of sockets) socket.terminate();
    process.exit(0);
  },
});

process.send!({ type: 'ready' });
