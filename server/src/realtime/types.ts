import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from '@onair/protocol';
import type { Server, Socket } from 'socket.io';

export type LiveServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type LiveSocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

/**
 * The user of a socket. Every socket is signed in (the handshake refuses the others), so an
 * anonymous one here is a programming error.
 */
export function signedInUser(socket: LiveSocket): { userId: string; username: string } {
  const { data } = socket;
  if (data.anonymous !== false) throw new Error('socket is not signed in');
  return { userId: data.userId, username: data.username };
}

/** Room reaching every tab of one user. */
export const userRoom = (userId: string): `user:${string}` => `user:${userId}`;
