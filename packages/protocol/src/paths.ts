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

/**
 * WHIP with the host's persistent stream key (OBS's "Server"): each offer starts a live stream
 * named by the host's next-stream settings, or resumes the one it left within the grace period.
 */
export const userWhipPath = '/api/live/whip';

/** A stream's latest thumbnail; `?v=` names the upload so a cached copy is never stale. */
export const thumbnailPath = (streamId: string): string => `/api/live/${streamId}/thumbnail`;

/** Thumbnails: JPEG or WebP, checked by their first bytes, at most this many bytes. */
export const THUMBNAIL_MAX_BYTES = 200 * 1024;
export const THUMBNAIL_TYPES = ['image/jpeg', 'image/webp'] as const;
/** The most pixels a thumbnail may declare, in either orientation (4K UHD). */
export const THUMBNAIL_MAX_SIZE = { width: 3840, height: 2160 } as const;

/** A user's uploaded profile picture; `?v=` names the upload so a cached copy is never stale. */
export const avatarPath = (userId: string): string => `/api/users/${userId}/avatar`;

/** Where the signed-in user uploads (`PUT`, the image as the body) or removes (`DELETE`) theirs. */
export const myAvatarPath = '/api/me/avatar';

/** Profile pictures: JPEG, WebP or PNG, checked by their first bytes, at most this many bytes. */
export const AVATAR_MAX_BYTES = 1024 * 1024;
export const AVATAR_TYPES = ['image/jpeg', 'image/webp', 'image/png'] as const;
/** The most pixels a profile picture may declare: it is shown at 80 px at most. */
export const AVATAR_MAX_SIZE = { width: 1024, height: 1024 } as const;

/** Live streams with a tag, then recent ones (the web app's `/tags/:tag`). */
export const tagStreamsPath = (tag: string): string =>
  `/api/tags/${encodeURIComponent(tag)}/streams`;

/** A stream's HLS multivariant playlist: the live packaging while live, the replay after. */
export const hlsPath = (streamId: string): string => `/api/live/${streamId}/hls/index.m3u8`;

/**
 * A live HLS URL for a player already counted in the stream's audience (the web app, joined to
 * the room over its socket): `?present=1` is carried into the rendition playlists' URLs, whose
 * polls then renew no viewer lease of their own. (A query, not a header: a browser's native HLS
 * player sends no headers of ours.)
 */
export function presentHlsUrl(url: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}present=1`;
}

/** A VP8 recording's replay as one WebM file (browsers play no VP8 over HLS). */
export const recordingWebmPath = (streamId: string): string =>
  `/api/live/${streamId}/recording.webm`;

/** A stream's recording as one MP4 file (the host's download). */
export const recordingDownloadPath = (streamId: string): string =>
  `/api/live/${streamId}/recording.mp4`;
