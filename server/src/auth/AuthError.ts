/** Why a token was refused. */
export type AuthFailure = 'invalid_token' | 'token_expired' | 'account_gone';

/**
 * A refused token. Auth sits below the domain, so it throws its own error; the transports answer
 * it as `unauthorized`. The message is safe to show.
 */
export class AuthError extends Error {
  constructor(
    readonly reason: AuthFailure,
    message: string,
  ) {
    super(message);
    this.name = 'AuthError';
  }
}
