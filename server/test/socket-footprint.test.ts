import { clientEvents } from '@onair/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import type { LiveSocket } from '../src/realtime/types';
import {
  api,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type ClientSocket,
  type TestServer,
} from './support/server';

/**
 * A stream's room holds thousands of mostly idle sockets (issue 11): what the server keeps for
 * each one is multiplied by all of them. These pin the shape that keeps it small; the bytes are
 * measured by `npm run bench -- --only chat`.
 */
describe('what a connected socket costs the server', () => {
  let server: TestServer | undefined;
  const clients: ClientSocket[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.close();
    await server?.stop();
    server = undefined;
  });

  const serverSocketOf = (client: ClientSocket): LiveSocket => {
    const socket = server!.io.sockets.sockets.get(client.id!);
    if (!socket) throw new Error(`no server socket for ${client.id}`);
    return socket;
  };

  it('holds one catch-all listener per socket, not one per client event, and no HTTP request', async () => {
    server = await startTestServer();
    const host = await registerUser(server);
    const viewer = await registerUser(server);
    const started = await api(server.url)<{ streamId: string }>('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'footprint' },
    });
    expect(started.status).toBe(201);
    const { streamId } = started.body;
    const anonymous = await connectSocket(server, undefined);
    const signedIn = await connectSocket(server, viewer.token);
    clients.push(anonymous, signedIn);
    for (const client of clients)
      expect(await emitAck(client, 'join_live', { streamId })).toMatchObject({ ok: true });
    // And the shared handlers still answer per socket: identity comes from the socket passed in.
    expect(await emitAck(signedIn, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: true,
      comment: { userId: viewer.user.id },
    });
    expect(await emitAck(anonymous, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });

    for (const client of clients) {
      const socket = serverSocketOf(client);
      expect(socket.listenersAny()).toHaveLength(1);
      const perEvent = socket.eventNames().filter((name) => Object.hasOwn(clientEvents, name));
      expect(perEvent).toEqual([]);
      // Leaving the rooms on disconnect; media state is added only with a media session.
      expect(socket.listeners('disconnecting')).toHaveLength(1);
      expect(socket.listeners('disconnect')).toHaveLength(0);
      expect((socket.conn as unknown as { request: unknown }).request).toBeNull();
    }
  });
});
