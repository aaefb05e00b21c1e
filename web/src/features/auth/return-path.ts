import type { ArrivalTarget } from '../../components/arrival-focus';

/** What a link to `/signin` or `/signup` may pass in its history state. */
export interface AuthPageState {
  /** What an older link passed instead of `?next=`. */
  from?: string;
  /** The entry before the sign-in page is `next`: success goes back to it. */
  back?: boolean;
  /** What to focus on returning (default: the page's main heading). */
  focus?: ArrivalTarget;
}

/**
 * Where sign-in returns to: `?next=` on `/signin` and `/signup`. Only a path on this site is
 * followed (`/x`, never `//host` or `https://…`), so a link cannot send someone elsewhere.
 */
export function safeNext(next: string | null | undefined): string {
  if (!next || !next.startsWith('/') || next.startsWith('//') || next.startsWith('/\\')) return '/';
  return next;
}

// Slashes may stand in a query: `/signin?next=/live/…` reads as what it is.
const query = (next: string) =>
  next === '/' ? '' : `?next=${encodeURIComponent(next).replace(/%2F/gi, '/')}`;

/** The sign-in page, returning to `next` afterwards. */
export const signInPath = (next: string): string => `/signin${query(next)}`;

export const signUpPath = (next: string): string => `/signup${query(next)}`;
