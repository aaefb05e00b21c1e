import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  clusterEnv,
  collect,
  connectSocket,
  emitAck,
  endLive,
  engines,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';

// Issue 18: the host sees who is watching; viewers see the count only.
describe.each(engines)('the host’s viewer list on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  const sockets: ClientSocket[] = [];
  const request = () => api(server.url);
  const socketOf = async (token: string | undefined) => {
    const socket = await connectSocket(server, token);
    sockets.push(socket);
    return socket;
  };

  beforeAll(async () => {
    server = await startTestServer({ engine });
    host = await registerUser(server);
  });
  afterAll(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  const start = async () => {
    await endLive(server, host);
    const started = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'who is here' },
    });
    return started.body.streamId as string;
  };

  it('names signed-in viewers to the host, counts anonymous ones, and tells no viewer who', async () => {
    const streamId = await start();
    const hostSocket = await socketOf(host.token);
    await emitAck(hostSocket, 'join_live', { streamId });
    const [ana, ben] = await Promise.all([registerUser(server), registerUser(server)]);
    const anaSocket = await socketOf(ana.token);
    const anonymous = await socketOf(undefined);
    await emitAck(anaSocket, 'join_live', { streamId });
    await emitAck(anonymous, 'join_live', { streamId });
    const heardByViewers = [
      collect(anaSocket, 'viewer_joined'),
      collect(anonymous, 'viewer_joined'),
    ];

    const joined = nextEvent(hostSocket, 'viewer_joined', (e) => e.userId === ben.user.id);
    const benSocket = await socketOf(ben.token);
    await emitAck(benSocket, 'join_live', { streamId });
    expect(await joined).toEqual({ streamId, userId: ben.user.id, username: ben.username });

    const list = await emitAck(hostSocket, 'viewer_list', { streamId });
    expect(list.ok).toBe(true);
    expect(list.signedInCount).toBe(2);
    expect(list.anonymousCount).toBe(1);
    expect(list.viewers.map((v: { id: string }) => v.id).sort()).toEqual(
      [ana.user.id, ben.user.id].sort(),
    );
    expect(list.viewers.find((v: { id: string }) => v.id === ben.user.id)).toMatchObject({
      username: ben.username,
      display_name: ben.user.display_name,
    });

    // Viewers, signed in or not, hear the count only; asking for the list is refused.
    await sleep(300);
    expect(heardByViewers).toEqual([[], []]);
    const refused = await emitAck(anaSocket, 'viewer_list', { streamId });
    expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const refusedAnonymous = await emitAck(anonymous, 'viewer_list', { streamId });
    expect(refusedAnonymous).toMatchObject({ ok: false, error: { code: 'unauthorized' } });
    expect(await emitAck(hostSocket, 'viewer_list', { streamId: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'invalid_input' },
    });

    const left = nextEvent(hostSocket, 'viewer_left', (e) => e.userId === ana.user.id);
    const leftByViewers = collect(benSocket, 'viewer_left');
    await emitAck(anaSocket, 'leave_live', { streamId });
    expect(await left).toEqual({ streamId, userId: ana.user.id, username: ana.username });
    const after = await emitAck(hostSocket, 'viewer_list', { streamId });
    expect(after.viewers.map((v: { id: string }) => v.id)).toEqual([ben.user.id]);
    expect(after.anonymousCount).toBe(1);
    await sleep(200);
    expect(leftByViewers).toEqual([]);
  });

  it('counts someone once in unique viewers when they watched anonymously, then signed in', async () => {
    const streamId = await start();
    const person = await registerUser(server);
    const stranger = await registerUser(server);
    // Two anonymous visits on this device (a reload between them), then signed in.
    const visits: string[] = [];
    for (let i = 0; i < 2; i += 1) {
      const anonymous = await socketOf(undefined);
      await emitAck(anonymous, 'join_live', { streamId });
      visits.push(anonymous.id!);
      anonymous.close();
    }
    // Another anonymous watcher, still here, whose id is named by someone else: not merged.
    const other = await socketOf(undefined);
    await emitAck(other, 'join_live', { streamId });
    const signedIn = await socketOf(person.token);
    await emitAck(signedIn, 'join_live', { streamId, formerAnonymousIds: visits });
    const strangerSocket = await socketOf(stranger.token);
    await emitAck(strangerSocket, 'join_live', { streamId, formerAnonymousIds: [other.id] });

    const summary = await request()('GET', `/api/live/${streamId}/summary`, { token: host.token });
    expect(summary.status).toBe(200);
    // The person, the other anonymous watcher and the stranger.
    expect(summary.body.uniqueViewers).toBe(3);

    // Bad input changes nothing.
    const bad = await emitAck(signedIn, 'join_live', {
      streamId,
      formerAnonymousIds: ['not an id!'],
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const tooMany = await emitAck(signedIn, 'join_live', {
      streamId,
      formerAnonymousIds: Array.from({ length: 6 }, (_, i) => `id${i}`),
    });
    expect(tooMany).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    const again = await request()('GET', `/api/live/${streamId}/summary`, { token: host.token });
    expect(again.body.uniqueViewers).toBe(3);
  });
});

// Several nodes: presence is in the shared database, the host's events cross Redis.
describe.runIf(Boolean(process.env.DATABASE_URL))('the viewer list across two nodes', () => {
  it('names a viewer on the other node to the host', async () => {
    const env = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env });
    const b = await startTestServer({ env: { ...env, DATABASE_URL: a.databaseUrl! } });
    const open: ClientSocket[] = [];
    try {
      const [host, viewer] = await Promise.all([registerUser(a), registerUser(b)]);
      const started = await api(a.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'two nodes' },
      });
      const streamId = started.body.streamId as string;
      const hostSocket = await connectSocket(a, host.token);
      open.push(hostSocket);
      await emitAck(hostSocket, 'join_live', { streamId });
      const joined = nextEvent(hostSocket, 'viewer_joined');
      const onB = await connectSocket(b, viewer.token);
      open.push(onB);
      await emitAck(onB, 'join_live', { streamId });
      expect(await joined).toMatchObject({ streamId, userId: viewer.user.id });
      const list = await emitAck(hostSocket, 'viewer_list', { streamId });
      expect(list.viewers.map((v: { id: string }) => v.id)).toEqual([viewer.user.id]);
    } finally {
      for (const socket of open) socket.close();
      await b.close();
      await a.stop();
    }
  });
});
