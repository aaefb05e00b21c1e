// `vitest run` with a watchdog: `node scripts/run-vitest.mjs [vitest arguments]`.
//
// Once in about ten runs of the server suites, a Vitest fork worker never loaded the file it was
// given: alive, idle, no timeout of Vitest's own firing, and the run waited for ever. When no
// test has finished for STALL_MINUTES (longer than any test's or hook's own timeout), this says
// which files were stuck, stops that run, and runs the files that had not finished once more.
// A test that failed stays failed: only files that never reported are run again.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const vitest = path.join(root, 'node_modules', '.bin', 'vitest');
const reporter = path.join(root, 'scripts', 'test-progress-reporter.ts');
const stallMs = Number(process.env.STALL_MINUTES ?? 5) * 60_000;
const args = process.argv.slice(2);

/** Runs Vitest; resolves with its exit code, or with what it had reported when it stalled. */
function run(extra) {
  const dir = mkdtempSync(path.join(tmpdir(), 'onair-vitest-'));
  const progress = path.join(dir, 'progress.jsonl');
  const startedAt = Date.now();
  const child = spawn(
    vitest,
    ['run', ...args, '--reporter=default', `--reporter=${reporter}`, ...extra],
    {
      stdio: 'inherit',
      // Its own process group: a stalled run is stopped with every worker it forked.
      detached: true,
      env: { ...process.env, TEST_PROGRESS_FILE: progress },
    },
  );
  const stop = (signal) => {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  const forward = () => stop('SIGTERM');
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    let stalled = false;
    const watchdog = setInterval(() => {
      let last = startedAt;
      try {
        last = Math.max(last, statSync(progress).mtimeMs);
      } catch {
        // Nothing reported yet.
      }
      if (Date.now() - last < stallMs) return;
      stalled = true;
      clearInterval(watchdog);
      stop('SIGKILL');
    }, 5_000);
    child.on('exit', (code, signal) => {
      clearInterval(watchdog);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      let entries = [];
      try {
        entries = readFileSync(progress, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((line) => JSON.parse(line));
      } catch {
        // Nothing reported.
      }
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: code ?? (signal ? 1 : 0), stalled, entries });
    });
  });
}

/** Every test file the arguments select. */
function listFiles() {
  return new Promise((resolve, reject) => {
    const child = spawn(vitest, ['list', '--filesOnly', '--json', ...args], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk) => (out += chunk));
    child.on('exit', (code) =>
      code === 0
        ? resolve(JSON.parse(out).map((entry) => entry.file))
        : reject(new Error(`vitest list exited with ${code}`)),
    );
  });
}

const first = await run([]);
if (!first.stalled) process.exit(first.code);

const ended = new Map(first.entries.filter((e) => e.event === 'end').map((e) => [e.file, e.state]));
const stuck = [
  ...new Set(
    first.entries.filter((e) => e.event === 'start' && !ended.has(e.file)).map((e) => e.file),
  ),
];
const failedBefore = [...ended].filter(([, state]) => state === 'failed').map(([file]) => file);
const unfinished = (await listFiles()).filter((file) => !ended.has(file));
const relative = (file) => path.relative(root, file);
const say = (text) => process.stderr.write(`${text}\n`);
say(
  `\nrun-vitest: no test finished for ${stallMs / 60_000} min; Vitest was stuck on ` +
    `${stuck.map(relative).join(', ') || 'no file it had started'}. ` +
    `Stopped it; running the ${unfinished.length} file(s) that had not finished once more.\n`,
);
if (failedBefore.length > 0)
  say(`run-vitest: failed before it stalled: ${failedBefore.map(relative).join(', ')}\n`);
if (unfinished.length === 0) process.exit(failedBefore.length > 0 ? 1 : 0);
const second = await run(unfinished.map(relative));
if (second.stalled) say('\nrun-vitest: the second run stalled too.\n');
process.exit(failedBefore.length > 0 || second.stalled ? 1 : second.code);
