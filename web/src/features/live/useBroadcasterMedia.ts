import type { BroadcastMediaState } from '@onair/protocol';
import { useEffect, useState } from 'react';
import { useAuth } from '../auth/AuthContext';

/**
 * The broadcaster's camera and microphone as a viewer should show them: what the stream said when
 * it was loaded (or joined, `latest`), then every `live_media_state` the host announces.
 */
export function useBroadcasterMedia(
  streamId: string,
  initial: BroadcastMediaState,
  latest: BroadcastMediaState | undefined,
): BroadcastMediaState {
  const { socket } = useAuth();
  const [state, setState] = useState(initial);
  useEffect(() => {
    if (latest) setState(latest);
  }, [latest]);
  useEffect(
    () =>
      socket.on('live_media_state', (event) => {
        if (event.streamId !== streamId) return;
        setState({ camera: event.camera, microphone: event.microphone });
      }),
    [socket, streamId],
  );
  return state;
}
