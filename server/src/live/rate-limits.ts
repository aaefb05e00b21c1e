import {
  RateLimiterMemory,
  RateLimiterRedis,
  RateLimiterRes,
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
    };

/** A budget per key (a user, a socket, an address), counted by rate-limiter-flexible. */
export class Limit {
  constructor(
    private readonly limiter: RateLimiterAbstract,
    /** What a refused caller is told. */
    private readonly message: string,
  ) {}

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
  const limiter = new RateLimiterRedis({
    ...options,
    storeClient: store.client,
    useRedisPackage: true,
    keyPrefix: `${store.keyPrefix}:limit:${name}`,
    // While Redis is unreachable each node counts on its own, rather than refusing everyone or
    // letting everyone through.
    insuranceLimiter: new RateLimiterMemory({ ...options, keyPrefix: name }),
  });
  return new Limit(limiter, message);
}
