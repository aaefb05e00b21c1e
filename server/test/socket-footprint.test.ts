import { streamRoom } from '@onair/protocol';
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
    const socket = server!.io.socket(client.id!);
    if (!socket) throw new Error(`no server socket for ${client.id}`);
    return socket;
  };

  it('answers every socket from shared handlers and keeps nothing of a socket once it is gone', async () => {
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
    // The shared handlers answer per socket: identity comes from the socket passed in.
    expect(await emitAck(signedIn, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: true,
      comment: { userId: viewer.user.id },
    });
    expect(await emitAck(anonymous, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });

    const io = server.io;
    expect(io.roomSize(streamRoom(streamId))).toBe(2);
    for (const client of clients) {
      const socket = serverSocketOf(client);
      // What each of a room's thousands of sockets holds: adding to it is a decision, not a slip.
      expect(Object.keys(socket).sort()).toEqual(
        [
          // The address is the string its per-address count holds, shared by its sockets.
          'address',
          // Binary frames still to discard: a binary event is refused, its attachments read.
          'attachmentsDue',
          'awaitingPong',
          'data',
          'heartbeatSlot',
          'id',
          'maxBufferedBytes',
          // What is left of its message budget: three numbers (issue 16).
          'messageBudget',
          'owner',
          'raw',
          'roomList',
          'state',
          // When it opened or left its namespace: the connect deadline's start.
          'unconnectedSince',
          'ws',
        ].sort(),
      );
      expect(socket.rooms).toContain(streamRoom(streamId));
    }
    expect(serverSocketOf(signedIn).rooms).toContain(`user:${viewer.user.id}`);

    const ids = clients.map((client) => client.id!);
    for (const client of clients.splice(0)) client.close();
    await expect.poll(() => io.clientsCount).toBe(0);
    expect(io.roomSize(streamRoom(streamId))).toBe(0);
    expect(io.roomSize(`user:${viewer.user.id}`)).toBe(0);
    for (const id of ids) expect(io.socket(id)).toBeUndefined();
    // And the presence they held went with them.
    const viewerCount = async () =>
      (await api(server!.url)<{ viewerCount: number }>('GET', `/api/live/${streamId}`)).body
        .viewerCount;
    await expect.poll(viewerCount).toBe(0);
  });
});
