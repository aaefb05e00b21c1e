/**
 * `kill -9` of the real entry point in the middle of a live stream: nothing it acknowledged is
 * lost, its media workers do not outlive it, and on the next start the stream it left live
 * waits out the publisher grace period and then ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SyntheticPublisher, waitFor } from './support/loopback-peers';
import {
  childPids,
  commandOf,
  hasExited,
  mediaWorkerPids,
  startEntryPoint,
  type EntryPoint,
} from './support/entry-point';
import { api, connectSocket, registerUser, sleep, type ClientSocket } from './support/server';

const graceSeconds = 4;
const commenters = 6;
/** The default chat limit lets a user send 5 messages at once. */
const commentsEach = 5;

describe('kill -9', () => {
  it('loses no acknowledged comment, leaves no media worker, and ends the stream after the grace period', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-kill-'));
    const env = {
      DATA_DIR: dataDir,
      PUBLISHER_GRACE_SECONDS: String(graceSeconds),
      MEDIA_WORKERS: '2',
      WEB_DIR: path.join(dataDir, 'no-web'),
    };
    const sockets: ClientSocket[] = [];
    const publisher = new SyntheticPublisher();
    let first: EntryPoint | undefined;
    let second: EntryPoint | undefined;
    try {
      first = await startEntryPoint(env);
      const request = api(first.url);
      const host = await registerUser(first);
      const started = await request('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'about to crash' },
      });
      expect(started.status).toBe(201);
      const { streamId, streamKey } = started.body as { streamId: string; streamKey: string };

      // Live for real: a publisher connected over WHIP, its media held by a worker.
      const whip = await fetch(`${first.url}/api/live/${streamId}/whip`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
        body: await publisher.offer(),
      });
      expect(whip.status).toBe(201);
      await publisher.accept(await whip.text());
      publisher.start();

      // Chat from several people at once; keep the id of every comment acknowledged as sent.
      const acknowledged: string[] = [];
      const users = await Promise.all(
        Array.from({ length: commenters }, () => registerUser(first!)),
      );
      await Promise.all(
        users.map(async (user, u) => {
          const socket = await connectSocket(first!, user.token);
          sockets.push(socket);
          const joined = await socket.timeout(5000).emitWithAck('join_live', { streamId });
          expect(joined.ok).toBe(true);
          for (let i = 0; i < commentsEach; i += 1) {
            const ack = await socket
              .timeout(5000)
              .emitWithAck('live_comment', { streamId, comment: `user ${u} comment ${i}` });
            if (!ack.ok) throw new Error(`comment refused: ${JSON.stringify(ack)}`);
            acknowledged.push(ack.comment.id);
          }
        }),
      );
      expect(acknowledged).toHaveLength(commenters * commentsEach);

      const workers = mediaWorkerPids(first.pid);
      // What else the entry point holds, should the count ever be off.
      const children = childPids(first.pid).map((pid) => commandOf(pid));
      expect(workers, children.join('\n')).toHaveLength(2);
      first.child.kill('SIGKILL');
      expect(await first.exited).toBeNull();
      // The workers notice the IPC channel close and exit on their own: nothing orphaned holds
      // the UDP ports or keeps forwarding.
      await waitFor(() => workers.every(hasExited), 10_000, 'the media workers to exit');

      second = await startEntryPoint(env);
      const restartedAt = Date.now();
      const again = api(second.url);
      const history = await again('GET', `/api/live/${streamId}/comments?limit=100`);
      expect(history.status).toBe(200);
      const stored = new Set(
        (history.body.comments as { id: string }[]).map((comment) => comment.id),
      );
      expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);

      // Still live while its publisher may come back, ended once the grace period is over.
      const status = async () =>
        (await again('GET', `/api/live/${streamId}`)).body as { status: string; endedAt: string };
      expect((await status()).status).toBe('live');
      let ended: { status: string; endedAt: string } | undefined;
      while (!ended && Date.now() - restartedAt < (graceSeconds + 10) * 1000) {
        const now = await status();
        if (now.status === 'ended') ended = now;
        else await sleep(250);
      }
      expect(ended?.status).toBe('ended');
      expect(Date.now() - restartedAt).toBeGreaterThanOrEqual(graceSeconds * 1000 - 1000);
      expect(ended?.endedAt).toBeTruthy();
      expect((await again('GET', '/api/live/active')).body).toEqual([]);
    } finally {
      for (const socket of sockets) socket.close();
      await publisher.close();
      first?.child.kill('SIGKILL');
      await second?.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
