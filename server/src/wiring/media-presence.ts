import type { Logger } from 'pino';
import type { LiveEvents } from '../live/events';
import type { ConnectionHandle, JoinOutcome, PresenceService, Viewer } from '../live/presence';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';

export interface MediaPresence {
  /**
   * Counts `viewer` present through `handle` for as long as watching session `sessionId` lives:
   * a media session implies presence, whether or not its socket joined the room. When presence
   * is refused (hidden stream, ended stream) the session is closed and the error thrown.
   */
  hold(
    streamId: string,
    viewer: Viewer,
    handle: ConnectionHandle,
    sessionId: string,
  ): Promise<JoinOutcome>;
  close(): void;
}

interface Held {
  streamId: string;
  viewer: Viewer;
  handle: ConnectionHandle;
}

/**
 * Ties watching media sessions to presence, both ways: a session's close releases its presence
 * (`subscriber_closed`), and a revoked access or a ban closes the user's sessions of the stream.
 */
export function connectMediaPresence(deps: {
  media: MediaWorkerPool;
  presence: PresenceService;
  events: LiveEvents;
  logger: Logger;
}): MediaPresence {
  const { media, presence, events, logger } = deps;
  const held = new Map<string, Held>();

  const leave = async (sessionId: string, entry: Held): Promise<void> => {
    try {
      await presence.leave(entry.streamId, entry.viewer, entry.handle);
    } catch (err) {
      logger.error(
        { err, streamId: entry.streamId, sessionId },
        'failed to record a media viewer leaving',
      );
    }
  };

  const onClosed = (_streamId: string, sessionId: string) => {
    const entry = held.get(sessionId);
    if (!entry) return;
    held.delete(sessionId);
    // `leave` logs its own failure, and nothing here depends on when it finishes.
    void leave(sessionId, entry);
  };
  const onRevoked = ({ streamId, userId }: { streamId: string; userId: string }) =>
    media.closeViewerSessions(streamId, userId);
  // An ended stream's presence is gone with it, and its sessions close without a report.
  const onEnded = ({ streamId }: { streamId: string }) => {
    for (const [sessionId, entry] of held) if (entry.streamId === streamId) held.delete(sessionId);
  };

  media.on('subscriber_closed', onClosed);
  events.on('access_revoked', onRevoked);
  events.on('user_banned', onRevoked);
  events.on('stream_ended', onEnded);

  return {
    async hold(streamId, viewer, handle, sessionId) {
      const entry: Held = { streamId, viewer, handle };
      held.set(sessionId, entry);
      let joined: JoinOutcome;
      try {
        joined = await presence.enter(streamId, viewer, handle);
      } catch (error) {
        held.delete(sessionId);
        media.closeSession(sessionId);
        throw error;
      }
      // The session may have closed while its presence was being written: undo that presence.
      if (!media.sessionInfo(sessionId)) {
        held.delete(sessionId);
        await leave(sessionId, entry);
      }
      return joined;
    },
    close() {
      media.off('subscriber_closed', onClosed);
      events.off('access_revoked', onRevoked);
      events.off('user_banned', onRevoked);
      events.off('stream_ended', onEnded);
      held.clear();
    },
  };
}
