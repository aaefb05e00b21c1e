/**
 * The probing process of the abuse scenario: what an ordinary user sees while someone floods.
 * Signed-in sockets in the stream's room take turns posting a comment every `intervalMs` (each
 * stays inside the per-user comment budget), timed from send to ack; `/api/health` is asked every
 * 100 ms, timed from request to answer (a failure or a 2 s timeout counts as failed).
 *
 * Args: <baseUrl> <streamId> <tokens JSON>. Messages: measure {seconds, intervalMs} → measured; close.
 */
import { serveParent } from '../lib/ipc';
import { connectWire, type WireSocket } from '../lib/socketio-wire';

const [baseUrl, streamId, tokensJson] = process.argv.slice(2) as [string, string, string];
const tokens = JSON.parse(tokensJson) as string[];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let probes: WireSocket[] = [];
let closedProbes = 0;

export type ProbeReport = {
  type: 'measured';
  chatMs: number[];
  chatFailures: Record<string, number>;
  healthMs: number[];
  healthFailures: number;
  /** Probe sockets the server has closed so far (over the whole scenario). */
  closedProbes: number;
};

async function measure(seconds: number, intervalMs: number): Promise<ProbeReport> {
  const report: ProbeReport = {
    type: 'measured',
    chatMs: [],
    chatFailures: {},
    healthMs: [],
    healthFailures: 0,
    closedProbes: 0,
  };
  const fail = (code: string) => (report.chatFailures[code] = (report.chatFailures[code] ?? 0) + 1);
  const deadline = Date.now() + seconds * 1000;
  const chat = (async () => {
    const pending: Promise<void>[] = [];
    for (let n = 0; Date.now() < deadline; n += 1) {
      const probe = probes[n % probes.length]!;
      const t0 = performance.now();
      pending.push(
        probe.emitWithAck('live_comment', { streamId, comment: `probe ${n}` }, 10_000).then(
          (reply) => {
            report.chatMs.push(performance.now() - t0);
            const r = reply as { ok: boolean; error?: { code: string } };
            if (!r.ok) fail(r.error?.code ?? 'unknown');
          },
          () => {
            report.chatMs.push(performance.now() - t0);
            fail('no_ack');
          },
        ),
      );
      await sleep(intervalMs);
    }
    await Promise.all(pending);
  })();
  const health = (async () => {
    while (Date.now() < deadline) {
      const t0 = performance.now();
      const ok = await fetch(`${baseUrl}/api/health`, { signal: AbortSignal.timeout(2000) })
        .then(async (res) => {
          await res.arrayBuffer();
          return res.ok;
        })
        .catch(() => false);
      report.healthMs.push(performance.now() - t0);
      if (!ok) report.healthFailures += 1;
      await sleep(100);
    }
  })();
  await Promise.all([chat, health]);
  report.closedProbes = closedProbes;
  return report;
}

async function main(): Promise<void> {
  probes = await Promise.all(
    tokens.map(async (token) => {
      const socket = await connectWire(baseUrl, { token, onClose: () => (closedProbes += 1) });
      const reply = (await socket.emitWithAck('join_live', { streamId }, 30_000)) as {
        ok: boolean;
        error?: unknown;
      };
      if (!reply.ok) throw new Error(`probe join_live refused: ${JSON.stringify(reply.error)}`);
      return socket;
    }),
  );
  serveParent({
    measure: (m) => measure(Number(m.seconds), Number(m.intervalMs)),
    close: () => {
      for (const socket of probes) socket.terminate();
      process.exit(0);
    },
  });
  process.send!({ type: 'ready' });
}

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
