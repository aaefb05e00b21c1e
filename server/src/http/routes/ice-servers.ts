import { createHmac } from 'node:crypto';
import type { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { IceServerConfig } from '../../config';
import { restRoutes } from '../rest';

export interface IceServersOptions {
  iceServers: IceServerConfig[];
  /** Shared secret of a TURN server using the TURN REST API (draft-uberti-behave-turn-rest). */
  turnSecret: string | undefined;
  turnTtlSeconds: number;
}

const isTurn = (urls: string | string[]) => [urls].flat().some((u) => /^turns?:/i.test(u));

/**
 * The ICE servers a client should use. TURN entries get credentials that expire:
 * username `expiry:userId`, password base64(HMAC-SHA1(secret, username)). An anonymous caller
 * (no `userId`) gets the other entries only: a relay costs its operator, so it is for accounts.
 */
export function iceServersFor(
  options: IceServersOptions,
  userId: string | undefined,
  now = Date.now(),
): IceServerConfig[] {
  const servers =
    userId === undefined
      ? options.iceServers.filter((server) => !isTurn(server.urls))
      : options.iceServers;
  return servers.map((server) => {
    if (!options.turnSecret || !isTurn(server.urls)) return server;
    const username = `${Math.floor(now / 1000) + options.turnTtlSeconds}:${userId}`;
    const credential = createHmac('sha1', options.turnSecret).update(username).digest('base64');
    return { ...server, username, credential };
  });
}

export function iceServerRoutes(options: IceServersOptions, tokens: TokenService): Router {
  return restRoutes(tokens, {
    // Anonymous watchers of public streams need the STUN servers too.
    iceServers: async ({ actor, res }) => {
      res.set('Cache-Control', 'no-store');
      return { iceServers: iceServersFor(options, actor?.userId) };
    },
  });
}
