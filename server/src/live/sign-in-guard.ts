import type { User } from '@onair/protocol';
import { AppError } from './errors';
import { QueueFullError, type FairQueue } from './FairQueue';
import type { Limit } from './rate-limits';

export interface SignInLimits {
  /** Failed sign-ins per username, whoever tries (guessing one account's password). */
  failedLoginsPerUsername: Limit;
  /** Failed sign-ins per client address (guessing many accounts' passwords). */
  failedLoginsPerAddress: Limit;
  /** Accounts created per client address. */
  registrationsPerAddress: Limit;
}

/**
 * Guards the two doors that cost a password hash. A sign-in spends a point of its username's
 * and its address's budgets *before* the password is checked (so a burst of parallel guesses is
 * cut off at the budget, not after it) and gets them back when the password was right: only
 * failures count. Password work runs through a fair queue keyed by address, so one address's
 * burst cannot hold up everyone else's sign-in.
 */
export class SignInGuard {
  constructor(
    private readonly limits: SignInLimits,
    private readonly passwordWork: FairQueue,
    /** Told when a point could not be given back (the store failed); the sign-in stands. */
    private readonly onError: (error: unknown) => void,
  ) {}

  async login(username: string, address: string, attempt: () => Promise<User>): Promise<User> {
    const name = username.toLowerCase();
    const { failedLoginsPerUsername: perName, failedLoginsPerAddress: perAddress } = this.limits;
    await perAddress.take(address);
    try {
      await perName.take(name);
    } catch (error) {
      await this.giveBack(perAddress, address);
      throw error;
    }
    let failed = false;
    try {
      return await this.hashing(address, attempt);
    } catch (error) {
      failed = error instanceof AppError && error.code === 'invalid_credentials';
      throw error;
    } finally {
      // Only a wrong password keeps its points: a right one, or our own failure, is not a guess.
      if (!failed)
        await Promise.all([this.giveBack(perAddress, address), this.giveBack(perName, name)]);
    }
  }

  /** A registration counts whether or not its username was free; only our own failures do not. */
  async register(address: string, attempt: () => Promise<User>): Promise<User> {
    const perAddress = this.limits.registrationsPerAddress;
    await perAddress.take(address);
    try {
      return await this.hashing(address, attempt);
    } catch (error) {
      if (!(error instanceof AppError && error.code === 'username_taken'))
        await this.giveBack(perAddress, address);
      throw error;
    }
  }

  private async hashing(address: string, attempt: () => Promise<User>): Promise<User> {
    try {
      return await this.passwordWork.run(address, attempt);
    } catch (error) {
      if (!(error instanceof QueueFullError)) throw error;
      if (error.scope === 'client')
        throw AppError.rateLimited(1, 'Too many sign-in attempts at once; try again in a moment');
      throw new AppError('unavailable', 'Sign-in is busy; try again in a moment', {
        retryAfterSeconds: 1,
      });
    }
  }

  private async giveBack(limit: Limit, key: string): Promise<void> {
    await limit.giveBack(key).catch(this.onError);
  }
}
