import { EventEmitter } from 'node:events';

/** Told of every listener that threw or rejected, with the event it was listening to. */
export type ListenerErrorHandler = (error: unknown, event: string) => void;

/**
 * An EventEmitter whose `emit` never fails because of a listener: each listener runs on its own,
 * and one that throws, or returns a promise that rejects, is reported to `onListenerError` while
 * the others still run and the emitter's caller carries on. Events are emitted after the state
 * they report has changed (a row committed, a session closed), so a listener's failure must not
 * surface as the failure of that change (mediasoup's `safeEmit` answers the same need).
 *
 * Unlike `captureRejections`, a listener that throws synchronously is caught too, and no `error`
 * event is involved: with no `error` listener, Node would throw that one into the caller as well.
 */
export class SafeEmitter<
  Events extends Record<keyof Events, unknown[]>,
> extends EventEmitter<Events> {
  constructor(private readonly onListenerError: ListenerErrorHandler) {
    super();
  }

  override emit<K>(event: EventKey<K, Events>, ...args: EventArgs<K, Events>): boolean {
    // A copy: a `once` listener removes itself, and a listener may add or remove others.
    const listeners = this.rawListeners(event);
    for (const listener of listeners) {
      try {
        const result: unknown = Reflect.apply(listener, this, args);
        if (isThenable(result))
          result.then(undefined, (error: unknown) => this.report(error, String(event)));
      } catch (error) {
        this.report(error, String(event));
      }
    }
    return listeners.length > 0;
  }

  private report(error: unknown, event: string): void {
    try {
      this.onListenerError(error, event);
    } catch {
      // The reporter itself failed (a broken log stream): there is nowhere left to tell.
    }
  }
}

// Node's own (unexported) parameter types of `EventEmitter.emit`, so the override keeps its typing:
// only an event of the map, with that event's arguments.
type EventKey<K, T> = T extends [never] ? string | symbol : K | keyof T;
type EventArgs<K, T> = T extends [never] ? unknown[] : K extends keyof T ? T[K] : never;

const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { then?: unknown }).then === 'function';
