import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { profilePage } from '../../live/profile-page';
import type { RecordingService } from '../../live/recordings';
import type { StreamService } from '../../live/streams';
import type { UserService } from '../../live/users';
import { restRoutes } from '../rest';

export function userRoutes(
  users: UserService,
  streams: StreamService,
  recordings: RecordingService,
  tokens: TokenService,
): Router {
  return restRoutes(tokens, {
    // Before `userProfile`, so "by-username" is never taken for a user id.
    profilePage: async ({ params, actor }) =>
      profilePage({ users, streams, recordings }, params.username, actor?.userId),
    userProfile: async ({ params, actor }) => users.profile(params.userId, actor?.userId),
    follow: async ({ params, actor }) => {
      await users.follow(actor.userId, params.userId);
      return users.profile(params.userId, actor.userId);
    },
    unfollow: async ({ params, actor }) => {
      await users.unfollow(actor.userId, params.userId);
      return users.profile(params.userId, actor.userId);
    },
  });
}
