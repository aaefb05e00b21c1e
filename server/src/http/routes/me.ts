import { updateMeBody } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { UserService } from '../../live/users';
import { actorOf, authenticate } from '../auth';
import { parse } from '../validate';

/** `/api/me`: the signed-in user's own settings. */
export function meRoutes(users: UserService, tokens: TokenService): Router {
  const router = Router();
  router.use(authenticate(tokens, 'required'));

  router.patch('/', async (req, res) => {
    const changes = parse(updateMeBody, req.body ?? {});
    res.json(await users.update(actorOf(res).userId, changes));
  });

  return router;
}
