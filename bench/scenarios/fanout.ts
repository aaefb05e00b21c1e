import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { QualityChoice, StreamLayer } from '@onair/protocol';
import {
  FixturePublisher,
  RecordingViewer,
  SimulcastFixturePublisher,
  connected,
  fingerprint,
} from '../../server/test/support/loopback-peers';
import { startWorker, type Worker } from '../lib/ipc';
import { eventLoopWindow, heapFigures } from '../lib/metrics';
import { cpuMeter, idleMeter, processTree, treeRssBytes } from '../lib/proc';
import { saturation, saturationOf } from '../lib/saturation';
import {
  post,
  registerUser,
  registerUsers,
  settleMemory,
  type ServerProcess,
} from '../lib/server-process';
import { linearFit, percentile, round, spread, type Spread } from '../lib/stats';
import { connectWire, type WireSocket } from '../lib/socketio-wire';
import { addCounts, simulcastShortfall } from '../lib/simulcast-counts';
import type { QualityCounts, ViewerType } from '../lib/viewers/types';
import { runUdpFloor, type FloorResult } from './udp-floor';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface FanoutWindow {
  seconds: number;
  serverCpuPct: number;
  serverCpuSeconds: number;
  serverProcesses: number;
  /** RTP packets received by all viewers (probes included) in the window. */
  received: number;
  expected: number;
  forwardedPps: number;
  cpuUsPerPacket: number;
  lossPct: number;
  delayP50Ms: number;
  delayP99Ms: number;
  eventLoopP99Ms: number;
  eventLoopMaxMs: number;
  /** All load-generator processes together, share of one core in %. */
  loadCpuPct: number;
  /** The busiest load-generator process, share of one core in %. */
  loadMaxProcessPct: number;
  machineIdlePct: number;
  /** Why this window cannot be trusted, if it cannot. */
  saturated?: string;
  /** Simulcast: what the load generator's viewers counted, by the quality each asked for. */
  byQuality?: Record<string, QualityCounts>;
  /** Simulcast: viewers per layer (lowest first) as the server last reported them in the window. */
  layerViewers?: number[];
}

export interface FanoutStep {
  viewers: number;
  viewerType: ViewerType;
  connected: number;
  /** Viewers that could not connect even on a second attempt. */
  failedJoins: number;
  /** Viewers whose first attempt failed (closed, DELETEd and tried again). */
  retriedJoins: number;
  joinErrors: string[];
  loadProcesses: number;
  windows: FanoutWindow[];
  valid: boolean;
  invalidReason?: string;
  /** Medians and ranges over the windows. */
  summary: Record<
    | 'serverCpuPct'
    | 'forwardedPps'
    | 'cpuUsPerPacket'
    | 'lossPct'
    | 'delayP50Ms'
    | 'delayP99Ms'
    | 'eventLoopP99Ms'
    | 'loadCpuPct'
    | 'loadMaxProcessPct'
    | 'machineIdlePct',
    Spread
  >;
  /** Memory readings after the step's windows (see memoryReadings), and their medians. */
  memory: MemoryReading[];
  serverRssMB: number;
  serverProcesses: number;
  heapUsedMB: number;
  /** The API process's V8 young generation (committed), part of serverRssMB. */
  youngGenerationMB: number;
  /** Whether the main process collected its garbage before every reading (through its inspector). */
  gcForced: boolean;
  floor?: FloorResult;
  /** Our median µs/pkt over the floor's median µs/pkt. */
  floorRatio?: number;
  /** Simulcast: load-generator viewers by the quality each asked for, over all windows. */
  byQuality?: Record<string, QualityCounts>;
  /** Simulcast: viewers per layer (lowest first) as the server reported them in the last window. */
  layerViewers?: number[];
}

export interface FanoutResult {
  /** Video sections the publisher sends: 1, or 3 for simulcast (each a layer to the server). */
  layers: number;
  /** Simulcast: the qualities viewers ask for, viewer i the (i mod n)th; probes likewise. */
  qualities?: QualityChoice[];
  /** Keyframe requests (PLI) the publisher received over the whole run, per layer. */
  keyframeRequests: number[];
  windowMs: number;
  repeats: number;
  viewerType: ViewerType;
  viewersPerProcess: number;
  probes: number;
  saturation: typeof saturation;
  steps: FanoutStep[];
  stoppedEarly?: string;
  memory: {
    /** Least-squares slope of server RSS (main + children) against connected viewers, over every reading. */
    rssKBPerViewer?: number;
    rssR2?: number;
    /** Same for the heap of the API process (GET /metrics exposes only that process). */
    heapKBPerViewer?: number;
    heapR2?: number;
    points: { viewers: number; rssMB: number; heapUsedMB: number; youngGenerationMB: number }[];
  };
}

/** A viewer in this process that decrypts everything, to time packets from publisher to viewer. */
class ProbeViewer extends RecordingViewer {
  readonly delays: number[] = [];
  packets = 0;
  constructor(private readonly publisher: { sentAt: Map<string, number> }) {
    super();
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet) => {
        this.packets += 1;
        const sentAt = this.publisher.sentAt.get(fingerprint(track.kind, packet.payload));
        if (sentAt !== undefined) this.delays.push(performance.now() - sentAt);
      });
    });
  }

  reset(): void {
    this.delays.length = 0;
    this.packets = 0;
    // The recording base class keeps every sequence number: not needed here.
    this.sequences.audio.length = 0;
    this.sequences.video.length = 0;
    this.payloadIndexes.length = 0;
  }
}

/**
 * Follows what the server says of a stream's layers (`live_layers`, as the host's health panel
 * does): a socket in the stream's room, for the viewers it counts on each layer.
 */
async function watchLayers(
  baseUrl: string,
  streamId: string,
  token: string,
): Promise<{ latest: () => StreamLayer[] | undefined; close: () => void }> {
  let latest: StreamLayer[] | undefined;
  const socket: WireSocket = await connectWire(baseUrl, {
    token,
    onEvent: (frame) => {
      const [name, payload] = JSON.parse(frame.toString('utf8', 2)) as [string, unknown];
      if (name === 'live_layers') latest = (payload as { layers: StreamLayer[] }).layers;
    },
  });
  const reply = (await socket.emitWithAck('join_live', { streamId }, 10_000)) as {
    ok: boolean;
    error?: unknown;
  };
  if (!reply.ok) {
    socket.close();
    throw new Error(`join_live refused: ${JSON.stringify(reply.error)}`);
  }
  return { latest: () => latest, close: () => socket.close() };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => round(bytes / 1048576);

const summaryKeys = [
  'serverCpuPct',
  'forwardedPps',
  'cpuUsPerPacket',
  'lossPct',
  'delayP50Ms',
  'delayP99Ms',
  'eventLoopP99Ms',
  'loadCpuPct',
  'loadMaxProcessPct',
  'machineIdlePct',
] as const;

export interface MemoryReading {
  rssMB: number;
  heapUsedMB: number;
  youngGenerationMB: number;
  serverProcesses: number;
  gcForced: boolean;
}

/**
 * `n` readings of server memory, 2 s apart, each 1 s after the main process collected its
 * garbage: RSS of the server and all its children, and the API process's heap from /metrics.
 * RSS also moves with V8's and the allocator's housekeeping; several readings show by how much.
 */
async function memoryReadings(server: ServerProcess, n: number): Promise<MemoryReading[]> {
  const readings: MemoryReading[] = [];
  for (let i = 0; i < n; i += 1) {
    if (i) await sleep(1000);
    const gcForced = await server.collectGarbage();
    await sleep(1000);
    const heap = await heapFigures(server.url);
    readings.push({
      rssMB: mb(treeRssBytes(server.pid)),
      heapUsedMB: mb(heap.heapUsedBytes),
      youngGenerationMB: mb(heap.youngGenerationBytes),
      serverProcesses: processTree(server.pid).length,
      gcForced,
    });
  }
  return readings;
}

/**
 * One publisher replaying real VP8 + Opus at ~1.5 Mbit/s; viewers added in steps (a ramp), each
 * step measured in `repeats` windows: server CPU (the server process and all its children) from
 * /proc, packets and loss counted by the viewers, delay from two decrypting probe viewers,
 * event-loop delay of the API process from /metrics. Then, for every step, the UDP floor.
 */
export async function runFanout(
  server: ServerProcess,
  options: {
    steps: number[];
    windowMs: number;
    repeats: number;
    viewerType: ViewerType;
    viewersPerProcess?: number;
    floor: boolean;
    /**
     * Simulcast: the publisher sends this many video sections (layers) and viewer i asks for
     * `qualities[i % qualities.length]`; absent, one section and no quality asked for.
     */
    simulcast?: { layers: number; qualities: QualityChoice[] };
    log: (line: string) => void;
  },
): Promise<FanoutResult> {
  const { log, simulcast } = options;
  const name = simulcast ? 'simulcast fan-out' : 'fan-out';
  const qualityOf = (i: number): QualityChoice | undefined =>
    simulcast?.qualities[i % simulcast.qualities.length];
  const perProcess = options.viewersPerProcess ?? (options.viewerType === 'werift' ? 50 : 100);
  const host = await registerUser(server.url, `bench_host_${Date.now().toString(36)}`);
  const probeCount = 2;
  const users = await registerUsers(server.url, 'fv', Math.max(...options.steps) + probeCount);
  const tokens = users.map((u) => u.token);
  const stream = await post(
    `${server.url}/api/live/start`,
    { title: `${name} benchmark` },
    host.token,
  );
  const publisher = simulcast
    ? new SimulcastFixturePublisher(simulcast.layers)
    : new FixturePublisher();
  publisher.recordSendTimes = true;
  const whip = await fetch(`${server.url}/api/live/${stream.streamId}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
    body: await publisher.offer(),
  });
  if (whip.status !== 201) throw new Error(`WHIP ${whip.status} ${await whip.text()}`);
  await publisher.accept(await whip.text());
  publisher.start();

  const probes: ProbeViewer[] = [];
  for (let i = 0; i < probeCount; i += 1) {
    const probe = new ProbeViewer(publisher);
    // Simulcast probes time the lowest and the highest layer.
    const quality = simulcast ? (i === 0 ? 'low' : 'high') : undefined;
    const res = await fetch(
      `${server.url}/api/live/${stream.streamId}/whep${quality ? `?quality=${quality}` : ''}`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${tokens[i]}` },
        body: await probe.offer(),
      },
    );
    if (res.status !== 201) throw new Error(`WHEP ${res.status} ${await res.text()}`);
    await probe.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await connected(probe.pc);
    probes.push(probe);
  }
  const layerWatch = simulcast
    ? await watchLayers(server.url, stream.streamId, host.token)
    : undefined;
  await settleMemory(server);

  const workers: (Worker & {
    connected: number;
    failed: number;
    retried: number;
    errors: string[];
  })[] = [];
  const steps: FanoutStep[] = [];
  let stoppedEarly: string | undefined;
  let viewers = 0;
  try {
    for (const target of options.steps) {
      const joinStarted = performance.now();
      while (viewers < target) {
        const add = Math.min(perProcess, target - viewers);
        const first = probeCount + viewers;
        const qualities = simulcast
          ? [JSON.stringify(Array.from({ length: add }, (_, j) => qualityOf(viewers + j)))]
          : [];
        const w = await startWorker(path.join(here, 'fanout-worker.ts'), [
          server.url,
          stream.streamId,
          JSON.stringify(tokens.slice(first, first + add)),
          options.viewerType,
          ...qualities,
        ]);
        workers.push({
          ...w,
          connected: Number(w.ready.connected),
          failed: Number(w.ready.failed),
          retried: Number(w.ready.retried),
          errors: w.ready.errors as string[],
        });
        viewers += add;
      }
      log(
        `${name} N=${target}: ${workers.reduce((s, w) => s + w.connected, 0)} ${options.viewerType} viewers connected in ${round((performance.now() - joinStarted) / 1000)} s`,
      );
      await sleep(2000);

      const windows: FanoutWindow[] = [];
      for (let r = 0; r < options.repeats; r += 1) {
        await Promise.all(workers.map((w) => w.request({ type: 'reset' }, 'reset-done')));
        for (const p of probes) p.reset();
        const eventLoop = await eventLoopWindow(server.url);
        const serverCpu = cpuMeter([server.pid]);
        const loadCpu = cpuMeter(
          workers.map((w) => w.pid),
          [process.pid],
        );
        const idle = idleMeter();
        await sleep(options.windowMs);
        const counts = await Promise.all(
          workers.map((w) =>
            w.request<{
              type: string;
              received: number;
              expected: number;
              byQuality: Record<string, QualityCounts>;
            }>({ type: 'take' }, 'counts'),
          ),
        );
        const serverReading = serverCpu();
        const loadReading = loadCpu();
        const idleShare = idle();
        const lag = await eventLoop();
        const probeReceived = probes.reduce((s, p) => s + p.packets, 0);
        const received = counts.reduce((s, c) => s + c.received, 0) + probeReceived;
        const expected = counts.reduce((s, c) => s + c.expected, 0) + probeReceived;
        const delays = probes.flatMap((p) => p.delays);
        const seconds = serverReading.wallSeconds;
        const window: FanoutWindow = {
          seconds: round(seconds, 2),
          serverCpuPct: round(serverReading.share * 100),
          serverCpuSeconds: round(serverReading.seconds, 2),
          serverProcesses: serverReading.perProcess.size,
          received,
          expected,
          forwardedPps: Math.round(received / seconds),
          cpuUsPerPacket: round((serverReading.seconds * 1e6) / Math.max(1, received), 2),
          lossPct: round(expected ? Math.max(0, (1 - received / expected) * 100) : 100, 3),
          delayP50Ms: round(percentile(delays, 0.5)),
          delayP99Ms: round(percentile(delays, 0.99)),
          eventLoopP99Ms: round(lag.p99Ms),
          eventLoopMaxMs: round(lag.maxMs),
          loadCpuPct: round(loadReading.share * 100),
          loadMaxProcessPct: round(Math.max(0, ...loadReading.perProcess.values()) * 100),
          machineIdlePct: round(idleShare * 100),
        };
        const why = saturationOf(loadReading, idleShare);
        if (why) window.saturated = why;
        if (simulcast) {
          window.byQuality = {};
          for (const c of counts) addCounts(window.byQuality, c.byQuality, 'processes');
          const layers = layerWatch?.latest();
          if (layers) window.layerViewers = layers.map((l) => l.viewers);
        }
        windows.push(window);
        log(
          `  window ${r + 1}/${options.repeats}: ${window.layerViewers ? `viewers per layer ${window.layerViewers.join('/')}, ` : ''}server ${window.serverCpuPct}% CPU (${window.serverProcesses} processes), ${window.forwardedPps} pkt/s, ${window.cpuUsPerPacket} µs/pkt, loss ${window.lossPct}%, delay p50 ${window.delayP50Ms} / p99 ${window.delayP99Ms} ms, event loop p99 ${window.eventLoopP99Ms} ms; load gen ${window.loadCpuPct}% (busiest process ${window.loadMaxProcessPct}%), machine idle ${window.machineIdlePct}%${why ? ` — SATURATED: ${why}` : ''}`,
        );
      }
      const summary = Object.fromEntries(
        summaryKeys.map((k) => [k, spread(windows.map((w) => w[k]))]),
      ) as FanoutStep['summary'];
      const invalid = windows.filter((w) => w.saturated);
      const memory = await memoryReadings(server, options.repeats);
      const step: FanoutStep = {
        viewers: target,
        viewerType: options.viewerType,
        connected: workers.reduce((s, w) => s + w.connected, 0),
        failedJoins: workers.reduce((s, w) => s + w.failed, 0),
        retriedJoins: workers.reduce((s, w) => s + w.retried, 0),
        joinErrors: workers.flatMap((w) => w.errors).slice(0, 5),
        loadProcesses: workers.length + 1,
        windows,
        valid: invalid.length === 0,
        summary,
        memory,
        serverRssMB: spread(memory.map((m) => m.rssMB)).median,
        serverProcesses: Math.max(...memory.map((m) => m.serverProcesses)),
        heapUsedMB: spread(memory.map((m) => m.heapUsedMB)).median,
        youngGenerationMB: spread(memory.map((m) => m.youngGenerationMB)).median,
        gcForced: memory.every((m) => m.gcForced),
      };
      if (invalid.length)
        step.invalidReason = `${invalid.length} of ${windows.length} windows saturated: ${invalid[0]!.saturated}`;
      if (simulcast) {
        step.byQuality = {};
        for (const w of windows) addCounts(step.byQuality, w.byQuality ?? {}, 'windows');
        const last = windows[windows.length - 1]?.layerViewers;
        if (last) step.layerViewers = last;
        const shortfall = simulcastShortfall(windows, simulcast.layers);
        if (shortfall) {
          step.valid = false;
          step.invalidReason = [step.invalidReason, shortfall].filter(Boolean).join('; ');
        }
      }
      steps.push(step);
      log(
        `${name} N=${target}${step.valid ? '' : ` INVALID (${step.invalidReason})`}: median ${summary.cpuUsPerPacket.median} µs/pkt (${summary.cpuUsPerPacket.min}–${summary.cpuUsPerPacket.max}), loss ${summary.lossPct.median}%, server RSS ${step.serverRssMB} MB in ${step.serverProcesses} processes, API heap ${step.heapUsedMB} MB${step.retriedJoins ? `, ${step.retriedJoins} joins retried` : ''}${step.failedJoins ? `, ${step.failedJoins} failed` : ''}`,
      );
      if (summary.lossPct.median > 5) {
        stoppedEarly = `stopped after ${target} viewers: median loss ${summary.lossPct.median}% (the server cannot keep up; larger steps would say nothing more)`;
        log(stoppedEarly);
        break;
      }
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all(probes.map((p) => p.close()));
    layerWatch?.close();
    await publisher.close();
  }

  if (options.floor) {
    // With the viewers gone and the publisher stopped, the server idles while the floor runs.
    await sleep(2000);
    for (const step of steps) {
      try {
        step.floor = await runUdpFloor({
          receivers: step.viewers,
          windowMs: options.windowMs,
          repeats: options.repeats,
          log,
        });
      } catch (error) {
        log(`UDP floor N=${step.viewers} failed: ${String(error)}`);
        continue;
      }
      const ours = step.summary.cpuUsPerPacket.median;
      const floor = step.floor.summary.cpuUsPerPacket.median;
      if (Number.isFinite(ours) && floor > 0) step.floorRatio = round(ours / floor, 2);
    }
  }

  const points = steps.flatMap((s) =>
    s.memory.map((m) => ({
      viewers: s.connected,
      rssMB: m.rssMB,
      heapUsedMB: m.heapUsedMB,
      youngGenerationMB: m.youngGenerationMB,
    })),
  );
  const rssFit = linearFit(points.map((p) => ({ x: p.viewers, y: p.rssMB })));
  const heapFit = linearFit(points.map((p) => ({ x: p.viewers, y: p.heapUsedMB })));
  const memory: FanoutResult['memory'] = { points };
  if (rssFit) {
    memory.rssKBPerViewer = round(rssFit.slope * 1024);
    memory.rssR2 = round(rssFit.r2, 3);
  }
  if (heapFit) {
    memory.heapKBPerViewer = round(heapFit.slope * 1024);
    memory.heapR2 = round(heapFit.r2, 3);
  }
  if (memory.rssKBPerViewer !== undefined)
    log(
      `memory: server RSS ${memory.rssKBPerViewer} KB/viewer (r² ${memory.rssR2}), API-process heap ${memory.heapKBPerViewer} KB/viewer (r² ${memory.heapR2}), least squares over ${points.length} readings in ${steps.length} steps`,
    );
  const result: FanoutResult = {
    layers: simulcast?.layers ?? 1,
    keyframeRequests:
      publisher instanceof SimulcastFixturePublisher
        ? [...publisher.keyframeRequests]
        : [publisher.keyframeRequests],
    windowMs: options.windowMs,
    repeats: options.repeats,
    viewerType: options.viewerType,
    viewersPerProcess: perProcess,
    probes: probes.length,
    saturation,
    steps,
    memory,
  };
  if (stoppedEarly) result.stoppedEarly = stoppedEarly;
  if (simulcast) result.qualities = simulcast.qualities;
  return result;
}
