export type DependencyState = 'ok' | 'down';

export interface HealthProbeOptions {
  /** Resolves when the dependency answered; rejects (or never settles) when it did not. */
  check: () => Promise<unknown>;
  /** How often it is checked. */
  intervalMs: number;
  /** A check that has not answered within this counts as down (a frozen server never answers). */
  timeoutMs: number;
  /** Told of every change of state. */
  onChange?: (state: DependencyState) => void;
  /** The state before the first check answers. */
  initial?: DependencyState;
}

/**
 * Whether a server this node depends on answers, checked on a timer. One check at a time: a
 * server that stopped answering gets no pile of checks, and counts as down as soon as the one
 * it holds is late. Callers that see the connection fail may say so at once (`markDown`).
 */
export class HealthProbe {
  private current: DependencyState;
  private checkStartedAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: HealthProbeOptions) {
    this.current = options.initial ?? 'ok';
  }

  get state(): DependencyState {
    return this.current;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    this.tick();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The connection failed under a caller: down now, without waiting for a check to say so. */
  markDown(): void {
    this.set('down');
  }

  /** Checks now (e.g. the client says it reconnected), unless a check is already out. */
  checkNow(): void {
    if (this.checkStartedAt === undefined) this.run();
  }

  private tick(): void {
    if (this.checkStartedAt === undefined) this.run();
    else if (Date.now() - this.checkStartedAt > this.options.timeoutMs) this.set('down');
  }

  private run(): void {
    const started = Date.now();
    this.checkStartedAt = started;
    const late = setTimeout(() => {
      if (this.checkStartedAt === started) this.set('down');
    }, this.options.timeoutMs);
    late.unref();
    let answer: Promise<unknown>;
    try {
      answer = this.options.check();
    } catch (error) {
      answer = Promise.reject(error);
    }
    answer.then(
      () => this.settle(started, late, 'ok'),
      () => this.settle(started, late, 'down'),
    );
  }

  private settle(started: number, late: NodeJS.Timeout, state: DependencyState): void {
    clearTimeout(late);
    if (this.checkStartedAt !== started) return;
    this.checkStartedAt = undefined;
    // An answer after the deadline still says the server is back.
    this.set(state);
  }

  private set(state: DependencyState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onChange?.(state);
  }
}
