/**
 * Issue 17, item 3: a WHIP POST with the host's key while the stream still has a registered
 * publisher takes the stream over when that publisher has sent nothing for 2 s, on this node or
 * another (which closes it), and is refused with `409 already_live` while it sends.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from './support/loopback-peers';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
} from './support/server';
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

describe('WHIP takeover on one node', () => {
  it('refuses a second publisher while the first sends, and takes the stream over once it has been silent for 2 s', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    await server.media.ready();
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
