import { SignJWT, jwtVerify, errors } from 'jose';
import { AppError } from '../live/errors';

export interface TokenClaims {
  userId: string;
  username: string;
}

export interface TokenService {
  sign(claims: TokenClaims): Promise<string>;
  /** Throws `unauthorized` for a malformed, forged or expired token. */
  verify(token: string): Promise<TokenClaims>;
}

const issuer = 'onair';

export function createTokenService(secret: Uint8Array, ttlSeconds: number): TokenService {
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
      try {
        const { payload } = await jwtVerify(token, secret, { issuer, algorithms: ['HS256'] });
        if (typeof payload.sub !== 'string' || typeof payload.username !== 'string') {
          throw AppError.unauthorized('Invalid token');
        }
        return { userId: payload.sub, username: payload.username };
      } catch (error) {
        if (error instanceof errors.JWTExpired) throw AppError.unauthorized('Token expired');
        throw AppError.unauthorized('Invalid token');
      }
    },
  };
}
