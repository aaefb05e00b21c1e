import { AnimatePresence } from 'framer-motion';
import { RadioTower } from 'lucide-react';
import { useEffect, useState } from 'react';
import { useSession } from '../auth/AuthContext';
import { GoLiveForm } from './GoLiveForm';
import { StreamCard } from './StreamCard';
import { useActiveStreams } from './useActiveStreams';

export function LivePage() {
  const { socket } = useSession();
  const { streams, error, loading } = useActiveStreams();
  const [connected, setConnected] = useState(socket.connected);
  useEffect(() => socket.onConnection(setConnected), [socket]);

  return (
    <div className="mx-auto min-h-dvh max-w-5xl pb-24">
      <header className="sticky top-0 z-20 flex items-center justify-between border-b border-zinc-800 bg-zinc-950/90 p-4 backdrop-blur">
        <h1 className="text-2xl font-bold">Live</h1>
        <span className="flex items-center gap-2 text-sm text-zinc-400" role="status">
          <span
            className={`h-2 w-2 rounded-full ${connected ? 'bg-green-500' : 'bg-red-500'}`}
            aria-hidden
          />
          {connected ? 'Connected' : 'Connecting…'}
        </span>
      </header>
      <div className="grid gap-6 p-4 md:grid-cols-[20rem_1fr]">
        <div className="order-2 md:order-1">
          <GoLiveForm />
        </div>
        {/* On a phone the streams come first: most people open the app to watch. */}
        <section aria-labelledby="active-heading" className="order-1 md:order-2">
          <h2 id="active-heading" className="mb-3 text-lg font-semibold">
            Active streams
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
              <p className="text-sm">Be the first to go live!</p>
            </div>
          ) : (
            <ul className="flex flex-col gap-3" aria-live="polite">
              <AnimatePresence initial={false}>
                {streams.map((stream) => (
                  <StreamCard key={stream.streamId} stream={stream} />
                ))}
              </AnimatePresence>
            </ul>
          )}
        </section>
      </div>
    </div>
  );
}
