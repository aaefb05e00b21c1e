/**
 * Issue 17, item 3: a WHIP POST with the host's key while the stream still has a registered
 * publisher takes the stream over when that publisher has sent nothing for 2 s, on this node or
 * another (which closes it), and is refused with `409 already_live` while it sends.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SyntheticPublisher, waitFor } from './support/loopback-peers';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type TestServer,
} from './support/server';
import { publishOverSocket } from './support/socket-publisher';
import {
  keyOf,
  publishWithKey,
  videoFlowing,
  watchOverWhep,
  type Cleanup,
} from './support/whip-peers';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Comfortably past the 2 s after which a silent publisher may be taken over. */
const quietMs = 2600;

describe('takeover on one node', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
    await server.media.ready();
  });
  afterAll(() => server?.stop());

  it('refuses a second publisher while the first sends, and takes the stream over once it has been silent for 2 s', async () => {
    const [host, fan] = await Promise.all([registerUser(server), registerUser(server)]);
    const key = await keyOf(server, host);
    const first = await publishWithKey(server, key, cleanup);
    expect(first.status).toBe(201);
    const streamId = first.streamId!;
    const viewer = await watchOverWhep(server, streamId, fan.token, cleanup);
    await videoFlowing(viewer, 'media from the first publisher');
    const socket = await connectSocket(server, fan.token);
    cleanup.push(() => socket.close());
    expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);

    const refused = await publishWithKey(server, key, cleanup);
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'already_live', streamId } });
    expect(server.media.stats().publishers).toBe(1);

    // The first publisher's connection stays up but it sends nothing (a frozen encoder, a
    // machine gone to sleep): after 2 s a new offer with the same key takes over.
    first.publisher.stop();
    await sleep(quietMs);
    const resumed = nextEvent(socket, 'broadcaster_resumed', undefined, 10_000);
    const second = await publishWithKey(server, key, cleanup);
    expect(second.status).toBe(201);
    expect(second.streamId).toBe(streamId);
    await resumed;
    // The old session is closed, the new one publishes to the viewer who was already there.
    await waitFor(() => server.media.stats().publishers === 1, 5000, 'one publisher');
    await videoFlowing(viewer, 'media from the second publisher');
    expect((await api(server.url)('GET', `/api/live/${streamId}`)).body.status).toBe('live');

    // The old one's resource is gone with it.
    const oldDelete = await fetch(`${server.url}${first.location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${key}` },
    });
    expect(oldDelete.status).toBe(404);
  }, 40_000);

  it('refuses another tab of the host while the first tab’s publisher sends, and lets it take over once that one is quiet', async () => {
    const host = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'two tabs' },
    });
    expect(started.status).toBe(201);
    const streamId: string = started.body.streamId;
    const [firstTab, secondTab] = await Promise.all([
      connectSocket(server, host.token),
      connectSocket(server, host.token),
    ]);
    cleanup.push(
      () => firstTab.close(),
      () => secondTab.close(),
    );
    const first = await publishOverSocket(firstTab, streamId);
    cleanup.push(() => first.close());
    await waitFor(() => server.media.stats().publishers === 1, 10_000, 'the first tab publishing');

    const offerFrom = async () => {
      const publisher = new SyntheticPublisher();
      cleanup.push(() => publisher.close());
      const ack = await emitAck(secondTab, 'live_offer', {
        streamId,
        description: { type: 'offer', sdp: await publisher.offer() },
      });
      return { publisher, ack };
    };
    const refused = await offerFrom();
    expect(refused.ack).toMatchObject({ ok: false, error: { code: 'conflict' } });

    // The first tab's camera froze (its socket is still up): the second tab takes over.
    first.stop();
    await sleep(quietMs);
    const taken = await offerFrom();
    expect(taken.ack.ok).toBe(true);
    await taken.publisher.accept(taken.ack.description.sdp);
    taken.publisher.start();
    await waitFor(() => server.media.stats().publishers === 1, 5000, 'one publisher');
    const fan = await registerUser(server);
    const viewer = await watchOverWhep(server, streamId, fan.token, cleanup);
    await videoFlowing(viewer, 'media from the second tab');
  }, 40_000);
});

/** Two nodes of one deployment on one PostgreSQL database and Redis. */
async function twoNodes(env: Record<string, string> = {}) {
  const shared = { ...clusterEnv(), MEDIA_WORKERS: '1', ...env };
  const a = await startTestServer({ engine: 'postgres', env: shared });
  cleanup.push(() => a.stop());
  const b = await startTestServer({ env: { ...shared, DATABASE_URL: a.databaseUrl! } });
  cleanup.push(() => b.close());
  await Promise.all([a.media.ready(), b.media.ready()]);
  return { a, b };
}

describe.runIf(Boolean(process.env.DATABASE_URL))('WHIP takeover across nodes', () => {
  it('refuses a publisher on another node while the first sends, and takes over from a silent one, closing it on its node', async () => {
    const { a, b } = await twoNodes();
    const [host, fan] = await Promise.all([registerUser(a), registerUser(a)]);
    const key = await keyOf(a, host);
    const first = await publishWithKey(a, key, cleanup);
    expect(first.status).toBe(201);
    const streamId = first.streamId!;

    const refused = await publishWithKey(b, key, cleanup);
    expect(refused.status).toBe(409);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'already_live', streamId } });
    expect(b.media.stats().publishers).toBe(0);

    first.publisher.stop();
    await sleep(quietMs);
    const second = await publishWithKey(b, key, cleanup);
    expect(second.status).toBe(201);
    expect(second.streamId).toBe(streamId);
    // Node A closes its old session when told over the bus: well before its own 5 s sweep.
    const takenAt = Date.now();
    await waitFor(() => a.media.stats().publishers === 0, 4000, 'the old session closed on A');
    expect(Date.now() - takenAt).toBeLessThan(2000);
    expect(b.media.stats().publishers).toBe(1);
    const viewer = await watchOverWhep(b, streamId, fan.token, cleanup);
    await videoFlowing(viewer, 'media from the new publisher on B');
    // Still one stream, live, past A's grace for its lost publisher (none starts: it was replaced).
    await sleep(1000);
    expect((await api(a.url)('GET', `/api/live/${streamId}`)).body.status).toBe('live');
  }, 40_000);
});
