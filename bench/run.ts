/**
 * The benchmark suite: `npm run bench` (full) or `npm run bench -- --quick` (under 3 minutes).
 * Starts the real server on the embedded database in its own process, runs the scenarios against
 * it from separate load-generator processes, and writes bench/results/<timestamp>.json,
 * bench/results/latest.md and bench/results/fanout.png. Headline figures are printed last.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib/proc';
import { renderReport, renderChart } from './lib/report';
import { startServerProcess } from './lib/server-process';
import { runApi } from './scenarios/api';
import { runChat } from './scenarios/chat';
import { runFanout } from './scenarios/fanout';
import { runFirstFrame } from './scenarios/first-frame';

const quick = process.argv.includes('--quick');
const only = process.argv
  .find((a) => a.startsWith('--only='))
  ?.slice('--only='.length)
  .split(',');
const profile = process.argv.includes('--profile');
const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const log = (line: string) => process.stdout.write(`${line}\n`);
const wanted = (name: string) => !only || only.includes(name);

async function main(): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const startedAt = new Date();
  const results: Record<string, unknown> = {
    startedAt: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: machine(),
    node: process.version,
  };
  log(`OnAir benchmarks (${quick ? 'quick' : 'full'}) on ${JSON.stringify(results.machine)}`);

  if (wanted('fanout')) {
    const server = await startServerProcess({
      nodeArgs: profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
    });
    try {
      results.fanout = await runFanout(server, {
        steps: quick ? [1, 10, 50, 100] : [1, 10, 50, 100, 150, 200, 300, 400, 500],
        windowMs: quick ? 5000 : 10_000,
        log,
      });
    } finally {
      await server.stop();
    }
  }

  // Each scenario gets a fresh server so one's leftovers do not weigh on the next.
  const withServer = async <T>(
    run: (server: Awaited<ReturnType<typeof startServerProcess>>) => Promise<T>,
  ) => {
    const server = await startServerProcess();
    try {
      return await run(server);
    } finally {
      await server.stop();
    }
  };
  if (wanted('first-frame')) {
    results.firstFrame = await withServer((server) =>
      runFirstFrame(server, { joins: quick ? 10 : 20, log }),
    );
  }
  if (wanted('chat')) {
    results.chat = await withServer((server) =>
      runChat(server, { sizes: quick ? [1000] : [1000, 5000], seconds: quick ? 10 : 30, log }),
    );
  }
  if (wanted('api')) {
    results.api = await withServer((server) =>
      runApi(server, { users: quick ? 200 : 1000, seconds: quick ? 5 : 10, log }),
    );
  }

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  await writeFile(path.join(resultsDir, `${stamp}.json`), `${JSON.stringify(results, null, 2)}\n`);
  const { markdown, headline } = renderReport(results);
  await writeFile(path.join(resultsDir, 'latest.md'), markdown);
  if (results.fanout)
    await renderChart(results.fanout as never, path.join(resultsDir, 'fanout.png'));
  log('');
  for (const line of headline) log(line);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
