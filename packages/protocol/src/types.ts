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

/** One ICE server for a media connection (TURN entries with expiring credentials). */
export interface IceServer {
  urls: string | string[];
  username?: string | undefined;
  credential?: string | undefined;
}

/** Whether a server a node uses answers. */
export type DependencyState = 'ok' | 'down';

/** `GET /api/health`: the node's state and each dependency's (503 unless serving). */
export interface HealthReport {
  ok: boolean;
  status: 'ok' | 'degraded' | 'starting' | 'draining' | 'stopping';
  dependencies: Record<string, DependencyState>;
}

/** `GET /api/ready`: whether a load balancer should send this node new clients (else 503). */
export interface ReadyReport {
  ready: boolean;
  dependencies: Record<string, DependencyState>;
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

/**
 * One simulcast layer of a live stream as the server receives it, lowest first: what the quality
 * menu labels (the real height) and the host's health panel shows (sent or paused, and how many
 * viewers get it on the node holding the broadcaster).
 */
export interface StreamLayer {
  width: number;
  height: number;
  /** Received now, kbit/s; 0 while the layer is paused. */
  bitrateKbps: number;
  /** Whether the broadcaster sends this layer now (a layer nobody needs is paused). */
  active: boolean;
  /**
   * Whether anyone needs it: a viewer gets it or is about to. The web app's broadcaster pauses
   * a layer nobody needs and resumes it when this turns true.
   */
  needed: boolean;
  viewers: number;
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
  /** The stream's recording, `null` when it was not recorded (or the host deleted it). */
  recording: StreamRecording | null;
  /**
   * While live: the HLS multivariant playlist (signed for the caller when the stream is private),
   * for players that cannot use WebRTC. `null` once ended (the replay is `recording.url`).
   */
  hlsUrl: string | null;
}

/**
 * `recording`: being written while live; `processing`: the stream ended and the last segment is
 * being closed; `ready`: a replay; `failed`: stopped by an error (the stream itself went on), with
 * whatever was written before it still playable when `url` is set.
 */
export type RecordingStatus = 'recording' | 'processing' | 'ready' | 'failed';

/** A stream's recording, as `GET /api/live/:streamId` gives it. */
export interface StreamRecording {
  status: RecordingStatus;
  /** Seconds of media written so far (final once ready). */
  durationSeconds: number;
  /**
   * The HLS playlist: live while recording, video on demand once ready; signed for the caller
   * when the stream is private. A VP8 recording, once ready, is one WebM file instead
   * (`…/recording.webm`: browsers play no VP8 over HLS). `null` while nothing is playable yet.
   */
  url: string | null;
  /** The host only: the whole recording as one MP4 file (signed). */
  downloadUrl: string | null;
  /** Bytes on disk (the host only; 0 for others). */
  bytes: number;
  /** Why it stopped, shown to the host; `null` unless failed. */
  error: string | null;
  /**
   * Where media time meets the wall clock, one entry per continuous part (a publisher that
   * reconnected starts a new part): a comment made at wall time `w` shows at media time
   * `at + (w - wallClock)` of the last part that began before it.
   */
  timeline: { at: number; wallClock: string }[];
}

/** `GET /api/me/recordings`: the host's recordings and the disk they use. */
export interface MyRecordings {
  totalBytes: number;
  recordings: {
    streamId: string;
    title: string;
    status: RecordingStatus;
    durationSeconds: number;
    bytes: number;
    startedAt: string;
  }[];
  /** Days a recording is kept after its stream ends (`RECORDING_RETENTION_DAYS`); `null`: kept. */
  retentionDays: number | null;
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

/** An ended stream as a profile lists it. */
export interface PastStream extends Stream {
  /** Seconds of replay it has to play; null when it was not recorded or its recording is gone. */
  replaySeconds: number | null;
}

/** `GET /api/users/by-username/:username`: everything a profile page shows. */
export interface ProfilePage extends UserProfile {
  /** The stream this user is live on now, when the caller may see it. */
  liveStream: Stream | null;
  /** Ended streams the caller may see, newest first (at most 50). */
  pastStreams: PastStream[];
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
  /** Whether the stream is recorded for replay. */
  record: boolean;
}

/** `PUT /api/live/:streamId/thumbnail`'s answer. */
export interface ThumbnailResult {
  thumbnail: string;
}

/** Someone's part in a stream's chat: the host, one of the host's moderators, or anyone else. */
export type ChatRole = 'host' | 'moderator' | 'viewer';

export interface LiveComment {
  id: string;
  streamId: string;
  userId: string;
  username: string;
  user: PublicUser;
  comment: string;
  timestamp: string;
  /** The author's part in the chat, as it is now (history) or was when sent (live): the badge. */
  role: ChatRole;
}

/**
 * Reactions to a stream, coalesced: a room hears at most one event per emoji per 250 ms, with how
 * many were sent in that window. A window of one reaction names who sent it.
 */
export interface LiveReaction {
  streamId: string;
  reaction: Reaction;
  /** How many of this reaction were sent in the window (at least 1). */
  count: number;
  /** The sender when `count` is 1; null when several were coalesced. */
  userId: string | null;
  username: string | null;
  /** When the window closed. */
  timestamp: string;
}

/** The reactions a viewer can send; anything else is refused. */
export const REACTIONS = ['❤️', '🔥', '👏', '😂', '😮', '🎉'] as const;
export type Reaction = (typeof REACTIONS)[number];

export interface ViewerCount {
  streamId: string;
  viewerCount: number;
}

/** A signed-in viewer came or went: sent to the stream's host only, never to the room. */
export interface ViewerEvent {
  streamId: string;
  userId: string;
  username: string;
}

/**
 * Who is watching now, for the stream's host only (`viewer_list`): signed-in viewers by name (at
 * most `LIMITS.viewerListMax`, by name), anonymous watchers as a count.
 */
export interface ViewerList {
  streamId: string;
  viewers: PublicUser[];
  /** Signed-in viewers present, including any beyond the named ones. */
  signedInCount: number;
  anonymousCount: number;
}

/** The chat as one user sees it on joining: its rules now and where they stand in it. */
export interface ChatState {
  /** One comment per user per this many seconds; 0 when slow mode is off. */
  slowModeSeconds: number;
  /** The caller's part: hosts and moderators get the moderation tools. */
  role: ChatRole;
  /** When the caller's timeout ends (ISO 8601); null when they may chat. */
  timedOutUntil: string | null;
}

export interface JoinResult {
  stream: Stream;
  viewerCount: number;
  chat: ChatState;
  /**
   * With `join_live`'s `sinceCommentId` (a rejoin after a dropped connection): the comments
   * stored after that one, oldest first, at most `LIMITS.missedCommentsMax` (the newest of them).
   * Comments that reach the socket while the rejoin is answered may be among them: clients
   * dedupe by id. Absent without `sinceCommentId`.
   */
  missedComments?: LiveComment[];
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

/** One moderation action: the body of `POST /api/live/:streamId/moderation`. */
export type ModerationAction =
  | { action: 'delete_comment'; commentId: string }
  | { action: 'timeout'; userId: string; seconds: number }
  | { action: 'ban'; userId: string }
  | { action: 'unban'; userId: string }
  | { action: 'slow_mode'; seconds: number }
  | { action: 'blocked_words'; words: string[] }
  | { action: 'add_moderator'; userId: string }
  | { action: 'remove_moderator'; userId: string };

export type ModerationActionName = ModerationAction['action'];

/** A user banned from a host's streams. */
export interface ChannelBan {
  user: PublicUser;
  bannedBy: PublicUser;
  bannedAt: string;
}

/** A user timed out of one stream's chat, until `until`. */
export interface ChatTimeout {
  user: PublicUser;
  until: string;
}

/**
 * A stream's moderation settings as its host and moderators see them. Bans, moderators and
 * blocked words belong to the host's channel (every stream of theirs); slow mode and timeouts
 * to this stream.
 */
export interface ModerationState {
  streamId: string;
  slowModeSeconds: number;
  blockedWords: string[];
  moderators: PublicUser[];
  bans: ChannelBan[];
  /** Timeouts still running, soonest to end first. */
  timeouts: ChatTimeout[];
}

/** One action taken, as the moderation log shows it. */
export interface ModerationLogEntry {
  id: string;
  streamId: string;
  /** Who took it: the host or one of their moderators. */
  actor: PublicUser;
  action: ModerationAction;
  /** The user it was taken on (the comment's author for `delete_comment`); null for settings. */
  target: PublicUser | null;
  createdAt: string;
  /**
   * A ban or timeout: the target's messages of this stream it took out of the chat, oldest
   * first. Only the host and moderators read the log, so they can still see what was said.
   */
  removedComments?: RemovedComment[];
}

/** A message a ban or timeout took out of the chat, as the moderation log keeps it. */
export interface RemovedComment {
  id: string;
  comment: string;
  timestamp: string;
}

/** What an action answers (REST and the `live_moderate` ack): the entry logged and the state after. */
export interface ModerationResult {
  entry: ModerationLogEntry;
  state: ModerationState;
}

/** `GET /api/live/:streamId/moderation`: the state and the actions taken, newest first. */
export interface ModerationView {
  state: ModerationState;
  actions: ModerationLogEntry[];
  /** Pass as `before` to get the next older page; null when there is none. */
  nextBefore: string | null;
}

/**
 * `GET /api/tags/:tag/streams`: the live streams with the tag (newest first), then ended ones
 * (most recently started first), each only if the caller may see it.
 */
export interface TagStreams {
  tag: string;
  live: Stream[];
  recent: Stream[];
}

/** What a notification is about; today only that someone the user follows went live. */
export type NotificationKind = 'live_started';

/**
 * One notification: `host` went live with `stream`. The same `id` names each follower's copy,
 * so the socket message and the list agree on it.
 */
export interface LiveNotification {
  id: string;
  kind: NotificationKind;
  createdAt: string;
  /** False until the user opens their notifications (or marks it read). */
  read: boolean;
  host: PublicUser;
  /** The stream as it is now: its title, and whether it is still live. */
  stream: { streamId: string; title: string; status: StreamStatus; isPrivate: boolean };
}

/** `GET /api/me/notifications`: the newest first, with how many of all are unread. */
export interface NotificationPage {
  notifications: LiveNotification[];
  unreadCount: number;
  /** Pass as `before` for older ones; null when there are none. */
  nextBefore: string | null;
}

/** `POST /api/me/notifications/read`: how many are still unread. */
export interface NotificationsReadResult {
  unreadCount: number;
}
