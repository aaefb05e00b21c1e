import type { StreamDetails } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { useNavigate, useParams } from 'react-router-dom';
import { Button } from '../../components/Button';
import { apiRequest } from '../../lib/api';
import { useSession } from '../auth/AuthContext';
import { BroadcasterView } from './BroadcasterView';
import { StreamEndedScreen } from './StreamEndedScreen';
import { ViewerView } from './ViewerView';

/** `/live/:streamId`: the broadcaster's view for the host of a live stream, the viewer's for everyone else. */
export function StreamPage() {
  const { streamId = '' } = useParams();
  const { session } = useSession();
  const navigate = useNavigate();
  const [stream, setStream] = useState<StreamDetails | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    setStream(null);
    setError(null);
    apiRequest<StreamDetails>('GET', `/api/live/${streamId}`, { token: session.token })
      .then(setStream)
      .catch((e: Error) => setError(e.message));
  }, [session.token, streamId]);

  const leave = () => navigate('/live');
  if (error) {
    return (
      <div className="flex min-h-dvh flex-col items-center justify-center gap-4 p-6 text-center">
        <p role="alert">{error}</p>
        <Button onClick={leave}>Back to Live</Button>
      </div>
    );
  }
  if (!stream)
    return (
      <p className="p-8 text-center text-zinc-400" role="status">
        Loading stream…
      </p>
    );
  if (stream.status === 'ended')
    return <StreamEndedScreen streamId={stream.streamId} onLeave={leave} />;
  return stream.host.id === session.user.id ? (
    <BroadcasterView stream={stream} onLeave={leave} />
  ) : (
    <ViewerView stream={stream} onLeave={leave} />
  );
}
