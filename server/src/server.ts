import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdapter } from '@socket.io/redis-adapter';
import type { Logger } from 'pino';
import { createClient } from 'redis';
import { createTokenService, type TokenService } from './auth/tokens';
import type { Config } from './config';
import { openDatabase, type Database } from './db/database';
import { createHttpApp } from './http/app';
import { authRoutes } from './http/routes/auth';
import { iceServerRoutes, iceServersFor } from './http/routes/ice-servers';
import { liveRoutes } from './http/routes/live';
import { whipRoutes } from './http/routes/whip';
import { userRoutes } from './http/routes/users';
import { dataResponseHeaders } from './http/security-headers';
import { CommentService } from './live/comments';
import { LiveEvents } from './live/events';
import { RateLimiter } from './live/rate-limiter';
import { StreamService } from './live/streams';
import { UserService } from './live/users';
import { createLogger, withSafeSerializers } from './logging/logger';
import { connectMediaLifecycle } from './media-lifecycle';
import { MediaWorkerPool } from './media/MediaWorkerPool';
import { Metrics } from './metrics';
import { persistentValue, randomNodeId, randomSecret } from './node-identity';
import { relayLiveEvents } from './realtime/broadcasts';
import { createRealtimeServer } from './realtime/io';
import { registerLiveHandlers } from './realtime/live-handlers';
import { registerMediaHandlers } from './realtime/media-handlers';
import type { LiveServer } from './realtime/types';

export interface OnAirServer {
  /** The base URL this server answers on, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  nodeId: string;
  http: HttpServer;
  io: LiveServer;
  database: Database;
  events: LiveEvents;
  services: {
    users: UserService;
    streams: StreamService;
    comments: CommentService;
    tokens: TokenService;
  };
  media: MediaWorkerPool;
  logger: Logger;
  /** Stops accepting work and releases everything; safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Per-user chat limits; tests lower them to see the limit bite. */
  rateLimits?: {
    comments?: { burst: number; perSecond: number };
    reactions?: { burst: number; perSecond: number };
  };
  /** How long a media session may take to connect before it is closed. Default 15 s. */
  mediaConnectTimeoutMs?: number;
  /**
   * How long a client may take to send a request. Node's defaults (60 s for headers, 5 min for
   * the whole request) let a few slow or never-ending uploads hold connections for minutes.
   */
  httpTimeouts?: {
    /** Until the headers are in. Default 10 s. */
    headersMs?: number;
    /** Until the whole request, body included, is in. Default 30 s (1 MB, the largest body, at 35 kB/s). */
    requestMs?: number;
  };
}

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';

/** Builds and starts the whole product in this process: database, API, realtime. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<OnAirServer> {
  // Whoever made the logger, what it writes is scrubbed of tokens, keys and query values.
  const logger = withSafeSerializers(
    options.logger ?? createLogger(config.logLevel, { service: 'onair' }),
  );
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const jwtSecret =
    config.jwtSecret ?? (await persistentValue(config.dataDir, 'jwt-secret', randomSecret));
  const nodeId = config.nodeId ?? (await persistentValue(config.dataDir, 'node-id', randomNodeId));

  const events = new LiveEvents();
  events.on('error', (err) => logger.error({ err }, 'live event listener failed'));
  const users = new UserService(database.db);
  const tokens = createTokenService(new TextEncoder().encode(jwtSecret), config.jwtTtlSeconds, {
    isCurrentUser: (userId) => users.exists(userId),
  });
  const streams = new StreamService(database.db, events, users, nodeId);
  const limiters = {
    comments: new RateLimiter(options.rateLimits?.comments ?? { burst: 5, perSecond: 1 }),
    reactions: new RateLimiter(options.rateLimits?.reactions ?? { burst: 20, perSecond: 5 }),
  };
  const comments = new CommentService(database.db, events, streams, limiters);
  const metrics = new Metrics();
  const media = new MediaWorkerPool({
    workers: config.mediaWorkers,
    network: {
      // Media sockets bind where the API does when that is one address (never wider than asked).
      bindAddress: isWildcard(config.host) ? undefined : config.host,
      portRange: config.rtcPorts,
      announcedIp: config.announcedIp,
    },
    maxPublishBitrate: 4_000_000,
    connectTimeoutMs: options.mediaConnectTimeoutMs ?? 15_000,
    logLevel: config.logLevel,
    logger,
  });
  media.on('error', (err) => logger.error({ err }, 'media event listener failed'));
  const lifecycle = connectMediaLifecycle({
    media,
    streams,
    events,
    graceSeconds: config.publisherGraceSeconds,
    logger,
  });
  const iceOptions = {
    iceServers: config.iceServers,
    turnSecret: config.turnSecret,
    turnTtlSeconds: config.turnTtlSeconds,
  };
  const iceLinks = (userId: string | undefined) =>
    iceServersFor(iceOptions, userId ?? 'whip').flatMap((server) =>
      [server.urls].flat().map((url) => {
        const auth = server.username
          ? `; username="${server.username}"; credential="${server.credential ?? ''}"; credential-type="password"`
          : '';
        return `<${url}>; rel="ice-server"${auth}`;
      }),
    );

  let ready = false;
  let baseUrl = config.publicUrl ?? '';
  const publicUrl = () => baseUrl;
  const app = createHttpApp({
    logger,
    metrics,
    isReady: () => ready,
    webDir: config.webDir,
    metricsToken: config.metricsToken,
    routes: [
      ['/api/auth', authRoutes(users, tokens)],
      ['/api/users', userRoutes(users, tokens)],
      ['/api/live/ice-servers', iceServerRoutes(iceOptions, tokens)],
      ['/api/live', whipRoutes({ media, streams, tokens, iceLinks })],
      ['/api/live', liveRoutes({ streams, comments, tokens, publicUrl })],
    ],
  });
  const headersTimeout = options.httpTimeouts?.headersMs ?? 10_000;
  const http = createServer(
    {
      headersTimeout,
      requestTimeout: Math.max(headersTimeout, options.httpTimeouts?.requestMs ?? 30_000),
      // Timeouts are enforced when connections are checked: every 30 s by default, far too late.
      connectionsCheckingInterval: Math.min(1000, headersTimeout),
    },
    app,
  );
  const io = createRealtimeServer(http, { tokens, logger, responseHeaders: dataResponseHeaders });
  const redisClients: { quit(): Promise<unknown> }[] = [];
  if (config.redisUrl) {
    const pub = createClient({ url: config.redisUrl });
    const sub = pub.duplicate();
    await Promise.all([pub.connect(), sub.connect()]);
    redisClients.push(pub, sub);
    io.adapter(createAdapter(pub, sub));
  }
  const whipUrl = (streamId: string) => `${publicUrl()}/api/live/${streamId}/whip`;
  io.on('connection', (socket) => {
    const closeMedia = registerMediaHandlers(socket, { media, streams, logger, metrics });
    registerLiveHandlers(socket, {
      streams,
      comments,
      logger,
      metrics,
      whipUrl,
      onLeave: closeMedia,
    });
  });
  const stopRelay = relayLiveEvents(io, events, async (streamId) => {
    const row = await streams.visibleRow(streamId, undefined).catch(() => null);
    return row ? streams.audience(row) : null;
  });
  metrics.attach({
    liveCount: () => streams.liveCount(),
    connectedSockets: () => io.engine.clientsCount,
    media: async () => ({ ...media.stats(), ...(await media.totals()) }),
  });

  // Streams this node held before a crash have lost their media: their publishers get the usual
  // grace period to come back, after which the streams end rather than stay live forever.
  for (const streamId of await streams.recoverNode()) {
    logger.warn({ streamId }, 'stream left live by a previous run: waiting for its publisher');
    if (config.publisherGraceSeconds > 0) lifecycle.startGrace(streamId);
    else await streams.finish(streamId, 'node_restart');
  }

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(config.port, config.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  const shownHost = isWildcard(config.host) ? 'localhost' : config.host;
  const url = `http://${shownHost}:${port}`;
  baseUrl = config.publicUrl ?? url;
  ready = true;

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      ready = false;
      stopRelay();
      lifecycle.close();
      await media.close();
      limiters.comments.close();
      limiters.reactions.close();
      io.disconnectSockets(true);
      await new Promise<void>((resolve) => io.close(() => resolve()));
      http.closeAllConnections();
      await Promise.all(redisClients.map((c) => c.quit().catch(() => undefined)));
      await database.close();
    })());

  return {
    url,
    port,
    nodeId,
    http,
    io,
    database,
    events,
    services: { users, streams, comments, tokens },
    media,
    logger,
    close,
  };
}
