import type { Server as HttpServer } from 'node:http';
import { Server } from 'socket.io';
import type { Logger } from 'pino';
import { AuthError } from '../auth/AuthError';
import type { TokenService } from '../auth/tokens';
import type { LiveServer } from './types';
import { userRoom } from './types';

export interface RealtimeOptions {
  tokens: TokenService;
  logger: Logger;
  /** Headers added to every response Socket.IO sends itself (handshake, polling), bypassing Express. */
  responseHeaders?: Readonly<Record<string, string>>;
}

/**
 * Socket.IO on the HTTP server. A handshake without a token is an anonymous watcher (it may only
 * watch public streams: `handleClientEvents` refuses it anything else); a token that is present
 * must be valid and name a user who still exists (`TokenService.verify` checks), or the
 * connection is refused: a bad token is never silently taken for no token.
 */
export function createRealtimeServer(
  httpServer: HttpServer,
  { tokens, logger, responseHeaders = {} }: RealtimeOptions,
): LiveServer {
  const io: LiveServer = new Server(httpServer, {
    // Bodies over 1 MB are refused over HTTP; the same bound holds for a socket message.
    maxHttpBufferSize: 1e6,
    pingInterval: 10_000,
    pingTimeout: 10_000,
    serveClient: false,
  });
  const addHeaders = (headers: Record<string, string>) => Object.assign(headers, responseHeaders);
  io.engine.on('initial_headers', addHeaders);
  io.engine.on('headers', addHeaders);
  // Engine.IO keeps each connection's HTTP request (headers, raw headers, URL, parser state) for
  // the life of the socket; nothing of ours reads it after the handshake, which Socket.IO builds
  // without it (the address comes from the connection). About 1 KB per socket.
  io.engine.on('connection', (raw: { request: unknown }) => {
    raw.request = null;
  });

  io.use((socket, next) => {
    const token: unknown = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    // A signed-out web app sends what its storage holds: nothing, or null.
    if (token === undefined || token === null) {
      socket.data = { anonymous: true, userId: null, username: null };
      next();
      return;
    }
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) {
      next(
        Object.assign(new Error('unauthorized'), {
          data: { code: 'unauthorized', message: 'Sign in first' },
        }),
      );
      return;
    }
    tokens.verify(token).then(
      (claims) => {
        socket.data = { anonymous: false, userId: claims.userId, username: claims.username };
        next();
      },
      (error: unknown) => {
        const message = error instanceof AuthError ? error.message : 'Invalid token';
        next(Object.assign(new Error('unauthorized'), { data: { code: 'unauthorized', message } }));
      },
    );
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data;
    // Synchronous with the adapters in use; an adapter that joins later may also fail to.
    if (userId !== null)
      Promise.resolve(socket.join(userRoom(userId))).catch((err: unknown) =>
        logger.error({ err, userId }, 'could not join the user room'),
      );
    logger.debug({ socketId: socket.id, userId }, 'socket connected');
  });
  return io;
}
