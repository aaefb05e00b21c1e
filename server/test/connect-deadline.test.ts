import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterEach, expect, it } from 'vitest';
import { RealtimeServer } from '../src/realtime/wire/RealtimeServer';

/*
 * Issue 16: a socket that upgrades but never sends the Socket.IO connect held its TCP connection
 * 41–50 s, not the 10 s the connect deadline says: the server closed it with a handshake, which
 * waits for the client's close frame, and a client that never speaks never sends one.
 */

/**
 * As in production, the connect deadline comes before a second heartbeat visit could drop the
 * client for an unanswered ping (which is what a silent client would otherwise meet first).
 */
const timing = { pingIntervalMs: 600, pingTimeoutMs: 600, connectTimeoutMs: 300 };
/** Room for timers firing late on a busy machine. */
const slack = 500;

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

it('drops a connection that never sends the connect packet nor answers the close, at the connect deadline', async () => {
  const http = createServer();
  const server = new RealtimeServer(http, {
    authenticate: () => Promise.resolve({ anonymous: true, userId: null, username: null }),
    logger: pino({ level: 'silent' }),
    ...timing,
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise((resolve) => http.close(resolve)));
  cleanups.push(() => server.close());
  const { port } = http.address() as AddressInfo;

  // A bare TCP client: it upgrades, then reads and never writes another byte.
  const tcp = connect(port, '127.0.0.1');
  cleanups.push(() => tcp.destroy());
  tcp.on('error', () => undefined);
  let received = '';
  tcp.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  const closedAt = new Promise<number>((resolve) => tcp.once('close', () => resolve(Date.now())));
  await new Promise<void>((resolve) => tcp.once('connect', resolve));
  tcp.write(
    [
      'GET /socket.io/?EIO=4&transport=websocket HTTP/1.1',
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}`,
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  await expect.poll(() => received).toMatch(/^HTTP\/1\.1 101[\s\S]*\r\n\r\n[\s\S]*0\{"sid"/);
  const openedAt = Date.now();
  expect(server.clientsCount).toBe(1);

  const timeout = new Promise<'still open'>((resolve) =>
    setTimeout(() => resolve('still open'), 3000),
  );
  const closed = await Promise.race([closedAt, timeout]);
  expect(closed).not.toBe('still open');
  expect((closed as number) - openedAt).toBeLessThanOrEqual(
    timing.connectTimeoutMs + timing.pingIntervalMs + slack,
  );
  expect(server.clientsCount).toBe(0);
});
