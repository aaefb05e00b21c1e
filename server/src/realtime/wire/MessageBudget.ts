/** How many messages a socket may send, and what happens to one that keeps going past that. */
export interface MessageBudgetOptions {
  /** Messages per second a socket may keep sending. */
  perSecond: number;
  /** Messages a socket may send at once, after a quiet spell; a new socket starts with these. */
  burst: number;
  /**
   * Messages refused in a row (net of what the rate gives back meanwhile) after which the socket
   * is disconnected. Default: one burst.
   */
  disconnectAfter?: number;
}

/** What becomes of one message: handled, refused, or the last straw. */
export type BudgetVerdict = 'allowed' | 'refused' | 'disconnect';

/**
 * A token bucket per socket whose state is two numbers the socket keeps itself (its balance and
 * when that was last brought up to date), so a socket needs no timer or closure for it: a room of
 * thousands of idle sockets costs nothing more. One budget serves every socket of a server.
 *
 * A refused message still spends a token and drives the balance below zero: a client that backs
 * off for the time it is told (`retryAfterSeconds`) is served again, one that does not digs
 * deeper and is disconnected once its debt reaches `disconnectAfter`.
 */
export class MessageBudget {
  readonly perSecond: number;
  readonly burst: number;
  readonly disconnectAfter: number;
  private readonly perMs: number;

  constructor({ perSecond, burst, disconnectAfter = burst }: MessageBudgetOptions) {
    if (!(perSecond > 0) || !(burst >= 1) || !(disconnectAfter >= 1))
      throw new RangeError('a message budget needs a positive rate, burst and disconnect count');
    this.perSecond = perSecond;
    this.burst = burst;
    this.disconnectAfter = disconnectAfter;
    this.perMs = perSecond / 1000;
  }

  /** A new socket's balance. */
  get full(): number {
    return this.burst;
  }

  /** The balance after one more message, `elapsedMs` after `balance` was last brought up to date. */
  spend(balance: number, elapsedMs: number): number {
    return Math.min(this.burst, balance + Math.max(0, elapsedMs) * this.perMs) - 1;
  }

  /** What a message that left the balance at `balance` (`spend`'s result) comes to. */
  verdict(balance: number): BudgetVerdict {
    if (balance >= 0) return 'allowed';
    return balance <= -this.disconnectAfter ? 'disconnect' : 'refused';
  }

  /** How long a socket whose balance is `balance` must wait until its next message is allowed. */
  retryAfterSeconds(balance: number): number {
    return Math.max(0, 1 - balance) / this.perSecond;
  }
}
