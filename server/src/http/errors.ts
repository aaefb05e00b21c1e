import type { ErrorCode, ErrorResponse } from '@onair/protocol';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { asUnavailable } from '../live/unavailable';
import { AppError } from '../live/errors';

/** The one place an error code becomes an HTTP status. */
export const httpStatus: Record<ErrorCode, number> = {
  invalid_input: 400,
  invalid_json: 400,
  payload_too_large: 413,
  unauthorized: 401,
  invalid_credentials: 401,
  forbidden: 403,
  not_found: 404,
  stream_ended: 409,
  username_taken: 409,
  already_live: 409,
  conflict: 409,
  no_publisher: 409,
  not_in_room: 403,
  followers_only: 403,
  timed_out: 403,
  banned: 403,
  slow_mode: 429,
  blocked_word: 403,
  rate_limited: 429,
  unsupported_media_type: 415,
  timeout: 504,
  unavailable: 503,
  internal: 500,
};

export const errorBody = (code: 'not_found' | 'internal', message: string): ErrorResponse => ({
  error: { code, message },
});

/** Turns body-parser's errors (which carry `type`) into our codes. */
function fromBodyParser(error: { type?: unknown; status?: unknown }): AppError | undefined {
  switch (error.type) {
    case 'entity.parse.failed':
      return new AppError('invalid_json', 'The request body is not valid JSON');
    case 'entity.too.large':
      return new AppError('payload_too_large', 'The request body is too large');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new AppError('unsupported_media_type', 'Unsupported body encoding');
    default:
      if (typeof error.status === 'number' && error.status >= 400 && error.status < 500) {
        return new AppError('invalid_input', 'The request could not be read');
      }
      return undefined;
  }
}

export const apiNotFound: RequestHandler = (_req, res) => {
  res.status(404).json(errorBody('not_found', 'No such endpoint'));
};

export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const known: AppError | undefined =
    error instanceof AppError
      ? error
      : error && typeof error === 'object'
        ? (fromBodyParser(error as { type?: unknown; status?: unknown }) ?? asUnavailable(error))
        : undefined;
  if (known) {
    if (known.code === 'unavailable' && !(error instanceof AppError))
      req.log.warn({ err: error }, 'database unavailable');
    // RFC 9110 §10.2.3: tell a client that was told to wait (429, 503) how long.
    const retryAfter = known.retryAfterSeconds;
    if (retryAfter !== undefined)
      res.set('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
    res.status(httpStatus[known.code]).json({ error: known.toBody() } satisfies ErrorResponse);
    return;
  }
  req.log.error({ err: error }, 'request failed');
  if (res.headersSent) return;
  res.status(500).json(errorBody('internal', 'Something went wrong on our side'));
};
