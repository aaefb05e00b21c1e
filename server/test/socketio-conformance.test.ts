import type { SocketData } from '@onair/protocol';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RealtimeServerOptions } from '../src/realtime/wire/RealtimeServer';
import { ConnectRefusal, type RealtimeSocket } from '../src/realtime/wire/RealtimeSocket';
import {
  cleanupAfterEach,
  RawClient,
  startRealtimeNode,
  type RealtimeNode,
} from './support/realtime-node';
import { startTestServer } from './support/server';

/*
 * The realtime server held to the protocols it speaks, read from their specifications:
 * Engine.IO v4 (github.com/socketio/engine.io-protocol, README) and Socket.IO v5
 * (github.com/socketio/socket.io-protocol, README), over WebSocket only. Frames are written and
 * read by hand on a bare `ws` client; one test uses socket.io-client for what an application sees.
 *
 * Choices the specifications leave to the server, pinned here:
 * - a binary event (type 5) is refused, the connection kept: its ack, when it asked for one,
 *   carries an `invalid_input` error; its attachments are read and discarded, at most 16 a packet.
 * - `41` leaves the main namespace: the disconnect hooks run, the socket leaves its rooms, and the
 *   Engine.IO connection stays (pinged) for a new `40` within the connect deadline, as the
 *   protocol's own test suite expects (a ping, not a close, follows a `41`).
 * - every close sends a close frame with a code: 1000 normal, 1001 server closing, 1002 protocol
 *   error, 1008 policy (deadlines, too many attachments), 1009 too big, 1012 restart, 1013 later.
 */

const timing = {
  pingIntervalMs: 300,
  pingTimeoutMs: 300,
  connectTimeoutMs: 2000,
  maxPayload: 8192,
  maxBufferedBytes: 64 * 1024,
};

const signedIn: SocketData = { anonymous: false, userId: 'u1', username: 'ann' };
const anonymous: SocketData = { anonymous: true, userId: null, username: null };

function authenticate(auth: unknown): Promise<SocketData> {
  const { token } = auth as { token?: unknown };
  if (token === undefined) return Promise.resolve(anonymous);
  if (token === 'good') return Promise.resolve(signedIn);
  return Promise.reject(
    new ConnectRefusal('unauthorized', { code: 'unauthorized', message: 'Sign in first' }),
  );
}

const onCleanup = cleanupAfterEach();

function startNode(options: Partial<RealtimeServerOptions> = {}): Promise<RealtimeNode> {
  return startRealtimeNode({ authenticate, ...timing, ...options }, onCleanup);
}

const raw = (node: RealtimeNode, options?: { answerPings?: boolean }) =>
  new RawClient(node.wsUrl, onCleanup, options);

/** Gives a little time for frames that should not come. */
const settle = (ms = 150) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's typed `emit`s, for events outside the contract. */
type AnyEmit = (event: string, ...args: unknown[]) => void;
const emitOf = (target: { emit: unknown }): AnyEmit => (target.emit as AnyEmit).bind(target);

function recordEvents(node: RealtimeNode): [string, unknown[]][] {
  const seen: [string, unknown[]][] = [];
  node.server.onClientEvent((_socket, event, args) => {
    seen.push([event, args.filter((arg) => typeof arg !== 'function')]);
  });
  return seen;
}

function socketio(url: string, options: Parameters<typeof io>[1] = {}): ClientSocket {
  const socket = io(url, { transports: ['websocket'], forceNew: true, ...options });
  onCleanup(() => socket.close());
  return socket;
}

describe('Engine.IO v4 over WebSocket', () => {
  it('opens with the handshake: sid, no upgrades, pingInterval, pingTimeout, maxPayload', async () => {
    const node = await startNode();
    const client = raw(node);
    const open = await client.open();
    expect(open).toEqual({
      sid: expect.stringMatching(/^[\w-]+$/),
      upgrades: [],
      pingInterval: timing.pingIntervalMs,
      pingTimeout: timing.pingTimeoutMs,
      maxPayload: timing.maxPayload,
    });
  });

  it('pings every pingInterval and keeps a client that pongs', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    await expect
      .poll(() => client.pings, { timeout: 5 * timing.pingIntervalMs + 1000 })
      .toBeGreaterThan(3);
    expect(client.isOpen).toBe(true);
  });

  it('closes with 1008 when a ping goes unanswered', async () => {
    const node = await startNode();
    const client = raw(node, { answerPings: false });
    await client.connect();
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'ping timeout' });
    await expect.poll(() => node.server.clientsCount).toBe(0);
  });

  it('closes with 1000 on the client’s close packet', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    client.send('1');
    expect((await client.closed).code).toBe(1000);
  });

  it('ignores a noop', async () => {
    const node = await startNode();
    const seen = recordEvents(node);
    const client = raw(node);
    await client.connect();
    client.send('6');
    client.send('42["after"]');
    await expect.poll(() => seen).toEqual([['after', []]]);
    expect(client.isOpen).toBe(true);
  });

  it('refuses Engine.IO 3 and the polling transport with an Engine.IO error, upgrade or not', async () => {
    const node = await startNode();
    const base = node.wsUrl.split('?')[0]!;
    const refused = (url: string) =>
      new Promise<{ status: number; body: unknown }>((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('error', () => undefined);
        onCleanup(() => ws.terminate());
        ws.once('open', () => reject(new Error('accepted')));
        ws.once('unexpected-response', (req, res) => {
          let body = '';
          res.on('data', (chunk: Buffer) => (body += chunk.toString()));
          res.on('end', () => {
            req.destroy();
            resolve({ status: res.statusCode!, body: JSON.parse(body) });
          });
        });
      });
    expect(await refused(`${base}?EIO=3&transport=websocket`)).toEqual({
      status: 400,
      body: { code: 5, message: 'Unsupported protocol version' },
    });
    expect(await refused(`${base}?EIO=4&transport=polling`)).toEqual({
      status: 400,
      body: { code: 0, message: 'Transport unknown' },
    });
    for (const query of ['EIO=4&transport=polling', 'EIO=3&transport=polling']) {
      const response = await fetch(`${node.url}/socket.io/?${query}`);
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({ code: 0, message: 'Transport unknown' });
    }
    expect(node.server.clientsCount).toBe(0);
  });
});

describe('Socket.IO v5 connect', () => {
  it('connects with auth, under a Socket.IO id that is not the Engine.IO one', async () => {
    const node = await startNode();
    const client = raw(node);
    const open = await client.open();
    client.send('40{"token":"good"}');
    const reply = await client.next();
    expect(reply).toMatch(/^40\{"sid":"[\w-]+"\}$/);
    const { sid } = JSON.parse(reply.slice(2)) as { sid: string };
    expect(sid).not.toBe(open.sid);
    expect(node.server.socket(sid)?.data).toEqual(signedIn);
  });

  it('answers refused auth with CONNECT_ERROR, and lets the same connection try again', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.open();
    client.send('40{"token":"forged"}');
    expect(await client.next()).toBe(
      '44{"message":"unauthorized","data":{"code":"unauthorized","message":"Sign in first"}}',
    );
    client.send('40');
    expect(await client.next()).toMatch(/^40\{"sid":/);
  });

  it('answers a connect to an unknown namespace with 44 "Invalid namespace" and keeps the connection', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.open();
    client.send('40/admin,');
    expect(await client.next()).toBe('44/admin,{"message":"Invalid namespace"}');
    client.send('40/admin,{"token":"good"}');
    expect(await client.next()).toBe('44/admin,{"message":"Invalid namespace"}');
    client.send('40');
    expect(await client.next()).toMatch(/^40\{"sid":/);
    expect(client.isOpen).toBe(true);
  });
});

describe('Socket.IO v5 events and acks', () => {
  it('hands the listener every argument of an event with 0, 1 and 3 arguments', async () => {
    const node = await startNode();
    const seen = recordEvents(node);
    const client = raw(node);
    await client.connect();
    client.send('42["none"]');
    client.send('42["one",1]');
    client.send('42["three",1,"two",{"three":[3]}]');
    await expect.poll(() => seen.length).toBe(3);
    expect(seen).toEqual([
      ['none', []],
      ['one', [1]],
      ['three', [1, 'two', { three: [3] }]],
    ]);
  });

  it('emits events with 0, 1 and 3 arguments, to a socket and to a room', async () => {
    const node = await startNode();
    const client = raw(node);
    const sid = await client.connect();
    const socket = node.server.socket(sid)!;
    socket.join('room');
    const emit = emitOf(socket);
    emit('none');
    emit('one', 1);
    emit('three', 1, 'two', { three: [3] });
    const toRoom = emitOf(node.server.to('room'));
    toRoom('none');
    toRoom('three', 1, 'two', null);
    emitOf(node.server)('one', 'everyone');
    const frames = [];
    for (let i = 0; i < 6; i++) frames.push(await client.next());
    expect(frames).toEqual([
      '42["none"]',
      '42["one",1]',
      '42["three",1,"two",{"three":[3]}]',
      '42["none"]',
      '42["three",1,"two",null]',
      '42["one","everyone"]',
    ]);
  });

  it('acks with 0, 1 and 2 arguments, and at most once', async () => {
    const node = await startNode();
    node.server.onClientEvent((_socket, event, args) => {
      const ack = args.at(-1) as (...answer: unknown[]) => void;
      if (event === 'zero') ack();
      if (event === 'one') ack({ ok: true });
      if (event === 'two') ack(1, 'b');
      if (event === 'twice') {
        ack('first');
        ack('second');
      }
    });
    const client = raw(node);
    await client.connect();
    client.send('420["zero"]');
    expect(await client.next()).toBe('430[]');
    client.send('421["one",{"x":1}]');
    expect(await client.next()).toBe('431[{"ok":true}]');
    client.send('4212["two"]');
    expect(await client.next()).toBe('4312[1,"b"]');
    client.send('423["twice"]');
    expect(await client.next()).toBe('433["first"]');
    client.send('424["zero"]');
    expect(await client.next()).toBe('434[]');
    expect(client.unread).toEqual([]);
  });

  it('ignores events sent before the connect is accepted, and an ack it never asked for', async () => {
    const node = await startNode();
    const seen = recordEvents(node);
    const client = raw(node);
    await client.open();
    client.send('42["early"]');
    client.send('40');
    await client.next();
    client.send('437[1]');
    client.send('42["late"]');
    await expect.poll(() => seen).toEqual([['late', []]]);
    expect(client.isOpen).toBe(true);
  });
});

describe('Socket.IO v5 binary packets (refused: the contract has none)', () => {
  it('answers a binary event’s ack with invalid_input, discards its attachments and stays open', async () => {
    const node = await startNode();
    const seen = recordEvents(node);
    const client = raw(node);
    await client.connect();
    client.send('452-3["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    expect(await client.next()).toMatch(/^433\[\{"ok":false,"error":\{"code":"invalid_input"/);
    client.send(Buffer.from([1, 2, 3]));
    client.send(Buffer.alloc(timing.maxPayload - 16));
    // Without an ack id nothing answers; its attachment goes the same way.
    client.send('451-["upload",{"_placeholder":true,"num":0}]');
    client.send(Buffer.from([4]));
    // A binary ack (this server never asks for one) is discarded with its attachment.
    client.send('461-9[{"_placeholder":true,"num":0}]');
    client.send(Buffer.from([5]));
    client.send('42["after",1]');
    await expect.poll(() => seen).toEqual([['after', [1]]]);
    await settle();
    expect(client.unread).toEqual([]);
    expect(client.isOpen).toBe(true);
  });

  it('closes with 1002 for a binary frame no packet announced', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    client.send(Buffer.from('42["x"]'));
    expect((await client.closed).code).toBe(1002);
  });

  it('closes with 1002 for a packet sent before the attachments of the last one', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    client.send('452-["upload",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    client.send(Buffer.from([1]));
    client.send('42["too soon"]');
    expect((await client.closed).code).toBe(1002);
  });

  it('closes with 1008 for a packet announcing more than 16 attachments', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    client.send('4517-["upload"]');
    expect((await client.closed).code).toBe(1008);
  });
});

describe('Socket.IO v5 disconnect and WebSocket close codes', () => {
  it('treats 41 as leaving the namespace: the hooks run, the connection stays for another 40, and closes with 1008 without one', async () => {
    const node = await startNode();
    const hooks: string[] = [];
    node.server.on('connection', (socket) => hooks.push(`connection ${socket.id}`));
    node.server.on('disconnecting', (socket) => hooks.push(`disconnecting ${socket.rooms}`));
    node.server.on('disconnect', (socket) => hooks.push(`disconnect ${socket.rooms}`));
    const client = raw(node);
    const sid = await client.connect();
    node.server.socket(sid)!.join('room');
    const pings = client.pings;
    client.send('41');
    // Still open: the client goes on hearing the heartbeat's pings.
    await expect.poll(() => client.pings).toBeGreaterThan(pings + 1);
    expect(client.isOpen).toBe(true);
    expect(hooks).toEqual([`connection ${sid}`, 'disconnecting room', 'disconnect ']);
    expect(node.server.socket(sid)).toBeUndefined();
    expect(node.server.roomSize('room')).toBe(0);
    // Nothing is sent to a socket that has left, not even what is addressed to everyone.
    node.server.emit('viewer_count', { streamId: 'x', count: 1 } as never);
    await settle();
    expect(client.unread).toEqual([]);
    // A new connect on the same connection starts a new session.
    client.send('40');
    expect(await client.next()).toMatch(/^40\{"sid":/);
    expect(hooks).toHaveLength(4);
    client.send('41');
    // No connect within the deadline: the connection goes, with a close code.
    expect((await client.closed).code).toBe(1008);
  });

  it('sends 41 then closes with 1000 when the server disconnects a socket, 1001 when it closes', async () => {
    const node = await startNode();
    const first = raw(node);
    const firstId = await first.connect();
    node.server.socket(firstId)!.disconnect();
    expect(await first.next()).toBe('41');
    expect((await first.closed).code).toBe(1000);

    const second = raw(node);
    await second.connect();
    node.server.close();
    expect(await second.next()).toBe('41');
    expect((await second.closed).code).toBe(1001);
  });

  it('closes with 1012 when the server asks every client to reconnect', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    node.server.reconnectAll();
    expect((await client.closed).code).toBe(1012);
  });

  it('closes with 1008 when the connect packet does not come in time', async () => {
    const node = await startNode({ connectTimeoutMs: 200 });
    const client = raw(node);
    await client.open();
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'connect timeout' });
  });

  it('closes with 1009 for a message over maxPayload', async () => {
    const node = await startNode();
    const client = raw(node);
    await client.connect();
    client.send(`42["big","${'x'.repeat(timing.maxPayload)}"]`);
    expect((await client.closed).code).toBe(1009);
  });

  it.each([
    ['an unknown Engine.IO packet type', '9'],
    ['an empty frame', ''],
    ['an Engine.IO message with no Socket.IO packet', '4'],
    ['an unknown Socket.IO packet type', '47["x"]'],
    ['a CONNECT_ERROR from the client', '44{"message":"x"}'],
    ['an event with invalid JSON', '42["x",'],
    ['an event that is not an array', '42{"x":1}'],
    ['an event without a name', '42[]'],
    ['an event whose name is not a string', '42[1]'],
    ['an event for a namespace it is not connected to', '42/admin,["x"]'],
    ['a disconnect from a namespace it is not connected to', '41/admin,'],
    ['a binary event without its attachment count', '45["x",{"_placeholder":true,"num":0}]'],
    ['an ack without an id', '43["x"]'],
    ['an auth that is not an object', '40"token"'],
  ])('closes with 1002 for %s, and serves other clients on', async (_name, frame) => {
    const node = await startNode();
    const seen = recordEvents(node);
    const bystander = raw(node);
    await bystander.connect();
    const offender = raw(node);
    if (frame.startsWith('40')) await offender.open();
    else await offender.connect();
    offender.send(frame);
    expect((await offender.closed).code).toBe(1002);
    bystander.send('42["still here"]');
    await expect.poll(() => seen).toEqual([['still here', []]]);
  });
});

describe('socket.io-client against the server', () => {
  it('sends and receives events and acks with several arguments', async () => {
    const node = await startNode();
    const received: unknown[][] = [];
    node.server.onClientEvent((socket: RealtimeSocket, event, args) => {
      const ack = args.at(-1);
      const payload = typeof ack === 'function' ? args.slice(0, -1) : args;
      received.push([event, ...payload]);
      // Answered in reverse, so the ack's order is the server's, not an echo of the client's.
      if (typeof ack === 'function') (ack as (...answer: unknown[]) => void)(...payload.reverse());
      if (event === 'echo') emitOf(socket)('echoed', ...payload);
    });
    const client = socketio(node.url, { reconnection: false });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', resolve);
      client.once('connect_error', reject);
    });
    const echoed = new Promise<unknown[]>((resolve) =>
      client.once('echoed', (...args: unknown[]) => resolve(args)),
    );
    client.emit('echo', 1, 'two', { three: 3 });
    expect(await echoed).toEqual([1, 'two', { three: 3 }]);
    const answer = await new Promise<unknown[]>((resolve) =>
      client.emit('ask', 'a', 'b', (...args: unknown[]) => resolve(args)),
    );
    expect(answer).toEqual(['b', 'a']);
    const none = await new Promise<unknown[]>((resolve) =>
      client.emit('ask', (...args: unknown[]) => resolve(args)),
    );
    expect(none).toEqual([]);
    expect(received).toEqual([['echo', 1, 'two', { three: 3 }], ['ask', 'a', 'b'], ['ask']]);
  });

  it('gets one connect_error "Invalid namespace" for an unknown namespace, and does not retry', async () => {
    const node = await startNode();
    const client = socketio(`${node.url}/admin`, { reconnectionDelay: 50 });
    const errors: string[] = [];
    client.on('connect_error', (error) => errors.push(error.message));
    await expect.poll(() => errors).toEqual(['Invalid namespace']);
    await settle(600);
    expect(errors).toEqual(['Invalid namespace']);
    expect(client.active).toBe(false);
    expect(node.upgrades()).toBe(1);
  });
});

describe('the application server', () => {
  it('speaks the same handshake and refuses an unknown namespace the same way', async () => {
    const server = await startTestServer();
    onCleanup(() => server.stop());
    const client = new RawClient(
      `${server.url.replace(/^http/, 'ws')}/socket.io/?EIO=4&transport=websocket`,
      onCleanup,
    );
    expect(await client.open()).toEqual({
      sid: expect.any(String),
      upgrades: [],
      pingInterval: expect.any(Number),
      pingTimeout: expect.any(Number),
      maxPayload: expect.any(Number),
    });
    client.send('40/admin,');
    expect(await client.next()).toBe('44/admin,{"message":"Invalid namespace"}');
    client.send('40');
    expect(await client.next()).toMatch(/^40\{"sid":/);
    client.send('451-0["join_live",{"_placeholder":true,"num":0}]');
    client.send(Buffer.from([1]));
    expect(JSON.parse((await client.next()).slice(3))).toEqual([
      {
        ok: false,
        error: { code: 'invalid_input', message: 'Binary attachments are not accepted' },
      },
    ]);
    client.send('41');
    // The application's ping comes every 25 s: the connection is seen to stay open instead.
    await settle(500);
    expect(client.isOpen).toBe(true);
  });
});
