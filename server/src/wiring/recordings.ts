import type { Logger } from 'pino';
import type { LiveEvents } from '../live/events';
import { anonymousViewer, type Actor, type PresenceService } from '../live/presence';
import type { RecordingService } from '../live/recordings';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';

/** Players whose lease was renewed lately, remembered at most this many at once. */
const maxRemembered = 50_000;

export interface RecordingWiring {
  /** An HLS player polled a live playlist: renew its viewer lease (a few times per lease). */
  hlsViewer(streamId: string, viewer: Actor | { anonymousKey: string }): void;
  stop(): void;
}

/**
 * Connects recordings to the rest: what the media workers report moves the database along, a
 * stream's end starts closing its recording, HLS players count as viewers by lease, and a sweep
 * closes what dead workers left and deletes recordings past their retention.
 */
export function connectRecordings({
  media,
  recordings,
  presence,
  events,
  logger,
  sweepMs = 30_000,
}: {
  media: MediaWorkerPool;
  recordings: RecordingService;
  presence: PresenceService;
  events: LiveEvents;
  logger: Logger;
  /** How often recordings left by a dead worker are closed and old ones deleted. */
  sweepMs?: number;
}): RecordingWiring {
  const onReport = (streamId: string, report: Parameters<RecordingService['report']>[1]) => {
    if (report.state === 'failed')
      logger.error({ streamId, error: report.error }, 'recording stopped');
    recordings
      .report(streamId, report)
      .catch((err: unknown) =>
        logger.warn({ err, streamId }, 'could not record a recording report'),
      );
  };
  const onEnded = (stream: { streamId: string }) => {
    recordings
      .streamEnded(stream.streamId)
      .catch((err: unknown) =>
        logger.warn({ err, streamId: stream.streamId }, 'could not mark a recording as closing'),
      );
  };
  media.on('recording', onReport);
  events.on('stream_ended', onEnded);
  const sweep = setInterval(() => {
    recordings.sweep().catch((err: unknown) => logger.warn({ err }, 'recording sweep failed'));
  }, sweepMs);
  sweep.unref();
  void recordings.sweep().catch((err: unknown) => logger.warn({ err }, 'recording sweep failed'));

  const renewedAt = new Map<string, number>();
  const renewEveryMs = (presence.leaseSeconds * 1000) / 3;
  return {
    hlsViewer(streamId, viewer) {
      const key = `${streamId}:${'userId' in viewer ? viewer.userId : viewer.anonymousKey}`;
      const now = Date.now();
      if (now - (renewedAt.get(key) ?? 0) < renewEveryMs) return;
      if (renewedAt.size >= maxRemembered)
        for (const [k, at] of renewedAt) if (now - at >= renewEveryMs) renewedAt.delete(k);
      if (renewedAt.size >= maxRemembered) return;
      renewedAt.set(key, now);
      const who = 'userId' in viewer ? viewer : anonymousViewer.hls(viewer.anonymousKey);
      presence.viewHls(streamId, who).catch(() => {
        // Not counted (the stream ended, or this viewer may not watch): the files were served
        // by the rules of the grant anyway.
      });
    },
    stop() {
      media.off('recording', onReport);
      events.off('stream_ended', onEnded);
      clearInterval(sweep);
    },
  };
}
