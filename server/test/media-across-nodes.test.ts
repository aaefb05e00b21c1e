import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveKey } from '../src/auth/secret-box';
import { ConfigError, loadConfig } from '../src/config';
import { RelayCipher, relayKeyPurpose } from '../src/media/RelayCipher';
import { relayType } from '../src/media/StreamRelay';
import { startEntryPoint } from './support/entry-point';
import { RecordingViewer, connected, waitFor } from './support/loopback-peers';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { isVp8KeyframeStart } from './support/rtp-fixture';
import { publishOverSocket, republishOverSocket } from './support/socket-publisher';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Node = Pick<TestServer, 'url'>;

/** Nodes of one deployment on one PostgreSQL database and one Redis; the first makes the database. */
async function nodes(count: number, workers: number[] = []) {
  const shared: Record<string, string> = { ...clusterEnv(), MEDIA_WORKERS: '1' };
  const first = await startTestServer({
    engine: 'postgres',
    env: { ...shared, MEDIA_WORKERS: String(workers[0] ?? 1) },
  });
  cleanup.push(() => first.stop());
  const all = [first];
  for (let i = 1; i < count; i += 1) {
    const node = await startTestServer({
      env: { ...shared, DATABASE_URL: first.databaseUrl!, MEDIA_WORKERS: String(workers[i] ?? 1) },
    });
    cleanup.push(() => node.close());
    all.push(node);
  }
  return { shared, all };
}

const socketOf = async (server: Node, token: string): Promise<ClientSocket> => {
  const socket = await connectSocket(server, token);
  cleanup.push(() => socket.close());
  return socket;
};

/** A stream started and published over the host's socket on `node`, as the web app does. */
async function publishOn(node: Node) {
  const host = await registerUser(node);
  const started = await api(node.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: 'across nodes' },
  });
  expect(started.status).toBe(201);
  const streamId: string = started.body.streamId;
  const hostSocket = await socketOf(node, host.token);
  await emitAck(hostSocket, 'join_live', { streamId });
  const publisher = await publishOverSocket(hostSocket, streamId);
  cleanup.push(() => publisher.close());
  return { host, streamId, publisher, hostSocket };
}

/** A fan watching over their socket on `node` (the web app's way), once media arrives. */
async function watchOn(
  node: Node,
  streamId: string,
): Promise<RecordingViewer & { socket: ClientSocket }> {
  const fan: TestUser = await registerUser(node);
  const fanSocket = await socketOf(node, fan.token);
  await emitAck(fanSocket, 'join_live', { streamId });
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  const offer = await emitAck(fanSocket, 'live_offer', { streamId });
  expect(offer).toMatchObject({ ok: true });
  const answer = await viewer.answer(offer.description.sdp);
  await emitAck(fanSocket, 'live_answer', {
    streamId,
    description: { type: 'answer', sdp: answer },
  });
  await connected(viewer.pc);
  await waitFor(
    () => viewer.received('video') > 20 && viewer.received('audio') > 10,
    10_000,
    `media on ${node.url}`,
  );
  return Object.assign(viewer, { socket: fanSocket });
}

/** An anonymous WHEP player watching on `node`, once media arrives; `leave` deletes its resource. */
async function watchOverWhep(node: Node, streamId: string) {
  const viewer = new RecordingViewer();
  cleanup.push(() => viewer.close());
  let firstVideo: { payload: Buffer; at: number } | undefined;
  viewer.pc.onTrack.subscribe((track) =>
    track.onReceiveRtp.subscribe((packet) => {
      if (track.kind === 'video') firstVideo ??= { payload: packet.payload, at: performance.now() };
    }),
  );
  const res = await fetch(`${node.url}/api/live/${streamId}/whep`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp' },
    body: await viewer.offer(),
  });
  expect(res.status).toBe(201);
  await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
  await connected(viewer.pc);
  const connectedAt = performance.now();
  await waitFor(() => viewer.received('video') > 20, 10_000, `WHEP media on ${node.url}`);
  const location = res.headers.get('location')!;
  const leave = async () =>
    expect((await fetch(new URL(location, node.url), { method: 'DELETE' })).status).toBe(200);
  return Object.assign(viewer, { leave, connectedAt, firstVideo: () => firstVideo });
}

const sum = async (node: TestServer, figure: 'nodeRelayEdges' | 'nodeRelayPulls') =>
  (await node.media.workerStats()).reduce((total, stats) => total + stats[figure], 0);

const eventually = async (check: () => Promise<boolean>, ms: number, what: string) => {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
};

/** 16-bit sequence distance from `a` forward to `b`. */
const ahead = (a: number, b: number) => (b - a + 0x10000) % 0x10000;

// Media used to exist only on the node where it was published: other nodes answered 409 no_publisher.
describe.runIf(Boolean(process.env.DATABASE_URL))('media across nodes', () => {
  it('serves viewers on three nodes of a stream published on one, one relay flow per node', async () => {
    const { all } = await nodes(3, [1, 2, 1]);
    const [a, b, c] = all as [TestServer, TestServer, TestServer];
    const { streamId } = await publishOn(a);
    await waitFor(() => a.media.stats().publishers === 1, 10_000, 'publisher on A');

    const viewers: RecordingViewer[] = [
      await watchOn(a, streamId),
      await watchOn(b, streamId),
      await watchOn(b, streamId),
    ];
    const onC = await watchOverWhep(c, streamId);
    viewers.push(onC);
    // The first viewer on C got a picture at once: the group of pictures A sent when C's pull
    // began, not the publisher's next keyframe.
    const first = onC.firstVideo();
    expect(first && isVp8KeyframeStart(first.payload)).toBe(true);
    expect(first!.at - onC.connectedAt).toBeLessThan(500);
    // B's two viewers are on its two workers: one pulls from A, the other is fed over loopback.
    expect(b.media.stats()).toMatchObject({ streams: 1, publishers: 0, subscribers: 2 });
    expect((await b.media.workerStats()).map((s) => s.subscribers).sort()).toEqual([1, 1]);
    // One flow per node, never one per viewer: A sends to B and C once each.
    expect(await sum(a, 'nodeRelayEdges')).toBe(2);
    expect(await sum(b, 'nodeRelayPulls')).toBe(1);
    expect(await sum(c, 'nodeRelayPulls')).toBe(1);

    // Every viewer gets the same packets, in order, as the viewer on the publisher's node.
    const marks = viewers.map((v) => v.payloadIndexes.length);
    await sleep(1500);
    const windows = viewers.map((v, i) => v.payloadIndexes.slice(marks[i]));
    for (const window of windows) expect(window.length).toBeGreaterThan(60);
    const common = windows.reduce((shared, w) => shared.filter((x) => w.includes(x)));
    expect(common.length).toBeGreaterThan(60);

    // Nobody left watching on C: C stops pulling and A stops sending to it.
    await onC.leave();
    await waitFor(() => c.media.stats().streams === 0, 20_000, 'C to let the stream go');
    await eventually(async () => (await sum(a, 'nodeRelayEdges')) === 1, 5000, 'A to stop');
    const stillOnB = viewers[1]!.received('video');
    await waitFor(() => viewers[1]!.received('video') > stillOnB + 20, 3000, 'B still served');
  }, 60_000);

  it('drops and counts a relay datagram not sealed with the deployment key', async () => {
    const { all } = await nodes(2);
    const [a, b] = all as [TestServer, TestServer];
    const { streamId } = await publishOn(a);
    await waitFor(() => a.media.stats().publishers === 1, 10_000, 'publisher on A');
    const viewer = await watchOn(b, streamId);
    const [stats] = await b.media.workerStats();
    const port = stats!.nodeRelayPort;
    expect(port).toBeGreaterThan(0);
    const rejectedBefore = stats!.nodeRelayRejected;

    // A video packet whose payload says 0xdeadbeef, sealed with another deployment's key, on
    // every channel B may have given the stream; and a datagram of noise.
    const forger = new RelayCipher(deriveKey('another-deployment-secret-of-32-chars!', 'x'));
    const rtp = Buffer.alloc(40);
    rtp[0] = 0x80;
    rtp[1] = 96;
    rtp.writeUInt16BE(1, 2);
    rtp.writeUInt32BE(0x1234, 8);
    rtp.writeUInt32BE(0xdeadbeef, 16);
    const socket = createSocket('udp4');
    cleanup.push(() => socket.close());
    const sendTo = (datagram: Buffer) =>
      new Promise<void>((resolve, reject) =>
        socket.send(datagram, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())),
      );
    for (let channel = 1; channel <= 4; channel += 1)
      await sendTo(forger.seal(relayType.videoKeyframe, channel, rtp));
    await sendTo(Buffer.from('not a relay datagram at all, just noise'));

    const rejected = async () => (await b.media.workerStats())[0]?.nodeRelayRejected ?? 0;
    await eventually(async () => (await rejected()) - rejectedBefore === 5, 3000, 'rejections');
    const metrics = await fetch(`${b.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/onair_media_node_relay_rejected_total [5-9]/);
    const flowing = viewer.received('video');
    await waitFor(() => viewer.received('video') > flowing + 20, 3000, 'media still flowing');
    expect(viewer.payloadIndexes).not.toContain(0xdeadbeef);
  }, 40_000);

  it('answers an edge’s NACK from the origin’s history, and stops sending when the edge lets go', async () => {
    const { shared, all } = await nodes(1);
    const [a] = all as [TestServer];
    const { streamId } = await publishOn(a);
    await waitFor(() => a.media.stats().publishers === 1, 10_000, 'publisher on A');
    await waitFor(() => a.media.originOf(streamId) !== undefined, 5000, 'the origin');
    const origin = a.media.originOf(streamId)!;

    // This test is the edge: it holds the deployment's key, as every node does.
    const cipher = new RelayCipher(deriveKey(shared.JWT_SECRET!, relayKeyPurpose));
    const edge = createSocket('udp4');
    cleanup.push(() => edge.close());
    await new Promise<void>((resolve) => edge.bind(0, '127.0.0.1', resolve));
    const video: number[] = [];
    edge.on('message', (datagram) => {
      const opened = cipher.open(datagram);
      // Between nodes a stream is named by its channel on the origin, both ways.
      if (opened?.channel !== origin.channel) return;
      if (opened.type === relayType.video || opened.type === relayType.videoKeyframe)
        video.push(opened.body.readUInt16BE(2));
    });
    const toOrigin = (type: number, body: Buffer) =>
      edge.send(cipher.seal(type, origin.channel, body), origin.port, origin.address);
    const pull = Buffer.alloc(8);
    pull.writeDoubleBE(Date.now(), 0);
    toOrigin(relayType.subscribe, pull);
    await waitFor(() => video.length > 60, 5000, 'the stream at the edge');
    expect(await sum(a, 'nodeRelayEdges')).toBe(1);

    const lost = video.at(-20)!;
    const nack = Buffer.alloc(3);
    nack[0] = 1;
    nack.writeUInt16BE(lost, 1);
    toOrigin(relayType.nack, nack);
    await waitFor(() => video.filter((s) => s === lost).length === 2, 2000, 'the resent packet');

    toOrigin(relayType.unsubscribe, Buffer.alloc(0));
    await sleep(300);
    const stoppedAt = video.length;
    await sleep(500);
    expect(video.length).toBe(stoppedAt);
    expect(await sum(a, 'nodeRelayEdges')).toBe(0);
  }, 40_000);

  it('serves a viewer who joins on the node the publisher left from the node it went to', async () => {
    const { all } = await nodes(2);
    const [a, b] = all as [TestServer, TestServer];
    const { host, streamId, hostSocket } = await publishOn(a);
    await waitFor(() => a.media.stats().publishers === 1, 10_000, 'publisher on A');
    // The broadcaster's tab closes on A (its publisher goes with it) and comes back on B.
    hostSocket.close();
    await waitFor(() => a.media.stats().publishers === 0, 5000, 'publisher gone from A');
    const backOnB = await socketOf(b, host.token);
    await emitAck(backOnB, 'join_live', { streamId });
    cleanup.push(await publishOverSocket(backOnB, streamId).then((p) => () => p.close()));
    await waitFor(() => b.media.stats().publishers === 1, 10_000, 'publisher on B');

    // A holds nothing stale of the stream: its new viewer is fed from B.
    await waitFor(() => a.media.stats().streams === 0, 3000, 'A to forget the stream');
    await watchOn(a, streamId);
    expect(await sum(a, 'nodeRelayPulls')).toBe(1);
  }, 40_000);

  it('keeps edge viewers in their sessions when the origin is killed and the publisher returns on another node', async () => {
    const { shared, all } = await nodes(2);
    const [b, c] = all as [TestServer, TestServer];
    // The origin is a node process of its own, so it can die as a machine does.
    const dataDir = mkdtempSync(path.join(tmpdir(), 'onair-origin-'));
    cleanup.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const a = await startEntryPoint({
      ...shared,
      DATA_DIR: dataDir,
      DATABASE_URL: b.databaseUrl!,
      REDIS_URL: shared.REDIS_URL!,
    });
    cleanup.push(() => a.stop());
    const { host, streamId, publisher } = await publishOn(a);
    const onB = await watchOn(b, streamId);
    const onC = await watchOn(c, streamId);
    const newSessions: string[] = [];
    const count = (sessionId: string) => newSessions.push(sessionId);
    b.media.on('subscriber_connected', count);
    c.media.on('subscriber_connected', count);
    cleanup.push(() => {
      b.media.off('subscriber_connected', count);
      c.media.off('subscriber_connected', count);
    });

    process.kill(a.pid, 'SIGKILL');
    await a.exited;
    await publisher.close();
    await sleep(500);
    const lastOnB = onB.sequences.video.at(-1)!;
    const lastOnC = onC.sequences.video.at(-1)!;
    const before = { b: onB.received('video'), c: onC.received('video') };

    // The broadcaster's app reconnects to B and publishes again.
    const hostSocket = await socketOf(b, host.token);
    await emitAck(hostSocket, 'join_live', { streamId });
    // Refused (`conflict`) until B sees A gone: A's session still holds the stream's claim.
    const { publisher: again, acceptedAt: returnedAt } = await republishOverSocket(
      hostSocket,
      streamId,
    );
    cleanup.push(() => again.close());
    await waitFor(
      () => onB.received('video') > before.b + 30 && onC.received('video') > before.c + 30,
      5000,
      'media on B and C again',
    );
    const resumedMs = Date.now() - returnedAt;
    expect(resumedMs).toBeLessThan(5000);

    // The same sessions: none opened, and each viewer's numbering runs on from where it stopped.
    expect(newSessions).toEqual([]);
    expect(b.media.stats()).toMatchObject({ publishers: 1, subscribers: 1 });
    expect(c.media.stats()).toMatchObject({ publishers: 0, subscribers: 1 });
    expect(ahead(lastOnB, onB.sequences.video[before.b]!)).toBeLessThan(100);
    expect(ahead(lastOnC, onC.sequences.video[before.c]!)).toBeLessThan(100);
    expect(await sum(b, 'nodeRelayEdges')).toBe(1);
    expect(await sum(b, 'nodeRelayPulls')).toBe(0);
  }, 60_000);
});

describe('relay settings', () => {
  it('refuse a half or reversed port range, one too small for the workers, or an address that is none', () => {
    const refused: [Record<string, string>, RegExp][] = [
      [{ RELAY_PORT_MIN: '40000' }, /RELAY_PORT_MIN.*set both/],
      [{ RELAY_PORT_MAX: '40000' }, /RELAY_PORT_MIN.*set both/],
      [{ RELAY_PORT_MIN: '40010', RELAY_PORT_MAX: '40000' }, /RELAY_PORT_MIN.*exceed/],
      [
        { RELAY_PORT_MIN: '40000', RELAY_PORT_MAX: '40001', MEDIA_WORKERS: '3' },
        /RELAY_PORT_MIN.*one port per media worker/,
      ],
      [{ RELAY_ADDRESS: 'relay.example' }, /RELAY_ADDRESS/],
    ];
    for (const [env, message] of refused) {
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(ConfigError);
      expect(() => loadConfig(env), JSON.stringify(env)).toThrow(message);
    }
  });

  it('announce RELAY_ADDRESS, else ANNOUNCED_IP, else HOST when it is one address, else 127.0.0.1', () => {
    const address = (env: Record<string, string>) => loadConfig(env).nodeRelay.address;
    expect(address({ RELAY_ADDRESS: '10.0.0.2', ANNOUNCED_IP: '203.0.113.5' })).toBe('10.0.0.2');
    expect(address({ ANNOUNCED_IP: '203.0.113.5', HOST: '10.0.0.3' })).toBe('203.0.113.5');
    expect(address({ HOST: '10.0.0.3' })).toBe('10.0.0.3');
    expect(address({ HOST: '0.0.0.0' })).toBe('127.0.0.1');
    expect(
      loadConfig({ RELAY_PORT_MIN: '40000', RELAY_PORT_MAX: '40003', MEDIA_WORKERS: '4' }).nodeRelay
        .ports,
    ).toEqual([40000, 40003]);
  });
});
