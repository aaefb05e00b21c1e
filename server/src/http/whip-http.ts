import type { ErrorCode, ErrorResponse } from '@onair/protocol';
import type { ErrorRequestHandler, Request, RequestHandler } from 'express';
import { AppError } from '../live/errors';

/**
 * A refusal WHIP and WHEP give with a status of their own (405, 412, 422, 428), beside the
 * code-mapped ones every route gives. The body keeps the house's error shape; the status is what
 * WHIP and WHEP clients act on (RFC 9725 §4.1 asks them to go by the status class).
 */
export class WhipRefusal extends AppError<'invalid_input' | 'conflict'> {
  constructor(
    readonly status: 405 | 412 | 422 | 428,
    code: Extract<ErrorCode, 'invalid_input' | 'conflict'>,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(code, message);
    this.name = 'WhipRefusal';
  }
}

/** What each kind of WHIP/WHEP resource answers to (RFC 9110 §10.2.1 `Allow`). */
export const allowed = {
  /** GET and HEAD answer with no content (RFC 9725 §4.1; WHEP §4.1 and §4.2 discovery). */
  endpoint: 'GET, HEAD, POST, OPTIONS',
  session: 'GET, HEAD, PATCH, DELETE, OPTIONS',
} as const;

/**
 * CORS for WHIP and WHEP resources, which browsers on other origins call: no cookies are used, so
 * `*` is safe. A preflight is answered for every method the resource takes, whatever headers the
 * request will carry; the headers a client reads after a POST or PATCH are exposed to scripts.
 */
export function whipCors(resource: keyof typeof allowed): RequestHandler {
  const accept =
    resource === 'endpoint'
      ? { 'Accept-Post': 'application/sdp' }
      : { 'Accept-Patch': 'application/trickle-ice-sdpfrag' };
  return (req, res, next) => {
    res.set({
      'Access-Control-Allow-Origin': '*',
      'Access-Control-Expose-Headers':
        'Location, Link, ETag, Accept-Patch, Accept-Post, Allow, Retry-After, WWW-Authenticate',
    });
    if (req.method !== 'OPTIONS') {
      next();
      return;
    }
    res.set({
      'Access-Control-Allow-Methods': allowed[resource],
      'Access-Control-Allow-Headers': 'Authorization, Content-Type, If-Match',
      'Access-Control-Max-Age': '86400',
      Allow: allowed[resource],
      ...accept,
    });
    res.status(204).end();
  };
}

/** Any method a resource does not take: 405 with what it does take (RFC 9110 §15.5.6). */
export const methodNotAllowed =
  (resource: keyof typeof allowed): RequestHandler =>
  (req) => {
    throw new WhipRefusal(405, 'invalid_input', `${req.method} is not used here`, {
      Allow: allowed[resource],
    });
  };

const realm = 'onair';

/** RFC 6750 §3: the challenge a 401 carries; `error` only when a credential was presented. */
function bearerChallenge(req: Request, message: string): string {
  const header = req.headers.authorization;
  if (header === undefined) return `Bearer realm="${realm}"`;
  const error = /^Bearer\s+\S/i.test(header) ? 'invalid_token' : 'invalid_request';
  const description = message.replace(/["\\]/g, '');
  return `Bearer realm="${realm}", error="${error}", error_description="${description}"`;
}

/**
 * Answers WHIP's own refusals, and gives a 401 its `WWW-Authenticate` challenge (RFC 9110
 * §11.6.1) before the app's error handler answers it.
 */
export const whipErrors: ErrorRequestHandler = (error: unknown, req, res, next) => {
  if (error instanceof WhipRefusal) {
    res.set(error.headers);
    res.status(error.status).json({ error: error.toBody() } satisfies ErrorResponse);
    return;
  }
  if (error instanceof AppError && error.code === 'unauthorized')
    res.set('WWW-Authenticate', bearerChallenge(req, error.message));
  next(error);
};
