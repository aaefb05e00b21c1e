import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  connectSocket,
  emitAck,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
} from './support/server';

describe.each(engines)('smoke on %s', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ engine });
  });
  afterAll(() => server.stop());

  it('answers health and lets a user go live and be watched', async () => {
    const request = api(server.url);
    expect((await request('GET', '/api/health')).body).toEqual({
      ok: true,
      status: 'ok',
      dependencies: { database: 'ok' },
    });
    const host = await registerUser(server);
    const viewer = await registerUser(server);
    const started = await request('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'Hello' },
    });
    expect(started.status).toBe(201);
    const socket = await connectSocket(server, viewer.token);
    const joined = await emitAck(socket, 'join_live', { streamId: started.body.streamId });
    expect(joined).toMatchObject({ ok: true, viewerCount: 1 });
    socket.close();
  });
});
