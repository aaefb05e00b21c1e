import type { PublicUser } from '@onair/protocol';
import { Lock, UserPlus } from 'lucide-react';
import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { Button } from '../../components/Button';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { signInPath } from '../auth/return-path';

/** The one sentence an outsider reads, on the page, over the video and under the chat alike. */
export const followersOnlySentence = (owner: PublicUser): string =>
  `This stream is for followers of ${owner.display_name}. Follow to watch and chat.`;

/**
 * What someone who may not watch a private stream sees: whose it is (a link to their profile)
 * and "Follow to watch". Signed in, the Follow button (named "Follow", `aria-pressed` as on the
 * profile) follows at once and `onFollowed` lets the page in; signed out, "Sign in to follow"
 * comes first and brings them back to this stream. Following from another tab lets this one in
 * as well (`live_access_granted`).
 */
export function FollowToWatch({
  owner,
  streamId,
  onFollowed,
  compact = false,
}: {
  owner: PublicUser;
  streamId: string;
  onFollowed: () => void;
  /** Over the video of a page already open (after an unfollow), rather than a page of its own. */
  compact?: boolean;
}) {
  const { session, socket } = useAuth();
  const [busy, setBusy] = useState(false);
  const followed = useRef(onFollowed);
  followed.current = onFollowed;

  // Followed from another tab or device: the server tells every tab, and this one goes in too.
  useEffect(
    () =>
      socket.on('live_access_granted', (e) => {
        if (e.streamId === streamId) followed.current();
      }),
    [socket, streamId],
  );
  const [error, setError] = useState<string | null>(null);

  const follow = async () => {
    if (!session) return;
    setBusy(true);
    setError(null);
    try {
      await call('follow', { params: { userId: owner.id }, token: session.token });
      onFollowed();
    } catch (e) {
      setError(describeError(e));
    } finally {
      setBusy(false);
    }
  };

  const Heading = compact ? 'h2' : 'h1';
  return (
    <div
      className="flex max-w-md flex-col items-center gap-3 text-center"
      data-testid="follow-to-watch"
    >
      <Lock
        className={compact ? 'h-8 w-8 text-amber-300' : 'h-12 w-12 text-amber-300'}
        aria-hidden
      />
      <Heading className={compact ? 'text-lg font-bold' : 'text-2xl font-bold'}>
        Follow to watch
      </Heading>
      <p className="text-zinc-300">
        This stream is for followers of{' '}
        <Link to={`/u/${owner.username}`} className="font-medium text-rose-400 underline">
          {owner.display_name}
        </Link>{' '}
        <span className="text-zinc-400">@{owner.username}</span>. Follow to watch and chat.
      </p>
      {session ? (
        <Button
          aria-label="Follow"
          aria-pressed={false}
          disabled={busy}
          onClick={() => {
            // `follow` shows its own failure below the button.
            void follow();
          }}
        >
          <UserPlus className="h-4 w-4" aria-hidden /> Follow
        </Button>
      ) : (
        <Link
          to={signInPath(`/live/${streamId}`)}
          className="rounded-lg bg-rose-600 px-4 py-2 font-medium text-white hover:bg-rose-500"
        >
          Sign in to follow
        </Link>
      )}
      {error && (
        <p role="alert" className="text-sm text-rose-300">
          {error}
        </p>
      )}
    </div>
  );
}
