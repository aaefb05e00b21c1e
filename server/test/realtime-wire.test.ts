import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { connect as tcpConnect } from 'node:net';
import type { SocketData } from '@onair/protocol';
import { pino } from 'pino';
import { createClient } from 'redis';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { eventPacket, textFrame } from '../src/realtime/wire/packets';
import { joinRedisBus } from '../src/cluster/realtime-bus';
import type { RealtimeServerOptions } from '../src/realtime/wire/RealtimeServer';
import { ConnectRefusal, type RealtimeSocket } from '../src/realtime/wire/RealtimeSocket';
import {
  cleanupAfterEach,
  RawClient,
  startRealtimeNode,
  type RealtimeNode,
} from './support/realtime-node';

/*
 * The realtime server on its own: a bare HTTP server on 127.0.0.1, real socket.io-client sockets
 * for what Socket.IO clients see, raw `ws` sockets for the protocol's edges. Timings are small so
 * heartbeats and deadlines play out in well under a second.
 */

const timing = {
  pingIntervalMs: 200,
  pingTimeoutMs: 200,
  connectTimeoutMs: 300,
  maxPayload: 16_384,
  maxBufferedBytes: 64 * 1024,
};
/** The heartbeat visits a tenth of the sockets per tick: how late a visit may come. */
const slice = timing.pingIntervalMs / 10;
/** Room for timers firing late on a busy machine. */
const slack = 250;

const signedIn: SocketData = { anonymous: false, userId: 'u1', username: 'ann' };
const anonymous: SocketData = { anonymous: true, userId: null, username: null };
const refusalData = { code: 'unauthorized', message: 'Sign in first' };
const responseHeaders = { 'x-realtime-test': 'yes' };

async function authenticate(auth: unknown): Promise<SocketData> {
  const { token } = auth as { token?: unknown };
  if (token === undefined) return anonymous;
  if (token === 'good') return signedIn;
  if (token === 'crash') throw new Error('the user store is down');
  throw new ConnectRefusal('unauthorized', refusalData);
}

const onCleanup = cleanupAfterEach();

/** A RealtimeServer on a fresh HTTP server whose own request listener answers `own <path>`. */
function startNode(options: Partial<RealtimeServerOptions> = {}): Promise<RealtimeNode> {
  return startRealtimeNode(
    { authenticate, responseHeaders, ...timing, ...options },
    onCleanup,
    (req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`own ${req.url}`);
    },
  );
}

/** A socket.io-client socket, not waited for. */
function client(node: RealtimeNode, auth?: Record<string, unknown>): ClientSocket {
  const socket = io(node.url, {
    transports: ['websocket'],
    reconnection: false,
    forceNew: true,
    ...(auth ? { auth } : {}),
  });
  onCleanup(() => socket.close());
  return socket;
}

/** A connected socket.io-client socket; rejects with the `connect_error`. */
function connected(node: RealtimeNode, auth?: Record<string, unknown>): Promise<ClientSocket> {
  const socket = client(node, auth);
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', reject);
  });
}

/** The next `event` on `socket`, or a rejection after `ms`. */
function nextEvent<T = unknown>(socket: ClientSocket, event: string, ms = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, ms);
    const listener = (payload: T) => {
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(payload);
    };
    socket.on(event, listener);
  });
}

/** Broadcasts in these tests are tagged `live_comment_deleted` events: the tag is the commentId. */
const tagged = (tag: string) => ({ streamId: 'wire-test', commentId: tag });

function tagsOf(socket: ClientSocket): string[] {
  const seen: string[] = [];
  socket.on('live_comment_deleted', (payload: { commentId: string }) =>
    seen.push(payload.commentId),
  );
  return seen;
}

/** Resolves once `socket` has seen `tag` (later than anything sent to it before). */
function tagArrives(socket: ClientSocket, tag: string, ms = 3000): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off('live_comment_deleted', listener);
      reject(new Error(`timed out waiting for ${tag}`));
    }, ms);
    const listener = (payload: { commentId: string }) => {
      if (payload.commentId !== tag) return;
      clearTimeout(timer);
      socket.off('live_comment_deleted', listener);
      resolve();
    };
    socket.on('live_comment_deleted', listener);
  });
}

function raw(node: RealtimeNode, options?: { answerPings?: boolean }): RawClient {
  return new RawClient(node.wsUrl, onCleanup, options);
}

/** Every `event` the client-event listener sees, as `[socketId, event, args]`. */
function recordClientEvents(node: RealtimeNode): [string, string, unknown[]][] {
  const seen: [string, string, unknown[]][] = [];
  node.server.onClientEvent((socket, event, args) => {
    seen.push([socket.id, event, args]);
  });
  return seen;
}

/**
 * Resolves the first time the hook fires for `id`, with what `look` saw of it then: inside the
 * hook, not a microtask later.
 */
function hookFor<T = RealtimeSocket>(
  node: RealtimeNode,
  hook: 'disconnecting' | 'disconnect' | 'connection',
  id: () => string | undefined,
  look: (socket: RealtimeSocket) => T = (socket) => socket as T,
): Promise<T> {
  return new Promise((resolve) => {
    const listener = (socket: RealtimeSocket) => {
      if (socket.id !== id()) return;
      node.server.off(hook, listener);
      resolve(look(socket));
    };
    node.server.on(hook, listener);
  });
}

/** What a WebSocket handshake that the server refuses answers. */
function refusedUpgrade(
  url: string,
): Promise<{ status: number; headers: IncomingMessage['headers']; body: unknown }> {
  const ws = new WebSocket(url);
  ws.on('error', () => undefined);
  onCleanup(() => ws.terminate());
  return new Promise((resolve, reject) => {
    ws.once('open', () => reject(new Error('the upgrade was accepted')));
    ws.once('unexpected-response', (req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        req.destroy();
        resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(body) });
      });
    });
  });
}

describe('RealtimeServer', () => {
  it('connects signed-in and anonymous clients under the server socket id, and refuses a bad token with its reason', async () => {
    const node = await startNode();
    const connections: string[] = [];
    node.server.on('connection', (socket) => connections.push(socket.id));

    const ann = await connected(node, { token: 'good' });
    const viewer = await connected(node, {});
    const bare = await connected(node);
    for (const [socket, data] of [
      [ann, signedIn],
      [viewer, anonymous],
      [bare, anonymous],
    ] as const) {
      expect(socket.id).toEqual(expect.any(String));
      const onServer = node.server.socket(socket.id!);
      expect(onServer?.id).toBe(socket.id);
      expect(onServer?.data).toEqual(data);
      expect(onServer?.isConnected).toBe(true);
    }
    expect(new Set([ann.id, viewer.id, bare.id]).size).toBe(3);
    expect(connections).toEqual([ann.id, viewer.id, bare.id]);

    const refused = await connected(node, { token: 'forged' }).then(
      () => undefined,
      (error: Error & { data?: unknown }) => error,
    );
    expect(refused?.message).toBe('unauthorized');
    expect(refused?.data).toEqual(refusalData);

    // An authenticator that fails for another reason tells the client nothing of it.
    const failed = await connected(node, { token: 'crash' }).then(
      () => undefined,
      (error: Error & { data?: unknown }) => error,
    );
    expect(failed?.message).toBe('Could not connect');
    expect(failed?.data).toBeUndefined();
    expect(node.logs.some((l) => l.level === 40 && l.msg === 'authentication failed')).toBe(true);

    // Neither refused socket counted as a connection; both connections are gone once the clients
    // give up.
    expect(connections).toHaveLength(3);
    await expect.poll(() => node.server.clientsCount).toBe(3);
  });

  it('hands client events to the one listener, with an ack function only when the client asked for one', async () => {
    const node = await startNode();
    const seen: [string, string, unknown[]][] = [];
    node.server.onClientEvent((socket, event, args) => {
      seen.push([socket.id, event, args]);
      if (event === 'explode') throw new Error('a handler bug');
      const ack = args.at(-1);
      if (typeof ack === 'function')
        ack({ ok: true, echo: args.slice(0, -1), by: socket.data.userId });
    });
    const ann = await connected(node, { token: 'good' });

    const answers = await Promise.all([
      ann.timeout(2000).emitWithAck('echo', 1, { a: 'b' }),
      ann.timeout(2000).emitWithAck('echo', 'second'),
      ann.timeout(2000).emitWithAck('echo'),
    ]);
    expect(answers).toEqual([
      { ok: true, echo: [1, { a: 'b' }], by: 'u1' },
      { ok: true, echo: ['second'], by: 'u1' },
      { ok: true, echo: [], by: 'u1' },
    ]);

    ann.emit('plain', 'x', 2, null);
    ann.emit('explode');
    // A throwing listener is logged; the socket and the server carry on.
    expect(await ann.timeout(2000).emitWithAck('echo', 'after')).toMatchObject({ echo: ['after'] });
    const plain = seen.find(([, event]) => event === 'plain');
    expect(plain).toEqual([ann.id, 'plain', ['x', 2, null]]);
    expect(seen.map(([, event]) => event)).toEqual([
      'echo',
      'echo',
      'echo',
      'plain',
      'explode',
      'echo',
    ]);
    expect(node.logs.some((l) => l.level === 50 && l.msg === 'a socket event listener threw')).toBe(
      true,
    );
    expect(ann.connected).toBe(true);
  });

  it('runs every hook listener even when one throws or rejects, and the socket carries on', async () => {
    const node = await startNode();
    const ran: string[] = [];
    node.server.on('connection', () => {
      throw new Error('a hook bug');
    });
    node.server.on('connection', (async () => {
      await Promise.resolve();
      throw new Error('an async hook bug');
    }) as () => void);
    node.server.on('connection', (socket) => {
      ran.push(socket.id);
      socket.join('after-the-bug');
    });
    const ann = await connected(node, { token: 'good' });
    expect(ran).toEqual([ann.id]);
    expect(node.server.roomSize('after-the-bug')).toBe(1);
    await expect
      .poll(() => node.logs.filter((l) => l.level === 50 && l.msg === 'a realtime listener threw'))
      .toHaveLength(2);
    const arrived = tagArrives(ann, 'still served');
    node.server.to('after-the-bug').emit('live_comment_deleted', tagged('still served'));
    await arrived;
    expect(ann.connected).toBe(true);
  });

  it('broadcasts to rooms, to several rooms once, except rooms, to no room, and to everyone', async () => {
    // A long connect deadline: the raw client below stays unconnected for the whole test.
    const node = await startNode({ connectTimeoutMs: 10_000 });
    const [a, b, c, d] = await Promise.all([
      connected(node),
      connected(node),
      connected(node),
      connected(node),
    ]);
    const pending = raw(node);
    expect(await pending.next()).toMatch(/^0\{/);
    const socketOf = (s: ClientSocket) => node.server.socket(s.id!)!;
    socketOf(a).join('r1');
    socketOf(b).join('r1');
    socketOf(b).join('r2');
    socketOf(c).join('r2');
    socketOf(b).join('r2'); // twice is once
    expect(socketOf(b).rooms).toEqual(['r1', 'r2']);
    expect(node.server.roomSize('r1')).toBe(2);
    expect(node.server.roomSize('r2')).toBe(2);
    const seen = [a, b, c, d].map(tagsOf);

    const { server } = node;
    server.to('r1').emit('live_comment_deleted', tagged('to r1'));
    server.to(['r1', 'r2']).emit('live_comment_deleted', tagged('to r1 or r2'));
    server.except('r1').emit('live_comment_deleted', tagged('except r1'));
    server.to('r2').except('r1').emit('live_comment_deleted', tagged('to r2 except r1'));
    server
      .to(['r1', 'r2'])
      .except(['r2'])
      .emit('live_comment_deleted', tagged('to r1 or r2 except r2'));
    server.to([]).emit('live_comment_deleted', tagged('to no room'));
    server.to('nobody-here').emit('live_comment_deleted', tagged('to an empty room'));
    server.emit('live_comment_deleted', tagged('everyone'));
    server.in('r1').socketsLeave('r1');
    expect(server.roomSize('r1')).toBe(0);
    expect(socketOf(b).rooms).toEqual(['r2']);
    server.to('r1').emit('live_comment_deleted', tagged('to r1 after leaving'));
    server.emit('live_comment_deleted', tagged('end'));
    await Promise.all([a, b, c, d].map((s) => tagArrives(s, 'end')));

    expect(seen).toEqual([
      ['to r1', 'to r1 or r2', 'to r1 or r2 except r2', 'everyone', 'end'],
      ['to r1', 'to r1 or r2', 'everyone', 'end'],
      ['to r1 or r2', 'except r1', 'to r2 except r1', 'everyone', 'end'],
      ['except r1', 'everyone', 'end'],
    ]);
    // A socket that has not finished connecting is no one's audience.
    expect(pending.unread).toEqual([]);
    expect(pending.isOpen).toBe(true);
    expect(() => server.except('r2').socketsLeave('r2')).toThrow(/needs rooms/);
  });

  it('runs disconnecting while the socket is still in its rooms and disconnect after, then forgets it', async () => {
    const node = await startNode();
    node.server.on('connection', (socket) => {
      socket.join('r1');
      socket.join(`user:${socket.data.userId}`);
    });
    const ann = await connected(node, { token: 'good' });
    const id = ann.id!;
    expect(node.server.socket(id)?.rooms).toEqual(['r1', 'user:u1']);
    const order: string[] = [];
    const disconnecting = hookFor(
      node,
      'disconnecting',
      () => id,
      (socket) => {
        order.push('disconnecting');
        return {
          rooms: [...socket.rooms],
          roomSize: node.server.roomSize('r1'),
          stillFound: node.server.socket(id) === socket,
        };
      },
    );
    const disconnect = hookFor(
      node,
      'disconnect',
      () => id,
      (socket) => {
        order.push('disconnect');
        return {
          rooms: [...socket.rooms],
          roomSize: node.server.roomSize('r1'),
          found: node.server.socket(id),
          disconnected: socket.disconnected,
        };
      },
    );

    ann.close();
    expect(await disconnecting).toEqual({
      rooms: ['r1', 'user:u1'],
      roomSize: 1,
      stillFound: true,
    });
    expect(await disconnect).toEqual({
      rooms: [],
      roomSize: 0,
      found: undefined,
      disconnected: true,
    });
    expect(order).toEqual(['disconnecting', 'disconnect']);
    await expect.poll(() => node.server.clientsCount).toBe(0);
    expect(node.server.socket(id)).toBeUndefined();
    expect(node.server.roomSize('user:u1')).toBe(0);

    // Disconnected by the server: the client is told, and the hooks run all the same.
    const viewer = await connected(node);
    const viewerId = viewer.id!;
    const reason = nextEvent<string>(viewer, 'disconnect');
    const hooks: string[] = [];
    const gone = hookFor(node, 'disconnect', () => viewerId);
    node.server.on('disconnecting', (socket) => hooks.push(`disconnecting ${socket.id}`));
    node.server.on('disconnect', (socket) => hooks.push(`disconnect ${socket.id}`));
    node.server.socket(viewerId)!.disconnect();
    expect(await reason).toBe('io server disconnect');
    await gone;
    expect(hooks).toEqual([`disconnecting ${viewerId}`, `disconnect ${viewerId}`]);
    expect(node.server.socket(viewerId)).toBeUndefined();
    await expect.poll(() => node.server.clientsCount).toBe(0);
  });

  describe('heartbeat', () => {
    it('keeps a client that answers pings across several intervals', async () => {
      const node = await startNode();
      const client = raw(node, { answerPings: true });
      const id = await client.connect();
      await expect
        .poll(() => client.pingTimes.length, { timeout: 6 * timing.pingIntervalMs + 2 * slack })
        .toBeGreaterThanOrEqual(5);
      expect(client.isOpen).toBe(true);
      expect(node.server.socket(id)?.isConnected).toBe(true);
      // Pings come once an interval, not in bursts.
      const gaps = client.pingTimes.slice(1).map((at, i) => at - client.pingTimes[i]!);
      for (const gap of gaps) expect(gap).toBeGreaterThan(timing.pingIntervalMs / 2);
    });

    it('drops a client that leaves a ping unanswered within pingInterval + pingTimeout', async () => {
      const node = await startNode();
      const client = raw(node, { answerPings: false });
      const id = await client.connect();
      const openedAt = await client.opened;
      const gone = hookFor(node, 'disconnect', () => id);
      const { code, at } = await client.closed;
      await gone;
      expect(client.pingTimes).toHaveLength(1);
      const sincePing = at - client.pingTimes[0]!;
      expect(sincePing).toBeGreaterThanOrEqual(timing.pingIntervalMs - slice - 5);
      expect(sincePing).toBeLessThanOrEqual(timing.pingTimeoutMs + slice + slack);
      expect(at - openedAt).toBeLessThanOrEqual(
        timing.pingIntervalMs + timing.pingTimeoutMs + slice + slack,
      );
      // Told why, without waiting for a close handshake a dead peer would never finish.
      expect(code).toBe(1008);
      expect(node.server.socket(id)).toBeUndefined();
      expect(node.server.clientsCount).toBe(0);
    });

    it('closes a connection whose client never sends the connect packet after connectTimeoutMs', async () => {
      const node = await startNode();
      const client = raw(node, { answerPings: true });
      expect(await client.next()).toMatch(/^0\{/);
      const openedAt = await client.opened;
      const { code, at } = await client.closed;
      expect(at - openedAt).toBeGreaterThanOrEqual(timing.connectTimeoutMs - 20);
      expect(at - openedAt).toBeLessThanOrEqual(
        timing.connectTimeoutMs + timing.pingIntervalMs + slack,
      );
      // Told why, not held open for a handshake a silent client would never finish (issue 16).
      expect(code).toBe(1008);
      expect(client.unread).toEqual([]);
      await expect.poll(() => node.server.clientsCount).toBe(0);
    });
  });

  describe('protocol edges', () => {
    it('opens with the Engine.IO handshake: no upgrades, the heartbeat and the payload limit', async () => {
      const node = await startNode();
      const client = raw(node);
      const open = await client.next();
      expect(open[0]).toBe('0');
      expect(JSON.parse(open.slice(1))).toEqual({
        sid: expect.any(String),
        upgrades: [],
        pingInterval: timing.pingIntervalMs,
        pingTimeout: timing.pingTimeoutMs,
        maxPayload: timing.maxPayload,
      });
      client.send('40');
      const sid = (JSON.parse((await client.next()).slice(2)) as { sid: string }).sid;
      // The Socket.IO id is not the Engine.IO one.
      expect(sid).not.toBe((JSON.parse(open.slice(1)) as { sid: string }).sid);
      expect(node.server.socket(sid)).toBeDefined();
    });

    it('ignores events sent before the connect packet', async () => {
      const node = await startNode();
      const seen = recordClientEvents(node);
      const client = raw(node);
      expect(await client.next()).toMatch(/^0\{/);
      client.send('42["early",1]');
      client.send('40{"token":"forged"}');
      expect(await client.next()).toBe(
        `44${JSON.stringify({ message: 'unauthorized', data: refusalData })}`,
      );
      client.send('42["refused",2]');
      // Refused, the connection may try again.
      client.send('40{"token":"good"}');
      const sid = (JSON.parse((await client.next()).slice(2)) as { sid: string }).sid;
      client.send('42["late",3]');
      await expect.poll(() => seen.length).toBe(1);
      expect(seen).toEqual([[sid, 'late', [3]]]);
      expect(node.server.socket(sid)?.data).toEqual(signedIn);
    });

    const violations: {
      name: string;
      connectFirst: boolean;
      frame: string | Buffer;
      code?: number;
    }[] = [
      { name: 'an event with invalid JSON', connectFirst: true, frame: '42["x",' },
      { name: 'an event that is not an array', connectFirst: true, frame: '42{"x":1}' },
      {
        name: 'an event whose first element is not a string',
        connectFirst: true,
        frame: '42[1,"x"]',
      },
      { name: 'an empty event array', connectFirst: true, frame: '42[]' },
      { name: 'an event for another namespace', connectFirst: true, frame: '42/admin,["x"]' },
      { name: 'a string auth', connectFirst: false, frame: '40"good"' },
      { name: 'an array auth', connectFirst: false, frame: '40[{"token":"good"}]' },
      { name: 'a null auth', connectFirst: false, frame: '40null' },
      {
        name: 'a binary Socket.IO event without its attachment count',
        connectFirst: true,
        frame: '45["x",{"_placeholder":true,"num":0}]',
      },
      { name: 'an unknown Engine.IO packet type', connectFirst: true, frame: '5' },
      { name: 'an empty frame', connectFirst: true, frame: '' },
      {
        name: 'a message over maxPayload',
        connectFirst: true,
        frame: `42["big","${'x'.repeat(timing.maxPayload)}"]`,
        code: 1009,
      },
    ];

    it.each(violations)(
      'closes a connection that sends $name, and keeps serving others',
      async ({ connectFirst, frame, code = 1002 }) => {
        const node = await startNode();
        const seen: [string, string, unknown[]][] = [];
        node.server.onClientEvent((socket, event, args) => {
          seen.push([socket.id, event, args]);
          const ack = args.at(-1);
          if (typeof ack === 'function') ack('pong');
        });
        const bystander = await connected(node);
        const offender = raw(node);
        if (connectFirst) await offender.connect();
        else expect(await offender.next()).toMatch(/^0\{/);

        offender.send(frame);
        expect((await offender.closed).code).toBe(code);
        await expect.poll(() => node.server.clientsCount).toBe(1);
        expect(seen).toEqual([]);

        expect(await bystander.timeout(2000).emitWithAck('ping')).toBe('pong');
        const newcomer = await connected(node, { token: 'good' });
        expect(await newcomer.timeout(2000).emitWithAck('ping')).toBe('pong');
      },
    );

    it('refuses a binary event in its ack, discards its attachments, and stays connected', async () => {
      const node = await startNode();
      const seen: [string, unknown[]][] = [];
      node.server.onClientEvent((_socket, event, args) => {
        const ack = args.at(-1);
        seen.push([event, typeof ack === 'function' ? args.slice(0, -1) : args]);
        if (typeof ack === 'function') ack('pong');
      });
      const client = raw(node);
      await client.connect();
      // What socket.io-client sends for emit('upload', Buffer) with an ack: the event, then the
      // attachment as a binary frame.
      client.send('451-7["upload",{"_placeholder":true,"num":0}]');
      client.send(Buffer.from([1, 2, 3]));
      expect(JSON.parse((await client.next()).replace(/^437/, ''))).toEqual([
        { ok: false, error: { code: 'invalid_input', message: expect.any(String) } },
      ]);
      client.send('42["after"]');
      await expect.poll(() => seen.length).toBe(1);
      expect(seen).toEqual([['after', []]]);
      expect(node.server.clientsCount).toBe(1);
      // A binary frame no packet announced breaks the protocol.
      client.send(Buffer.from('42["x"]'));
      expect((await client.closed).code).toBe(1002);
    });

    it('refuses WebSocket upgrades for Engine.IO 3, for polling, and with a session id', async () => {
      const node = await startNode();
      const base = node.wsUrl.split('?')[0]!;
      const eio3 = await refusedUpgrade(`${base}?EIO=3&transport=websocket`);
      expect(eio3.status).toBe(400);
      expect(eio3.body).toEqual({ code: 5, message: 'Unsupported protocol version' });
      expect(eio3.headers['x-realtime-test']).toBe('yes');
      const polling = await refusedUpgrade(`${base}?EIO=4&transport=polling`);
      expect(polling.status).toBe(400);
      expect(polling.body).toEqual({ code: 0, message: 'Transport unknown' });
      const withSid = await refusedUpgrade(`${base}?EIO=4&transport=websocket&sid=abc`);
      expect(withSid.status).toBe(400);
      expect(withSid.body).toEqual({ code: 1, message: 'Session ID unknown' });
      expect(node.server.clientsCount).toBe(0);
      // And a proper one still works.
      expect((await connected(node)).connected).toBe(true);
    });

    it('answers polling over HTTP with a JSON refusal and leaves other paths to the HTTP server', async () => {
      const node = await startNode();
      const polling = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
      expect(polling.status).toBe(400);
      expect(polling.headers.get('content-type')).toBe('application/json');
      expect(polling.headers.get('x-realtime-test')).toBe('yes');
      expect(await polling.json()).toEqual({ code: 0, message: 'Transport unknown' });

      const other = await fetch(`${node.url}/api/health?x=1`);
      expect(other.status).toBe(200);
      expect(await other.text()).toBe('own /api/health?x=1');

      // Closed, the realtime server hands the Socket.IO path back to the HTTP server.
      node.server.close();
      const after = await fetch(`${node.url}/socket.io/?EIO=4&transport=polling`);
      expect(await after.text()).toBe('own /socket.io/?EIO=4&transport=polling');
    });
  });

  it('drops a client that stopped reading once more than maxBufferedBytes waits, and keeps the room going', async () => {
    // A long heartbeat: the stalled client must be dropped for its buffer, not for a missed pong.
    const node = await startNode({ pingIntervalMs: 20_000, pingTimeoutMs: 20_000 });
    const healthy = await connected(node);
    const stalled = raw(node);
    const stalledId = await stalled.connect();
    node.server.socket(healthy.id!)!.join('room');
    node.server.socket(stalledId)!.join('room');
    const dropped = hookFor(node, 'disconnect', () => stalledId);
    stalled.pauseReading();

    // The kernel's socket buffers take megabytes before anything waits in the process: send until
    // the server gives up, one frame at a time, each read by the healthy client before the next.
    const thumbnail = 'x'.repeat(256 * 1024);
    let sent = 0;
    while (node.server.socket(stalledId) !== undefined && sent < 400) {
      const arrived = nextEvent<{ streamId: string }>(healthy, 'live_thumbnail');
      node.server.to('room').emit('live_thumbnail', { streamId: String(sent), thumbnail });
      expect((await arrived).streamId).toBe(String(sent));
      sent++;
    }
    expect(node.server.socket(stalledId)).toBeUndefined();
    await dropped;
    const warning = node.logs.find((l) => l.msg === 'dropped a client that stopped reading');
    expect(warning).toMatchObject({ level: 40, socketId: stalledId });
    expect(warning?.bufferedBytes).toBeGreaterThan(timing.maxBufferedBytes);
    expect(node.server.roomSize('room')).toBe(1);

    const after = nextEvent<{ streamId: string }>(healthy, 'live_thumbnail');
    node.server.to('room').emit('live_thumbnail', { streamId: 'after', thumbnail: 'small' });
    expect(await after).toEqual({ streamId: 'after', thumbnail: 'small' });
    expect(healthy.connected).toBe(true);
  });

  it('frames messages at the WebSocket length boundaries intact, multi-byte characters included', async () => {
    const node = await startNode();
    const viewer = await connected(node);
    const rawViewer = raw(node);
    const rawId = await rawViewer.connect();
    node.server.socket(rawId)!.join('room');
    const streamId = 'frame';
    const overhead = Buffer.byteLength(
      eventPacket('live_thumbnail', [{ streamId, thumbnail: '' }]),
    );
    /** A thumbnail that makes the whole Engine.IO packet exactly `bytes` long. */
    const thumbnailFor = (bytes: number) => {
      let text = '';
      let left = bytes - overhead;
      // 4-, 3-, 2- and 1-byte UTF-8 characters; JSON leaves them unescaped.
      for (; left >= 10; left -= 10) text += '😀€éa';
      return text + 'b'.repeat(left);
    };
    for (const bytes of [124, 125, 126, 127, 65_535, 65_536, 65_537, 100_000]) {
      const thumbnail = thumbnailFor(bytes);
      const packet = eventPacket('live_thumbnail', [{ streamId, thumbnail }]);
      expect(Buffer.byteLength(packet)).toBe(bytes);

      const toClient = nextEvent(viewer, 'live_thumbnail');
      node.server.socket(viewer.id!)!.emit('live_thumbnail', { streamId, thumbnail });
      expect(await toClient).toEqual({ streamId, thumbnail });

      // A broadcast's frame too, byte for byte.
      node.server.to('room').emit('live_thumbnail', { streamId, thumbnail });
      expect(await rawViewer.next()).toBe(packet);

      // Clients tolerate a longer length field than needed; RFC 6455 §5.2 asks for the shortest.
      const frame = textFrame(packet);
      expect(frame[0]).toBe(0x81);
      if (bytes < 126) {
        expect(frame[1]).toBe(bytes);
        expect(frame.length).toBe(2 + bytes);
      } else if (bytes < 65_536) {
        expect(frame[1]).toBe(126);
        expect(frame.readUInt16BE(2)).toBe(bytes);
        expect(frame.length).toBe(4 + bytes);
      } else {
        expect(frame[1]).toBe(127);
        expect(frame.readBigUInt64BE(2)).toBe(BigInt(bytes));
        expect(frame.length).toBe(10 + bytes);
      }
      expect(frame.subarray(frame.length - bytes).toString('utf8')).toBe(packet);
    }
  });
});

// CI runs the cluster suites with DATABASE_URL set, Redis alongside; elsewhere, if Redis answers.
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const probe = tcpConnect({ host: hostname, port: Number(port || 6379) });
    probe.setTimeout(500);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('timeout', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', () => resolve(false));
  });
}

const canCluster = Boolean(process.env.DATABASE_URL) || (await reachable(redisUrl));

describe.runIf(canCluster)('RealtimeServers joined by the Redis bus', () => {
  /** Two nodes on one channel of their own. */
  async function startCluster(): Promise<[RealtimeNode, RealtimeNode]> {
    const channel = `realtime-wire-test-${randomBytes(6).toString('hex')}`;
    const nodes: RealtimeNode[] = [];
    for (let i = 0; i < 2; i++) {
      const node = await startNode();
      const publisher = createClient({ url: redisUrl });
      publisher.on('error', (err: unknown) => node.logs.push({ level: 50, msg: String(err) }));
      await publisher.connect();
      onCleanup(() => publisher.close());
      const subscriber = publisher.duplicate();
      await subscriber.connect();
      onCleanup(() => subscriber.close());
      const leave = await joinRedisBus(
        node.server,
        { publisher, subscriber },
        {
          channel,
          logger: pino({ level: 'silent' }),
        },
      );
      onCleanup(leave);
      nodes.push(node);
    }
    return [nodes[0]!, nodes[1]!];
  }

  it('carries a room broadcast from one node to the room on the other, once each', async () => {
    const [a, b] = await startCluster();
    const [onA, onB, elsewhereOnB] = await Promise.all([connected(a), connected(b), connected(b)]);
    a.server.socket(onA.id!)!.join('room');
    b.server.socket(onB.id!)!.join('room');
    const seen = [onA, onB, elsewhereOnB].map(tagsOf);

    const arrived = tagArrives(onB, 'to the room');
    a.server.to('room').emit('live_comment_deleted', tagged('to the room'));
    await arrived;
    // Published after B had A's broadcast: every node's subscriber gets it after A's own echo.
    b.server.emit('live_comment_deleted', tagged('end'));
    await Promise.all([onA, onB, elsewhereOnB].map((s) => tagArrives(s, 'end')));
    expect(seen).toEqual([['to the room', 'end'], ['to the room', 'end'], ['end']]);
  });

  it('takes the sockets of every node out of a room', async () => {
    const [a, b] = await startCluster();
    const [onA, onB] = await Promise.all([connected(a), connected(b)]);
    a.server.socket(onA.id!)!.join('room');
    b.server.socket(onB.id!)!.join('room');
    b.server.socket(onB.id!)!.join('kept');
    const seen = [onA, onB].map(tagsOf);

    a.server.in('room').socketsLeave('room');
    expect(a.server.roomSize('room')).toBe(0);
    a.server.to('room').emit('live_comment_deleted', tagged('to the room after leaving'));
    a.server.to('kept').emit('live_comment_deleted', tagged('to kept'));
    await tagArrives(onB, 'to kept');
    expect(b.server.roomSize('room')).toBe(0);
    expect(b.server.socket(onB.id!)?.rooms).toEqual(['kept']);
    a.server.emit('live_comment_deleted', tagged('end'));
    await Promise.all([onA, onB].map((s) => tagArrives(s, 'end')));
    expect(seen).toEqual([['end'], ['to kept', 'end']]);
  });

  it("fires a server-side event on the other nodes, not on the sender's", async () => {
    const [a, b] = await startCluster();
    const banned: [string, unknown][] = [];
    a.server.on('banned', (ban) => banned.push(['a', ban]));
    b.server.on('banned', (ban) => banned.push(['b', ban]));
    const revoked: [string, unknown][] = [];
    a.server.on('access_revoked', (revocation) => revoked.push(['a', revocation]));
    b.server.on('access_revoked', (revocation) => revoked.push(['b', revocation]));

    const ban = { streamId: 's1', userId: 'u2' };
    a.server.serverSideEmit('banned', ban);
    await expect.poll(() => banned.length).toBe(1);
    // B answers only once it heard A: A's subscriber sees its own echo before B's message.
    const revocation = { streamId: 's1', userId: 'u3' };
    b.server.serverSideEmit('access_revoked', revocation);
    await expect.poll(() => revoked.length).toBe(1);
    expect(banned).toEqual([['b', ban]]);
    expect(revoked).toEqual([['a', revocation]]);
  });
});
