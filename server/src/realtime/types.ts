import type { RealtimeServer } from './wire/RealtimeServer';
import type { RealtimeSocket } from './wire/RealtimeSocket';

export type LiveServer = RealtimeServer;
export type LiveSocket = RealtimeSocket;

/** Room reaching every tab of one user. */
export const userRoom = (userId: string): `user:${string}` => `user:${userId}`;
