import type { Request, Response } from 'express';
import type { Admission } from '../cluster/media-admission';
import { AppError } from '../live/errors';

/**
 * Answers a media request this node does not take (`MediaAdmission`): `307` to the node that
 * does, at the same path, so a WHIP or WHEP client posts its offer there again (RFC 9110 §15.4.8
 * keeps the method and body); else `503` with `Retry-After`. Returns whether it answered.
 */
export function sentElsewhere(req: Request, res: Response, admission: Admission): boolean {
  if (admission.kind === 'admit') return false;
  if (admission.kind === 'unavailable')
    throw new AppError('unavailable', 'No node has room for this session now; try again shortly', {
      retryAfterSeconds: admission.retryAfterSeconds,
    });
  res.redirect(307, `${admission.node.url}${req.originalUrl}`);
  return true;
}
