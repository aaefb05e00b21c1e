import { isIP } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

const port = z.coerce.number().int().min(0).max(65535);

const count = (fallback: number) => z.coerce.number().int().min(1).default(fallback);
const seconds = (fallback: number) => z.coerce.number().int().min(1).max(86_400).default(fallback);

/** Express's named address ranges for `trust proxy`. */
const namedRanges = new Set(['loopback', 'linklocal', 'uniquelocal']);

/** An address (`10.0.0.1`, `::1`), a CIDR subnet (`10.0.0.0/8`, `fd00::/8`) or a named range. */
function isProxyAddress(entry: string): boolean {
  if (namedRanges.has(entry) || isIP(entry) !== 0) return true;
  const [address = '', prefix, ...rest] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || prefix === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefix)) {
    return false;
  }
  return Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Express's `trust proxy`, limited to what cannot be abused: a hop count, or the proxies'
 * addresses and subnets (comma separated). `true` is refused: it believes whatever
 * `X-Forwarded-For` a client sends, so every client could choose its own address and step
 * around every per-address limit.
 */
const trustProxy = z
  .string()
  .optional()
  .transform((text, ctx): false | number | string[] => {
    const value = text?.trim() ?? '';
    if (value === '' || value === 'false') return false;
    if (/^\d+$/.test(value)) return Number(value);
    if (value.toLowerCase() === 'true') {
      ctx.addIssue({
        code: 'custom',
        message:
          "'true' would take any client's own X-Forwarded-For as its address (every per-address limit bypassed): set the number of proxies in front of this server (e.g. 1), or their addresses or subnets (e.g. loopback,10.0.0.0/8)",
      });
      return z.NEVER;
    }
    const entries = value.split(',').map((entry) => entry.trim());
    const invalid = entries.filter((entry) => !isProxyAddress(entry));
    if (invalid.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `must be a hop count, or addresses, CIDR subnets and loopback/linklocal/uniquelocal separated by commas; not ${invalid.map((entry) => JSON.stringify(entry)).join(', ')}`,
      });
      return z.NEVER;
    }
    return entries;
  });

const iceServer = z.object({
  urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
  username: z.string().optional(),
  credential: z.string().optional(),
});

const envSchema = z
  .object({
    PORT: port.default(3000),
    HOST: z.string().min(1).default('0.0.0.0'),
    DATA_DIR: z.string().min(1).default('./data'),
    RECORDINGS_DIR: z.string().min(1).optional(),
    RECORDING_RETENTION_DAYS: z.coerce.number().positive().max(36500).optional(),
    DATABASE_URL: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL')
      .optional(),
    REDIS_URL: z
      .string()
      .regex(/^rediss?:\/\//, 'must be a redis:// URL')
      .optional(),
    JWT_SECRET: z.string().min(32, 'must be at least 32 characters').optional(),
    JWT_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .default(7 * 24 * 3600),
    PUBLIC_URL: z.url().optional(),
    NODE_URL: z.url().optional(),
    NODE_ID: z
      .string()
      .regex(/^[\w.-]{1,64}$/)
      .optional(),
    ICE_SERVERS: z
      .string()
      .optional()
      .transform((text, ctx) => {
        if (!text) return [];
        try {
          return z.array(iceServer).parse(JSON.parse(text));
        } catch {
          ctx.addIssue({
            code: 'custom',
            message: 'must be a JSON array of {urls, username?, credential?}',
          });
          return z.NEVER;
        }
      }),
    TURN_SECRET: z.string().min(1).optional(),
    TURN_TTL_SECONDS: z.coerce
      .number()
      .int()
      .min(60)
      .default(24 * 3600),
    RTC_MIN_PORT: port.optional(),
    RTC_MAX_PORT: port.optional(),
    ANNOUNCED_IP: z.union([z.ipv4(), z.ipv6()]).optional(),
    RELAY_ADDRESS: z.ipv4('must be an IPv4 address').optional(),
    RELAY_PORT_MIN: port.optional(),
    RELAY_PORT_MAX: port.optional(),
    PUBLISHER_GRACE_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    MEDIA_WORKERS: z.coerce.number().int().min(1).max(64).optional(),
    MEDIA_MAX_VIEWERS_PER_NODE: z.coerce.number().int().min(1).optional(),
    DRAIN_SECONDS: z.coerce.number().min(0).max(3600).default(30),
    WEB_DIR: z.string().min(1).optional(),
    METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
    REDIS_KEY_PREFIX: z
      .string()
      .regex(/^[\w.:-]{1,64}$/)
      .default('onair'),
    TRUST_PROXY: trustProxy,
    LOGIN_FAILURES_PER_USERNAME: count(10),
    LOGIN_FAILURES_PER_USERNAME_WINDOW_SECONDS: seconds(15 * 60),
    LOGIN_FAILURES_PER_IP: count(100),
    LOGIN_FAILURES_PER_IP_WINDOW_SECONDS: seconds(15 * 60),
    REGISTRATIONS_PER_IP: count(300),
    REGISTRATIONS_PER_IP_WINDOW_SECONDS: seconds(3600),
    JOIN_LEAVE_PER_SOCKET: count(10),
    JOIN_LEAVE_PER_SOCKET_WINDOW_SECONDS: seconds(5),
    SOCKET_EVENTS_PER_SECOND: z.coerce.number().positive().max(10_000).default(20),
    SOCKET_EVENTS_BURST: count(60),
    SOCKET_EVENTS_DISCONNECT_SECONDS: z.coerce.number().positive().max(3600).default(10),
    API_REQUESTS_PER_IP: count(1200),
    API_REQUESTS_PER_IP_WINDOW_SECONDS: seconds(10),
    MODERATION_ACTIONS_PER_USER: count(10),
    MODERATION_ACTIONS_PER_USER_WINDOW_SECONDS: seconds(10),
    PASSWORD_HASH_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(2),
    PASSWORD_HASH_QUEUE: count(200),
    VIEW_LEASE_SECONDS: seconds(60),
    ANONYMOUS_WHEP_PER_IP: count(10),
    SOCKETS_PER_IP: count(50),
    LOG_LEVEL: z
      .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
      .default('info'),
  })
  .refine((e) => (e.RTC_MIN_PORT === undefined) === (e.RTC_MAX_PORT === undefined), {
    message: 'set both RTC_MIN_PORT and RTC_MAX_PORT, or neither',
    path: ['RTC_MIN_PORT'],
  })
  .refine((e) => e.RTC_MIN_PORT === undefined || e.RTC_MIN_PORT <= (e.RTC_MAX_PORT ?? 0), {
    message: 'must not exceed RTC_MAX_PORT',
    path: ['RTC_MIN_PORT'],
  })
  .refine((e) => (e.RELAY_PORT_MIN === undefined) === (e.RELAY_PORT_MAX === undefined), {
    message: 'set both RELAY_PORT_MIN and RELAY_PORT_MAX, or neither',
    path: ['RELAY_PORT_MIN'],
  })
  .refine(
    (e) =>
      e.RELAY_PORT_MIN === undefined ||
      e.RELAY_PORT_MAX === undefined ||
      e.RELAY_PORT_MIN <= e.RELAY_PORT_MAX,
    {
      message: 'must not exceed RELAY_PORT_MAX',
      path: ['RELAY_PORT_MIN'],
    },
  )
  // Each media worker holds one relay port.
  .refine(
    (e) =>
      e.RELAY_PORT_MIN === undefined ||
      e.RELAY_PORT_MAX === undefined ||
      e.RELAY_PORT_MAX - e.RELAY_PORT_MIN + 1 >= (e.MEDIA_WORKERS ?? os.availableParallelism()),
    {
      message: 'the range RELAY_PORT_MIN..RELAY_PORT_MAX needs one port per media worker',
      path: ['RELAY_PORT_MIN'],
    },
  );

/** The web workspace's production build, beside this server's workspace. */
const defaultWebDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../web/dist');

export type IceServerConfig = z.infer<typeof iceServer>;

/** `points` per key in each window of `durationSeconds`. */
export interface BudgetConfig {
  points: number;
  durationSeconds: number;
}

/** Everything the process is configured with; every default works on one machine. */
export interface Config {
  port: number;
  host: string;
  /** PGlite files, the generated signing key and node id; `memory://` keeps nothing. */
  dataDir: string;
  /**
   * Recordings and live HLS segments (`RECORDINGS_DIR`): by default `DATA_DIR/recordings`, or a
   * fresh temporary directory when `DATA_DIR` is `memory://`. Shared storage lets any node serve
   * any stream's files. `none` (null here): nothing is recorded or packaged on this node.
   */
  recordingsDir: string | null;
  /** The recordings directory was made up for this process (`DATA_DIR=memory://`): removed at close. */
  recordingsDirIsTemporary: boolean;
  /** Days a recording is kept after its stream ends (`RECORDING_RETENTION_DAYS`); none: kept. */
  recordingRetentionDays: number | undefined;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  jwtSecret: string | undefined;
  jwtTtlSeconds: number;
  publicUrl: string | undefined;
  /**
   * Where clients reach this node itself, for redirects from the other nodes (`NODE_URL`);
   * default `PUBLIC_URL`, else the address it listens on.
   */
  nodeUrl: string | undefined;
  nodeId: string | undefined;
  iceServers: IceServerConfig[];
  turnSecret: string | undefined;
  turnTtlSeconds: number;
  rtcPorts: [number, number] | undefined;
  announcedIp: string | undefined;
  /**
   * Where the other nodes send this node's share of relayed media (`RELAY_ADDRESS`; default
   * `ANNOUNCED_IP` when IPv4, else HOST when it is one address, else 127.0.0.1), and the UDP
   * ports its media workers take for it (`RELAY_PORT_MIN`..`RELAY_PORT_MAX`, one per worker;
   * default any free port).
   */
  nodeRelay: { address: string; ports: [number, number] | undefined };
  publisherGraceSeconds: number;
  /** Media worker processes; one per core by default. */
  mediaWorkers: number;
  /** Media viewer sessions (WHEP and socket watching) this node holds at most; none: no limit. */
  mediaMaxViewers: number | undefined;
  /** How long a SIGTERM waits for this node's sessions to move elsewhere before it exits. */
  drainSeconds: number;
  logLevel: string;
  /** Bearer token `/metrics` requires from every caller; without it only loopback callers are served. */
  metricsToken: string | undefined;
  /** The built web app to serve; none in tests that do not need it. */
  webDir: string | undefined;
  /** Namespace of this deployment's keys in Redis (rate limits). */
  redisKeyPrefix: string;
  /**
   * Which proxies' `X-Forwarded-For` to believe for the client's address (Express `trust proxy`):
   * none, the nearest `n` hops, or the proxies' addresses and subnets.
   */
  trustProxy: false | number | string[];
  /** Abuse limits; with `REDIS_URL` every node shares the counts. */
  limits: {
    loginFailuresPerUsername: BudgetConfig;
    loginFailuresPerIp: BudgetConfig;
    registrationsPerIp: BudgetConfig;
    joinLeavePerSocket: BudgetConfig;
    /** Messages one socket may send: a rate, a burst, and how long over it before it is let go. */
    socketEvents: { perSecond: number; burst: number; disconnectAfterMs: number };
    /** Moderation actions one user may take, over the socket and REST together. */
    /** API requests per address on each node, health checks aside. */
    apiRequestsPerIp: BudgetConfig;
    moderationPerUser: BudgetConfig;
  };
  /** Password hashes computed at once, and sign-ins that may wait for one. */
  passwordHashing: { concurrency: number; maxWaiting: number };
  /** How long a REST view counts its viewer unless renewed. */
  viewLeaseSeconds: number;
  /**
   * Media sessions without an account (WHEP and socket alike) one address (an IPv6 /64) may hold
   * at once.
   */
  anonymousWhepPerAddress: number;
  /** Realtime sockets one address (an IPv6 /64) may hold open on a node. */
  socketsPerAddress: number;
}

export class ConfigError extends Error {}

/** Reads the environment; an invalid value stops start-up with a message naming the variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  const e = parsed.data;
  // npm runs workspace scripts inside the workspace; relative paths mean the caller's directory.
  const base = env.INIT_CWD ?? process.cwd();
  return {
    port: e.PORT,
    host: e.HOST,
    dataDir: e.DATA_DIR.startsWith('memory://') ? e.DATA_DIR : path.resolve(base, e.DATA_DIR),
    recordingsDir: e.RECORDINGS_DIR
      ? e.RECORDINGS_DIR === 'none'
        ? null
        : path.resolve(base, e.RECORDINGS_DIR)
      : e.DATA_DIR.startsWith('memory://')
        ? path.join(os.tmpdir(), `onair-recordings-${process.pid}-${Date.now()}`)
        : path.resolve(base, e.DATA_DIR, 'recordings'),
    recordingsDirIsTemporary: !e.RECORDINGS_DIR && e.DATA_DIR.startsWith('memory://'),
    recordingRetentionDays: e.RECORDING_RETENTION_DAYS,
    databaseUrl: e.DATABASE_URL,
    redisUrl: e.REDIS_URL,
    jwtSecret: e.JWT_SECRET,
    jwtTtlSeconds: e.JWT_TTL_SECONDS,
    publicUrl: e.PUBLIC_URL?.replace(/\/$/, ''),
    nodeUrl: (e.NODE_URL ?? e.PUBLIC_URL)?.replace(/\/$/, ''),
    nodeId: e.NODE_ID,
    iceServers: e.ICE_SERVERS,
    turnSecret: e.TURN_SECRET,
    turnTtlSeconds: e.TURN_TTL_SECONDS,
    rtcPorts:
      e.RTC_MIN_PORT !== undefined && e.RTC_MAX_PORT !== undefined
        ? [e.RTC_MIN_PORT, e.RTC_MAX_PORT]
        : undefined,
    announcedIp: e.ANNOUNCED_IP,
    nodeRelay: {
      address:
        e.RELAY_ADDRESS ??
        (e.ANNOUNCED_IP?.includes('.') ? e.ANNOUNCED_IP : undefined) ??
        (isIP(e.HOST) === 4 && e.HOST !== '0.0.0.0' ? e.HOST : '127.0.0.1'),
      ports:
        e.RELAY_PORT_MIN !== undefined && e.RELAY_PORT_MAX !== undefined
          ? [e.RELAY_PORT_MIN, e.RELAY_PORT_MAX]
          : undefined,
    },
    publisherGraceSeconds: e.PUBLISHER_GRACE_SECONDS,
    mediaWorkers: e.MEDIA_WORKERS ?? os.availableParallelism(),
    mediaMaxViewers: e.MEDIA_MAX_VIEWERS_PER_NODE,
    drainSeconds: e.DRAIN_SECONDS,
    logLevel: e.LOG_LEVEL,
    metricsToken: e.METRICS_TOKEN,
    webDir: e.WEB_DIR ? path.resolve(base, e.WEB_DIR) : defaultWebDir,
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    trustProxy: e.TRUST_PROXY,
    limits: {
      loginFailuresPerUsername: {
        points: e.LOGIN_FAILURES_PER_USERNAME,
        durationSeconds: e.LOGIN_FAILURES_PER_USERNAME_WINDOW_SECONDS,
      },
      loginFailuresPerIp: {
        points: e.LOGIN_FAILURES_PER_IP,
        durationSeconds: e.LOGIN_FAILURES_PER_IP_WINDOW_SECONDS,
      },
      registrationsPerIp: {
        points: e.REGISTRATIONS_PER_IP,
        durationSeconds: e.REGISTRATIONS_PER_IP_WINDOW_SECONDS,
      },
      joinLeavePerSocket: {
        points: e.JOIN_LEAVE_PER_SOCKET,
        durationSeconds: e.JOIN_LEAVE_PER_SOCKET_WINDOW_SECONDS,
      },
      socketEvents: {
        perSecond: e.SOCKET_EVENTS_PER_SECOND,
        burst: e.SOCKET_EVENTS_BURST,
        disconnectAfterMs: e.SOCKET_EVENTS_DISCONNECT_SECONDS * 1000,
      },
      apiRequestsPerIp: {
        points: e.API_REQUESTS_PER_IP,
        durationSeconds: e.API_REQUESTS_PER_IP_WINDOW_SECONDS,
      },
      moderationPerUser: {
        points: e.MODERATION_ACTIONS_PER_USER,
        durationSeconds: e.MODERATION_ACTIONS_PER_USER_WINDOW_SECONDS,
      },
    },
    passwordHashing: {
      concurrency: e.PASSWORD_HASH_CONCURRENCY,
      maxWaiting: e.PASSWORD_HASH_QUEUE,
    },
    viewLeaseSeconds: e.VIEW_LEASE_SECONDS,
    anonymousWhepPerAddress: e.ANONYMOUS_WHEP_PER_IP,
    socketsPerAddress: e.SOCKETS_PER_IP,
  };
}
