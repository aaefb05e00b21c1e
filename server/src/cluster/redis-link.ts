import { createClient } from 'redis';
import type { ClientEmitters } from './client-emitters';
import { HealthProbe, type DependencyState } from './health-probe';

/** Reconnect attempts back off to one a second: Redis back is noticed within about a second. */
const reconnectStrategy = (retries: number) => Math.min(50 * 2 ** retries, 1000);

const newClient = (url: string, offlineQueue: boolean) =>
  createClient({
    url,
    disableOfflineQueue: !offlineQueue,
    socket: { connectTimeout: 2000, reconnectStrategy },
  });

type RedisClient = ReturnType<typeof newClient>;

export interface RedisLink {
  /** Commands and publishes. Refuses commands at once while not connected (no offline queue). */
  client: RedisClient;
  /** Subscriber mode only; node-redis subscribes again by itself after a reconnect. */
  subscriber: RedisClient;
  /** Whether Redis answers, both connections are up and nothing is waiting on a frozen server. */
  state(): DependencyState;
  /** Runs `listener` each time Redis answers again after being down (or for the first time). */
  onUp(listener: () => void): void;
  /** Resolves once Redis answers, or after `ms` without it (with whether it does). */
  whenUp(ms: number): Promise<boolean>;
  /** Drops both connections at once: nothing waits for a server that may not answer. */
  close(): void;
}

export interface RedisLinkOptions {
  emitters: ClientEmitters;
  onStateChange?: (state: DependencyState) => void;
  /** How often Redis is pinged. Default 500 ms. */
  probeIntervalMs?: number;
  /** A ping unanswered this long means Redis is down, even with its connection open. Default 1 s. */
  probeTimeoutMs?: number;
}

/**
 * The node's two connections to Redis, made in the background: the node serves from the start,
 * with Redis or without, and follows it as it goes and comes back. Redis being frozen (SIGSTOP)
 * leaves its connections open and "ready" while nothing answers; only a ping that goes
 * unanswered tells, so one is always out.
 */
export function openRedisLink(url: string, options: RedisLinkOptions): RedisLink {
  const { emitters } = options;
  // Commands wait for no reconnect: a limit counts in memory instead, a broadcast stays local.
  const client = emitters.watch('redis', newClient(url, false));
  // The subscriber keeps its offline queue: its one command, SUBSCRIBE, may be sent before
  // Redis is first reached.
  const subscriber = emitters.watch('redis subscriber', newClient(url, true));
  const upListeners = new Set<() => void>();
  const probe = new HealthProbe({
    check: () =>
      client.isReady && subscriber.isReady
        ? client.ping()
        : Promise.reject(new Error('not connected')),
    intervalMs: options.probeIntervalMs ?? 500,
    timeoutMs: options.probeTimeoutMs ?? 1000,
    initial: 'down',
    onChange: (state) => {
      options.onStateChange?.(state);
      if (state === 'ok') for (const listener of upListeners) listener();
    },
  });
  for (const connection of [client, subscriber]) {
    connection.on('ready', () => probe.checkNow());
    connection.on('reconnecting', () => probe.markDown());
    connection.on('end', () => probe.markDown());
    // Errors are logged where the emitters are watched; the first attempt's failure is one of
    // them, and node-redis keeps trying.
    connection.connect().catch(() => undefined);
  }
  probe.start();
  return {
    client,
    subscriber,
    state: () => probe.state,
    onUp: (listener) => upListeners.add(listener),
    whenUp: (ms) =>
      new Promise((resolve) => {
        if (probe.state === 'ok') return resolve(true);
        const done = (up: boolean) => {
          clearTimeout(timer);
          upListeners.delete(onUp);
          resolve(up);
        };
        const onUp = () => done(true);
        const timer = setTimeout(() => done(false), ms);
        upListeners.add(onUp);
      }),
    close() {
      probe.stop();
      for (const connection of [client, subscriber]) {
        if (connection.isOpen) connection.destroy();
      }
    },
  };
}
