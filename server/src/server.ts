import type { Express } from 'express';
import { createServer, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { userWhipPath, whipPath } from '@onair/protocol';
import type { Logger } from 'pino';
import { deriveKey, SecretBox } from './auth/secret-box';
import { createTokenService, type TokenService } from './auth/tokens';
import { ClientEmitters, logClientErrors } from './cluster/client-emitters';
import type { DependencyState } from './cluster/health-probe';
import { persistentValue, randomNodeId, randomSecret } from './cluster/node-identity';
import { MediaAdmission } from './cluster/media-admission';
import { NodeRegistry } from './cluster/node-registry';
import { openRedisLink } from './cluster/redis-link';
import type { Config } from './config';
import { openDatabase, type Database } from './db/database';
import { nodeRows } from './db/node-rows';
import { createHttpApp } from './http/app';
import { upgradeClientAddress, type TrustProxy } from './http/client-address';
import { authRoutes } from './http/routes/auth';
import { iceServerRoutes, iceServersFor } from './http/routes/ice-servers';
import { liveRoutes } from './http/routes/live';
import { moderationRoutes } from './http/routes/moderation';
import { avatarRoutes } from './http/routes/avatars';
import { meRoutes } from './http/routes/me';
import { notificationRoutes } from './http/routes/notifications';
import { tagRoutes } from './http/routes/tags';
import { thumbnailRoutes } from './http/routes/thumbnails';
import { userRoutes } from './http/routes/users';
import { whipRoutes } from './http/routes/whip';
import { dataResponseHeaders } from './http/security-headers';
import { AvatarService } from './live/avatars';
import { CommentService } from './live/comments';
import { LiveEvents } from './live/events';
import { ModerationService } from './live/moderation';
import { NextStreamService } from './live/next-stream';
import { NotificationService } from './live/notifications';
import { PublisherClaims } from './live/publisher-claims';
import { FairQueue } from './live/FairQueue';
import { PresenceService } from './live/presence';
import { createLimit, type Budget, type LimitStore } from './live/rate-limits';
import { SignInGuard } from './live/sign-in-guard';
import { StreamKeyService } from './live/stream-keys';
import { StreamService } from './live/streams';
import { streamsTagged } from './live/tag-streams';
import { ThumbnailService } from './live/thumbnails';
import { UserService } from './live/users';
import { createLogger, withSafeSerializers } from './logging/logger';
import { MediaWorkerPool, relayKeyPurpose } from './media/MediaWorkerPool';
import { Metrics } from './observability/Metrics';
import { raiseOpenFilesLimit } from './process/open-files-limit';
import { relayLiveEvents } from './realtime/broadcasts';
import { clientEventDispatcher } from './realtime/client-events';
import { createRealtimeServer } from './realtime/io';
import { liveHandlers } from './realtime/live-handlers';
import { mediaHandlers } from './realtime/media-handlers';
import { joinRedisBus } from './cluster/realtime-bus';
import { relayModerationEvents } from './realtime/moderation-broadcasts';
import { relayNotifications } from './realtime/notification-broadcasts';
import { moderationHandlers } from './realtime/moderation-handlers';
import type { LiveServer } from './realtime/types';
import { connectMediaLifecycle } from './wiring/media-lifecycle';
import { connectPublishing } from './wiring/publishing';
import { connectDepartedNodes } from './wiring/departed-nodes';
import { connectFollowerNotifications } from './wiring/follower-notifications';
import { connectMediaPresence } from './wiring/media-presence';
import { connectMediaRelay } from './wiring/media-relay';
import { mkdir, rm } from 'node:fs/promises';
import { connectRecordings } from './wiring/recordings';
import { recordingRoutes } from './http/routes/recordings';
import { RecordingFiles } from './recordings/files';
import { RecordingService } from './live/recordings';
import { StreamAccess } from './live/access';
import { resyncRooms } from './realtime/room-resync';

export interface OnAirServer {
  /** The base URL this server answers on, e.g. `http://127.0.0.1:3000`. */
  url: string;
  port: number;
  nodeId: string;
  http: HttpServer;
  /** The HTTP app: its routers are what the node serves. */
  app: Express;
  io: LiveServer;
  database: Database;
  events: LiveEvents;
  services: {
    users: UserService;
    streams: StreamService;
    presence: PresenceService;
    comments: CommentService;
    moderation: ModerationService;
    tokens: TokenService;
    notifications: NotificationService;
    recordings: RecordingService;
  };
  media: MediaWorkerPool;
  /** The deployment's live nodes (this one included), from their heartbeats. */
  registry: NodeRegistry;
  logger: Logger;
  /** Every client library's EventEmitter this node holds, each with an 'error' listener. */
  clientEmitters: ClientEmitters;
  /** Whether each server this node uses answers (what `/api/health` reports). */
  dependencies(): Record<string, DependencyState>;
  /**
   * Hands this node's work to the other nodes (SIGTERM): it takes no new sessions or sockets,
   * tells its socket clients to reconnect (elsewhere, behind a load balancer), and resolves once
   * it holds no viewer sessions or after `deadlineMs`. Closing is the caller's.
   */
  drain(deadlineMs: number): Promise<void>;
  /** Stops accepting work and releases everything; safe to call twice. */
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /**
   * Per-user chat budgets (default 5 comments per 5 s, 20 reactions per 4 s); tests change them
   * to see the limit bite.
   */
  rateLimits?: {
    comments?: Budget;
    reactions?: Budget;
    /** A host's starts, ends, media states and publish offers. Default 30 per 30 s per user. */
    hostActions?: Budget;
    /** Answers and ICE candidates on one socket. Default 60 per 10 s. */
    signalling?: Budget;
    /** Profile picture uploads per user. Default 10 per 10 minutes. */
    avatarUploads?: Budget;
  };
  /** How long a media session may take to connect before it is closed. Default 15 s. */
  mediaConnectTimeoutMs?: number;
  /**
   * How long after its stream ended a recording still closing is taken as left by a dead worker
   * and closed from what reached the disk. Default 60 s.
   */
  recordingAbandonMs?: number;
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

/** How long start-up waits for Redis before the node serves without it. */
const redisStartWaitMs = 3000;

const isWildcard = (host: string) => host === '0.0.0.0' || host === '::';
/** An IPv6 address is bracketed in a URL (RFC 3986 §3.2.2). */
const hostInUrl = (host: string) => (host.includes(':') ? `[${host}]` : host);

/** Builds and starts the whole product in this process: database, API, realtime. */
export async function startServer(
  config: Config,
  options: StartOptions = {},
): Promise<OnAirServer> {
  // Whoever made the logger, what it writes is scrubbed of tokens, keys and query values.
  const logger = withSafeSerializers(
    options.logger ?? createLogger(config.logLevel, { service: 'onair' }),
  );
  // Each socket holds a descriptor: the limit bounds how many clients this node can serve.
  const openFiles = await raiseOpenFilesLimit();
  if (openFiles) logger.info({ openFiles }, 'open files limit');
  // The media engine's ICE (libjuice) answers checks relayed over TURN TCP or TLS with 400
  // (libjuice#355: Chromium's tiebreaker there is 0), so such URLs only cost viewers time.
  const tcpRelays = config.iceServers
    .flatMap((server) => [server.urls].flat())
    .filter((url) => /^turns:|[?&]transport=tcp/i.test(url));
  if (tcpRelays.length)
    logger.warn(
      { urls: tcpRelays.length },
      'ICE_SERVERS lists TURN over TCP or TLS, which this media engine cannot use yet: give viewers UDP TURN',
    );
  // An 'error' nobody listens for ends the process: every client library's emitter is watched.
  const clientEmitters = new ClientEmitters(logClientErrors(logger));
  const dependencyChanged = (name: string) => (state: DependencyState) => {
    if (state === 'ok') logger.info({ dependency: name }, 'dependency answers again');
    else logger.warn({ dependency: name }, 'dependency down: serving degraded');
  };
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    emitters: clientEmitters,
    onStateChange: dependencyChanged('database'),
  });
  const jwtSecret =
    config.jwtSecret ?? (await persistentValue(config.dataDir, 'jwt-secret', randomSecret));
  const nodeId = config.nodeId ?? (await persistentValue(config.dataDir, 'node-id', randomNodeId));

  // Connected in the background: the node serves without Redis, and follows it as it comes and goes.
  const redis = config.redisUrl
    ? openRedisLink(config.redisUrl, {
        emitters: clientEmitters,
        onStateChange: dependencyChanged('redis'),
      })
    : undefined;
  const redisUp = () => redis?.state() === 'ok';
  // With Redis every node counts against the same budgets; alone, memory is enough.
  const limitStore: LimitStore = redis
    ? {
        kind: 'redis',
        client: redis.client,
        keyPrefix: config.redisKeyPrefix,
        available: redisUp,
      }
    : { kind: 'memory' };
  const events = new LiveEvents((err, event) =>
    logger.error({ err, event }, 'live event listener failed'),
  );
  const presence = new PresenceService(database.db, events, {
    nodeId,
    leaseSeconds: config.viewLeaseSeconds,
  });
  const users = new UserService(database.db, presence);
  const tokens = createTokenService(new TextEncoder().encode(jwtSecret), config.jwtTtlSeconds, {
    isCurrentUser: (userId) => users.exists(userId),
  });
  const recordingFiles = new RecordingFiles(config.recordingsDir ?? '');
  if (config.recordingsDir)
    await mkdir(config.recordingsDir, { recursive: true }).catch((err: unknown) =>
      // Not fatal: each recording then fails with a notice to its host, and streams go on.
      logger.error({ err, dir: config.recordingsDir }, 'recordings directory cannot be created'),
    );
  const recordings = new RecordingService(database.db, new StreamAccess(database.db), events, {
    files: recordingFiles,
    enabled: config.recordingsDir !== null,
    signingKey: deriveKey(jwtSecret, 'media urls'),
    retentionDays: config.recordingRetentionDays,
    abandonAfterMs: options.recordingAbandonMs,
  });
  const streams = new StreamService(database.db, events, users, presence, nodeId, recordings);
  // Nodes that share users share JWT_SECRET: every one of them can open the keys and check the
  // thumbnail signatures the others made.
  const streamKeys = new StreamKeyService(
    database.db,
    new SecretBox(deriveKey(jwtSecret, 'stream keys')),
  );
  const nextStream = new NextStreamService(database.db);
  const thumbnails = new ThumbnailService(
    database.db,
    events,
    streams,
    deriveKey(jwtSecret, 'thumbnail urls'),
  );
  const limits = {
    comments: createLimit(
      'comments',
      options.rateLimits?.comments ?? { points: 5, durationSeconds: 5 },
      limitStore,
      'Too many messages; slow down',
    ),
    reactions: createLimit(
      'reactions',
      options.rateLimits?.reactions ?? { points: 20, durationSeconds: 4 },
      limitStore,
      'Too many reactions; slow down',
    ),
    // A socket lives on one node: its own budgets need no shared store, and cost no round trip.
    joinLeave: createLimit(
      'join-leave',
      config.limits.joinLeavePerSocket,
      { kind: 'memory' },
      'Joining and leaving too fast; slow down',
    ),
    signalling: createLimit(
      'signalling',
      options.rateLimits?.signalling ?? { points: 60, durationSeconds: 10 },
      { kind: 'memory' },
      'Too many connection messages; slow down',
    ),
    // A socket lives on one node: counted there, like joins.
    viewerList: createLimit(
      'viewer-list',
      { points: 20, durationSeconds: 10 },
      { kind: 'memory' },
      'Asking for the viewer list too often; slow down',
    ),
    hostActions: createLimit(
      'host-actions',
      options.rateLimits?.hostActions ?? { points: 30, durationSeconds: 30 },
      limitStore,
      'Too many stream changes; slow down',
    ),
    moderation: createLimit(
      'moderation',
      config.limits.moderationPerUser,
      limitStore,
      'Too many moderation actions; slow down',
    ),
    // Counted by each node for itself: it bounds the work asked of this node, and costs no
    // round trip to Redis per request.
    apiRequests: createLimit(
      'api-ip',
      config.limits.apiRequestsPerIp,
      { kind: 'memory' },
      'Too many requests from your network; slow down',
    ),
  };
  const signIn = new SignInGuard(
    {
      failedLoginsPerUsername: createLimit(
        'login-username',
        config.limits.loginFailuresPerUsername,
        limitStore,
        'Too many failed sign-ins for this account; try again later',
      ),
      failedLoginsPerAddress: createLimit(
        'login-ip',
        config.limits.loginFailuresPerIp,
        limitStore,
        'Too many failed sign-ins from your network; try again later',
      ),
      registrationsPerAddress: createLimit(
        'register-ip',
        config.limits.registrationsPerIp,
        limitStore,
        'Too many accounts created from your network; try again later',
      ),
    },
    new FairQueue({
      concurrency: config.passwordHashing.concurrency,
      maxWaiting: config.passwordHashing.maxWaiting,
      // One address (a school behind one NAT, or an attacker) may fill half of the queue: the
      // other half stays open to everyone else, who take turns with it.
      maxWaitingPerClient: Math.max(1, Math.ceil(config.passwordHashing.maxWaiting / 2)),
    }),
    (err) => logger.warn({ err }, 'could not give back a sign-in attempt'),
  );
  const notifications = new NotificationService(database.db, events);
  const stopFollowerNotifications = connectFollowerNotifications({
    events,
    notifications,
    logger,
  });
  const comments = new CommentService(database.db, events, streams, limits);
  const avatars = new AvatarService(
    database.db,
    createLimit(
      'avatar-uploads',
      options.rateLimits?.avatarUploads ?? { points: 10, durationSeconds: 600 },
      limitStore,
      'Too many picture uploads; try again in a few minutes',
    ),
  );
  const moderation = new ModerationService(database.db, events, streams, presence, {
    actions: limits.moderation,
  });
  const metrics = new Metrics();
  const media = new MediaWorkerPool({
    workers: config.mediaWorkers,
    network: {
      // Media sockets bind where the API does when that is one address (never wider than asked).
      bindAddress: isWildcard(config.host) ? undefined : config.host,
      portRange: config.rtcPorts,
      announcedIp: config.announcedIp,
    },
    // Relay sockets for media between nodes bind where media sockets do.
    nodeRelay: {
      bindAddress: isWildcard(config.host) ? undefined : config.host,
      ports: config.nodeRelay.ports,
      key: deriveKey(jwtSecret, relayKeyPurpose).toString('base64'),
    },
    nodeRelayAddress: config.nodeRelay.address,
    maxPublishBitrate: 4_000_000,
    connectTimeoutMs: options.mediaConnectTimeoutMs ?? 15_000,
    logLevel: config.logLevel,
    logger,
  });
  const mediaPresence = connectMediaPresence({ media, presence, events, logger });
  const recordingWiring = connectRecordings({
    media,
    recordings,
    presence,
    events,
    logger,
    sweepMs: Math.min(30_000, options.recordingAbandonMs ?? 30_000),
  });
  // Leases are checked a few times per lease, so a lapsed view goes within about a third of one.
  const stopLeaseSweep = presence.sweepLeases(
    Math.min(10_000, (config.viewLeaseSeconds * 1000) / 3),
    (err) => logger.error({ err }, 'failed to expire REST views'),
  );
  const iceOptions = {
    iceServers: config.iceServers,
    turnSecret: config.turnSecret,
    turnTtlSeconds: config.turnTtlSeconds,
  };
  const iceLinks = (userId: string | undefined) =>
    iceServersFor(iceOptions, userId).flatMap((server) =>
      [server.urls].flat().map((url) => {
        const auth = server.username
          ? `; username="${server.username}"; credential="${server.credential ?? ''}"; credential-type="password"`
          : '';
        return `<${url}>; rel="ice-server"${auth}`;
      }),
    );

  let phase: 'starting' | 'serving' | 'draining' | 'stopping' = 'starting';
  // From a SIGTERM (`drain`) on, the node takes no new sessions and hands its clients over.
  const draining = () => phase === 'draining' || phase === 'stopping';
  // Known once the node listens; the registry first reads it then.
  let nodeUrl = config.nodeUrl ?? '';
  const registry = new NodeRegistry({
    store: nodeRows(database.db),
    nodeId,
    url: () => nodeUrl,
    load: () => ({
      mediaViewers: media.stats().subscribers,
      mediaViewerCap: config.mediaMaxViewers ?? null,
      draining: draining(),
    }),
    logger,
  });
  const admission = new MediaAdmission(registry);
  const dependencies = () => ({
    database: database.state(),
    ...(redis ? { redis: redis.state() } : {}),
  });
  let baseUrl = config.publicUrl ?? '';
  // The one place a WHIP URL is made: REST and socket starts both hand it to the host.
  const whipUrl = (streamId: string) => `${baseUrl}${whipPath(streamId)}`;
  const userWhipUrl = () => `${baseUrl}${userWhipPath}`;
  const app = createHttpApp({
    logger,
    metrics,
    // Without Redis a node still serves everything, with limits counted per node and broadcasts
    // reaching its own sockets only: every node loses Redis at once, and taking them all out of
    // the load balancer would make that an outage.
    health: { phase: () => phase, dependencies, required: ['database'] },
    webDir: config.webDir,
    metricsToken: config.metricsToken,
    requestsPerAddress: limits.apiRequests,
    routes: [
      authRoutes(users, tokens, signIn),
      avatarRoutes({ avatars, tokens }),
      userRoutes(users, streams, recordings, tokens),
      iceServerRoutes(iceOptions, tokens),
      notificationRoutes({ tokens, notifications, db: database.db }),
      meRoutes({ tokens, users, streamKeys, nextStream, userWhipUrl }),
      whipRoutes({
        media,
        // Bound once the bus it announces takeovers on exists (below); called per request only.
        publish: (streamId, offer, claim) => publishing.publish(streamId, offer, claim),
        mediaPresence,
        streams,
        streamKeys,
        nextStream,
        tokens,
        iceLinks,
        anonymousSessionsPerAddress: config.anonymousWhepPerAddress,
        admission,
      }),
      thumbnailRoutes({ thumbnails, tokens }),
      tagRoutes((tag, viewerId) => streamsTagged(database.db, tag, viewerId), tokens),
      moderationRoutes({ moderation, tokens }),
      recordingRoutes({
        recordings,
        files: recordingFiles,
        tokens,
        onHlsViewer: (streamId, viewer) => recordingWiring.hlsViewer(streamId, viewer),
      }),
      liveRoutes({ streams, presence, comments, tokens, whipUrl }),
    ],
  });
  // Per-address limits count the client, not a proxy in front of it, only when told which to trust.
  app.set('trust proxy', config.trustProxy);
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
  const trustProxy = app.get('trust proxy fn') as TrustProxy;
  const io = createRealtimeServer(http, {
    tokens,
    logger,
    responseHeaders: dataResponseHeaders,
    // Upgrades never reach Express: the same trust gives the same address as its `req.ip`.
    addressOf: (req) => upgradeClientAddress(req, trustProxy),
    socketsPerAddress: config.socketsPerAddress,
    messageBudget: config.limits.socketEvents,
    refuseConnections: draining,
  });
  // With Redis, an end on any node closes the stream's media on the node holding it at once.
  const lifecycle = connectMediaLifecycle({
    media,
    streams,
    events,
    graceSeconds: config.publisherGraceSeconds,
    bus: redis && {
      announceEnded: (streamId) => io.serverSideEmit('stream_ended', { streamId }),
      onEnded: (listener) => {
        const onRemote = ({ streamId }: { streamId: string }) => listener(streamId);
        io.on('stream_ended', onRemote);
        return () => io.off('stream_ended', onRemote);
      },
    },
    logger,
  });
  const stopDepartedNodes = connectDepartedNodes({ registry, presence, logger });
  const claims = new PublisherClaims(database.db, nodeId, (id) => registry.isAlive(id));
  // With Redis, the node holding a publisher taken over on another node closes it at once.
  const publishing = connectPublishing({
    media,
    recordingPlan: (streamId) => recordings.plan(streamId),
    claims,
    nodeId,
    registry,
    bus: redis && {
      announceReplaced: (streamId, sessionId) =>
        io.serverSideEmit('publisher_replaced', { streamId, sessionId }),
      onReplaced: (listener) => {
        const onRemote = (r: { streamId: string; sessionId: string }) =>
          listener(r.streamId, r.sessionId);
        io.on('publisher_replaced', onRemote);
        return () => io.off('publisher_replaced', onRemote);
      },
    },
    onPublisherLost: (streamId) => lifecycle.startGrace(streamId),
    logger,
  });
  // With Redis, a node serves streams published on the others, pulling each from its origin.
  const mediaRelay =
    redis &&
    connectMediaRelay({
      media,
      nodeId,
      logger,
      bus: {
        want: (streamId) => io.serverSideEmit('media_origin_wanted', { streamId }),
        announce: (origin) => io.serverSideEmit('media_origin', origin),
        onWanted: (listener) => {
          const onRemote = ({ streamId }: { streamId: string }) => listener(streamId);
          io.on('media_origin_wanted', onRemote);
          return () => io.off('media_origin_wanted', onRemote);
        },
        onAnnounced: (listener) => {
          io.on('media_origin', listener);
          return () => io.off('media_origin', listener);
        },
      },
    });
  if (redis) {
    // Subscribed once Redis is first reached, and by node-redis again after each reconnect; the
    // connections are dropped at close, which ends the subscription too.
    joinRedisBus(
      io,
      { publisher: redis.client, subscriber: redis.subscriber },
      { channel: `${config.redisKeyPrefix}:realtime`, logger, isUp: redisUp },
    ).catch((err: unknown) => {
      if (phase !== 'stopping') logger.error({ err }, 'could not join the realtime bus');
    });
    // What the other nodes broadcast while Redis was away is made good once it is back.
    const resync = resyncRooms({ io, streams, media, logger });
    redis.onUp(() => {
      void resync();
      // Ends announced while the bus was down were missed: the database has them.
      lifecycle
        .closeEndedMedia()
        .catch((err: unknown) =>
          logger.warn({ err }, 'could not close the media of ended streams'),
        );
    });
  }
  // Handlers are made once and shared by every socket: a socket costs no closures of its own.
  const signalling = mediaHandlers({
    media,
    publish: publishing.publish,
    mediaPresence,
    streams,
    joinLeave: limits.joinLeave,
    anonymousSessionsPerAddress: config.anonymousWhepPerAddress,
    admission,
    hostActions: limits.hostActions,
    signalling: limits.signalling,
  });
  const live = liveHandlers({
    streams,
    presence,
    comments,
    joinLeave: limits.joinLeave,
    hostActions: limits.hostActions,
    viewerList: limits.viewerList,
    logger,
    whipUrl,
    onLeave: signalling.closeWatching,
  });
  // Every event of the protocol's table needs a handler here, or this does not compile.
  const answerClientEvents = clientEventDispatcher(
    { logger, metrics },
    { ...live.handlers, ...signalling.handlers, ...moderationHandlers(moderation) },
  );
  io.onClientEvent(answerClientEvents);
  io.on('disconnecting', live.leaveRooms);
  io.on('disconnect', signalling.closeSessions);
  io.on('overBudget', (_socket, verdict) => metrics.socketsOverBudget.inc({ verdict }));
  const stopRelay = relayLiveEvents(io, events, {
    resolveAudience: async (streamId) => {
      const row = await streams.visibleRow(streamId, undefined).catch(() => null);
      return row ? streams.audience(row) : null;
    },
    clustered: redis !== undefined,
    onRemoteRevocation: ({ streamId, userId }) => media.closeViewerSessions(streamId, userId),
    currentCount: async (streamId) => {
      const row = await streams.anyRow(streamId);
      return row?.status === 'live' ? row.viewerCount : null;
    },
    logger,
  });
  const stopNotificationRelay = relayNotifications(io, events);
  const stopModerationRelay = relayModerationEvents(io, events, {
    clustered: redis !== undefined,
    onRemoteBan: ({ streamId, userId }) => media.closeViewerSessions(streamId, userId),
  });
  metrics.attach({
    liveCount: () => streams.liveCount(),
    connectedSockets: () => io.clientsCount,
    media: async () => ({ ...media.stats(), ...(await media.totals()) }),
  });

  // A node that starts with Redis serves its first requests with the other nodes' rooms and
  // limits; one that cannot reach it soon serves without it rather than wait.
  if (redis && !(await redis.whenUp(redisStartWaitMs)))
    logger.warn('Redis not reachable at start: serving without it until it answers');

  // Streams this node held before a crash have lost their media: their publishers get the usual
  // grace period to come back, after which the streams end rather than stay live forever. Their
  // claims went with the old run's sessions (`reconcile` releases them), so a publisher may return.
  await publishing.reconcile();
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
  // Other nodes send clients here: a wildcard listen address is named by the address media is
  // announced on, or by the machine's name.
  nodeUrl =
    config.nodeUrl ??
    (isWildcard(config.host)
      ? `http://${hostInUrl(config.announcedIp ?? os.hostname())}:${port}`
      : url);
  await registry.start();
  phase = 'serving';

  let drained: Promise<void> | undefined;
  const drain = (deadlineMs: number) =>
    (drained ??= (async () => {
      if (phase !== 'serving') return;
      phase = 'draining';
      const viewers = () => media.stats().subscribers;
      logger.info({ deadlineMs, viewers: viewers(), sockets: io.clientsCount }, 'draining');
      // The other nodes stop sending clients here at once, not at the next heartbeat.
      await registry.beat();
      // Their media sessions close with them: a broadcaster's app publishes again wherever it
      // lands, a viewer's watches again.
      io.reconnectAll();
      const deadline = Date.now() + deadlineMs;
      while (viewers() > 0 && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, deadline - Date.now())));
      // WHIP publishers (OBS) stay until here: their viewers needed them. Closing their
      // connections tells them at once, and they publish again through another node.
      logger.info({ viewersLeft: viewers() }, 'drained');
    })());

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      phase = 'stopping';
      await registry.close();
      stopRelay();
      stopModerationRelay();
      stopNotificationRelay();
      stopFollowerNotifications();
      stopLeaseSweep();
      recordingWiring.stop();
      lifecycle.close();
      publishing.close();
      stopDepartedNodes();
      mediaRelay?.close();
      mediaPresence.close();
      await media.close();
      io.close();
      redis?.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await database.close();
      // A node that keeps nothing (`DATA_DIR=memory://`) keeps no recordings either.
      if (config.recordingsDirIsTemporary && config.recordingsDir)
        await rm(config.recordingsDir, { recursive: true, force: true });
    })());

  return {
    url,
    port,
    nodeId,
    http,
    app,
    io,
    database,
    events,
    services: { users, streams, presence, comments, moderation, tokens, notifications, recordings },
    media,
    registry,
    logger,
    clientEmitters,
    dependencies,
    drain,
    close,
  };
}
