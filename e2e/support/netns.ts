import { execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromiumPath, launchChromium, type BrowserSession, type LaunchOptions } from './chromium';

/**
 * A network namespace joined to the host by a veth pair, whose downlink (host → namespace) can be
 * shaped with tc: a viewer on a slow link, for real, on this machine.
 *
 *   host:      <hostVeth>  10.77.N.1/30   (the server listens here, or on 0.0.0.0)
 *   namespace: <nsVeth>    10.77.N.2/30   (and lo), where Chromium runs
 *
 * Shaping the egress of the host-side veth shapes everything the namespace receives. Where the
 * kernel has no netem, a third namespace without addresses sits between the two and delays
 * frames towards the viewer (link-delay.py).
 */

/** Every namespace this harness creates is named `<prefix><owner pid>-<random>`. */
const prefix = 'onair-';

const run = (command: string, args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile(command, args, { encoding: 'utf8' }, (error, stdout, stderr) =>
      error
        ? reject(new Error(`${command} ${args.join(' ')}: ${stderr.trim() || error.message}`))
        : resolve(stdout),
    ),
  );
const ip = (...args: string[]) => run('ip', args);
const tc = (...args: string[]) => run('tc', args);

export interface LinkLimit {
  /** Bottleneck rate of the downlink. */
  rateKbit: number;
  /** One-way delay added to the downlink (the round trip grows by as much). */
  delayMs?: number;
  /** Random loss on the downlink, in percent. */
  lossPercent?: number;
  /** Every UDP datagram to the namespace is dropped (a network that allows only TCP). */
  blockUdp?: boolean;
  /**
   * How much the bottleneck may queue, as time at its rate (default 200 ms); beyond it packets
   * are dropped at the tail.
   */
  queueMs?: number;
}

export interface NetNs {
  name: string;
  /** The host's address on the link: where the namespace reaches the host's servers. */
  hostAddress: string;
  /** The namespace's own address. */
  nsAddress: string;
  hostVeth: string;
  /**
   * Shapes the downlink; replaces any earlier limit. Delay comes from netem where the kernel has
   * it, else from a bridge in a namespace between host and viewer (link-delay.py, with python3);
   * with neither, the rate and loss are applied and `delayApplied` is false.
   */
  limit(limit: LinkLimit): Promise<{ delayApplied: boolean }>;
  /** Counters of the current limit's queues. */
  counters(): Promise<LinkCounters>;
  /** Removes every limit from the downlink. */
  unlimit(): Promise<void>;
  /** The qdiscs on the downlink as tc reports them, for logs. */
  describe(): Promise<string>;
  /** A fresh Chromium whose every process lives inside the namespace. */
  launchChromium(options?: LaunchOptions): Promise<BrowserSession>;
  /** Deletes the namespace (and with it both veth ends); idempotent. */
  destroy(): Promise<void>;
}

/** Why namespaces cannot be made here (not root, no `ip` or `tc`), or undefined when they can. */
export async function netnsUnavailable(): Promise<string | undefined> {
  if (process.getuid?.() !== 0)
    return 'network namespaces need root (run the suite as root, as CI does)';
  for (const [tool, args] of [
    ['ip', ['netns', 'list']],
    ['tc', ['qdisc', 'show', 'dev', 'lo']],
  ] as const) {
    try {
      await run(tool, [...args]);
    } catch (error) {
      return `${tool} is not usable (Debian package iproute2): ${error instanceof Error ? error.message : String(error)}`;
    }
  }
  return undefined;
}

const alive = (pid: number): boolean => existsSync(`/proc/${pid}`);

/**
 * Deletes the namespaces an earlier run left behind when it crashed: those whose owning process
 * is gone. Processes still inside one (a Chromium of the crashed run) are killed first, or the
 * namespace would live on with them.
 */
export async function removeLeftoverNamespaces(): Promise<string[]> {
  const removed: string[] = [];
  for (const line of (await ip('netns', 'list')).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const owner = new RegExp(`^${prefix}(\\d+)-[0-9a-f]+(-delay)?$`).exec(name)?.[1];
    if (!owner || alive(Number(owner))) continue;
    await killInside(name);
    await ip('netns', 'delete', name).catch(() => undefined);
    removed.push(name);
  }
  return removed;
}

/** Kills the processes left in a namespace (by their ids), or it would outlive its deletion. */
async function killInside(ns: string): Promise<void> {
  const pids = (await ip('netns', 'pids', ns).catch(() => ''))
    .split('\n')
    .map(Number)
    .filter((pid) => pid > 0);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
}

interface DelayBridge {
  setDelay(ms: number): Promise<void>;
  stop(): void;
}

const bridgeScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'link-delay.py');

/**
 * The delay line where the kernel has no netem: link-delay.py in namespace `ns`, holding what
 * arrives on `delayedIn` (from the host) before it leaves by `out` (towards the viewer).
 */
async function startDelayBridge(ns: string, delayedIn: string, out: string): Promise<DelayBridge> {
  const child = spawn('ip', ['netns', 'exec', ns, 'python3', bridgeScript, delayedIn, out, '0'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let waiting: ((line: string) => void) | undefined;
  let buffered = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffered += chunk;
    const complete = buffered.split('\n');
    buffered = complete.pop() ?? '';
    for (const line of complete) {
      if (waiting) waiting(line);
      else lines.push(line);
    }
  });
  const next = (ms: number) =>
    new Promise<string>((resolve, reject) => {
      const queued = lines.shift();
      if (queued !== undefined) return resolve(queued);
      const timer = setTimeout(() => {
        waiting = undefined;
        reject(new Error(`the delay bridge did not answer within ${ms} ms`));
      }, ms);
      waiting = (line) => {
        clearTimeout(timer);
        waiting = undefined;
        resolve(line);
      };
    });
  if ((await next(5000)) !== 'ready') throw new Error('the delay bridge did not start');
  return {
    async setDelay(ms) {
      child.stdin.write(`delay ${ms}\n`);
      await next(2000);
    },
    stop() {
      child.stdin.end();
      child.kill('SIGKILL');
    },
  };
}

/** A /30 of 10.77.0.0/16 that no interface of the host uses yet. */
async function freeSubnet(): Promise<number> {
  const used = new Set(
    [...(await ip('-4', '-o', 'addr', 'show')).matchAll(/inet 10\.77\.(\d+)\./g)].map((m) =>
      Number(m[1]),
    ),
  );
  const free = Array.from({ length: 254 }, (_, i) => i + 1).filter((n) => !used.has(n));
  const pick = free[randomBytes(1)[0]! % Math.max(free.length, 1)];
  if (pick === undefined) throw new Error('no free 10.77.N.0/30 subnet');
  return pick;
}

/** Namespaces not yet destroyed, removed if the process exits without destroying them. */
const live = new Set<string>();
let exitHookInstalled = false;
const installExitHook = () => {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    // Synchronous: nothing asynchronous runs in an exit handler.
    for (const name of live) {
      try {
        execFileSync('ip', ['netns', 'delete', name], { stdio: 'ignore' });
      } catch {
        // Nothing more to do while exiting.
      }
    }
  });
};

/** Classid 1:20, whose leaf queue holds nothing: what is sent there is lost. */
const lossClass = 0x10020;

/**
 * A classic BPF program for cls_bpf that sends a random `percent` of packets to the loss class
 * and lets the rest fall through to the default class. `tc ... bpf bytecode` takes
 * "count,code jt jf k,..." (see bpf_asm); the instructions are:
 *   ld rand                 ; A = a random u32 (ancillary load SKF_AD_OFF + SKF_AD_RANDOM)
 *   jge #threshold, 0, 1    ; A >= threshold: keep it
 *   ret #0                  ; no match: the default class
 *   ret #0x10020            ; classid 1:20
 * netem's `loss` does the same, but netem is not built into every kernel (this machine's lacks
 * it), while htb, bfifo, pfifo and cls_bpf are common.
 */
export function lossBytecode(percent: number): string {
  const loadRandom = 2 ** 32 - 4096 + 56;
  const threshold = Math.round((Math.min(Math.max(percent, 0), 100) / 100) * (2 ** 32 - 1));
  return `4,32 0 0 ${loadRandom},53 0 1 ${threshold},6 0 0 0,6 0 0 ${lossClass}`;
}

/**
 * A classic BPF program for cls_bpf that sends every UDP datagram to the loss class:
 *   ldb [SKF_NET_OFF + 9]   ; A = the IPv4 protocol byte, wherever the network header starts
 *   jeq #17, 0, 1           ; UDP?
 *   ret #0x10020            ; classid 1:20
 *   ret #0                  ; no match: the default class
 */
export function udpBytecode(): string {
  const protocolByte = 2 ** 32 - 0x100000 + 9;
  return `4,48 0 0 ${protocolByte},21 0 1 17,6 0 0 ${lossClass},6 0 0 0`;
}

/** Bytes the bottleneck may hold: `queueMs` at its rate, and never less than two full packets. */
export function queueBytes(limit: LinkLimit): number {
  return Math.max(2 * 1514, Math.ceil((limit.rateKbit * 125 * (limit.queueMs ?? 200)) / 1000));
}

/**
 * The tc commands for a limit on `dev`, in order:
 *   htb root, default class 1:10 at the rate, its leaf a byte-limited FIFO (or netem, for delay);
 *   class 1:20 whose leaf drops everything, and a random filter sending `lossPercent` there.
 *
 * Why a byte-limited queue of about 200 ms: a packet-counted one (netem's `rate` with its default
 * 1000 packets, or pfifo) is half a minute of video at 300 kbit/s, so an overshooting sender
 * would see seconds of queueing and then freezes rather than a bottleneck. About 200 ms is what a
 * sane access link holds: the receiver's delay-based estimate (goog-remb) sees the queue grow by
 * tens of milliseconds well before tail drops, and when the sender overshoots anyway, the excess
 * is dropped within a fraction of a second instead of arriving late.
 */
export function limitCommands(
  dev: string,
  limit: LinkLimit,
  options: { netem: boolean },
): string[][] {
  const queue = queueBytes(limit);
  const delayMs = limit.delayMs ?? 0;
  // At least one full packet per bucket, and a timer tick's worth (HZ can be as low as 100).
  const burst = Math.max(3000, Math.ceil((limit.rateKbit * 125) / 100));
  const leaf =
    options.netem && delayMs > 0
      ? // netem counts packets: the queue's bytes plus the delay line's, in 1,000-byte packets.
        [
          'netem',
          'delay',
          `${delayMs}ms`,
          'limit',
          String(Math.ceil((queue + (limit.rateKbit * 125 * delayMs) / 1000) / 1000) + 2),
        ]
      : ['bfifo', 'limit', String(queue)];
  const loss = limit.lossPercent ?? 0;
  const dropping = loss > 0 || limit.blockUdp === true;
  const filter = (prio: string, bytecode: string) => [
    'filter',
    'replace',
    'dev',
    dev,
    'parent',
    '1:',
    'protocol',
    'all',
    'prio',
    prio,
    'handle',
    prio,
    'bpf',
    'bytecode',
    bytecode,
  ];
  return [
    ['qdisc', 'replace', 'dev', dev, 'root', 'handle', '1:', 'htb', 'default', '10', 'r2q', '1'],
    [
      'class',
      'replace',
      'dev',
      dev,
      'parent',
      '1:',
      'classid',
      '1:10',
      'htb',
      'rate',
      `${limit.rateKbit}kbit`,
      'ceil',
      `${limit.rateKbit}kbit`,
      'burst',
      String(burst),
      'cburst',
      String(burst),
      'quantum',
      '1514',
    ],
    ['qdisc', 'replace', 'dev', dev, 'parent', '1:10', 'handle', '10:', ...leaf],
    ...(dropping
      ? [
          [
            'class',
            'replace',
            'dev',
            dev,
            'parent',
            '1:',
            'classid',
            '1:20',
            'htb',
            'rate',
            '8bit',
            'ceil',
            '8bit',
            'quantum',
            '1514',
          ],
          [
            'qdisc',
            'replace',
            'dev',
            dev,
            'parent',
            '1:20',
            'handle',
            '20:',
            'pfifo',
            'limit',
            '0',
          ],
          ...(loss > 0 ? [filter('1', lossBytecode(loss))] : []),
          ...(limit.blockUdp ? [filter('2', udpBytecode())] : []),
        ]
      : []),
  ];
}

/** What the downlink's queues did since the limit was set, from `tc -s`. */
export interface LinkCounters {
  /** Packets delivered through the bottleneck. */
  sentPackets: number;
  /** Packets the bottleneck's queue dropped (overflow). */
  queueDrops: number;
  /** Packets the random loss took. */
  lossDrops: number;
}

/** Reads a leaf's counters from `tc -s qdisc show` output. */
export function parseQdiscCounters(
  text: string,
  handle: string,
): { sent: number; dropped: number } {
  const block = text
    .split(/\n(?=qdisc )/)
    .find((b) => b.startsWith(`qdisc `) && b.includes(` ${handle} `));
  const match = /Sent \d+ bytes (\d+) pkt \(dropped (\d+)/.exec(block ?? '');
  return { sent: Number(match?.[1] ?? 0), dropped: Number(match?.[2] ?? 0) };
}

/**
 * Creates a namespace linked to the host; the caller destroys it (in a `finally` or `afterAll`).
 * Leftovers of crashed earlier runs are removed first.
 */
export async function createNetNs(): Promise<NetNs> {
  await removeLeftoverNamespaces();
  const id = randomBytes(3).toString('hex');
  const name = `${prefix}${process.pid}-${id}`;
  // Where the delay bridge runs, when there is one: a namespace with no address, so its kernel
  // neither answers nor routes what crosses it.
  const middle = `${name}-delay`;
  // Interface names are at most 15 characters.
  const hostVeth = `oa${id}h`;
  const outerVeth = `oa${id}o`;
  const subnet = await freeSubnet();
  const hostAddress = `10.77.${subnet}.1`;
  const nsAddress = `10.77.${subnet}.2`;
  const scratch = await mkdtemp(path.join(os.tmpdir(), 'onair-netns-'));
  let destroyed = false;
  let nsVeth = outerVeth;
  let netem = false;
  let bridge: DelayBridge | undefined;

  await ip('netns', 'add', name);
  live.add(name);
  installExitHook();
  try {
    await ip('link', 'add', hostVeth, 'type', 'veth', 'peer', 'name', outerVeth);
    // No segmentation offload towards the namespace: TCP would otherwise hand the shaper 64 KB
    // super-packets, which a queue of a few hundred milliseconds at 300 kbit/s cannot hold, and
    // the rate would collapse to a fraction of the limit.
    await ip('link', 'set', 'dev', hostVeth, 'gso_max_segs', '1', 'gso_max_size', '1514');
    netem = await tc('qdisc', 'add', 'dev', hostVeth, 'root', 'netem').then(
      async () => {
        await tc('qdisc', 'del', 'dev', hostVeth, 'root');
        return true;
      },
      () => false,
    );
    if (
      !netem &&
      (await run('python3', ['--version']).then(
        () => true,
        () => false,
      ))
    ) {
      // host ─ hostVeth ═ outerVeth ─[bridge, delaying]─ middleVeth ═ nsVeth ─ namespace
      nsVeth = `oa${id}n`;
      const middleVeth = `oa${id}m`;
      await ip('netns', 'add', middle);
      live.add(middle);
      await ip('link', 'set', outerVeth, 'netns', middle);
      await ip('-n', middle, 'link', 'add', middleVeth, 'type', 'veth', 'peer', 'name', nsVeth);
      await ip('-n', middle, 'link', 'set', nsVeth, 'netns', name);
      for (const dev of [outerVeth, middleVeth]) await ip('-n', middle, 'link', 'set', dev, 'up');
      bridge = await startDelayBridge(middle, outerVeth, middleVeth);
    } else await ip('link', 'set', outerVeth, 'netns', name);
    await ip('addr', 'add', `${hostAddress}/30`, 'dev', hostVeth);
    await ip('link', 'set', hostVeth, 'up');
    await ip('-n', name, 'addr', 'add', `${nsAddress}/30`, 'dev', nsVeth);
    await ip('-n', name, 'link', 'set', nsVeth, 'up');
    await ip('-n', name, 'link', 'set', 'lo', 'up');
    await ip('-n', name, 'route', 'add', 'default', 'via', hostAddress);
  } catch (error) {
    bridge?.stop();
    for (const ns of [name, middle]) {
      await ip('netns', 'delete', ns).catch(() => undefined);
      live.delete(ns);
    }
    await ip('link', 'delete', hostVeth).catch(() => undefined);
    await rm(scratch, { recursive: true, force: true });
    throw error;
  }

  // Playwright starts the browser through this and speaks to it over inherited pipes, which
  // `ip netns exec` passes on.
  const wrapper = path.join(scratch, 'chromium-in-netns');
  await writeFile(
    wrapper,
    `#!/bin/sh\nexec ip netns exec ${name} ${JSON.stringify(chromiumPath)} "$@"\n`,
  );
  await chmod(wrapper, 0o755);

  const unlimit = async (): Promise<void> => {
    await bridge?.setDelay(0);
    await tc('qdisc', 'del', 'dev', hostVeth, 'root').catch((error: unknown) => {
      // Nothing to delete is not a failure.
      if (!/No such file|Cannot delete qdisc with handle of zero/i.test(String(error))) throw error;
    });
  };

  return {
    name,
    hostAddress,
    nsAddress,
    hostVeth,
    async limit(limit) {
      // A fresh tree each time: counters start again and no class of an earlier limit stays.
      await unlimit();
      for (const command of limitCommands(hostVeth, limit, { netem })) await tc(...command);
      if (bridge) await bridge.setDelay(limit.delayMs ?? 0);
      return { delayApplied: netem || bridge !== undefined || !limit.delayMs };
    },
    async counters() {
      const text = await tc('-s', 'qdisc', 'show', 'dev', hostVeth);
      const leaf = parseQdiscCounters(text, '10:');
      return {
        sentPackets: leaf.sent,
        queueDrops: leaf.dropped,
        lossDrops: parseQdiscCounters(text, '20:').dropped,
      };
    },
    unlimit,
    describe: () => tc('-s', 'qdisc', 'show', 'dev', hostVeth),
    launchChromium: (options = {}) =>
      launchChromium({
        ...options,
        executablePath: wrapper,
        extraArgs: [
          ...(options.extraArgs ?? []),
          // Pages from the host's veth address are not potentially trustworthy origins, but the
          // app needs a secure context (as it has on localhost or behind TLS).
          `--unsafely-treat-insecure-origin-as-secure=http://${hostAddress}`,
        ],
      }),
    async destroy() {
      if (destroyed) return;
      destroyed = true;
      bridge?.stop();
      for (const ns of [name, middle]) {
        await killInside(ns);
        await ip('netns', 'delete', ns).catch(() => undefined);
        live.delete(ns);
      }
      // The host end goes with its peer; this only matters if the peer never moved.
      await ip('link', 'delete', hostVeth).catch(() => undefined);
      await rm(scratch, { recursive: true, force: true });
    },
  };
}

/**
 * A page inside the namespace on a small HTTP server of the host's veth address (a blob at
 * `/blob?bytes=n`, an empty answer elsewhere), for measuring the link as the browser sees it.
 */
async function withProbePage<T>(
  netns: NetNs,
  session: BrowserSession,
  measure: (page: Page) => Promise<T>,
): Promise<T> {
  const server = createServer((req, res) => {
    const bytes = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes') ?? 0);
    res.writeHead(200, {
      'content-type': bytes ? 'application/octet-stream' : 'text/html',
      'cache-control': 'no-store',
    });
    res.end(bytes ? randomBytes(bytes) : '<!doctype html><title>probe</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, netns.hostAddress, resolve));
  const { port } = server.address() as AddressInfo;
  const page = await session.context.newPage();
  try {
    await page.goto(`http://${netns.hostAddress}:${port}/`);
    return await measure(page);
  } finally {
    await page.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
}

/**
 * The downlink's rate as a page inside the namespace sees it: a blob from the host, timed from
 * its first byte to its last (so connection set-up and the bucket's initial burst are left out).
 */
export function measureDownlinkKbit(
  netns: NetNs,
  session: BrowserSession,
  bytes = 200_000,
): Promise<number> {
  return withProbePage(netns, session, async (page) => {
    const { received, ms } = await page.evaluate(async (n) => {
      const res = await fetch(`/blob?bytes=${n}`);
      const reader = res.body!.getReader();
      let first = -1;
      let last = 0;
      let afterFirst = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        const now = performance.now();
        if (first < 0) first = now;
        else afterFirst += value.byteLength;
        last = now;
      }
      return { received: afterFirst, ms: last - first };
    }, bytes);
    return (received * 8) / ms;
  });
}

/** The median of seven small requests' round trips from a page inside the namespace, in ms. */
export function measureRoundTripMs(netns: NetNs, session: BrowserSession): Promise<number> {
  return withProbePage(netns, session, (page) =>
    page.evaluate(async () => {
      const times: number[] = [];
      // The first request opens the connection; the others reuse it, one round trip each.
      for (let i = 0; i < 8; i += 1) {
        const start = performance.now();
        await (await fetch(`/ping?${i}`)).text();
        if (i > 0) times.push(performance.now() - start);
      }
      return times.sort((a, b) => a - b)[3]!;
    }),
  );
}
