import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { SafeEmitter } from '../src/events/SafeEmitter';
import { SyntheticPublisher, waitFor } from './support/loopback-peers';
import {
  api,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  startTestServer,
  type TestServer,
} from './support/server';

const failing = (what: string) => () => {
  throw new Error(`${what} listener broke`);
};
/** An async listener where a plain one is expected: the misuse the emitters must survive. */
const rejecting = (what: string) =>
  (async () => {
    await Promise.resolve();
    throw new Error(`${what} listener rejected`);
  }) as () => void;
const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Unhandled rejections and uncaught exceptions seen while `run` runs (either would end a server). */
async function processFailuresDuring(run: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const onFailure = (error: unknown) => seen.push(error);
  process.on('unhandledRejection', onFailure);
  process.on('uncaughtException', onFailure);
  try {
    await run();
    // Rejections are reported a turn or two after they happen.
    await tick();
    await tick();
  } finally {
    process.off('unhandledRejection', onFailure);
    process.off('uncaughtException', onFailure);
  }
  return seen;
}

describe('SafeEmitter', () => {
  type Events = { changed: [value: number] };

  it('runs every listener and returns to the caller when one throws and one rejects', async () => {
    const reported: [string, string][] = [];
    const emitter = new SafeEmitter<Events>((error, event) =>
      reported.push([event, (error as Error).message]),
    );
    const received: number[] = [];
    emitter.on('changed', failing('first'));
    emitter.on('changed', rejecting('second'));
    emitter.on('changed', (value) => received.push(value));
    emitter.once('changed', (value) => received.push(value * 10));

    const failures = await processFailuresDuring(async () => {
      expect(emitter.emit('changed', 1)).toBe(true);
      expect(received).toEqual([1, 10]);
      emitter.emit('changed', 2);
    });

    expect(failures).toEqual([]);
    expect(received).toEqual([1, 10, 2]);
    expect(reported).toEqual([
      ['changed', 'first listener broke'],
      ['changed', 'first listener broke'],
      ['changed', 'second listener rejected'],
      ['changed', 'second listener rejected'],
    ]);
  });

  it('survives a reporter that throws, and says when nobody listened', () => {
    const emitter = new SafeEmitter<Events>(failing('reporter'));
    expect(emitter.emit('changed', 1)).toBe(false);
    emitter.on('changed', failing('only'));
    expect(emitter.emit('changed', 1)).toBe(true);
  });
});

describe('listener failures on a running server', () => {
  let server: TestServer | undefined;
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
    await server?.stop();
    server = undefined;
  });

  /** A server whose error log is kept, to see listener failures reported there. */
  const start = async () => {
    const errors: { msg: string; event?: string; err?: { message: string } }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n'))
          if (line) errors.push(JSON.parse(line) as (typeof errors)[number]);
        done();
      },
    });
    server = await startTestServer({ logger: pino({ level: 'error' }, sink) });
    return { server, errors };
  };

  it('a throwing and a rejecting domain listener leave a comment stored, acked and broadcast', async () => {
    const { server, errors } = await start();
    // First in line, so the product's own listener (the room broadcast) runs after them.
    server.events.prependListener('comment_added', rejecting('comment'));
    server.events.prependListener('comment_added', failing('comment'));
    const host = await registerUser(server);
    const viewer = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'listeners' },
    });
    const streamId: string = started.body.streamId;
    const viewerSocket = await connectSocket(server, viewer.token);
    cleanup.push(() => viewerSocket.close());
    await emitAck(viewerSocket, 'join_live', { streamId });

    const failures = await processFailuresDuring(async () => {
      const broadcast = nextEvent(viewerSocket, 'live_comment_added');
      const ack = await emitAck(viewerSocket, 'live_comment', { streamId, comment: 'still here' });
      expect(ack).toMatchObject({ ok: true, comment: { comment: 'still here' } });
      expect((await broadcast).id).toBe(ack.comment.id);
      const history = await api(server.url)('GET', `/api/live/${streamId}/comments`);
      expect(history.body.comments.map((c: { id: string }) => c.id)).toEqual([ack.comment.id]);
    });

    expect(failures).toEqual([]);
    await waitFor(() => errors.length >= 2, 2000, 'both failures logged');
    expect(errors.map((e) => [e.msg, e.event, e.err?.message]).sort()).toEqual([
      ['live event listener failed', 'comment_added', 'comment listener broke'],
      ['live event listener failed', 'comment_added', 'comment listener rejected'],
    ]);
  });

  it('a throwing and a rejecting media listener neither crash the server nor stop the stream resuming', async () => {
    const { server, errors } = await start();
    // The pool emits from its IPC message handler, where a throw used to be uncaught.
    server.media.prependListener('publisher_connected', rejecting('media'));
    server.media.prependListener('publisher_connected', failing('media'));
    const host = await registerUser(server);
    const started = await api(server.url)('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'media listeners' },
    });
    const streamId: string = started.body.streamId;
    const hostSocket = await connectSocket(server, host.token);
    cleanup.push(() => hostSocket.close());
    await emitAck(hostSocket, 'join_live', { streamId });

    const failures = await processFailuresDuring(async () => {
      // The lifecycle's own listener still hears the publisher and tells the room.
      const resumed = nextEvent(hostSocket, 'broadcaster_resumed', undefined, 10_000);
      const publisher = new SyntheticPublisher();
      cleanup.push(() => publisher.close());
      const res = await emitAck(hostSocket, 'live_offer', {
        streamId,
        description: { type: 'offer', sdp: await publisher.offer() },
      });
      expect(res.ok).toBe(true);
      await publisher.accept(res.description.sdp);
      publisher.start();
      expect(await resumed).toEqual({ streamId });
    });

    expect(failures).toEqual([]);
    await waitFor(() => errors.length >= 2, 2000, 'both failures logged');
    expect(errors.map((e) => [e.msg, e.event, e.err?.message]).sort()).toEqual([
      ['media event listener failed', 'publisher_connected', 'media listener broke'],
      ['media event listener failed', 'publisher_connected', 'media listener rejected'],
    ]);
    expect(server.media.stats().publishers).toBe(1);
    expect((await api(server.url)('GET', '/api/health')).status).toBe(200);
  }, 60_000);
});
