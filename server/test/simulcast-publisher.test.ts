import type { StreamLayer } from '@onair/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RecordingViewer,
  SimulcastFixturePublisher,
  connected,
  waitFor,
} from './support/loopback-peers';
import {
  api,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
} from './support/server';

/** The bench's simulcast publisher is three layers to the server, one per video section. */
describe('SimulcastFixturePublisher', () => {
  let server: TestServer;
  let streamId: string;
  let publisher: SimulcastFixturePublisher;
  let socket: ClientSocket;
  let layers: StreamLayer[] = [];
  const viewers: RecordingViewer[] = [];

  beforeAll(async () => {
    server = await startTestServer();
    const host = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'simulcast fixture' },
    });
    streamId = started.body.streamId;
    socket = await connectSocket(server, host.token);
    socket.on('live_layers', (update) => {
      if (update.streamId === streamId) layers = update.layers;
    });
    await emitAck(socket, 'join_live', { streamId });
    publisher = new SimulcastFixturePublisher();
    const res = await fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${started.body.streamKey}`,
      },
      body: await publisher.offer(),
    });
    expect(res.status).toBe(201);
    await publisher.accept(await res.text());
    publisher.start();
  });
  afterAll(async () => {
    socket?.close();
    await Promise.all(viewers.map((v) => v.close()));
    await publisher?.close();
    await server?.stop();
  });

  it('sends three video sections that the server forwards as three layers, one per quality asked for', async () => {
    expect(publisher.pc.getTransceivers().filter((t) => t.kind === 'video')).toHaveLength(3);
    for (const quality of ['low', 'medium', 'high']) {
      const viewer = new RecordingViewer();
      viewers.push(viewer);
      const { token } = await registerUser(server);
      const res = await fetch(`${server.url}/api/live/${streamId}/whep?quality=${quality}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${token}` },
        body: await viewer.offer(),
      });
      expect(res.status).toBe(201);
      await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      await connected(viewer.pc);
    }
    await waitFor(
      () => viewers.every((v) => v.received('video') > 100 && v.received('audio') > 50),
      15_000,
      'media at every viewer',
    );
    // Each layer carries the whole replay.
    const [low, medium, high] = publisher.sent.video;
    expect(low).toBeGreaterThan(100);
    expect(Math.abs(low! - medium!)).toBeLessThanOrEqual(1);
    expect(Math.abs(low! - high!)).toBeLessThanOrEqual(1);
    await waitFor(
      () => layers.length === 3 && layers.every((l) => l.active && l.viewers === 1),
      10_000,
      `one viewer on each of three active layers (last seen ${JSON.stringify(layers)})`,
    );
  }, 60_000);
});
