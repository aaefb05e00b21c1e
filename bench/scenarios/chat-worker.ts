/**
 * A load-generator process for the chat scenario: `count` Socket.IO viewers in one stream's room.
 * Senders stamp each comment with its send time; every viewer records delivery latency and counts.
 */
import { io, type Socket } from 'socket.io-client';
import { serveParent } from '../lib/ipc';

const [baseUrl, streamId, tokensJson, countText] = process.argv.slice(2);
const tokens = JSON.parse(tokensJson!) as string[];
const count = Number(countText);
const sockets: Socket[] = [];
let latencies: number[] = [];
let received = 0;

async function connectOne(token: string): Promise<Socket> {
  const socket = io(baseUrl!, {
    auth: { token },
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
  });
  socket.on('live_comment_added', (comment: { comment: string }) => {
    received += 1;
    const sentAt = Number(comment.comment.split(' ')[1]);
    if (sentAt) latencies.push(Date.now() - sentAt);
  });
  const res = await socket.timeout(20_000).emitWithAck('join_live', { streamId });
  if (!res.ok) throw new Error(`join failed: ${JSON.stringify(res.error)}`);
  return socket;
}

async function main(): Promise<void> {
  for (let i = 0; i < count; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, count - i) }, (_, j) =>
        connectOne(tokens[(i + j) % tokens.length]!),
      ),
    );
    sockets.push(...batch);
  }
  process.send!({ type: 'ready' });
}

serveParent({
  reset: () => {
    latencies = [];
    received = 0;
    return { type: 'reset-done' };
  },
  // Senders are this worker's first sockets, each sending once a second (within the chat limit).
  send: async (message) => {
    const senders = sockets.slice(0, Number(message.senders ?? 10));
    let sent = 0;
    let refused = 0;
    const until = Date.now() + Number(message.seconds ?? 10) * 1000;
    while (Date.now() < until) {
      const round = Date.now();
      const acks = await Promise.all(
        senders.map((s) =>
          s
            .timeout(10_000)
            .emitWithAck('live_comment', { streamId, comment: `t ${Date.now()}` })
            .catch(() => ({ ok: false })),
        ),
      );
      sent += acks.filter((a: { ok: boolean }) => a.ok).length;
      refused += acks.filter((a: { ok: boolean }) => !a.ok).length;
      await new Promise((r) => setTimeout(r, Math.max(0, 1000 - (Date.now() - round))));
    }
    return { type: 'sent', sent, refused };
  },
  take: () => ({ type: 'counts', received, latencies }),
  close: () => {
    for (const s of sockets) s.close();
    process.exit(0);
  },
});

main().catch((error: unknown) => {
  process.send!({ type: 'error', message: String(error) });
  process.exit(1);
});
