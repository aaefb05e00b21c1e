/**
 * Join storms (issue 17): N anonymous sockets, connected ahead of time from separate processes,
 * all send `join_live` for one stream at the same moment; joins per second from the first send
 * to the last acknowledgement, on the embedded database and on a PostgreSQL server. After each
 * storm the stream's count and peak must be exactly N + 1 (one early viewer joins alone first,
 * as in a stream that has been live a while, so the node's first statements are not measured).
 *
 * Each database gets one server process; each run a new host, stream and sockets. A run in which
 * a load-generator process was saturated is INVALID. The machine's idle share is shown but not
 * held against a run: during a storm the server and its database use both cores of a 2-core
 * machine by design, and a starved load generator can only make the figure lower.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { startWorker, type Worker, type WorkerMessage } from '../lib/ipc';
import { cpuMeter, idleMeter } from '../lib/proc';
import { saturation } from '../lib/saturation';
import { post, registerUser, startServerProcess, type ServerProcess } from '../lib/server-process';
import { connectWire } from '../lib/socketio-wire';
import { percentile, round, spread, type Spread } from '../lib/stats';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface JoinsOptions {
  /** Sockets joining at once in each storm (default 5,000). */
  sockets: number;
  /** Storms per database. */
  runs: number;
  /** Processes the joining sockets are spread over. */
  workerProcesses: number;
  /** PostgreSQL server to measure (a scratch database is made on it); none: embedded only. */
  postgresUrl: string | undefined;
  /** Another checkout whose server is measured (default: this one). */
  serverRoot?: string;
  log: (line: string) => void;
}

export interface JoinsRun {
  sockets: number;
  acknowledged: number;
  refused: Record<string, number>;
  stormMs: number;
  joinsPerSecond: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** The stream's count and peak once the storm settled, and what they had to be. */
  viewerCount: number;
  peakViewers: number;
  expectedCount: number;
  exact: boolean;
  serverCpuPct: number;
  /**
   * Server CPU time per acknowledged join: what a storm costs the node whatever else the machine
   * runs (a share of a core it did not get slows the storm but costs nothing).
   */
  serverCpuMsPerJoin: number;
  generatorMaxPct: number;
  machineIdlePct: number;
  loadAverage: number[];
  invalidReason?: string;
}

export interface JoinsStep {
  database: 'embedded' | 'postgres';
  runs: JoinsRun[];
  valid: boolean;
  invalidReason?: string;
  summary: Record<
    | 'joinsPerSecond'
    | 'stormMs'
    | 'ackP50Ms'
    | 'ackP99Ms'
    | 'serverCpuPct'
    | 'serverCpuMsPerJoin'
    | 'machineIdlePct',
    Spread
  >;
}

export interface JoinsResult {
  settings: Omit<JoinsOptions, 'log' | 'postgresUrl' | 'serverRoot'> & { postgres: boolean };
  steps: JoinsStep[];
}

export async function scratchDatabase(
  base: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `onair_bench_joins_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function settledCount(url: string, streamId: string, expected: number) {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const res = await fetch(`${url}/api/live/${streamId}`);
    const body = (await res.json()) as { viewerCount: number; peakViewers: number };
    if (body.viewerCount === expected || Date.now() > deadline) return body;
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function oneRun(
  server: ServerProcess,
  workers: Worker[],
  run: number,
  options: JoinsOptions,
): Promise<JoinsRun> {
  const host = await registerUser(server.url, `bench_joins_${Date.now().toString(36)}_${run}`);
  const stream = await post(`${server.url}/api/live/start`, { title: 'join storm' }, host.token);
  const streamId = String(stream.streamId);
  try {
    const share = (i: number) =>
      Math.floor(options.sockets / workers.length) + (i < options.sockets % workers.length ? 1 : 0);
    const connected = await Promise.all(
      workers.map((w, i) =>
        w.request<WorkerMessage & { total: number; failures: string[] }>(
          { type: 'connect', count: share(i) },
          'connected',
          600_000,
        ),
      ),
    );
    const sockets = connected.reduce((n, c) => n + c.total, 0);
    const early = await connectWire(server.url);
    const earlyReply = (await early.emitWithAck('join_live', { streamId }, 30_000)) as {
      ok: boolean;
    };
    if (!earlyReply.ok)
      throw new Error(`the early viewer was refused: ${JSON.stringify(earlyReply)}`);
    await new Promise((r) => setTimeout(r, 1000));

    const loadAverage = os.loadavg().map((x) => round(x, 2));
    const serverCpu = cpuMeter([server.pid]);
    const loadCpu = cpuMeter([], [process.pid, ...workers.map((w) => w.pid)]);
    const idle = idleMeter();
    const replies = await Promise.all(
      workers.map((w) =>
        w.request<
          WorkerMessage & {
            sentAt: number;
            lastAckAt: number;
            ok: number;
            refused: Record<string, number>;
            latenciesMs: number[];
          }
        >({ type: 'join', streamId }, 'joined', 120_000),
      ),
    );
    const serverReading = serverCpu();
    const loadReading = loadCpu();
    const machineIdle = idle();

    const acknowledged = replies.reduce((n, r) => n + r.ok, 0);
    const refused: Record<string, number> = {};
    for (const r of replies)
      for (const [code, n] of Object.entries(r.refused)) refused[code] = (refused[code] ?? 0) + n;
    const stormMs =
      Math.max(...replies.map((r) => r.lastAckAt)) - Math.min(...replies.map((r) => r.sentAt));
    const latencies = replies.flatMap((r) => r.latenciesMs);
    const expectedCount = 1 + acknowledged;
    const settled = await settledCount(server.url, streamId, expectedCount);
    early.close();
    await Promise.all(workers.map((w) => w.request({ type: 'drop' }, 'dropped')));

    const generatorMaxPct = round(Math.max(...loadReading.perProcess.values()) * 100);
    const reasons = [
      ...[...loadReading.perProcess]
        .filter(([, s]) => s >= saturation.loadProcessShare)
        .map(([pid, s]) => `load-generator process ${pid} at ${round(s * 100)}% of a core`),
      sockets < options.sockets ? `only ${sockets} of ${options.sockets} sockets connected` : '',
    ].filter(Boolean);
    return {
      sockets,
      acknowledged,
      refused,
      stormMs,
      joinsPerSecond: round((acknowledged * 1000) / Math.max(1, stormMs), 0),
      ackP50Ms: round(percentile(latencies, 0.5)),
      ackP99Ms: round(percentile(latencies, 0.99)),
      viewerCount: settled.viewerCount,
      peakViewers: settled.peakViewers,
      expectedCount,
      exact: settled.viewerCount === expectedCount && settled.peakViewers === expectedCount,
      serverCpuPct: round(serverReading.share * 100),
      serverCpuMsPerJoin: round((serverReading.seconds * 1000) / Math.max(1, acknowledged), 3),
      generatorMaxPct,
      machineIdlePct: round(machineIdle * 100),
      loadAverage,
      ...(reasons.length ? { invalidReason: reasons.join('; ') } : {}),
    };
  } finally {
    await post(`${server.url}/api/live/end/${streamId}`, {}, host.token).catch(() => undefined);
  }
}

async function measure(
  database: JoinsStep['database'],
  env: Record<string, string | undefined>,
  options: JoinsOptions,
): Promise<JoinsStep> {
  const server = await startServerProcess({ env, built: true, serverRoot: options.serverRoot });
  const workers: Worker[] = [];
  const runs: JoinsRun[] = [];
  try {
    workers.push(
      ...(await Promise.all(
        Array.from({ length: options.workerProcesses }, () =>
          startWorker(path.join(here, 'joins-worker.ts'), [server.url]),
        ),
      )),
    );
    for (let r = 0; r < options.runs; r += 1) {
      const x = await oneRun(server, workers, r, options);
      runs.push(x);
      options.log(
        `joins ${database} run ${r + 1}: ${x.acknowledged}/${x.sockets} acknowledged in ${x.stormMs} ms = ${x.joinsPerSecond} joins/s (ack p50 ${x.ackP50Ms} ms, p99 ${x.ackP99Ms} ms), count ${x.viewerCount} peak ${x.peakViewers} of ${x.expectedCount}${x.exact ? ' exact' : ' NOT EXACT'}, refused ${JSON.stringify(x.refused)}, server ${x.serverCpuPct}% CPU (${x.serverCpuMsPerJoin} ms per join), load gen busiest ${x.generatorMaxPct}%, idle ${x.machineIdlePct}%, load avg ${x.loadAverage.join(' ')}${x.invalidReason ? ` INVALID: ${x.invalidReason}` : ''}`,
      );
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await server.stop();
  }
  const invalid = runs.filter((x) => x.invalidReason);
  const summaryOf = (key: keyof JoinsStep['summary']) => spread(runs.map((x) => x[key]));
  return {
    database,
    runs,
    valid: invalid.length === 0,
    ...(invalid.length ? { invalidReason: invalid.map((x) => x.invalidReason).join('; ') } : {}),
    summary: {
      joinsPerSecond: summaryOf('joinsPerSecond'),
      stormMs: summaryOf('stormMs'),
      ackP50Ms: summaryOf('ackP50Ms'),
      ackP99Ms: summaryOf('ackP99Ms'),
      serverCpuPct: summaryOf('serverCpuPct'),
      serverCpuMsPerJoin: summaryOf('serverCpuMsPerJoin'),
      machineIdlePct: summaryOf('machineIdlePct'),
    },
  };
}

export async function runJoins(options: JoinsOptions): Promise<JoinsResult> {
  // The harness's own DATABASE_URL must not turn the embedded measurement into a second
  // PostgreSQL one.
  const steps = [await measure('embedded', { DATABASE_URL: undefined }, options)];
  if (options.postgresUrl) {
    const scratch = await scratchDatabase(options.postgresUrl);
    try {
      steps.push(await measure('postgres', { DATABASE_URL: scratch.url }, options));
    } finally {
      await scratch.drop();
    }
  }
  const { sockets, runs, workerProcesses } = options;
  return {
    settings: { sockets, runs, workerProcesses, postgres: options.postgresUrl !== undefined },
    steps,
  };
}
