import { readFileSync, readdirSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU seconds (user + system, all threads) a process has used, from /proc/<pid>/stat; 0 once it is gone. */
export function cpuSeconds(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return 0;
  }
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond;
}

/** Resident memory in bytes, from /proc/<pid>/status; 0 once the process is gone. */
export function rssBytes(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Direct children of a process, from /proc/<pid>/task/<tid>/children (children of every thread). */
function childrenOf(pid: number): number[] {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const tid of tasks) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').trim();
      if (text) found.push(...text.split(/\s+/).map(Number));
    } catch {
      // The thread ended while we looked.
    }
  }
  return found;
}

/** A process and all its descendants (read afresh on every call: workers come and go). */
export function processTree(pid: number): number[] {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const next = queue.shift()!;
    if (all.includes(next)) continue;
    all.push(next);
    queue.push(...childrenOf(next));
  }
  return all;
}

/** RSS of a process and all its descendants, in bytes. */
export function treeRssBytes(pid: number): number {
  return processTree(pid).reduce((sum, p) => sum + rssBytes(p), 0);
}

export interface CpuReading {
  /** CPU seconds used in the window by all the processes together. */
  seconds: number;
  /** Wall-clock seconds of the window. */
  wallSeconds: number;
  /** Share of one core (1 = 100%) used by all the processes together. */
  share: number;
  /** Share of one core used by each process (pid → share), for saturation checks. */
  perProcess: Map<number, number>;
}

/**
 * Measures the CPU of processes over a window: each of `trees` with all its descendants (read at
 * the start and again at the end, so workers forked during the window count from their birth),
 * and each of `singles` alone. A process that exits during the window is not counted at all.
 */
export function cpuMeter(trees: number[], singles: number[] = []): () => CpuReading {
  const pidsNow = () => new Set([...trees.flatMap(processTree), ...singles]);
  const start = new Map<number, number>();
  for (const pid of pidsNow()) start.set(pid, cpuSeconds(pid));
  const t0 = process.hrtime.bigint();
  return () => {
    const wallSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const perProcess = new Map<number, number>();
    let seconds = 0;
    for (const pid of new Set([...start.keys(), ...pidsNow()])) {
      const now = cpuSeconds(pid);
      if (now === 0) continue;
      const used = Math.max(0, now - (start.get(pid) ?? 0));
      seconds += used;
      perProcess.set(pid, used / wallSeconds);
    }
    return { seconds, wallSeconds, share: seconds / wallSeconds, perProcess };
  };
}

/** Share of the whole machine's CPU time that was idle over a window (0..1), from /proc/stat. */
export function idleMeter(): () => number {
  const read = () => {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
    const values = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = (values[3] ?? 0) + (values[4] ?? 0); // idle + iowait
    const total = values.slice(0, 8).reduce((s, v) => s + v, 0); // without guest time
    return { idle, total };
  };
  const a = read();
  return () => {
    const b = read();
    return b.total > a.total ? (b.idle - a.idle) / (b.total - a.total) : NaN;
  };
}

export function machine(): { cores: number; model: string; memoryGiB: number } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const mem = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return { cores, model, memoryGiB: Math.round(Number(mem?.[1] ?? 0) / 1024 / 1024) };
}

/**
 * CPU time a process has run, in seconds with nanosecond resolution: the sum over its threads of
 * /proc/<pid>/task/<tid>/schedstat. /proc/<pid>/stat counts in 10 ms ticks, too coarse for the
 * few milliseconds a light load costs in a window. Threads that ended before the reading are
 * not counted (0 once the process is gone).
 */
export function cpuSecondsFine(pid: number): number {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return 0;
  }
  let ns = 0;
  for (const tid of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended while we looked.
    }
  }
  return ns / 1e9;
}
