import type { Stream } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { Button } from '../../components/Button';
import { FollowButton } from '../../components/FollowButton';
import { call } from '../../lib/api';
import { useAuth } from '../auth/AuthContext';
import { StreamCard } from './StreamCard';

/** A viewer's end of a stream, with what else is live now. */
export function StreamEndedScreen({
  streamId,
  hostName,
  hostId,
  onLeave,
}: {
  streamId: string;
  hostName?: string;
  /** Offers to follow the host (to hear when they are live next). */
  hostId?: string;
  onLeave: () => void;
}) {
  const { session } = useAuth();
  const token = session?.token ?? null;
  const [others, setOthers] = useState<Stream[] | null>(null);

  useEffect(() => {
    let cancelled = false;
    call('activeStreams', { token }).then(
      (list) => !cancelled && setOthers(list.filter((s) => s.streamId !== streamId).slice(0, 6)),
      // Only a suggestion: without the list the screen still says the stream ended.
      () => !cancelled && setOthers([]),
    );
    return () => {
      cancelled = true;
    };
  }, [token, streamId]);

  return (
    <div
      className="mx-auto flex min-h-[calc(100dvh-3.5rem)] w-full max-w-xl flex-col items-center justify-center gap-4 p-6 text-center"
      data-testid="stream-ended"
    >
      <h1 className="text-2xl font-bold">This stream has ended</h1>
      {hostName && <p className="text-zinc-400">Thanks for watching {hostName}.</p>}
      {hostId && <FollowButton userId={hostId} size="small" />}
      <Button onClick={onLeave}>Back to Live</Button>
      {others && others.length > 0 && (
        <section aria-labelledby="others-heading" className="mt-4 w-full text-left">
          <h2 id="others-heading" className="mb-3 text-lg font-semibold">
            Live now
          </h2>
          <ul className="flex flex-col gap-3" data-testid="other-streams">
            {others.map((s) => (
              <StreamCard key={s.streamId} stream={s} />
            ))}
          </ul>
        </section>
      )}
    </div>
  );
}
