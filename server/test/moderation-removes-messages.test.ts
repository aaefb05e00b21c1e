import type { LiveComment } from '@onair/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
  clusterEnv,
  collect,
  connectSocket,
  emitAck,
  engines,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
  type ClientSocket,
  type TestServer,
  type TestUser,
} from './support/server';
import { moderate, moderatedChannel, moderationView } from './support/moderation';

// Issue 18, point 8: a ban or a timeout takes the offender's earlier messages out of every
// viewer's chat, the history and the missed-comment replay; the moderation log keeps them.
describe.each(engines)('moderation removes the offender’s messages on %s', (engine) => {
  let server: TestServer;
  const open: ClientSocket[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      engine,
      rateLimits: { comments: { points: 1000, durationSeconds: 1 } },
    });
  });
  afterEach(() => {
    for (const socket of open.splice(0)) socket.close();
  });
  afterAll(() => server.stop());

  const joined = async (user: TestUser | undefined, streamId: string) => {
    const socket = await connectSocket(server, user?.token);
    open.push(socket);
    const ack = await emitAck(socket, 'join_live', { streamId });
    expect(ack.ok).toBe(true);
    return socket;
  };
  const comment = async (user: TestUser, streamId: string, text: string): Promise<LiveComment> => {
    const res = await api(server.url)('POST', `/api/live/${streamId}/comment`, {
      token: user.token,
      body: { comment: text },
    });
    expect(res.status).toBe(201);
    return res.body as LiveComment;
  };
  const history = async (streamId: string, token?: string) =>
    (
      (await api(server.url)('GET', `/api/live/${streamId}/comments`, token ? { token } : {}))
        .body as { comments: LiveComment[] }
    ).comments.map((c) => c.comment);
  /** What a client that last saw `since` is replayed on rejoining. */
  const replay = async (user: TestUser, streamId: string, since: string) => {
    const socket = await connectSocket(server, user.token);
    open.push(socket);
    const ack = await emitAck(socket, 'join_live', { streamId, sinceCommentId: since });
    expect(ack.ok).toBe(true);
    return (ack.missedComments as LiveComment[]).map((c) => c.comment);
  };

  /** A channel whose chat has the offender's messages between everyone else's. */
  const chatWithOffender = async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 2);
    const [offender, bystander] = viewers as [TestUser, TestUser];
    const opening = await comment(host, streamId, 'welcome');
    await comment(offender, streamId, 'spam one');
    await comment(bystander, streamId, 'hi all');
    await comment(offender, streamId, 'spam two');
    await comment(moderator, streamId, 'be nice');
    return { host, moderator, offender, bystander, streamId, opening };
  };

  it('a ban removes the banned user’s messages from the room, history and replay; the log keeps them', async () => {
    const { host, moderator, offender, bystander, streamId, opening } = await chatWithOffender();
    const watching = await joined(bystander, streamId);
    const anonymous = await joined(undefined, streamId);
    const removals = collect(watching, 'live_comments_removed');
    const told = nextEvent(anonymous, 'live_comments_removed');
    const before = (await api(server.url)('GET', `/api/live/${streamId}/comments`)).body
      .comments as LiveComment[];
    const offenders = before.filter((c) => c.userId === offender.user.id).map((c) => c.id);
    expect(offenders).toHaveLength(2);

    const banned = await moderate(server, moderator, streamId, {
      action: 'ban',
      userId: offender.user.id,
    });
    expect(banned.status).toBe(200);
    // The action reads as it was taken; the removed messages ride beside it.
    expect(banned.body.entry.action).toEqual({ action: 'ban', userId: offender.user.id });
    expect(banned.body.entry.removedComments.map((c: { comment: string }) => c.comment)).toEqual([
      'spam one',
      'spam two',
    ]);

    const removal = await told;
    expect(removal).toMatchObject({ streamId, userId: offender.user.id });
    expect([...removal.commentIds].sort()).toEqual([...offenders].sort());
    await sleep(200);
    expect(removals).toHaveLength(1);

    const others = ['welcome', 'hi all', 'be nice'];
    expect(await history(streamId)).toEqual(others);
    // The host reads the same history: the messages are gone from the chat for everyone.
    expect(await history(streamId, host.token)).toEqual(others);
    expect(await replay(bystander, streamId, opening.id)).toEqual(['hi all', 'be nice']);

    // The moderation log still shows what was said, to the host and moderators.
    const log = await moderationView(server, host, streamId);
    const entry = log.body.actions.find(
      (a: { action: { action: string } }) => a.action.action === 'ban',
    );
    expect(entry.action).toEqual({ action: 'ban', userId: offender.user.id });
    expect(entry.removedComments).toEqual([
      expect.objectContaining({ comment: 'spam one', id: expect.any(String) }),
      expect.objectContaining({ comment: 'spam two' }),
    ]);
    expect((await moderationView(server, bystander, streamId)).status).toBe(403);
  });

  it('a timeout removes the timed-out user’s messages too, and only theirs', async () => {
    const { host, offender, bystander, streamId, opening } = await chatWithOffender();
    const watching = await joined(bystander, streamId);
    const told = nextEvent(watching, 'live_comments_removed');

    const timedOut = await moderate(server, host, streamId, {
      action: 'timeout',
      userId: offender.user.id,
      seconds: 60,
    });
    expect(timedOut.status).toBe(200);
    expect(timedOut.body.entry.action).toEqual({
      action: 'timeout',
      userId: offender.user.id,
      seconds: 60,
    });
    expect((await told).userId).toBe(offender.user.id);
    expect(await history(streamId)).toEqual(['welcome', 'hi all', 'be nice']);
    expect(await replay(bystander, streamId, opening.id)).toEqual(['hi all', 'be nice']);

    // A second timeout has nothing left to remove: nobody is told again, and its entry says so.
    const removals = collect(watching, 'live_comments_removed');
    const again = await moderate(server, host, streamId, {
      action: 'timeout',
      userId: offender.user.id,
      seconds: 600,
    });
    expect(again.status).toBe(200);
    expect(again.body.entry.removedComments).toBeUndefined();
    await sleep(200);
    expect(removals).toEqual([]);
  });

  it('removes nothing of other streams, and a timeout of someone who never wrote tells nobody', async () => {
    const { host, offender, bystander, streamId } = await chatWithOffender();
    // The offender's own channel: their messages there are not this host's to remove.
    const own = (
      await api(server.url)('POST', '/api/live/start', {
        token: offender.token,
        body: { title: 'mine' },
      })
    ).body.streamId as string;
    await comment(offender, own, 'my own stream');
    const watching = await joined(bystander, streamId);
    const removals = collect(watching, 'live_comments_removed');
    const quiet = await registerUser(server);
    expect(
      (
        await moderate(server, host, streamId, {
          action: 'timeout',
          userId: quiet.user.id,
          seconds: 5,
        })
      ).status,
    ).toBe(200);
    await sleep(200);
    expect(removals).toEqual([]);
    expect(
      (await moderate(server, host, streamId, { action: 'ban', userId: offender.user.id })).status,
    ).toBe(200);
    expect(await history(own)).toEqual(['my own stream']);
  });
});

// Rooms span nodes over Redis: a viewer on another node sees the messages go as well.
describe.runIf(Boolean(process.env.DATABASE_URL))('message removal across two nodes', () => {
  it('reaches a viewer connected to the other node', async () => {
    const env = clusterEnv();
    const a = await startTestServer({ engine: 'postgres', env });
    const b = await startTestServer({ env: { ...env, DATABASE_URL: a.databaseUrl! } });
    try {
      const { host, viewers, streamId } = await moderatedChannel(a, 2);
      const [offender, bystander] = viewers as [TestUser, TestUser];
      const sent = await api(a.url)('POST', `/api/live/${streamId}/comment`, {
        token: offender.token,
        body: { comment: 'spam' },
      });
      const onB = await connectSocket(b, bystander.token);
      expect((await emitAck(onB, 'join_live', { streamId })).ok).toBe(true);
      const told = nextEvent(onB, 'live_comments_removed');
      const banned = await moderate(a, host, streamId, { action: 'ban', userId: offender.user.id });
      expect(banned.status).toBe(200);
      expect(await told).toEqual({
        streamId,
        userId: offender.user.id,
        commentIds: [sent.body.id],
      });
      onB.close();
    } finally {
      await b.close();
      await a.stop();
    }
  });
});
