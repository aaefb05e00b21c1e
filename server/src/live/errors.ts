import type { ErrorBody, ErrorCode, ErrorDetails } from '@onair/protocol';

type DetailsOf<C extends ErrorCode> = C extends keyof ErrorDetails ? ErrorDetails[C] : undefined;
/** No details for a code without any; optional ones when every field is optional; else required. */
type DetailsArgs<C extends ErrorCode> = [DetailsOf<C>] extends [undefined]
  ? []
  : Partial<DetailsOf<C>> extends DetailsOf<C>
    ? [details?: DetailsOf<C>]
    : [details: DetailsOf<C>];

/**
 * The one error type the domain throws. Transports map `code` to an HTTP status or an ack;
 * the message and the details are safe to show a client.
 */
export class AppError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  /** The fields the protocol adds for this code (`streamId` of `already_live`, ...). */
  readonly details: DetailsOf<C>;

  constructor(code: C, message: string, ...details: DetailsArgs<C>) {
    super(message);
    this.name = 'AppError';
    this.code = code;
    this.details = details[0] as DetailsOf<C>;
  }

  /** Seconds a client should wait before trying again, when the error says so. */
  get retryAfterSeconds(): number | undefined {
    const details = this.details as { retryAfterSeconds?: number } | undefined;
    return details?.retryAfterSeconds;
  }

  /** What a client receives: the code, the message and the code's details. */
  toBody(): ErrorBody {
    return { code: this.code, message: this.message, ...this.details } as ErrorBody;
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

  static rateLimited(
    retryAfterSeconds?: number,
    message = 'Too many messages; slow down',
  ): AppError {
    return new AppError('rate_limited', message, { retryAfterSeconds });
  }

  static banned(): AppError {
    return new AppError('banned', 'You are banned from this channel');
  }

  /** Timed out of a stream's chat until `until`, measured by the clock `now` (ms). */
  static timedOut(until: Date, now: number): AppError {
    const retryAfterSeconds = Math.max(1, Math.ceil((until.getTime() - now) / 1000));
    return new AppError('timed_out', 'A moderator has timed you out of this chat', {
      until: until.toISOString(),
      retryAfterSeconds,
    });
  }

  static slowMode(retryAfterSeconds: number): AppError {
    return new AppError('slow_mode', 'Slow mode is on: wait before your next comment', {
      retryAfterSeconds: Math.max(1, Math.ceil(retryAfterSeconds)),
    });
  }

  static blockedWord(): AppError {
    return new AppError('blocked_word', 'Your comment contains a word this channel blocks');
  }

  static alreadyLive(streamId: string): AppError {
    return new AppError('already_live', 'You are already live: end that stream first', {
      streamId,
    });
  }
}
