import { userIdParams, usernameParams } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import { profilePage } from '../../live/profile-page';
import type { StreamService } from '../../live/streams';
import type { UserService } from '../../live/users';
import { actorOf, authenticate, maybeActorOf } from '../auth';
import { parse } from '../validate';

export function userRoutes(
  users: UserService,
  streams: StreamService,
  tokens: TokenService,
): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');
  const optional = authenticate(tokens, 'optional');

  // Before `/:userId`, so "by-username" is never taken for a user id.
  router.get('/by-username/:username', optional, async (req, res) => {
    const { username } = parse(usernameParams, req.params);
    res.json(await profilePage({ users, streams }, username, maybeActorOf(res)?.userId));
  });

  router.get('/:userId', optional, async (req, res) => {
    const { userId } = parse(userIdParams, req.params);
    res.json(await users.profile(userId, maybeActorOf(res)?.userId));
  });

  router.post('/:userId/follow', required, async (req, res) => {
    const { userId } = parse(userIdParams, req.params);
    const actor = actorOf(res);
    await users.follow(actor.userId, userId);
    res.json(await users.profile(userId, actor.userId));
  });

  router.delete('/:userId/follow', required, async (req, res) => {
    const { userId } = parse(userIdParams, req.params);
    const actor = actorOf(res);
    await users.unfollow(actor.userId, userId);
    res.json(await users.profile(userId, actor.userId));
  });

  return router;
}
