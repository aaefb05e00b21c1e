import type { Stream } from '@onair/protocol';
import { motion } from 'framer-motion';
import { Lock, Users } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { TagLink } from '../../components/TagLink';
import { useAuth } from '../auth/AuthContext';

export { Avatar };

/** The stream's latest thumbnail: the one it was listed with, then each `live_thumbnail`. */
function useThumbnail(stream: Stream): string | null {
  const { socket } = useAuth();
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

/**
 * One live stream in the list. The title's link stretches over the whole card (links cannot
 * nest), and the host's name above it is a link of its own to their profile.
 */
export function StreamCard({ stream }: { stream: Stream }) {
  const thumbnail = useThumbnail(stream);
  return (
    <motion.li
      layout
      initial={{ opacity: 0, y: 8 }}
      animate={{ opacity: 1, y: 0 }}
      exit={{ opacity: 0 }}
      className="relative flex min-w-0 items-center gap-3 rounded-xl border border-zinc-800 bg-zinc-900 p-3 transition-colors hover:bg-zinc-800 sm:gap-4 sm:p-4"
    >
      {thumbnail ? (
        <img
          src={thumbnail}
          alt=""
          data-testid="card-thumbnail"
          className="aspect-video w-24 shrink-0 rounded-lg bg-black object-cover sm:w-36"
        />
      ) : (
        <Avatar user={stream.host} />
      )}
      <div className="min-w-0 flex-1">
        <h3 className="truncate font-semibold">
          <Link
            to={`/live/${stream.streamId}`}
            data-testid="stream-card"
            aria-label={`Watch ${stream.title} by ${stream.host.display_name}`}
            className="after:absolute after:inset-0 after:rounded-xl"
          >
            {stream.title}
          </Link>
        </h3>
        <Link
          to={`/u/${stream.host.username}`}
          className="relative z-10 flex max-w-full items-center gap-1.5 text-sm text-zinc-400 hover:text-zinc-200 hover:underline"
        >
          {/* The thumbnail takes the avatar's place: the host's face stays beside their name. */}
          {thumbnail && <Avatar user={stream.host} size="h-5 w-5 text-[0.65rem]" />}
          <span className="truncate">{stream.host.display_name}</span>
        </Link>
        {(stream.tags.length > 0 || stream.isPrivate) && (
          <div className="mt-1 flex min-w-0 flex-wrap gap-1">
            {stream.isPrivate && (
              <span className="inline-flex items-center gap-1 rounded bg-amber-900/60 px-1.5 py-0.5 text-xs text-amber-200">
                <Lock className="h-3 w-3" aria-hidden /> Private
              </span>
            )}
            {stream.tags.map((tag) => (
              // Above the card's stretched link, so a tag opens its own page.
              <TagLink key={tag} tag={tag} className="relative z-10" />
            ))}
          </div>
        )}
      </div>
      <span
        className="flex shrink-0 items-center gap-1 text-sm font-medium text-rose-400"
        aria-label={`${stream.viewerCount} watching`}
      >
        <span className="h-2 w-2 animate-pulse rounded-full bg-rose-500" aria-hidden />
        <Users className="h-4 w-4" aria-hidden />
        <span data-testid="card-viewers">{stream.viewerCount}</span>
      </span>
    </motion.li>
  );
}
