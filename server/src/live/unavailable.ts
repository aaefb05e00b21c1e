import { AppError } from './errors';

/** Seconds a client is told to wait when the database cannot be reached. */
export const unavailableRetryAfterSeconds = 5;

/** SQLSTATEs that say the server is going, gone, starting or full, not that the query is wrong. */
const connectionStates = new Set(['57P01', '57P02', '57P03', '53300']);

/** Node's codes for a connection that could not be made or was cut. */
const networkCodes = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** What node-postgres says, without a code, when a connection ends or cannot be had. */
const clientMessages = [
  /^Connection terminated/,
  /^timeout exceeded when trying to connect/,
  /is not queryable$/,
  /^Cannot use a pool after calling end/,
];

function isConnectionFailure(error: unknown): boolean {
  for (let e = error, depth = 0; e && typeof e === 'object' && depth < 5; depth += 1) {
    const { code, message, cause } = e as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string') {
      if (code.startsWith('08') || connectionStates.has(code) || networkCodes.has(code))
        return true;
    }
    if (typeof message === 'string' && clientMessages.some((pattern) => pattern.test(message)))
      return true;
    // Drizzle wraps the driver's error in its own, with the driver's as the cause.
    e = cause;
  }
  return false;
}

/**
 * The one place a failure to reach the database becomes what clients are told: `unavailable`
 * (503 over REST, with `Retry-After`), rather than `internal`. Both transports ask this of every
 * error that is not already an `AppError`. Undefined for any other error.
 */
export function asUnavailable(error: unknown): AppError<'unavailable'> | undefined {
  if (!isConnectionFailure(error)) return undefined;
  return new AppError('unavailable', 'The service is briefly unavailable; try again shortly', {
    retryAfterSeconds: unavailableRetryAfterSeconds,
  });
}
