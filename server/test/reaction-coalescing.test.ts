import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LiveReaction, Reaction } from '@onair/protocol';
import { ReactionCoalescer, reactionWindowMs } from '../src/realtime/ReactionCoalescer';
import {
  api,
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

const heart: Reaction = '❤️';
const fire: Reaction = '🔥';

/** A received reaction and when it arrived. */
type Heard = LiveReaction & { at: number };

const timed = (socket: ClientSocket): Heard[] => {
  const heard: Heard[] = [];
  socket.on('live_reaction_received', (r) => heard.push({ ...r, at: Date.now() }));
  return heard;
};

const sumOfCounts = (heard: LiveReaction[]) => heard.reduce((sum, r) => sum + r.count, 0);

describe.each(engines)('reactions coalesced per emoji per 250 ms on %s (issue 11)', (engine) => {
  let server: TestServer;
  let host: TestUser;
  let viewers: TestUser[];
  const open: ClientSocket[] = [];
  const socketOf = async (user: TestUser) => {
    const socket = await connectSocket(server, user.token);
    open.push(socket);
    return socket;
  };
  /** A live stream with the host's socket and one socket per viewer in its room. */
  const liveRoom = async (people = viewers) => {
    await endLive(server, host);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'reactions' },
    });
    const streamId: string = started.body.streamId;
    const hostSocket = await socketOf(host);
    const viewerSockets = await Promise.all(people.map(socketOf));
    for (const socket of [hostSocket, ...viewerSockets])
      expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    return { streamId, hostSocket, viewerSockets };
  };

  beforeAll(async () => {
    server = await startTestServer({ engine });
    [host, ...viewers] = await Promise.all([
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

  it('sends the first reaction at once with its sender, then the rest of the window as one count', async () => {
    const { streamId, hostSocket, viewerSockets } = await liveRoom();
    const [a, b, c] = viewerSockets as [ClientSocket, ClientSocket, ClientSocket];
    const heard = timed(hostSocket);
    const first = nextEvent(hostSocket, 'live_reaction_received');
    expect((await emitAck(a, 'live_reaction', { streamId, reaction: heart })).ok).toBe(true);
    expect(await first).toMatchObject({
      streamId,
      reaction: heart,
      count: 1,
      userId: viewers[0]!.user.id,
      username: viewers[0]!.username,
    });
    // Six more hearts from three people, and one fire, inside the window the first one opened.
    const acks = await Promise.all([
      ...[a, b, c, a, b, c].map((s) => emitAck(s, 'live_reaction', { streamId, reaction: heart })),
      emitAck(b, 'live_reaction', { streamId, reaction: fire }),
    ]);
    expect(acks.every((ack) => ack.ok)).toBe(true);
    await sleep(reactionWindowMs * 3);

    const hearts = heard.filter((r) => r.reaction === heart);
    expect(hearts.map(({ count, userId, username }) => ({ count, userId, username }))).toEqual([
      { count: 1, userId: viewers[0]!.user.id, username: viewers[0]!.username },
      { count: 6, userId: null, username: null },
    ]);
    expect(hearts[1]!.at - hearts[0]!.at).toBeGreaterThanOrEqual(reactionWindowMs - 50);
    // Another emoji has windows of its own: its single reaction goes out at once, named.
    expect(heard.filter((r) => r.reaction === fire)).toEqual([
      expect.objectContaining({ count: 1, userId: viewers[1]!.user.id }),
    ]);
    // Everyone in the room hears the same.
    expect(sumOfCounts(heard)).toBe(8);
  });

  it('a window that caught one reaction names its sender', async () => {
    const { streamId, hostSocket, viewerSockets } = await liveRoom();
    const heard = timed(hostSocket);
    const [a, b] = viewerSockets as [ClientSocket, ClientSocket];
    await emitAck(a, 'live_reaction', { streamId, reaction: fire });
    await emitAck(b, 'live_reaction', { streamId, reaction: fire });
    await sleep(reactionWindowMs * 3);
    expect(heard.map(({ count, userId }) => ({ count, userId }))).toEqual([
      { count: 1, userId: viewers[0]!.user.id },
      { count: 1, userId: viewers[1]!.user.id },
    ]);
    // The second was held for the window the first opened, not sent beside it.
    expect(heard[1]!.at - heard[0]!.at).toBeGreaterThanOrEqual(reactionWindowMs - 50);
  });

  it('keeps to one event per emoji per window under a steady stream, counting every reaction accepted', async () => {
    // People whose reaction budgets (20 per 4 s) are untouched, so exactly 40 are accepted.
    const fresh = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const { streamId, hostSocket, viewerSockets } = await liveRoom(fresh);
    const heard = timed(hostSocket);
    const atViewer = timed(viewerSockets[2]!);
    let accepted = 0;
    // About 1.2 s of reactions from two people, more than their budget (20 per 4 s) allows.
    for (let round = 0; round < 24; round += 1) {
      const acks = await Promise.all(
        viewerSockets
          .slice(0, 2)
          .map((s) => emitAck(s, 'live_reaction', { streamId, reaction: heart })),
      );
      accepted += acks.filter((ack) => ack.ok).length;
      const refused = acks.filter((ack) => !ack.ok);
      expect(refused.every((ack) => ack.error.code === 'rate_limited')).toBe(true);
      await sleep(50);
    }
    await sleep(reactionWindowMs * 3);
    expect(accepted).toBe(40);
    expect(sumOfCounts(heard)).toBe(accepted);
    expect(heard.length).toBeLessThan(accepted / 2);
    for (let i = 1; i < heard.length; i += 1)
      expect(heard[i]!.at - heard[i - 1]!.at).toBeGreaterThanOrEqual(reactionWindowMs - 50);
    expect(atViewer.map((r) => r.count)).toEqual(heard.map((r) => r.count));
  });
});

describe('ReactionCoalescer', () => {
  const sent = (streamId: string, userId = 'u1') => ({
    streamId,
    reaction: heart,
    userId,
    username: `name-${userId}`,
  });

  it('sends nothing of a dropped stream, keeps others going, and leaves no timer after close', async () => {
    const out: LiveReaction[] = [];
    const coalescer = new ReactionCoalescer((r) => out.push(r), 40);
    coalescer.add(sent('s1'));
    coalescer.add(sent('s1', 'u2'));
    coalescer.add(sent('s2'));
    coalescer.add(sent('s2', 'u2'));
    coalescer.add(sent('s2', 'u3'));
    coalescer.drop('s1');
    await sleep(120);
    expect(out.map((r) => [r.streamId, r.count, r.userId])).toEqual([
      ['s1', 1, 'u1'],
      ['s2', 1, 'u1'],
      ['s2', 2, null],
    ]);
    coalescer.add(sent('s2', 'u4'));
    coalescer.add(sent('s2', 'u5'));
    const before = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    coalescer.close();
    coalescer.close();
    const after = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    expect(before - after).toBe(1);
    await sleep(120);
    expect(out).toHaveLength(4);
  });
});
