import { percentile } from '../lib/stats';
import { post, registerUser, type ServerProcess } from '../lib/server-process';

export interface ApiRow {
  endpoint: string;
  requests: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Runs `next()` from `concurrency` loops until `stop()` says so; latency of each request. */
async function load(
  concurrency: number,
  next: (i: number) => Promise<Response> | undefined,
): Promise<{ latencies: number[]; errors: number; seconds: number }> {
  const latencies: number[] = [];
  let errors = 0;
  let i = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const started = performance.now();
        const pending = next(i++);
        if (!pending) return;
        const res = await pending.catch(() => undefined);
        if (!res || !res.ok) errors += 1;
        await res?.arrayBuffer();
        latencies.push(performance.now() - started);
      }
    }),
  );
  return { latencies, errors, seconds: (performance.now() - t0) / 1000 };
}

const row = (
  endpoint: string,
  r: { latencies: number[]; errors: number; seconds: number },
): ApiRow => ({
  endpoint,
  requests: r.latencies.length,
  rps: Math.round(r.latencies.length / r.seconds),
  p50Ms: Math.round(percentile(r.latencies, 0.5) * 10) / 10,
  p99Ms: Math.round(percentile(r.latencies, 0.99) * 10) / 10,
  errors: r.errors,
});

/** `GET /api/live/active` with 100 live streams, and `POST /:streamId/view` from many users, under concurrent load. */
export async function runApi(
  server: ServerProcess,
  options: { users: number; seconds: number; log: (line: string) => void },
): Promise<ApiRow[]> {
  const suffix = Date.now().toString(36);
  // A host has one live stream at a time: 100 streams need 100 hosts.
  const hosts: { token: string }[] = [];
  for (let i = 0; i < 100; i += 10) {
    hosts.push(
      ...(await Promise.all(
        Array.from({ length: 10 }, (_, j) => registerUser(server.url, `bench_h${i + j}_${suffix}`)),
      )),
    );
  }
  let streamId = '';
  for (const host of hosts) {
    streamId = (
      await post(`${server.url}/api/live/start`, { title: 'stream', tags: ['bench'] }, host.token)
    ).streamId;
  }
  const viewerTokens: string[] = [];
  for (let i = 0; i < options.users; i += 8) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(8, options.users - i) }, (_, j) =>
        registerUser(server.url, `bench_v${i + j}_${suffix}`),
      ),
    );
    viewerTokens.push(...batch.map((u) => u.token));
  }
  const until = performance.now() + options.seconds * 1000;
  const active = await load(50, () =>
    performance.now() < until ? fetch(`${server.url}/api/live/active`) : undefined,
  );
  const views = await load(50, (i) =>
    i < viewerTokens.length
      ? fetch(`${server.url}/api/live/${streamId}/view`, {
          method: 'POST',
          headers: { authorization: `Bearer ${viewerTokens[i]}` },
        })
      : undefined,
  );
  const rows = [
    row('GET /api/live/active (100 live)', active),
    row(`POST /:streamId/view (${viewerTokens.length} users)`, views),
  ];
  for (const r of rows)
    options.log(
      `api ${r.endpoint}: ${r.rps} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.errors} errors`,
    );
  return rows;
}
