import { describe, expect, it } from 'vitest';
import {
  clusterEnv,
  api,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
} from './support/server';

// Two nodes on one PostgreSQL database and one Redis: rooms, chat and counts span both.
const canRun = Boolean(process.env.DATABASE_URL);

describe.runIf(canRun)('two nodes sharing Redis', () => {
  it('carries announcements, chat and counts from one node to the other', async () => {
    const env = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env });
    const b = await startTestServer({ env: { ...env, DATABASE_URL: a.databaseUrl! } });
    try {
      const [host, onA, onB] = await Promise.all([
        registerUser(a),
        registerUser(a),
        registerUser(b),
      ]);
      const socketA = await connectSocket(a, onA.token);
      const socketB = await connectSocket(b, onB.token);
      const announced = nextEvent(socketB, 'live_started');
      const started = await api(a.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'across nodes' },
      });
      const streamId = started.body.streamId;
      expect((await announced).streamId).toBe(streamId);

      await emitAck(socketA, 'join_live', { streamId });
      const countOnA = nextEvent(socketA, 'viewer_count', (c) => c.viewerCount === 2);
      expect((await emitAck(socketB, 'join_live', { streamId })).viewerCount).toBe(2);
      expect(await countOnA).toEqual({ streamId, viewerCount: 2 });

      const comment = nextEvent(socketA, 'live_comment_added');
      await emitAck(socketB, 'live_comment', { streamId, comment: 'from node B' });
      expect(await comment).toMatchObject({ comment: 'from node B', userId: onB.user.id });

      const ended = nextEvent(socketB, 'live_ended');
      await api(a.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
      expect((await ended).streamId).toBe(streamId);
      socketA.close();
      socketB.close();
    } finally {
      await b.close();
      await a.stop();
    }
  });
});
