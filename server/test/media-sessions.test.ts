import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  api,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
  type TestServer,
  type TestServerOptions,
  type TestUser,
} from './support/server';
import { RecordingViewer, SyntheticPublisher, connected, waitFor } from './support/loopback-peers';

/** The local addresses (hex, as in /proc/net/udp) of every UDP socket the processes hold. */
function udpAddressesOf(pids: number[]): string[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const link = readlinkSync(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
        if (inode) inodes.add(inode);
      } catch {
        // closed while we looked
      }
    }
  }
  const addresses: string[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const row of readFileSync(table, 'utf8').split('\n').slice(1)) {
      const cols = row.trim().split(/\s+/);
      if (cols[9] && inodes.has(cols[9]) && cols[1]) addresses.push(cols[1].split(':')[0]!);
    }
  }
  return addresses;
}

describe('media sessions are bounded and released', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  const live = async (options: TestServerOptions = {}) => {
    const server: TestServer = await startTestServer(options);
    cleanup.push(() => server.stop());
    const host = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'sessions' },
    });
    return { server, host, streamId: started.body.streamId as string, key: started.body.streamKey };
  };

  const publish = async (server: TestServer, streamId: string, key: string) => {
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const res = await fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: await publisher.offer(),
    });
    expect(res.status).toBe(201);
    await publisher.accept(await res.text());
    publisher.start();
    return publisher;
  };

  const whep = async (server: TestServer, streamId: string, user: TestUser, answer = true) => {
    const viewer = new RecordingViewer();
    const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${user.token}` },
      body: await viewer.offer(),
    });
    expect(res.status).toBe(201);
    const location = res.headers.get('location')!;
    if (answer) {
      await viewer.pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      await connected(viewer.pc);
    }
    return { viewer, location };
  };

  const viewerCount = async (server: TestServer, streamId: string) =>
    (await api(server.url)('GET', `/api/live/${streamId}`)).body.viewerCount as number;

  it('opens and closes 200 sessions and returns to the same engine counts and open sockets', async () => {
    const { server, streamId, key } = await live({ env: { MEDIA_WORKERS: '2' } });
    await publish(server, streamId, key);
    await waitFor(() => server.media.stats().publishers === 1, 5000, 'the publisher');
    const baseline = await server.media.workerStats();
    const baselineSockets = baseline.reduce((n, w) => n + w.openSockets, 0);
    const users = await Promise.all(Array.from({ length: 10 }, () => registerUser(server)));

    for (let round = 0; round < 20; round += 1) {
      const batch = await Promise.all(users.map((user) => whep(server, streamId, user)));
      await waitFor(() => batch.every((b) => b.viewer.received('video') > 0), 10_000, 'video');
      await Promise.all(
        batch.map(async ({ viewer, location }, i) => {
          const res = await fetch(`${server.url}${location}`, {
            method: 'DELETE',
            headers: { authorization: `Bearer ${users[i]!.token}` },
          });
          expect(res.status).toBe(200);
          await viewer.close();
        }),
      );
    }

    expect(server.media.stats()).toEqual({ streams: 1, publishers: 1, subscribers: 0 });
    const settled = async () => {
      const now = await server.media.workerStats();
      return (
        now.every((w) => w.subscribers === 0) &&
        now.reduce((n, w) => n + w.openSockets, 0) <= baselineSockets
      );
    };
    const deadline = Date.now() + 10_000;
    while (!(await settled()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 200));
    const after = await server.media.workerStats();
    expect(after.map((w) => w.subscribers)).toEqual(baseline.map(() => 0));
    expect(after.reduce((n, w) => n + w.openSockets, 0)).toBe(baselineSockets);
    expect(await viewerCount(server, streamId)).toBe(0);
  }, 180_000);

  it('binds the media sockets to the configured host, and exports media metrics', async () => {
    const { server, streamId, key } = await live();
    await publish(server, streamId, key);
    const user = await registerUser(server);
    const { viewer } = await whep(server, streamId, user);
    cleanup.push(() => viewer.close());
    await waitFor(() => viewer.received('video') > 30, 10_000, 'video');
    // HOST is 127.0.0.1 in tests: no media socket listens on any other address.
    const addresses = udpAddressesOf(server.media.pids);
    expect(addresses.length).toBeGreaterThan(0);
    expect(new Set(addresses)).toEqual(new Set(['0100007F']));

    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(metrics)?.[1]);
    expect(value('onair_media_publishers')).toBe(1);
    expect(value('onair_media_subscribers')).toBe(1);
    expect(value('onair_media_forwarded_packets_total')).toBeGreaterThan(30);
    expect(value('onair_media_forwarded_bytes_total')).toBeGreaterThan(30 * 100);
    expect(value('onair_media_plis_sent_total')).toBeGreaterThanOrEqual(1);
    expect(value('onair_media_nacks_answered_total')).toBeGreaterThanOrEqual(0);
  }, 60_000);

  it('closes a watching session that never connects, and its presence with it', async () => {
    const { server, streamId, key } = await live({ mediaConnectTimeoutMs: 1500 });
    await publish(server, streamId, key);
    const user = await registerUser(server);
    const { viewer } = await whep(server, streamId, user, false);
    cleanup.push(() => viewer.close());
    expect(server.media.stats().subscribers).toBe(1);
    expect(await viewerCount(server, streamId)).toBe(1);
    await waitFor(() => server.media.stats().subscribers === 0, 5000, 'the session to close');
    await waitFor(() => false, 300).catch(() => undefined);
    expect(await viewerCount(server, streamId)).toBe(0);
  }, 30_000);

  it("keeps at most three watching sessions per user: a fourth closes the user's oldest", async () => {
    const { server, streamId, key } = await live();
    await publish(server, streamId, key);
    const user = await registerUser(server);
    const sessions: Awaited<ReturnType<typeof whep>>[] = [];
    for (let i = 0; i < 4; i += 1) sessions.push(await whep(server, streamId, user));
    cleanup.push(() => Promise.all(sessions.map((s) => s.viewer.close())));
    expect(server.media.stats().subscribers).toBe(3);
    const oldest = await fetch(`${server.url}${sessions[0]!.location}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${user.token}` },
    });
    expect(oldest.status).toBe(404);
    expect(await viewerCount(server, streamId)).toBe(1);
    // The newest three still get media.
    const counts = sessions.slice(1).map((s) => s.viewer.received('video'));
    await waitFor(
      () => sessions.slice(1).every((s, i) => s.viewer.received('video') > counts[i]! + 10),
      5000,
      'video at the newest three',
    );
  }, 60_000);

  it('refuses an offer it cannot use with a fixed message, the details only in the log', async () => {
    const { server, streamId, key } = await live({ env: { MEDIA_WORKERS: '2' } });
    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    // Codecs we forward but a fingerprint libdatachannel cannot read: the worker refuses it.
    // (An offer of codecs nobody forwards is refused before any worker: whip-rfc.test.ts.)
    const unusable = (await publisher.offer()).replace(
      /^a=fingerprint:(\S+) .*$/gm,
      'a=fingerprint:$1 zz',
    );
    const res = await fetch(`${server.url}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
      body: unusable,
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: { code: 'invalid_input', message: 'The session description could not be used' },
    });
    expect(server.media.stats()).toEqual({ streams: 0, publishers: 0, subscribers: 0 });

    // Regression: the refused offer must leave no stale relay behind on its worker, or viewers
    // placed on the other worker would get no video from the next publisher.
    await publish(server, streamId, key);
    const watchers = await Promise.all(
      [0, 1].map(async () => (await whep(server, streamId, await registerUser(server))).viewer),
    );
    cleanup.push(() => Promise.all(watchers.map((v) => v.close())));
    await waitFor(
      () => watchers.every((v) => v.received('video') > 10),
      10_000,
      'video on both workers',
    );
  }, 30_000);

  it('ends a stream whose publisher never connects within the grace period', async () => {
    const { server, streamId } = await live({ env: { PUBLISHER_GRACE_SECONDS: '1' } });
    expect((await api(server.url)('GET', `/api/live/${streamId}`)).body.status).toBe('live');
    await waitFor(() => false, 1800).catch(() => undefined);
    expect((await api(server.url)('GET', `/api/live/${streamId}`)).body.status).toBe('ended');
  });

  it('asks the publisher to resend what did not arrive (upstream NACK)', async () => {
    const { server, streamId, key } = await live();
    const publisher = await publish(server, streamId, key);
    const sender = publisher.videoTransceiver.sender as unknown as { nackCount: number };
    await new Promise((r) => setTimeout(r, 500));
    const before = sender.nackCount;
    // Skip two sequence numbers: the server sees a gap and NACKs it.
    (publisher as unknown as { videoSeq: number }).videoSeq += 2;
    await waitFor(() => sender.nackCount > before, 5000, 'a NACK at the publisher');
  }, 30_000);

  it('restarts a media worker that dies; its publisher gets the grace period and comes back', async () => {
    const { server, host, streamId, key } = await live({ env: { MEDIA_WORKERS: '1' } });
    await publish(server, streamId, key);
    const socket = await connectSocket(server, host.token);
    cleanup.push(() => socket.close());
    await emitAck(socket, 'join_live', { streamId });
    const [pid] = server.media.pids;
    const reconnecting = nextEvent(socket, 'broadcaster_reconnecting', undefined, 10_000);
    process.kill(pid!, 'SIGKILL');
    expect((await reconnecting).streamId).toBe(streamId);
    expect((await api(server.url)('GET', `/api/live/${streamId}`)).body.status).toBe('live');
    await waitFor(() => server.media.pids.length === 1 && server.media.pids[0] !== pid, 10_000);
    const resumed = nextEvent(socket, 'broadcaster_resumed', undefined, 15_000);
    await publish(server, streamId, key);
    expect(await resumed).toEqual({ streamId });
  }, 60_000);
});
