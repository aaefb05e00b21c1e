import { AppError } from '../live/errors';
import { anonymousViewer, type Actor, type Viewer } from '../live/presence';
import type { LiveSocket } from './types';

/** Who a socket watches as: its user, or an anonymous watcher named by the socket itself. */
export function viewerOfSocket(socket: LiveSocket): Viewer {
  const data = socket.data;
  return data.anonymous
    ? anonymousViewer.socket(socket.id)
    : { userId: data.userId, username: data.username };
}

/**
 * The socket's user, for what only a user may do. Anonymous sockets are refused such events
 * before any handler runs (`handleClientEvents`); this only lets the types say so.
 */
export function actorOfSocket(socket: LiveSocket): Actor {
  const viewer = viewerOfSocket(socket);
  if (!('userId' in viewer)) throw AppError.unauthorized('Sign in first');
  return viewer;
}
