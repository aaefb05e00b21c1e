/**
 * The soak: `npm run soak -- --minutes 30 --viewers 100` (not part of CI). Starts the real server
 * in its own process, publishes the recorded fixture over WHIP, keeps `viewers` node-datachannel
 * viewers watching over WHEP (a few leave and rejoin every minute) and samples memory, handles,
 * file descriptors and engine counts. Prints a table as it goes, then writes
 * bench/results/soak-<time>.json and .md with the curves.
 *
 * Options: --minutes (30), --viewers (100), --interval seconds between samples (10),
 * --churn viewers that leave and rejoin per minute (5), --per-process viewers (50).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FixturePublisher } from '../server/test/support/loopback-peers';
import { machine } from './lib/proc';
import { post, registerUser, registerUsers, startServerProcess } from './lib/server-process';
import { createSampler, type Sample } from './soak/sampler';
import { renderMarkdown, tableHeader, tableRow } from './soak/report';
import type { ViewerCommand, ViewerStats } from './soak/viewer-process';

const here = path.dirname(fileURLToPath(import.meta.url));
const log = (line: string) => process.stdout.write(`${line}\n`);

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    viewers: { type: 'string', default: '100' },
    interval: { type: 'string', default: '10' },
    churn: { type: 'string', default: '5' },
    'per-process': { type: 'string', default: '50' },
  },
});
const options = {
  minutes: Number(values.minutes),
  viewers: Number(values.viewers),
  intervalSeconds: Number(values.interval),
  churnPerMinute: Number(values.churn),
  perProcess: Number(values['per-process']),
};
for (const [name, value] of Object.entries(options)) {
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a number`);
}

/** A viewer process and a request/reply over its IPC channel. */
interface ViewerProcess {
  child: ChildProcess;
  request<T>(command: ViewerCommand, reply: string): Promise<T>;
}

function startViewers(baseUrl: string, streamId: string, tokens: string[]): Promise<ViewerProcess> {
  const child = fork(path.join(here, 'soak/viewer-process.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = <T>(command: ViewerCommand, reply: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string; message?: string }) => {
        if (m.type === reply) {
          child.off('message', onMessage);
          resolve(m as T);
        } else if (m.type === 'error') {
          child.off('message', onMessage);
          reject(new Error(m.message));
        }
      };
      child.on('message', onMessage);
      child.send(command);
    });
  return request({ type: 'start', baseUrl, streamId, tokens }, 'ready').then(() => ({
    child,
    request,
  }));
}

async function main(): Promise<void> {
  // The product as `npm start` runs it, on the embedded database, whatever this shell has set.
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  const resultsDir = path.join(here, 'results');
  await mkdir(resultsDir, { recursive: true });
  const startedAt = new Date();
  log(
    `Soak: ${options.viewers} viewers for ${options.minutes} min, a sample every ${options.intervalSeconds} s, ${options.churnPerMinute} rejoins per minute`,
  );

  const server = await startServerProcess();
  const publisher = new FixturePublisher();
  const processes: ViewerProcess[] = [];
  const samples: Sample[] = [];
  let churnTimer: NodeJS.Timeout | undefined;
  try {
    const stamp = Date.now().toString(36);
    const host = await registerUser(server.url, `soak_host_${stamp}`);
    const stream = await post(`${server.url}/api/live/start`, { title: 'soak' }, host.token);
    const whip = await fetch(`${server.url}/api/live/${stream.streamId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
      body: await publisher.offer(),
    });
    if (whip.status !== 201) throw new Error(`WHIP ${whip.status}: ${await whip.text()}`);
    await publisher.accept(await whip.text());
    publisher.start();

    // A user may hold at most 3 watching sessions of one stream: one user per 3 viewers.
    const users = await registerUsers(server.url, 'soak', Math.ceil(options.viewers / 3));
    const tokens = Array.from(
      { length: options.viewers },
      (_, i) => users[Math.floor(i / 3)]!.token,
    );
    for (let i = 0; i < tokens.length; i += options.perProcess) {
      processes.push(
        await startViewers(server.url, stream.streamId, tokens.slice(i, i + options.perProcess)),
      );
    }
    log(`${options.viewers} viewers watching from ${processes.length} processes`);

    const viewerTotals = async () => {
      const all = await Promise.all(
        processes.map((p) => p.request<ViewerStats>({ type: 'stats' }, 'stats')),
      );
      const sum = (key: keyof Omit<ViewerStats, 'type'>) => all.reduce((n, s) => n + s[key], 0);
      return {
        packets: sum('packets'),
        connected: sum('connected'),
        joins: sum('joins'),
        retries: sum('retries'),
        failures: sum('failures'),
      };
    };

    // Leaving and rejoining exercises session teardown, where leaks would hide.
    if (options.churnPerMinute > 0) {
      let next = 0;
      churnTimer = setInterval(() => {
        const p = processes[next++ % processes.length];
        p?.request({ type: 'churn', count: options.churnPerMinute }, 'churned').catch(
          (error: unknown) => log(`churn failed: ${String(error)}`),
        );
      }, 60_000);
    }

    const sample = createSampler(server.pid, server.url, (await viewerTotals()).packets);
    log(tableHeader);
    const endAt = Date.now() + options.minutes * 60_000;
    for (;;) {
      await new Promise((r) =>
        setTimeout(r, Math.min(options.intervalSeconds * 1000, Math.max(0, endAt - Date.now()))),
      );
      const s = await sample(await viewerTotals());
      samples.push(s);
      log(tableRow(s));
      if (Date.now() >= endAt) break;
    }
  } finally {
    clearInterval(churnTimer);
    await Promise.all(
      processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              p.child.kill('SIGKILL');
              resolve();
            }, 10_000);
            p.child.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
            p.child.send({ type: 'close' } satisfies ViewerCommand);
          }),
      ),
    );
    await publisher.close();
    await server.stop();
  }

  const name = `soak-${startedAt.toISOString().replace(/[:.]/g, '-')}`;
  const run = { startedAt: startedAt.toISOString(), ...options, machine: machine(), samples };
  await writeFile(path.join(resultsDir, `${name}.json`), `${JSON.stringify(run, null, 2)}\n`);
  const markdown = renderMarkdown(run);
  await writeFile(path.join(resultsDir, `${name}.md`), markdown);
  log('');
  log(markdown.slice(markdown.indexOf('## Curves'), markdown.indexOf('## Samples')).trim());
  log(`\nWrote bench/results/${name}.json and .md`);
  // The publisher's and the viewers' sockets are closed; what werift leaves behind need not wait.
  process.exit(0);
}

main().catch((error: unknown) => {
  log(`soak failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exit(1);
});
