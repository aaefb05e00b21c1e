import { streamRoom } from '@onair/protocol';
import type { Logger } from 'pino';
import type { StreamService } from '../live/streams';
import type { MediaWorkerPool } from '../media/MediaWorkerPool';
import type { LiveServer } from './types';

export interface ResyncOptions {
  io: LiveServer;
  streams: StreamService;
  media: MediaWorkerPool;
  logger: Logger;
}

const streamPrefix = streamRoom('');

/**
 * Brings this node's stream rooms back to what the database says, after the realtime bus was
 * cut (Redis down or frozen): what other nodes broadcast meanwhile never reached these sockets.
 * Each room hears its stream's current viewer count, or that it ended (and is emptied); a user
 * banned meanwhile, or who stopped following a private stream's host, is told, leaves the room
 * and loses the media this node gives them (`StreamAccess.mayWatch` says who may stay). Only this
 * node's sockets are told: every node does the same for its own.
 *
 * Comments and reactions sent meanwhile are not replayed; clients fetch missed comments as they
 * do after any reconnect.
 */
export function resyncRooms({ io, streams, media, logger }: ResyncOptions) {
  return async (): Promise<void> => {
    const rooms = [...io.localRooms()].filter(([room]) => room.startsWith(streamPrefix));
    for (const [room, members] of rooms) {
      const streamId = room.slice(streamPrefix.length);
      try {
        const row = await streams.anyRow(streamId);
        if (!row || row.status !== 'live') {
          const stream = row ? await streams.getStream(streamId, row.hostId) : undefined;
          for (const socket of [...members]) {
            if (stream) socket.emit('live_ended', { streamId, stream });
            socket.leave(room);
          }
          continue;
        }
        for (const socket of [...members]) {
          socket.emit('viewer_count', { streamId, viewerCount: row.viewerCount });
          const { userId } = socket.data;
          if (userId === null) continue;
          const access = await streams.access.mayWatch(streamId, userId);
          if (access.ok) continue;
          const { reason } = access.denial;
          if (reason === 'banned') socket.emit('live_banned', { streamId });
          else if (reason === 'followers_only') socket.emit('live_access_revoked', { streamId });
          else continue;
          socket.leave(room);
          media.closeViewerSessions(streamId, userId);
        }
      } catch (err) {
        logger.warn({ err, streamId }, 'could not bring a room up to date');
      }
    }
  };
}
