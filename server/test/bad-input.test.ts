import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

describe('bad input gets a clear error and changes nothing', () => {
  let server: TestServer;
  let user: TestUser;
  let streamId: string;
  const request = () => api(server.url);

  beforeAll(async () => {
    server = await startTestServer();
    user = await registerUser(server);
    streamId = (
      await request()('POST', '/api/live/start', { token: user.token, body: { title: 'ok' } })
    ).body.streamId;
  });
  afterAll(() => server.stop());

  const activeIds = async () =>
    (await request()('GET', '/api/live/active')).body.map((s: { streamId: string }) => s.streamId);

  it('refuses malformed JSON and oversized bodies', async () => {
    const before = await activeIds();
    const malformed = await request()('POST', '/api/live/start', {
      token: user.token,
      rawBody: '{"title": "x",',
      headers: { 'content-type': 'application/json' },
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const huge = await request()('POST', '/api/live/start', {
      token: user.token,
      rawBody: JSON.stringify({ title: 'x', description: 'y'.repeat(1_100_000) }),
      headers: { 'content-type': 'application/json' },
    });
    expect(huge.status).toBe(413);
    expect(huge.body.error.code).toBe('payload_too_large');
    expect(await activeIds()).toEqual(before);
  });

  it('validates every field of a new stream', async () => {
    const before = await activeIds();
    const cases: unknown[] = [
      {},
      { title: '' },
      { title: '   ' },
      { title: 42 },
      { title: 'x'.repeat(201) },
      { title: 'ok', description: 'd'.repeat(1001) },
      { title: 'ok', tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { title: 'ok', tags: ['x'.repeat(31)] },
      { title: 'ok', tags: 'music' },
      { title: 'ok', isPrivate: 'yes' },
      { title: 'ok', thumbnail: 'javascript:alert(1)' },
      [],
      null,
    ];
    for (const body of cases) {
      const res = await request()('POST', '/api/live/start', { token: user.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      // `null` is not even a JSON object body (body-parser's strict mode): invalid_json.
      expect(res.body.error.code).toBe(body === null ? 'invalid_json' : 'invalid_input');
      expect(typeof res.body.error.message).toBe('string');
    }
    expect(await activeIds()).toEqual(before);
  });

  it('validates ids and comments', async () => {
    expect((await request()('GET', '/api/live/not-a-uuid')).status).toBe(400);
    expect((await request()('POST', '/api/live/end/123', { token: user.token })).status).toBe(400);
    for (const body of [
      {},
      { comment: '' },
      { comment: 'c'.repeat(501) },
      { comment: { text: 'x' } },
    ]) {
      const res = await request()('POST', `/api/live/${streamId}/comment`, {
        token: user.token,
        body,
      });
      expect(res.status).toBe(400);
    }
    const history = await request()('GET', `/api/live/${streamId}/comments`);
    expect(history.body.comments).toEqual([]);
    expect((await request()('GET', `/api/live/${streamId}/comments?limit=1000`)).status).toBe(400);
    expect((await request()('GET', `/api/live/${streamId}/comments?before=yesterday`)).status).toBe(
      400,
    );
  });

  it('answers unknown API paths with a JSON 404 and keeps serving', async () => {
    const res = await request()('GET', '/api/nothing/here');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('not_found');
    expect((await request()('GET', '/api/health')).body).toEqual({
      ok: true,
      status: 'ok',
      dependencies: { database: 'ok' },
    });
  });
});
