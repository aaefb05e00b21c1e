import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { NodeInfo } from '../src/cluster/node-registry';
import { startEntryPoint } from './support/entry-point';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
} from './support/server';
import { waitFor } from './support/loopback-peers';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An observing node on a fresh PostgreSQL database, and the settings another node needs to join it. */
async function observer(env: Record<string, string> = {}) {
  const shared = { ...clusterEnv(), MEDIA_WORKERS: '1', ...env };
  const server = await startTestServer({ engine: 'postgres', env: shared });
  cleanup.push(() => server.stop());
  return { server, shared: { ...shared, DATABASE_URL: server.databaseUrl! } };
}

/** A node of the deployment as `npm start` runs it, in a process of its own. */
async function processNode(env: Record<string, string>) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-registry-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const node = await startEntryPoint({
    ...env,
    DATA_DIR: dataDir,
    WEB_DIR: path.join(dataDir, 'none'),
  });
  cleanup.push(() => node.stop());
  return node;
}

describe.runIf(Boolean(process.env.DATABASE_URL))('node registry', () => {
  it('lists every live node with its URL, viewers, cap and state', async () => {
    const { server: a, shared } = await observer({ MEDIA_MAX_VIEWERS_PER_NODE: '7' });
    const b = await startTestServer({ env: { ...shared, NODE_ID: 'registry-b' } });
    cleanup.push(() => b.close());

    expect(a.registry.isAlive(a.nodeId)).toBe(true);
    expect(b.registry.isAlive(a.nodeId)).toBe(true);
    await waitFor(() => a.registry.isAlive('registry-b'), 5000, 'A to see B');
    const seen = a.registry.nodes().find((n) => n.nodeId === 'registry-b');
    expect(seen).toMatchObject({
      url: b.url,
      mediaViewers: 0,
      mediaViewerCap: 7,
      draining: false,
    });
    expect(a.registry.nodes()[0]?.nodeId).toBe(a.nodeId);
    expect(a.registry.isAlive('no-such-node')).toBe(false);

    // A node that stops cleanly leaves at once: the others see it gone at their next heartbeat.
    const gone = new Promise<NodeInfo>((resolve) => a.registry.once('node_gone', resolve));
    const closedAt = Date.now();
    await b.close();
    expect((await gone).nodeId).toBe('registry-b');
    expect(Date.now() - closedAt).toBeLessThan(3000);
    expect(a.registry.isAlive('registry-b')).toBe(false);
  }, 30_000);

  it('notices a node killed with SIGKILL within 10 s, and stops counting the viewers it held', async () => {
    const { server: a, shared } = await observer();
    const node = await processNode({ ...shared, NODE_ID: 'registry-killed' });
    await waitFor(() => a.registry.isAlive('registry-killed'), 5000, 'A to see the node');
    expect(a.registry.nodes().find((n) => n.nodeId === 'registry-killed')?.url).toBe(node.url);

    // A live stream on A, watched by one socket on A and two on the node about to die.
    const host = await registerUser(a);
    const { streamId } = (
      await api(a.url)<{ streamId: string }>('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'a node dies under its viewers' },
      })
    ).body;
    const onA = await connectSocket(a, undefined);
    const onKilled = [await connectSocket(node, undefined), await connectSocket(node, undefined)];
    cleanup.push(() => [onA, ...onKilled].forEach((s) => s.close()));
    for (const socket of [onA, ...onKilled])
      expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    const viewerCount = async () =>
      (await api(a.url)<{ viewerCount: number }>('GET', `/api/live/${streamId}`)).body.viewerCount;
    expect(await viewerCount()).toBe(3);
    const countOnA = nextEvent(onA, 'viewer_count', (c) => c.viewerCount === 1, 15_000);
    countOnA.catch(() => undefined);

    const gone = new Promise<NodeInfo>((resolve) =>
      a.registry.on('node_gone', (n) => n.nodeId === 'registry-killed' && resolve(n)),
    );
    node.child.kill('SIGKILL');
    await node.exited;
    const killedAt = Date.now();
    // Not gone at once: a node is given a few missed heartbeats before it is declared gone.
    expect(a.registry.isAlive('registry-killed')).toBe(true);
    await gone;
    const noticedMs = Date.now() - killedAt;
    expect(a.registry.isAlive('registry-killed')).toBe(false);
    expect(noticedMs).toBeLessThan(10_000);
    // The dead node's viewers are no longer counted, and the room is told.
    await countOnA;
    expect(await viewerCount()).toBe(1);
    expect(Date.now() - killedAt).toBeLessThan(12_000);
  }, 40_000);

  it('sees a node restarted under the same id as a new run: the old one is gone', async () => {
    const { server: a, shared } = await observer();
    const first = await processNode({ ...shared, NODE_ID: 'registry-restarted' });
    await waitFor(() => a.registry.isAlive('registry-restarted'), 5000, 'A to see the node');
    const events: string[] = [];
    a.registry.on('node_gone', (n) => n.nodeId === 'registry-restarted' && events.push('gone'));
    a.registry.on('node_joined', (n) => n.nodeId === 'registry-restarted' && events.push('joined'));
    first.child.kill('SIGKILL');
    await first.exited;
    // Back at once: its new run is told apart from the old one whether or not the others had
    // noticed the death by its silence yet.
    await processNode({ ...shared, NODE_ID: 'registry-restarted' });
    await waitFor(() => events.length >= 2, 10_000, 'the restart to be seen');
    expect(events).toEqual(['gone', 'joined']);
    expect(a.registry.isAlive('registry-restarted')).toBe(true);
  }, 40_000);
});
