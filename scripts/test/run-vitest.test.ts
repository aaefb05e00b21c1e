/**
 * The test runner's watchdog, on a real Vitest: test files in a temporary directory, one of which
 * spins for ever the first time it runs (as a worker that never reports looks from outside).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const vitestEntry = path.join(root, 'node_modules/vitest/dist/index.js');
const configEntry = path.join(root, 'node_modules/vitest/dist/config.js');

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
});

/** A directory of test files: `passes`, and optionally `stuck` (spins once) and `fails`. */
async function suite(files: { stuck?: boolean; fails?: boolean }): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'onair-watchdog-'));
  dirs.push(dir);
  await writeFile(
    path.join(dir, 'vitest.config.mjs'),
    `import { defineConfig } from ${JSON.stringify(configEntry)};
export default defineConfig({ test: { root: ${JSON.stringify(dir)}, include: ['*.test.mjs'], pool: 'forks', maxWorkers: 2 } });
`,
  );
  const header = `import { expect, it } from ${JSON.stringify(vitestEntry)};\n`;
  await writeFile(
    path.join(dir, 'passes.test.mjs'),
    `${header}it('passes', () => expect(1).toBe(1));\n`,
  );
  if (files.fails)
    await writeFile(
      path.join(dir, 'fails.test.mjs'),
      `${header}it('fails', () => expect(1).toBe(2));\n`,
    );
  if (files.stuck)
    await writeFile(
      path.join(dir, 'stuck.test.mjs'),
      `${header}import { existsSync, writeFileSync } from 'node:fs';
it('spins the first time', () => {
  const mark = ${JSON.stringify(path.join(dir, 'ran-once'))};
  if (!existsSync(mark)) {
    writeFileSync(mark, '');
    for (;;) {}
  }
  expect(1).toBe(1);
});
`,
    );
  return dir;
}

/** Runs the runner on a suite; its exit code and everything it printed. */
function runWatched(dir: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [path.join(root, 'scripts/run-vitest.mjs'), '-c', path.join(dir, 'vitest.config.mjs')],
      // 0.1 min: stopped within about 11 s (the watchdog looks every 5 s).
      { env: { ...process.env, STALL_MINUTES: '0.1', NO_COLOR: '1' }, stdio: 'pipe' },
    );
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('the test runner', () => {
  it('stops a run that stalls, names the file, and runs the unfinished files once more', async () => {
    const dir = await suite({ stuck: true });
    const { code, output } = await runWatched(dir);
    expect(output).toMatch(/Vitest was stuck on \S*stuck\.test\.mjs/);
    expect(output).toMatch(/running the 1 file\(s\) that had not finished once more/);
    expect(existsSync(path.join(dir, 'ran-once'))).toBe(true);
    expect(code).toBe(0);
  }, 60_000);

  it('still fails a run whose other files failed before it stalled', async () => {
    const { code, output } = await runWatched(await suite({ stuck: true, fails: true }));
    expect(output).toMatch(/failed before it stalled: \S*fails\.test\.mjs/);
    expect(code).toBe(1);
  }, 60_000);

  it("changes nothing in a run that does not stall: Vitest's own exit code", async () => {
    const passing = await runWatched(await suite({}));
    expect(passing.code).toBe(0);
    const failing = await runWatched(await suite({ fails: true }));
    expect(failing.code).toBe(1);
    expect(passing.output + failing.output).not.toMatch(/run-vitest:/);
  }, 60_000);
});
