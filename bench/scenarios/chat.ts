/**
 * Chat at scale (issue 11): one public stream, N anonymous receiving sockets in its room, signed-in
 * senders sending comments open loop at a fixed rate. Receivers and senders speak the Socket.IO
 * wire protocol over raw WebSockets (bench/lib/socketio-wire.ts) from their own processes, so the
 * load generator stays well below a core; a run in which any of its processes, or the machine,
 * was saturated is INVALID (bench/lib/saturation.ts).
 *
 * 1. Memory ramp: idle sockets joined to the room are added in steps from 0; at each step the
 *    server's main process collects its garbage and its RSS and heap are read. The least-squares
 *    slope is the memory per idle socket.
 * 2. Delivery: for each size (largest first, by closing sockets), `runs` runs of `seconds` at
 *    `rate` comments/s: latency from the comment's due time to its arrival (one clock), deliveries
 *    lost after a drain, server and load-generator CPU.
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { LatencyHistogram } from '../lib/histogram';
import { startWorker, type Worker, type WorkerMessage } from '../lib/ipc';
import { eventLoopWindow, heapFigures } from '../lib/metrics';
import { cpuMeter, idleMeter, rssBytes } from '../lib/proc';
import { saturationOf } from '../lib/saturation';
import {
  post,
  registerUsers,
  registerUser,
  settleMemory,
  type ServerProcess,
} from '../lib/server-process';
import { linearFit, round, spread, type Spread } from '../lib/stats';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => round(bytes / 1048576, 2);

export interface ChatOptions {
  /** Receiving sockets per step (default 1,000 / 2,500 / 5,000). */
  sizes: number[];
  /** Runs per step. */
  runs: number;
  /** Sending time of one run. */
  seconds: number;
  /** Comments per second over the whole room. */
  rate: number;
  /** Signed-in sending sockets (a user each: the per-user comment budget is 1/s). */
  senders: number;
  /** Socket counts between memory readings in the ramp. */
  rampStep: number;
  /** Processes the receiving sockets are spread over. */
  receiverProcesses: number;
  log: (line: string) => void;
}

/** A sender that goes out later than this after its due time makes the run INVALID. */
const maxSenderLagMs = 50;
/** How long after the last acknowledgement deliveries may still arrive before the rest count as lost. */
const drainMs = 10_000;

export interface ChatRun {
  sockets: number;
  scheduled: number;
  acknowledged: number;
  refused: Record<string, number>;
  ackTimeouts: number;
  /** Comments not refused × receiving sockets (a comment whose ack never came is expected). */
  expected: number;
  /** Deliveries counted once per socket and comment. */
  received: number;
  lost: number;
  /** A socket got a comment it already had. */
  duplicates: number;
  /** A socket got a comment sent before one it already had (stored out of order). */
  reordered: number;
  /** Receiving sockets the server closed during the run. */
  closedSockets: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  latencyMaxMs: number;
  /** From the end of sending until the last delivery arrived (or the drain gave up). */
  drainMs: number;
  serverCpuPct: number;
  /** The busiest load-generator process, share of one core. */
  generatorMaxPct: number;
  generatorPct: { role: string; pid: number; pct: number }[];
  machineIdlePct: number;
  senderMaxLagMs: number;
  serverEventLoopP99Ms: number;
  /** `os.loadavg()` when the run started: the machine's load, from this harness and anything else. */
  loadAverage: number[];
  invalidReason?: string;
}

export interface ChatStep {
  sockets: number;
  runs: ChatRun[];
  valid: boolean;
  invalidReason?: string;
  summary: Record<
    | 'latencyP50Ms'
    | 'latencyP99Ms'
    | 'lost'
    | 'serverCpuPct'
    | 'generatorMaxPct'
    | 'machineIdlePct'
    | 'serverEventLoopP99Ms',
    Spread
  >;
}

export interface ChatMemoryPoint {
  /** Receiving sockets joined to the room (the senders are there throughout). */
  sockets: number;
  rssMB: number;
  heapUsedMB: number;
  youngGenerationMB: number;
  gcForced: boolean;
}

export interface ChatResult {
  settings: Omit<ChatOptions, 'log'> & { maxSenderLagMs: number; drainMs: number };
  steps: ChatStep[];
  memory: {
    points: ChatMemoryPoint[];
    rssKBPerSocket?: number;
    rssR2?: number;
    heapKBPerSocket?: number;
    heapR2?: number;
  };
  connectFailures: string[];
}

/** The receiving processes together: sockets spread evenly, runs armed and counted together. */
class Receivers {
  private readonly counts: number[];

  constructor(readonly workers: Worker[]) {
    this.counts = workers.map(() => 0);
  }

  get total(): number {
    return this.counts.reduce((a, b) => a + b, 0);
  }

  /** Adds or closes sockets until `n` are joined, spread evenly; returns join failures. */
  async resize(n: number): Promise<string[]> {
    const share = (i: number) =>
      Math.floor(n / this.workers.length) + (i < n % this.workers.length ? 1 : 0);
    const replies = await Promise.all(
      this.workers.map(async (w, i) => {
        const delta = share(i) - this.counts[i]!;
        if (delta === 0) return { total: this.counts[i]!, failures: [] as string[] };
        const reply =
          delta > 0
            ? await w.request<WorkerMessage & { total: number; failures: string[] }>(
                { type: 'connect', count: delta },
                'connected',
                600_000,
              )
            : await w.request<WorkerMessage & { total: number }>(
                { type: 'drop', count: -delta },
                'dropped',
              );
        return { total: reply.total, failures: (reply.failures as string[] | undefined) ?? [] };
      }),
    );
    replies.forEach((r, i) => (this.counts[i] = r.total));
    return replies.flatMap((r) => r.failures);
  }

  async arm(run: number, comments: number): Promise<number> {
    const replies = await Promise.all(
      this.workers.map((w) =>
        w.request<WorkerMessage & { sockets: number }>({ type: 'arm', run, comments }, 'armed'),
      ),
    );
    return replies.reduce((s, r) => s + r.sockets, 0);
  }

  /** Unique deliveries so far. */
  async received(): Promise<number> {
    const replies = await Promise.all(
      this.workers.map((w) =>
        w.request<WorkerMessage & { received: number }>({ type: 'count' }, 'counted'),
      ),
    );
    return replies.reduce((s, r) => s + r.received, 0);
  }

  take() {
    return Promise.all(
      this.workers.map((w) =>
        w.request<
          WorkerMessage & {
            received: number;
            perSeq: number[];
            histogram: [number, number][];
            duplicates: number;
            reordered: number;
            closed: number;
          }
        >({ type: 'take' }, 'taken'),
      ),
    );
  }
}

interface SentReply extends WorkerMessage {
  scheduled: number;
  okSeqs: number[];
  refusedSeqs: number[];
  refused: Record<string, number>;
  ackTimeouts: number;
  maxLagMs: number;
}

/**
 * Server memory after two collections 3 s apart: V8 gives pages back to the system some time
 * after a collection frees them, and one reading straight after the first would still hold them.
 */
async function memoryPoint(server: ServerProcess, sockets: number): Promise<ChatMemoryPoint> {
  await server.collectGarbage();
  await sleep(3000);
  const gcForced = await server.collectGarbage();
  await sleep(1000);
  const heap = await heapFigures(server.url);
  return {
    sockets,
    rssMB: mb(rssBytes(server.pid)),
    heapUsedMB: mb(heap.heapUsedBytes),
    youngGenerationMB: mb(heap.youngGenerationBytes),
    gcForced,
  };
}

export async function runChat(server: ServerProcess, options: ChatOptions): Promise<ChatResult> {
  const { log } = options;
  const host = await registerUser(server.url, `bench_chat_${Date.now().toString(36)}`);
  const senderUsers = await registerUsers(server.url, 'bench_cs', options.senders);
  const stream = await post(`${server.url}/api/live/start`, { title: 'chat at scale' }, host.token);
  const streamId = String(stream.streamId);

  const workers: Worker[] = [];
  const connectFailures: string[] = [];
  try {
    const sender = await startWorker(path.join(here, 'chat-sender.ts'), [
      server.url,
      streamId,
      JSON.stringify(senderUsers.map((u) => u.token)),
    ]);
    workers.push(sender);
    const receiverWorkers = await Promise.all(
      Array.from({ length: options.receiverProcesses }, () =>
        startWorker(path.join(here, 'chat-receiver.ts'), [server.url, streamId]),
      ),
    );
    workers.push(...receiverWorkers);
    const receivers = new Receivers(receiverWorkers);

    // 1. Memory per idle socket, from a ramp on a server that has carried no comments yet. A
    // first batch connected and closed again warms up what the first sockets would otherwise
    // pay for alone (compiled code, pools, the database's pages for presence rows).
    connectFailures.push(...(await receivers.resize(options.rampStep / 2)));
    await receivers.resize(0);
    await settleMemory(server);
    const maxSize = Math.max(...options.sizes);
    const points: ChatMemoryPoint[] = [await memoryPoint(server, 0)];
    for (let n = options.rampStep; n <= maxSize; n += options.rampStep) {
      const t0 = performance.now();
      connectFailures.push(...(await receivers.resize(n)));
      const connectSeconds = (performance.now() - t0) / 1000;
      await sleep(1000);
      const point = await memoryPoint(server, receivers.total);
      points.push(point);
      log(
        `chat ramp: ${receivers.total} sockets joined (${connectSeconds.toFixed(1)} s for the last ${options.rampStep}): server RSS ${point.rssMB} MB, heap ${point.heapUsedMB} MB`,
      );
    }
    const memory: ChatResult['memory'] = { points };
    const rssFit = linearFit(points.map((p) => ({ x: p.sockets, y: p.rssMB })));
    const heapFit = linearFit(points.map((p) => ({ x: p.sockets, y: p.heapUsedMB })));
    if (rssFit) {
      memory.rssKBPerSocket = round(rssFit.slope * 1024, 2);
      memory.rssR2 = round(rssFit.r2, 3);
    }
    if (heapFit) {
      memory.heapKBPerSocket = round(heapFit.slope * 1024, 2);
      memory.heapR2 = round(heapFit.r2, 3);
    }
    log(
      `chat memory: ${memory.rssKBPerSocket} KB RSS per idle socket (r² ${memory.rssR2}), heap ${memory.heapKBPerSocket} KB (r² ${memory.heapR2})`,
    );

    // 2. Delivery, largest step first: a smaller step only closes sockets.
    const steps: ChatStep[] = [];
    let runId = 0;
    for (const size of [...options.sizes].sort((a, b) => b - a)) {
      connectFailures.push(...(await receivers.resize(size)));
      await sleep(2000);
      const runs: ChatRun[] = [];
      for (let r = 0; r < options.runs; r += 1) {
        runId += 1;
        runs.push(await oneRun(server, sender, receivers, runId, options));
        const x = runs[runs.length - 1]!;
        log(
          `chat N=${x.sockets} run ${r + 1}: ${x.received}/${x.expected} delivered (lost ${x.lost}), p50 ${x.latencyP50Ms} ms p99 ${x.latencyP99Ms} ms max ${x.latencyMaxMs} ms, server ${x.serverCpuPct}% CPU, load gen busiest ${x.generatorMaxPct}%, idle ${x.machineIdlePct}%, load avg ${x.loadAverage.join(' ')}${x.invalidReason ? ` INVALID: ${x.invalidReason}` : ''}`,
        );
        await sleep(1000);
      }
      const invalid = runs.filter((x) => x.invalidReason);
      const summaryOf = (key: keyof ChatStep['summary']) => spread(runs.map((x) => x[key]));
      steps.push({
        sockets: size,
        runs,
        valid: invalid.length === 0,
        ...(invalid.length
          ? { invalidReason: invalid.map((x) => x.invalidReason).join('; ') }
          : {}),
        summary: {
          latencyP50Ms: summaryOf('latencyP50Ms'),
          latencyP99Ms: summaryOf('latencyP99Ms'),
          lost: summaryOf('lost'),
          serverCpuPct: summaryOf('serverCpuPct'),
          generatorMaxPct: summaryOf('generatorMaxPct'),
          machineIdlePct: summaryOf('machineIdlePct'),
          serverEventLoopP99Ms: summaryOf('serverEventLoopP99Ms'),
        },
      });
    }
    steps.sort((a, b) => a.sockets - b.sockets);
    const { sizes, runs, seconds, rate, senders, rampStep, receiverProcesses } = options;
    return {
      settings: {
        ...{ sizes, runs, seconds, rate, senders, rampStep, receiverProcesses },
        maxSenderLagMs,
        drainMs,
      },
      steps,
      memory,
      connectFailures: connectFailures.slice(0, 10),
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await post(`${server.url}/api/live/end/${streamId}`, {}, host.token).catch(() => undefined);
  }
}

async function oneRun(
  server: ServerProcess,
  sender: Worker,
  receivers: Receivers,
  runId: number,
  options: ChatOptions,
): Promise<ChatRun> {
  const comments = Math.round(options.rate * options.seconds);
  const sockets = await receivers.arm(runId, comments);
  const loadAverage = os.loadavg().map((x) => round(x, 2));
  const roles = new Map<number, string>([
    [sender.pid, 'sender'],
    [process.pid, 'harness'],
    ...receivers.workers.map((w, i) => [w.pid, `receiver ${i + 1}`] as [number, string]),
  ]);
  const serverCpu = cpuMeter([], [server.pid]);
  const loadCpu = cpuMeter([], [...roles.keys()]);
  const idle = idleMeter();
  const eventLoop = await eventLoopWindow(server.url);

  const sent = await sender.request<SentReply>(
    { type: 'send', run: runId, rate: options.rate, seconds: options.seconds },
    'sent',
    (options.seconds + 30) * 1000,
  );
  const serverReading = serverCpu();
  const loadReading = loadCpu();
  const machineIdle = idle();
  const loop = await eventLoop();

  // A comment the server refused is never delivered; one whose ack never came may have been
  // stored, and counts as lost if it does not arrive.
  const refused = new Set(sent.refusedSeqs);
  const expectedSeqs = Array.from({ length: comments }, (_, seq) => seq).filter(
    (seq) => !refused.has(seq),
  );
  const expected = expectedSeqs.length * sockets;
  const drainStart = performance.now();
  let received = await receivers.received();
  while (received < expected && performance.now() - drainStart < drainMs) {
    await sleep(200);
    received = await receivers.received();
  }
  const drainedMs = Math.round(performance.now() - drainStart);
  const taken = await receivers.take();

  const perSeq = new Array<number>(comments).fill(0);
  const histogram = new LatencyHistogram();
  for (const t of taken) {
    t.perSeq.forEach((count, seq) => (perSeq[seq]! += count));
    histogram.add(t.histogram);
  }
  const lost = expectedSeqs.reduce((sum, seq) => sum + Math.max(0, sockets - perSeq[seq]!), 0);
  const generatorPct = [...loadReading.perProcess].map(([pid, share]) => ({
    role: roles.get(pid) ?? String(pid),
    pid,
    pct: round(share * 100),
  }));
  const reasons = [
    saturationOf(loadReading, machineIdle),
    sent.maxLagMs > maxSenderLagMs
      ? `the sender went out up to ${sent.maxLagMs} ms after the schedule`
      : undefined,
  ].filter(Boolean);
  return {
    sockets,
    scheduled: sent.scheduled,
    acknowledged: sent.okSeqs.length,
    refused: sent.refused,
    ackTimeouts: sent.ackTimeouts,
    expected,
    received: perSeq.reduce((a, b) => a + b, 0),
    lost,
    duplicates: taken.reduce((s, t) => s + t.duplicates, 0),
    reordered: taken.reduce((s, t) => s + t.reordered, 0),
    closedSockets: taken.reduce((s, t) => s + t.closed, 0),
    latencyP50Ms: histogram.percentile(0.5),
    latencyP99Ms: histogram.percentile(0.99),
    latencyMaxMs: histogram.percentile(1),
    drainMs: drainedMs,
    serverCpuPct: round(serverReading.share * 100),
    generatorMaxPct: Math.max(...generatorPct.map((g) => g.pct)),
    generatorPct,
    machineIdlePct: round(machineIdle * 100),
    senderMaxLagMs: sent.maxLagMs,
    serverEventLoopP99Ms: round(loop.p99Ms),
    loadAverage,
    ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
  };
}
