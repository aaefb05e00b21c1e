/** `GET /api/tags/:tag/streams`: live streams with a tag, then ended ones, never a private one to outsiders. */
import { tagStreamsPath, type Stream, type TagStreams } from '@onair/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

describe.each(engines)('streams by tag (%s)', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ engine });
  });
  afterAll(() => server?.stop());

  const start = async (host: TestUser, tags: string[], isPrivate = false) => {
    const res = await api(server.url)<Stream>('POST', '/api/live/start', {
      token: host.token,
      body: { title: `tagged ${tags.join(' ')}`, tags, isPrivate },
    });
    expect(res.status).toBe(201);
    return res.body.streamId;
  };
  const end = async (host: TestUser, streamId: string) =>
    expect(
      (await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token })).status,
    ).toBe(200);
  const tagged = async (tag: string, token?: string) => {
    const res = await api(server.url)<TagStreams>('GET', tagStreamsPath(tag), {
      ...(token ? { token } : {}),
    });
    expect(res.status).toBe(200);
    return {
      live: res.body.live.map((s) => s.streamId),
      recent: res.body.recent.map((s) => s.streamId),
    };
  };

  it('lists live streams with the tag in any case, then ended ones; private ones only to followers and the host', async () => {
    // A tag of its own, so streams of other tests on this server never show up.
    const tag = `Jazz${Date.now().toString(36)}`;
    const [publicHost, privateHost, pastHost, otherHost, follower, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const past = await start(pastHost, [tag.toLowerCase()]);
    await end(pastHost, past);
    const pastPrivate = await start(privateHost, [tag], true);
    await end(privateHost, pastPrivate);
    const live = await start(publicHost, ['music', tag.toUpperCase()]);
    const livePrivate = await start(privateHost, [tag], true);
    const untagged = await start(otherHost, ['other']);
    expect(
      (
        await api(server.url)('POST', `/api/users/${privateHost.user.id}/follow`, {
          token: follower.token,
        })
      ).status,
    ).toBe(200);

    const outsider = { live: [live], recent: [past] };
    expect(await tagged(tag)).toEqual(outsider);
    expect(await tagged(tag, stranger.token)).toEqual(outsider);
    expect(await tagged(tag.toLowerCase(), stranger.token)).toEqual(outsider);
    // Newest first: the private stream started after the public one.
    const insider = { live: [livePrivate, live], recent: [pastPrivate, past] };
    expect(await tagged(tag, follower.token)).toEqual(insider);
    expect(await tagged(tag, privateHost.token)).toEqual(insider);
    expect((await tagged('other')).live).toContain(untagged);
    expect((await tagged('other')).live).not.toContain(live);
    expect(await tagged(`${tag}x`)).toEqual({ live: [], recent: [] });
  });

  it('answers the tag it was asked for, and refuses a tag no stream could have', async () => {
    const res = await api(server.url)<TagStreams>('GET', tagStreamsPath('café au lait'));
    expect(res.status).toBe(200);
    expect(res.body.tag).toBe('café au lait');
    const tooLong = await api(server.url)('GET', tagStreamsPath('x'.repeat(31)));
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.error.code).toBe('invalid_input');
    const twoLines = await api(server.url)('GET', tagStreamsPath('a\nb'));
    expect(twoLines.status).toBe(400);
  });
});
