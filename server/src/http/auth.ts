import type { RequestHandler, Response } from 'express';
import { AuthError } from '../auth/AuthError';
import type { TokenService } from '../auth/tokens';
import { AppError } from '../live/errors';
import type { Actor } from '../live/presence';

/** The bearer token of an `Authorization` header, or undefined when there is none. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match?.[1]) throw AppError.unauthorized('Malformed Authorization header');
  return match[1];
}

/** The caller a bearer token names; a refused token is a 401 carrying the reason's sentence. */
export async function actorOfToken(tokens: TokenService, token: string): Promise<Actor> {
  try {
    return await tokens.verify(token);
  } catch (error) {
    if (error instanceof AuthError) throw AppError.unauthorized(error.message);
    throw error;
  }
}

/** Who is calling; set by `authenticate`. */
export function actorOf(res: Response): Actor {
  const actor = res.locals.actor as Actor | undefined;
  if (!actor) throw AppError.unauthorized();
  return actor;
}

export function maybeActorOf(res: Response): Actor | undefined {
  return res.locals.actor as Actor | undefined;
}

/**
 * `required`: no token, no entry (401). Optional: anonymous callers pass, but a token that is
 * present must be valid — a forged or expired token is never silently treated as anonymous.
 */
export function authenticate(tokens: TokenService, mode: 'required' | 'optional'): RequestHandler {
  return async (req, res, next) => {
    const token = bearerToken(req.headers.authorization);
    if (!token) {
      if (mode === 'required') throw AppError.unauthorized();
      next();
      return;
    }
    res.locals.actor = await actorOfToken(tokens, token);
    next();
  };
}
