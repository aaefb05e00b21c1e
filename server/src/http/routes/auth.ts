import { loginBody, registerBody, type AuthResponse } from '@onair/protocol';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { SignInGuard } from '../../live/sign-in-guard';
import type { UserService } from '../../live/users';
import { actorOf, authenticate } from '../auth';
import { clientAddress } from '../client-address';
import { parse } from '../validate';

export function authRoutes(users: UserService, tokens: TokenService, guard: SignInGuard): Router {
  const router = Router();

  router.post('/register', async (req, res) => {
    const body = parse(registerBody, req.body);
    const user = await guard.register(clientAddress(req), () => users.register(body));
    const response: AuthResponse = {
      token: await tokens.sign({ userId: user.id, username: user.username }),
      user,
    };
    res.status(201).json(response);
  });

  router.post('/login', async (req, res) => {
    const body = parse(loginBody, req.body);
    const user = await guard.login(body.username, clientAddress(req), () =>
      users.authenticate(body.username, body.password),
    );
    const response: AuthResponse = {
      token: await tokens.sign({ userId: user.id, username: user.username }),
      user,
    };
    res.json(response);
  });

  router.get('/me', authenticate(tokens, 'required'), async (_req, res) => {
    res.json({ user: await users.get(actorOf(res).userId) });
  });

  return router;
}
