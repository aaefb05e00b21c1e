import type { PublicUser } from '@onair/protocol';

/** A user's picture, or the first letter of their name on the brand colour. */
export function Avatar({ user, size = 'h-12 w-12' }: { user: PublicUser; size?: string }) {
  return (
    <span
      className={`${size} flex shrink-0 items-center justify-center overflow-hidden rounded-full bg-rose-600 font-bold text-white`}
    >
      {user.avatar_url ? (
        <img src={user.avatar_url} alt="" className="h-full w-full object-cover" />
      ) : (
        (user.display_name || user.username).charAt(0).toUpperCase()
      )}
    </span>
  );
}
