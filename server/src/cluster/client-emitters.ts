import type { EventEmitter } from 'node:events';

export interface WatchedEmitter {
  /** What it is, for the log: `redis`, `database pool`, ... */
  name: string;
  emitter: EventEmitter;
}

/**
 * Every EventEmitter a client library hands this server (Redis clients, the PostgreSQL pool and
 * each of its connections). An `'error'` event nobody listens for is thrown, and ends the process:
 * a Redis or PostgreSQL restart would take every node with it. So no such emitter is used before
 * it is watched here, and the one list of them is what a test inspects.
 */
export class ClientEmitters {
  private readonly watched = new Map<EventEmitter, string>();

  constructor(private readonly onError: (name: string, err: unknown) => void) {}

  /** Listens to `emitter`'s errors (for as long as it lives) and returns it. */
  watch<T extends EventEmitter>(name: string, emitter: T): T {
    if (this.watched.has(emitter)) return emitter;
    this.watched.set(emitter, name);
    emitter.on('error', (err: unknown) => this.onError(name, err));
    return emitter;
  }

  /** An emitter that is gone for good (a closed pool connection) is no longer listed. */
  forget(emitter: EventEmitter): void {
    this.watched.delete(emitter);
  }

  list(): WatchedEmitter[] {
    return [...this.watched].map(([emitter, name]) => ({ name, emitter }));
  }
}

/**
 * Logs what the watched emitters report, one line per emitter name in each `quietMs`: a server
 * that is down fails every reconnect attempt, and that is one fact, not a line a second.
 */
export function logClientErrors(
  logger: { warn(details: object, message: string): void },
  quietMs = 10_000,
): (name: string, err: unknown) => void {
  const lastLogged = new Map<string, number>();
  return (name, err) => {
    const now = Date.now();
    if (now - (lastLogged.get(name) ?? -Infinity) < quietMs) return;
    lastLogged.set(name, now);
    logger.warn({ err, client: name }, 'connection error');
  };
}
