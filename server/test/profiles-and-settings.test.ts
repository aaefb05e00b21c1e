import type { ProfilePage, Stream } from '@onair/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  engines,
  registerUser,
  startTestServer,
  uniqueName,
  type TestServer,
  type TestUser,
} from './support/server';

describe.each(engines)('profile pages and settings on %s', (engine) => {
  let server: TestServer;
  let host: TestUser;
  let follower: TestUser;
  let stranger: TestUser;
  /** The host's streams, oldest first: public, private, public (ended); then one public live. */
  const past: string[] = [];
  let live: string;
  const request = () => api(server.url);

  const stream = async (title: string, isPrivate: boolean, end: boolean) => {
    const started = await request()('POST', '/api/live/start', {
      token: host.token,
      body: { title, isPrivate },
    });
    expect(started.status).toBe(201);
    if (end)
      await request()('POST', `/api/live/end/${started.body.streamId}`, { token: host.token });
    return started.body.streamId as string;
  };

  beforeAll(async () => {
    server = await startTestServer({ engine });
    [host, follower, stranger] = await Promise.all([
      registerUser(server, uniqueName('Profile')),
      registerUser(server),
      registerUser(server),
    ]);
    await request()('POST', `/api/users/${host.user.id}/follow`, { token: follower.token });
    past.push(await stream('first', false, true));
    past.push(await stream('followers only', true, true));
    past.push(await stream('third', false, true));
    live = await stream('on now', false, false);
  });
  afterAll(() => server.stop());

  const page = (username: string, token?: string) =>
    request()<ProfilePage>('GET', `/api/users/by-username/${encodeURIComponent(username)}`, {
      token,
    });
  const ids = (streams: Stream[]) => streams.map((s) => s.streamId);

  it('shows a profile with the live stream and past streams, newest first, by any case of the username', async () => {
    for (const name of [host.username, host.username.toLowerCase(), host.username.toUpperCase()]) {
      const res = await page(name, follower.token);
      expect(res.status, name).toBe(200);
      expect(res.body.user).toMatchObject({ id: host.user.id, username: host.username });
      expect(res.body).toMatchObject({ followers: 1, following: 0, isFollowing: true });
      expect(res.body.liveStream).toMatchObject({ streamId: live, status: 'live' });
      // The follower sees the private stream too.
      expect(ids(res.body.pastStreams)).toEqual([...past].reverse());
      expect(res.body.pastStreams.every((s) => s.status === 'ended')).toBe(true);
    }
  });

  it('hides private streams from anonymous callers and from signed-in strangers', async () => {
    const visible = [past[2], past[0]];
    for (const token of [undefined, stranger.token]) {
      const res = await page(host.username, token);
      expect(res.status).toBe(200);
      expect(res.body.isFollowing).toBe(false);
      expect(ids(res.body.pastStreams)).toEqual(visible);
      expect(res.body.liveStream?.streamId).toBe(live);
    }
    // The host sees all of their own.
    expect(ids((await page(host.username, host.token)).body.pastStreams)).toEqual(
      [...past].reverse(),
    );
  });

  it('hides a live private stream from those who may not see it', async () => {
    const other = await registerUser(server);
    const started = await request()('POST', '/api/live/start', {
      token: other.token,
      body: { title: 'secret', isPrivate: true },
    });
    expect((await page(other.username)).body.liveStream).toBeNull();
    expect((await page(other.username, stranger.token)).body.liveStream).toBeNull();
    expect((await page(other.username, other.token)).body.liveStream?.streamId).toBe(
      started.body.streamId,
    );
  });

  it('answers 404 for an unknown username and 400 for one that cannot be a username', async () => {
    const unknown = await page('nobody_by_this_name');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: { code: 'not_found' } });
    const control = await page('bad\u0000name');
    expect(control.status).toBe(400);
    const long = await page('x'.repeat(200));
    expect(long.status).toBe(400);
    // The by-id route is still there beside it.
    expect((await request()('GET', `/api/users/${host.user.id}`)).status).toBe(200);
  });

  it('changes the display name and bio with PATCH /api/me, everywhere the user shows', async () => {
    const me = await registerUser(server);
    const res = await request()('PATCH', '/api/me', {
      token: me.token,
      body: { displayName: '  Ada Lovelace  ', bio: 'Counts things.\nOn air on Fridays.' },
    });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      id: me.user.id,
      username: me.username,
      display_name: 'Ada Lovelace',
      avatar_url: null,
      bio: 'Counts things.\nOn air on Fridays.',
    });
    expect((await request()('GET', '/api/auth/me', { token: me.token })).body.user).toEqual(
      res.body,
    );
    const started = await request()('POST', '/api/live/start', {
      token: me.token,
      body: { title: 'new name' },
    });
    expect(started.body.host.display_name).toBe('Ada Lovelace');

    // One field alone leaves the other; null clears the bio.
    const renamed = await request()('PATCH', '/api/me', {
      token: me.token,
      body: { displayName: 'Ada' },
    });
    expect(renamed.body).toMatchObject({
      display_name: 'Ada',
      bio: 'Counts things.\nOn air on Fridays.',
    });
    const cleared = await request()('PATCH', '/api/me', { token: me.token, body: { bio: null } });
    expect(cleared.body).toMatchObject({ display_name: 'Ada', bio: null });
  });

  it('refuses display names with control or bidi characters, empty changes and anonymous callers, changing nothing', async () => {
    const me = await registerUser(server);
    for (const body of [
      { displayName: 'evil\u202Eeman' },
      { displayName: 'line\nbreak' },
      { displayName: 'nul\u0000' },
      { displayName: '   ' },
      { displayName: 'x'.repeat(61) },
      { bio: 'x'.repeat(501) },
      { bio: 'bell\u0007' },
      {},
      { displayName: 42 },
    ]) {
      const res = await request()('PATCH', '/api/me', { token: me.token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
    const anonymous = await request()('PATCH', '/api/me', { body: { displayName: 'Anyone' } });
    expect(anonymous.status).toBe(401);
    const forged = await request()('PATCH', '/api/me', {
      token: 'forged.token.value',
      body: { displayName: 'Anyone' },
    });
    expect(forged.status).toBe(401);
    expect((await request()('GET', '/api/auth/me', { token: me.token })).body.user).toEqual(
      me.user,
    );
  });
});
