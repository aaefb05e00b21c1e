import { count, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { liveStreams, users } from '../src/db/schema';
import {
  api,
  connectSocket,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

describe.each(engines)('a validly signed token of a user who no longer exists (%s)', (engine) => {
  let server: TestServer;
  let gone: TestUser;
  let host: TestUser;
  let streamId: string;
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer({ engine });
    [gone, host] = await Promise.all([registerUser(server), registerUser(server)]);
    streamId = (
      await request()('POST', '/api/live/start', { token: host.token, body: { title: 'on' } })
    ).body.streamId;
    // The account goes away (an operator deleted it); its token is still signed and unexpired.
    await server.database.db.delete(users).where(eq(users.id, gone.user.id));
  });
  afterAll(() => server.stop());

  const streamCount = async () =>
    (await server.database.db.select({ n: count() }).from(liveStreams))[0]?.n;

  it('is a 401 on every REST route, required or optional, and changes nothing', async () => {
    const before = await streamCount();
    const calls: [string, string, unknown?][] = [
      ['GET', '/api/auth/me'],
      ['POST', '/api/live/start', { title: 'from nobody' }],
      ['GET', '/api/live/active'],
      ['GET', `/api/live/${streamId}`],
      ['POST', `/api/live/${streamId}/view`],
      ['POST', `/api/live/${streamId}/comment`, { comment: 'hello' }],
      ['POST', `/api/users/${host.user.id}/follow`],
      ['GET', '/api/live/ice-servers'],
    ];
    for (const [method, path, body] of calls) {
      const res = await request()(method, path, { token: gone.token, body });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.body.error.code).toBe('unauthorized');
      expect(res.body.error.message).toMatch(/no longer exists/);
    }
    const whep = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${gone.token}` },
      body: 'v=0\r\n',
    });
    expect(whep.status).toBe(401);
    expect(await streamCount()).toBe(before);
    expect((await request()('GET', `/api/live/${streamId}`)).body.viewerCount).toBe(0);
  });

  it('is refused at the socket handshake', async () => {
    await expect(connectSocket(server, gone.token)).rejects.toThrow(/unauthorized/);
    const error = await connectSocket(server, gone.token).catch((e: { data?: unknown }) => e.data);
    expect(error).toEqual({
      code: 'unauthorized',
      message: expect.stringMatching(/no longer exists/),
    });
    // A user who does exist still gets in.
    (await connectSocket(server, host.token)).close();
  });
});
