import type { Request, Response } from 'express';
import { fullRetryAfterSeconds, type Admission } from '../cluster/media-admission';
import { AppError } from '../live/errors';

/**
 * Answers a media request this node does not take (`MediaAdmission`): `307` to the node that
 * does, at the same path, so a WHIP or WHEP client posts its offer there again (RFC 9110 §15.4.8
 * keeps the method and body); else `503` with `Retry-After`. Returns whether it answered.
 *
 * A request with an Authorization header (a stream key, a signed-in viewer) gets the `503`:
 * clients drop that header when a redirect leads to another origin (the Fetch standard, curl),
 * so the other node would refuse it, or show a private stream as not found.
 */
export function sentElsewhere(req: Request, res: Response, admission: Admission): boolean {
  if (admission.kind === 'admit') return false;
  if (admission.kind === 'elsewhere' && req.headers.authorization === undefined) {
    res.redirect(307, `${admission.node.url}${req.originalUrl}`);
    return true;
  }
  throw new AppError('unavailable', 'No room for this session here now; try again shortly', {
    retryAfterSeconds: fullRetryAfterSeconds,
  });
}
