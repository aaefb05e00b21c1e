import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { SocketData } from '@onair/protocol';
import type { Logger } from 'pino';
import { AuthError } from '../auth/AuthError';
import { AppError } from '../live/errors';
import type { TokenService } from '../auth/tokens';
import { asUnavailable } from '../live/unavailable';
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
  /** The client's address as every per-address limit counts it (`SOCKETS_PER_IP` here). */
  addressOf: (req: IncomingMessage) => string;
  /** Sockets one address may hold open on this node (`SOCKETS_PER_IP`). */
  socketsPerAddress: number;
  /** Each socket's allowance of messages (`SOCKET_EVENTS_PER_SECOND`, `SOCKET_EVENTS_BURST`). */
  messageBudget?: MessageBudgetOptions;
  /** While true (the node is draining), connections are refused and asked to come back soon. */
  refuseConnections?: () => boolean;
}

const anonymous: SocketData = { anonymous: true, userId: null, username: null };

/**
 * A node shutting down refuses connections and closes them (final): the client's next attempt
 * opens a new connection, which a load balancer sends to another node by then.
 */
const drainingRefusal = new ConnectRefusal(
  'unavailable',
  { code: 'unavailable', message: 'This server is restarting', retryAfterSeconds: 1 },
  true,
);

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
  {
    tokens,
    logger,
    responseHeaders = {},
    addressOf,
    socketsPerAddress,
    messageBudget,
    refuseConnections = () => false,
  }: RealtimeOptions,
): LiveServer {
  const io = new RealtimeServer(httpServer, {
    logger,
    responseHeaders,
    addressOf,
    socketsPerAddress,
    ...(messageBudget ? { messageBudget } : {}),
    budgetRefusal: (retryAfterSeconds) => ({
      ok: false,
      error: AppError.rateLimited(
        Math.ceil(retryAfterSeconds * 1000) / 1000,
        'Too many messages; slow down',
      ).toBody(),
    }),
    binaryRefusal: {
      ok: false,
      error: AppError.invalidInput('Binary attachments are not accepted').toBody(),
    },
    // Bodies over 1 MB are refused over HTTP; the same bound holds for a socket message.
    maxPayload: 1e6,
    // A client that stops reading is dropped at 1 MB waiting (thousands of comments behind; it
    // reconnects and is sent what it missed): one address's sockets can hold at most
    // SOCKETS_PER_IP times this.
    maxBufferedBytes: 1024 * 1024,
    pingIntervalMs: 10_000,
    pingTimeoutMs: 10_000,
    async authenticate(auth) {
      if (refuseConnections()) throw drainingRefusal;
      const token: unknown = (auth as { token?: unknown } | null | undefined)?.token;
      // A signed-out web app sends what its storage holds: nothing, or null.
      if (token === undefined || token === null) return anonymous;
      if (typeof token !== 'string' || token.length === 0 || token.length > 4096)
        throw refusal('Sign in first');
      try {
        const claims = await tokens.verify(token);
        return { anonymous: false, userId: claims.userId, username: claims.username };
      } catch (error) {
        // A database that cannot be reached says nothing of the token: the client should try
        // again, not sign out.
        const unavailable = asUnavailable(error);
        if (unavailable) throw new ConnectRefusal('unavailable', unavailable.toBody());
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
