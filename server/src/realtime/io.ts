import type { Server as HttpServer } from 'node:http';
import type { SocketData } from '@onair/protocol';
import type { Logger } from 'pino';
import { AuthError } from '../auth/AuthError';
import { AppError } from '../live/errors';
import type { TokenService } from '../auth/tokens';
import type { LiveServer } from './types';
import { userRoom } from './types';
import type { MessageBudgetOptions } from './wire/MessageBudget';
import { RealtimeServer } from './wire/RealtimeServer';
import { ConnectRefusal } from './wire/RealtimeSocket';

export interface RealtimeOptions {
  tokens: TokenService;
  logger: Logger;
  /** Headers added to every HTTP response the realtime server sends itself (a refused handshake). */
  responseHeaders?: Readonly<Record<string, string>>;
  /** Each socket's allowance of messages (`SOCKET_EVENTS_PER_SECOND`, `SOCKET_EVENTS_BURST`). */
  messageBudget?: MessageBudgetOptions;
}

const anonymous: SocketData = { anonymous: true, userId: null, username: null };

const refusal = (message: string) =>
  new ConnectRefusal('unauthorized', { code: 'unauthorized', message });

/**
 * The realtime server on the HTTP server. A handshake without a token is an anonymous watcher
 * (it may only watch public streams: `clientEventDispatcher` refuses it anything else); a token
 * that is present must be valid and name a user who still exists (`TokenService.verify` checks),
 * or the connection is refused: a bad token is never silently taken for no token.
 */
export function createRealtimeServer(
  httpServer: HttpServer,
  { tokens, logger, responseHeaders = {}, messageBudget }: RealtimeOptions,
): LiveServer {
  const io = new RealtimeServer(httpServer, {
    logger,
    responseHeaders,
    ...(messageBudget ? { messageBudget } : {}),
    budgetRefusal: (retryAfterSeconds) => ({
      ok: false,
      error: AppError.rateLimited(
        Math.ceil(retryAfterSeconds * 1000) / 1000,
        'Too many messages; slow down',
      ).toBody(),
    }),
    // Bodies over 1 MB are refused over HTTP; the same bound holds for a socket message.
    maxPayload: 1e6,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 10_000,
    async authenticate(auth) {
      const token: unknown = (auth as { token?: unknown } | null | undefined)?.token;
      // A signed-out web app sends what its storage holds: nothing, or null.
      if (token === undefined || token === null) return anonymous;
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096)
        throw refusal('Sign in first');
      try {
        const claims = await tokens.verify(token);
        return { anonymous: false, userId: claims.userId, username: claims.username };
      } catch (error) {
        throw refusal(error instanceof AuthError ? error.message : 'Invalid token');
      }
    },
  });

  io.on('connection', (socket) => {
    const { userId } = socket.data;
    if (userId !== null) socket.join(userRoom(userId));
    logger.debug({ socketId: socket.id, userId }, 'socket connected');
  });
  return io;
}
