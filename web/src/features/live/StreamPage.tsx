import { streamIdParams, type PublicUser, type StreamDetails } from '@onair/protocol';
import { Lock } from 'lucide-react';
import { useCallback, useEffect, useRef, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router-dom';
import { Button } from '../../components/Button';
import { FollowButton } from '../../components/FollowButton';
import { useDocumentTitle } from '../../components/document-title';
import { NotFoundPage } from '../../components/NotFoundPage';
import { PageLayout } from '../../components/PageLayout';
import { ApiError, call } from '../../lib/api';
import { describeError, failureCode, type FailureCode } from '../../lib/errors';
import { useAuth } from '../auth/AuthContext';
import { signInPath } from '../auth/return-path';
import { replayStateOf } from '../replay/replay';
import { ReplayView } from '../replay/ReplayView';
import { BroadcasterView } from './BroadcasterView';
import { isPublishingHere, markPublishingHere } from './device-memory';
import { HostView } from './HostView';
import { FollowToWatch } from './FollowToWatch';
import { ViewerView } from './ViewerView';

/** How often an ended stream's page asks whether its replay is ready yet. */
const preparingPollMs = 3000;
/** A viewer there at the end: how often, and how long, to look for the replay. */
const endedRecheckMs = 2000;
const replayWaitMs = 5 * 60_000;

const streamNotFound = {
  heading: 'Stream not found',
  detail: 'There is no stream at this address. It may have been mistyped.',
};

/** Whose private stream refused us, when that is why. */
const ownerOf = (error: unknown): PublicUser | undefined =>
  error instanceof ApiError && error.body?.code === 'followers_only' ? error.body.owner : undefined;

/**
 * `/live/:streamId`: the host's view for the host of a live stream (publishing or managing it),
 * the viewer's for everyone else (signed in or not). An id that cannot be a stream's is not found without asking
 * the server.
 */
export function StreamPage() {
  const { streamId = '' } = useParams();
  if (!streamIdParams.safeParse({ streamId }).success) return <NotFoundPage {...streamNotFound} />;
  return <LoadedStream key={streamId} streamId={streamId} />;
}

function LoadedStream({ streamId }: { streamId: string }) {
  const { session } = useAuth();
  const navigate = useNavigate();
  const [stream, setStream] = useState<StreamDetails | null>(null);
  const [failure, setFailure] = useState<{
    code: FailureCode | undefined;
    text: string;
    owner?: PublicUser | undefined;
  } | null>(null);
  const [attempt, setAttempt] = useState(0);
  const token = session?.token ?? null;
  useDocumentTitle(stream?.title ?? 'Stream', stream?.host.display_name);

  useEffect(() => {
    let cancelled = false;
    setStream(null);
    setFailure(null);
    call('stream', { params: { streamId }, token })
      .then((s) => !cancelled && setStream(s))
      .catch(
        (e: unknown) =>
          !cancelled &&
          setFailure({ code: failureCode(e), text: describeError(e), owner: ownerOf(e) }),
      );
    return () => {
      cancelled = true;
    };
  }, [token, streamId, attempt]);

  // Later looks at the stream (its replay getting ready) replace what is shown only once they
  // answer, and only while this page is up; a failed look changes nothing.
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const fetchLatest = useCallback(
    () => call('stream', { params: { streamId }, token }).catch(() => null),
    [streamId, token],
  );
  const refresh = useCallback(
    () => fetchLatest().then((s) => s && mounted.current && setStream(s)),
    [fetchLatest],
  );

  const preparing = stream?.status === 'ended' && replayStateOf(stream.recording) === 'preparing';
  useEffect(() => {
    if (!preparing) return;
    const timer = setInterval(() => void refresh(), preparingPollMs);
    return () => clearInterval(timer);
  }, [preparing, refresh]);

  /**
   * The stream ended under a viewer: once its replay is ready the page becomes the replay (its
   * share link now leads there); until then, or when it was not recorded, the viewer's end screen
   * stays. The end itself may take a moment to show in the stream's details.
   */
  const showReplayWhenReady = async () => {
    const giveUpAt = Date.now() + replayWaitMs;
    while (mounted.current && Date.now() < giveUpAt) {
      await new Promise((resolve) => setTimeout(resolve, endedRecheckMs));
      const latest = await fetchLatest();
      if (!latest || latest.status !== 'ended' || !mounted.current) continue;
      const replay = replayStateOf(latest.recording);
      if (replay === 'none') return;
      if (replay === 'playable') return setStream(latest);
    }
  };

  const leave = () => navigate('/');
  if (failure?.code === 'not_found') return <NotFoundPage {...streamNotFound} />;

  const centred = 'flex flex-col items-center justify-center gap-4 p-6 text-center';
  // A private stream's outsider: whose it is and "Follow to watch"; following loads it here.
  if (failure?.owner) {
    return (
      <PageLayout className={centred}>
        <FollowToWatch
          owner={failure.owner}
          streamId={streamId}
          onFollowed={() => setAttempt((n) => n + 1)}
        />
        <Button variant="secondary" onClick={leave}>
          Back to Live
        </Button>
      </PageLayout>
    );
  }
  if (failure?.code === 'forbidden' || failure?.code === 'unauthorized') {
    return (
      <PageLayout className={centred}>
        <Lock className="h-12 w-12 text-amber-300" aria-hidden />
        <h1 className="text-2xl font-bold">This stream is for followers</h1>
        <p className="max-w-md text-zinc-400">
          {session
            ? 'Only people who follow its host can watch it. Follow them from their profile to watch.'
            : 'Only people who follow its host can watch it. Sign in to see whether you can.'}
        </p>
        {!session && (
          <Link
            to={signInPath(`/live/${streamId}`)}
            className="rounded-lg bg-rose-600 px-4 py-2 font-medium text-white hover:bg-rose-500"
          >
            Sign in
          </Link>
        )}
        <Button variant="secondary" onClick={leave}>
          Back to Live
        </Button>
      </PageLayout>
    );
  }
  if (failure) {
    return (
      <PageLayout className={centred}>
        <h1 className="text-2xl font-bold">This stream could not be opened</h1>
        <p role="alert" className="text-zinc-300">
          {failure.text}
        </p>
        <div className="flex gap-2">
          <Button onClick={() => setAttempt((n) => n + 1)}>Try again</Button>
          <Button variant="secondary" onClick={leave}>
            Back to Live
          </Button>
        </div>
      </PageLayout>
    );
  }
  if (!stream)
    return (
      <PageLayout className={centred}>
        <h1 className="sr-only">Stream</h1>
        <p className="text-zinc-400" role="status">
          Loading stream…
        </p>
      </PageLayout>
    );
  if (stream.status === 'ended' && replayStateOf(stream.recording) !== 'none') {
    return (
      <PageLayout className="">
        <ReplayView
          stream={stream}
          preparing={preparing}
          onLeave={leave}
          onRecordingDeleted={() => void refresh()}
        />
      </PageLayout>
    );
  }
  if (stream.status === 'ended') {
    return (
      <PageLayout className={centred}>
        <div className={centred} data-testid="stream-ended">
          <h1 className="text-2xl font-bold">This stream has ended</h1>
          <p className="text-zinc-400">
            <Link to={`/u/${stream.host.username}`} className="text-rose-400 underline">
              See {stream.host.display_name}’s profile
            </Link>{' '}
            for what they stream next.
          </p>
          <FollowButton userId={stream.host.id} />
          <Button onClick={leave}>Back to Live</Button>
        </div>
      </PageLayout>
    );
  }
  return (
    <PageLayout className="">
      {stream.host.id === session?.user.id ? (
        <HostPage stream={stream} onLeave={leave} />
      ) : (
        <ViewerView
          stream={stream}
          onLeave={leave}
          onEnded={() => {
            // It settles by itself: a failed look leaves the end screen as it is.
            void showReplayWhenReady();
          }}
        />
      )}
    </PageLayout>
  );
}

/**
 * The host's own live stream: the tab that went live from the browser publishes it with its
 * camera; every other tab or device of theirs (and every one, for a stream sent from OBS) manages
 * it without touching the camera, unless the host chooses to broadcast from there.
 */
function HostPage({ stream, onLeave }: { stream: StreamDetails; onLeave: () => void }) {
  const [publishing, setPublishing] = useState(() => isPublishingHere(stream.streamId));
  const choose = (here: boolean) => {
    markPublishingHere(stream.streamId, here);
    setPublishing(here);
  };
  return publishing ? (
    <BroadcasterView stream={stream} onLeave={onLeave} onPublishedElsewhere={() => choose(false)} />
  ) : (
    <HostView stream={stream} onLeave={onLeave} onBroadcastHere={() => choose(true)} />
  );
}
