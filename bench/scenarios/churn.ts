import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FixturePublisher } from '../../server/test/support/loopback-peers';
import { startWorker, type Worker } from '../lib/ipc';
import { heapFigures } from '../lib/metrics';
import { processTree, treeRssBytes } from '../lib/proc';
import {
  post,
  registerUser,
  registerUsers,
  settleMemory,
  type ServerProcess,
} from '../lib/server-process';
import { linearFit, round } from '../lib/stats';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ChurnPoint {
  sessions: number;
  rssMB: number;
  heapUsedMB: number;
  /** The API process's V8 young generation (committed), part of rssMB. */
  youngGenerationMB: number;
  serverProcesses: number;
}

export interface ChurnResult {
  sessions: number;
  parallel: number;
  /** Sessions opened and closed before the first reading, not counted. */
  warmup: number;
  failed: number;
  errors: string[];
  seconds: number;
  points: ChurnPoint[];
  /** Whether the main process collected its garbage before every reading. */
  gcForced: boolean;
  /** (RSS after − RSS before) per 1,000 sessions. */
  mbPer1000: number;
  /** Least-squares slope over all the points, per 1,000 sessions. */
  slopeMbPer1000?: number;
  heapMbPer1000: number;
}

/**
 * Opens and closes `sessions` WHEP viewer sessions (node-datachannel viewers in a load-generator
 * process, `parallel` at a time, a user each; each connects, then DELETEs its resource) against
 * one live stream, and reads the server's RSS (main process and all its children) before (after
 * a warm-up of 2 × `parallel` sessions), after every `every` sessions, and after.
 */
export async function runChurn(
  server: ServerProcess,
  options: { sessions: number; every: number; parallel?: number; log: (line: string) => void },
): Promise<ChurnResult> {
  const parallel = options.parallel ?? 10;
  const warmup = 2 * parallel;
  const suffix = Date.now().toString(36);
  const host = await registerUser(server.url, `bench_churn_host_${suffix}`);
  const lanes = await registerUsers(server.url, 'cv', parallel);
  const stream = await post(
    `${server.url}/api/live/start`,
    { title: 'churn benchmark' },
    host.token,
  );
  const publisher = new FixturePublisher();
  const whip = await fetch(`${server.url}/api/live/${stream.streamId}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
    body: await publisher.offer(),
  });
  if (whip.status !== 201) throw new Error(`WHIP ${whip.status} ${await whip.text()}`);
  await publisher.accept(await whip.text());
  publisher.start();
  let worker: Worker | undefined;
  const points: ChurnPoint[] = [];
  const errors: string[] = [];
  let failed = 0;
  let gcForced = true;
  const started = performance.now();
  const measure = async (sessions: number) => {
    // 2 s for the last sessions to be torn down; then a full collection, and 10 s for V8's memory
    // reducer (8 s after a collection, on a quiet heap) to give back the young generation and
    // pooled pages, so that every reading finds V8 in the same state.
    await new Promise((r) => setTimeout(r, 2000));
    gcForced = (await server.collectGarbage()) && gcForced;
    await new Promise((r) => setTimeout(r, 10_000));
    const heap = await heapFigures(server.url);
    const point = {
      sessions,
      rssMB: round(treeRssBytes(server.pid) / 1048576),
      heapUsedMB: round(heap.heapUsedBytes / 1048576),
      youngGenerationMB: round(heap.youngGenerationBytes / 1048576),
      serverProcesses: processTree(server.pid).length,
    };
    points.push(point);
    options.log(
      `churn: after ${sessions} sessions server RSS ${point.rssMB} MB (${point.serverProcesses} processes), API heap ${point.heapUsedMB} MB, young generation ${point.youngGenerationMB} MB`,
    );
  };
  try {
    worker = await startWorker(path.join(here, 'churn-worker.ts'), [
      server.url,
      stream.streamId,
      JSON.stringify(lanes.map((u) => u.token)),
    ]);
    // Warm-up, not counted: first-use costs (code compiled, caches and pools filled) are not churn.
    const warm = await worker.request<{ type: string; failed: number }>(
      { type: 'run', sessions: warmup },
      'ran',
      600_000,
    );
    options.log(`churn: ${warmup} warm-up sessions (${warm.failed} failed)`);
    await settleMemory(server);
    await measure(0);
    for (let done = 0; done < options.sessions;) {
      const n = Math.min(options.every, options.sessions - done);
      const ran = await worker.request<{
        type: string;
        ok: number;
        failed: number;
        errors: string[];
      }>({ type: 'run', sessions: n }, 'ran', 600_000);
      failed += ran.failed;
      errors.push(...ran.errors);
      done += n;
      await measure(done);
    }
  } finally {
    await worker?.stop();
    await publisher.close();
  }
  const first = points[0]!;
  const last = points[points.length - 1]!;
  const per1000 = (d: number) => round((d / options.sessions) * 1000, 2);
  const fit = linearFit(points.map((p) => ({ x: p.sessions, y: p.rssMB })));
  const result: ChurnResult = {
    sessions: options.sessions,
    parallel,
    warmup,
    failed,
    errors: errors.slice(0, 5),
    seconds: round((performance.now() - started) / 1000),
    points,
    gcForced,
    mbPer1000: per1000(last.rssMB - first.rssMB),
    heapMbPer1000: per1000(last.heapUsedMB - first.heapUsedMB),
  };
  if (fit) result.slopeMbPer1000 = round(fit.slope * 1000, 2);
  options.log(
    `churn: ${options.sessions} sessions (${failed} failed) in ${result.seconds} s: server RSS ${result.mbPer1000} MB per 1,000 sessions (slope ${result.slopeMbPer1000}), API heap ${result.heapMbPer1000} MB per 1,000`,
  );
  return result;
}
