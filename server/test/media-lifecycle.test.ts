import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  collect,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
} from './support/server';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';

/** Successive sequence numbers differ by exactly one (mod 2^16): nothing skipped, nothing repeated. */
const gapsIn = (sequences: number[]): number[] =>
  sequences.slice(1).flatMap((seq, i) => {
    const step = (seq - (sequences[i] as number) + 0x10000) & 0xffff;
    return step === 1 ? [] : [step];
  });

describe('publisher lifecycle', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const setup = async (graceSeconds: number) => {
    const server: TestServer = await startTestServer({
      env: { PUBLISHER_GRACE_SECONDS: String(graceSeconds) },
    });
    cleanup.push(() => server.stop());
    const host = await registerUser(server);
    const viewer = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'lifecycle' },
    });
    const streamId: string = started.body.streamId;
    const hostSocket = await connectSocket(server, host.token);
    const viewerSocket = await connectSocket(server, viewer.token);
    cleanup.push(
      () => hostSocket.close(),
      () => viewerSocket.close(),
    );
    await emitAck(hostSocket, 'join_live', { streamId });
    await emitAck(viewerSocket, 'join_live', { streamId });
    return { server, host, viewer, streamId, hostSocket, viewerSocket };
  };

  const publish = async (socket: ClientSocket, streamId: string) => {
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const res = await emitAck(socket, 'live_offer', {
      streamId,
      description: { type: 'offer', sdp: await publisher.offer() },
    });
    expect(res.ok).toBe(true);
    await publisher.accept(res.description.sdp);
    publisher.start();
    return publisher;
  };

  const watch = async (socket: ClientSocket, streamId: string) => {
    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    const offer = await emitAck(socket, 'live_offer', { streamId });
    expect(offer.ok).toBe(true);
    const answer = await viewer.answer(offer.description.sdp);
    expect(
      (
        await emitAck(socket, 'live_answer', {
          streamId,
          description: { type: 'answer', sdp: answer },
        })
      ).ok,
    ).toBe(true);
    await connected(viewer.pc);
    return viewer;
  };

  it('keeps the stream through a publisher reconnect: viewers are told, and their sequence numbers run on', async () => {
    const { server, streamId, hostSocket, viewerSocket } = await setup(30);
    const first = await publish(hostSocket, streamId);
    const viewer = await watch(viewerSocket, streamId);
    await waitFor(() => viewer.received('video') > 60, 10_000, 'video before the drop');

    const reconnecting = nextEvent(viewerSocket, 'broadcaster_reconnecting', undefined, 10_000);
    await first.close();
    // Tab closed without a goodbye: the server notices the silence, or the closed transport.
    expect(await reconnecting).toEqual({ streamId, graceSeconds: 30 });
    const details = await api(server.url)('GET', `/api/live/${streamId}`);
    expect(details.body.status).toBe('live');

    const before = viewer.received('video');
    const resumed = nextEvent(viewerSocket, 'broadcaster_resumed');
    const second = await publish(hostSocket, streamId);
    expect(await resumed).toEqual({ streamId });
    await waitFor(
      () => viewer.received('video') > before + 60,
      10_000,
      'video after the reconnect',
    );
    second.stop();

    // The second publisher numbers its packets from scratch; the viewer must not see that.
    expect(gapsIn(viewer.sequences.video)).toEqual([]);
    expect(gapsIn(viewer.sequences.audio).filter((step) => step > 3)).toEqual([]);
    expect(server.media.stats()).toMatchObject({ streams: 1, publishers: 1, subscribers: 1 });
  }, 60_000);

  it('ends the stream when the publisher does not return within the grace period, and frees everything', async () => {
    // A new stream also has this long to get its first publisher connected.
    const { server, streamId, hostSocket, viewerSocket } = await setup(4);
    const publisher = await publish(hostSocket, streamId);
    const viewer = await watch(viewerSocket, streamId);
    await waitFor(() => viewer.received('video') > 10, 10_000, 'video');
    const ended = nextEvent(viewerSocket, 'live_ended', undefined, 10_000);
    await publisher.close();
    expect((await ended).streamId).toBe(streamId);
    const details = await api(server.url)('GET', `/api/live/${streamId}`);
    expect(details.body.status).toBe('ended');
    expect(server.media.stats()).toEqual({ streams: 0, publishers: 0, subscribers: 0 });
    // Nothing more reaches the viewer once its connection is closed on the server.
    const received = viewer.received('video');
    await new Promise((r) => setTimeout(r, 500));
    expect(viewer.received('video')).toBe(received);
  }, 60_000);

  it('ending a stream closes every connection of it at once', async () => {
    const { server, streamId, hostSocket, viewerSocket } = await setup(30);
    await publish(hostSocket, streamId);
    await watch(viewerSocket, streamId);
    expect(server.media.stats()).toMatchObject({ streams: 1, publishers: 1, subscribers: 1 });
    const reconnecting = collect(viewerSocket, 'broadcaster_reconnecting');
    expect((await emitAck(hostSocket, 'end_live', { streamId })).ok).toBe(true);
    expect(server.media.stats()).toEqual({ streams: 0, publishers: 0, subscribers: 0 });
    await new Promise((r) => setTimeout(r, 300));
    // Ending is not a dropped publisher: nobody is told to wait for it.
    expect(reconnecting).toEqual([]);
  });

  it('a viewer leaving frees its connection at once; WHEP sessions count as viewers', async () => {
    const { server, viewer, streamId, hostSocket, viewerSocket } = await setup(30);
    await publish(hostSocket, streamId);
    await watch(viewerSocket, streamId);
    expect(server.media.stats().subscribers).toBe(1);
    expect((await emitAck(viewerSocket, 'leave_live', { streamId })).ok).toBe(true);
    expect(server.media.stats().subscribers).toBe(0);

    const third = await registerUser(server);
    const whepViewer = new RecordingViewer();
    cleanup.push(() => whepViewer.close());
    const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${third.token}` },
      body: await whepViewer.offer(),
    });
    expect(res.status).toBe(201);
    await whepViewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
    await connected(whepViewer.pc);
    await waitFor(() => whepViewer.received('video') > 10, 10_000, 'WHEP video');
    const count = async () =>
      (await api(server.url)('GET', `/api/live/${streamId}`)).body.viewerCount;
    expect(await count()).toBe(1);
    // Someone else cannot end my WHEP session.
    const location = res.headers.get('location')!;
    const foreign = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${viewer.token}` },
    });
    expect(foreign.status).toBe(403);
    const deleted = await fetch(`${server.url}${location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${third.token}` },
    });
    expect(deleted.status).toBe(200);
    expect(server.media.stats().subscribers).toBe(0);
    await waitFor(() => false, 200).catch(() => undefined);
    expect(await count()).toBe(0);
  });
});
