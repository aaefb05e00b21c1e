/**
 * One client flooding a node (issue 16): for each client event in turn, one socket sends it
 * 1,500 times a second (reconnecting whenever the server disconnects it), then 50 sockets send a
 * mix of all of them at the same total rate, while signed-in probes chat in a live stream and
 * `/api/health` is polled. Flooders and probes run in processes of their own; a run in which any
 * of them, or the machine, was saturated is INVALID (bench/lib/saturation.ts).
 *
 * Per phase and run: the probes' chat ack latency (p50, p99), `/api/health` latency (p50, max)
 * and failures, server CPU (main process and media workers), events refused with `rate_limited`,
 * flooding sockets disconnected, probes dropped.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWorker, type Worker } from '../lib/ipc';
import { cpuMeter, idleMeter } from '../lib/proc';
import { saturationOf } from '../lib/saturation';
import { post, registerUser, registerUsers, type ServerProcess } from '../lib/server-process';
import { percentile, round, spread, type Spread } from '../lib/stats';
import type { Attack, FloodReport } from './abuse-flooder';
import type { ProbeReport } from './abuse-probe';

const here = path.dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface AbuseOptions {
  /** Events per second: from the one socket, or over all the mix's sockets. */
  rate: number;
  /** Sockets of the mix. */
  mixSockets: number;
  /** Flooding time of one run. */
  seconds: number;
  runs: number;
  /** Signed-in probes taking turns to comment, one comment every `probeIntervalMs`. */
  probes: number;
  probeIntervalMs: number;
  log: (line: string) => void;
}

export interface AbuseRun {
  sent: number;
  refused: number;
  /** Acks by outcome (`ok` or the error code). */
  acks: Record<string, number>;
  connections: number;
  refusedConnections: number;
  disconnects: number;
  chatP50Ms: number;
  chatP99Ms: number;
  chatFailures: Record<string, number>;
  healthP50Ms: number;
  healthMaxMs: number;
  healthFailures: number;
  /** Probe sockets the server closed during the run. */
  probesDropped: number;
  serverCpuPct: number;
  generatorMaxPct: number;
  machineIdlePct: number;
  invalidReason?: string;
}

export interface AbusePhase {
  name: string;
  sockets: number;
  runs: AbuseRun[];
  valid: boolean;
  invalidReason?: string;
  summary: Record<
    'chatP50Ms' | 'chatP99Ms' | 'healthP50Ms' | 'healthMaxMs' | 'serverCpuPct' | 'refused',
    Spread
  >;
}

export interface AbuseResult {
  settings: Omit<AbuseOptions, 'log'>;
  phases: AbusePhase[];
}

export async function runAbuse(server: ServerProcess, options: AbuseOptions): Promise<AbuseResult> {
  const { log } = options;
  const suffix = Date.now().toString(36);
  const host = await registerUser(server.url, `bench_ab_host_${suffix}`);
  const attacker = await registerUser(server.url, `bench_ab_bad_${suffix}`);
  const probeUsers = await registerUsers(server.url, 'bench_ab_probe', options.probes);
  const stream = await post(`${server.url}/api/live/start`, { title: 'under attack' }, host.token);
  const streamId = String(stream.streamId);
  const signedIn = attacker.token;

  const events: [string, Attack][] = [
    ['live_offer (watch, anonymous)', { event: 'live_offer', payload: { streamId } }],
    [
      'live_offer (publish)',
      {
        token: signedIn,
        event: 'live_offer',
        payload: { streamId, description: { type: 'offer', sdp: 'v=0\r\n' } },
      },
    ],
    [
      'live_answer',
      {
        event: 'live_answer',
        payload: { streamId, description: { type: 'answer', sdp: 'v=0\r\n' } },
      },
    ],
    [
      'live_ice_candidate',
      {
        event: 'live_ice_candidate',
        payload: {
          streamId,
          role: 'watch',
          candidate: { candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: '0' },
        },
      },
    ],
    ['join_live (anonymous)', { event: 'join_live', payload: { streamId } }],
    ['leave_live (anonymous)', { event: 'leave_live', payload: { streamId } }],
    [
      'live_comment (not joined)',
      { token: signedIn, event: 'live_comment', payload: { streamId, comment: 'spam' } },
    ],
    [
      'live_reaction (not joined)',
      { token: signedIn, event: 'live_reaction', payload: { streamId, reaction: '🔥' } },
    ],
    [
      'live_moderate',
      {
        token: signedIn,
        event: 'live_moderate',
        payload: { streamId, action: 'ban', userId: host.user.id },
      },
    ],
    ['start_live', { token: signedIn, event: 'start_live', payload: { title: 'spam' } }],
    ['end_live', { token: signedIn, event: 'end_live', payload: { streamId } }],
    [
      'live_media_state',
      {
        token: signedIn,
        event: 'live_media_state',
        payload: { streamId, camera: true, microphone: false },
      },
    ],
    ['an event outside the protocol', { event: 'no_such_event', payload: { streamId } }],
  ];
  const phases: { name: string; attacks: Attack[]; perSocket: number }[] = [
    { name: 'nothing (baseline)', attacks: [], perSocket: 0 },
    ...events.map(([name, attack]) => ({ name, attacks: [attack], perSocket: options.rate })),
    {
      name: `mix of all the above from ${options.mixSockets} sockets`,
      attacks: Array.from({ length: options.mixSockets }, (_, i) => events[i % events.length]![1]),
      perSocket: options.rate / options.mixSockets,
    },
  ];

  const workers: Worker[] = [];
  try {
    const flooder = await startWorker(path.join(here, 'abuse-flooder.ts'), [server.url]);
    workers.push(flooder);
    const probe = await startWorker(path.join(here, 'abuse-probe.ts'), [
      server.url,
      streamId,
      JSON.stringify(probeUsers.map((u) => u.token)),
    ]);
    workers.push(probe);
    const results: AbusePhase[] = [];
    let probesClosed = 0;
    for (const phase of phases) {
      const runs: AbuseRun[] = [];
      for (let r = 0; r < options.runs; r += 1) {
        const serverCpu = cpuMeter([server.pid]);
        const loadCpu = cpuMeter([], [flooder.pid, probe.pid, process.pid]);
        const idle = idleMeter();
        const [flood, seen] = await Promise.all([
          phase.attacks.length
            ? flooder.request<FloodReport>(
                {
                  type: 'flood',
                  attacks: phase.attacks,
                  perSocket: phase.perSocket,
                  seconds: options.seconds,
                },
                'flooded',
                (options.seconds + 60) * 1000,
              )
            : undefined,
          probe.request<ProbeReport>(
            { type: 'measure', seconds: options.seconds, intervalMs: options.probeIntervalMs },
            'measured',
            (options.seconds + 60) * 1000,
          ),
        ]);
        const server_ = serverCpu();
        const load = loadCpu();
        const machineIdle = idle();
        const reason = saturationOf(load, machineIdle);
        const run: AbuseRun = {
          sent: flood?.sent ?? 0,
          refused: flood?.acks.rate_limited ?? 0,
          acks: flood?.acks ?? {},
          connections: flood?.connections ?? 0,
          refusedConnections: flood?.refusedConnections ?? 0,
          disconnects: flood?.disconnects ?? 0,
          chatP50Ms: round(percentile(seen.chatMs, 0.5)),
          chatP99Ms: round(percentile(seen.chatMs, 0.99)),
          chatFailures: seen.chatFailures,
          healthP50Ms: round(percentile(seen.healthMs, 0.5)),
          healthMaxMs: round(Math.max(...seen.healthMs)),
          healthFailures: seen.healthFailures,
          probesDropped: seen.closedProbes - probesClosed,
          serverCpuPct: round(server_.share * 100),
          generatorMaxPct: round(Math.max(...[...load.perProcess.values()].map((s) => s * 100))),
          machineIdlePct: round(machineIdle * 100),
          ...(reason ? { invalidReason: reason } : {}),
        };
        probesClosed = seen.closedProbes;
        runs.push(run);
        log(
          `abuse ${phase.name} run ${r + 1}: sent ${run.sent}, refused ${run.refused}, disconnected ${run.disconnects}/${run.connections} connections; probe chat p50 ${run.chatP50Ms} ms p99 ${run.chatP99Ms} ms${Object.keys(run.chatFailures).length ? ` failures ${JSON.stringify(run.chatFailures)}` : ''}; health p50 ${run.healthP50Ms} ms max ${run.healthMaxMs} ms (${run.healthFailures} failed); server ${run.serverCpuPct}% CPU; probes dropped ${run.probesDropped}; acks ${JSON.stringify(run.acks)}${run.invalidReason ? ` INVALID: ${run.invalidReason}` : ''}`,
        );
        // Let the last phase's backlog drain and its per-window budgets lapse.
        await sleep(2000);
      }
      const invalid = runs.filter((x) => x.invalidReason);
      const summaryOf = (key: keyof AbusePhase['summary']) => spread(runs.map((x) => x[key]));
      results.push({
        name: phase.name,
        sockets: phase.attacks.length,
        runs,
        valid: invalid.length === 0,
        ...(invalid.length
          ? { invalidReason: invalid.map((x) => x.invalidReason).join('; ') }
          : {}),
        summary: {
          chatP50Ms: summaryOf('chatP50Ms'),
          chatP99Ms: summaryOf('chatP99Ms'),
          healthP50Ms: summaryOf('healthP50Ms'),
          healthMaxMs: summaryOf('healthMaxMs'),
          serverCpuPct: summaryOf('serverCpuPct'),
          refused: summaryOf('refused'),
        },
      });
    }
    const { rate, mixSockets, seconds, runs, probes, probeIntervalMs } = options;
    return {
      settings: { rate, mixSockets, seconds, runs, probes, probeIntervalMs },
      phases: results,
    };
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await post(`${server.url}/api/live/end/${streamId}`, {}, host.token).catch(() => undefined);
  }
}
