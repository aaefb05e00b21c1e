import type {
  MarkNotificationsReadBody,
  NotificationPage,
  NotificationsReadResult,
  Stream,
  UserProfile,
} from '@onair/protocol';
import { apiRequest } from './api';

/** The signed-in user's notifications, and whom they follow. */
export const notificationsApi = {
  /** The newest first (`before`: an older page's `nextBefore`). */
  list: (token: string, before?: string) =>
    apiRequest<NotificationPage>(
      'GET',
      `/api/me/notifications?limit=20${before ? `&before=${encodeURIComponent(before)}` : ''}`,
      { token },
    ),
  markRead: (token: string, which: MarkNotificationsReadBody) =>
    apiRequest<NotificationsReadResult>('POST', '/api/me/notifications/read', {
      token,
      body: which,
    }),
  /** Live streams of the hosts this user follows (the home page's "Following" row). */
  followingLive: (token: string) =>
    apiRequest<Stream[]>('GET', '/api/me/following/live', { token }),
  /** Someone's profile as this visitor sees it: whether they follow them. */
  profile: (userId: string, token: string | null) =>
    apiRequest<UserProfile>('GET', `/api/users/${encodeURIComponent(userId)}`, { token }),
};
