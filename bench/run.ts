/**
 * The benchmark suite: `npm run bench` (full) or `npm run bench -- --quick` (about 5 minutes).
 * Starts the real server on the embedded database in its own process, runs the scenarios against
 * it from separate load-generator processes, and writes bench/results/<timestamp>[-<label>].json
 * and, from that one run alone, bench/results/latest.md and bench/results/fanout.png.
 *
 * Flags:
 *   --quick                 fewer and shorter steps
 *   --only=a,b              scenarios: fanout, simulcast, first-frame, churn, chat, api, abuse,
 *                           joins, nodes, adaptive, recording
 *                           (also `--only a,b`)
 *   --label=<name>          tags the run (e.g. werift, node-datachannel); goes into the file name
 *   --viewer=<type>         fan-out viewers in the load generator: node-datachannel (default) or werift
 *   --steps=50,100,200      fan-out viewer counts (a ramp)
 *   --window=<seconds>      length of each of the fan-out's measurement windows
 *   --repeats=<n>           measurement windows per fan-out step (default 3)
 *   --simulcast-steps=100,200  simulcast fan-out viewer counts (a ramp; default 100,200)
 *   --no-floor              skip the plain-UDP floor after the fan-out (and simulcast fan-out)
 *   --server-root=<dir>     measure the server of another checkout (same HTTP contract)
 *   --media-workers=<n>     MEDIA_WORKERS for the server (servers that fork media workers)
 *   --profile               CPU profile of the server's main process during the fan-out and chat
 *   --chat-sizes=1000,2500  chat: receiving sockets per step (default 1000,2500,5000)
 *   --chat-runs=<n>         chat: runs per step (default 3)
 *   --chat-seconds=<s>      chat: sending time of one run (default 30)
 *   --joins-sockets=<n>     joins: sockets joining at once (default 5000)
 *   --joins-runs=<n>        joins: storms per database (default 3)
 *   --joins-postgres=<url>  joins: the PostgreSQL server to measure too (default DATABASE_URL,
 *                           else postgres://postgres@127.0.0.1:5432/postgres; `none` skips it);
 *                           nodes: the one their deployment shares (needed; Redis from REDIS_URL)
 *   --nodes-kills=<n>       nodes: origin kills (default 10)
 *
 * The chat scenario alone, as measured for issue 11: `npm run bench -- --only chat`.
 * One client flooding each event, as measured for issue 16: `npm run bench -- --only abuse`.
 * Join storms on both databases, as measured for issue 17: `npm run bench -- --only joins`.
 * Three nodes of one deployment (relay cost, delay per hop, failover, and the join storms), as
 * measured for issue 17: `npm run bench -- --only nodes`.
 * The fan-out with a simulcast publisher (three video sections, one layer each) and viewers
 * spread evenly over low, medium and high, as measured for issue 19: `npm run bench -- --only simulcast`
 * (with `--only fanout,simulcast` for the single-layer figures beside it).
 * A viewer on a really limited downlink (a network namespace shaped by tc; needs root and the
 * built web app) beside an unlimited one, as measured for issue 19: `npm run bench -- --only adaptive`.
 * Recording and packaging CPU per stream, and live HLS's glass-to-glass delay beside WebRTC's
 * (needs the built web app), as measured for issue 20: `npm run bench -- --only recording`.
 */
import { execFileSync } from 'node:child_process';
import type { QualityChoice } from '@onair/protocol';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { machine } from './lib/proc';
import { renderChart, renderReport } from './lib/report';
import { benchRoot, startServerProcess, type ServerProcess } from './lib/server-process';
import { viewerTypes, type ViewerType } from './lib/viewers/types';
import { runAbuse } from './scenarios/abuse';
import { runAdaptive } from './scenarios/adaptive';
import { runApi } from './scenarios/api';
import { runChat } from './scenarios/chat';
import { runChurn } from './scenarios/churn';
import { runFanout, type FanoutResult } from './scenarios/fanout';
import { runFirstFrame } from './scenarios/first-frame';
import { runJoins } from './scenarios/joins';
import { runNodes } from './scenarios/nodes';
import { runRecording } from './scenarios/recording';

const scenarios = [
  'fanout',
  'simulcast',
  'first-frame',
  'churn',
  'chat',
  'api',
  'abuse',
  'joins',
  'nodes',
  'adaptive',
  'recording',
] as const;
/** `--name=value`, or `--name value`. */
const flag = (name: string): string | undefined => {
  const args = process.argv;
  const inline = args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  if (inline !== undefined) return inline;
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] && !args[at + 1]!.startsWith('--') ? args[at + 1] : undefined;
};
const numbers = (text: string | undefined): number[] | undefined =>
  text?.split(',').map((n) => {
    const value = Number(n);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`not a positive number: ${n}`);
    return value;
  });

const quick = process.argv.includes('--quick');
const only = flag('only')?.split(',');
for (const name of only ?? [])
  if (!(scenarios as readonly string[]).includes(name))
    throw new Error(`--only: unknown scenario ${name} (known: ${scenarios.join(', ')})`);
const label = flag('label');
if (label !== undefined && !/^[\w.-]{1,40}$/.test(label))
  throw new Error('--label: letters, digits, dot, dash and underscore only');
const viewerType = (flag('viewer') ?? 'node-datachannel') as ViewerType;
if (!viewerTypes.includes(viewerType))
  throw new Error(`--viewer: one of ${viewerTypes.join(', ')}`);
const serverRoot = flag('server-root') ? path.resolve(flag('server-root')!) : benchRoot;
const mediaWorkers = flag('media-workers');
const profile = process.argv.includes('--profile');
const settings = {
  // A ramp: viewers are only ever added.
  steps: [...new Set(numbers(flag('steps')) ?? (quick ? [20, 50, 100] : [50, 100, 200]))].sort(
    (a, b) => a - b,
  ),
  windowMs: (numbers(flag('window'))?.[0] ?? (quick ? 4 : 10)) * 1000,
  repeats: numbers(flag('repeats'))?.[0] ?? 3,
  // Issue 19: the same measurement with three layers, viewers spread evenly over them.
  simulcast: {
    steps: [...new Set(numbers(flag('simulcast-steps')) ?? (quick ? [50, 100] : [100, 200]))].sort(
      (a, b) => a - b,
    ),
    layers: 3,
    qualities: ['low', 'medium', 'high'] as QualityChoice[],
  },
  floor: !process.argv.includes('--no-floor'),
  firstFrameJoins: quick ? 6 : 20,
  churn: quick ? { sessions: 100, every: 50 } : { sessions: 1000, every: 200 },
  chat: {
    sizes: numbers(flag('chat-sizes')) ?? (quick ? [500, 1000] : [1000, 2500, 5000]),
    runs: numbers(flag('chat-runs'))?.[0] ?? (quick ? 2 : 3),
    seconds: numbers(flag('chat-seconds'))?.[0] ?? (quick ? 10 : 30),
    rate: 10,
    // The per-user comment budget is 5 per 5 s: 50 senders at 0.2/s each stay inside it even
    // when a busy server handles a few seconds of one sender's comments at once.
    senders: 50,
    rampStep: quick ? 500 : 1000,
    receiverProcesses: 2,
  },
  api: quick ? { users: 200, seconds: 5 } : { users: 1000, seconds: 10 },
  // Issue 16: one socket at 1,500 events/s, then 50 sockets at the same total.
  abuse: {
    rate: 1500,
    mixSockets: 50,
    // Longer than the 10 s a socket may stay over its budget before it is disconnected.
    seconds: quick ? 4 : 12,
    runs: quick ? 1 : 3,
    probes: 10,
    probeIntervalMs: 150,
  },
  // Issue 17: 5,000 sockets joining one stream at once, on each database.
  joins: {
    sockets: numbers(flag('joins-sockets'))?.[0] ?? (quick ? 1000 : 5000),
    runs: numbers(flag('joins-runs'))?.[0] ?? (quick ? 1 : 3),
    workerProcesses: 2,
  },
  // Issue 17: three nodes of one deployment; its join storms are the joins scenario's own.
  nodes: {
    repeats: numbers(flag('repeats'))?.[0] ?? 3,
    windowMs: (numbers(flag('window'))?.[0] ?? (quick ? 4 : 10)) * 1000,
    kills: numbers(flag('nodes-kills'))?.[0] ?? (quick ? 3 : 10),
  },
};
/** Kept out of `settings`, which goes into the results: a URL may hold a password. */
const joinsPostgresUrl =
  flag('joins-postgres') === 'none'
    ? undefined
    : (flag('joins-postgres') ??
      process.env.DATABASE_URL ??
      'postgres://postgres@127.0.0.1:5432/postgres');

const resultsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'results');
const log = (line: string) => process.stdout.write(`${line}\n`);
const wanted = (name: (typeof scenarios)[number]) => !only || only.includes(name);

/** Which commit of the measured server, and whether its server/ or packages/ had changes. */
function serverVersion(): { commit: string; dirty: boolean } | undefined {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', args, { cwd: serverRoot, encoding: 'utf8' }).trim();
    const changes = git('status', '--porcelain', '--', 'server', 'packages');
    return { commit: git('rev-parse', 'HEAD'), dirty: changes.length > 0 };
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  const startedAt = new Date();
  const serverEnv: Record<string, string> = mediaWorkers ? { MEDIA_WORKERS: mediaWorkers } : {};
  const results: Record<string, unknown> = {
    label: label ?? null,
    startedAt: startedAt.toISOString(),
    mode: quick ? 'quick' : 'full',
    args: process.argv.slice(2),
    machine: machine(),
    node: process.version,
    server: {
      root: serverRoot,
      ...serverVersion(),
      mediaWorkers: mediaWorkers ?? process.env.MEDIA_WORKERS ?? null,
    },
    settings: { ...settings, viewerType },
  };
  log(
    `OnAir benchmarks (${quick ? 'quick' : 'full'}${label ? `, ${label}` : ''}) on ${JSON.stringify(results.machine)}, server ${serverRoot}`,
  );

  // Each scenario gets a fresh server so one's leftovers do not weigh on the next. A scenario
  // that fails is recorded as failed; the others still run and the report is still written.
  const failures: Record<string, string> = {};
  const durations: Record<string, number> = {};
  results.durationsSeconds = durations;
  const scenario = async <T>(
    name: (typeof scenarios)[number],
    key: string,
    run: (server: ServerProcess) => Promise<T>,
    nodeArgs: string[] = [],
    built = false,
  ): Promise<void> => {
    if (!wanted(name)) return;
    const t0 = performance.now();
    try {
      const server = await startServerProcess({ nodeArgs, env: serverEnv, serverRoot, built });
      try {
        results[key] = await run(server);
      } finally {
        await server.stop();
      }
    } catch (error) {
      failures[name] = error instanceof Error ? error.message : String(error);
      log(`${name} FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
    durations[name] = Math.round((performance.now() - t0) / 1000);
    log(`(${name}: ${durations[name]} s)`);
  };

  await scenario(
    'fanout',
    'fanout',
    (server) =>
      runFanout(server, {
        steps: settings.steps,
        windowMs: settings.windowMs,
        repeats: settings.repeats,
        viewerType,
        floor: settings.floor,
        log,
      }),
    profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
  );
  await scenario(
    'simulcast',
    'simulcast',
    (server) =>
      runFanout(server, {
        steps: settings.simulcast.steps,
        windowMs: settings.windowMs,
        repeats: settings.repeats,
        viewerType,
        floor: settings.floor,
        simulcast: { layers: settings.simulcast.layers, qualities: settings.simulcast.qualities },
        log,
      }),
    profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
  );
  await scenario('first-frame', 'firstFrame', (server) =>
    runFirstFrame(server, { joins: settings.firstFrameJoins, log }),
  );
  await scenario('churn', 'churn', (server) => runChurn(server, { ...settings.churn, log }));
  // Chat measures memory per socket: the compiled server, as `npm start` runs it (see `built`).
  await scenario(
    'chat',
    'chat',
    (server) => runChat(server, { ...settings.chat, log }),
    profile ? ['--cpu-prof', `--cpu-prof-dir=${resultsDir}`] : [],
    true,
  );
  await scenario('api', 'api', (server) => runApi(server, { ...settings.api, log }));
  // The compiled server, as `npm start` runs it: the loader's own work is not what is measured.
  await scenario(
    'abuse',
    'abuse',
    (server) => runAbuse(server, { ...settings.abuse, log }),
    [],
    true,
  );
  // Joins start their own servers, one per database.
  if (wanted('joins')) {
    const t0 = performance.now();
    try {
      results.joins = await runJoins({
        ...settings.joins,
        postgresUrl: joinsPostgresUrl,
        serverRoot,
        log,
      });
    } catch (error) {
      failures.joins = error instanceof Error ? error.message : String(error);
      log(`joins FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
    durations.joins = Math.round((performance.now() - t0) / 1000);
    log(`(joins: ${durations.joins} s)`);
  }
  // Three nodes start their own servers; the join storms follow, as `--only joins` runs them
  // (when both are wanted, once).
  if (wanted('nodes')) {
    const t0 = performance.now();
    try {
      results.nodes = await runNodes({
        ...settings.nodes,
        joins: wanted('joins') ? undefined : settings.joins,
        postgresUrl: joinsPostgresUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        serverRoot,
        log,
      });
    } catch (error) {
      failures.nodes = error instanceof Error ? error.message : String(error);
      log(`nodes FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
    durations.nodes = Math.round((performance.now() - t0) / 1000);
    log(`(nodes: ${durations.nodes} s)`);
  }
  // A namespace and a server of its own, listening where the namespace reaches it.
  if (wanted('adaptive')) {
    const t0 = performance.now();
    try {
      results.adaptive = await runAdaptive({ serverRoot, log });
    } catch (error) {
      failures.adaptive = error instanceof Error ? error.message : String(error);
      log(`adaptive FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
    durations.adaptive = Math.round((performance.now() - t0) / 1000);
    log(`(adaptive: ${durations.adaptive} s)`);
  }
  if (wanted('recording')) {
    const t0 = performance.now();
    try {
      results.recording = await runRecording({ serverRoot, quick, log });
    } catch (error) {
      failures.recording = error instanceof Error ? error.message : String(error);
      log(`recording FAILED: ${error instanceof Error ? error.stack : String(error)}`);
    }
    durations.recording = Math.round((performance.now() - t0) / 1000);
    log(`(recording: ${durations.recording} s)`);
  }
  if (Object.keys(failures).length) results.failures = failures;
  results.finishedAt = new Date().toISOString();

  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const suffix =
    label ??
    (only?.length === 1 && (only[0] === 'nodes' || only[0] === 'simulcast') ? only[0] : undefined);
  const file = path.join(resultsDir, `${stamp}${suffix ? `-${suffix}` : ''}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  const { markdown, headline } = renderReport(results, path.basename(file));
  await writeFile(path.join(resultsDir, 'latest.md'), markdown);
  if (results.fanout)
    await renderChart(results.fanout as FanoutResult, path.join(resultsDir, 'fanout.png')).catch(
      (error: unknown) => log(`fanout.png not drawn: ${String(error)}`),
    );
  log('');
  const minutes = (Date.parse(String(results.finishedAt)) - startedAt.getTime()) / 60_000;
  log(
    `Results (${minutes.toFixed(1)} min): ${path.relative(process.cwd(), file)} and bench/results/latest.md`,
  );
  for (const line of headline) log(line);
  if (results.failures) throw new Error(`failed: ${Object.keys(failures).join(', ')}`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
    process.exit(1);
  },
);
