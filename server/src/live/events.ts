import type {
  BroadcastMediaState,
  ChatRole,
  LiveComment,
  LiveNotification,
  Reaction,
  RecordingStatus,
  Stream,
  StreamLayer,
  ViewerCount,
  ViewerEvent,
} from '@onair/protocol';
import { SafeEmitter } from '../events/SafeEmitter';

/** Who may learn of a stream: everyone, or the listed users (a private stream's host and followers). */
export type Audience = { kind: 'public' } | { kind: 'users'; userIds: string[] };

export type EndReason = 'host' | 'publisher_lost' | 'node_restart';

/** One reaction as one user sent it; the transports decide how rooms hear of it (coalesced). */
export interface SentReaction {
  streamId: string;
  reaction: Reaction;
  userId: string;
  username: string;
}

/** What the domain reports outward; the transports translate each into their own messages. */
export interface LiveEventMap {
  stream_started: [stream: Stream, audience: Audience];
  stream_ended: [stream: Stream, audience: Audience, reason: EndReason];
  /** A signed-in viewer came; only the stream's host (`hostId`) may learn who. */
  viewer_joined: [event: ViewerEvent, hostId: string];
  viewer_left: [event: ViewerEvent, hostId: string];
  viewer_count: [count: ViewerCount];
  comment_added: [comment: LiveComment];
  reaction_sent: [reaction: SentReaction];
  /** The publisher's media dropped; the stream ends unless it returns within `graceSeconds`. */
  broadcaster_reconnecting: [streamId: string, graceSeconds: number];
  /** The host turned their camera or microphone on or off (stored on the stream). */
  media_state: [state: { streamId: string } & BroadcastMediaState];
  /** The publisher's media is flowing (first connection, or back after a drop). */
  broadcaster_resumed: [streamId: string];
  /**
   * A user may no longer see a stream (they stopped following its private stream's host): their
   * presence is gone; the transports take them out of its room and close their media for it.
   */
  access_revoked: [revocation: { streamId: string; userId: string }];
  /** A user may now see a private stream (they followed its host): their open pages may join. */
  access_granted: [grant: { streamId: string; userId: string }];
  /** A moderator deleted a comment (soft: history omits it from now on). */
  comment_deleted: [deletion: { streamId: string; commentId: string }];
  /**
   * A ban or timeout hid the user's earlier comments of a stream (soft, as a deletion: history and
   * the missed-comment replay omit them from now on; the moderation log keeps them).
   */
  comments_removed: [removal: { streamId: string; userId: string; commentIds: string[] }];
  /** A stream's recording failed, or its replay is ready (the room is told). */
  recording_changed: [change: { streamId: string; status: RecordingStatus; error: string | null }];
  /** Slow mode of a live stream changed; 0 is off. */
  slow_mode_changed: [change: { streamId: string; seconds: number }];
  /** A user may not comment on a stream until `until` (ISO 8601). */
  user_timed_out: [timeout: { streamId: string; userId: string; until: string; seconds: number }];
  /**
   * A user was banned from a host's channel. `streamId` is the host's live stream (else the
   * stream the ban was given on); the user's presence there is already gone: the transports take
   * them out of its room and close their media for it.
   */
  user_banned: [ban: { streamId: string; userId: string }];
  /** A user's part in a host's chat changed (made or unmade a moderator). */
  chat_role_changed: [change: { streamId: string; userId: string; role: ChatRole }];
  /** The host uploaded a new thumbnail; `thumbnail` is its URL, as the stream's JSON now has it. */
  thumbnail_updated: [update: { streamId: string; thumbnail: string }];
  /** The layers a live stream's broadcaster sends (measured by the media plane holding it). */
  layers_changed: [update: { streamId: string; layers: StreamLayer[] }];
  /** A notification was stored for each of `recipients` (one id for all of them). */
  notification_created: [notification: LiveNotification, recipients: string[]];
}

/**
 * The domain's events. Each is emitted once the change it reports is committed: a listener that
 * fails is reported to the handler given here and never undoes, or fails, the operation.
 */
export class LiveEvents extends SafeEmitter<LiveEventMap> {}
