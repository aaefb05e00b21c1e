import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Request, Response } from 'express';
import express, { type Router } from 'express';
import { routes } from '@onair/protocol';
import type { TokenService } from '../../auth/tokens';
import { AppError } from '../../live/errors';
import type { Actor } from '../../live/presence';
import type { PlayGrant, RecordingService } from '../../live/recordings';
import type { RecordingFiles } from '../../recordings/files';
import { restRoutes } from '../rest';

export interface RecordingRouteDeps {
  recordings: RecordingService;
  files: RecordingFiles;
  tokens: TokenService;
  /**
   * An HLS player polled a live stream's playlist: it counts as a viewer (by lease, as REST views
   * do): its user, or a key made of its address when anonymous.
   */
  onHlsViewer: (streamId: string, viewer: Actor | { anonymousKey: string }) => void;
}

const playlistType = 'application/vnd.apple.mpegurl';
/** A year: a segment's name is never reused for other bytes. */
const immutable = 'max-age=31536000, immutable';
/**
 * A live playlist changes with every segment (about a second); a CDN may share it for that long.
 * A finished recording's playlist changes only if it is deleted.
 */
const livePlaylistSeconds = 1;
const vodPlaylistSeconds = 60;

/**
 * Players on other origins (any HLS player, a CDN's) read the files: every answer allows any
 * origin, which shares nothing a URL does not already grant (private files need its token).
 */
function cors(_req: Request, res: Response, next: () => void): void {
  res.set({
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
    'Access-Control-Allow-Headers': 'Range',
    'Access-Control-Expose-Headers': 'Content-Length, Content-Range',
    'Access-Control-Max-Age': '86400',
  });
  next();
}

function scope(grant: PlayGrant): string {
  // A private stream's files are for its audience only: no shared cache may keep them.
  return grant.isPrivate ? 'private' : 'public';
}

/**
 * Live HLS and replays: the multivariant and media playlists (the live window while live, the
 * whole recording after), segments (immutable, so any cache keeps them), the host's download
 * as one MP4, deleting a recording, and the host's recordings with their disk use.
 */
export function recordingRoutes({
  recordings,
  files,
  tokens,
  onHlsViewer,
}: RecordingRouteDeps): Router {
  const router = express.Router();
  router.use(
    [
      routes.hlsPlaylist.path,
      routes.hlsFile.path,
      routes.webmReplay.path,
      routes.downloadRecording.path,
    ],
    cors,
  );
  router.use(
    restRoutes(tokens, {
      hlsPlaylist: async ({ params, query, actor, res }) => {
        const grant = await recordings.grant(params.streamId, actor?.userId, query.token);
        const present = query.present ? `${grant.suffix ? '&' : '?'}present=1` : '';
        const text = await files.multivariant(
          params.streamId,
          grant.live,
          `${grant.suffix}${present}`,
        );
        if (!text) throw AppError.notFound('Playlist');
        res.set(
          'Cache-Control',
          `${scope(grant)}, max-age=${grant.live ? livePlaylistSeconds : vodPlaylistSeconds}`,
        );
        res.type(playlistType).send(text);
      },
      hlsFile: async ({ params, query, actor, req, res }) => {
        const grant = await recordings.grant(params.streamId, actor?.userId, query.token);
        const { streamId, rendition, file } = params;
        if (file === 'index.m3u8') {
          const text = await files.mediaPlaylist(streamId, rendition, grant.live, grant.suffix);
          if (!text) throw AppError.notFound('Playlist');
          if (grant.live && actor?.userId !== grant.hostId && !query.present)
            onHlsViewer(streamId, actor ?? { anonymousKey: anonymousKey(req) });
          res.set(
            'Cache-Control',
            `${scope(grant)}, max-age=${grant.live ? livePlaylistSeconds : vodPlaylistSeconds}`,
          );
          res.type(playlistType).send(text);
          return;
        }
        const found = await files.open(streamId, rendition, file);
        if (!found) throw AppError.notFound('Segment');
        res.set({
          'Cache-Control': `${scope(grant)}, ${immutable}`,
          'Content-Length': String(found.size),
          'Content-Type': file.endsWith('.mp4') ? 'video/mp4' : 'video/iso.segment',
        });
        // A player that goes away mid-segment releases the file at once.
        await pipeline(found.stream, res).catch(() => undefined);
      },
      webmReplay: async ({ params, query, actor, res }) => {
        const grant = await recordings.grant(params.streamId, actor?.userId, query.token);
        const found = await files.webm(params.streamId);
        if (!found || grant.live) throw AppError.notFound('Recording');
        // Ranges, for seeking: `sendFile` answers them.
        await new Promise<void>((resolve, reject) =>
          res.sendFile(
            found.path,
            {
              headers: { 'Cache-Control': `${scope(grant)}, max-age=${vodPlaylistSeconds}` },
              cacheControl: false,
            },
            (error) => (error && !res.headersSent ? reject(error) : resolve()),
          ),
        );
      },
      downloadRecording: async ({ params, query, actor, res }) => {
        // The whole file is the host's: others watch the replay.
        await recordings.downloadable(params.streamId, actor?.userId, query.token);
        const found = await files.download(params.streamId);
        if (!found) throw AppError.notFound('Recording');
        res.set({
          'Cache-Control': 'private, no-store',
          'Content-Length': String(found.size),
          'Content-Disposition': `attachment; filename="stream-${params.streamId}.mp4"`,
        });
        res.type('video/mp4');
        await sendAll(found.files, res);
      },
      deleteRecording: async ({ params, actor, res }) => {
        await recordings.delete(params.streamId, actor.userId);
        res.status(204).end();
      },
      myRecordings: async ({ actor }) => recordings.mine(actor.userId),
    }),
  );
  return router;
}

/**
 * An anonymous player: its address, hashed (the key is stored as a viewer id). Not its agent as
 * well: a client changing its User-Agent would count as a new viewer each time.
 */
function anonymousKey(req: Request): string {
  return createHash('sha256')
    .update(req.ip ?? '')
    .digest('base64url')
    .slice(0, 22);
}

/** Waits for the response to take more, or to go away; leaves no listener behind. */
async function drainedOrClosed(res: Response): Promise<void> {
  const done = new AbortController();
  const wait = (event: string) =>
    once(res, event, { signal: done.signal }).then(
      () => undefined,
      () => undefined,
    );
  await Promise.race([wait('drain'), wait('close')]);
  done.abort();
}

/**
 * Writes the files one after another into the response. A client that goes away, or a file
 * deleted meanwhile, ends the response (its length was promised: it cannot be finished short).
 */
async function sendAll(paths: string[], res: Response): Promise<void> {
  try {
    for (const path of paths) {
      // One file open at a time, closed when read (or when the loop is left).
      for await (const chunk of createReadStream(path)) {
        if (res.destroyed) return;
        if (!res.write(chunk)) await drainedOrClosed(res);
      }
    }
    res.end();
  } catch {
    res.destroy();
  }
}
