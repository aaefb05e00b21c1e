import { AnimatePresence } from 'framer-motion';
import { Radio, RadioTower } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { useDocumentTitle } from '../../components/document-title';
import { PageLayout } from '../../components/PageLayout';
import { useAuth } from '../auth/AuthContext';
import { signInPath } from '../auth/return-path';
import { GoLiveForm } from './GoLiveForm';
import { StreamCard } from './StreamCard';
import { useActiveStreams } from './useActiveStreams';
import { useFollowedLive } from './useFollowedLive';

/** `/`: who is live now, for everyone; going live for the signed in. */
export function LivePage() {
  const { session, socket } = useAuth();
  const active = useActiveStreams();
  const followed = useFollowedLive();
  const { error } = active;
  const loading = active.loading || !followed.ready;
  // Hosts the user follows come first, in a row of their own; nothing is listed until both are known.
  const streams = loading ? [] : active.streams;
  const following = streams.filter((s) => followed.streamIds.has(s.streamId));
  const others = following.length
    ? streams.filter((s) => !followed.streamIds.has(s.streamId))
    : streams;
  const [connected, setConnected] = useState(socket.connected);
  useEffect(() => {
    setConnected(socket.connected);
    return socket.onConnection(setConnected);
  }, [socket]);
  useDocumentTitle('Live');
  const empty = !loading && active.streams.length === 0;

  return (
    <PageLayout className="mx-auto w-full max-w-5xl pb-12">
      <div className="flex items-center justify-between gap-3 p-4">
        <h1 className="text-2xl font-bold">Live</h1>
        <span className="flex items-center gap-2 text-sm text-zinc-400" role="status">
          <span
            className={`h-2 w-2 rounded-full ${connected ? 'bg-green-500' : 'bg-red-500'}`}
            aria-hidden
          />
          {connected ? 'Connected' : 'Connecting…'}
        </span>
      </div>
      {/* `grid-cols-1` is `minmax(0, 1fr)`: a long title truncates instead of widening the page. */}
      <div className="grid grid-cols-1 gap-6 px-4 md:grid-cols-[20rem_minmax(0,1fr)]">
        {/*
          On a phone the streams come first: most people open the app to watch. With nobody live,
          going live comes first instead of below an empty list.
        */}
        <div className={`${empty ? 'order-1' : 'order-2'} min-w-0 md:order-1`}>
          {session ? (
            <GoLiveForm />
          ) : (
            <section
              aria-labelledby="go-live-heading"
              className="flex flex-col gap-3 rounded-xl border border-zinc-800 bg-zinc-900/60 p-4"
            >
              <h2 id="go-live-heading" className="text-lg font-semibold">
                Go live
              </h2>
              <p className="text-sm text-zinc-400">
                Anyone can watch. To stream your camera, chat and follow people, sign in.
              </p>
              <Link
                to={signInPath('/')}
                className="inline-flex items-center justify-center gap-2 rounded-lg bg-rose-600 px-4 py-2 font-medium text-white hover:bg-rose-500"
              >
                <Radio className="h-5 w-5" aria-hidden /> Sign in to go live
              </Link>
            </section>
          )}
        </div>
        <div className={`${empty ? 'order-2' : 'order-1'} flex min-w-0 flex-col gap-6 md:order-2`}>
          {following.length > 0 && (
            <section aria-labelledby="following-heading" data-testid="following-row">
              <h2 id="following-heading" className="mb-3 text-lg font-semibold">
                Following
              </h2>
              <ul className="flex flex-col gap-3">
                <AnimatePresence initial={false}>
                  {following.map((stream) => (
                    <StreamCard key={stream.streamId} stream={stream} />
                  ))}
                </AnimatePresence>
              </ul>
            </section>
          )}
          <section aria-labelledby="active-heading" className="min-w-0">
            <h2 id="active-heading" className="mb-3 text-lg font-semibold">
              {following.length > 0 ? 'Everyone else' : 'Active streams'}
            </h2>
            {error && (
              <p role="alert" className="text-rose-300">
                {error}
              </p>
            )}
            {!loading && streams.length === 0 ? (
              <div className="py-12 text-center text-zinc-400" data-testid="empty-list">
                <RadioTower className="mx-auto mb-4 h-12 w-12 opacity-50" aria-hidden />
                <p>No one is live right now</p>
                <p className="text-sm">
                  {session ? 'Be the first to go live!' : 'Check back soon.'}
                </p>
              </div>
            ) : others.length === 0 && !loading ? (
              <p className="text-sm text-zinc-400">No one else is live right now.</p>
            ) : (
              <ul className="flex flex-col gap-3" aria-live="polite">
                <AnimatePresence initial={false}>
                  {others.map((stream) => (
                    <StreamCard key={stream.streamId} stream={stream} />
                  ))}
                </AnimatePresence>
              </ul>
            )}
          </section>
        </div>
      </div>
    </PageLayout>
  );
}
