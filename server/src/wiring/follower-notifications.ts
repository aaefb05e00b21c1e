import type { Stream } from '@onair/protocol';
import type { Logger } from 'pino';
import type { LiveEvents } from '../live/events';
import type { NotificationService } from '../live/notifications';

/**
 * Followers hear of a stream when it starts, on the node that started it. A publisher coming back
 * within its grace period resumes the same stream, which never starts again.
 */
export function connectFollowerNotifications({
  events,
  notifications,
  logger,
}: {
  events: LiveEvents;
  notifications: NotificationService;
  logger: Logger;
}): () => void {
  const onStarted = (stream: Stream) => {
    notifications
      .liveStarted(stream)
      .catch((err: unknown) =>
        logger.error({ err, streamId: stream.streamId }, 'could not notify followers'),
      );
  };
  events.on('stream_started', onStarted);
  return () => events.off('stream_started', onStarted);
}
