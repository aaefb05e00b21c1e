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
  'conflict',
  'not_in_room',
  'rate_limited',
  'unsupported_media_type',
  'timeout',
  'unavailable',
  'internal',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

/** The JSON body of every failed REST response. */
export interface ErrorResponse {
  error: ErrorBody;
}

/** What every Socket.IO acknowledgement carries. */
export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorBody };

export type AckCallback<T extends object = object> = (response: Ack<T>) => void;
