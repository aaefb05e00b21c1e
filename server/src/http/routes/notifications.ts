import {
  markNotificationsReadBody,
  notificationsQuery,
  type NotificationPage,
  type NotificationsReadResult,
  type Stream,
} from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { Db } from '../../db/database';
import { followedLiveStreams } from '../../live/following-live';
import type { NotificationService } from '../../live/notifications';
import { actorOf, authenticate } from '../auth';
import { parse } from '../validate';

export interface NotificationRouteDeps {
  tokens: TokenService;
  notifications: NotificationService;
  db: Db;
}

/** Under `/api/me`: the signed-in user's notifications, and who they follow that is live. */
export function notificationRoutes({ tokens, notifications, db }: NotificationRouteDeps): Router {
  const router = Router();
  // Per route, not `router.use`: requests for the other `/api/me` routes pass through untouched.
  const required = authenticate(tokens, 'required');

  router.get('/notifications', required, async (req, res) => {
    const { limit, before } = parse(notificationsQuery, req.query);
    const page = await notifications.list(actorOf(res).userId, { limit, before });
    // Per user and changing as they read: never kept by a shared cache.
    res.set('Cache-Control', 'no-store');
    res.json(page satisfies NotificationPage);
  });

  router.post('/notifications/read', required, async (req, res) => {
    const which = parse(markNotificationsReadBody, req.body ?? {});
    const userId = actorOf(res).userId;
    await notifications.markRead(userId, which);
    res.json({
      unreadCount: await notifications.unreadCount(userId),
    } satisfies NotificationsReadResult);
  });

  router.get('/following/live', required, async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json((await followedLiveStreams(db, actorOf(res).userId)) satisfies Stream[]);
  });

  return router;
}
