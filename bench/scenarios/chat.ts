import { percentile } from '../lib/stats';
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cpuMeter, treeRssBytes } from '../lib/proc';
import { post, registerUser, settleMemory, type ServerProcess } from '../lib/server-process';

const here = path.dirname(fileURLToPath(import.meta.url));

export interface ChatRow {
  sockets: number;
  commentsSent: number;
  expectedDeliveries: number;
  delivered: number;
  lost: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  serverCpuPct: number;
  loadCpuPct: number;
  rssPerSocketKB: number;
}

function request<T>(child: ChildProcess, message: object, reply: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (m: any) => {
      if (m.type === reply) {
        child.off('message', onMessage);
        resolve(m as T);
      } else if (m.type === 'error') reject(new Error(m.message));
    };
    child.on('message', onMessage);
    child.send(message);
  });
}

/** N Socket.IO viewers in one room over several processes; 10 senders, 10 comments a second. */
export async function runChat(
  server: ServerProcess,
  options: { sizes: number[]; seconds: number; log: (line: string) => void },
): Promise<ChatRow[]> {
  const suffix = Date.now().toString(36);
  const host = await registerUser(server.url, `bench_chat_${suffix}`);
  const users = await Promise.all(
    Array.from({ length: 20 }, (_, i) => registerUser(server.url, `bench_c${i}_${suffix}`)),
  );
  const tokens = users.map((u) => u.token);
  const rows: ChatRow[] = [];
  await settleMemory(server);
  for (const size of options.sizes) {
    const stream = await post(
      `${server.url}/api/live/start`,
      { title: `chat ${size}` },
      host.token,
    );
    const perWorker = 500;
    await server.collectGarbage();
    const rssBefore = treeRssBytes(server.pid);
    const children: ChildProcess[] = [];
    try {
      for (let i = 0; i < size; i += perWorker) {
        const child = fork(
          path.join(here, 'chat-worker.ts'),
          [
            server.url,
            stream.streamId,
            JSON.stringify(tokens),
            String(Math.min(perWorker, size - i)),
          ],
          {
            execArgv: ['--import', 'tsx'],
            stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
          },
        );
        children.push(child);
        await new Promise<void>((resolve, reject) => {
          child.on('message', (m: any) =>
            m.type === 'ready' ? resolve() : m.type === 'error' && reject(new Error(m.message)),
          );
        });
      }
      await server.collectGarbage();
      const rssAfter = treeRssBytes(server.pid);
      await Promise.all(children.map((c) => request(c, { type: 'reset' }, 'reset-done')));
      const serverCpu = cpuMeter([server.pid]);
      const loadCpu = cpuMeter(
        children.map((c) => c.pid!),
        [process.pid],
      );
      const { sent } = await request<{ sent: number }>(
        children[0]!,
        { type: 'send', seconds: options.seconds, senders: 10 },
        'sent',
      );
      await new Promise((r) => setTimeout(r, 2000));
      const serverShare = serverCpu().share;
      const loadShare = loadCpu().share;
      const counts = await Promise.all(
        children.map((c) =>
          request<{ received: number; latencies: number[] }>(c, { type: 'take' }, 'counts'),
        ),
      );
      const delivered = counts.reduce((s, c) => s + c.received, 0);
      const latencies = counts.flatMap((c) => c.latencies);
      const row: ChatRow = {
        sockets: size,
        commentsSent: sent,
        expectedDeliveries: sent * size,
        delivered,
        lost: sent * size - delivered,
        latencyP50Ms: percentile(latencies, 0.5),
        latencyP99Ms: percentile(latencies, 0.99),
        serverCpuPct: Math.round(serverShare * 1000) / 10,
        loadCpuPct: Math.round(loadShare * 1000) / 10,
        // Both readings follow a collection; a negative difference would still say nothing.
        rssPerSocketKB:
          rssAfter > rssBefore ? Math.round((rssAfter - rssBefore) / 1024 / size) : NaN,
      };
      rows.push(row);
      options.log(
        `chat N=${size}: ${sent} comments, ${delivered}/${row.expectedDeliveries} delivered (lost ${row.lost}), latency p50 ${row.latencyP50Ms} ms p99 ${row.latencyP99Ms} ms, server ${row.serverCpuPct}% CPU, ${row.rssPerSocketKB} KB/socket (load generator ${row.loadCpuPct}%)`,
      );
    } finally {
      for (const child of children) child.send({ type: 'close' });
      await new Promise((r) => setTimeout(r, 500));
      for (const child of children) child.kill('SIGKILL');
      await post(`${server.url}/api/live/end/${stream.streamId}`, {}, host.token).catch(
        () => undefined,
      );
    }
  }
  return rows;
}
