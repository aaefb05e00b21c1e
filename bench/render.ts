/**
 * Re-renders bench/results/latest.md (and fanout.png) from ONE run's results JSON:
 * `npx tsx bench/render.ts bench/results/<run>.json`. Runs are never merged.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart, renderReport } from './lib/report';
import type { FanoutResult } from './scenarios/fanout';

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length !== 1)
  throw new Error(
    'usage: tsx bench/render.ts <results.json> (exactly one run: runs are not merged)',
  );
const file = files[0]!;
const results = JSON.parse(readFileSync(file, 'utf8')) as Record<string, any>;
if (!results.settings)
  throw new Error(`${file} was written by an older harness (no settings): run the benchmark again`);
const { markdown, headline } = renderReport(results, path.basename(file));
writeFileSync(path.join(resultsDir, 'latest.md'), markdown);
if (results.fanout)
  await renderChart(results.fanout as FanoutResult, path.join(resultsDir, 'fanout.png'));
process.stdout.write(`${headline.join('\n')}\n`);
