/**
 * What the soak watches for leaks: memory, open handles and file descriptors of the server and
 * of each media worker, from /proc and from the server's own /metrics.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { childPids } from '../../server/test/support/entry-point';
import { cpuSeconds, rssBytes } from '../lib/proc';

export interface ProcessFigures {
  pid: number;
  rssMB: number;
  fds: number;
  threads: number;
}

export interface Sample {
  /** Seconds since the soak began. */
  t: number;
  main: ProcessFigures;
  workers: ProcessFigures[];
  /** From /metrics: the main process's V8 heap and libuv handles. */
  heapUsedMB: number;
  activeHandles: number;
  publishers: number;
  subscribers: number;
  viewers: number;
  sockets: number;
  /** Server CPU (main and workers) over the last interval; one core = 100. */
  cpuPct: number;
  /** RTP packets the viewers received per second over the last interval. */
  viewerPps: number;
  viewersConnected: number;
  joins: number;
  retries: number;
  failures: number;
}

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

function figures(pid: number): ProcessFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    pid,
    rssMB: round(rssBytes(pid) / 1048576),
    fds: readdirSync(`/proc/${pid}/fd`).length,
    threads: Number(/Threads:\s+(\d+)/.exec(status)?.[1] ?? 0),
  };
}

/** A value of the Prometheus text format, the first series of that name (NaN when absent). */
export function metric(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
}

const cpuOf = (pid: number) => {
  try {
    return cpuSeconds(pid);
  } catch {
    return 0;
  }
};

/**
 * Samples the server at `pid` (its workers are its children) and `baseUrl`/metrics. Rates are
 * over the time since the previous sample, the first one since this call (`packets` so far).
 */
export function createSampler(pid: number, baseUrl: string, packets: number) {
  const startedAt = Date.now();
  const processes = [pid, ...childPids(pid)];
  let last = { at: startedAt, cpu: new Map(processes.map((p) => [p, cpuOf(p)])), packets };

  return async (viewers: {
    packets: number;
    connected: number;
    joins: number;
    retries: number;
    failures: number;
  }): Promise<Sample> => {
    const workers = childPids(pid);
    const text = await (await fetch(`${baseUrl}/metrics`)).text();
    const now = Date.now();
    const seconds = (now - last.at) / 1000;
    const cpu = new Map([pid, ...workers].map((p) => [p, cpuOf(p)]));
    // A worker started since the last sample counts from zero.
    let used = 0;
    for (const [p, c] of cpu) used += c - (last.cpu.get(p) ?? 0);
    const sample: Sample = {
      t: Math.round((now - startedAt) / 1000),
      main: figures(pid),
      workers: workers.map(figures),
      heapUsedMB: round(metric(text, 'onair_nodejs_heap_size_used_bytes') / 1048576),
      activeHandles: metric(text, 'onair_nodejs_active_handles_total'),
      publishers: metric(text, 'onair_media_publishers'),
      subscribers: metric(text, 'onair_media_subscribers'),
      viewers: metric(text, 'onair_viewers'),
      sockets: metric(text, 'onair_connected_sockets'),
      cpuPct: round((used / seconds) * 100),
      viewerPps: Math.round((viewers.packets - last.packets) / seconds),
      viewersConnected: viewers.connected,
      joins: viewers.joins,
      retries: viewers.retries,
      failures: viewers.failures,
    };
    last = { at: now, cpu, packets: viewers.packets };
    return sample;
  };
}
