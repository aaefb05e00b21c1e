import type { ErrorCode } from '@onair/protocol';

/**
 * The one error type the domain throws. Transports map `code` to an HTTP status or an ack;
 * the message is safe to show a client.
 */
export class AppError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = 'AppError';
    this.code = code;
  }

  static notFound(what = 'Stream'): AppError {
    return new AppError('not_found', `${what} not found`);
  }

  static forbidden(message: string): AppError {
    return new AppError('forbidden', message);
  }

  static streamEnded(): AppError {
    return new AppError('stream_ended', 'This stream has ended');
  }

  static invalidInput(message: string): AppError {
    return new AppError('invalid_input', message);
  }

  static unauthorized(message = 'Sign in to do this'): AppError {
    return new AppError('unauthorized', message);
  }

  static rateLimited(): AppError {
    return new AppError('rate_limited', 'Too many messages; slow down');
  }
}
