import type { Stream, TagStreams } from '@onair/protocol';
import { AnimatePresence } from 'framer-motion';
import { Hash } from 'lucide-react';
import { useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { useDocumentTitle } from '../../components/document-title';
import { PageLayout } from '../../components/PageLayout';
import { call } from '../../lib/api';
import { describeError } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { StreamCard } from './StreamCard';

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** An ended stream with the tag: who, what, when. */
function RecentStream({ stream }: { stream: Stream }) {
  return (
    <li
      className="flex min-w-0 items-center gap-3 rounded-xl border border-zinc-800 bg-zinc-900 p-3"
      data-testid="tag-recent-stream"
    >
      <Avatar user={stream.host} size="h-9 w-9 text-sm" />
      <div className="min-w-0 flex-1">
        <h3 className="truncate font-medium">
          <Link to={`/live/${stream.streamId}`} className="hover:underline">
            {stream.title}
          </Link>
        </h3>
        <p className="truncate text-sm text-zinc-400">
          <Link to={`/u/${stream.host.username}`} className="hover:underline">
            {stream.host.display_name}
          </Link>
          {' · '}
          <time dateTime={stream.startedAt}>{dateFormat.format(new Date(stream.startedAt))}</time>
        </p>
      </div>
    </li>
  );
}

/** `/tags/:tag`: the live streams with a tag, then recent ones, as far as this visitor may see. */
export function TagPage() {
  const { tag = '' } = useParams();
  const { socket } = useAuth();
  const [found, setFound] = useState<TagStreams | null>(null);
  const [error, setError] = useState<string | null>(null);
  useDocumentTitle(`#${tag}`);

  useEffect(() => {
    let cancelled = false;
    setFound(null);
    setError(null);
    // The socket's token is the session's: private streams of followed hosts are included.
    call('tagStreams', { params: { tag }, token: socket.token })
      .then((result) => !cancelled && setFound(result))
      .catch((e: unknown) => !cancelled && setError(describeError(e)));
    return () => {
      cancelled = true;
    };
  }, [tag, socket.token]);

  return (
    <PageLayout className="mx-auto flex w-full min-w-0 max-w-3xl flex-col gap-6 p-4 pb-12">
      <h1 className="flex min-w-0 items-center gap-1 text-2xl font-bold" data-testid="tag-heading">
        <Hash className="h-6 w-6 shrink-0 text-rose-500" aria-hidden />
        <span className="truncate">{tag}</span>
      </h1>
      {error && (
        <p role="alert" className="text-rose-300">
          {error}
        </p>
      )}
      {!found && !error && (
        <p role="status" className="text-zinc-400">
          Loading…
        </p>
      )}
      {found && (
        <>
          <section aria-labelledby="tag-live-heading" className="min-w-0">
            <h2 id="tag-live-heading" className="mb-3 text-lg font-semibold">
              Live now
            </h2>
            {found.live.length === 0 ? (
              <p className="text-zinc-400">No one is live with this tag right now.</p>
            ) : (
              <ul className="flex flex-col gap-3">
                <AnimatePresence initial={false}>
                  {found.live.map((stream) => (
                    <StreamCard key={stream.streamId} stream={stream} />
                  ))}
                </AnimatePresence>
              </ul>
            )}
          </section>
          <section aria-labelledby="tag-recent-heading" className="min-w-0">
            <h2 id="tag-recent-heading" className="mb-3 text-lg font-semibold">
              Recent streams
            </h2>
            {found.recent.length === 0 ? (
              <p className="text-zinc-400">No past streams with this tag yet.</p>
            ) : (
              <ul className="flex flex-col gap-3">
                {found.recent.map((stream) => (
                  <RecentStream key={stream.streamId} stream={stream} />
                ))}
              </ul>
            )}
          </section>
        </>
      )}
    </PageLayout>
  );
}
