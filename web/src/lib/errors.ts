import type { ErrorCode } from '@onair/protocol';

/** What a failed request can end in: a server's code, or no answer at all. */
export type FailureCode = ErrorCode | 'network' | 'timeout';

/**
 * One sentence a person understands for every error the server can send. A `Record` over the
 * protocol's codes: a new code without a sentence here fails the typecheck.
 */
export const errorSentences: Record<FailureCode, string> = {
  invalid_input: 'Some of what you entered is not accepted. Check it and try again.',
  invalid_json: 'The app sent something the server could not read. Reload the page and try again.',
  payload_too_large: 'That is too large to send.',
  unauthorized: 'Sign in to do that.',
  invalid_credentials: 'That username and password do not match.',
  forbidden: 'You are not allowed to do that.',
  not_found: 'We could not find that. It may have been removed.',
  stream_ended: 'This stream has ended.',
  username_taken: 'That username is taken. Try another one.',
  already_live: 'You are already live. Go back to that stream, or end it before starting another.',
  conflict: 'Something changed in the meantime. Try again.',
  no_publisher: 'The broadcaster is not sending video yet. It will start when they do.',
  not_in_room: 'Join the stream to do that.',
  followers_only: 'This stream is for followers of its host. Follow them to watch and chat.',
  timed_out: 'A moderator has timed you out of this chat for a while.',
  banned: 'You have been banned from this channel.',
  slow_mode: 'Slow mode is on. Wait a little before your next message.',
  blocked_word: 'Your message contains a word this channel does not allow.',
  rate_limited: 'You are going a bit fast. Wait a moment and try again.',
  unsupported_media_type: 'That kind of file is not accepted.',
  timeout: 'The server did not answer in time. Try again.',
  unavailable: 'The service is busy right now. Try again in a moment.',
  internal: 'Something went wrong on our side. Try again.',
  network: 'Cannot reach the server. Check your connection.',
};

/** The code of any error thrown by the API client or the socket wrapper, if it has one. */
export function failureCode(error: unknown): FailureCode | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const direct = (error as { code?: unknown }).code;
  if (typeof direct === 'string' && direct in errorSentences) return direct as FailureCode;
  const nested = (error as { error?: { code?: unknown } }).error?.code;
  if (typeof nested === 'string' && nested in errorSentences) return nested as FailureCode;
  return undefined;
}

/** For a failure with no code: the browser's own (a media error), or a bug. */
const unknownFailure = 'Something went wrong. Try again.';

/** The sentence to show for an error; `overrides` give a screen its own words for some codes. */
export function describeError(
  error: unknown,
  overrides: Partial<Record<FailureCode, string>> = {},
): string {
  const code = failureCode(error);
  if (!code) return unknownFailure;
  return overrides[code] ?? errorSentences[code];
}
