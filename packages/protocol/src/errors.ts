import type { PublicUser } from './types';

/** Every error a client can see, by code. The server maps each to one HTTP status (server/src/http/errors.ts). */
export const ERROR_CODES = [
  'invalid_input',
  'invalid_json',
  'payload_too_large',
  'unauthorized',
  'invalid_credentials',
  'forbidden',
  'not_found',
  'stream_ended',
  'username_taken',
  'already_live',
  'conflict',
  /** The stream is live but its broadcaster is not sending yet (or is reconnecting): wait for them. */
  'no_publisher',
  'not_in_room',
  /**
   * A private stream, and this caller neither hosts it nor follows its host: `owner` says whose it
   * is (nothing else about the stream), so the page can offer to follow them.
   */
  'followers_only',
  /** A moderator timed this user out of the stream's chat for a while. */
  'timed_out',
  /** The host banned this user from all of their streams. */
  'banned',
  /** Slow mode: one comment per user per interval. */
  'slow_mode',
  /** The comment contains a word the host blocked. */
  'blocked_word',
  'rate_limited',
  'unsupported_media_type',
  'timeout',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Fields some errors carry beside their code and message. */
export interface ErrorDetails {
  /** Whose private stream this is: the public identity their profile shows anyway. */
  followers_only: { owner: PublicUser };
  /** The host already has a live stream (one at a time): this is it, to go back to. */
  already_live: { streamId: string };
  /** Seconds after which trying again may succeed (REST sends the same as `Retry-After`). */
  rate_limited: { retryAfterSeconds?: number };
  /**
   * `nodeUrl`: this node takes no more media sessions now (it is full or shutting down), but the
   * node at that URL does: watch there (a REST client is sent there by a 307 instead).
   */
  unavailable: { retryAfterSeconds?: number; nodeUrl?: string };
  /** When the timeout ends (ISO 8601) and how many seconds are left. */
  timed_out: { until: string; retryAfterSeconds: number };
  /** Seconds until this user may comment again. */
  slow_mode: { retryAfterSeconds: number };
}

/** One error: `code`, a sentence safe to show, and the code's details when it has any. */
export type ErrorBody = {
  [C in ErrorCode]: { code: C; message: string } & (C extends keyof ErrorDetails
    ? ErrorDetails[C]
    : unknown);
}[ErrorCode];

/** The JSON body of every failed REST response. */
export interface ErrorResponse {
  error: ErrorBody;
}

/** What every Socket.IO acknowledgement carries. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export type AckCallback<T extends object = object> = (response: Ack<T>) => void;
