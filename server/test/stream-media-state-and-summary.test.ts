import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
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

describe.each(engines)(
  "the broadcaster's camera and microphone, and the end summary, on %s",
  (engine) => {
    let server: TestServer;
    let host: TestUser;
    let viewer: TestUser;
    let other: TestUser;
    const sockets: ClientSocket[] = [];
    const request = () => api(server.url);

    beforeAll(async () => {
      server = await startTestServer({ engine });
      [host, viewer, other] = await Promise.all([
        registerUser(server),
        registerUser(server),
        registerUser(server),
      ]);
    });
    afterAll(async () => {
      for (const socket of sockets) socket.close();
      await server.stop();
    });

    const socketOf = async (token: string | undefined) => {
      const socket = await connectSocket(server, token);
      sockets.push(socket);
      return socket;
    };

    const start = async () => {
      await endLive(server, host);
      const started = await request()('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'camera and microphone' },
      });
      expect(started.body.media).toEqual({ camera: true, microphone: true });
      return started.body.streamId as string;
    };

    it('tells the room when the host turns the camera or microphone off, and keeps it for late joiners', async () => {
      const streamId = await start();
      const hostSocket = await socketOf(host.token);
      const viewerSocket = await socketOf(viewer.token);
      const anonymous = await socketOf(undefined);
      for (const socket of [hostSocket, viewerSocket, anonymous])
        expect(await emitAck(socket, 'join_live', { streamId })).toMatchObject({ ok: true });

      const heardByViewer = nextEvent(viewerSocket, 'live_media_state');
      const heardByAnonymous = nextEvent(anonymous, 'live_media_state');
      const ack = await emitAck(hostSocket, 'live_media_state', {
        streamId,
        camera: false,
        microphone: true,
      });
      expect(ack).toEqual({ ok: true });
      const expected = { streamId, camera: false, microphone: true };
      expect(await heardByViewer).toEqual(expected);
      expect(await heardByAnonymous).toEqual(expected);

      // Stored on the stream: whoever looks later sees it, over REST and when joining.
      const details = await request()('GET', `/api/live/${streamId}`);
      expect(details.body.media).toEqual({ camera: false, microphone: true });
      const late = await socketOf(other.token);
      const joined = await emitAck(late, 'join_live', { streamId });
      expect(joined.stream.media).toEqual({ camera: false, microphone: true });
      const listed = await request()('GET', '/api/live/active');
      expect(listed.body.find((s: { streamId: string }) => s.streamId === streamId).media).toEqual({
        camera: false,
        microphone: true,
      });

      // Back on, both.
      await emitAck(hostSocket, 'live_media_state', { streamId, camera: true, microphone: true });
      expect((await request()('GET', `/api/live/${streamId}`)).body.media).toEqual({
        camera: true,
        microphone: true,
      });
    });

    it("refuses the media state from anyone but the host, and after the stream's end", async () => {
      const streamId = await start();
      const hostSocket = await socketOf(host.token);
      const viewerSocket = await socketOf(viewer.token);
      await emitAck(viewerSocket, 'join_live', { streamId });
      const heard = collect(viewerSocket, 'live_media_state');

      const refused = await emitAck(viewerSocket, 'live_media_state', {
        streamId,
        camera: false,
        microphone: false,
      });
      expect(refused).toMatchObject({ ok: false, error: { code: 'forbidden' } });
      const invalid = await emitAck(hostSocket, 'live_media_state', { streamId, camera: 'off' });
      expect(invalid).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
      await sleep(200);
      expect(heard).toEqual([]);
      expect((await request()('GET', `/api/live/${streamId}`)).body.media).toEqual({
        camera: true,
        microphone: true,
      });

      await request()('POST', `/api/live/end/${streamId}`, { token: host.token });
      const ended = await emitAck(hostSocket, 'live_media_state', {
        streamId,
        camera: false,
        microphone: false,
      });
      expect(ended).toMatchObject({ ok: false, error: { code: 'stream_ended' } });
    });

    it('sums a stream up for its host: duration, peak, unique viewers signed in or not, comments', async () => {
      const streamId = await start();
      const [first, second] = [await socketOf(viewer.token), await socketOf(other.token)];
      const anonymous = await socketOf(undefined);
      for (const socket of [first, second, anonymous])
        expect(await emitAck(socket, 'join_live', { streamId })).toMatchObject({ ok: true });
      // The same user again in another tab, and over REST: still one of them.
      const secondTab = await socketOf(viewer.token);
      await emitAck(secondTab, 'join_live', { streamId });
      await request()('POST', `/api/live/${streamId}/view`, { token: viewer.token });
      for (const [socket, comment] of [
        [first, 'one'],
        [second, 'two'],
        [first, 'three'],
      ] as const)
        expect(await emitAck(socket, 'live_comment', { streamId, comment })).toMatchObject({
          ok: true,
        });

      // Someone leaves and comes back: one viewer, however often they come.
      await emitAck(second, 'leave_live', { streamId });
      await emitAck(second, 'join_live', { streamId });

      const live = await request()('GET', `/api/live/${streamId}/summary`, { token: host.token });
      expect(live.status).toBe(200);
      expect(live.body).toEqual({
        streamId,
        status: 'live',
        duration: expect.any(Number),
        peakViewers: 3,
        uniqueViewers: 3,
        commentCount: 3,
      });

      // The anonymous watcher leaves; another comes, then goes: four distinct viewers in all.
      anonymous.close();
      await expect
        .poll(async () => (await request()('GET', `/api/live/${streamId}`)).body.viewerCount)
        .toBe(2);
      const another = await socketOf(undefined);
      await emitAck(another, 'join_live', { streamId });
      await sleep(1100);
      const ended = await request()('POST', `/api/live/end/${streamId}`, { token: host.token });
      expect(ended.status).toBe(200);
      const after = await request()('GET', `/api/live/${streamId}/summary`, { token: host.token });
      expect(after.body).toEqual({
        streamId,
        status: 'ended',
        duration: ended.body.duration,
        peakViewers: 3,
        uniqueViewers: 4,
        commentCount: 3,
      });
      expect(after.body.duration).toBeGreaterThanOrEqual(1);
      // The plan's viewers[] lists the signed-in ones only, to the host.
      const details = await request()('GET', `/api/live/${streamId}`, { token: host.token });
      expect(details.body.viewers.map((v: { user: { id: string } }) => v.user.id).sort()).toEqual(
        [viewer.user.id, other.user.id].sort(),
      );
    });

    it('shows the summary to the host only', async () => {
      const streamId = await start();
      const forViewer = await request()('GET', `/api/live/${streamId}/summary`, {
        token: viewer.token,
      });
      expect(forViewer.status).toBe(403);
      expect(forViewer.body.error.code).toBe('forbidden');
      const anonymous = await request()('GET', `/api/live/${streamId}/summary`);
      expect(anonymous.status).toBe(401);
      const unknown = await request()(
        'GET',
        '/api/live/00000000-0000-4000-8000-000000000000/summary',
        { token: host.token },
      );
      expect(unknown.status).toBe(404);

      // A private stream is not even there for someone who may not see it.
      await endLive(server, host);
      const hidden = await request()('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'hidden', isPrivate: true },
      });
      const stranger = await request()('GET', `/api/live/${hidden.body.streamId}/summary`, {
        token: other.token,
      });
      expect(stranger.status).toBe(404);
    });
  },
);
