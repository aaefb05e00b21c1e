import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { io as connect } from 'socket.io-client';
import { afterEach, describe, expect, it } from 'vitest';
import { startEntryPoint, type EntryPoint } from './support/entry-point';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';
import { api, clusterEnv, connectSocket, registerUser, startTestServer } from './support/server';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** An in-process node on a fresh PostgreSQL database, and the settings another node needs to join it. */
async function observer() {
  const shared = { ...clusterEnv(), MEDIA_WORKERS: '1' };
  const server = await startTestServer({ engine: 'postgres', env: shared });
  cleanup.push(() => server.stop());
  return { server, shared: { ...shared, DATABASE_URL: server.databaseUrl! } };
}

/** A node as `npm start` runs it, in a process of its own, so that it can be sent SIGTERM. */
async function processNode(env: Record<string, string>): Promise<EntryPoint> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-drain-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const node = await startEntryPoint({
    ...env,
    DATA_DIR: dataDir,
    WEB_DIR: path.join(dataDir, 'none'),
  });
  cleanup.push(() => node.stop());
  return node;
}

/** A public stream on `node`, published over WHIP, with one anonymous WHEP viewer receiving media. */
async function streamWithViewer(node: { url: string }) {
  const host = await registerUser(node);
  const started = await api(node.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: 'draining' },
  });
  const streamId: string = started.body.streamId;
  const publisher = new SyntheticPublisher();
  cleanup.push(() => publisher.close());
  const whip = await fetch(`${node.url}/api/live/${streamId}/whip`, {
    method: 'POST',
    headers: {
      'content-type': 'application/sdp',
      authorization: `Bearer ${started.body.streamKey}`,
    },
    body: await publisher.offer(),
  });
  expect(whip.status).toBe(201);
  await publisher.accept(await whip.text());
  publisher.start();
  // The publisher's first packets tell the node its codecs; until then a viewer is early.
  let viewer: RecordingViewer | undefined;
  let whep: Response | undefined;
  for (let i = 0; i < 50 && whep?.status !== 201; i += 1) {
    if (whep) await new Promise((resolve) => setTimeout(resolve, 200));
    viewer = new RecordingViewer();
    cleanup.push(() => viewer!.close());
    whep = await fetch(`${node.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: await viewer.offer(),
    });
  }
  expect(whep?.status).toBe(201);
  const watching = viewer!;
  await watching.pc.setRemoteDescription({ type: 'answer', sdp: await whep!.text() });
  await connected(watching.pc);
  await waitFor(() => watching.received('video') > 10, 10_000, 'media');
  return { streamId, host, viewer: watching, resource: whep!.headers.get('location')! };
}

const ready = async (node: { url: string }) => (await fetch(`${node.url}/api/ready`)).status;

describe.runIf(Boolean(process.env.DATABASE_URL))('draining a node on SIGTERM', () => {
  it('takes no new sessions, sends its sockets away to reconnect, and exits once its last viewer leaves', async () => {
    const { server: other, shared } = await observer();
    const node = await processNode({ ...shared, NODE_ID: 'draining-node', DRAIN_SECONDS: '30' });
    const { streamId, host, viewer, resource } = await streamWithViewer(node);
    await waitFor(() => other.registry.isAlive('draining-node'), 5000, 'the node seen');

    // A socket client of the web app's kind: the library reconnects by itself after a drop.
    const fan = await registerUser(node);
    const client = connect(node.url, { auth: { token: fan.token }, transports: ['websocket'] });
    cleanup.push(() => client.close());
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const dropped = new Promise<string>((resolve) => client.once('disconnect', resolve));
    const refusedAgain = new Promise<unknown>((resolve) =>
      client.once('connect_error', (error: Error & { data?: unknown }) => resolve(error.data)),
    );

    expect(await ready(node)).toBe(200);
    node.child.kill('SIGTERM');
    const signalledAt = Date.now();

    // Told to reconnect (a transport close, not "io server disconnect", which would not), and
    // refused when it does, with a short wait: behind a load balancer it lands elsewhere.
    expect(await dropped).toBe('transport close');
    expect(await refusedAgain).toMatchObject({ code: 'unavailable', retryAfterSeconds: 1 });
    // Out of the load balancer, and seen draining by the other nodes.
    expect(await ready(node)).toBe(503);
    await waitFor(
      () => other.registry.nodes().find((n) => n.nodeId === 'draining-node')?.draining === true,
      3000,
      'the node seen draining',
    );
    // A new WHEP viewer is sent to a node that takes it; a publisher gets 503 + Retry-After (a
    // redirect would lose its Authorization header) and comes back through the load balancer.
    const offer = await new RecordingViewer().offer();
    const whep = await fetch(`${node.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: offer,
      redirect: 'manual',
    });
    expect(whep.status).toBe(307);
    expect(whep.headers.get('location')).toBe(`${other.url}/api/live/${streamId}/whep`);
    const whip = await fetch(`${node.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${host.token}` },
      body: offer,
    });
    expect(whip.status).toBe(503);
    expect(whip.headers.get('retry-after')).toBe('5');

    // The viewer already watching keeps its media, and keeps the node up, until it leaves.
    const before = viewer.received('video');
    await waitFor(() => viewer.received('video') > before + 10, 3000, 'media while draining');
    expect(node.child.exitCode).toBeNull();
    const leftAt = Date.now();
    expect((await fetch(`${node.url}${resource}`, { method: 'DELETE' })).status).toBe(200);
    expect(await node.exited).toBe(0);
    expect(Date.now() - leftAt).toBeLessThan(3000);
    expect(Date.now() - signalledAt).toBeLessThan(30_000);
    // Gone from the registry as it exits.
    await waitFor(() => !other.registry.isAlive('draining-node'), 3000, 'the node gone');
  }, 60_000);

  it('exits at DRAIN_SECONDS with a viewer still watching, and at once when it holds nothing', async () => {
    const { shared } = await observer();
    const busy = await processNode({ ...shared, DRAIN_SECONDS: '2' });
    await streamWithViewer(busy);
    const idle = await processNode({ ...shared, DRAIN_SECONDS: '30' });
    // An idle node with a socket client: sockets are told to go, they do not hold the node.
    const fan = await registerUser(idle);
    const socket = await connectSocket(idle, fan.token);
    cleanup.push(() => socket.close());

    const timedExit = async (node: EntryPoint) => {
      const signalledAt = Date.now();
      node.child.kill('SIGTERM');
      const code = await node.exited;
      return { code, ms: Date.now() - signalledAt };
    };
    const [busyExit, idleExit] = await Promise.all([timedExit(busy), timedExit(idle)]);
    expect(busyExit.code).toBe(0);
    expect(busyExit.ms).toBeGreaterThanOrEqual(2000);
    expect(busyExit.ms).toBeLessThan(6000);
    expect(idleExit.code).toBe(0);
    expect(idleExit.ms).toBeLessThan(2000);
  }, 60_000);
});
