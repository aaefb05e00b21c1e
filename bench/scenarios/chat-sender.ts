/**
 * The sending process of the chat scenario: signed-in sockets (one per user) in one stream's room,
 * sending comments on a fixed schedule, open loop: comment `seq` is due at `start + seq / rate`
 * and goes out then, from sender `seq mod senders`, whether or not earlier ones have arrived or
 * been acknowledged. Each carries its due time in its text, so a server that falls behind shows
 * as latency rather than as a slower schedule. Acknowledgements are only counted.
 *
 * Args: <baseUrl> <streamId> <tokens JSON>. Messages: send {run, rate, seconds} → sent; close.
 */
import { stampText } from '../lib/chat-stamp';
import { serveParent } from '../lib/ipc';
import { connectWire, type WireSocket } from '../lib/socketio-wire';

const [baseUrl, streamId, tokensJson] = process.argv.slice(2) as [string, string, string];
const tokens = JSON.parse(tokensJson) as string[];
const ackTimeoutMs = 10_000;

let senders: WireSocket[] = [];

type SendReport = {
  type: 'sent';
  scheduled: number;
  /** Sequence numbers the server acknowledged with ok, and those it refused. */
  okSeqs: number[];
  refusedSeqs: number[];
  /** Refusals by error code, and acknowledgements that never came. */
  refused: Record<string, number>;
  ackTimeouts: number;
  /** The latest any comment went out after its due time: the schedule's own error. */
  maxLagMs: number;
  /** From the first due time to the last send. */
  sendingMs: number;
};

function send(run: number, rate: number, seconds: number): Promise<SendReport> {
  const total = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const start = Date.now() + 100;
  const okSeqs: number[] = [];
  const refusedSeqs: number[] = [];
  const refused: Record<string, number> = {};
  let ackTimeouts = 0;
  let maxLagMs = 0;
  let next = 0;
  let lastSentAt = start;
  const acks: Promise<void>[] = [];

  const sendOne = (seq: number, dueMs: number) => {
    const sender = senders[seq % senders.length]!;
    const comment = stampText(run, seq, dueMs);
    acks.push(
      sender.emitWithAck('live_comment', { streamId, comment }, ackTimeoutMs).then(
        (reply) => {
          const r = reply as { ok: boolean; error?: { code: string } };
          if (r.ok) {
            okSeqs.push(seq);
            return;
          }
          refusedSeqs.push(seq);
          const code = r.error?.code ?? 'unknown';
          refused[code] = (refused[code] ?? 0) + 1;
        },
        () => {
          ackTimeouts += 1;
        },
      ),
    );
  };

  return new Promise((resolve) => {
    const tick = () => {
      const now = Date.now();
      // Everything due by now goes out, late ones included: a late timer delays, never drops.
      while (next < total && start + Math.round(next * intervalMs) <= now) {
        const due = start + Math.round(next * intervalMs);
        maxLagMs = Math.max(maxLagMs, now - due);
        sendOne(next, due);
        lastSentAt = now;
        next += 1;
      }
      if (next < total) {
        setTimeout(tick, Math.max(0, start + Math.round(next * intervalMs) - Date.now()));
        return;
      }
      void Promise.all(acks).then(() =>
        resolve({
          type: 'sent',
          scheduled: total,
          okSeqs: okSeqs.sort((a, b) => a - b),
          refusedSeqs,
          refused,
          ackTimeouts,
          maxLagMs,
          sendingMs: lastSentAt - start,
        }),
      );
    };
    setTimeout(tick, start - Date.now());
  });
}

async function main(): Promise<void> {
  senders = await Promise.all(
    tokens.map(async (token) => {
      const socket = await connectWire(baseUrl, { token });
      const reply = (await socket.emitWithAck('join_live', { streamId }, 30_000)) as {
        ok: boolean;
        error?: unknown;
      };
      if (!reply.ok) throw new Error(`sender join_live refused: ${JSON.stringify(reply.error)}`);
      return socket;
    }),
  );
  serveParent({
    send: (m) => send(Number(m.run), Number(m.rate), Number(m.seconds)),
    close: () => {
      for (const socket of senders) socket.terminate();
      process.exit(0);
    },
  });
  process.send!({ type: 'ready', senders: senders.length });
}

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
