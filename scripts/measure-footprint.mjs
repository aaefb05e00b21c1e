// Start-up time and idle memory of the server, as a person starting it would see them.
//
//   node scripts/measure-footprint.mjs [--idle=15] [--runs=2] [-- command args...]
//
// Runs the command (default: the compiled server, `node server/dist/main.js`, which `npm run
// build` makes) on a fresh embedded database in a temporary DATA_DIR, times spawn → the "live at"
// line, lets it sit idle, then reads the resident memory (RSS, and PSS: shared pages split between
// the processes that share them) of every process in its tree from /proc. Run 1 creates the
// database; later runs reopen it, as every start after the first does. Linux only.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const flags = Object.fromEntries(
  (dash === -1 ? argv : argv.slice(0, dash)).map((a) => {
    const [k, v] = a.replace(/^--/, '').split('=');
    return [k, v ?? 'true'];
  }),
);
const command = dash === -1 ? [process.execPath, 'server/dist/main.js'] : argv.slice(dash + 1);
const idleSeconds = Number(flags.idle ?? 15);
const runs = Number(flags.runs ?? 2);

const print = (line) => process.stdout.write(`${line}\n`);
const MB = 1024 * 1024;
const mb = (bytes) => `${(bytes / MB).toFixed(0)} MB`;

async function status(pid) {
  try {
    const text = await readFile(`/proc/${pid}/status`, 'utf8');
    const field = (name) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
    const ppid = field('PPid');
    const rss = field('VmRSS') * 1024;
    const rollup = await readFile(`/proc/${pid}/smaps_rollup`, 'utf8').catch(() => '');
    const pss = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0) * 1024;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter(Boolean);
    return { pid, ppid, rss, pss, cmdline };
  } catch {
    return undefined;
  }
}

async function tree(root) {
  const all = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = await status(Number(name));
    if (s) all.push(s);
  }
  const found = all.filter((p) => p.pid === root);
  for (let i = 0; i < found.length; i += 1)
    for (const p of all) if (p.ppid === found[i].pid) found.push(p);
  return found;
}

const role = (p) => {
  const [program = '', ...args] = p.cmdline;
  const line = p.cmdline.join(' ');
  if (/(^|\/)(ba|da)?sh$/.test(program)) return 'shell';
  if ([program, args[0]].some((a) => /(^|\/)npm(-cli\.js)?$/.test(a ?? ''))) return 'npm';
  if (/worker-main\.(ts|js)/.test(line)) return 'media worker';
  if (/create-database\.(ts|js)/.test(line)) return 'database creation';
  if (/tsx\/dist\/cli|\.bin\/tsx/.test(line)) return 'tsx launcher';
  if (/main\.(ts|js)/.test(line)) return 'main';
  if (/esbuild/.test(program)) return 'esbuild (tsx)';
  return line.slice(0, 40);
};

async function once(dataDir, run) {
  const started = performance.now();
  const child = spawn(command[0], command.slice(1), {
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk.toString();
      const match = /live at (http:\/\/\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`exited ${code} before it was live: ${out}`)));
  });
  const startupMs = performance.now() - started;
  const health = await fetch(`${url}/api/health`).then((r) => r.status);
  await sleep(idleSeconds * 1000);
  const processes = await tree(child.pid);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid, 'SIGTERM');
  const code = await exited;

  print(
    `run ${run} (${run === 1 ? 'new database' : 'existing database'}): live in ${startupMs.toFixed(0)} ms, health ${health}, exit ${code}`,
  );
  let rss = 0;
  let pss = 0;
  let serverRss = 0;
  let serverPss = 0;
  for (const p of processes) {
    const name = role(p);
    print(
      `  ${name.padEnd(14)} pid ${String(p.pid).padEnd(8)} RSS ${mb(p.rss).padStart(7)}  PSS ${mb(p.pss).padStart(7)}`,
    );
    rss += p.rss;
    pss += p.pss;
    if (name === 'main' || name === 'media worker') {
      serverRss += p.rss;
      serverPss += p.pss;
    }
  }
  print(`  server (main + workers): RSS ${mb(serverRss)}, PSS ${mb(serverPss)}`);
  print(`  whole tree:              RSS ${mb(rss)}, PSS ${mb(pss)}`);
  return { startupMs, serverRss, serverPss };
}

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-footprint-'));
try {
  print(`$ ${command.join(' ')}  (idle ${idleSeconds} s before measuring)`);
  const results = [];
  for (let run = 1; run <= runs; run += 1) results.push(await once(dataDir, run));
  if (results.length > 2) {
    const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
    const reopened = results.slice(1);
    print(
      `median of runs 2-${runs}: live in ${median(reopened.map((r) => r.startupMs)).toFixed(0)} ms, server RSS ${mb(median(reopened.map((r) => r.serverRss)))}, PSS ${mb(median(reopened.map((r) => r.serverPss)))}`,
    );
  }
} finally {
  await rm(dataDir, { recursive: true, force: true });
}
