import { readFileSync } from 'node:fs';

const ticksPerSecond = 100; // USER_HZ on Linux

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return (utime + stime) / ticksPerSecond;
}

/** Resident memory in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : 0;
}

/** Measures a process's CPU over a window: returns the share of one core (1 = 100%). */
export function cpuMeter(pids: number[]): () => number {
  const start = pids.map(cpuSeconds);
  const t0 = process.hrtime.bigint();
  return () => {
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const used = pids.reduce((sum, pid, i) => sum + (cpuSeconds(pid) - (start[i] ?? 0)), 0);
    return used / seconds;
  };
}

export function machine(): { cores: number; model: string; memoryGiB: number } {
  const cpuinfo = readFileSync('/proc/cpuinfo', 'utf8');
  const model = /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const mem = /MemTotal:\s+(\d+) kB/.exec(readFileSync('/proc/meminfo', 'utf8'));
  return { cores, model, memoryGiB: Math.round(Number(mem?.[1] ?? 0) / 1024 / 1024) };
}
