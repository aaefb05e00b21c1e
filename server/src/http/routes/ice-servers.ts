import { createHmac } from 'node:crypto';
import { Router } from 'express';
import type { TokenService } from '../../auth/tokens';
import type { IceServerConfig } from '../../config';
import { actorOf, authenticate } from '../auth';

export interface IceServersOptions {
  iceServers: IceServerConfig[];
  /** Shared secret of a TURN server using the TURN REST API (draft-uberti-behave-turn-rest). */
  turnSecret: string | undefined;
  turnTtlSeconds: number;
}

const isTurn = (urls: string | string[]) => [urls].flat().some((u) => /^turns?:/i.test(u));

/**
 * The ICE servers a client should use. TURN entries get credentials that expire:
 * username `expiry:userId`, password base64(HMAC-SHA1(secret, username)).
 */
export function iceServersFor(
  options: IceServersOptions,
  userId: string,
  now = Date.now(),
): IceServerConfig[] {
  return options.iceServers.map((server) => {
    if (!options.turnSecret || !isTurn(server.urls)) return server;
    const username = `${Math.floor(now / 1000) + options.turnTtlSeconds}:${userId}`;
    const credential = createHmac('sha1', options.turnSecret).update(username).digest('base64');
    return { ...server, username, credential };
  });
}

export function iceServerRoutes(options: IceServersOptions, tokens: TokenService): Router {
  const router = Router();
  router.get('/', authenticate(tokens, 'required'), (_req, res) => {
    res.set('Cache-Control', 'no-store');
    res.json({ iceServers: iceServersFor(options, actorOf(res).userId) });
  });
  return router;
}
