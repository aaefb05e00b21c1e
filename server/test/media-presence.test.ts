import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import {
  clusterEnv,
  api,
  collect,
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
import { publishOverSocket } from './support/socket-publisher';

describe('a media session implies presence', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const socketOf = async (server: TestServer, user: TestUser) => {
    const socket = await connectSocket(server, user.token);
    cleanup.push(() => socket.close());
    return socket;
  };

  /** A live stream of `host` on `server` with a publisher sending media. */
  const liveWithMedia = async (server: TestServer, host: TestUser, isPrivate = false) => {
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'media presence', isPrivate },
    });
    const streamId: string = started.body.streamId;
    const hostSocket = await socketOf(server, host);
    await emitAck(hostSocket, 'join_live', { streamId });
    const publisher = await publishOverSocket(hostSocket, streamId);
    cleanup.push(() => publisher.close());
    await waitFor(() => server.media.stats().publishers === 1, 10_000, 'publisher');
    return { streamId, hostSocket };
  };

  /** Watches over the socket's signalling only: no `join_live`. */
  const watchOverSocket = async (socket: ClientSocket, streamId: string) => {
    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    const offer = await emitAck(socket, 'live_offer', { streamId });
    expect(offer.ok).toBe(true);
    const answer = await viewer.answer(offer.description.sdp);
    const accepted = await emitAck(socket, 'live_answer', {
      streamId,
      description: { type: 'answer', sdp: answer },
    });
    expect(accepted.ok).toBe(true);
    await connected(viewer.pc);
    return viewer;
  };

  const watchOverWhep = async (server: TestServer, user: TestUser, streamId: string) => {
    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    return fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${user.token}` },
      body: await viewer.offer(),
    });
  };

  const subscribersInWorkers = async (server: TestServer) =>
    (await server.media.workerStats()).reduce((sum, w) => sum + w.subscribers, 0);

  const countOf = async (server: TestServer, streamId: string, token: string) =>
    (await api(server.url)('GET', `/api/live/${streamId}`, { token })).body.viewerCount as number;

  it('counts a socket viewer who pulls media without join_live, until the session closes', async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
    const { streamId, hostSocket } = await liveWithMedia(server, host);
    const joined = nextEvent(hostSocket, 'viewer_joined');
    const viewerSocket = await connectSocket(server, viewer.token);
    await watchOverSocket(viewerSocket, streamId);
    expect(await joined).toEqual({ streamId, userId: viewer.user.id, username: viewer.username });
    expect(await countOf(server, streamId, host.token)).toBe(1);

    // Asking again replaces the session; the viewer is counted once and never seen to leave.
    const left = collect(hostSocket, 'viewer_left');
    await watchOverSocket(viewerSocket, streamId);
    await waitFor(() => server.media.stats().subscribers === 1, 5000, 'old session closed');
    await new Promise((r) => setTimeout(r, 300));
    expect(left).toEqual([]);
    expect(await countOf(server, streamId, host.token)).toBe(1);

    // The tab goes: its session closes, and the presence it implied with it.
    const gone = nextEvent(hostSocket, 'viewer_left');
    viewerSocket.close();
    expect(await gone).toEqual({ streamId, userId: viewer.user.id, username: viewer.username });
    expect(await countOf(server, streamId, host.token)).toBe(0);
    expect(server.media.stats().subscribers).toBe(0);
  });

  it("closes an ex-follower's media of the host's private stream, socket and WHEP alike, and refuses it again", async () => {
    const server = await startTestServer();
    cleanup.push(() => server.stop());
    const [host, ex, loyal] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    for (const user of [ex, loyal])
      await api(server.url)('POST', `/api/users/${host.user.id}/follow`, { token: user.token });
    const { streamId } = await liveWithMedia(server, host, true);
    const exSocket = await socketOf(server, ex);
    await watchOverSocket(exSocket, streamId);
    const whep = await watchOverWhep(server, ex, streamId);
    expect(whep.status).toBe(201);
    await watchOverSocket(await socketOf(server, loyal), streamId);
    expect(server.media.stats().subscribers).toBe(3);
    expect(await subscribersInWorkers(server)).toBe(3);
    expect(await countOf(server, streamId, host.token)).toBe(2);

    const told = nextEvent(exSocket, 'live_access_revoked');
    const unfollowed = await api(server.url)('DELETE', `/api/users/${host.user.id}/follow`, {
      token: ex.token,
    });
    expect(unfollowed.status).toBe(200);
    expect(await told).toEqual({ streamId });
    expect(server.media.stats().subscribers).toBe(1);
    // The workers closed the connections themselves, not only the registry.
    await expect.poll(async () => subscribersInWorkers(server), { timeout: 5000 }).toBe(1);
    expect(await countOf(server, streamId, host.token)).toBe(1);

    // Refused again, whichever way they ask.
    expect((await watchOverWhep(server, ex, streamId)).status).toBe(403);
    expect(await emitAck(exSocket, 'live_offer', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'followers_only' },
    });
    expect(server.media.stats().subscribers).toBe(1);
  });

  it('logs a leave that fails, for a socket in the room and for its media alike', async () => {
    const logged: { msg: string; streamId?: string }[] = [];
    const logger = pino(
      { level: 'error' },
      { write: (line: string) => logged.push(JSON.parse(line)) },
    );
    const server = await startTestServer({ logger });
    cleanup.push(() => server.stop().catch(() => undefined));
    const [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
    const { streamId } = await liveWithMedia(server, host);
    const viewerSocket = await connectSocket(server, viewer.token);
    await emitAck(viewerSocket, 'join_live', { streamId });
    await watchOverSocket(viewerSocket, streamId);
    // The database goes away under the server: the leaves that follow cannot be recorded.
    await server.database.close();
    viewerSocket.close();
    const leaves = () => logged.filter((l) => l.msg.includes('leaving'));
    await expect
      .poll(
        () =>
          leaves()
            .map((l) => l.msg)
            .sort(),
        { timeout: 5000 },
      )
      .toEqual(['failed to record a media viewer leaving', 'failed to record a viewer leaving']);
    expect(leaves().every((l) => l.streamId === streamId)).toBe(true);
  });
});

// The media of a stream lives on one node; an unfollow may land on another.
const clustered = Boolean(process.env.DATABASE_URL);

describe.runIf(clustered)('revocation across nodes', () => {
  it("closes the ex-follower's media on the node that holds it when they unfollow on another", async () => {
    const env = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env });
    const b = await startTestServer({ env: { ...env, DATABASE_URL: a.databaseUrl! } });
    const closers: (() => Promise<unknown> | unknown)[] = [];
    try {
      const [host, ex] = await Promise.all([registerUser(a), registerUser(a)]);
      await api(a.url)('POST', `/api/users/${host.user.id}/follow`, { token: ex.token });
      const started = await api(a.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'two nodes', isPrivate: true },
      });
      const streamId: string = started.body.streamId;
      const hostSocket = await connectSocket(a, host.token);
      closers.push(() => hostSocket.close());
      const publisher = new SyntheticPublisher();
      closers.push(() => publisher.close());
      const published = await emitAck(hostSocket, 'live_offer', {
        streamId,
        description: { type: 'offer', sdp: await publisher.offer() },
      });
      await publisher.accept(published.description.sdp);
      publisher.start();
      await waitFor(() => a.media.stats().publishers === 1, 10_000, 'publisher');
      const viewer = new RecordingViewer();
      closers.push(() => viewer.close());
      const whep = await fetch(`${a.url}/api/live/${streamId}/whep`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${ex.token}` },
        body: await viewer.offer(),
      });
      expect(whep.status).toBe(201);
      expect(a.media.stats().subscribers).toBe(1);

      const unfollowed = await api(b.url)('DELETE', `/api/users/${host.user.id}/follow`, {
        token: ex.token,
      });
      expect(unfollowed.status).toBe(200);
      await waitFor(() => a.media.stats().subscribers === 0, 5000, 'media closed on node A');
      const details = await api(a.url)('GET', `/api/live/${streamId}`, { token: host.token });
      expect(details.body.viewerCount).toBe(0);
    } finally {
      for (const close of closers.reverse()) await close();
      await b.close();
      await a.stop();
    }
  });
});
