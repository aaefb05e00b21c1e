import type { ModerationActionBody } from '@onair/protocol';
import type { ModerationService } from '../live/moderation';
import type { ClientEventHandlers } from './client-events';
import { actorOfSocket } from './socket-identity';
import type { LiveSocket } from './types';

export type ModerationEventHandlers = Pick<ClientEventHandlers, 'live_moderate'>;

/** `live_moderate`: the socket twin of `POST /api/live/:streamId/moderation`. */
export function moderationHandlers(moderation: ModerationService): ModerationEventHandlers {
  return {
    async live_moderate(socket: LiveSocket, { streamId, ...action }) {
      // The payload is the stream and one action side by side; without the stream it is
      // that action (TypeScript's rest type of an intersection loses the union).
      return moderation.act(streamId, actorOfSocket(socket).userId, action as ModerationActionBody);
    },
  };
}
