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

/** One shape for a stream everywhere: REST responses and socket payloads. Dates are ISO 8601 strings. */
export interface Stream {
  streamId: string;
  title: string;
  description: string;
  status: StreamStatus;
  isPrivate: boolean;
  tags: string[];
  thumbnail: string | null;
  host: PublicUser;
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
