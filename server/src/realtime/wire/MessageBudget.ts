/** How many messages a socket may send, and when one that keeps going past that is let go. */
export interface MessageBudgetOptions {
  /** Messages per second a socket may keep sending. */
  perSecond: number;
  /** Messages a socket may send at once, after a quiet spell; a new socket starts with these. */
  burst: number;
  /**
   * How long a socket may stay over its budget (refused, and never quiet long enough to recover)
   * before it is disconnected. Default 10 s: as long as the per-socket windows of the events'
   * own limits, so a flooder that reconnects for fresh budgets gains nothing by it.
   */
  disconnectAfterMs?: number;
}

/** A socket's budget: three numbers it keeps itself. */
export interface BudgetState {
  /** Messages it may send now (up to the burst). */
  balance: number;
  /** When `balance` was last brought up to date (ms since the epoch). */
  balanceAt: number;
  /** Since when it has been over its budget (ms since the epoch); 0 when it is not. */
  overSince: number;
}

/** What becomes of one message: handled, refused, or refused and the socket let go. */
export type BudgetVerdict = 'allowed' | 'refused' | 'disconnect';

/**
 * A token bucket per socket whose state lives on the socket (`BudgetState`), so a socket needs no
 * timer or closure for it: a room of thousands of idle sockets costs nothing more. One budget
 * serves every socket of a server.
 *
 * A refused message costs nothing and is told when to try again (`retryAfterSeconds`). A socket
 * is over budget from its first refusal until it has been quiet long enough to earn two messages
 * back; one that stays over budget for `disconnectAfterMs` is disconnected (issue 16).
 */
export class MessageBudget {
  readonly perSecond: number;
  readonly burst: number;
  readonly disconnectAfterMs: number;
  private readonly perMs: number;

  constructor({ perSecond, burst, disconnectAfterMs = 10_000 }: MessageBudgetOptions) {
    if (!(perSecond > 0) || !(burst >= 1) || !(disconnectAfterMs >= 0))
      throw new RangeError('a message budget needs a positive rate and burst');
    this.perSecond = perSecond;
    this.burst = burst;
    this.disconnectAfterMs = disconnectAfterMs;
    this.perMs = perSecond / 1000;
  }

  /** A new socket's state, opened at `now`: a full burst. */
  opened(now: number): BudgetState {
    return { balance: this.burst, balanceAt: now, overSince: 0 };
  }

  /** Spends one message from `state` at `now` (updating it) and says what becomes of it. */
  spend(state: BudgetState, now: number): BudgetVerdict {
    const balance = Math.min(
      this.burst,
      state.balance + Math.max(0, now - state.balanceAt) * this.perMs,
    );
    state.balanceAt = now;
    // Quiet long enough to have earned two messages back: whatever came before is forgiven.
    if (balance >= 2) state.overSince = 0;
    if (balance >= 1) {
      state.balance = balance - 1;
      return 'allowed';
    }
    state.balance = balance;
    if (state.overSince === 0) state.overSince = now;
    return now - state.overSince >= this.disconnectAfterMs ? 'disconnect' : 'refused';
  }

  /** How long a socket in `state` must wait until its next message is allowed. */
  retryAfterSeconds(state: BudgetState): number {
    return Math.max(0, 1 - state.balance) / this.perSecond;
  }
}
