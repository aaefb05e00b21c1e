/** The soak's curves: a table row per sample, text sparklines and growth figures in markdown. */
import type { Sample } from './sampler';

const bars = '▁▂▃▄▅▆▇█';

/** One character per value, scaled between the series' own minimum and maximum. */
export function sparkline(values: number[], width = 60): string {
  const finite = values.filter(Number.isFinite);
  if (!finite.length) return '';
  // Longer series are averaged into `width` buckets.
  const buckets = Array.from({ length: Math.min(width, finite.length) }, (_, i) => {
    const from = Math.floor((i * finite.length) / Math.min(width, finite.length));
    const to = Math.floor(((i + 1) * finite.length) / Math.min(width, finite.length));
    const slice = finite.slice(from, Math.max(to, from + 1));
    return slice.reduce((a, b) => a + b, 0) / slice.length;
  });
  const min = Math.min(...buckets);
  const max = Math.max(...buckets);
  return buckets
    .map((v) => bars[max === min ? 0 : Math.round(((v - min) / (max - min)) * (bars.length - 1))])
    .join('');
}

/** Least-squares slope of `values` against `t`, per hour. */
function slopePerHour(t: number[], values: number[]): number {
  const n = t.length;
  if (n < 2) return NaN;
  const mt = t.reduce((a, b) => a + b, 0) / n;
  const mv = values.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i += 1) {
    num += (t[i]! - mt) * (values[i]! - mv);
    den += (t[i]! - mt) ** 2;
  }
  return den ? (num / den) * 3600 : NaN;
}

export interface Series {
  label: string;
  unit: string;
  values: number[];
}

export function seriesOf(samples: Sample[]): Series[] {
  const sum = (f: (s: Sample) => number[]) => samples.map((s) => f(s).reduce((a, b) => a + b, 0));
  return [
    { label: 'main RSS', unit: 'MB', values: samples.map((s) => s.main.rssMB) },
    { label: 'main heap used', unit: 'MB', values: samples.map((s) => s.heapUsedMB) },
    {
      label: 'workers RSS (sum)',
      unit: 'MB',
      values: sum((s) => s.workers.map((w) => w.rssMB)),
    },
    { label: 'main open fds', unit: '', values: samples.map((s) => s.main.fds) },
    { label: 'workers open fds (sum)', unit: '', values: sum((s) => s.workers.map((w) => w.fds)) },
    { label: 'main libuv handles', unit: '', values: samples.map((s) => s.activeHandles) },
    { label: 'engine subscribers', unit: '', values: samples.map((s) => s.subscribers) },
    { label: 'engine publishers', unit: '', values: samples.map((s) => s.publishers) },
    { label: 'viewers received', unit: 'pkt/s', values: samples.map((s) => s.viewerPps) },
    { label: 'server CPU', unit: '%', values: samples.map((s) => s.cpuPct) },
  ];
}

export const tableHeader =
  '    t  mainRSS  heap  wrkRSS  mainFd  wrkFd  handles  pubs  subs  conn  pkt/s   cpu%';

export function tableRow(s: Sample): string {
  const workerRss = s.workers.reduce((n, w) => n + w.rssMB, 0);
  const workerFds = s.workers.reduce((n, w) => n + w.fds, 0);
  const cells: [number | string, number][] = [
    [s.t, 5],
    [s.main.rssMB, 8],
    [s.heapUsedMB, 6],
    [Math.round(workerRss * 10) / 10, 7],
    [s.main.fds, 7],
    [workerFds, 6],
    [s.activeHandles, 8],
    [s.publishers, 5],
    [s.subscribers, 5],
    [s.viewersConnected, 5],
    [s.viewerPps, 6],
    [s.cpuPct, 6],
  ];
  return cells.map(([v, w]) => String(v).padStart(w)).join(' ');
}

export function renderMarkdown(run: {
  startedAt: string;
  minutes: number;
  viewers: number;
  churnPerMinute: number;
  intervalSeconds: number;
  machine: { cores: number; model: string; memoryGiB: number };
  samples: Sample[];
}): string {
  const { samples } = run;
  // The first minutes include start-up and every viewer joining; growth is judged after them.
  const settled = samples.filter((s) => s.t >= Math.min(120, (run.minutes * 60) / 4));
  const t = settled.map((s) => s.t);
  const rows = seriesOf(samples).map((series) => {
    const after = seriesOf(settled).find((x) => x.label === series.label)!.values;
    const first = after[0];
    const last = after[after.length - 1];
    const slope = slopePerHour(t, after);
    const fmt = (x: number | undefined) =>
      x === undefined || !Number.isFinite(x) ? '—' : `${Math.round(x * 10) / 10}`;
    return `| ${series.label} | \`${sparkline(series.values)}\` | ${fmt(Math.min(...series.values))} – ${fmt(Math.max(...series.values))} ${series.unit} | ${fmt(first)} → ${fmt(last)} | ${fmt(slope)} |`;
  });
  const step = Math.max(1, Math.ceil(samples.length / 40));
  const shown = samples.filter((_, i) => i % step === 0 || i === samples.length - 1);
  const m = run.machine;
  const lastSample = samples[samples.length - 1];
  return [
    `# Soak: ${run.viewers} viewers for ${run.minutes} minutes`,
    '',
    `${run.startedAt} on ${m.cores} cores (${m.model}), ${m.memoryGiB} GiB. The real server (\`server/src/main.ts\`, embedded database) in its own process; one publisher replaying the recorded VP8 + Opus fixture over WHIP; ${run.viewers} node-datachannel viewers over WHEP in separate processes; ${run.churnPerMinute} viewers per minute leave and rejoin. A sample every ${run.intervalSeconds} s.`,
    '',
    `Viewer sessions set up: ${lastSample?.joins ?? 0} (${lastSample?.retries ?? 0} retried, ${lastSample?.failures ?? 0} failed).`,
    '',
    '## Curves',
    '',
    `Sparklines span the whole run; "settled" is from t = ${settled[0]?.t ?? '—'} s on, after start-up and the joins; the slope is a least-squares fit over the settled part.`,
    '',
    '| series | over time | range | settled first → last | slope per hour |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
    '',
    '## Samples',
    '',
    '```',
    tableHeader,
    ...shown.map(tableRow),
    '```',
    '',
  ].join('\n');
}
