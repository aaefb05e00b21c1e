import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { Db } from '../../db/database';
import { followedLiveStreams } from '../../live/following-live';
import type { NotificationService } from '../../live/notifications';
import { restRoutes } from '../rest';

export interface NotificationRouteDeps {
  tokens: TokenService;
  notifications: NotificationService;
  db: Db;
}

/** The signed-in user's notifications, and who they follow that is live. */
export function notificationRoutes({ tokens, notifications, db }: NotificationRouteDeps): Router {
  return restRoutes(tokens, {
    notifications: async ({ actor, query, res }) => {
      // Per user and changing as they read: never kept by a shared cache.
      res.set('Cache-Control', 'no-store');
      return notifications.list(actor.userId, query);
    },
    markNotificationsRead: async ({ actor, body }) => {
      await notifications.markRead(actor.userId, body);
      return { unreadCount: await notifications.unreadCount(actor.userId) };
    },
    followingLive: async ({ actor, res }) => {
      res.set('Cache-Control', 'no-store');
      return followedLiveStreams(db, actor.userId);
    },
  });
}
