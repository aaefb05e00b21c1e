import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  api,
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
import { moderate, moderatedChannel, moderationView, startStream } from './support/moderation';

describe.each(engines)('chat moderation on %s', (engine) => {
  let server: TestServer;
  const open: ClientSocket[] = [];
  const request = () => api(server.url);

  beforeAll(async () => {
    // The general chat budget is tested elsewhere; here it would only get in the way.
    server = await startTestServer({
      engine,
      rateLimits: { comments: { points: 1000, durationSeconds: 1 } },
    });
  });
  afterEach(() => {
    for (const socket of open.splice(0)) socket.close();
  });
  afterAll(() => server.stop());

  const socketOf = async (user: TestUser | undefined) => {
    const socket = await connectSocket(server, user?.token);
    open.push(socket);
    return socket;
  };
  const joined = async (user: TestUser | undefined, streamId: string) => {
    const socket = await socketOf(user);
    const ack = await emitAck(socket, 'join_live', { streamId });
    expect(ack.ok).toBe(true);
    return { socket, ack };
  };
  const comment = (user: TestUser, streamId: string, text: string) =>
    request()('POST', `/api/live/${streamId}/comment`, {
      token: user.token,
      body: { comment: text },
    });
  const history = async (streamId: string) =>
    (await request()('GET', `/api/live/${streamId}/comments`)).body.comments as {
      id: string;
      comment: string;
      role: string;
    }[];
  const state = async (host: TestUser, streamId: string) =>
    (await moderationView(server, host, streamId)).body.state;

  it('lets the host and moderators moderate, and refuses everyone else with forbidden', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server);
    const [viewer, target] = viewers as [TestUser, TestUser];
    const slow = { action: 'slow_mode', seconds: 5 } as const;

    const refused = await moderate(server, viewer, streamId, slow);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('forbidden');
    const viewerSocket = await socketOf(viewer);
    expect(await emitAck(viewerSocket, 'live_moderate', { streamId, ...slow })).toMatchObject({
      ok: false,
      error: { code: 'forbidden' },
    });
    const anonymous = await socketOf(undefined);
    expect(await emitAck(anonymous, 'live_moderate', { streamId, ...slow })).toMatchObject({
      ok: false,
      error: { code: 'unauthorized' },
    });
    const noToken = await request()('POST', `/api/live/${streamId}/moderation`, { body: slow });
    expect(noToken.status).toBe(401);

    // Moderators may do all but appoint moderators.
    const appoint = { action: 'add_moderator', userId: target.user.id } as const;
    const byModerator = await moderate(server, moderator, streamId, appoint);
    expect(byModerator.status).toBe(403);
    expect(byModerator.body.error.code).toBe('forbidden');
    expect(
      (await moderate(server, moderator, streamId, { ...appoint, action: 'remove_moderator' }))
        .status,
    ).toBe(403);
    expect((await moderate(server, moderator, streamId, slow)).status).toBe(200);
    expect((await state(host, streamId)).moderators.map((m: { id: string }) => m.id)).toEqual([
      moderator.user.id,
    ]);
  });

  it('refuses bad input with 400 and changes nothing; unknown streams, users and comments are not found', async () => {
    const { host, viewers, streamId } = await moderatedChannel(server, 1);
    const [viewer] = viewers as [TestUser];
    const before = await state(host, streamId);
    const bad = [
      {},
      { action: 'nuke' },
      { action: 'timeout', userId: viewer.user.id },
      { action: 'timeout', userId: viewer.user.id, seconds: 0 },
      { action: 'timeout', userId: viewer.user.id, seconds: 1.5 },
      { action: 'slow_mode', seconds: -1 },
      { action: 'slow_mode', seconds: 10_000 },
      { action: 'ban', userId: 'not-a-uuid' },
      { action: 'blocked_words', words: ['x'.repeat(41)] },
      { action: 'blocked_words', words: 'ass' },
      { action: 'delete_comment' },
    ];
    for (const body of bad) {
      const res = await moderate(server, host, streamId, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
    const socket = await socketOf(host);
    expect(
      await emitAck(socket, 'live_moderate', { streamId, action: 'slow_mode', seconds: 'x' }),
    ).toMatchObject({ ok: false, error: { code: 'invalid_input' } });
    expect(await state(host, streamId)).toEqual(before);
    expect((await moderationView(server, host, streamId)).body.actions).toHaveLength(1);

    const nobody = '00000000-0000-4000-8000-000000000000';
    const notFound = [
      [nobody, { action: 'slow_mode', seconds: 1 }],
      [streamId, { action: 'ban', userId: nobody }],
      [streamId, { action: 'delete_comment', commentId: nobody }],
    ] as const;
    for (const [stream, body] of notFound) {
      const res = await moderate(server, host, stream, body);
      expect(res.status, JSON.stringify(body)).toBe(404);
      expect(res.body.error.code).toBe('not_found');
    }
    // Acting on yourself is a mistake, not a permission.
    const self = await moderate(server, host, streamId, { action: 'ban', userId: host.user.id });
    expect(self.status).toBe(400);
    expect(self.body.error.code).toBe('invalid_input');
  });

  it('deletes a comment: the room is told once, history omits it, and a moderator may not delete the host', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 1);
    const [viewer] = viewers as [TestUser];
    const { socket: watching } = await joined(viewer, streamId);
    const spam = await comment(viewer, streamId, 'buy followers');
    const kept = await comment(viewer, streamId, 'hello');
    const fromHost = await comment(host, streamId, 'welcome');
    expect(spam.status).toBe(201);

    const deletions = collect(watching, 'live_comment_deleted');
    const told = nextEvent(watching, 'live_comment_deleted');
    const del = { action: 'delete_comment', commentId: spam.body.id } as const;
    const first = await moderate(server, moderator, streamId, del);
    expect(first.status).toBe(200);
    expect(first.body.entry).toMatchObject({
      streamId,
      action: del,
      actor: { id: moderator.user.id },
      target: { id: viewer.user.id },
    });
    expect(await told).toEqual({ streamId, commentId: spam.body.id });
    expect((await history(streamId)).map((c) => c.id)).toEqual([kept.body.id, fromHost.body.id]);

    // Again: the same answer, nobody told twice, one entry in the log.
    const again = await moderate(server, host, streamId, del);
    expect(again.status).toBe(200);
    expect(again.body.entry.id).toBe(first.body.entry.id);
    await sleep(200);
    expect(deletions).toHaveLength(1);

    const hostComment = await moderate(server, moderator, streamId, {
      action: 'delete_comment',
      commentId: fromHost.body.id,
    });
    expect(hostComment.status).toBe(403);
    // Another stream's comment is not this stream's to delete.
    const elsewhere = await startStream(server, viewer);
    const foreign = await comment(viewer, elsewhere, 'mine');
    expect(
      (
        await moderate(server, host, streamId, {
          action: 'delete_comment',
          commentId: foreign.body.id,
        })
      ).status,
    ).toBe(404);
    expect((await history(elsewhere)).map((c) => c.id)).toEqual([foreign.body.id]);
  });

  it('times a user out of the chat until it expires, over the socket and REST alike', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 1);
    const [viewer] = viewers as [TestUser];
    const { socket } = await joined(viewer, streamId);
    const modSocket = await socketOf(moderator);

    const told = nextEvent(socket, 'live_timed_out');
    // A long timeout, then a short one: the latest replaces it.
    const long = await emitAck(modSocket, 'live_moderate', {
      streamId,
      action: 'timeout',
      userId: viewer.user.id,
      seconds: 600,
    });
    expect(long).toMatchObject({
      ok: true,
      entry: { action: { action: 'timeout', seconds: 600 } },
    });
    expect(long.state.timeouts).toHaveLength(1);
    expect((await told).seconds).toBe(600);
    const short = await emitAck(modSocket, 'live_moderate', {
      streamId,
      action: 'timeout',
      userId: viewer.user.id,
      seconds: 2,
    });
    expect(short.ok).toBe(true);
    const until = Date.parse(short.state.timeouts[0].until);
    expect(until - Date.now()).toBeLessThan(2500);

    const refused = await emitAck(socket, 'live_comment', { streamId, comment: 'let me talk' });
    expect(refused).toMatchObject({ ok: false, error: { code: 'timed_out' } });
    expect(Date.parse(refused.error.until)).toBe(until);
    expect(refused.error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(refused.error.retryAfterSeconds).toBeLessThanOrEqual(2);
    const rest = await comment(viewer, streamId, 'still me');
    expect(rest.status).toBe(403);
    expect(rest.body.error.code).toBe('timed_out');
    // Rejoining shows the timeout too.
    const rejoin = await emitAck(await socketOf(viewer), 'join_live', { streamId });
    expect(rejoin.chat).toEqual({
      slowModeSeconds: 0,
      role: 'viewer',
      timedOutUntil: short.state.timeouts[0].until,
    });
    expect((await history(streamId)).map((c) => c.comment)).toEqual([]);

    await sleep(Math.max(0, until - Date.now()) + 200);
    expect(await emitAck(socket, 'live_comment', { streamId, comment: 'back' })).toMatchObject({
      ok: true,
      comment: { comment: 'back', role: 'viewer' },
    });
    expect((await state(host, streamId)).timeouts).toEqual([]);
  });

  it('holds viewers to slow mode, lets the host and moderators through, and turns it off with 0', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 1);
    const [viewer] = viewers as [TestUser];
    const { socket } = await joined(viewer, streamId);
    const told = nextEvent(socket, 'live_slow_mode');
    expect(
      (await moderate(server, moderator, streamId, { action: 'slow_mode', seconds: 2 })).status,
    ).toBe(200);
    expect(await told).toEqual({ streamId, seconds: 2 });
    expect(
      (await emitAck(await socketOf(viewer), 'join_live', { streamId })).chat.slowModeSeconds,
    ).toBe(2);

    expect((await emitAck(socket, 'live_comment', { streamId, comment: 'one' })).ok).toBe(true);
    const second = await emitAck(socket, 'live_comment', { streamId, comment: 'two' });
    expect(second).toMatchObject({ ok: false, error: { code: 'slow_mode' } });
    expect(second.error.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    const rest = await comment(viewer, streamId, 'three');
    expect(rest.status).toBe(429);
    expect(rest.body.error.code).toBe('slow_mode');
    expect(Number(rest.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Exempt: the host and moderators, as often as they like.
    for (const user of [host, host, moderator, moderator])
      expect((await comment(user, streamId, 'fast')).status).toBe(201);

    await sleep(2100);
    expect((await comment(viewer, streamId, 'four')).status).toBe(201);
    expect((await comment(viewer, streamId, 'five')).status).toBe(429);
    expect(
      (await moderate(server, host, streamId, { action: 'slow_mode', seconds: 0 })).status,
    ).toBe(200);
    expect((await comment(viewer, streamId, 'six')).status).toBe(201);
    expect((await comment(viewer, streamId, 'seven')).status).toBe(201);
  });

  it('refuses comments with a blocked word, whole words only and regardless of case, the host included', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 1);
    const [viewer] = viewers as [TestUser];
    const set = await moderate(server, moderator, streamId, {
      action: 'blocked_words',
      words: ['ass', 'ASS', 'bad phrase', 'straße'],
    });
    expect(set.status).toBe(200);
    expect(set.body.state.blockedWords).toEqual(['ASS', 'bad phrase', 'straße']);
    const { socket } = await joined(viewer, streamId);

    for (const text of ['ass', 'You Ass!', 'a BAD   phrase indeed', 'die STRASSE? no: Straße.']) {
      const res = await emitAck(socket, 'live_comment', { streamId, comment: text });
      expect(res, text).toMatchObject({ ok: false, error: { code: 'blocked_word' } });
    }
    for (const text of ['first class', 'assess', 'bad phrasing', 'straßenbahn', 'sass']) {
      const res = await emitAck(socket, 'live_comment', { streamId, comment: text });
      expect(res, text).toMatchObject({ ok: true });
    }
    const hostSays = await comment(host, streamId, 'no ass here');
    expect(hostSays.status).toBe(403);
    expect(hostSays.body.error.code).toBe('blocked_word');

    // An empty list lets everything through again.
    await moderate(server, host, streamId, { action: 'blocked_words', words: [] });
    expect((await comment(viewer, streamId, 'ass')).status).toBe(201);
  });

  it('appoints and removes moderators: their tabs are told, their comments carry the role, and they act on viewers only', async () => {
    const [host, helper, viewer] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const streamId = await startStream(server, host);
    const { socket, ack } = await joined(helper, streamId);
    expect(ack.chat).toEqual({ slowModeSeconds: 0, role: 'viewer', timedOutUntil: null });
    const made = nextEvent(socket, 'live_role');
    const appointed = await moderate(server, host, streamId, {
      action: 'add_moderator',
      userId: helper.user.id,
    });
    expect(appointed.status).toBe(200);
    expect(await made).toEqual({ streamId, role: 'moderator' });
    expect(
      (await emitAck(socket, 'live_comment', { streamId, comment: 'mod here' })).comment.role,
    ).toBe('moderator');
    await comment(host, streamId, 'host here');
    await comment(viewer, streamId, 'viewer here');
    expect((await history(streamId)).map((c) => c.role)).toEqual(['moderator', 'host', 'viewer']);
    expect((await emitAck(socket, 'join_live', { streamId })).chat.role).toBe('moderator');
    expect((await emitAck(await socketOf(host), 'join_live', { streamId })).chat.role).toBe('host');
    expect((await emitAck(await socketOf(undefined), 'join_live', { streamId })).chat).toEqual({
      slowModeSeconds: 0,
      role: 'viewer',
      timedOutUntil: null,
    });

    // A moderator times out viewers, never the host; the host may act on moderators.
    const onHost = await emitAck(socket, 'live_moderate', {
      streamId,
      action: 'timeout',
      userId: host.user.id,
      seconds: 60,
    });
    expect(onHost).toMatchObject({ ok: false, error: { code: 'forbidden' } });
    const other = await registerUser(server);
    await moderate(server, host, streamId, { action: 'add_moderator', userId: other.user.id });
    expect(
      (await moderate(server, helper, streamId, { action: 'ban', userId: other.user.id })).status,
    ).toBe(403);
    expect(
      (
        await moderate(server, host, streamId, {
          action: 'timeout',
          userId: other.user.id,
          seconds: 60,
        })
      ).status,
    ).toBe(200);

    const unmade = nextEvent(socket, 'live_role');
    await moderate(server, host, streamId, { action: 'remove_moderator', userId: helper.user.id });
    expect(await unmade).toEqual({ streamId, role: 'viewer' });
    expect(
      (await moderate(server, helper, streamId, { action: 'slow_mode', seconds: 5 })).body.error
        .code,
    ).toBe('forbidden');
    expect((await history(streamId)).map((c) => c.role)).toEqual(['viewer', 'host', 'viewer']);
  });

  it('bans a user from every stream of the host until unbanned, and a banned moderator loses the role', async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 2);
    const [viewer, bystander] = viewers as [TestUser, TestUser];
    const { socket: banned } = await joined(viewer, streamId);
    const { socket: watching } = await joined(bystander, streamId);
    expect((await request()('GET', `/api/live/${streamId}`)).body.viewerCount).toBe(2);

    const told = nextEvent(banned, 'live_banned');
    // Who left is told to the host's tabs only; a viewer sees the count.
    const left = nextEvent(await socketOf(host), 'viewer_left', (e) => e.userId === viewer.user.id);
    const toldViewer = collect(watching, 'viewer_left');
    const ban = await emitAck(await socketOf(moderator), 'live_moderate', {
      streamId,
      action: 'ban',
      userId: viewer.user.id,
    });
    expect(ban.ok).toBe(true);
    expect(ban.state.bans).toMatchObject([
      { user: { id: viewer.user.id }, bannedBy: { id: moderator.user.id } },
    ]);
    expect(await told).toEqual({ streamId });
    await left;
    expect(toldViewer).toEqual([]);
    expect((await request()('GET', `/api/live/${streamId}`)).body.viewerCount).toBe(1);

    // Out of the room: the chat no longer reaches them, and every way back in says why.
    const heard = collect(banned, 'live_comment_added');
    await comment(bystander, streamId, 'is it quiet?');
    expect(await emitAck(banned, 'live_comment', { streamId, comment: 'hey' })).toMatchObject({
      ok: false,
      error: { code: 'banned' },
    });
    expect(await emitAck(banned, 'join_live', { streamId })).toMatchObject({
      ok: false,
      error: { code: 'banned' },
    });
    const view = await request()('POST', `/api/live/${streamId}/view`, { token: viewer.token });
    expect([view.status, view.body.error.code]).toEqual([403, 'banned']);
    const rest = await comment(viewer, streamId, 'hey');
    expect([rest.status, rest.body.error.code]).toEqual([403, 'banned']);
    await sleep(200);
    expect(heard).toEqual([]);

    // A banned moderator is a moderator no more.
    const modTab = await socketOf(moderator);
    const unmade = nextEvent(modTab, 'live_role');
    await moderate(server, host, streamId, { action: 'ban', userId: moderator.user.id });
    expect(await unmade).toEqual({ streamId, role: 'viewer' });
    expect((await state(host, streamId)).moderators).toEqual([]);
    expect(
      (
        await moderate(server, host, streamId, {
          action: 'add_moderator',
          userId: moderator.user.id,
        })
      ).status,
    ).toBe(409);

    await moderate(server, host, streamId, { action: 'unban', userId: viewer.user.id });
    expect((await emitAck(banned, 'join_live', { streamId })).ok).toBe(true);
    expect((await comment(viewer, streamId, 'thanks')).status).toBe(201);
    const viewAgain = await request()('POST', `/api/live/${streamId}/view`, {
      token: viewer.token,
    });
    expect(viewAgain.status).toBe(200);
    expect(viewAgain.body.chat).toEqual({
      slowModeSeconds: 0,
      role: 'viewer',
      timedOutUntil: null,
    });
    expect(
      (await state(host, streamId)).bans.map((b: { user: { id: string } }) => b.user.id),
    ).toEqual([moderator.user.id]);
  });

  it("keeps bans, moderators and blocked words for the host's next stream, but not slow mode or timeouts", async () => {
    const { host, moderator, viewers, streamId } = await moderatedChannel(server, 2);
    const [troll, chatty] = viewers as [TestUser, TestUser];
    await moderate(server, host, streamId, { action: 'ban', userId: troll.user.id });
    await moderate(server, host, streamId, { action: 'blocked_words', words: ['spoiler'] });
    await moderate(server, host, streamId, { action: 'slow_mode', seconds: 60 });
    await moderate(server, host, streamId, {
      action: 'timeout',
      userId: chatty.user.id,
      seconds: 600,
    });
    await request()('POST', `/api/live/end/${streamId}`, { token: host.token });

    // An ended stream has no chat to slow or time out of.
    const late = await moderate(server, host, streamId, { action: 'slow_mode', seconds: 5 });
    expect([late.status, late.body.error.code]).toEqual([409, 'stream_ended']);

    const next = await startStream(server, host);
    const banned = await emitAck(await socketOf(troll), 'join_live', { streamId: next });
    expect(banned).toMatchObject({ ok: false, error: { code: 'banned' } });
    const { ack } = await joined(chatty, next);
    expect(ack.chat).toEqual({ slowModeSeconds: 0, role: 'viewer', timedOutUntil: null });
    expect((await comment(chatty, next, 'no spoiler please')).body.error.code).toBe('blocked_word');
    expect((await comment(chatty, next, 'one')).status).toBe(201);
    expect((await comment(chatty, next, 'two')).status).toBe(201);
    expect(
      (await moderate(server, moderator, next, { action: 'slow_mode', seconds: 3 })).status,
    ).toBe(200);
    const carried = await state(host, next);
    expect(carried).toMatchObject({
      streamId: next,
      slowModeSeconds: 3,
      blockedWords: ['spoiler'],
      moderators: [{ id: moderator.user.id }],
      bans: [{ user: { id: troll.user.id } }],
      timeouts: [],
    });
  });

  it('lists the actions taken newest first, in pages, to the host and moderators only', async () => {
    const [host, moderator, viewer, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await request()('POST', `/api/users/${host.user.id}/follow`, { token: moderator.token });
    const streamId = await startStream(server, host, { title: 'private', isPrivate: true });
    await moderate(server, host, streamId, { action: 'add_moderator', userId: moderator.user.id });
    await moderate(server, moderator, streamId, { action: 'slow_mode', seconds: 10 });
    await moderate(server, host, streamId, {
      action: 'timeout',
      userId: viewer.user.id,
      seconds: 30,
    });
    await moderate(server, moderator, streamId, { action: 'blocked_words', words: ['x'] });

    const first = await moderationView(server, moderator, streamId, '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.actions.map((a: { action: { action: string } }) => a.action.action)).toEqual([
      'blocked_words',
      'timeout',
    ]);
    expect(first.body.actions[1]).toMatchObject({
      actor: { id: host.user.id },
      target: { id: viewer.user.id },
      action: { action: 'timeout', userId: viewer.user.id, seconds: 30 },
    });
    expect(first.body.actions[0].target).toBeNull();
    const rest = await moderationView(
      server,
      host,
      streamId,
      `?limit=2&before=${first.body.nextBefore}`,
    );
    expect(rest.body.actions.map((a: { action: { action: string } }) => a.action.action)).toEqual([
      'slow_mode',
      'add_moderator',
    ]);
    expect(rest.body.nextBefore).toBeNull();
    expect(rest.body.state.slowModeSeconds).toBe(10);

    // Following is not moderating; a stranger cannot even see the private stream.
    await request()('POST', `/api/users/${host.user.id}/follow`, { token: viewer.token });
    expect((await moderationView(server, viewer, streamId)).status).toBe(403);
    expect((await moderationView(server, stranger, streamId)).status).toBe(404);
    expect((await moderationView(server, undefined, streamId)).status).toBe(401);
    expect((await moderationView(server, host, streamId, '?limit=0')).status).toBe(400);
  });
});
