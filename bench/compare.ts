/**
 * A before/after table from two runs of the same session (same machine, one after the other):
 * `npx tsx bench/compare.ts bench/results/<before>.json bench/results/<after>.json`
 * Prints the markdown and writes it into bench/results/latest.md between
 * `<!-- compare:begin -->` and `<!-- compare:end -->` (replacing an earlier comparison, or
 * appended). `--out=<file.md>` writes it into another markdown file instead, `--print` only prints.
 * Each run's own figures stay in its own report; nothing here merges runs.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmtSpread, table } from './lib/report';
import type { ChurnResult } from './scenarios/churn';
import type { FanoutResult, FanoutStep } from './scenarios/fanout';
import type { FirstFrameResult } from './scenarios/first-frame';

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length !== 2)
  throw new Error(
    'usage: tsx bench/compare.ts <before.json> <after.json> [--out=<file.md>|--print]',
  );
const out =
  process.argv.find((a) => a.startsWith('--out='))?.slice('--out='.length) ??
  path.join(resultsDir, 'latest.md');
const printOnly = process.argv.includes('--print');

type Run = Record<string, any> & { file: string; name: string };
const runs = files.map((file): Run => {
  const run = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
  if (!run.settings) throw new Error(`${file} was written by an older harness: run it again`);
  return { ...run, file, name: run.label ?? path.basename(file, '.json') };
}) as [Run, Run];
const [a, b] = runs;

const warnings: string[] = [];
if (JSON.stringify(a.machine) !== JSON.stringify(b.machine))
  warnings.push('the two runs were made on different machines');
const hoursApart = Math.abs(Date.parse(b.startedAt) - Date.parse(a.startedAt)) / 3_600_000;
if (hoursApart > 3)
  warnings.push(`the runs started ${hoursApart.toFixed(1)} h apart: not the same session`);
if (a.mode !== b.mode) warnings.push(`modes differ (${a.mode} / ${b.mode})`);

const n = (x: number | undefined, digits = 1): string =>
  x === undefined || !Number.isFinite(x)
    ? '—'
    : String(Math.round(x * 10 ** digits) / 10 ** digits);
const arrow = (x: string, y: string) => `${x} → ${y}`;
/** A step's figure, or INVALID when the step could not be trusted. */
const fig = (s: FanoutStep | undefined, f: (s: FanoutStep) => string) =>
  !s ? 'not run' : s.valid ? f(s) : 'INVALID';

const parts: string[] = [
  '<!-- compare:begin -->',
  `## Before and after: ${a.name} → ${b.name}`,
  '',
  `\`${path.basename(a.file)}\` (${a.name}, ${a.mode}, started ${a.startedAt}, server ${String(a.server?.commit ?? '?').slice(0, 12)}) → \`${path.basename(b.file)}\` (${b.name}, ${b.mode}, started ${b.startedAt}, server ${String(b.server?.commit ?? '?').slice(0, 12)}). Figures are each run's medians (min–max where shown) over its windows; INVALID marks a step whose load generator or machine was saturated.`,
  '',
  ...(warnings.length ? [`**Caution:** ${warnings.join('; ')}.`, ''] : []),
];

const fa = a.fanout as FanoutResult | undefined;
const fb = b.fanout as FanoutResult | undefined;
if (fa || fb) {
  const viewers = [
    ...new Set([...(fa?.steps ?? []), ...(fb?.steps ?? [])].map((s) => s.viewers)),
  ].sort((x, y) => x - y);
  const rows = viewers.map((v) => {
    const sa = fa?.steps.find((s) => s.viewers === v);
    const sb = fb?.steps.find((s) => s.viewers === v);
    const both = (f: (s: FanoutStep) => string) => arrow(fig(sa, f), fig(sb, f));
    return {
      viewers: v,
      type: arrow(sa?.viewerType ?? '—', sb?.viewerType ?? '—'),
      cpu: both((s) => fmtSpread(s.summary.serverCpuPct)),
      us: both((s) => fmtSpread(s.summary.cpuUsPerPacket, 2)),
      ratio: both((s) => n(s.floorRatio, 2)),
      loss: both((s) => n(s.summary.lossPct.median, 3)),
      p99: both((s) => n(s.summary.delayP99Ms.median)),
      loop: both((s) => n(s.summary.eventLoopP99Ms.median)),
      rss: both((s) => n(s.serverRssMB)),
    };
  });
  parts.push(
    '### Fan-out',
    '',
    table(rows, [
      ['viewers', 'viewers'],
      ['type', 'viewer type'],
      ['cpu', 'server CPU % (main + children)'],
      ['us', 'µs/pkt'],
      ['ratio', '× UDP floor'],
      ['loss', 'loss %'],
      ['p99', 'delay p99 ms'],
      ['loop', 'event loop p99 ms'],
      ['rss', 'server RSS MB'],
    ]),
    '',
    `Memory per viewer (least-squares slope over the ramp): server RSS ${arrow(n(fa?.memory.rssKBPerViewer, 0), n(fb?.memory.rssKBPerViewer, 0))} KB; API-process heap ${arrow(n(fa?.memory.heapKBPerViewer, 0), n(fb?.memory.heapKBPerViewer, 0))} KB.`,
    '',
  );
}

const ffa = a.firstFrame as FirstFrameResult | undefined;
const ffb = b.firstFrame as FirstFrameResult | undefined;
if (ffa || ffb) {
  const paths = [...new Set([...(ffa?.series ?? []), ...(ffb?.series ?? [])].map((s) => s.path))];
  parts.push(
    '### Time to first frame',
    '',
    table(
      paths.map((p) => {
        const x = ffa?.series.find((s) => s.path === p);
        const y = ffb?.series.find((s) => s.path === p);
        return {
          path: p,
          p50: arrow(n(x?.p50, 0), n(y?.p50, 0)),
          p95: arrow(n(x?.p95, 0), n(y?.p95, 0)),
          start: arrow(n(x?.fromStartP50, 0), n(y?.fromStartP50, 0)),
        };
      }),
      [
        ['path', 'client'],
        ['p50', 'p50 ms (WHEP: from the POST)'],
        ['p95', 'p95 ms'],
        ['start', 'p50 from start ms'],
      ],
    ),
    '',
  );
}

const ca = a.churn as ChurnResult | undefined;
const cb = b.churn as ChurnResult | undefined;
if (ca || cb)
  parts.push(
    '### Session churn',
    '',
    `Server RSS per 1,000 WHEP sessions opened and closed: ${arrow(n(ca?.mbPer1000, 2), n(cb?.mbPer1000, 2))} MB (sessions: ${ca?.sessions ?? '—'} / ${cb?.sessions ?? '—'}; failed: ${ca?.failed ?? '—'} / ${cb?.failed ?? '—'}).`,
    '',
  );
parts.push('<!-- compare:end -->');
const section = parts.join('\n');

process.stdout.write(`${section}\n`);
if (warnings.length) process.stderr.write(`warning: ${warnings.join('; ')}\n`);
if (!printOnly) {
  const existing = existsSync(out) ? readFileSync(out, 'utf8') : '';
  const pattern = /<!-- compare:begin -->[\s\S]*?<!-- compare:end -->/;
  const next = pattern.test(existing)
    ? existing.replace(pattern, () => section)
    : `${existing.trimEnd()}${existing ? '\n\n' : ''}${section}\n`;
  writeFileSync(out, next);
  process.stderr.write(`written into ${out}\n`);
}
