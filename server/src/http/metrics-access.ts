import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Request, RequestHandler } from 'express';
import { AppError } from '../live/errors';
import { bearerToken } from './auth';

/** 127.0.0.0/8 and ::1, also as IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  if (isIP(v4) === 4) return v4.startsWith('127.');
  return address === '::1';
}

/**
 * A request a proxy passed on reaches us from loopback when the proxy runs on this machine:
 * forwarding headers say it really came from elsewhere, so such a request is not local.
 */
const forwardingHeaders = ['forwarded', 'x-forwarded-for', 'x-real-ip'];

const isLocalCaller = (req: Request): boolean =>
  isLoopback(req.socket.remoteAddress) && !forwardingHeaders.some((h) => h in req.headers);

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Who may read `/metrics` (request rates, viewer counts and worker memory tell an outsider how to
 * hurt us). Without a token: this machine only, which is where a node's Prometheus agent runs.
 * With `METRICS_TOKEN`: everyone who sends it as a bearer token, loopback callers included.
 */
export function metricsAccess(metricsToken: string | undefined): RequestHandler {
  const expected = metricsToken === undefined ? undefined : digest(metricsToken);
  return (req, res, next) => {
    if (!expected) {
      if (!isLocalCaller(req)) {
        throw AppError.forbidden(
          'Metrics are served to this machine only; set METRICS_TOKEN to scrape them from elsewhere',
        );
      }
      next();
      return;
    }
    res.set('WWW-Authenticate', 'Bearer realm="metrics"');
    const given = bearerToken(req.headers.authorization);
    // Equal-length digests compared in constant time: the comparison tells nothing about the token.
    if (!given || !timingSafeEqual(digest(given), expected)) {
      throw AppError.unauthorized('Send the metrics token as a Bearer token');
    }
    res.removeHeader('WWW-Authenticate');
    next();
  };
}
