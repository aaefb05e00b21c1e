import { timingSafeEqual } from 'node:crypto';
import {
  hlsPath,
  recordingDownloadPath,
  recordingWebmPath,
  type MyRecordings,
  type RecordingStatus,
  type StreamRecording,
} from '@onair/protocol';
import { and, desc, eq, gt, inArray, isNotNull, lt, sql } from 'drizzle-orm';
import { signature } from '../auth/secret-box';
import type { Db } from '../db/database';
import { liveStreams, streamRecordings } from '../db/schema';
import type { RecordingPlan, RecordingReport } from '../recordings/reports';
import type { RecordingFiles } from '../recordings/files';
import type { StreamAccess } from './access';
import { AppError } from './errors';
import type { LiveEvents } from './events';
import type { StreamRow } from './stream-rows';

/** How long a signed media URL works: a replay or a long live session, not a lasting link. */
const mediaTokenSeconds = 6 * 3600;
/** A recording still closing this long after its stream ended was left by a worker that died. */
const abandonAfterMs = 60_000;

export interface RecordingServiceOptions {
  files: RecordingFiles;
  /** False (`RECORDINGS_DIR=none`): nothing is recorded or packaged as HLS. */
  enabled: boolean;
  /** Signs media URLs of private streams. */
  signingKey: Buffer;
  /** Days a recording is kept after its stream ends; undefined: until its host deletes it. */
  retentionDays: number | undefined;
  /** A recording still closing this long after its stream ended was left by a dead worker. */
  abandonAfterMs?: number | undefined;
}

/** Who may play what: whether the stream is live, private, and who hosts it. */
export interface PlayGrant {
  live: boolean;
  isPrivate: boolean;
  hostId: string;
  /** Appended to every URI in the playlists served under this grant. */
  suffix: string;
}

/**
 * Streams' recordings and live packaging, as the database knows them: created with the stream,
 * moved along by what the worker recording it reports, shown (with signed URLs for private
 * streams) to whoever may play them, deleted by their host or by age.
 */
export class RecordingService {
  constructor(
    private readonly db: Db,
    private readonly access: StreamAccess,
    private readonly events: LiveEvents,
    private readonly options: RecordingServiceOptions,
  ) {}

  get root(): string {
    return this.options.files.root;
  }

  /** A new stream's row: recorded unless its host turned recording off. */
  async create(streamId: string, keep: boolean): Promise<void> {
    await this.db.insert(streamRecordings).values({ streamId, keep }).onConflictDoNothing();
  }

  /** What the worker taking the stream's publisher records to; nothing when recording is off. */
  async plan(streamId: string): Promise<RecordingPlan | undefined> {
    if (!this.options.enabled) return undefined;
    const [row] = await this.db
      .select({ keep: streamRecordings.keep })
      .from(streamRecordings)
      .where(eq(streamRecordings.streamId, streamId))
      .limit(1);
    if (!row) await this.create(streamId, true);
    return { root: this.root, keep: row?.keep ?? true };
  }

  /** What the worker recording a stream reported. */
  async report(streamId: string, report: RecordingReport): Promise<void> {
    const base = {
      durationSeconds: report.durationSeconds,
      updatedAt: sql`now()`,
    };
    if (report.state === 'recording') {
      const bytes = report.bytes;
      await this.db
        .update(streamRecordings)
        .set({ ...base, bytes })
        .where(
          and(eq(streamRecordings.streamId, streamId), eq(streamRecordings.status, 'recording')),
        );
      return;
    }
    if (report.state === 'failed') {
      await this.db
        .update(streamRecordings)
        .set({ ...base, status: 'failed', error: report.error })
        .where(eq(streamRecordings.streamId, streamId));
      this.events.emit('recording_changed', { streamId, status: 'failed', error: report.error });
      return;
    }
    const bytes = await this.options.files.size(streamId);
    const [row] = await this.db
      .update(streamRecordings)
      .set({
        ...base,
        bytes,
        status: sql`case when status = 'failed' then 'failed' else 'ready' end`,
      })
      .where(eq(streamRecordings.streamId, streamId))
      .returning({ status: streamRecordings.status, keep: streamRecordings.keep });
    if (row?.keep && row.status === 'ready')
      this.events.emit('recording_changed', { streamId, status: 'ready', error: null });
  }

  /** The stream ended: its recording is closing (the worker reports when it is done). */
  async streamEnded(streamId: string): Promise<void> {
    await this.db
      .update(streamRecordings)
      .set({
        status: sql`case when status = 'recording' then 'processing' else status end`,
        endedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(eq(streamRecordings.streamId, streamId));
  }

  /** The recording as `viewerId` sees it on the stream's details; null when there is none. */
  async view(
    row: StreamRow,
    viewerId: string | undefined,
  ): Promise<{ recording: StreamRecording | null; hlsUrl: string | null }> {
    if (!this.options.enabled) return { recording: null, hlsUrl: null };
    const [rec] = await this.db
      .select()
      .from(streamRecordings)
      .where(eq(streamRecordings.streamId, row.streamId))
      .limit(1);
    const live = row.status === 'live';
    // Seeing a stream's page is not watching it: someone its host banned gets no media URL.
    const mayPlay = (await this.access.mayPlay(row.streamId, viewerId)).ok;
    const suffix = this.suffixFor(row.streamId, row.isPrivate, viewerId);
    const manifest = await this.options.files.manifest(row.streamId);
    // VP8 goes out over HLS too (ffmpeg and VLC play it), but no browser's MSE takes it: players
    // are not offered what they cannot play.
    const browserPlayable = !manifest?.renditions.some((r) => r.codecs.startsWith('vp8'));
    const hlsUrl = live && browserPlayable && mayPlay ? `${hlsPath(row.streamId)}${suffix}` : null;
    if (!rec?.keep) return { recording: null, hlsUrl };
    const isHost = viewerId === row.hostId;
    const playable = mayPlay && (manifest?.parts.length ?? 0) > 0 && rec.durationSeconds > 0;
    return {
      hlsUrl,
      recording: {
        status: rec.status,
        durationSeconds: Math.round(rec.durationSeconds * 10) / 10,
        url: !playable
          ? null
          : manifest?.webm && !live
            ? `${recordingWebmPath(row.streamId)}${suffix}`
            : `${hlsPath(row.streamId)}${suffix}`,
        downloadUrl:
          isHost && playable && !live
            ? `${recordingDownloadPath(row.streamId)}?token=${this.sign('download', row.streamId, viewerId)}`
            : null,
        bytes: isHost ? rec.bytes : 0,
        error: isHost ? rec.error : null,
        timeline: manifest?.parts ?? [],
      },
    };
  }

  /**
   * Whether the caller may fetch the stream's HLS files or recording: a public stream anyone
   * (not banned), a private one whoever may play it, by their Bearer token or by the signed URL
   * they were given, which names them: the rules are judged again for them on each request, so a
   * ban or an unfollow ends their URL too. Strangers get "not found", as for the stream itself.
   */
  async grant(
    streamId: string,
    viewerId: string | undefined,
    token: string | undefined,
  ): Promise<PlayGrant> {
    const hidden = AppError.notFound('Recording');
    if (!this.options.enabled) throw hidden;
    const [row] = await this.db
      .select({
        status: liveStreams.status,
        isPrivate: liveStreams.isPrivate,
        hostId: liveStreams.hostId,
        keep: streamRecordings.keep,
      })
      .from(liveStreams)
      .leftJoin(streamRecordings, eq(streamRecordings.streamId, liveStreams.streamId))
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    if (!row) throw hidden;
    const live = row.status === 'live';
    // Nothing stays of a stream that was not recorded once it has ended.
    if (!live && !row.keep) throw hidden;
    const holder = token === undefined ? undefined : this.verifyToken(streamId, token);
    const who = holder !== undefined ? (holder === '-' ? undefined : holder) : viewerId;
    if (!(await this.access.mayPlay(streamId, who)).ok) throw hidden;
    const signed = holder !== undefined;
    return {
      live,
      isPrivate: row.isPrivate,
      hostId: row.hostId,
      suffix: row.isPrivate && token && signed ? `?token=${encodeURIComponent(token)}` : '',
    };
  }

  /** The host deletes a recording: its files and its row; refused while the stream is live. */
  async delete(streamId: string, userId: string): Promise<void> {
    if (!this.options.enabled) throw AppError.notFound('Recording');
    const access = await this.access.mayHost(streamId, userId);
    if (!access.ok) throw AppError.notFound('Recording');
    if (access.stream.status === 'live')
      throw new AppError('conflict', 'End the stream before deleting its recording');
    const [row] = await this.db
      .delete(streamRecordings)
      .where(and(eq(streamRecordings.streamId, streamId), eq(streamRecordings.keep, true)))
      .returning({ streamId: streamRecordings.streamId });
    if (!row) throw AppError.notFound('Recording');
    await this.options.files.remove(streamId);
  }

  /**
   * How long the replays of these ended streams are, for those that have one to play (a failed
   * recording plays up to where it stopped).
   */
  async replayLengths(streamIds: string[]): Promise<Map<string, number>> {
    if (streamIds.length === 0) return new Map();
    const rows = await this.db
      .select({ streamId: streamRecordings.streamId, seconds: streamRecordings.durationSeconds })
      .from(streamRecordings)
      .where(
        and(
          inArray(streamRecordings.streamId, streamIds),
          eq(streamRecordings.keep, true),
          inArray(streamRecordings.status, ['ready', 'failed']),
          gt(streamRecordings.durationSeconds, 0),
        ),
      );
    return new Map(rows.map((r) => [r.streamId, Math.round(r.seconds * 10) / 10]));
  }

  /** The host's recordings, newest first, with the disk they use. */
  async mine(userId: string): Promise<MyRecordings> {
    const rows = await this.db
      .select({
        streamId: liveStreams.streamId,
        title: liveStreams.title,
        startedAt: liveStreams.startedAt,
        status: streamRecordings.status,
        durationSeconds: streamRecordings.durationSeconds,
        bytes: streamRecordings.bytes,
      })
      .from(streamRecordings)
      .innerJoin(liveStreams, eq(liveStreams.streamId, streamRecordings.streamId))
      .where(and(eq(liveStreams.hostId, userId), eq(streamRecordings.keep, true)))
      .orderBy(desc(liveStreams.startedAt))
      .limit(500);
    return {
      totalBytes: rows.reduce((sum, r) => sum + r.bytes, 0),
      recordings: rows.map((r) => ({
        streamId: r.streamId,
        title: r.title,
        status: r.status as RecordingStatus,
        durationSeconds: Math.round(r.durationSeconds * 10) / 10,
        bytes: r.bytes,
        startedAt: r.startedAt.toISOString(),
      })),
      retentionDays: this.options.retentionDays ?? null,
    };
  }

  /**
   * Recordings whose worker died before closing them are closed from what reached the disk
   * (playable up to the last whole segment); recordings past the retention period are deleted.
   */
  async sweep(): Promise<void> {
    if (!this.options.enabled) return;
    const stuck = await this.db
      .select({ streamId: streamRecordings.streamId, keep: streamRecordings.keep })
      .from(streamRecordings)
      .where(
        and(
          inArray(streamRecordings.status, ['recording', 'processing']),
          isNotNull(streamRecordings.endedAt),
          lt(
            streamRecordings.endedAt,
            new Date(Date.now() - (this.options.abandonAfterMs ?? abandonAfterMs)),
          ),
        ),
      )
      .limit(100);
    for (const { streamId, keep } of stuck) {
      await this.options.files.settle(streamId, keep);
      const durationSeconds = await this.options.files.duration(streamId);
      const bytes = await this.options.files.size(streamId);
      await this.db
        .update(streamRecordings)
        .set(
          durationSeconds > 0
            ? { status: 'ready', durationSeconds, bytes, updatedAt: sql`now()` }
            : {
                status: 'failed',
                error: 'The recording was interrupted before anything was written',
                updatedAt: sql`now()`,
              },
        )
        .where(eq(streamRecordings.streamId, streamId));
    }
    const days = this.options.retentionDays;
    if (days === undefined) return;
    const old = await this.db
      .delete(streamRecordings)
      .where(
        and(
          isNotNull(streamRecordings.endedAt),
          lt(streamRecordings.endedAt, new Date(Date.now() - days * 86_400_000)),
        ),
      )
      .returning({ streamId: streamRecordings.streamId });
    for (const { streamId } of old) await this.options.files.remove(streamId);
  }

  /**
   * The host's download of a finished recording: the host, or the holder of the signed
   * download URL only the host is given (a link opened in a new tab carries no Bearer token).
   */
  async downloadable(
    streamId: string,
    viewerId: string | undefined,
    token: string | undefined,
  ): Promise<void> {
    if (!this.options.enabled) throw AppError.notFound('Recording');
    const holder = token === undefined ? undefined : this.verifyToken(streamId, token, 'download');
    const who = holder !== undefined && holder !== '-' ? holder : viewerId;
    if (!(who && (await this.access.mayHost(streamId, who)).ok))
      throw AppError.notFound('Recording');
    const [row] = await this.db
      .select({ status: liveStreams.status, keep: streamRecordings.keep })
      .from(liveStreams)
      .innerJoin(streamRecordings, eq(streamRecordings.streamId, liveStreams.streamId))
      .where(eq(liveStreams.streamId, streamId))
      .limit(1);
    if (!row?.keep) throw AppError.notFound('Recording');
    if (row.status === 'live') throw new AppError('conflict', 'The stream is still live');
  }

  private suffixFor(streamId: string, isPrivate: boolean, viewerId: string | undefined): string {
    return isPrivate ? `?token=${this.sign('media', streamId, viewerId)}` : '';
  }

  /**
   * `<expiry>.<user>.<signature>`: one stream and purpose, for one user (`-`: anyone), until it
   * expires. Whoever holds it acts as that user, and only as far as the rules still allow them.
   */
  private sign(purpose: 'media' | 'download', streamId: string, userId?: string): string {
    const expires = Math.floor(Date.now() / 1000) + mediaTokenSeconds;
    const user = userId ?? '-';
    const signed = signature(this.options.signingKey, `${purpose}:${streamId}:${user}:${expires}`);
    return `${expires}.${user}.${signed}`;
  }

  /** The user a valid token names (`-` for none), or undefined when it is not valid. */
  private verifyToken(
    streamId: string,
    token: string,
    purpose: 'media' | 'download' = 'media',
  ): string | undefined {
    const [expiry = '', user = '', given = ''] = token.split('.');
    const expires = Number(expiry);
    if (!Number.isInteger(expires) || expires * 1000 < Date.now()) return undefined;
    if (user !== '-' && !/^[0-9a-f-]{36}$/.test(user)) return undefined;
    const expected = Buffer.from(
      signature(this.options.signingKey, `${purpose}:${streamId}:${user}:${expires}`),
    );
    const actual = Buffer.from(given);
    return expected.length === actual.length && timingSafeEqual(expected, actual)
      ? user
      : undefined;
  }
}
