import { afterEach, describe, expect, it } from 'vitest';
import {
  clusterEnv,
  api,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';
import { moderate, startStream } from './support/moderation';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const socketOf = async (server: TestServer, user: TestUser): Promise<ClientSocket> => {
  const socket = await connectSocket(server, user.token);
  cleanup.push(() => socket.close());
  return socket;
};

/** A live stream of `host` on `server` whose publisher sends media over the host's socket. */
async function liveWithMedia(server: TestServer, host: TestUser): Promise<string> {
  const streamId = await startStream(server, host);
  const hostSocket = await socketOf(server, host);
  await emitAck(hostSocket, 'join_live', { streamId });
  const publisher = new SyntheticPublisher();
  cleanup.push(() => publisher.close());
  const res = await emitAck(hostSocket, 'live_offer', {
    streamId,
    description: { type: 'offer', sdp: await publisher.offer() },
  });
  expect(res.ok).toBe(true);
  await publisher.accept(res.description.sdp);
  publisher.start();
  await waitFor(() => server.media.stats().publishers === 1, 10_000, 'publisher');
  return streamId;
}

/** A WHEP request with `body` (a real offer unless given), as `user`. */
async function whep(server: TestServer, user: TestUser, streamId: string, body?: string) {
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
    method: 'POST',
    headers: {
      'content-type': body === undefined ? 'application/sdp' : 'text/plain',
      authorization: `Bearer ${user.token}`,
    },
    body: body ?? (await viewer.offer()),
  });
  if (res.status === 201) {
    await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await connected(viewer.pc);
  }
  return { res, viewer };
}

/** Watches over the socket's own signalling (the web app's way). */
async function watchOverSocket(socket: ClientSocket, streamId: string) {
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const offer = await emitAck(socket, 'live_offer', { streamId });
  expect(offer.ok).toBe(true);
  const answer = await viewer.answer(offer.description.sdp);
  await emitAck(socket, 'live_answer', { streamId, description: { type: 'answer', sdp: answer } });
  await connected(viewer.pc);
  return viewer;
}

const subscribersInWorkers = async (server: TestServer) =>
  (await server.media.workerStats()).reduce((sum, w) => sum + w.subscribers, 0);

const countOf = async (server: TestServer, streamId: string) =>
  (await api(server.url)('GET', `/api/live/${streamId}`)).body.viewerCount as number;

describe('a ban and media', () => {
  it('closes the banned user’s WHEP and socket sessions, and refuses them media until unbanned', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const [host, troll, fan] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const streamId = await liveWithMedia(server, host);
    const trollSocket = await socketOf(server, troll);
    await emitAck(trollSocket, 'join_live', { streamId });
    await watchOverSocket(trollSocket, streamId);
    expect((await whep(server, troll, streamId)).res.status).toBe(201);
    await watchOverSocket(await socketOf(server, fan), streamId);
    expect(server.media.stats().subscribers).toBe(3);
    expect(await countOf(server, streamId)).toBe(2);

    const told = nextEvent(trollSocket, 'live_banned');
    expect(
      (await moderate(server, host, streamId, { action: 'ban', userId: troll.user.id })).status,
    ).toBe(200);
    expect(await told).toEqual({ streamId });
    expect(server.media.stats().subscribers).toBe(1);
    // The workers closed the connections themselves, not only the registry.
    await expect.poll(() => subscribersInWorkers(server), { timeout: 5000 }).toBe(1);
    expect(await countOf(server, streamId)).toBe(1);

    // WHEP says why before it reads the offer: even a body that is no offer at all.
    const garbage = await whep(server, troll, streamId, 'not an offer');
    expect(garbage.res.status).toBe(403);
    expect(((await garbage.res.json()) as { error: { code: string } }).error.code).toBe('banned');
    expect(await emitAck(trollSocket, 'live_offer', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'banned' },
    });
    expect(await emitAck(trollSocket, 'join_live', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'banned' },
    });
    expect(server.media.stats().subscribers).toBe(1);

    await moderate(server, host, streamId, { action: 'unban', userId: troll.user.id });
    expect((await whep(server, troll, streamId)).res.status).toBe(201);
    expect(await countOf(server, streamId)).toBe(2);
  });
});

// A stream's media lives on one node; the ban may be given on another.
describe.runIf(Boolean(process.env.DATABASE_URL))('a ban across nodes', () => {
  it('reaches the banned user’s tabs and media on the node that holds them', async () => {
    const env = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env });
    cleanup.push(() => a.stop());
    const b = await startTestServer({ env: { ...env, DATABASE_URL: a.databaseUrl! } });
    cleanup.push(() => b.close());
    const [host, troll] = await Promise.all([registerUser(a), registerUser(a)]);
    const streamId = await liveWithMedia(a, host);
    // The troll watches on A and chats through a tab on B.
    expect((await whep(a, troll, streamId)).res.status).toBe(201);
    const tabOnB = await socketOf(b, troll);
    await emitAck(tabOnB, 'join_live', { streamId });
    expect(a.media.stats().subscribers).toBe(1);

    const told = nextEvent(tabOnB, 'live_banned');
    const banned = await moderate(b, host, streamId, { action: 'ban', userId: troll.user.id });
    expect(banned.status).toBe(200);
    expect(await told).toEqual({ streamId });
    await waitFor(() => a.media.stats().subscribers === 0, 5000, 'session closed on A');
    expect(await countOf(a, streamId)).toBe(0);
    expect(await emitAck(tabOnB, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'banned' },
    });
    expect((await whep(a, troll, streamId, 'x')).res.status).toBe(403);
  });
});
