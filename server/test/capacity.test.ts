import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type TestServer,
} from './support/server';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Two nodes of one deployment (one PostgreSQL database, one Redis), each taking `cap` viewers. */
async function twoNodes(cap: number) {
  const shared = {
    ...clusterEnv(),
    MEDIA_WORKERS: '1',
    MEDIA_MAX_VIEWERS_PER_NODE: String(cap),
  };
  const a = await startTestServer({ engine: 'postgres', env: { ...shared, NODE_ID: 'cap-a' } });
  cleanup.push(() => a.stop());
  const b = await startTestServer({
    env: { ...shared, NODE_ID: 'cap-b', DATABASE_URL: a.databaseUrl! },
  });
  cleanup.push(() => b.close());
  await waitFor(() => a.registry.isAlive('cap-b') && b.registry.isAlive('cap-a'), 5000, 'peers');
  return { a, b };
}

/** A public stream started and published over WHIP on `node`: its media lives there. */
async function publishedOn(node: TestServer): Promise<string> {
  const host = await registerUser(node);
  const started = await api(node.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: `media on ${node.nodeId}` },
  });
  const streamId: string = started.body.streamId;
  const publisher = new SyntheticPublisher();
  cleanup.push(() => publisher.close());
  const res = await fetch(`${node.url}/api/live/${streamId}/whip`, {
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
  await waitFor(() => node.media.streamIds().includes(streamId), 5000, 'media');
  return streamId;
}

/** An anonymous WHEP viewer posting to `node`; `redirect: 'manual'` shows a redirect as it is. */
async function whep(node: TestServer, streamId: string, redirect: 'follow' | 'manual' = 'follow') {
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const res = await fetch(`${node.url}/api/live/${streamId}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp' },
    body: await viewer.offer(),
    redirect,
  });
  return { res, viewer };
}

/** Waits until `observer` has heard `node` announce `viewers` media viewers. */
const seenWith = (observer: TestServer, node: TestServer, viewers: number) =>
  waitFor(
    () => observer.registry.nodes().find((n) => n.nodeId === node.nodeId)?.mediaViewers === viewers,
    5000,
    `${node.nodeId} seen with ${viewers} viewers`,
  );

describe.runIf(Boolean(process.env.DATABASE_URL))('media capacity per node', () => {
  it('sends a WHEP viewer of a full node to the node with room, where it watches; 503 when none has room', async () => {
    const { a, b } = await twoNodes(1);
    const onA = await publishedOn(a);
    const onB = await publishedOn(b);
    // A takes its one viewer.
    const first = await whep(a, onA);
    expect(first.res.status).toBe(201);
    expect(a.media.stats().subscribers).toBe(1);

    // Full: the next viewer is sent to B at the same path, with the method and the offer kept.
    const manual = await whep(a, onB, 'manual');
    expect(manual.res.status).toBe(307);
    expect(manual.res.headers.get('location')).toBe(`${b.url}/api/live/${onB}/whep`);
    expect(a.media.stats().subscribers).toBe(1);

    // A signed-in WHEP viewer is told to come back instead: its client would drop the token on
    // a redirect to another origin, and arrive at B as someone else.
    const fan = await registerUser(a);
    const signedIn = await fetch(`${a.url}/api/live/${onB}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${fan.token}` },
      body: await new RecordingViewer().offer(),
      redirect: 'manual',
    });
    expect(signedIn.status).toBe(503);
    expect(signedIn.headers.get('retry-after')).toBe('5');

    // A WHEP client following the redirect posts its offer to B and watches there. (Until media
    // is relayed between nodes, B has media only for streams published on B, as this one is.)
    const sent = await whep(a, onB);
    expect(sent.res.status).toBe(201);
    expect(sent.res.url).toBe(`${b.url}/api/live/${onB}/whep`);
    expect(sent.res.headers.get('location')).toMatch(new RegExp(`^/api/live/${onB}/whep/`));
    await sent.viewer.pc.setRemoteDescription({ type: 'answer', sdp: await sent.res.text() });
    await connected(sent.viewer.pc);
    await waitFor(() => sent.viewer.received('video') > 10, 10_000, 'media on B');
    expect(b.media.stats().subscribers).toBe(1);
    expect(a.media.stats().subscribers).toBe(1);

    // Both full: nobody takes a viewer, and the client is told when to ask again.
    await seenWith(a, b, 1);
    const refused = await whep(a, onA);
    expect(refused.res.status).toBe(503);
    expect(refused.res.headers.get('retry-after')).toBe('5');
    expect(await refused.res.json()).toMatchObject({ error: { code: 'unavailable' } });
    expect(a.media.stats().subscribers).toBe(1);

    // A viewer leaves B: once B has said so, A sends the next one there again.
    const resource = sent.res.headers.get('location')!;
    expect((await fetch(`${b.url}${resource}`, { method: 'DELETE' })).status).toBe(200);
    await seenWith(a, b, 0);
    expect((await whep(a, onB, 'manual')).res.status).toBe(307);
  }, 60_000);

  it('refuses a socket watch at a full node with the URL of a node with room, and the watch succeeds there', async () => {
    const { a, b } = await twoNodes(1);
    const onA = await publishedOn(a);
    const onB = await publishedOn(b);
    expect((await whep(a, onA)).res.status).toBe(201);

    const fan = await registerUser(a);
    const socketA = await connectSocket(a, fan.token);
    cleanup.push(() => socketA.close());
    const refused = await emitAck(socketA, 'live_offer', { streamId: onB });
    expect(refused).toMatchObject({ ok: false, error: { code: 'unavailable', nodeUrl: b.url } });
    expect(a.media.stats().subscribers).toBe(1);

    // The web app's way: a socket of its own to the node named, for the media only.
    const socketB = await connectSocket({ url: refused.error.nodeUrl }, fan.token);
    cleanup.push(() => socketB.close());
    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    const offer = await emitAck(socketB, 'live_offer', { streamId: onB });
    expect(offer.ok).toBe(true);
    const answer = await viewer.answer(offer.description.sdp);
    expect(
      await emitAck(socketB, 'live_answer', {
        streamId: onB,
        description: { type: 'answer', sdp: answer },
      }),
    ).toMatchObject({ ok: true });
    await connected(viewer.pc);
    await waitFor(() => viewer.received('video') > 10, 10_000, 'media on B');

    // B full too: no node is named, only when to ask again.
    await seenWith(a, b, 1);
    expect(await emitAck(socketA, 'live_offer', { streamId: onA })).toMatchObject({
      ok: false,
      error: { code: 'unavailable', retryAfterSeconds: 5 },
    });
    // A viewer's count is exact: the refused requests left none behind, on either node.
    expect(a.media.stats().subscribers).toBe(1);
    expect(b.media.stats().subscribers).toBe(1);
  }, 60_000);

  it('sends a viewer to the node with the most room, never to a draining one', async () => {
    const shared = { ...clusterEnv(), MEDIA_WORKERS: '1' };
    const node = async (id: string, cap: number, databaseUrl?: string) => {
      const env = { ...shared, NODE_ID: id, MEDIA_MAX_VIEWERS_PER_NODE: String(cap) };
      const server = databaseUrl
        ? await startTestServer({ env: { ...env, DATABASE_URL: databaseUrl } })
        : await startTestServer({ engine: 'postgres', env });
      cleanup.push(() => server.stop());
      return server;
    };
    const a = await node('room-a', 1);
    const b = await node('room-b', 2, a.databaseUrl);
    const c = await node('room-c', 5, a.databaseUrl);
    await waitFor(() => a.registry.nodes().length === 3, 5000, 'three nodes');
    const onA = await publishedOn(a);
    expect((await whep(a, onA)).res.status).toBe(201);

    const target = async () => (await whep(a, onA, 'manual')).res.headers.get('location');
    expect(await target()).toBe(`${c.url}/api/live/${onA}/whep`);
    // C drains (nothing holds it): once A has heard so, B is the one with room.
    await c.drain(0);
    await waitFor(
      () => a.registry.nodes().find((n) => n.nodeId === 'room-c')?.draining === true,
      5000,
      'C seen draining',
    );
    expect(await target()).toBe(`${b.url}/api/live/${onA}/whep`);
  }, 60_000);

  it('holds the cap against viewers arriving at once', async () => {
    const { a } = await twoNodes(3);
    const onA = await publishedOn(a);
    // Ten offers racing: three are taken, the others are sent to B (which has room).
    const answers = await Promise.all(Array.from({ length: 10 }, () => whep(a, onA, 'manual')));
    const statuses = answers.map(({ res }) => res.status).sort();
    expect(statuses).toEqual([201, 201, 201, 307, 307, 307, 307, 307, 307, 307]);
    expect(a.media.stats().subscribers).toBe(3);
  }, 60_000);
});
