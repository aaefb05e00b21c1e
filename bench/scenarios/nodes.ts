/**
 * Three nodes of one deployment on this machine (issue 17): one PostgreSQL database, one Redis,
 * one JWT_SECRET, one media worker each. The publisher (werift, replaying the VP8 + Opus
 * fixture) and the viewers (werift, decrypting) live in the harness process.
 *
 * 1. Relay cost: CPU of the origin's media worker (per thread, from /proc schedstat, ns
 *    resolution) over windows with no viewer, one edge pulling, two edges pulling, and two edges
 *    plus one local viewer. µs per relayed packet = (window − no viewer) ÷ packets the publisher
 *    sent ÷ edges; a local viewer's µs per forwarded packet = (with − without it) ÷ packets it got.
 * 2. Delay per hop: the same packet (by payload) at the viewer on the origin and at a viewer on an
 *    edge, in the windows with both: p50 and p99 of the difference.
 * 3. Failover: SIGKILL of the origin's processes with a WHIP publisher on it and a viewer on each
 *    other node; the publisher POSTs again to a surviving node every 500 ms (as OBS reconnects);
 *    kill → takeover accepted (201) → first packet again at both surviving viewers, which keep
 *    their sessions. The killed node is started again before the next round.
 * 4. Joins: the join-storm scenario (`runJoins`), run as it is, both databases.
 */
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import {
  FixturePublisher,
  RecordingViewer,
  connected,
  fingerprint,
} from '../../server/test/support/loopback-peers';
import { scrape } from '../lib/metrics';
import { cpuMeter, cpuSecondsFine, processTree } from '../lib/proc';
import { saturation } from '../lib/saturation';
import { registerUser, startServerProcess, type ServerProcess } from '../lib/server-process';
import { linearFit, percentile, round, spread, type Spread } from '../lib/stats';
import { runJoins, scratchDatabase, type JoinsResult } from './joins';

export interface NodesOptions {
  /** Measurement windows per relay-cost state. */
  repeats: number;
  windowMs: number;
  /** Origin kills. */
  kills: number;
  /** The join-storm scenario's settings; undefined when it runs on its own in the same run. */
  joins: { sockets: number; runs: number; workerProcesses: number } | undefined;
  postgresUrl: string;
  serverRoot?: string;
  log: (line: string) => void;
}

export interface RelayWindow {
  state: RelayState;
  seconds: number;
  originWorkerCpuMs: number;
  publisherPackets: number;
  /** Packets the local viewer on the origin received (its state only). */
  localPackets: number;
  relayDatagramsSent: number;
  harnessCpuPct: number;
  /** Matched packets' origin-viewer → edge-viewer differences (the local-viewer state only). */
  hopP50Ms?: number;
  hopP99Ms?: number;
  hopMatched?: number;
  invalidReason?: string;
}

export type RelayState = 'none' | 'edge1' | 'edge2' | 'edge2+local';

export interface NodesResult {
  settings: Omit<NodesOptions, 'log' | 'postgresUrl' | 'serverRoot'>;
  relay: {
    windows: RelayWindow[];
    valid: boolean;
    summary: {
      workerCpuPct: Record<RelayState, Spread>;
      usPerRelayedPacketEdge1: Spread;
      usPerRelayedPacketEdge2: Spread;
      usPerLocalPacket: Spread;
      /**
       * Least-squares slope of the origin worker's CPU µs per published packet against edges
       * pulling (0, 1, 2), over every window of those states: µs per relayed packet per edge.
       */
      usPerRelayedPacketSlope?: number;
      slopeR2?: number;
      hopP50Ms: Spread;
      hopP99Ms: Spread;
    };
  };
  failover: {
    rounds: FailoverRound[];
    summary: {
      answeredMs: Spread;
      takeoverMs: Spread;
      mediaMs: Spread;
      takeoverToMediaMs: Spread;
    };
    p50: Record<'answeredMs' | 'takeoverMs' | 'mediaMs', number>;
    p95: Record<'answeredMs' | 'takeoverMs' | 'mediaMs', number>;
  };
  joins?: JoinsResult;
  loadAverage: { start: number[]; end: number[] };
}

export interface FailoverRound {
  killed: string;
  takenOverOn: string;
  /** POSTs refused (409) before the takeover. */
  refusals: number;
  /** Kill → the 201 that accepted the new publisher. */
  answeredMs: number;
  /** Kill → the new publisher connected (ICE + DTLS) and sending. */
  takeoverMs: number;
  /** Kill → first packet again, at each surviving viewer, and the later of the two. */
  viewerMediaMs: number[];
  mediaMs: number;
  error?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A decrypting WHEP viewer that keeps each packet's arrival time by payload. */
class ArrivalViewer extends RecordingViewer {
  readonly arrivals = new Map<string, number>();
  packets = 0;
  /** Arrival of the first packet at or after `since` (0: none yet). */
  firstSince = 0;
  since = Infinity;
  constructor() {
    super();
    this.pc.onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((packet) => {
        const now = performance.now();
        this.packets += 1;
        if (now >= this.since && !this.firstSince) this.firstSince = now;
        this.arrivals.set(fingerprint(track.kind, packet.payload), now);
      }),
    );
  }

  reset(): void {
    this.arrivals.clear();
    this.packets = 0;
    this.sequences.audio.length = 0;
    this.sequences.video.length = 0;
    this.payloadIndexes.length = 0;
  }
}

interface Node {
  id: string;
  server: ServerProcess;
}

async function startNode(id: string, env: Record<string, string>, root?: string): Promise<Node> {
  const server = await startServerProcess({ env: { ...env, NODE_ID: id }, serverRoot: root });
  return { id, server };
}

/** The whole node as a machine dies: its main process and its media workers, at once. */
function killNode(node: Node): void {
  for (const pid of processTree(node.server.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

async function watch(node: Node, streamId: string): Promise<ArrivalViewer> {
  const viewer = new ArrivalViewer();
  const res = await fetch(`${node.server.url}/api/live/${streamId}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp' },
    body: await viewer.offer(),
  });
  if (res.status !== 201) throw new Error(`WHEP on ${node.id}: ${res.status} ${await res.text()}`);
  await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await connected(viewer.pc);
  const deadline = Date.now() + 10_000;
  while (viewer.received('video') < 20) {
    if (Date.now() > deadline) throw new Error(`no media on ${node.id}`);
    await sleep(50);
  }
  return viewer;
}

/** OBS's request: the host's persistent key to the one WHIP URL; the publisher sends on a 201. */
async function whip(node: Node, key: string) {
  const publisher = new FixturePublisher();
  const res = await fetch(`${node.server.url}/api/live/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: await publisher.offer(),
  });
  const body = await res.text();
  const answeredAt = performance.now();
  if (res.status !== 201) {
    await publisher.close().catch(() => undefined);
    return { status: res.status, body };
  }
  await publisher.accept(body);
  publisher.start();
  const streamId = (res.headers.get('location') ?? '').split('/')[3]!;
  return { status: 201, body, publisher, streamId, answeredAt };
}

async function host(node: Node, name: string) {
  const user = await registerUser(node.server.url, `${name}_${Date.now().toString(36)}`);
  const res = await fetch(`${node.server.url}/api/me/stream-key`, {
    headers: { authorization: `Bearer ${user.token}` },
  });
  if (!res.ok) throw new Error(`stream key: ${res.status}`);
  return { user, key: ((await res.json()) as { streamKey: string }).streamKey };
}

const workerPids = (node: Node) => processTree(node.server.pid).slice(1);
const relaySent = async (node: Node) =>
  (await scrape(node.server.url).catch(() => new Map<string, number>())).get(
    'onair_media_node_relay_sent_total',
  ) ?? NaN;

async function relayCost(nodes: Node[], options: NodesOptions): Promise<NodesResult['relay']> {
  const [origin, b, c] = nodes as [Node, Node, Node];
  const { key } = await host(origin, 'bench_relay');
  const published = await whip(origin, key);
  if (!published.publisher) throw new Error(`WHIP on the origin: ${published.status}`);
  const publisher = published.publisher;
  const viewers: ArrivalViewer[] = [];
  const windows: RelayWindow[] = [];
  try {
    await sleep(2000);
    const states: [RelayState, Node | undefined][] = [
      ['none', undefined],
      ['edge1', b],
      ['edge2', c],
      ['edge2+local', origin],
    ];
    let local: ArrivalViewer | undefined;
    for (const [state, joinOn] of states) {
      if (joinOn) {
        const viewer = await watch(joinOn, published.streamId);
        viewers.push(viewer);
        if (joinOn === origin) local = viewer;
      }
      await sleep(2000);
      for (let r = 0; r < options.repeats; r += 1) {
        for (const v of viewers) v.reset();
        const pids = workerPids(origin);
        const cpu0 = pids.reduce((s, p) => s + cpuSecondsFine(p), 0);
        const sent0 = publisher.sent.audio + publisher.sent.video;
        const relay0 = await relaySent(origin);
        const harness = cpuMeter([], [process.pid]);
        const t0 = performance.now();
        await sleep(options.windowMs);
        const cpu1 = pids.reduce((s, p) => s + cpuSecondsFine(p), 0);
        const seconds = (performance.now() - t0) / 1000;
        const harnessShare = harness().share;
        const window: RelayWindow = {
          state,
          seconds: round(seconds, 2),
          originWorkerCpuMs: round((cpu1 - cpu0) * 1000, 3),
          publisherPackets: publisher.sent.audio + publisher.sent.video - sent0,
          localPackets: local?.packets ?? 0,
          relayDatagramsSent: (await relaySent(origin)) - relay0,
          harnessCpuPct: round(harnessShare * 100),
        };
        if (local) {
          const hops: number[] = [];
          for (const edge of viewers.filter((v) => v !== local))
            for (const [print, at] of edge.arrivals) {
              const atOrigin = local.arrivals.get(print);
              // The fixture loops: a payload seen again a loop later is not the same packet.
              if (atOrigin !== undefined && Math.abs(at - atOrigin) < 1000)
                hops.push(at - atOrigin);
            }
          window.hopMatched = hops.length;
          window.hopP50Ms = round(percentile(hops, 0.5), 2);
          window.hopP99Ms = round(percentile(hops, 0.99), 2);
        }
        if (harnessShare >= saturation.loadProcessShare)
          window.invalidReason = `harness process at ${round(harnessShare * 100)}% of a core`;
        windows.push(window);
        options.log(
          `nodes relay ${state} window ${r + 1}: origin worker ${window.originWorkerCpuMs} ms CPU in ${window.seconds} s, ${window.publisherPackets} packets published, ${window.relayDatagramsSent} relay datagrams sent${window.hopP50Ms !== undefined ? `, hop p50 ${window.hopP50Ms} ms p99 ${window.hopP99Ms} ms (${window.hopMatched} packets)` : ''}, harness ${window.harnessCpuPct}%${window.invalidReason ? ` INVALID: ${window.invalidReason}` : ''}`,
        );
      }
    }
  } finally {
    for (const v of viewers) await v.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
  }

  const of = (state: RelayState) => windows.filter((w) => w.state === state);
  const cpuPerSecond = (w: RelayWindow) => w.originWorkerCpuMs / w.seconds;
  const baseline = spread(of('none').map(cpuPerSecond)).median;
  const edge2 = spread(of('edge2').map(cpuPerSecond)).median;
  // Each window's cost above the median of the state below it, per packet in that window.
  const perPacket = (state: RelayState, below: number, count: (w: RelayWindow) => number) =>
    spread(
      of(state).map((w) => ((cpuPerSecond(w) - below) * w.seconds * 1000) / Math.max(1, count(w))),
    );
  const edgesOf: Partial<Record<RelayState, number>> = { none: 0, edge1: 1, edge2: 2 };
  const fit = linearFit(
    windows
      .filter((w) => edgesOf[w.state] !== undefined)
      .map((w) => ({
        x: edgesOf[w.state]!,
        y: (w.originWorkerCpuMs * 1000) / Math.max(1, w.publisherPackets),
      })),
  );
  return {
    windows,
    valid: windows.every((w) => !w.invalidReason),
    summary: {
      workerCpuPct: Object.fromEntries(
        (['none', 'edge1', 'edge2', 'edge2+local'] as const).map((s) => [
          s,
          spread(of(s).map((w) => round(cpuPerSecond(w) / 10, 2))),
        ]),
      ) as Record<RelayState, Spread>,
      usPerRelayedPacketEdge1: perPacket('edge1', baseline, (w) => w.publisherPackets),
      usPerRelayedPacketEdge2: perPacket('edge2', baseline, (w) => 2 * w.publisherPackets),
      usPerLocalPacket: perPacket('edge2+local', edge2, (w) => w.localPackets),
      ...(fit ? { usPerRelayedPacketSlope: round(fit.slope, 2), slopeR2: round(fit.r2, 3) } : {}),
      hopP50Ms: spread(of('edge2+local').map((w) => w.hopP50Ms ?? NaN)),
      hopP99Ms: spread(of('edge2+local').map((w) => w.hopP99Ms ?? NaN)),
    },
  };
}

async function failoverRound(
  nodes: Node[],
  index: number,
  env: Record<string, string>,
  options: NodesOptions,
): Promise<FailoverRound> {
  const at = index % nodes.length;
  const victim = nodes[at]!;
  const survivors = nodes.filter((n) => n !== victim);
  const { key } = await host(victim, `bench_failover${index}`);
  const published = await whip(victim, key);
  if (!published.publisher) throw new Error(`WHIP on ${victim.id}: ${published.status}`);
  const viewers: ArrivalViewer[] = [];
  let publisher = published.publisher;
  try {
    for (const node of survivors) viewers.push(await watch(node, published.streamId));
    await sleep(1000);

    killNode(victim);
    const killedAt = performance.now();
    // Packets already on their way when the node died are not its return: media can only come
    // back from the new publisher, which starts sending after its POST is answered.
    await publisher.close().catch(() => undefined);
    // OBS finds its connection gone and POSTs again; a load balancer sends it to a live node.
    let refusals = 0;
    let takeoverAt = 0;
    let answeredAt = 0;
    let takenOverOn = '';
    for (let attempt = 0; !takeoverAt; attempt += 1) {
      if (performance.now() - killedAt > 30_000) throw new Error('no takeover within 30 s');
      const target = survivors[attempt % survivors.length]!;
      const sentAt = performance.now();
      const again = await whip(target, key);
      if (again.publisher) {
        publisher = again.publisher;
        takeoverAt = performance.now();
        answeredAt = again.answeredAt;
        for (const v of viewers) v.since = sentAt;
        takenOverOn = target.id;
      } else {
        if (again.status !== 409)
          throw new Error(`WHIP on ${target.id}: ${again.status} ${again.body}`);
        refusals += 1;
        await sleep(Math.max(0, 500 - (performance.now() - sentAt)));
      }
    }
    const deadline = performance.now() + 20_000;
    while (viewers.some((v) => !v.firstSince) && performance.now() < deadline) await sleep(20);
    const viewerMediaMs = viewers.map((v) =>
      v.firstSince ? round(v.firstSince - killedAt, 0) : NaN,
    );
    const result: FailoverRound = {
      killed: victim.id,
      takenOverOn,
      refusals,
      answeredMs: round(answeredAt - killedAt, 0),
      takeoverMs: round(takeoverAt - killedAt, 0),
      viewerMediaMs,
      mediaMs: Math.max(...viewerMediaMs),
    };
    return result;
  } finally {
    for (const v of viewers) await v.close().catch(() => undefined);
    await publisher.close().catch(() => undefined);
    await victim.server.stop().catch(() => undefined);
    nodes[at] = await startNode(victim.id, env, options.serverRoot);
  }
}

export async function runNodes(options: NodesOptions): Promise<NodesResult> {
  const loadStart = os.loadavg().map((x) => round(x, 2));
  const scratch = await scratchDatabase(options.postgresUrl);
  const env = {
    DATABASE_URL: scratch.url,
    REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    REDIS_KEY_PREFIX: `onair-bench-${randomBytes(6).toString('hex')}`,
    JWT_SECRET: randomBytes(32).toString('hex'),
    MEDIA_WORKERS: '1',
  };
  const nodes: Node[] = [];
  let relay: NodesResult['relay'] | undefined;
  const rounds: FailoverRound[] = [];
  try {
    // The first creates the schema; the others find it.
    nodes.push(await startNode('node-1', env, options.serverRoot));
    nodes.push(
      ...(await Promise.all(
        ['node-2', 'node-3'].map((id) => startNode(id, env, options.serverRoot)),
      )),
    );
    await sleep(3000);
    relay = await relayCost(nodes, options);
    for (let r = 0; r < options.kills; r += 1) {
      try {
        const x = await failoverRound(nodes, r, env, options);
        rounds.push(x);
        options.log(
          `nodes failover ${r + 1}: killed ${x.killed}, taken over on ${x.takenOverOn} after ${x.refusals} refusals: answered at ${x.answeredMs} ms, publisher connected at ${x.takeoverMs} ms, media again at ${x.viewerMediaMs.join(' / ')} ms`,
        );
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        rounds.push({
          killed: nodes[r % nodes.length]!.id,
          takenOverOn: '',
          refusals: 0,
          answeredMs: NaN,
          takeoverMs: NaN,
          viewerMediaMs: [],
          mediaMs: NaN,
          error: message,
        });
        options.log(`nodes failover ${r + 1} FAILED: ${message}`);
      }
      await sleep(3000);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.server.stop()));
    await scratch.drop();
  }
  if (!relay) throw new Error('the relay measurement did not finish');
  const done = rounds.filter((x) => !x.error);
  const joins =
    options.joins &&
    (await runJoins({
      ...options.joins,
      postgresUrl: options.postgresUrl,
      serverRoot: options.serverRoot,
      log: options.log,
    }));
  const pick = (key: 'answeredMs' | 'takeoverMs' | 'mediaMs', p: number) =>
    percentile(
      done.map((x) => x[key]),
      p,
    );
  const { repeats, windowMs, kills } = options;
  return {
    settings: { repeats, windowMs, kills, joins: options.joins },
    relay,
    failover: {
      rounds,
      summary: {
        answeredMs: spread(done.map((x) => x.answeredMs)),
        takeoverMs: spread(done.map((x) => x.takeoverMs)),
        mediaMs: spread(done.map((x) => x.mediaMs)),
        takeoverToMediaMs: spread(done.map((x) => x.mediaMs - x.takeoverMs)),
      },
      p50: {
        answeredMs: pick('answeredMs', 0.5),
        takeoverMs: pick('takeoverMs', 0.5),
        mediaMs: pick('mediaMs', 0.5),
      },
      p95: {
        answeredMs: pick('answeredMs', 0.95),
        takeoverMs: pick('takeoverMs', 0.95),
        mediaMs: pick('mediaMs', 0.95),
      },
    },
    ...(joins ? { joins } : {}),
    loadAverage: { start: loadStart, end: os.loadavg().map((x) => round(x, 2)) },
  };
}
