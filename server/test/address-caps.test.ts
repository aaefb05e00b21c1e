import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { pino } from 'pino';
import { io as connect } from 'socket.io-client';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { addressKey } from '../src/http/client-address';
import { raiseOpenFilesLimit, readOpenFilesLimit } from '../src/process/open-files-limit';
import { RecordingViewer, waitFor } from './support/loopback-peers';
import { publishOverSocket } from './support/socket-publisher';
import {
  api,
  emitAck,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';

/*
 * Issue 16: one address opened 5,000 sockets in 1.2 s, 3,000 of them raised a stream's viewer
 * count to 3,001, and 40 anonymous sockets got 40 media sessions past ANONYMOUS_WHEP_PER_IP = 4.
 * Small caps here, the same rules.
 */

const cleanups: (() => unknown)[] = [];
const later = (cleanup: () => unknown) => cleanups.push(cleanup);
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Attempt =
  | { connected: true; socket: ClientSocket }
  | { connected: false; error: Error & { data?: { code?: string; message?: string } } };

/** One socket.io-client socket's try at connecting, whichever way it ends. */
function attempt(
  server: { url: string },
  { token, forwardedFor }: { token?: string; forwardedFor?: string } = {},
): Promise<Attempt> {
  const socket: ClientSocket = connect(server.url, {
    auth: token ? { token } : {},
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(forwardedFor ? { extraHeaders: { 'x-forwarded-for': forwardedFor } } : {}),
  });
  later(() => socket.close());
  return new Promise((resolve) => {
    socket.once('connect', () => resolve({ connected: true, socket }));
    socket.once('connect_error', (error) => resolve({ connected: false, error }));
  });
}

async function connectedSocket(server: { url: string }, token?: string): Promise<ClientSocket> {
  const result = await attempt(server, { token });
  if (!result.connected) throw result.error;
  return result.socket;
}

/** A WebSocket upgrade that sends nothing after it: the open packet is all it reads. */
function bareUpgrade(server: {
  port: number;
}): Promise<
  { opened: true; ws: WebSocket } | { opened: false; status: number; retryAfter?: string }
> {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/socket.io/?EIO=4&transport=websocket`);
  ws.on('error', () => undefined);
  later(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve({ opened: true, ws }));
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve({ opened: false, status: res.statusCode!, retryAfter: res.headers['retry-after'] });
    });
    ws.once('close', () => reject(new Error('closed before opening')));
  });
}

const expectRateLimited = (result: Attempt) => {
  expect(result.connected).toBe(false);
  if (result.connected) return;
  expect(result.error.message).toBe('rate_limited');
  expect(result.error.data).toMatchObject({ code: 'rate_limited' });
};

describe('one address could open sockets without bound (SOCKETS_PER_IP)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { SOCKETS_PER_IP: '4' } });
  });
  afterAll(() => server.stop());

  it('refuses the socket past the cap with connect_error rate_limited and keeps the first ones connected', async () => {
    const user = await registerUser(server);
    const first = [
      await connectedSocket(server),
      await connectedSocket(server, user.token),
      await connectedSocket(server),
      await connectedSocket(server),
    ];
    expectRateLimited(await attempt(server));
    expectRateLimited(await attempt(server, { token: user.token }));
    // Without TRUST_PROXY, what a client says its address is changes nothing.
    expectRateLimited(await attempt(server, { forwardedFor: '198.51.100.1' }));
    // The refused ones are gone (their clients close on a refusal); the first ones never noticed.
    await expect.poll(() => server.io.clientsCount).toBe(4);
    await sleep(200);
    expect(first.every((socket) => socket.connected)).toBe(true);
    for (const socket of first)
      expect(await emitAck(socket, 'join_live', { streamId: crypto.randomUUID() })).toMatchObject({
        ok: false,
        error: { code: 'not_found' },
      });

    // A place frees as a socket goes.
    first[0]!.close();
    await expect.poll(() => server.io.clientsCount).toBe(3);
    expect((await attempt(server)).connected).toBe(true);
  });

  it('answers upgrades past twice the cap with 429, so one address cannot take every descriptor', async () => {
    await expect.poll(() => server.io.clientsCount).toBe(0);
    // Sockets that never send their connect packet (a hostile client) count until they are
    // dropped at the connect deadline; past the hard bound they are not upgraded at all.
    const held = [];
    for (let i = 0; i < 8; i += 1) held.push(await bareUpgrade(server));
    expect(held.every((result) => result.opened)).toBe(true);
    const refused = await bareUpgrade(server);
    expect(refused).toMatchObject({ opened: false, status: 429, retryAfter: '10' });
    expect(server.io.clientsCount).toBe(8);

    // A refused client that never closes its side does not keep the descriptor either: once
    // the server's end is gone, what the client sends is answered with a reset.
    const tcp = tcpConnect({ port: server.port, host: '127.0.0.1', allowHalfOpen: true });
    later(() => tcp.destroy());
    tcp.on('error', () => undefined);
    let answer = '';
    tcp.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    const ended = new Promise<void>((resolve) => tcp.once('end', resolve));
    tcp.write(
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
        `Sec-WebSocket-Version: 13\r\n\r\n`,
    );
    await ended;
    expect(answer).toMatch(/^HTTP\/1\.1 429 /);
    // The first write draws the reset, a later one fails on it.
    await expect
      .poll(() => (tcp.write('still here'), tcp.destroyed), { timeout: 2000, interval: 100 })
      .toBe(true);

    // One past the cap asks to connect: it is told why and its connection closes at once, by the
    // server (this client never closes by itself).
    const overCap = held[4]!;
    if (!overCap.opened) throw new Error('expected an open socket');
    const frames: string[] = [];
    overCap.ws.on('message', (data: Buffer) => frames.push(data.toString()));
    const closed = new Promise<number>((resolve) => overCap.ws.once('close', resolve));
    overCap.ws.send('40');
    expect(await closed).toBe(1013);
    expect(frames.at(-1)).toBe(
      '44{"message":"rate_limited","data":{"code":"rate_limited","message":"Too many connections from your address"}}',
    );
    await expect.poll(() => server.io.clientsCount).toBe(7);

    for (const result of held) if (result.opened) result.ws.terminate();
    await expect.poll(() => server.io.clientsCount).toBe(0);
    expect((await attempt(server)).connected).toBe(true);
  });
});

describe('an address behind a trusted proxy, and IPv6 by /64', () => {
  it('keys IPv4 by address (mapped or not) and IPv6 by its /64', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('2001:db8:1:2::a')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(addressKey('2001:db8:1:3::a')).not.toBe(addressKey('2001:db8:1:2::a'));
  });

  it("counts sockets by the client's address that the trusted proxy forwards, by /64", async () => {
    const server = await startTestServer({ env: { SOCKETS_PER_IP: '2', TRUST_PROXY: '1' } });
    later(() => server.stop());
    const from = (forwardedFor: string) => attempt(server, { forwardedFor });
    expect((await from('2001:db8:1:2::a')).connected).toBe(true);
    expect((await from('2001:db8:1:2::b')).connected).toBe(true);
    // Another address of the same /64 is the same subscriber.
    expectRateLimited(await from('2001:db8:1:2:ffff::1'));
    // Another /64, and an IPv4 client, are not.
    expect((await from('2001:db8:1:3::a')).connected).toBe(true);
    expect((await from('198.51.100.1')).connected).toBe(true);
  });
});

describe('anonymous viewers of one address', () => {
  let server: TestServer;
  let host: TestUser;
  beforeAll(async () => {
    server = await startTestServer({
      env: { SOCKETS_PER_IP: '4', ANONYMOUS_WHEP_PER_IP: '4', JOIN_LEAVE_PER_SOCKET: '20' },
    });
    host = await registerUser(server);
  });
  afterAll(() => server.stop());

  const start = async (): Promise<string> => {
    const started = await api(server.url)<{ streamId: string }>('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'caps' },
    });
    expect(started.status).toBe(201);
    later(() =>
      api(server.url)('POST', `/api/live/end/${started.body.streamId}`, { token: host.token }),
    );
    return started.body.streamId;
  };

  const liveWithMedia = async (): Promise<string> => {
    const streamId = await start();
    const hostSocket = await connectedSocket(server, host.token);
    const publisher = await publishOverSocket(hostSocket, streamId);
    later(() => publisher.close());
    await waitFor(() => server.media.stats().publishers >= 1, 10_000, 'the publisher');
    // The host's socket counts toward the address's sockets like any other.
    return streamId;
  };

  const whep = async (streamId: string) => {
    const viewer = new RecordingViewer();
    later(() => viewer.close());
    const res = await fetch(`${server.url}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: await viewer.offer(),
    });
    return res;
  };

  // Each test starts with none of the address's sockets left from the one before.
  beforeEach(() => expect.poll(() => server.io.clientsCount).toBe(0));

  it('holds socket and WHEP media sessions to one ANONYMOUS_WHEP_PER_IP (socket sessions bypassed it)', async () => {
    const streamId = await liveWithMedia();
    const anonymous = [await connectedSocket(server), await connectedSocket(server)];
    const offered = await Promise.all(
      anonymous.map((socket) => emitAck(socket, 'live_offer', { streamId })),
    );
    expect(offered.every((ack) => ack.ok)).toBe(true);
    expect((await whep(streamId)).status).toBe(201);
    expect((await whep(streamId)).status).toBe(201);
    expect(server.media.stats().subscribers).toBe(4);

    // The fifth, by either path, is refused as WHEP refuses.
    const refusedWhep = await whep(streamId);
    expect(refusedWhep.status).toBe(429);
    expect(((await refusedWhep.json()) as { error: { code: string } }).error.code).toBe(
      'rate_limited',
    );
    const third = await connectedSocket(server);
    expect(await emitAck(third, 'live_offer', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'rate_limited' },
    });
    expect(server.media.stats().subscribers).toBe(4);

    // A socket's re-offer replaces its own session: not a fifth.
    expect(await emitAck(anonymous[0]!, 'live_offer', { streamId })).toMatchObject({ ok: true });
    await expect.poll(() => server.media.stats().subscribers).toBe(4);

    // A signed-in viewer from the same address is not held to it.
    const user = await registerUser(server);
    // Its place is its connection's: free once the connection has closed, a moment after the
    // client's 41 (the server keeps a connection that left its namespace until it closes).
    const open = server.io.clientsCount;
    anonymous[1]!.close();
    await expect.poll(() => server.io.clientsCount).toBe(open - 1);
    const signedIn = await connectedSocket(server, user.token);
    expect(await emitAck(signedIn, 'live_offer', { streamId })).toMatchObject({ ok: true });

    // The closed socket's session went with it: its place is free for anyone of the address.
    await expect.poll(() => server.media.stats().subscribers).toBe(4);
    expect((await whep(streamId)).status).toBe(201);
  });

  it("does not let one address's sockets inflate the viewer count, peak or unique viewers", async () => {
    const streamId = await start();
    // The host's socket is one of the address's four.
    const hostSocket = await connectedSocket(server, host.token);
    expect(await emitAck(hostSocket, 'join_live', { streamId })).toMatchObject({ ok: true });
    const attempts = await Promise.all(Array.from({ length: 12 }, () => attempt(server)));
    const admitted = attempts.flatMap((a) => (a.connected ? [a.socket] : []));
    expect(admitted).toHaveLength(3);
    for (const refused of attempts.filter((a) => !a.connected)) expectRateLimited(refused);
    for (const socket of admitted)
      expect(await emitAck(socket, 'join_live', { streamId })).toMatchObject({ ok: true });
    const request = api(server.url);
    const stream = await request('GET', `/api/live/${streamId}`);
    expect(stream.body).toMatchObject({ viewerCount: 3, peakViewers: 3 });
    const summary = await request('GET', `/api/live/${streamId}/summary`, { token: host.token });
    expect(summary.body).toMatchObject({ peakViewers: 3, uniqueViewers: 3 });
  });
});

describe('the open files limit', () => {
  it('is logged at start', async () => {
    const lines: { level: number; msg: string; openFiles?: { soft: number; hard: number } }[] = [];
    const logger = pino(
      { level: 'info' },
      { write: (line: string) => lines.push(JSON.parse(line)) },
    );
    const server = await startTestServer({ logger });
    later(() => server.stop());
    const logged = lines.filter((line) => line.msg === 'open files limit');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.level).toBe(30);
    expect(logged[0]!.openFiles).toEqual(await readOpenFilesLimit());
  });

  const canLower = existsSync('/proc/self/limits') && existsSync('/usr/bin/prlimit');
  it.runIf(canLower)(
    'is raised to the hard limit where only the soft one was lowered',
    async () => {
      const child = spawn('sleep', ['30'], { stdio: 'ignore' });
      later(() => child.kill());
      const pid = child.pid!;
      const { hard } = (await readOpenFilesLimit(pid))!;
      execFileSync('prlimit', [`--pid=${pid}`, `--nofile=256:${hard}`]);
      expect(await readOpenFilesLimit(pid)).toEqual({ soft: 256, hard });
      expect(await raiseOpenFilesLimit(pid)).toEqual({ soft: hard, hard, raisedFrom: 256 });
      expect(await readOpenFilesLimit(pid)).toEqual({ soft: hard, hard });
    },
  );
});
