import type { StreamLayer } from '@onair/protocol';
import type { Logger } from 'pino';
import type { LiveEvents } from '../live/events';
import type { StreamService } from '../live/streams';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';

export interface MediaLifecycle {
  /**
   * Gives a live stream without a publisher `graceSeconds` to get one back before it ends: called
   * when its publisher is lost (see `connectPublishing`, which knows a loss from a takeover).
   */
  startGrace(streamId: string): void;
  /** Closes the media this node holds for streams the database says have ended. */
  closeEndedMedia(): Promise<void>;
  close(): void;
}

/** How the nodes of one deployment tell each other that a stream ended (none on a lone node). */
export interface LifecycleBus {
  announceEnded(streamId: string): void;
  /** Listens for other nodes' announcements; returns what stops listening. */
  onEnded(listener: (streamId: string) => void): () => void;
}

/** How long a stream ended here is remembered, so its publisher's closing starts no grace. */
const endedMemoryMs = 60_000;

/**
 * Ties a stream's life to its publisher's: a new stream has `graceSeconds` to get a publisher
 * connected; a dropped publisher gets the same grace period (viewers are told it is
 * reconnecting); one that returns resumes the stream; one that does not ends it as if the host
 * had. Ending a stream, for any reason, closes its media.
 *
 * Across nodes the database decides: the node holding a stream's publisher records itself on the
 * stream, and a grace timer ends a stream only while it is still recorded on the timer's node, so
 * a stream started on one node and published on another stays live. An end made on any node is
 * announced on the bus (prompt) and, in case the bus was down, found in the database every
 * `sweepMs` and when the bus returns (`closeEndedMedia`).
 */
export function connectMediaLifecycle(deps: {
  media: MediaWorkerPool;
  streams: StreamService;
  events: LiveEvents;
  graceSeconds: number;
  bus?: LifecycleBus;
  /** How often media held here is checked against the database. Default 5 s. */
  sweepMs?: number;
  logger: Logger;
}): MediaLifecycle {
  const { media, streams, events, graceSeconds, bus, sweepMs = 5000, logger } = deps;
  const timers = new Map<string, NodeJS.Timeout>();
  const ended = new Map<string, NodeJS.Timeout>();

  const stopTimer = (streamId: string) => {
    const timer = timers.get(streamId);
    if (timer) clearTimeout(timer);
    timers.delete(streamId);
  };

  const endUnlessPublished = (streamId: string, why: string) => {
    if (timers.has(streamId)) return;
    const timer = setTimeout(() => {
      timers.delete(streamId);
      streams.finish(streamId, 'publisher_lost', { onlyIfMediaHere: true }).then(
        (stream) => stream && logger.info({ streamId }, `stream ended: ${why}`),
        (err: unknown) =>
          logger.error({ err, streamId }, 'failed to end a stream without a publisher'),
      );
    }, graceSeconds * 1000);
    timer.unref();
    timers.set(streamId, timer);
  };

  const startGrace = (streamId: string) => {
    if (timers.has(streamId) || ended.has(streamId)) return;
    events.emit('broadcaster_reconnecting', streamId, graceSeconds);
    endUnlessPublished(streamId, 'publisher did not return');
  };

  const onStarted = (stream: { streamId: string }) => {
    // Nobody is told to wait: the broadcaster has not been seen yet.
    if (graceSeconds > 0) endUnlessPublished(stream.streamId, 'publisher never connected');
  };
  const onConnected = (streamId: string) => {
    stopTimer(streamId);
    events.emit('broadcaster_resumed', streamId);
    streams
      .holdMedia(streamId)
      .catch((err: unknown) => logger.error({ err, streamId }, 'could not record the publisher'));
  };
  /** The stream is over: its publisher's closing is no loss to wait for. */
  const closeMedia = (streamId: string) => {
    stopTimer(streamId);
    clearTimeout(ended.get(streamId));
    const forget = setTimeout(() => ended.delete(streamId), endedMemoryMs);
    forget.unref();
    ended.set(streamId, forget);
    media.closeStream(streamId, true);
  };
  const onEnded = (stream: { streamId: string }) => {
    closeMedia(stream.streamId);
    bus?.announceEnded(stream.streamId);
  };
  const onRemoteEnded = (streamId: string) => {
    if (media.streamIds().includes(streamId)) logger.info({ streamId }, 'stream ended elsewhere');
    closeMedia(streamId);
  };

  const closeEndedMedia = async () => {
    const held = media.streamIds();
    if (held.length === 0) return;
    for (const streamId of await streams.notLive(held)) {
      logger.info({ streamId }, 'closing the media of a stream that has ended');
      closeMedia(streamId);
    }
  };
  const sweep = setInterval(() => {
    closeEndedMedia().catch((err: unknown) =>
      logger.warn({ err }, 'could not check held media against the database'),
    );
  }, sweepMs);
  sweep.unref();

  const onLayers = (streamId: string, layers: StreamLayer[]) =>
    events.emit('layers_changed', { streamId, layers });

  const stopBus = bus?.onEnded(onRemoteEnded);
  media.on('publisher_connected', onConnected);
  media.on('stream_layers', onLayers);
  events.on('stream_started', onStarted);
  events.on('stream_ended', onEnded);

  return {
    startGrace,
    closeEndedMedia,
    close() {
      clearInterval(sweep);
      stopBus?.();
      for (const timer of [...timers.values(), ...ended.values()]) clearTimeout(timer);
      timers.clear();
      ended.clear();
      media.off('publisher_connected', onConnected);
      media.off('stream_layers', onLayers);
      events.off('stream_started', onStarted);
      events.off('stream_ended', onEnded);
    },
  };
}
