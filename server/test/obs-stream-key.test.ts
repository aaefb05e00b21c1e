/**
 * OBS from one URL: each user's persistent stream key (shown again to its owner, rotated at
 * will), the settings a stream started from OBS takes, and `POST /api/live/whip` starting,
 * refusing and resuming the host's stream with real werift peers.
 */
import type { NextStreamSettings, StreamKeyInfo } from '@onair/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { streamKeys } from '../src/db/schema';
import { connected, RecordingViewer, SyntheticPublisher, waitFor } from './support/loopback-peers';
import {
  api,
  connectSocket,
  emitAck,
  endLive,
  engines,
  nextEvent,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const uuid = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
/** Long enough for a publisher to connect on a busy machine; short enough to wait out. */
const graceSeconds = 5;

const keyOf = async (server: TestServer, user: TestUser): Promise<StreamKeyInfo> => {
  const res = await api(server.url)<StreamKeyInfo>('GET', '/api/me/stream-key', {
    token: user.token,
  });
  expect(res.status).toBe(200);
  return res.body;
};

/** OBS's request: the offer to the one WHIP URL with the persistent key. */
const whip = (server: TestServer, key: string, offer: string) =>
  fetch(`${server.url}/api/live/whip`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: offer,
  });

const streamIdOf = (location: string | null): string => {
  const match = new RegExp(`^/api/live/(${uuid})/whip/(${uuid})$`).exec(location ?? '');
  expect(match, `Location ${location}`).not.toBeNull();
  return match![1]!;
};

describe.each(engines)('persistent stream key and next-stream settings (%s)', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ engine });
  });
  afterAll(() => server?.stop());

  it('shows its owner the same key each time, never anyone else, and a new one after rotation', async () => {
    const request = api(server.url);
    const [alice, bob] = await Promise.all([registerUser(server), registerUser(server)]);
    expect((await request('GET', '/api/me/stream-key')).status).toBe(401);
    expect((await request('POST', '/api/me/stream-key/rotate')).status).toBe(401);

    const first = await request<StreamKeyInfo>('GET', '/api/me/stream-key', { token: alice.token });
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(first.body.streamKey).toMatch(/^onair_[A-Za-z0-9_-]{43}$/);
    expect(first.body.whipUrl).toBe(`${server.url}/api/live/whip`);
    expect(await keyOf(server, alice)).toEqual(first.body);

    const bobs = await keyOf(server, bob);
    expect(bobs.streamKey).not.toBe(first.body.streamKey);

    const rotated = await request<StreamKeyInfo>('POST', '/api/me/stream-key/rotate', {
      token: alice.token,
    });
    expect(rotated.status).toBe(200);
    expect(rotated.body.streamKey).toMatch(/^onair_/);
    expect(rotated.body.streamKey).not.toBe(first.body.streamKey);
    expect((await keyOf(server, alice)).streamKey).toBe(rotated.body.streamKey);
    // Rotating one user's key leaves everyone else's alone.
    expect((await keyOf(server, bob)).streamKey).toBe(bobs.streamKey);

    // The database holds neither key as it is: a copy of it gives nobody a key.
    const rows = await server.database.db.select().from(streamKeys);
    const stored = JSON.stringify(rows);
    expect(rows.length).toBe(2);
    for (const key of [rotated.body.streamKey, bobs.streamKey, first.body.streamKey])
      expect(stored).not.toContain(key.slice('onair_'.length));
  });

  it('names the next stream after the host until told otherwise, and keeps what it is told', async () => {
    const request = api(server.url);
    const user = await registerUser(server);
    const defaults = await request<NextStreamSettings>('GET', '/api/me/next-stream', {
      token: user.token,
    });
    expect(defaults.status).toBe(200);
    expect(defaults.body).toEqual({
      title: `${user.user.display_name} is live`,
      description: '',
      tags: [],
      isPrivate: false,
      record: true,
    });
    expect((await request('GET', '/api/me/next-stream')).status).toBe(401);

    const settings = {
      title: 'Friday build',
      description: 'Wiring the\nnew studio',
      tags: ['obs', 'music'],
      isPrivate: true,
      record: false,
    };
    const put = await request('PUT', '/api/me/next-stream', { token: user.token, body: settings });
    expect(put.status).toBe(200);
    expect(put.body).toEqual(settings);
    expect((await request('GET', '/api/me/next-stream', { token: user.token })).body).toEqual(
      settings,
    );

    for (const bad of [
      { ...settings, title: 'x'.repeat(201) },
      { ...settings, title: 'two\nlines' },
      { ...settings, tags: 'obs' },
      { ...settings, tags: Array.from({ length: 11 }, (_, i) => `t${i}`) },
      { ...settings, isPrivate: 'yes' },
      { ...settings, record: 'no' },
      { ...settings, description: 'd'.repeat(1001) },
    ]) {
      const res = await request('PUT', '/api/me/next-stream', { token: user.token, body: bad });
      expect(res.status, JSON.stringify(bad).slice(0, 80)).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
    const notJson = await request('PUT', '/api/me/next-stream', {
      token: user.token,
      rawBody: '{"title":',
      headers: { 'content-type': 'application/json' },
    });
    expect(notJson.status).toBe(400);
    expect((await request('GET', '/api/me/next-stream', { token: user.token })).body).toEqual(
      settings,
    );

    // An empty title is the default one again.
    const reset = await request('PUT', '/api/me/next-stream', {
      token: user.token,
      body: { title: '  ' },
    });
    expect(reset.status).toBe(200);
    expect(reset.body).toEqual(defaults.body);
  });
});

describe.each(engines)('WHIP with the persistent stream key (%s)', (engine) => {
  let server: TestServer;
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  beforeAll(async () => {
    server = await startTestServer({
      engine,
      env: { PUBLISHER_GRACE_SECONDS: String(graceSeconds) },
    });
    // The media workers start with the first session: not inside the first stream's grace period.
    await server.media.ready();
  });
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });
  afterAll(() => server?.stop());

  /** A werift publisher connected through `POST /api/live/whip`; returns its stream and resource. */
  const publishWithKey = async (key: string) => {
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const res = await whip(server, key, await publisher.offer());
    expect(res.status).toBe(201);
    expect(res.headers.get('content-type')).toMatch(/^application\/sdp/);
    const location = res.headers.get('location');
    const streamId = streamIdOf(location);
    expect(res.headers.get('etag')).toBe(`"${location!.split('/').pop()}"`);
    await publisher.accept(await res.text());
    publisher.start();
    return { publisher, streamId, location: location! };
  };

  const watchOverWhep = async (streamId: string, token: string) => {
    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
      body: await viewer.offer(),
    });
    expect(res.status).toBe(201);
    await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await connected(viewer.pc);
    return viewer;
  };

  it('starts a stream from the next-stream settings that viewers receive and the list shows; a second offer is already_live', async () => {
    const request = api(server.url);
    const [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
    cleanup.push(() => endLive(server, host));
    await request('PUT', '/api/me/next-stream', {
      token: host.token,
      body: { title: 'Straight from OBS', description: 'scenes', tags: ['obs'] },
    });
    const { streamKey } = await keyOf(server, host);

    const { streamId } = await publishWithKey(streamKey);
    const stream = await request('GET', `/api/live/${streamId}`);
    expect(stream.body).toMatchObject({
      streamId,
      status: 'live',
      title: 'Straight from OBS',
      description: 'scenes',
      tags: ['obs'],
      isPrivate: false,
      host: { id: host.user.id },
    });
    const active = await request<{ streamId: string }[]>('GET', '/api/live/active');
    expect(active.body.map((s) => s.streamId)).toContain(streamId);

    const watcher = await watchOverWhep(streamId, viewer.token);
    await waitFor(() => watcher.received('video') > 10, 10_000, 'video at the viewer');
    await waitFor(() => watcher.received('audio') > 10, 10_000, 'audio at the viewer');

    // OBS started twice (or a second machine with the same key): the live stream is not taken over.
    const second = new SyntheticPublisher();
    cleanup.push(() => second.close());
    const refused = await whip(server, streamKey, await second.offer());
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: { code: 'already_live', streamId } });
    expect(server.media.stats()).toMatchObject({ publishers: 1 });
    const before = watcher.received('video');
    await waitFor(() => watcher.received('video') > before + 10, 10_000, 'video still flowing');
  }, 60_000);

  it('keeps a private next stream from strangers', async () => {
    const request = api(server.url);
    const [host, stranger] = await Promise.all([registerUser(server), registerUser(server)]);
    cleanup.push(() => endLive(server, host));
    await request('PUT', '/api/me/next-stream', {
      token: host.token,
      body: { title: 'Followers only', isPrivate: true },
    });
    const { streamId } = await publishWithKey((await keyOf(server, host)).streamKey);
    expect(
      (await request('GET', `/api/live/${streamId}`, { token: host.token })).body,
    ).toMatchObject({ title: 'Followers only', isPrivate: true, status: 'live' });
    expect((await request('GET', `/api/live/${streamId}`, { token: stranger.token })).status).toBe(
      403,
    );
    const active = await request<{ streamId: string }[]>('GET', '/api/live/active', {
      token: stranger.token,
    });
    expect(active.body.map((s) => s.streamId)).not.toContain(streamId);
  }, 30_000);

  it('resumes the same stream when the publisher comes back, and a DELETE ends it after the grace period', async () => {
    const request = api(server.url);
    const [host, viewer] = await Promise.all([registerUser(server), registerUser(server)]);
    cleanup.push(() => endLive(server, host));
    const { streamKey } = await keyOf(server, host);
    const first = await publishWithKey(streamKey);
    const socket = await connectSocket(server, viewer.token);
    cleanup.push(() => socket.close());
    expect((await emitAck(socket, 'join_live', { streamId: first.streamId })).ok).toBe(true);

    const reconnecting = nextEvent(socket, 'broadcaster_reconnecting', undefined, 10_000);
    await first.publisher.close();
    expect(await reconnecting).toEqual({ streamId: first.streamId, graceSeconds });

    const resumed = nextEvent(socket, 'broadcaster_resumed', undefined, 10_000);
    const second = await publishWithKey(streamKey);
    expect(second.streamId).toBe(first.streamId);
    expect(await resumed).toEqual({ streamId: first.streamId });
    const watcher = await watchOverWhep(second.streamId, viewer.token);
    await waitFor(() => watcher.received('video') > 10, 10_000, 'video after the resume');

    // OBS's "Stop Streaming": the stream waits out the grace period, as a dropped publisher does.
    const ended = nextEvent(socket, 'live_ended', undefined, (graceSeconds + 10) * 1000);
    const removed = await fetch(`${server.url}${second.location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${streamKey}` },
    });
    expect(removed.status).toBe(200);
    expect((await request('GET', `/api/live/${second.streamId}`)).body.status).toBe('live');
    expect((await ended).streamId).toBe(second.streamId);
    expect((await request('GET', `/api/live/${second.streamId}`)).body.status).toBe('ended');

    // The next offer starts a new stream.
    const third = await publishWithKey(streamKey);
    expect(third.streamId).not.toBe(first.streamId);
  }, 60_000);

  it('refuses wrong and rotated keys alike, without cutting the broadcast a rotation finds live', async () => {
    const request = api(server.url);
    const host = await registerUser(server);
    cleanup.push(() => endLive(server, host));
    const offer = await new SyntheticPublisher().offer();
    const refusals = await Promise.all(
      [
        `onair_${'A'.repeat(43)}`,
        'not-a-key',
        // The host's access token is not a stream key.
        host.token,
      ].map((key) => whip(server, key, offer)),
    );
    const bodies = await Promise.all(refusals.map((r) => r.json()));
    expect(refusals.map((r) => r.status)).toEqual([401, 401, 401]);
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    const anonymous = await fetch(`${server.url}/api/live/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: offer,
    });
    expect(anonymous.status).toBe(401);

    const old = (await keyOf(server, host)).streamKey;
    const live = await publishWithKey(old);
    const rotated = await request<StreamKeyInfo>('POST', '/api/me/stream-key/rotate', {
      token: host.token,
    });
    expect(rotated.status).toBe(200);
    // The broadcast on the old key goes on...
    await new Promise((r) => setTimeout(r, 500));
    expect(live.publisher.pc.connectionState).toBe('connected');
    expect((await request('GET', `/api/live/${live.streamId}`)).body.status).toBe('live');
    // ...but the old key opens nothing new, and says no more than an unknown key does.
    const stale = await whip(server, old, await new SyntheticPublisher().offer());
    expect(stale.status).toBe(401);
    expect(JSON.stringify(await stale.json())).toBe(JSON.stringify(bodies[0]));
    const withNew = await whip(server, rotated.body.streamKey, offer);
    expect(withNew.status).toBe(409);

    await endLive(server, host);
    const after = await whip(server, old, offer);
    expect(after.status).toBe(401);
    const streams = await request<{ status: string }[]>('GET', `/api/live/user/${host.user.id}`, {
      token: host.token,
    });
    expect(streams.body.filter((s) => s.status === 'live')).toEqual([]);
  }, 60_000);

  it('keeps the per-stream key from /start working beside the persistent one', async () => {
    const request = api(server.url);
    const host = await registerUser(server);
    cleanup.push(() => endLive(server, host));
    const started = await request('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'from the web' },
    });
    expect(started.status).toBe(201);
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const res = await fetch(`${server.url}/api/live/${started.body.streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await publisher.offer(),
    });
    expect(res.status).toBe(201);
    await publisher.accept(await res.text());
    // With a publisher on it, the persistent key meets the same stream as already live.
    const viaKey = await whip(
      server,
      (await keyOf(server, host)).streamKey,
      await new SyntheticPublisher().offer(),
    );
    expect(viaKey.status).toBe(409);
    expect(((await viaKey.json()) as { error: { streamId: string } }).error.streamId).toBe(
      started.body.streamId,
    );
  }, 30_000);
});
