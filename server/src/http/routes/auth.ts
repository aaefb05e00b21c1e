import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { SignInGuard } from '../../live/sign-in-guard';
import type { UserService } from '../../live/users';
import { clientAddress } from '../client-address';
import { restRoutes } from '../rest';

export function authRoutes(users: UserService, tokens: TokenService, guard: SignInGuard): Router {
  const signedIn = async (user: { id: string; username: string }) =>
    tokens.sign({ userId: user.id, username: user.username });
  return restRoutes(tokens, {
    register: async ({ body, req }) => {
      const user = await guard.register(clientAddress(req), () => users.register(body));
      return { token: await signedIn(user), user };
    },
    login: async ({ body, req }) => {
      const user = await guard.login(body.username, clientAddress(req), () =>
        users.authenticate(body.username, body.password),
      );
      return { token: await signedIn(user), user };
    },
    authMe: async ({ actor }) => ({ user: await users.get(actor.userId) }),
  });
}
