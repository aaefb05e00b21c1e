import { AppError } from '../live/errors';
import { MediaError } from '../media/MediaError';

/** The media plane's sentinel errors as the coded errors clients see; others pass through. */
export function fromMediaError(error: unknown): unknown {
  if (!(error instanceof MediaError)) return error;
  switch (error.reason) {
    case 'invalid_sdp':
    case 'negotiation_failed':
      // A fixed sentence: what the library said about the SDP is for the log, not the caller.
      return AppError.invalidInput('The session description could not be used');
    case 'publisher_exists':
      return new AppError('conflict', error.message);
    case 'no_publisher':
      // Not a clash with anyone: a viewer waits for the broadcaster, and is told so.
      return new AppError('no_publisher', error.message);
    case 'session_not_found':
      return AppError.notFound('Media session');
    case 'closed':
      return AppError.streamEnded();
    case 'unavailable':
      return new AppError('unavailable', error.message);
    case 'too_many_sessions':
      return AppError.rateLimited(undefined, error.message);
  }
}

/** Runs a media operation and rethrows its failure as an AppError. */
export async function mediaCall<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw fromMediaError(error);
  }
}
