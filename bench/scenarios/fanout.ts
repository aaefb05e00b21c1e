import { percentile } from '../lib/stats';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  FixturePublisher,
  RecordingViewer,
  connected,
  fingerprint,
} from '../../server/test/support/loopback-peers';
import { cpuMeter, rssBytes } from '../lib/proc';
import { post, registerUser, type ServerProcess } from '../lib/server-process';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface FanoutRow {
  viewers: number;
  serverCpuPct: number;
  loadCpuPct: number;
  forwardedPps: number;
  cpuUsPerPacket: number;
  lossPct: number;
  delayP50Ms: number;
  delayP99Ms: number;
  serverRssMB: number;
  rssPerViewerKB: number;
}

interface Worker {
  child: ChildProcess;
  request<T>(type: string, reply: string): Promise<T>;
}

function startWorker(url: string, streamId: string, token: string, count: number): Promise<Worker> {
  const child = fork(path.join(here, 'fanout-worker.ts'), [url, streamId, token, String(count)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const request = <T>(type: string, reply: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: any) => {
        if (m.type === reply) {
          child.off('message', onMessage);
          resolve(m as T);
        } else if (m.type === 'error') reject(new Error(m.message));
      };
      child.on('message', onMessage);
      child.send({ type });
    });
  return new Promise((resolve, reject) => {
    child.on('message', (m: any) => {
      if (m.type === 'ready') resolve({ child, request });
      if (m.type === 'error') reject(new Error(m.message));
    });
    child.once('exit', (code) => code && reject(new Error(`worker exited ${code}`)));
  });
}

/** A viewer in this process that decrypts everything, to time packets from publisher to viewer. */
class ProbeViewer extends RecordingViewer {
  readonly delays: number[] = [];
  constructor(private readonly publisher: FixturePublisher) {
    super();
    this.pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((packet) => {
        const sentAt = this.publisher.sentAt.get(fingerprint(track.kind, packet.payload));
        if (sentAt !== undefined) this.delays.push(performance.now() - sentAt);
      });
    });
  }
}

/**
 * One publisher replaying real VP8 + Opus at ~1.5 Mbit/s; viewers added in steps, each step
 * measured over a window: server CPU from /proc, packets and loss counted by the viewers.
 */
export async function runFanout(
  server: ServerProcess,
  options: { steps: number[]; windowMs: number; log: (line: string) => void },
): Promise<FanoutRow[]> {
  const host = await registerUser(server.url, `bench_host_${Date.now().toString(36)}`);
  const viewer = await registerUser(server.url, `bench_view_${Date.now().toString(36)}`);
  const stream = await post(
    `${server.url}/api/live/start`,
    { title: 'fan-out benchmark' },
    host.token,
  );
  const publisher = new FixturePublisher();
  publisher.recordSendTimes = true;
  const whip = await fetch(`${server.url}/api/live/${stream.streamId}/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${stream.streamKey}` },
    body: await publisher.offer(),
  });
  await publisher.accept(await whip.text());
  publisher.start();

  const probes: ProbeViewer[] = [];
  for (let i = 0; i < 2; i += 1) {
    const probe = new ProbeViewer(publisher);
    const res = await fetch(`${server.url}/api/live/${stream.streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${viewer.token}` },
      body: await probe.offer(),
    });
    await probe.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await connected(probe.pc);
    probes.push(probe);
  }
  await new Promise((r) => setTimeout(r, 2000));
  let firstStep: { viewers: number; rss: number } | undefined;

  const workers: Worker[] = [];
  let viewers = 0;
  const rows: FanoutRow[] = [];
  const perWorker = 100;
  try {
    for (const target of options.steps) {
      while (viewers < target) {
        const add = Math.min(perWorker, target - viewers);
        workers.push(await startWorker(server.url, stream.streamId, viewer.token, add));
        viewers += add;
      }
      await new Promise((r) => setTimeout(r, 2000));
      await Promise.all(workers.map((w) => w.request('reset', 'reset-done')));
      for (const p of probes) p.delays.length = 0;
      const serverCpu = cpuMeter([server.pid]);
      const loadCpu = cpuMeter([process.pid, ...workers.map((w) => w.child.pid!)]);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, options.windowMs));
      const counts = await Promise.all(
        workers.map((w) => w.request<{ received: number; expected: number }>('take', 'counts')),
      );
      const seconds = (performance.now() - t0) / 1000;
      const serverShare = serverCpu();
      const received = counts.reduce((s, c) => s + c.received, 0);
      const expected = counts.reduce((s, c) => s + c.expected, 0);
      const delays = probes.flatMap((p) => p.delays);
      const rss = rssBytes(server.pid);
      const row: FanoutRow = {
        viewers: target,
        serverCpuPct: round(serverShare * 100),
        loadCpuPct: round(loadCpu() * 100),
        forwardedPps: Math.round(received / seconds),
        cpuUsPerPacket: round((serverShare * seconds * 1e6) / Math.max(1, received)),
        lossPct: round(expected ? Math.max(0, (1 - received / expected) * 100) : 100, 3),
        delayP50Ms: round(percentile(delays, 0.5)),
        delayP99Ms: round(percentile(delays, 0.99)),
        serverRssMB: round(rss / 1048576),
        // Growth per added viewer since the first step (RSS before any viewer includes start-up garbage).
        rssPerViewerKB: firstStep
          ? round((rss - firstStep.rss) / 1024 / (target - firstStep.viewers))
          : NaN,
      };
      rows.push(row);
      firstStep ??= { viewers: target, rss };
      options.log(
        `fan-out N=${row.viewers}: server ${row.serverCpuPct}% CPU, ${row.forwardedPps} pkt/s, ${row.cpuUsPerPacket} µs/pkt, loss ${row.lossPct}%, delay p50 ${row.delayP50Ms} ms p99 ${row.delayP99Ms} ms, ${row.rssPerViewerKB} KB/viewer (load generator ${row.loadCpuPct}%)`,
      );
      if (row.lossPct > 0.5 || row.serverCpuPct > 95) break;
    }
  } finally {
    await Promise.all(
      workers.map(
        (w) =>
          new Promise<void>((resolve) => {
            w.child.once('exit', () => resolve());
            w.child.send({ type: 'close' });
            setTimeout(() => {
              w.child.kill('SIGKILL');
              resolve();
            }, 5000);
          }),
      ),
    );
    await Promise.all(probes.map((p) => p.close()));
    await publisher.close();
  }
  return rows;
}

const round = (x: number, digits = 1) =>
  Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : x;
