import { id } from '@onair/protocol';
import { SignJWT, jwtVerify, errors } from 'jose';
import { AuthError } from './AuthError';

export interface TokenClaims {
  userId: string;
  username: string;
}

export interface TokenService {
  sign(claims: TokenClaims): Promise<string>;
  /** Throws an `AuthError` for a malformed, forged or expired token, or one whose user is gone. */
  verify(token: string): Promise<TokenClaims>;
}

export interface TokenServiceOptions {
  /**
   * Whether the user a validly signed token names still exists. A token outlives its account
   * (deleted, or a database reset under a kept JWT_SECRET); without this check its requests
   * would act for nobody and fail on foreign keys deep inside. Default: every user exists.
   */
  isCurrentUser?: (userId: string) => Promise<boolean>;
}

const issuer = 'onair';

export function createTokenService(
  secret: Uint8Array,
  ttlSeconds: number,
  { isCurrentUser = async () => true }: TokenServiceOptions = {},
): TokenService {
  const verifySignature = async (token: string): Promise<TokenClaims> => {
    try {
      const { payload } = await jwtVerify(token, secret, { issuer, algorithms: ['HS256'] });
      const { sub, username } = payload;
      // The subject goes to the database next: anything but a user id is refused here.
      if (typeof sub !== 'string' || !id.safeParse(sub).success || typeof username !== 'string') {
        throw new AuthError('invalid_token', 'Invalid token');
      }
      return { userId: sub, username };
    } catch (error) {
      if (error instanceof errors.JWTExpired) throw new AuthError('token_expired', 'Token expired');
      throw new AuthError('invalid_token', 'Invalid token');
    }
  };
  return {
    async sign({ userId, username }) {
      return new SignJWT({ username })
        .setProtectedHeader({ alg: 'HS256' })
        .setSubject(userId)
        .setIssuer(issuer)
        .setIssuedAt()
        .setExpirationTime(`${ttlSeconds}s`)
        .sign(secret);
    },
    async verify(token) {
      const claims = await verifySignature(token);
      if (!(await isCurrentUser(claims.userId))) {
        throw new AuthError('account_gone', 'This account no longer exists; sign in again');
      }
      return claims;
    },
  };
}
