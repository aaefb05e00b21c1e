import type { Stream } from '@onair/protocol';
import { Lock } from 'lucide-react';
import { Link } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { FollowButton } from '../../components/FollowButton';
import { ShareButton } from '../../components/ShareButton';
import { TagLink } from '../../components/TagLink';

/** Who is live, with what, and a way to pass it on. */
export function StreamInfo({ stream }: { stream: Stream }) {
  return (
    <div className="flex min-w-0 flex-col gap-2 border-b border-zinc-800 p-3">
      <div className="flex min-w-0 items-start gap-3">
        {/* The name beside it is the same link: one tab stop and one announcement for both. */}
        <Link to={`/u/${stream.host.username}`} tabIndex={-1} aria-hidden>
          <Avatar user={stream.host} size="h-9 w-9 text-sm" />
        </Link>
        <div className="min-w-0 flex-1">
          <h1 className="break-words font-semibold leading-snug" data-testid="stream-title">
            {stream.title}
          </h1>
          <div className="flex min-w-0 flex-wrap items-center gap-x-3 gap-y-1">
            <Link
              to={`/u/${stream.host.username}`}
              className="block max-w-full truncate text-sm text-zinc-400 hover:text-zinc-200 hover:underline"
            >
              {stream.host.display_name}
            </Link>
            <FollowButton userId={stream.host.id} size="small" />
          </div>
        </div>
        <ShareButton title={stream.title} url={`${location.origin}/live/${stream.streamId}`} />
      </div>
      {stream.description && (
        <p
          className="line-clamp-3 whitespace-pre-line break-words text-sm text-zinc-300"
          data-testid="stream-description"
        >
          {stream.description}
        </p>
      )}
      {(stream.tags.length > 0 || stream.isPrivate) && (
        <ul className="flex flex-wrap gap-1" aria-label="Tags">
          {stream.isPrivate && (
            <li className="inline-flex items-center gap-1 rounded bg-amber-900/60 px-1.5 py-0.5 text-xs text-amber-200">
              <Lock className="h-3 w-3" aria-hidden /> Private
            </li>
          )}
          {stream.tags.map((tag) => (
            <li key={tag} className="flex min-w-0">
              <TagLink tag={tag} />
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
