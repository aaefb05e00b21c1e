import type { Logger } from 'pino';
import type { LiveEvents } from '../live/events';
import type { StreamService } from '../live/streams';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';

export interface MediaLifecycle {
  /** Gives a live stream without a publisher `graceSeconds` to get one back before it ends. */
  startGrace(streamId: string): void;
  close(): void;
}

/**
 * Ties a stream's life to its publisher's: a new stream has `graceSeconds` to get a publisher
 * connected; a dropped publisher gets the same grace period (viewers are told it is
 * reconnecting); one that returns resumes the stream; one that does not ends it as if the host
 * had. Ending a stream, for any reason, closes its media.
 */
export function connectMediaLifecycle(deps: {
  media: MediaWorkerPool;
  streams: StreamService;
  events: LiveEvents;
  graceSeconds: number;
  logger: Logger;
}): MediaLifecycle {
  const { media, streams, events, graceSeconds, logger } = deps;
  const timers = new Map<string, NodeJS.Timeout>();

  const stopTimer = (streamId: string) => {
    const timer = timers.get(streamId);
    if (timer) clearTimeout(timer);
    timers.delete(streamId);
  };

  const endUnlessPublished = (streamId: string, why: string) => {
    if (timers.has(streamId)) return;
    const timer = setTimeout(() => {
      timers.delete(streamId);
      streams.finish(streamId, 'publisher_lost').then(
        (ended) => ended && logger.info({ streamId }, `stream ended: ${why}`),
        (err: unknown) =>
          logger.error({ err, streamId }, 'failed to end a stream without a publisher'),
      );
    }, graceSeconds * 1000);
    timer.unref();
    timers.set(streamId, timer);
  };

  const startGrace = (streamId: string) => {
    if (timers.has(streamId)) return;
    events.emit('broadcaster_reconnecting', streamId, graceSeconds);
    endUnlessPublished(streamId, 'publisher did not return');
  };

  const onStarted = (stream: { streamId: string }) => {
    // Nobody is told to wait: the broadcaster has not been seen yet.
    if (graceSeconds > 0) endUnlessPublished(stream.streamId, 'publisher never connected');
  };
  const onLost = (streamId: string) => startGrace(streamId);
  const onConnected = (streamId: string) => {
    stopTimer(streamId);
    events.emit('broadcaster_resumed', streamId);
  };
  const onEnded = (stream: { streamId: string }) => {
    stopTimer(stream.streamId);
    media.closeStream(stream.streamId);
  };

  media.on('publisher_lost', onLost);
  media.on('publisher_connected', onConnected);
  events.on('stream_started', onStarted);
  events.on('stream_ended', onEnded);

  return {
    startGrace,
    close() {
      for (const timer of timers.values()) clearTimeout(timer);
      timers.clear();
      media.off('publisher_lost', onLost);
      media.off('publisher_connected', onConnected);
      events.off('stream_started', onStarted);
      events.off('stream_ended', onEnded);
    },
  };
}
