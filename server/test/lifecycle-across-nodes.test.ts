import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { RecordingViewer, connected, waitFor } from './support/loopback-peers';
import { publishOverSocket } from './support/socket-publisher';
import { PrivateRedis } from './support/private-services';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Two nodes of one deployment: A on a fresh PostgreSQL database, B on the same one and Redis. */
async function twoNodes(env: Record<string, string> = {}) {
  const shared = { ...clusterEnv(), MEDIA_WORKERS: '1', ...env };
  const a = await startTestServer({ engine: 'postgres', env: shared });
  cleanup.push(() => a.stop());
  const b = await startTestServer({ env: { ...shared, DATABASE_URL: a.databaseUrl! } });
  cleanup.push(() => b.close());
  return { a, b };
}

const socketOf = async (server: TestServer, user: TestUser): Promise<ClientSocket> => {
  const socket = await connectSocket(server, user.token);
  cleanup.push(() => socket.close());
  return socket;
};

/** The web app's way: the stream is started over REST on `restNode`, published over a socket on `mediaNode`. */
async function startHereThenPublishThere(restNode: TestServer, mediaNode: TestServer) {
  const host = await registerUser(restNode);
  const started = await api(restNode.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: 'two nodes' },
  });
  expect(started.status).toBe(201);
  const streamId: string = started.body.streamId;
  const hostSocket = await socketOf(mediaNode, host);
  await emitAck(hostSocket, 'join_live', { streamId });
  const publisher = await publishOverSocket(hostSocket, streamId);
  cleanup.push(() => publisher.close());
  await waitFor(() => mediaNode.media.stats().publishers === 1, 10_000, 'publisher');
  return { host, streamId };
}

/** A fan watching over their socket on `server` (the web app's way), receiving media. */
async function watchOn(server: TestServer, streamId: string): Promise<RecordingViewer> {
  const fan = await registerUser(server);
  const fanSocket = await socketOf(server, fan);
  await emitAck(fanSocket, 'join_live', { streamId });
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const offer = await emitAck(fanSocket, 'live_offer', { streamId });
  expect(offer.ok).toBe(true);
  const answer = await viewer.answer(offer.description.sdp);
  await emitAck(fanSocket, 'live_answer', {
    streamId,
    description: { type: 'answer', sdp: answer },
  });
  await connected(viewer.pc);
  await waitFor(() => viewer.received('video') > 20, 10_000, `media on ${server.url}`);
  expect(server.media.stats().subscribers).toBe(1);
  return viewer;
}

const statusOf = async (server: TestServer, streamId: string) =>
  (await api(server.url)('GET', `/api/live/${streamId}`)).body.status as string;

// The stream's lifecycle used to be node-local: timers and media events never crossed nodes.
describe.runIf(Boolean(process.env.DATABASE_URL))('one lifecycle across nodes', () => {
  it('does not end a stream started on one node and published on another when the first node’s “never connected” timer runs out', async () => {
    const graceSeconds = 2;
    const { a, b } = await twoNodes({ PUBLISHER_GRACE_SECONDS: String(graceSeconds) });
    const { streamId } = await startHereThenPublishThere(a, b);

    await sleep(3 * graceSeconds * 1000);
    expect(await statusOf(a, streamId)).toBe('live');
    expect(await statusOf(b, streamId)).toBe('live');
    expect(b.media.stats().publishers).toBe(1);
  }, 30_000);

  it('stops the media of a viewer on the publisher’s node within 1 s of End pressed on another node', async () => {
    const { a, b } = await twoNodes();
    const { host, streamId } = await startHereThenPublishThere(a, b);
    const viewer = await watchOn(b, streamId);
    const flowing = viewer.received('video');
    await waitFor(() => viewer.received('video') > flowing, 1000, 'media flowing before End');

    // Packets are counted while End is on its way: when did the last one arrive, and does
    // anything arrive more than 1 s after End was pressed?
    const pressedAt = Date.now();
    const ending = api(a.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    let count = viewer.received('video') + viewer.received('audio');
    let lastPacketAt = pressedAt;
    while (Date.now() - pressedAt < 2000) {
      await sleep(5);
      const now = viewer.received('video') + viewer.received('audio');
      if (now !== count) lastPacketAt = Date.now();
      count = now;
    }
    expect((await ending).status).toBe(200);
    expect(lastPacketAt - pressedAt).toBeLessThan(1000);
    expect(b.media.stats()).toMatchObject({ streams: 0, publishers: 0, subscribers: 0 });
  }, 30_000);

  it('closes the media of a stream ended on another node while Redis was down', async () => {
    const redis = await PrivateRedis.start();
    cleanup.push(() => redis.stop());
    const { a, b } = await twoNodes({ REDIS_URL: redis.url });
    const { host, streamId } = await startHereThenPublishThere(a, b);
    const viewer = await watchOn(b, streamId);

    await redis.kill();
    await waitFor(
      () => a.dependencies().redis === 'down' && b.dependencies().redis === 'down',
      5000,
      'both nodes to notice Redis is gone',
    );
    const ended = await api(a.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    expect(ended.status).toBe(200);
    // No announcement can travel: the node holding the media finds the end in the database.
    await waitFor(() => b.media.stats().streams === 0, 8000, 'media closed on B');
    const after = viewer.received('video');
    await sleep(500);
    expect(viewer.received('video')).toBe(after);
  }, 30_000);
});
