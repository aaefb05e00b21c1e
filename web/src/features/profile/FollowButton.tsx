import type { ProfilePage } from '@onair/protocol';
import { Check, UserPlus } from 'lucide-react';
import { useState } from 'react';
import { useLocation, useNavigate } from 'react-router-dom';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { signInPath } from '../auth/return-path';

/**
 * Follow / Following, a toggle whose name stays "Follow" (its state is `aria-pressed`). A
 * signed-out visitor is sent to sign in and brought back here. `onChange` reloads the profile:
 * following may show a private stream that was hidden.
 */
export function FollowButton({
  profile,
  onChange,
}: {
  profile: ProfilePage;
  onChange: () => Promise<void>;
}) {
  const { session } = useAuth();
  const navigate = useNavigate();
  const location = useLocation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const following = profile.isFollowing;

  const toggle = async () => {
    if (!session) {
      navigate(signInPath(location.pathname));
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const input = { params: { userId: profile.user.id }, token: session.token };
      await call(following ? 'unfollow' : 'follow', input);
      await onChange();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="flex flex-col gap-1 sm:items-end">
      <Button
        variant={following ? 'secondary' : 'primary'}
        className="w-full sm:w-auto"
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
