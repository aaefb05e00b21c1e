/**
 * A stream's WHIP endpoint (RFC 9725), relative to the server's origin: where OBS sends its offer
 * with the stream key as its Bearer token.
 */
export const whipPath = (streamId: string): string => `/api/live/${streamId}/whip`;

/** One WHIP session's resource: the `Location` of the answer (RFC 9725 §4.2), which `DELETE` ends. */
export const whipSessionPath = (streamId: string, sessionId: string): string =>
  `${whipPath(streamId)}/${sessionId}`;

/** A stream's WHEP endpoint, relative to the server's origin: where a player sends its offer. */
export const whepPath = (streamId: string): string => `/api/live/${streamId}/whep`;

/** One WHEP session's resource, as WHIP's. */
export const whepSessionPath = (streamId: string, sessionId: string): string =>
  `${whepPath(streamId)}/${sessionId}`;
