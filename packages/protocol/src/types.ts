/** A user as anyone may see them. */
export interface PublicUser {
  id: string;
  username: string;
  display_name: string;
  avatar_url: string | null;
}

/** A user with their profile text: what `/api/auth/me` and profiles return. */
export interface User extends PublicUser {
  bio: string | null;
}

export interface AuthResponse {
  token: string;
  user: User;
}

export interface UserProfile {
  user: User;
  followers: number;
  following: number;
  /** Whether the caller follows this user (false for anonymous callers). */
  isFollowing: boolean;
}

export type StreamStatus = 'live' | 'ended';

/** Whether the broadcaster's camera and microphone are on, as the broadcaster announces them. */
export interface BroadcastMediaState {
  camera: boolean;
  microphone: boolean;
}

/** One shape for a stream everywhere: REST responses and socket payloads. Dates are ISO 8601 strings. */
export interface Stream {
  streamId: string;
  title: string;
  description: string;
  status: StreamStatus;
  isPrivate: boolean;
  tags: string[];
  /**
   * The latest frame the broadcaster's app uploaded, as a URL on this server (it changes with each
   * upload, so it can be cached for long); null until the first upload.
   */
  thumbnail: string | null;
  host: PublicUser;
  /** The broadcaster's camera and microphone, so a viewer who joins late shows the right cue. */
  media: BroadcastMediaState;
  /** Distinct non-host users present now, counted by the server. */
  viewerCount: number;
  peakViewers: number;
  /** Seconds between start and end; 0 while live. */
  duration: number;
  startedAt: string;
  endedAt: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface StreamViewer {
  user: PublicUser;
  joinedAt: string;
  leftAt: string | null;
}

export interface StreamDetails extends Stream {
  viewers: StreamViewer[];
}

/** What the host gets back from starting a stream: the stream plus its publishing credentials. */
export interface StartedStream extends Stream {
  /** Bearer token for WHIP ingest of this stream only (OBS "Bearer Token"). */
  streamKey: string;
  whipUrl: string;
}

/**
 * What a stream came to: the host's end screen. `uniqueViewers` counts every distinct signed-in
 * viewer and every anonymous watcher who was ever present.
 */
export interface StreamSummary {
  streamId: string;
  status: StreamStatus;
  /** Seconds between start and end, or until now while live. */
  duration: number;
  peakViewers: number;
  uniqueViewers: number;
  commentCount: number;
}

/** `GET /api/users/by-username/:username`: everything a profile page shows. */
export interface ProfilePage extends UserProfile {
  /** The stream this user is live on now, when the caller may see it. */
  liveStream: Stream | null;
  /** Ended streams the caller may see, newest first (at most 50). */
  pastStreams: Stream[];
}

/** `GET /api/me/stream-key`: the host's persistent key for OBS, with the one WHIP URL it goes to. */
export interface StreamKeyInfo {
  /** The Bearer token OBS sends to `whipUrl`. Shown only to its owner. */
  streamKey: string;
  /** Absolute URL of `POST /api/live/whip`. */
  whipUrl: string;
}

/** `GET`/`PUT /api/me/next-stream`: what a stream started from OBS is called and who may watch it. */
export interface NextStreamSettings {
  title: string;
  description: string;
  tags: string[];
  isPrivate: boolean;
}

/** `PUT /api/live/:streamId/thumbnail`'s answer. */
export interface ThumbnailResult {
  thumbnail: string;
}

export interface LiveComment {
  id: string;
  streamId: string;
  userId: string;
  username: string;
  user: PublicUser;
  comment: string;
  timestamp: string;
}

export interface LiveReaction {
  streamId: string;
  userId: string;
  username: string;
  reaction: Reaction;
  timestamp: string;
}

/** The reactions a viewer can send; anything else is refused. */
export const REACTIONS = ['❤️', '🔥', '👏', '😂', '😮', '🎉'] as const;
export type Reaction = (typeof REACTIONS)[number];

export interface ViewerCount {
  streamId: string;
  viewerCount: number;
}

export interface ViewerEvent {
  streamId: string;
  userId: string;
  username: string;
}

export interface JoinResult {
  stream: Stream;
  viewerCount: number;
}

/**
 * `POST /api/live/:streamId/view`: watching over REST is a lease. The caller counts as a viewer
 * for `leaseSeconds` and renews by calling `view` again before then.
 */
export interface ViewResult extends JoinResult {
  success: true;
  leaseSeconds: number;
}

export interface CommentPage {
  comments: LiveComment[];
  /** Pass as `before` to get the next older page; null when there is none. */
  nextBefore: string | null;
}
