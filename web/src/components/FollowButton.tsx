import type { UserProfile } from '@onair/protocol';
import { Check, UserPlus } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { useAuth } from '../features/auth/AuthContext';
import { signInPath } from '../features/auth/return-path';
import { call } from '../lib/api';
import { describeError } from '../lib/errors';
import { Button } from './Button';

/**
 * Follow / Following, a toggle whose name stays "Follow" (its state is `aria-pressed`). A
 * signed-out visitor is sent to sign in and brought back here. Without `following` it asks the
 * server whether this visitor follows `userId`. `onChange` gets the profile as it is after the
 * change (the profile page reloads: following may show a private stream that was hidden). Nothing
 * is shown for the signed-in user's own account.
 */
export function FollowButton({
  userId,
  following: known,
  onChange,
  size = 'default',
}: {
  userId: string;
  following?: boolean;
  onChange?: (profile: UserProfile) => void | Promise<void>;
  size?: 'default' | 'small';
}) {
  const { session } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [following, setFollowing] = useState(known ?? false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const token = session?.token ?? null;
  const isMe = session?.user.id === userId;

  useEffect(() => {
    if (known !== undefined) {
      setFollowing(known);
      return;
    }
    if (!token || isMe) return;
    let cancelled = false;
    call('userProfile', { params: { userId }, token }).then(
      (profile) => !cancelled && setFollowing(profile.isFollowing),
      // Shown as "Follow"; pressing it says what is wrong.
      () => undefined,
    );
    return () => {
      cancelled = true;
    };
  }, [known, userId, token, isMe]);

  if (isMe) return null;

  const toggle = async () => {
    if (!session) {
      navigate(signInPath(`${location.pathname}${location.search}`));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const profile = await call(following ? 'unfollow' : 'follow', {
        params: { userId },
        token: session.token,
      });
      setFollowing(profile.isFollowing);
      await onChange?.(profile);
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const small = size === 'small';
  return (
    <div className={`flex flex-col gap-1 ${small ? 'items-start' : 'sm:items-end'}`}>
      <Button
        variant={following ? 'secondary' : 'primary'}
        className={small ? 'px-3 py-1 text-sm' : 'w-full sm:w-auto'}
        aria-label="Follow"
        aria-pressed={following}
        disabled={busy}
        onClick={() => {
          // `toggle` shows its own failure beside the button.
          void toggle();
        }}
      >
        {following ? (
          <>
            <Check className="h-4 w-4" aria-hidden /> Following
          </>
        ) : (
          <>
            <UserPlus className="h-4 w-4" aria-hidden /> Follow
          </>
        )}
      </Button>
      {error && (
        <p role="alert" className="text-sm text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}
