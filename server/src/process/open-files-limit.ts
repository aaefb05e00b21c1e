import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A process's `RLIMIT_NOFILE`: every socket, file and pipe it holds takes one. */
export interface OpenFilesLimit {
  soft: number;
  hard: number;
  /** The soft limit before it was raised to the hard one, when it was. */
  raisedFrom?: number;
}

const parseLimit = (text: string): number => (text === 'unlimited' ? Infinity : Number(text));

/** `Max open files` from /proc/<pid>/limits; undefined where there is no /proc (not Linux). */
export async function readOpenFilesLimit(
  pid = process.pid,
): Promise<{ soft: number; hard: number } | undefined> {
  let limits: string;
  try {
    limits = await readFile(`/proc/${pid}/limits`, 'utf8');
  } catch {
    return undefined;
  }
  const match = /^Max open files\s+(\S+)\s+(\S+)/m.exec(limits);
  if (!match?.[1] || !match[2]) return undefined;
  return { soft: parseLimit(match[1]), hard: parseLimit(match[2]) };
}

/**
 * Raises the soft limit on open files to the hard one, which an unprivileged process may do.
 * Node has no `setrlimit`: util-linux's `prlimit` does it from outside, where it is installed.
 * (Node raises its own soft limit once as it starts; this also covers a process whose limit was
 * lowered since, and says what the limit is.) Never throws: without /proc or `prlimit` the limit
 * is what it is.
 */
export async function raiseOpenFilesLimit(pid = process.pid): Promise<OpenFilesLimit | undefined> {
  const before = await readOpenFilesLimit(pid);
  if (!before || before.soft >= before.hard || !Number.isFinite(before.hard)) return before;
  try {
    await run('prlimit', [`--pid=${pid}`, `--nofile=${before.hard}:${before.hard}`], {
      timeout: 5000,
    });
  } catch {
    return before;
  }
  const after = await readOpenFilesLimit(pid);
  if (!after || after.soft <= before.soft) return before;
  return { ...after, raisedFrom: before.soft };
}
