/**
 * Reads the server's Prometheus text from GET /metrics. Only the API process's registry is
 * exposed there (the default Node.js metrics of the process that serves HTTP), so heap and
 * event-loop figures describe that process, not media workers.
 */
export async function scrape(baseUrl: string): Promise<Map<string, number>> {
  const res = await fetch(`${baseUrl}/metrics`);
  if (!res.ok) throw new Error(`/metrics: ${res.status}`);
  const values = new Map<string, number>();
  for (const line of (await res.text()).split('\n')) {
    if (!line || line.startsWith('#')) continue;
    // `name{labels} value [timestamp]`: each series under `name{labels}`, and their sum under the name.
    const match = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const value = Number(match[3]);
    if (!Number.isFinite(value)) continue;
    values.set(match[1]!, (values.get(match[1]!) ?? 0) + value);
    if (match[2]) values.set(`${match[1]!}${match[2]}`, value);
  }
  return values;
}

/** Names of the prom-client default metrics (prefix `onair_`) the benchmarks read. */
export const metricNames = {
  /** p99 of monitorEventLoopDelay since the previous scrape (prom-client resets it on each scrape). */
  eventLoopP99: 'onair_nodejs_eventloop_lag_p99_seconds',
  eventLoopMax: 'onair_nodejs_eventloop_lag_max_seconds',
  heapUsed: 'onair_nodejs_heap_size_used_bytes',
} as const;

/**
 * Event-loop delay of the API process over a window: scrape once at the start (which resets
 * prom-client's histogram) and once at the end. Returns p99 and max in ms, NaN when unavailable.
 */
export async function eventLoopWindow(
  baseUrl: string,
): Promise<() => Promise<{ p99Ms: number; maxMs: number }>> {
  await scrape(baseUrl).catch(() => undefined);
  return async () => {
    const m = await scrape(baseUrl).catch(() => new Map<string, number>());
    const ms = (name: string) => (m.get(name) ?? NaN) * 1000;
    return { p99Ms: ms(metricNames.eventLoopP99), maxMs: ms(metricNames.eventLoopMax) };
  };
}

/**
 * The API process's V8 heap: bytes in use, and the young generation's committed size. V8 grows
 * and shrinks its young generation (up to some tens of MB) with the allocation rate and hands
 * the pages back to the system on its own schedule: part of RSS that says nothing about what is
 * retained.
 */
export async function heapFigures(
  baseUrl: string,
): Promise<{ heapUsedBytes: number; youngGenerationBytes: number }> {
  const m = await scrape(baseUrl).catch(() => new Map<string, number>());
  const space = (name: string) =>
    m.get(`onair_nodejs_heap_space_size_total_bytes{space="${name}"}`) ?? 0;
  return {
    heapUsedBytes: m.get(metricNames.heapUsed) ?? NaN,
    youngGenerationBytes: m.size ? space('new') + space('new_large_object') : NaN,
  };
}
