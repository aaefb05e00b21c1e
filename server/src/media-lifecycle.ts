import type { Logger } from 'pino';
import type { LiveEvents } from './live/events';
import type { StreamService } from './live/streams';
import type { MediaEngine } from './media/MediaEngine';

export interface MediaLifecycle {
  /** Gives a live stream without a publisher `graceSeconds` to get one back before it ends. */
  startGrace(streamId: string): void;
  close(): void;
}

/**
 * Ties a stream's life to its publisher's: a dropped publisher gets a grace period (viewers are
 * told it is reconnecting); one that returns resumes the stream; one that does not ends it as if
 * the host had. Ending a stream, for any reason, closes its media.
 */
export function connectMediaLifecycle(deps: {
  media: MediaEngine;
  streams: StreamService;
  events: LiveEvents;
  graceSeconds: number;
  logger: Logger;
}): MediaLifecycle {
  const { media, streams, events, graceSeconds, logger } = deps;
  const graceTimers = new Map<string, NodeJS.Timeout>();

  const startGrace = (streamId: string) => {
    if (graceTimers.has(streamId)) return;
    events.emit('broadcaster_reconnecting', streamId, graceSeconds);
    const timer = setTimeout(() => {
      graceTimers.delete(streamId);
      streams.finish(streamId, 'publisher_lost').then(
        (ended) => ended && logger.info({ streamId }, 'stream ended: publisher did not return'),
        (err: unknown) =>
          logger.error({ err, streamId }, 'failed to end a stream after its grace period'),
      );
    }, graceSeconds * 1000);
    timer.unref();
    graceTimers.set(streamId, timer);
  };

  const onLost = (streamId: string) => startGrace(streamId);
  const onConnected = (streamId: string) => {
    const timer = graceTimers.get(streamId);
    if (timer) clearTimeout(timer);
    graceTimers.delete(streamId);
    events.emit('broadcaster_resumed', streamId);
  };
  const onEnded = (stream: { streamId: string }) => {
    const timer = graceTimers.get(stream.streamId);
    if (timer) clearTimeout(timer);
    graceTimers.delete(stream.streamId);
    media.closeStream(stream.streamId);
  };

  media.on('publisher_lost', onLost);
  media.on('publisher_connected', onConnected);
  events.on('stream_ended', onEnded);

  return {
    startGrace,
    close() {
      for (const timer of graceTimers.values()) clearTimeout(timer);
      graceTimers.clear();
      media.off('publisher_lost', onLost);
      media.off('publisher_connected', onConnected);
      events.off('stream_ended', onEnded);
    },
  };
}
