import {
  usernameParams,
  type PastStream as PastStreamData,
  type ProfilePage as Profile,
  type Stream,
} from '@onair/protocol';
import { Calendar, Clock, PlayCircle, Radio, Users } from 'lucide-react';
import { useCallback, useEffect, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Avatar } from '../../components/Avatar';
import { FollowButton } from '../../components/FollowButton';
import { useDocumentTitle } from '../../components/document-title';
import { NotFoundPage } from '../../components/NotFoundPage';
import { PageLayout } from '../../components/PageLayout';
import { call } from '../../lib/api';
import { describeError, failureCode } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { formatDuration } from '../live/format';

const personNotFound = {
  heading: 'No one by that name',
  detail: 'There is no one with this username. It may have been mistyped.',
};

/** `/u/:username`: who someone is, whether they are live, and what they streamed. */
export function ProfilePage() {
  const { username = '' } = useParams();
  if (!usernameParams.safeParse({ username }).success) return <NotFoundPage {...personNotFound} />;
  return <LoadedProfile key={username} username={username} />;
}

function LoadedProfile({ username }: { username: string }) {
  const { session } = useAuth();
  const token = session?.token ?? null;
  const [profile, setProfile] = useState<Profile | null>(null);
  const [error, setError] = useState<{ notFound: boolean; text: string } | null>(null);
  useDocumentTitle(profile ? `${profile.user.display_name} (@${profile.user.username})` : username);

  const load = useCallback(
    () =>
      call('profilePage', { params: { username }, token }).then(
        (p) => {
          setProfile(p);
          setError(null);
        },
        (e: unknown) =>
          setError({ notFound: failureCode(e) === 'not_found', text: describeError(e) }),
      ),
    [username, token],
  );
  useEffect(() => {
    // `load` settles its own failure as the page's error.
    void load();
  }, [load]);

  if (error?.notFound) return <NotFoundPage {...personNotFound} />;
  if (!profile)
    return (
      <PageLayout>
        <h1 className="sr-only">Profile of @{username}</h1>
        {error ? (
          <p role="alert" className="text-rose-300">
            {error.text}
          </p>
        ) : (
          <p className="text-zinc-400" role="status">
            Loading…
          </p>
        )}
      </PageLayout>
    );

  const { user, liveStream, pastStreams } = profile;
  const isMe = session?.user.id === user.id;
  return (
    <PageLayout className="mx-auto flex w-full max-w-3xl flex-col gap-6 p-4">
      <section className="flex min-w-0 flex-wrap items-center gap-4">
        <Avatar user={user} size="h-20 w-20 text-3xl" />
        <div className="min-w-0 flex-1">
          <h1 className="break-words text-2xl font-bold [overflow-wrap:anywhere]">
            {user.display_name}
          </h1>
          <p className="truncate text-zinc-400">@{user.username}</p>
          <p className="mt-1 text-sm text-zinc-300">
            <span data-testid="follower-count">{profile.followers}</span>{' '}
            {profile.followers === 1 ? 'follower' : 'followers'} · {profile.following} following
          </p>
        </div>
        <div className="w-full sm:w-auto">
          {isMe ? (
            <Link
              to="/settings"
              className="rounded-lg bg-zinc-800 px-4 py-2 text-sm font-medium hover:bg-zinc-700"
            >
              Edit profile
            </Link>
          ) : (
            <FollowButton userId={user.id} following={profile.isFollowing} onChange={load} />
          )}
        </div>
      </section>
      {user.bio && (
        <p className="whitespace-pre-wrap text-zinc-300 [overflow-wrap:anywhere]">{user.bio}</p>
      )}
      {liveStream && <LiveNow stream={liveStream} />}
      <section aria-labelledby="past-heading" className="min-w-0">
        <h2 id="past-heading" className="mb-3 text-lg font-semibold">
          Past streams
        </h2>
        {pastStreams.length === 0 ? (
          <p className="text-zinc-400">No past streams yet.</p>
        ) : (
          <ul className="flex flex-col gap-3">
            {pastStreams.map((s) => (
              <PastStream key={s.streamId} stream={s} />
            ))}
          </ul>
        )}
      </section>
    </PageLayout>
  );
}

function LiveNow({ stream }: { stream: Stream }) {
  return (
    <Link
      to={`/live/${stream.streamId}`}
      data-testid="live-now"
      className="flex min-w-0 items-center gap-3 rounded-xl border border-rose-700 bg-rose-950/40 p-3 hover:bg-rose-950/70"
    >
      <span className="flex shrink-0 items-center gap-1 rounded bg-rose-600 px-2 py-0.5 text-sm font-bold">
        <Radio className="h-4 w-4" aria-hidden /> LIVE NOW
      </span>
      <span className="min-w-0 flex-1 truncate font-medium">{stream.title}</span>
      <span className="flex shrink-0 items-center gap-1 text-sm text-rose-300">
        <Users className="h-4 w-4" aria-hidden /> {stream.viewerCount}
        <span className="sr-only">watching</span>
      </span>
    </Link>
  );
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' });

/** One ended stream, leading to its page: the replay when it was recorded. */
function PastStream({ stream }: { stream: PastStreamData }) {
  return (
    <li className="min-w-0" data-testid="past-stream">
      <Link
        to={`/live/${stream.streamId}`}
        className="flex min-w-0 items-center gap-3 rounded-xl border border-zinc-800 bg-zinc-900 p-3 hover:bg-zinc-800/70"
      >
        {stream.thumbnail && (
          <div className="relative h-14 w-24 shrink-0">
            <img
              src={stream.thumbnail}
              alt=""
              className="h-full w-full rounded-lg bg-black object-cover"
            />
            {stream.replaySeconds !== null && (
              <PlayCircle
                className="absolute left-1/2 top-1/2 h-7 w-7 -translate-x-1/2 -translate-y-1/2 rounded-full bg-black/50 text-white"
                aria-hidden
              />
            )}
          </div>
        )}
        <div className="min-w-0 flex-1">
          <h3 className="truncate font-medium">{stream.title}</h3>
          {stream.replaySeconds !== null && (
            <p
              className="flex items-center gap-1 text-sm font-medium text-rose-300"
              data-testid="past-stream-replay"
            >
              <PlayCircle className="h-3.5 w-3.5" aria-hidden /> Watch the replay ·{' '}
              {formatDuration(stream.replaySeconds)}
            </p>
          )}
          <p className="flex flex-wrap gap-x-3 text-sm text-zinc-400">
            <span className="flex items-center gap-1">
              <Calendar className="h-3.5 w-3.5" aria-hidden />
              <time dateTime={stream.startedAt}>
                {dateFormat.format(new Date(stream.startedAt))}
              </time>
            </span>
            <span className="flex items-center gap-1">
              <Clock className="h-3.5 w-3.5" aria-hidden />
              <span className="sr-only">Duration</span> {formatDuration(stream.duration)}
            </span>
            <span className="flex items-center gap-1">
              <Users className="h-3.5 w-3.5" aria-hidden /> Peak {stream.peakViewers}{' '}
              {stream.peakViewers === 1 ? 'viewer' : 'viewers'}
            </span>
          </p>
        </div>
      </Link>
    </li>
  );
}
