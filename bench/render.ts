/**
 * Re-renders bench/results/latest.md and fanout.png from results JSON files, later files'
 * scenarios replacing earlier ones': `npx tsx bench/render.ts full.json fanout-only.json
 * [--before=old.json]` (the fan-out of an older run, shown as before → after).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderChart, renderReport } from './lib/report';

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const before = process.argv.find((a) => a.startsWith('--before='))?.slice('--before='.length);
const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
if (files.length === 0) throw new Error('usage: tsx bench/render.ts <results.json>...');
const merged: Record<string, any> = {};
for (const file of files) Object.assign(merged, JSON.parse(readFileSync(file, 'utf8')));
merged.sources = files.map((f) => path.basename(f));
if (before) merged.fanoutBefore = JSON.parse(readFileSync(before, 'utf8')).fanout;
const { markdown, headline } = renderReport(merged);
writeFileSync(path.join(resultsDir, 'latest.md'), markdown);
if (merged.fanout) await renderChart(merged.fanout, path.join(resultsDir, 'fanout.png'));
process.stdout.write(`${headline.join('\n')}\n`);
