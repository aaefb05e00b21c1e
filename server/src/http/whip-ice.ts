/**
 * The ICE side of WHIP and WHEP sessions (RFC 9725 §4.3, draft-ietf-wish-whep §4.4): the entity
 * tag naming a session's ICE session, `If-Match` on PATCH, and telling a trickle fragment from an
 * ICE restart.
 */

/**
 * A session's entity tag. libdatachannel cannot restart ICE (it refuses a remote description with
 * new credentials), so a session keeps the ICE session it started with, and this tag, for life.
 */
export const iceEtag = (sessionId: string): string => `"${sessionId}"`;

/**
 * `If-Match` against a session's tag (RFC 9110 §13.1.1, strong comparison): `any` for `*`,
 * which RFC 9725 §4.3.3 prescribes for an ICE restart.
 */
export function ifMatch(
  header: string | undefined,
  etag: string,
): 'missing' | 'any' | 'matched' | 'failed' {
  if (header === undefined || header.trim() === '') return 'missing';
  if (header.trim() === '*') return 'any';
  const tags = header.split(',').map((tag) => tag.trim());
  return tags.includes(etag) ? 'matched' : 'failed';
}

/**
 * The ICE username fragment an offer or a trickle fragment carries (RFC 8839 §5.4): the
 * session-level one, else the first media section's (bundled sections share it).
 */
export function iceUfragOf(sdp: string): string | undefined {
  return /^a=ice-ufrag:(\S+)/m.exec(sdp)?.[1];
}

/**
 * The remote ufrag of each live session, to tell a fragment of the current ICE session (trickle)
 * from one with new credentials (a restart, RFC 9725 §4.3.3). Entries of sessions that are gone
 * are swept as new ones come, so the map stays as large as the sessions there are.
 */
export class RemoteUfrags {
  private readonly ufrags = new Map<string, string>();
  private sweepAt = 64;

  constructor(private readonly isLive: (sessionId: string) => boolean) {}

  remember(sessionId: string, offer: string): void {
    const ufrag = iceUfragOf(offer);
    if (ufrag === undefined) return;
    this.ufrags.set(sessionId, ufrag);
    if (this.ufrags.size < this.sweepAt) return;
    for (const id of this.ufrags.keys()) if (!this.isLive(id)) this.ufrags.delete(id);
    this.sweepAt = Math.max(64, this.ufrags.size * 2);
  }

  forget(sessionId: string): void {
    this.ufrags.delete(sessionId);
  }

  /** Whether `fragment` brings ICE credentials other than the session's: an ICE restart. */
  restarts(sessionId: string, fragment: string): boolean {
    const given = iceUfragOf(fragment);
    const current = this.ufrags.get(sessionId);
    return given !== undefined && current !== undefined && given !== current;
  }
}
