import { streamRoom, type ChatRole } from '@onair/protocol';
import type { LiveEvents } from '../live/events';
import { userRoom, type LiveServer } from './types';

type Ban = { streamId: string; userId: string };

export interface ModerationRelayOptions {
  /** Whether other nodes share this one's rooms (over Redis), to tell them of bans. */
  clustered: boolean;
  /** Another node banned a user: close the media this node holds of theirs for the stream. */
  onRemoteBan: (ban: Ban) => void;
}

/**
 * Translates moderation's domain events into socket messages: the room hears what changes
 * for everyone (a deleted comment, a banned or timed-out user's comments removed, slow mode); a user's own tabs, on every node, hear what
 * concerns them (a timeout, a ban, a new role).
 */
export function relayModerationEvents(
  io: LiveServer,
  events: LiveEvents,
  { clustered, onRemoteBan }: ModerationRelayOptions,
): () => void {
  const onDeleted = (deletion: { streamId: string; commentId: string }) =>
    io.to(streamRoom(deletion.streamId)).emit('live_comment_deleted', deletion);
  const onRemoved = (removal: { streamId: string; userId: string; commentIds: string[] }) =>
    io.to(streamRoom(removal.streamId)).emit('live_comments_removed', removal);
  const onSlowMode = (change: { streamId: string; seconds: number }) =>
    io.to(streamRoom(change.streamId)).emit('live_slow_mode', change);
  const onTimedOut = ({
    streamId,
    userId,
    until,
    seconds,
  }: Ban & { until: string; seconds: number }) =>
    io.to(userRoom(userId)).emit('live_timed_out', { streamId, until, seconds });
  const onRole = ({ streamId, userId, role }: Ban & { role: ChatRole }) =>
    io.to(userRoom(userId)).emit('live_role', { streamId, role });
  const onBanned = ({ streamId, userId }: Ban) => {
    // Over the Redis bus this reaches the user's tabs on every node; the ban's domain step has
    // removed their presence already.
    io.to(userRoom(userId)).emit('live_banned', { streamId });
    io.in(userRoom(userId)).socketsLeave(streamRoom(streamId));
    if (clustered) io.serverSideEmit('banned', { streamId, userId });
  };

  events.on('comment_deleted', onDeleted);
  events.on('comments_removed', onRemoved);
  events.on('slow_mode_changed', onSlowMode);
  events.on('user_timed_out', onTimedOut);
  events.on('chat_role_changed', onRole);
  events.on('user_banned', onBanned);
  io.on('banned', onRemoteBan);

  return () => {
    events.off('comment_deleted', onDeleted);
    events.off('comments_removed', onRemoved);
    events.off('slow_mode_changed', onSlowMode);
    events.off('user_timed_out', onTimedOut);
    events.off('chat_role_changed', onRole);
    events.off('user_banned', onBanned);
    io.off('banned', onRemoteBan);
  };
}
