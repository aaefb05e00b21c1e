import {
  streamRoom,
  type BroadcastMediaState,
  type LiveComment,
  type RecordingStatus,
  type Stream,
  type StreamLayer,
  type ViewerEvent,
} from '@onair/protocol';
import type { Logger } from 'pino';
import type { Audience, LiveEvents, SentReaction } from '../live/events';
import { ReactionCoalescer } from './ReactionCoalescer';
import { userRoom, type LiveServer } from './types';

/** How often, at most, people outside a stream's room hear its viewer count and thumbnail (list cards). */
const listCountIntervalMs = 1000;
/** How often, at most, a stream's room hears its count: a burst of joins is a few messages, not one each. */
export const roomCountIntervalMs = 250;

export interface RelayOptions {
  /** Looks up who may see a stream this node did not start (or started before a restart). */
  resolveAudience: (streamId: string) => Promise<Audience | null>;
  /** Whether other nodes share this one's rooms (over Redis), to tell them of revocations. */
  clustered: boolean;
  /** Another node revoked a user's access to a stream: close what this node holds of theirs. */
  onRemoteRevocation: (revocation: Revocation) => void;
  /**
   * The stream's count as stored now (null once it is not live). Clustered, each node tells the
   * room its own changes, and one node's count can reach the room after a newer one from
   * another; so once a node's changes settle it reads the count and tells it again if it differs.
   */
  currentCount?: (streamId: string) => Promise<number | null>;
  logger: Logger;
}

type Revocation = { streamId: string; userId: string };

/**
 * Translates domain events into socket messages. The room hears everything at once but its
 * viewer count (throttled) and reactions (coalesced per emoji); the wider audience (the live
 * list) hears starts, ends, and a throttled viewer count and thumbnail.
 */
export function relayLiveEvents(
  io: LiveServer,
  events: LiveEvents,
  { resolveAudience, clustered, onRemoteRevocation, currentCount, logger }: RelayOptions,
): () => void {
  const audienceOf = new Map<string, Audience>();
  const pendingCounts = new Map<string, number>();
  /** The latest thumbnail of each stream not yet told to the list pages. */
  const pendingThumbnails = new Map<string, string>();
  let flushTimer: NodeJS.Timeout | undefined;
  /** Per room: the count held back while the room was told one less than an interval ago. */
  const roomCounts = new Map<string, { timer: NodeJS.Timeout; held: number | undefined }>();
  const reactions = new ReactionCoalescer((reaction) =>
    io.to(streamRoom(reaction.streamId)).emit('live_reaction_received', reaction),
  );

  /** The count this node last told each room. */
  const toldCounts = new Map<string, number>();
  const tellRoom = (streamId: string, viewerCount: number) => {
    io.to(streamRoom(streamId)).emit('viewer_count', { streamId, viewerCount });
    toldCounts.set(streamId, viewerCount);
    const timer = setTimeout(() => {
      const throttle = roomCounts.get(streamId);
      roomCounts.delete(streamId);
      if (throttle?.held !== undefined) tellRoom(streamId, throttle.held);
      else if (clustered) settleRoom(streamId);
    }, roomCountIntervalMs);
    roomCounts.set(streamId, { timer, held: undefined });
  };
  /** Quiet here after a change: the room hears the stored count if this node told it another. */
  const settleRoom = (streamId: string) => {
    currentCount?.(streamId)
      .then((stored) => {
        if (stored === null) return void toldCounts.delete(streamId);
        if (stored !== toldCounts.get(streamId) && !roomCounts.has(streamId))
          tellRoom(streamId, stored);
      })
      .catch((err: unknown) => logger.warn({ err, streamId }, 'could not read a viewer count'));
  };
  const stopRoomCount = (streamId: string) => {
    clearTimeout(roomCounts.get(streamId)?.timer);
    roomCounts.delete(streamId);
    toldCounts.delete(streamId);
  };

  const toAudience = (audience: Audience) =>
    audience.kind === 'public' ? io : io.to(audience.userIds.map(userRoom));

  const listAudience = async (streamId: string) => {
    let audience = audienceOf.get(streamId);
    if (!audience) {
      audience = (await resolveAudience(streamId).catch(() => null)) ?? undefined;
      if (!audience) return undefined;
      audienceOf.set(streamId, audience);
    }
    return toAudience(audience).except(streamRoom(streamId));
  };

  const flushListUpdates = async () => {
    flushTimer = undefined;
    const counts = [...pendingCounts];
    const thumbnails = [...pendingThumbnails];
    pendingCounts.clear();
    pendingThumbnails.clear();
    for (const [streamId, viewerCount] of counts)
      (await listAudience(streamId))?.emit('viewer_count', { streamId, viewerCount });
    for (const [streamId, thumbnail] of thumbnails)
      (await listAudience(streamId))?.emit('live_thumbnail', { streamId, thumbnail });
  };
  const scheduleListFlush = () => {
    flushTimer ??= setTimeout(() => {
      flushListUpdates().catch((err: unknown) =>
        logger.error({ err }, 'could not send updates to the live list'),
      );
    }, listCountIntervalMs);
  };

  const onStarted = (stream: Stream, audience: Audience) => {
    audienceOf.set(stream.streamId, audience);
    toAudience(audience).emit('live_started', stream);
  };
  const onEnded = (stream: Stream, audience: Audience) => {
    const room = streamRoom(stream.streamId);
    audienceOf.delete(stream.streamId);
    pendingCounts.delete(stream.streamId);
    pendingThumbnails.delete(stream.streamId);
    stopRoomCount(stream.streamId);
    reactions.drop(stream.streamId);
    const payload = { streamId: stream.streamId, stream };
    if (audience.kind === 'public') io.emit('live_ended', payload);
    else io.to([room, ...audience.userIds.map(userRoom)]).emit('live_ended', payload);
    io.in(room).socketsLeave(room);
  };
  const onCount = (count: { streamId: string; viewerCount: number }) => {
    // The first change is told at once; the latest of those that follow within the interval after.
    const throttle = roomCounts.get(count.streamId);
    if (throttle) throttle.held = count.viewerCount;
    else tellRoom(count.streamId, count.viewerCount);
    pendingCounts.set(count.streamId, count.viewerCount);
    scheduleListFlush();
  };
  /** The room sees a new thumbnail at once; list pages get the latest with the next counts. */
  const onThumbnail = (update: { streamId: string; thumbnail: string }) => {
    io.to(streamRoom(update.streamId)).emit('live_thumbnail', update);
    pendingThumbnails.set(update.streamId, update.thumbnail);
    scheduleListFlush();
  };
  // Who watches is for the host alone (their tabs on every node); the room hears the count.
  const onJoined = (e: ViewerEvent, hostId: string) =>
    io.to(userRoom(hostId)).emit('viewer_joined', e);
  const onLeft = (e: ViewerEvent, hostId: string) => io.to(userRoom(hostId)).emit('viewer_left', e);

  const onComment = (comment: LiveComment) =>
    io.to(streamRoom(comment.streamId)).emit('live_comment_added', comment);
  const onReaction = (reaction: SentReaction) => reactions.add(reaction);

  const onReconnecting = (streamId: string, graceSeconds: number) =>
    io.to(streamRoom(streamId)).emit('broadcaster_reconnecting', { streamId, graceSeconds });
  // The room hears it (a viewer's replay is ready); the reason for a failure matters to the host.
  const onRecording = (change: {
    streamId: string;
    status: RecordingStatus;
    error: string | null;
  }) => io.to(streamRoom(change.streamId)).emit('live_recording', change);
  const onLayers = (update: { streamId: string; layers: StreamLayer[] }) =>
    io.to(streamRoom(update.streamId)).emit('live_layers', update);
  const onResumed = (streamId: string) =>
    io.to(streamRoom(streamId)).emit('broadcaster_resumed', { streamId });
  const onMediaState = (state: { streamId: string } & BroadcastMediaState) =>
    io.to(streamRoom(state.streamId)).emit('live_media_state', state);

  /** The list's updates of a private stream stop reaching an ex-follower too. */
  const dropFromAudience = ({ streamId, userId }: Revocation) => {
    const audience = audienceOf.get(streamId);
    if (audience?.kind === 'users')
      audienceOf.set(streamId, {
        kind: 'users',
        userIds: audience.userIds.filter((id) => id !== userId),
      });
  };
  const onRevoked = ({ streamId, userId }: Revocation) => {
    const room = streamRoom(streamId);
    dropFromAudience({ streamId, userId });
    // Over the Redis bus this reaches the user's tabs on every node.
    io.to(userRoom(userId)).emit('live_access_revoked', { streamId });
    io.in(userRoom(userId)).socketsLeave(room);
    if (clustered) io.serverSideEmit('access_revoked', { streamId, userId });
  };
  /**
   * A new follower: their tabs join again (a page kept out, or revoked, gets in without a
   * reload), and the list's updates of the stream reach them from now on.
   */
  const onGranted = ({ streamId, userId }: Revocation) => {
    const audience = audienceOf.get(streamId);
    if (audience?.kind === 'users' && !audience.userIds.includes(userId))
      audienceOf.set(streamId, { kind: 'users', userIds: [...audience.userIds, userId] });
    // Over the Redis bus this reaches the user's tabs on every node.
    io.to(userRoom(userId)).emit('live_access_granted', { streamId });
  };
  const onRemoteRevoked = (revocation: Revocation) => {
    dropFromAudience(revocation);
    onRemoteRevocation(revocation);
  };

  events.on('access_revoked', onRevoked);
  events.on('access_granted', onGranted);
  io.on('access_revoked', onRemoteRevoked);
  events.on('broadcaster_reconnecting', onReconnecting);
  events.on('broadcaster_resumed', onResumed);
  events.on('media_state', onMediaState);
  events.on('layers_changed', onLayers);
  events.on('recording_changed', onRecording);
  events.on('stream_started', onStarted);
  events.on('stream_ended', onEnded);
  events.on('viewer_count', onCount);
  events.on('thumbnail_updated', onThumbnail);
  events.on('viewer_joined', onJoined);
  events.on('viewer_left', onLeft);
  events.on('comment_added', onComment);
  events.on('reaction_sent', onReaction);

  return () => {
    if (flushTimer) clearTimeout(flushTimer);
    for (const streamId of [...roomCounts.keys()]) stopRoomCount(streamId);
    reactions.close();
    events.off('access_revoked', onRevoked);
    events.off('access_granted', onGranted);
    io.off('access_revoked', onRemoteRevoked);
    events.off('broadcaster_reconnecting', onReconnecting);
    events.off('broadcaster_resumed', onResumed);
    events.off('media_state', onMediaState);
    events.off('layers_changed', onLayers);
    events.off('recording_changed', onRecording);
    events.off('stream_started', onStarted);
    events.off('stream_ended', onEnded);
    events.off('viewer_count', onCount);
    events.off('thumbnail_updated', onThumbnail);
    events.off('viewer_joined', onJoined);
    events.off('viewer_left', onLeft);
    events.off('comment_added', onComment);
    events.off('reaction_sent', onReaction);
  };
}
