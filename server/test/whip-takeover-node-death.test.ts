/**
 * Issue 17, item 3: the origin node killed with SIGKILL. A WHIP client re-posting with the same
 * key to another node takes the stream over once the node registry notices the origin is gone;
 * if nobody returns, a surviving node ends the stream after the grace period.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startEntryPoint } from './support/entry-point';
import { waitFor } from './support/loopback-peers';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  nextEvent,
  registerUser,
  sleep,
  startTestServer,
} from './support/server';
import {
  keyOf,
  publishWithKey,
  videoFlowing,
  watchOverWhep,
  type Cleanup,
} from './support/whip-peers';

const cleanup: Cleanup = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A node as `npm start` runs it, in a process of its own, on the deployment of `shared`. */
async function processNode(shared: Record<string, string>, nodeId: string) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-takeover-'));
  cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
  const node = await startEntryPoint({
    ...shared,
    NODE_ID: nodeId,
    DATA_DIR: dataDir,
    WEB_DIR: path.join(dataDir, 'none'),
  });
  cleanup.push(() => node.stop());
  return node;
}

/** A node in this process (to look at) and one in a process of its own (to kill), one deployment. */
async function survivorAndVictim(env: Record<string, string>) {
  const shared = { ...clusterEnv(), MEDIA_WORKERS: '1', ...env };
  const survivor = await startTestServer({ engine: 'postgres', env: shared });
  cleanup.push(() => survivor.stop());
  await survivor.media.ready();
  const victimId = `victim-${Math.random().toString(36).slice(2, 8)}`;
  const victim = await processNode({ ...shared, DATABASE_URL: survivor.databaseUrl! }, victimId);
  await waitFor(() => survivor.registry.isAlive(victimId), 5000, 'the survivor to see the victim');
  return { survivor, victim, victimId };
}

const statusOf = async (server: { url: string }, streamId: string) =>
  (await api(server.url)('GET', `/api/live/${streamId}`)).body.status as string;

describe.runIf(Boolean(process.env.DATABASE_URL))('WHIP takeover when the origin node dies', () => {
  it('takes the stream over on another node once the registry notices the origin killed with SIGKILL', async () => {
    const { survivor, victim, victimId } = await survivorAndVictim({
      PUBLISHER_GRACE_SECONDS: '30',
    });
    const [host, fan] = await Promise.all([registerUser(survivor), registerUser(survivor)]);
    const key = await keyOf(survivor, host);
    const first = await publishWithKey(victim, key, cleanup);
    expect(first.status).toBe(201);
    const streamId = first.streamId!;
    const socket = await connectSocket(survivor, fan.token);
    cleanup.push(() => socket.close());
    expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    const reconnecting = nextEvent(socket, 'broadcaster_reconnecting', undefined, 15_000);

    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    // A WHIP client re-posting with the same key, once a second, as OBS's reconnect does: the
    // stream is held by a node not yet known to be gone, so the first tries are refused.
    let taken: Awaited<ReturnType<typeof publishWithKey>> | undefined;
    let refusals = 0;
    while (!taken && Date.now() - killedAt < 15_000) {
      const attempt = await publishWithKey(survivor, key, cleanup);
      if (attempt.status === 201) taken = attempt;
      else {
        expect(attempt.status).toBe(409);
        expect(JSON.parse(attempt.body)).toMatchObject({ error: { code: 'already_live' } });
        refusals += 1;
        await attempt.publisher.close();
        await sleep(1000);
      }
    }
    const takenMs = Date.now() - killedAt;
    expect(taken, 'taken over within 15 s').toBeDefined();
    expect(taken!.streamId).toBe(streamId);
    expect(refusals).toBeGreaterThan(0);
    expect(takenMs).toBeLessThan(12_000);
    expect(survivor.registry.isAlive(victimId)).toBe(false);
    console.info(`taken over ${takenMs} ms after the kill, after ${refusals} refusals`);

    await reconnecting.catch(() => undefined);
    const viewer = await watchOverWhep(survivor, streamId, fan.token, cleanup);
    await videoFlowing(viewer, 'media from the publisher on the survivor');
    expect(await statusOf(survivor, streamId)).toBe('live');
  }, 60_000);

  it('ends the stream after the grace period when its origin was killed and nobody returns', async () => {
    const graceSeconds = 3;
    const { survivor, victim } = await survivorAndVictim({
      PUBLISHER_GRACE_SECONDS: String(graceSeconds),
    });
    const [host, fan] = await Promise.all([registerUser(survivor), registerUser(survivor)]);
    const first = await publishWithKey(victim, await keyOf(survivor, host), cleanup);
    expect(first.status).toBe(201);
    const streamId = first.streamId!;
    const socket = await connectSocket(survivor, fan.token);
    cleanup.push(() => socket.close());
    expect((await emitAck(socket, 'join_live', { streamId })).ok).toBe(true);
    const reconnecting = nextEvent(socket, 'broadcaster_reconnecting', undefined, 15_000);
    const ended = nextEvent(socket, 'live_ended', undefined, 25_000);

    await first.publisher.close();
    victim.child.kill('SIGKILL');
    await victim.exited;
    const killedAt = Date.now();
    // Viewers are told to wait once a surviving node answers for the stream ...
    expect(await reconnecting).toEqual({ streamId, graceSeconds });
    const noticedMs = Date.now() - killedAt;
    expect(await statusOf(survivor, streamId)).toBe('live');
    // ... and it ends a grace period later, as a stream whose publisher never returns always did.
    expect((await ended).streamId).toBe(streamId);
    const endedMs = Date.now() - killedAt;
    expect(endedMs).toBeGreaterThanOrEqual(noticedMs + graceSeconds * 1000 - 100);
    expect(endedMs).toBeLessThan(noticedMs + graceSeconds * 1000 + 3000);
    expect(await statusOf(survivor, streamId)).toBe('ended');
    console.info(`noticed ${noticedMs} ms after the kill, ended after ${endedMs} ms`);
  }, 60_000);
});
