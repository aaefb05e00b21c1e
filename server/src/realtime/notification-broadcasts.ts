import type { LiveNotification } from '@onair/protocol';
import type { LiveEvents } from '../live/events';
import { userRoom, type LiveServer } from './types';

/**
 * Rooms named per message: a host with many followers is told in a few messages of this many
 * rooms each (one bus message apiece across nodes), not one per follower.
 */
const roomsPerMessage = 1000;

/** Sends each stored notification to its recipients' tabs, on every node (over the bus). */
export function relayNotifications(io: LiveServer, events: LiveEvents): () => void {
  const onCreated = (notification: LiveNotification, recipients: string[]) => {
    for (let i = 0; i < recipients.length; i += roomsPerMessage)
      io.to(recipients.slice(i, i + roomsPerMessage).map(userRoom)).emit(
        'notification',
        notification,
      );
  };
  events.on('notification_created', onCreated);
  return () => events.off('notification_created', onCreated);
}
