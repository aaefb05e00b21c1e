import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
  RLWrapperTimeouts,
  type RateLimiterAbstract,
} from 'rate-limiter-flexible';
import { AppError } from './errors';

/** `points` actions per key in each window of `durationSeconds` (whole seconds). */
export interface Budget {
  points: number;
  durationSeconds: number;
}

/**
 * Where the counters live: this process's memory, or a Redis server every node shares (so a
 * limit holds however many nodes a client spreads its requests over).
 */
export type LimitStore =
  | { kind: 'memory' }
  | {
      kind: 'redis';
      /** A connected node-redis (v4+) client. */
      client: unknown;
      /** Namespace of this deployment's keys, so deployments sharing a Redis never mix counts. */
      keyPrefix: string;
      /** Whether Redis answers now; while it does not, this node counts in its own memory. */
      available: () => boolean;
      /** How long a count may wait for Redis before this node counts it in memory instead. */
      timeoutMs?: number;
    };

/** Long enough for a loaded Redis, short enough that a frozen one costs a request little. */
const defaultRedisTimeoutMs = 300;

/** A budget per key (a user, a socket, an address), counted by rate-limiter-flexible. */
export class Limit {
  constructor(
    /** This node's own counters: the only ones without Redis, the fallback with it. */
    private readonly local: RateLimiterAbstract,
    /** What a refused caller is told. */
    private readonly message: string,
    /** The counters every node shares, and whether they can be reached now. */
    private readonly shared?: { limiter: RateLimiterAbstract; available: () => boolean },
  ) {}

  private get limiter(): RateLimiterAbstract {
    return this.shared?.available() ? this.shared.limiter : this.local;
  }

  /** Spends one point of `key`'s budget; `rate_limited` (with the wait) when none is left. */
  async take(key: string): Promise<void> {
    try {
      await this.limiter.consume(key);
    } catch (rejection) {
      // The library rejects with its result when the budget is spent, with an Error otherwise.
      if (rejection instanceof RateLimiterRes)
        throw AppError.rateLimited(rejection.msBeforeNext / 1000, this.message);
      throw rejection;
    }
  }

  /** Returns a point spent on an attempt that turned out not to count (e.g. a good password). */
  async giveBack(key: string): Promise<void> {
    await this.limiter.reward(key, 1);
  }
}

/** A limit named `name` (its keys' namespace) in `store`. */
export function createLimit(
  name: string,
  budget: Budget,
  store: LimitStore,
  message: string,
): Limit {
  const options = { points: budget.points, duration: budget.durationSeconds };
  if (store.kind === 'memory') {
    return new Limit(new RateLimiterMemory({ ...options, keyPrefix: name }), message);
  }
  // While Redis cannot be reached each node counts on its own, rather than refusing everyone or
  // letting everyone through: at once when Redis is known to be down, and after a short wait for
  // a count Redis does not answer (a frozen server keeps its connection open).
  const local = new RateLimiterMemory({ ...options, keyPrefix: name });
  const redis = new RateLimiterRedis({
    ...options,
    storeClient: store.client,
    useRedisPackage: true,
    keyPrefix: `${store.keyPrefix}:limit:${name}`,
    rejectIfRedisNotReady: true,
    insuranceLimiter: local,
  });
  const limiter = new RLWrapperTimeouts({
    limiter: redis,
    timeoutMs: store.timeoutMs ?? defaultRedisTimeoutMs,
    insuranceLimiter: local,
  });
  return new Limit(local, message, { limiter, available: store.available });
}
