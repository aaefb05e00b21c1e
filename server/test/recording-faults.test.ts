import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MyRecordings, StartedStream, StreamDetails } from '@onair/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import { publishFixture } from './support/whip-peers';
import {
  api,
  clusterEnv,
  connectSocket,
  emitAck,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const run = promisify(execFile);

async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Video frames ffprobe decodes from `url`, and its duration. */
async function decodable(url: string): Promise<{ frames: number; duration: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames:format=duration',
    '-of',
    'json',
    url,
  ]);
  const parsed = JSON.parse(stdout) as {
    streams: { nb_read_frames: string }[];
    format: { duration: string };
  };
  return {
    frames: Number(parsed.streams[0]?.nb_read_frames ?? 0),
    duration: Number(parsed.format.duration),
  };
}

describe('recordings through faults', () => {
  let server: TestServer | undefined;
  const cleanup: (() => unknown)[] = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
    await server?.stop();
    server = undefined;
  });

  const publish = (streamKey: string, streamId: string) =>
    publishFixture(server!, streamId, streamKey, cleanup);

  async function goLive(host: TestUser) {
    const started = await api(server!.url)<StartedStream>('POST', '/api/live/start', {
      token: host.token,
      body: { title: 'faults' },
    });
    expect(started.status).toBe(201);
    const { streamId, streamKey } = started.body;
    const { publisher, location } = await publish(streamKey, streamId);
    return { streamId, streamKey, publisher, location };
  }

  const details = async (streamId: string, token: string) =>
    (await api(server!.url)<StreamDetails>('GET', `/api/live/${streamId}`, { token })).body;

  it('counts HLS players as viewers by lease, once each, and not a page already counted', async () => {
    server = await startTestServer();
    const host = await registerUser(server);
    const fan = await registerUser(server);
    const { streamId } = await goLive(host);
    const playlist = `${server.url}/api/live/${streamId}/hls/r0/index.m3u8`;
    await until(async () => (await fetch(playlist)).ok, 15_000, 'the live playlist');
    const count = async () => (await details(streamId, host.token)).viewerCount;
    // The fetch above was an anonymous player (this process's address and agent): one viewer.
    await until(async () => (await count()) === 1, 5000, 'the anonymous HLS viewer');
    // Polling again renews the same lease; a page counted by its socket adds nobody.
    await fetch(playlist);
    await fetch(`${playlist}?present=1`, { headers: { 'user-agent': 'page' } });
    // The web app's URL carries `present` into the rendition playlists it lists.
    const multivariant = await (
      await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8?present=1`)
    ).text();
    expect(multivariant).toContain('r0/index.m3u8?present=1');
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toBe(1);
    // A signed-in player is its user.
    await fetch(playlist, { headers: { authorization: `Bearer ${fan.token}` } });
    await until(async () => (await count()) === 2, 5000, 'the signed-in HLS viewer');
    // The host's own polls never count.
    await fetch(playlist, { headers: { authorization: `Bearer ${host.token}` } });
    await new Promise((r) => setTimeout(r, 500));
    expect(await count()).toBe(2);
  }, 40_000);

  it('continues the same recording when the publisher comes back within the grace period', async () => {
    server = await startTestServer();
    const host = await registerUser(server);
    const { streamId, streamKey, publisher, location } = await goLive(host);
    await until(
      async () => ((await details(streamId, host.token)).recording?.durationSeconds ?? 0) >= 3,
      15_000,
      'the first part',
    );
    await new Promise((r) => setTimeout(r, 2000));
    // OBS stopping: the session's resource deleted (RFC 9725 §4.2), its peer connection closed.
    const stopped = await fetch(location, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${streamKey}` },
    });
    expect(stopped.status).toBe(200);
    await publisher.close();
    await new Promise((r) => setTimeout(r, 2000));
    // Back, as a new session: a new part of the same recording.
    await publish(streamKey, streamId);
    await new Promise((r) => setTimeout(r, 6000));
    await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    await until(
      async () => (await details(streamId, host.token)).recording?.status === 'ready',
      15_000,
      'the recording',
    );
    const recording = (await details(streamId, host.token)).recording!;
    expect(recording.timeline).toHaveLength(2);
    expect(recording.timeline[1]!.at).toBeGreaterThan(3);
    const media = await (
      await fetch(`${server.url}/api/live/${streamId}/hls/r0/index.m3u8`)
    ).text();
    expect(media).toContain('#EXT-X-DISCONTINUITY');
    expect(media).toContain('#EXT-X-MAP:URI="init-1.mp4"');
    const played = await decodable(`${server.url}${recording.url}`);
    expect(played.frames).toBeGreaterThan(recording.durationSeconds * 30 * 0.9);
    expect(Math.abs(played.duration - recording.durationSeconds)).toBeLessThan(1.5);
  }, 60_000);

  it('leaves a playable recording up to its last whole segment when the worker recording it dies', async () => {
    server = await startTestServer({
      env: { PUBLISHER_GRACE_SECONDS: '3', MEDIA_WORKERS: '1' },
      recordingAbandonMs: 2000,
    });
    const host = await registerUser(server);
    const { streamId } = await goLive(host);
    await until(
      async () => ((await details(streamId, host.token)).recording?.durationSeconds ?? 0) >= 5,
      20_000,
      'five seconds recorded',
    );
    for (const pid of server.media.pids) process.kill(pid, 'SIGKILL');
    // The publisher is gone with its worker: the stream ends after the grace period, and the
    // recording nobody closed is closed from what reached the disk.
    await until(
      async () => (await details(streamId, host.token)).recording?.status === 'ready',
      30_000,
      'the abandoned recording to be closed',
    );
    const recording = (await details(streamId, host.token)).recording!;
    expect(recording.durationSeconds).toBeGreaterThanOrEqual(5);
    const played = await decodable(`${server.url}${recording.url}`);
    expect(played.frames).toBeGreaterThan(recording.durationSeconds * 30 * 0.9);
  }, 60_000);

  it.skipIf(process.getuid?.() !== 0)(
    'stops the recording, never the stream, when the disk is full, and tells the host why',
    async () => {
      // A real full disk: a 1 MB filesystem as the recordings directory.
      const dir = await mkdtemp(path.join(tmpdir(), 'onair-full-'));
      await run('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir]);
      cleanup.push(async () => {
        await run('umount', [dir]).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      });
      server = await startTestServer({ env: { RECORDINGS_DIR: dir } });
      const host = await registerUser(server);
      const socket = await connectSocket(server, host.token);
      cleanup.push(() => socket.close());
      const notices: { status: string; error: string | null }[] = [];
      socket.on('live_recording', (change) => notices.push(change));
      const { streamId, publisher } = await goLive(host);
      await emitAck(socket, 'join_live', { streamId });
      await until(async () => notices.length > 0, 20_000, 'the failure notice');
      expect(notices[0]).toEqual({ streamId, status: 'failed', error: 'The disk is full' });
      const view = await details(streamId, host.token);
      expect(view.status).toBe('live');
      expect(view.recording).toMatchObject({ status: 'failed', error: 'The disk is full' });
      // The stream goes on: the publisher still sends and a viewer still gets its media.
      const sent = publisher.sent.video;
      await new Promise((r) => setTimeout(r, 1000));
      expect(publisher.sent.video).toBeGreaterThan(sent + 20);
      expect((await details(streamId, host.token)).status).toBe('live');
    },
    60_000,
  );

  it('stops the recording, never the stream, when the recordings directory cannot be written', async () => {
    // A file where the directory should be: nothing can be made under it, even by root.
    const parent = await mkdtemp(path.join(tmpdir(), 'onair-unwritable-'));
    const blocker = path.join(parent, 'not-a-directory');
    await writeFile(blocker, 'x');
    cleanup.push(() => rm(parent, { recursive: true, force: true }));
    server = await startTestServer({ env: { RECORDINGS_DIR: path.join(blocker, 'recordings') } });
    const host = await registerUser(server);
    const { streamId, publisher } = await goLive(host);
    await until(
      async () => (await details(streamId, host.token)).recording?.status === 'failed',
      20_000,
      'the recording to fail',
    );
    expect((await details(streamId, host.token)).recording?.error).toBe(
      'The recordings directory cannot be written',
    );
    const sent = publisher.sent.video;
    await new Promise((r) => setTimeout(r, 1000));
    expect(publisher.sent.video).toBeGreaterThan(sent + 20);
    expect((await details(streamId, host.token)).status).toBe('live');
  }, 40_000);

  it('deletes recordings past RECORDING_RETENTION_DAYS, and lists the host their disk use until then', async () => {
    // Three seconds of retention, checked every second.
    server = await startTestServer({
      env: { RECORDING_RETENTION_DAYS: String(3 / 86_400) },
      recordingAbandonMs: 1000,
    });
    const host = await registerUser(server);
    const { streamId } = await goLive(host);
    await until(
      async () => ((await details(streamId, host.token)).recording?.durationSeconds ?? 0) >= 2,
      15_000,
      'two seconds recorded',
    );
    await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    await until(
      async () => (await details(streamId, host.token)).recording?.status === 'ready',
      10_000,
      'the recording',
    );
    const mine = await api(server.url)<MyRecordings>('GET', '/api/me/recordings', {
      token: host.token,
    });
    expect(mine.status).toBe(200);
    expect(mine.body.retentionDays).toBeCloseTo(3 / 86_400);
    expect(mine.body.recordings).toEqual([
      expect.objectContaining({ streamId, title: 'faults', status: 'ready' }),
    ]);
    expect(mine.body.totalBytes).toBeGreaterThan(50_000);
    expect(mine.body.totalBytes).toBe(mine.body.recordings[0]!.bytes);
    const other = await registerUser(server);
    const theirs = await api(server.url)<MyRecordings>('GET', '/api/me/recordings', {
      token: other.token,
    });
    expect(theirs.body).toMatchObject({ totalBytes: 0, recordings: [] });
    await until(
      async () => (await details(streamId, host.token)).recording === null,
      10_000,
      'the recording to be deleted',
    );
    expect((await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)).status).toBe(404);
    const after = await api(server.url)<MyRecordings>('GET', '/api/me/recordings', {
      token: host.token,
    });
    expect(after.body).toMatchObject({ totalBytes: 0, recordings: [] });
  }, 40_000);

  it.runIf(Boolean(process.env.DATABASE_URL))(
    'serves a stream recorded on one node from another that shares the recordings directory',
    async () => {
      const dir = await mkdtemp(path.join(tmpdir(), 'onair-shared-recordings-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const shared = { ...clusterEnv(), MEDIA_WORKERS: '1', RECORDINGS_DIR: dir };
      server = await startTestServer({ engine: 'postgres', env: { ...shared, NODE_ID: 'rec-a' } });
      const other = await startTestServer({
        env: { ...shared, NODE_ID: 'rec-b', DATABASE_URL: server.databaseUrl! },
      });
      cleanup.push(() => other.stop());
      const host = await registerUser(server);
      const { streamId } = await goLive(host);
      // Live, from the node that does not hold the publisher.
      const onB = `${other.url}/api/live/${streamId}/hls/index.m3u8`;
      await until(async () => (await fetch(onB)).ok, 15_000, 'the live playlist on the other node');
      await new Promise((r) => setTimeout(r, 4000));
      await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
      await until(
        async () =>
          (await api(other.url)<StreamDetails>('GET', `/api/live/${streamId}`)).body.recording
            ?.status === 'ready',
        15_000,
        'the recording, seen from the other node',
      );
      const recording = (await api(other.url)<StreamDetails>('GET', `/api/live/${streamId}`)).body
        .recording!;
      const played = await decodable(`${other.url}/api/live/${streamId}/hls/index.m3u8`);
      expect(played.frames).toBeGreaterThan(recording.durationSeconds * 30 * 0.9);
      const webm = await fetch(`${other.url}${recording.url}`);
      expect(webm.status).toBe(200);
      expect(webm.headers.get('content-type')).toBe('video/webm');
    },
    60_000,
  );
});
