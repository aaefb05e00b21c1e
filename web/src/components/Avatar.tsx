import type { PublicUser } from '@onair/protocol';
import { initialOf } from '../lib/initial';

/** A user's picture, or the first character of their name on the brand colour. */
export function Avatar({ user, size = 'h-12 w-12' }: { user: PublicUser; size?: string }) {
  return (
    <span
      className={`${size} flex shrink-0 items-center justify-center overflow-hidden rounded-full bg-rose-600 font-bold text-white`}
      data-testid="avatar"
    >
      {user.avatar_url ? (
        <img src={user.avatar_url} alt="" className="h-full w-full object-cover" />
      ) : (
        <span aria-hidden>{initialOf(user.display_name || user.username)}</span>
      )}
    </span>
  );
}
