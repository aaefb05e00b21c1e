export type MediaErrorReason =
  | 'invalid_sdp'
  | 'publisher_exists'
  | 'no_publisher'
  | 'session_not_found'
  | 'closed'
  | 'negotiation_failed'
  | 'unavailable'
  /** The owner holds as many watching sessions as they may (`answerViewer`'s `maxSessions`). */
  | 'too_many_sessions';

/** Sentinel errors of the media engine; the transports map each reason to their own codes. */
export class MediaError extends Error {
  constructor(
    readonly reason: MediaErrorReason,
    message: string,
    /** What went wrong in detail, for the log only: never shown to the client. */
    readonly detail?: string,
  ) {
    super(message);
    this.name = 'MediaError';
  }
}
