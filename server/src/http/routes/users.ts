import { userIdParams } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { UserService } from '../../live/users';
import { actorOf, authenticate, maybeActorOf } from '../auth';
import { parse } from '../validate';

export function userRoutes(users: UserService, tokens: TokenService): Router {
  const router = Router();
  const required = authenticate(tokens, 'required');

  router.get('/:userId', authenticate(tokens, 'optional'), async (req, res) => {
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
