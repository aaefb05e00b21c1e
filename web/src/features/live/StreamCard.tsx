import type { Stream } from '@onair/protocol';
import { motion } from 'framer-motion';
import { Lock, Users } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { useSession } from '../auth/AuthContext';

export function Avatar({ user, size = 'h-12 w-12' }: { user: Stream['host']; size?: string }) {
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

/** The stream's latest thumbnail: the one it was listed with, then each `live_thumbnail`. */
function useThumbnail(stream: Stream): string | null {
  const { socket } = useSession();
  const [thumbnail, setThumbnail] = useState(stream.thumbnail);
  useEffect(() => setThumbnail(stream.thumbnail), [stream.thumbnail]);
  useEffect(
    () =>
      socket.on('live_thumbnail', (event) => {
        if (event.streamId === stream.streamId) setThumbnail(event.thumbnail);
      }),
    [socket, stream.streamId],
  );
  return thumbnail;
}

export function StreamCard({ stream }: { stream: Stream }) {
  const thumbnail = useThumbnail(stream);
  return (
    <motion.li
      layout
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      exit={{ opacity: 0 }}
    >
      <Link
        to={`/live/${stream.streamId}`}
        data-testid="stream-card"
        aria-label={`Watch ${stream.title} by ${stream.host.display_name}`}
        className="flex min-w-0 items-center gap-3 rounded-xl border border-zinc-800 bg-zinc-900 p-4 transition-colors hover:bg-zinc-800"
      >
        {thumbnail ? (
          <img
            src={thumbnail}
            alt=""
            data-testid="card-thumbnail"
            className="aspect-video w-28 shrink-0 rounded-lg bg-black object-cover sm:w-40"
          />
        ) : (
          <Avatar user={stream.host} />
        )}
        <div className="min-w-0 flex-1">
          <h3 className="truncate font-semibold">{stream.title}</h3>
          <p className="truncate text-sm text-zinc-400">{stream.host.display_name}</p>
          {(stream.tags.length > 0 || stream.isPrivate) && (
            <div className="mt-1 flex flex-wrap gap-1">
              {stream.isPrivate && (
                <span className="inline-flex items-center gap-1 rounded bg-amber-900/60 px-1.5 py-0.5 text-xs text-amber-200">
                  <Lock className="h-3 w-3" aria-hidden /> Private
                </span>
              )}
              {stream.tags.map((tag) => (
                <span key={tag} className="rounded bg-zinc-800 px-1.5 py-0.5 text-xs text-zinc-300">
                  #{tag}
                </span>
              ))}
            </div>
          )}
        </div>
        <span
          className="flex items-center gap-1 text-sm font-medium text-rose-400"
          aria-label={`${stream.viewerCount} watching`}
        >
          <span className="h-2 w-2 animate-pulse rounded-full bg-rose-500" aria-hidden />
          <Users className="h-4 w-4" aria-hidden />
          <span data-testid="card-viewers">{stream.viewerCount}</span>
        </span>
      </Link>
    </motion.li>
  );
}
