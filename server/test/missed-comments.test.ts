import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, type LiveComment } from '@onair/protocol';
import { liveComments } from '../src/db/schema';
import {
  api,
  collect,
  connectSocket,
  emitAck,
  endLive,
  engines,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { moderate } from './support/moderation';

const ids = (comments: { id: string }[]) => comments.map((c) => c.id);

/** Reconnects a socket the test disconnected (it has a new id, and no rooms, on the server). */
const reconnect = (socket: ClientSocket) =>
  new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('connect_error', reject);
    socket.connect();
  });

describe.each(engines)('no missed comments across a blip on %s (issue 11)', (engine) => {
  let server: TestServer;
  let host: TestUser;
  let viewer: TestUser;
  let posters: TestUser[];
  const open: ClientSocket[] = [];
  const request = () => api(server.url);
  const socketOf = async (user: TestUser) => {
    const socket = await connectSocket(server, user.token);
    open.push(socket);
    return socket;
  };
  const startStream = async (title = 'chat') => {
    await endLive(server, host);
    const res = await request()('POST', '/api/live/start', { token: host.token, body: { title } });
    return res.body.streamId as string;
  };
  /** Comments stored after `afterId`, as history shows them (oldest first). */
  const historyAfter = async (streamId: string, afterId: string) => {
    const page = await request()('GET', `/api/live/${streamId}/comments?limit=100`);
    const all: LiveComment[] = page.body.comments;
    return all.slice(all.findIndex((c) => c.id === afterId) + 1);
  };

  beforeAll(async () => {
    server = await startTestServer({
      engine,
      rateLimits: { comments: { points: 1000, durationSeconds: 60 } },
    });
    [host, viewer, ...posters] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
  });
  afterAll(async () => {
    for (const s of open) s.close();
    await server?.stop();
  });

  it('a viewer that dropped gets the 20 comments posted meanwhile, in order, on rejoining', async () => {
    const streamId = await startStream();
    const [watching, ...others] = await Promise.all([viewer, ...posters].map(socketOf));
    for (const socket of [watching!, ...others])
      expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    const heard = nextEvent(watching!, 'live_comment_added');
    const last = await emitAck(others[0]!, 'live_comment', { streamId, comment: 'before' });
    expect((await heard).id).toBe(last.comment.id);

    watching!.disconnect();
    const posted: LiveComment[] = [];
    for (let i = 0; i < 20; i += 1) {
      // Over the socket and over REST alike, from two people and the host.
      if (i % 3 === 0) {
        const res = await request()('POST', `/api/live/${streamId}/comment`, {
          token: host.token,
          body: { comment: `missed ${i}` },
        });
        posted.push(res.body);
      } else {
        const ack = await emitAck(others[i % 2]!, 'live_comment', {
          streamId,
          comment: `missed ${i}`,
        });
        posted.push(ack.comment);
      }
    }
    // One of them is deleted by the host before the viewer is back: it is never shown to them.
    const deleted = posted[7]!;
    const deletion = await moderate(server, host, streamId, {
      action: 'delete_comment',
      commentId: deleted.id,
    });
    expect(deletion.status).toBe(200);
    await reconnect(watching!);
    const rejoined = await emitAck(watching!, 'join_live', {
      streamId,
      sinceCommentId: last.comment.id,
    });
    expect(rejoined.ok).toBe(true);
    expect(rejoined.viewerCount).toBe(3);
    expect(rejoined.chat).toEqual({ slowModeSeconds: 0, role: 'viewer', timedOutUntil: null });
    expect(rejoined.missedComments).toEqual(posted.filter((c) => c.id !== deleted.id));
    expect(rejoined.missedComments.map((c: LiveComment) => c.comment)).toEqual(
      Array.from({ length: 20 }, (_, i) => `missed ${i}`).filter((_, i) => i !== 7),
    );
    expect(rejoined.missedComments[0].role).toBe('host');
    expect(rejoined.missedComments[1].role).toBe('viewer');
    // Back in the room: new comments arrive live again.
    const next = nextEvent(watching!, 'live_comment_added');
    const after = await emitAck(others[1]!, 'live_comment', { streamId, comment: 'after' });
    expect((await next).id).toBe(after.comment.id);
    // A join without a comment to start from replays nothing.
    expect((await emitAck(watching!, 'join_live', { streamId })).missedComments).toBeUndefined();
  });

  it('the replays and the live comments around them hold every comment once, across many blips', async () => {
    const streamId = await startStream('busy chat');
    const [watching, ...talkers] = await Promise.all([viewer, ...posters, host].map(socketOf));
    for (const socket of [watching!, ...talkers]) await emitAck(socket, 'join_live', { streamId });
    const heard = nextEvent(watching!, 'live_comment_added');
    const start = await emitAck(talkers[0]!, 'live_comment', { streamId, comment: 'start' });
    expect((await heard).id).toBe(start.comment.id);

    // What a client shows: live comments as they come, except while a rejoin is being answered,
    // when they wait to go after the comments it replays. Each comment once.
    const shown: LiveComment[] = [start.comment];
    let held: LiveComment[] | undefined;
    const show = (comments: LiveComment[]) => {
      for (const c of comments) if (!shown.some((s) => s.id === c.id)) shown.push(c);
    };
    watching!.on('live_comment_added', (c) => (held ? held.push(c) : show([c])));

    // Three people keep talking, all the time, while the viewer drops and rejoins again and again.
    let talking = true;
    const talk = talkers.map(async (talker, t) => {
      for (let i = 0; talking && i < 30; i += 1)
        await emitAck(talker, 'live_comment', { streamId, comment: `talker ${t} says ${i}` });
    });
    let replayed = 0;
    for (let blip = 0; blip < 6; blip += 1) {
      watching!.disconnect();
      await sleep(30);
      held = [];
      await reconnect(watching!);
      const rejoined = await emitAck(watching!, 'join_live', {
        streamId,
        sinceCommentId: shown.at(-1)!.id,
      });
      expect(rejoined.ok).toBe(true);
      replayed += rejoined.missedComments.length;
      show(rejoined.missedComments);
      show(held);
      held = undefined;
      await sleep(30);
    }
    talking = false;
    await Promise.all(talk);
    await sleep(300);

    const stored = await historyAfter(streamId, start.comment.id);
    expect(stored.length).toBeLessThanOrEqual(90);
    expect(replayed).toBeGreaterThan(0);
    expect(shown).toHaveLength(stored.length + 1);
    expect(ids(shown).sort()).toEqual([start.comment.id, ...ids(stored)].sort());
  });

  // Only a PostgreSQL server lets a second connection hold the stream's row while the join waits.
  it.runIf(engine === 'postgres')(
    'reads what was missed only once the socket is in the room: a comment made while it joins is not lost',
    async () => {
      const streamId = await startStream('racing');
      const [watching, talker] = await Promise.all([socketOf(viewer), socketOf(posters[0]!)]);
      await emitAck(talker!, 'join_live', { streamId });
      await emitAck(watching!, 'join_live', { streamId });
      const heard = nextEvent(watching!, 'live_comment_added');
      const last = await emitAck(talker!, 'live_comment', { streamId, comment: 'last seen' });
      expect((await heard).id).toBe(last.comment.id);
      watching!.disconnect();
      const live = collect(watching!, 'live_comment_added');
      await reconnect(watching!);

      // The join waits on the stream's row (joining locks it to count viewers); comments do not
      // (their foreign key takes a lock this one lets through).
      const blocker = new pg.Client({ connectionString: server.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('select 1 from live_streams where stream_id = $1 for no key update', [
          streamId,
        ]);
        const rejoining = emitAck(watching!, 'join_live', {
          streamId,
          sinceCommentId: last.comment.id,
        });
        await sleep(300);
        const talkerHeard = nextEvent(talker!, 'live_comment_added');
        const during = await emitAck(talker!, 'live_comment', { streamId, comment: 'during' });
        expect(during.ok).toBe(true);
        await talkerHeard;
        await blocker.query('commit');
        const rejoined = await rejoining;
        expect(rejoined.ok).toBe(true);
        expect(live).toEqual([]);
        expect(ids(rejoined.missedComments)).toEqual([during.comment.id]);
      } finally {
        await blocker.end();
      }
    },
  );

  // Only a PostgreSQL server lets a second connection hold a comment between its stamp and its commit.
  it.runIf(engine === 'postgres')(
    'a comment that commits late is not lost to a viewer who showed a later one: comments commit in the order of their stamps',
    async () => {
      const streamId = await startStream('late commit');
      const [watching, slow, quick] = await Promise.all([
        socketOf(viewer),
        socketOf(posters[0]!),
        socketOf(posters[1]!),
      ]);
      for (const socket of [watching!, slow!, quick!])
        await emitAck(socket, 'join_live', { streamId });
      const heard = nextEvent(watching!, 'live_comment_added');
      const before = await emitAck(quick!, 'live_comment', { streamId, comment: 'before' });
      expect((await heard).id).toBe(before.comment.id);
      const shown: LiveComment[] = [before.comment];
      watching!.on('live_comment_added', (c: LiveComment) => shown.push(c));

      // The slow poster's comment is stamped, then waits at its foreign key check on their user
      // row, which another connection holds; the quick poster's comes after it.
      const blocker = new pg.Client({ connectionString: server.databaseUrl });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('select 1 from users where id = $1 for update', [posters[0]!.user.id]);
        const first = emitAck(slow!, 'live_comment', { streamId, comment: 'stamped first' });
        await sleep(300);
        const second = emitAck(quick!, 'live_comment', { streamId, comment: 'stamped second' });
        await sleep(300);
        // The viewer drops before the slow comment commits, holding what it showed so far.
        watching!.disconnect();
        await blocker.query('commit');
        expect((await first).ok).toBe(true);
        expect((await second).ok).toBe(true);
      } finally {
        await blocker.end();
      }
      await reconnect(watching!);
      const rejoined = await emitAck(watching!, 'join_live', {
        streamId,
        sinceCommentId: shown.at(-1)!.id,
      });
      expect(rejoined.ok).toBe(true);
      const seen = new Set(ids([...shown, ...rejoined.missedComments]));
      expect(seen.size).toBe(3);
    },
  );

  it('refuses a comment that is not in this stream, and joins nothing', async () => {
    const otherStream = await startStream('elsewhere');
    const elsewhere = await emitAck(await socketOf(host), 'live_comment', {
      streamId: otherStream,
      comment: 'in another stream',
    });
    const streamId = await startStream('here');
    const [watching, talker] = await Promise.all([socketOf(viewer), socketOf(posters[0]!)]);
    await emitAck(talker!, 'join_live', { streamId });
    const heard = collect(watching!, 'live_comment_added');
    for (const sinceCommentId of [randomUUID(), elsewhere.comment.id]) {
      expect(await emitAck(watching!, 'join_live', { streamId, sinceCommentId })).toMatchObject({
        ok: false,
        error: { code: 'invalid_input', message: 'That comment is not in this stream' },
      });
    }
    expect(
      await emitAck(watching!, 'join_live', { streamId, sinceCommentId: 'nope' }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    await emitAck(talker!, 'live_comment', { streamId, comment: 'not for the refused' });
    await sleep(200);
    expect(heard).toEqual([]);
    const details = await request()('GET', `/api/live/${streamId}`, { token: host.token });
    expect(details.body.viewerCount).toBe(1);
    expect(await emitAck(watching!, 'live_comment', { streamId, comment: 'hi' })).toMatchObject({
      ok: false,
      error: { code: 'not_in_room' },
    });
  });

  it(`replays at most the newest ${LIMITS.missedCommentsMax}, oldest first`, async () => {
    const streamId = await startStream('flood');
    const base = Date.now() - 60_000;
    // Stored straight into the database, a millisecond apart: the API's budgets are not the point.
    const rows = await server.database.db
      .insert(liveComments)
      .values(
        Array.from({ length: LIMITS.missedCommentsMax + 11 }, (_, i) => ({
          streamId,
          userId: posters[i % 2]!.user.id,
          text: `flood ${i}`,
          createdAt: new Date(base + i),
        })),
      )
      .returning({ id: liveComments.id, text: liveComments.text });
    const watching = await socketOf(viewer);
    const rejoined = await emitAck(watching, 'join_live', {
      streamId,
      sinceCommentId: rows[0]!.id,
    });
    expect(rejoined.ok).toBe(true);
    const texts = rejoined.missedComments.map((c: LiveComment) => c.comment);
    expect(texts).toHaveLength(LIMITS.missedCommentsMax);
    expect(texts[0]).toBe('flood 11');
    expect(texts.at(-1)).toBe(`flood ${LIMITS.missedCommentsMax + 10}`);
    // The last comment a client has: nothing missed.
    const upToDate = await emitAck(watching, 'join_live', {
      streamId,
      sinceCommentId: rows.at(-1)!.id,
    });
    expect(upToDate.missedComments).toEqual([]);
  });
});
