import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ProfilePage, StartedStream, StreamDetails } from '@onair/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFixture } from './support/whip-peers';
import {
  api,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const run = promisify(execFile);

/** Polls an asynchronous condition every 200 ms; fails after `ms`. */
async function until(check: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** ffprobe's reading of a URL or file: the streams' codecs and the container's duration. */
async function probe(url: string): Promise<{ codecs: string[]; duration: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'stream=codec_name:format=duration',
    '-of',
    'json',
    url,
  ]);
  const parsed = JSON.parse(stdout) as {
    streams: { codec_name: string }[];
    format: { duration?: string };
  };
  return {
    codecs: parsed.streams.map((s) => s.codec_name).sort(),
    duration: Number(parsed.format.duration ?? 0),
  };
}

/** Decodes every frame of `url` with ffmpeg; returns the video frames decoded and any error output. */
async function decode(url: string): Promise<{ frames: number; errors: string }> {
  const { stdout, stderr } = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-count_frames',
    '-show_entries',
    'stream=nb_read_frames',
    '-of',
    'csv=p=0',
    url,
  ]);
  return { frames: Number(stdout.trim().split('\n')[0]), errors: stderr };
}

for (const engine of engines)
  describe(`recording and HLS on ${engine}`, () => {
    let server: TestServer;
    let host: TestUser;
    let stranger: TestUser;
    const cleanup: (() => unknown)[] = [];

    beforeAll(async () => {
      server = await startTestServer({ engine });
      host = await registerUser(server);
      stranger = await registerUser(server);
    });
    afterAll(async () => {
      for (const step of cleanup.reverse()) await step();
      await server?.stop();
    });

    /** A new host (each test its own: one live stream per host) publishing the fixture. */
    async function goLive(body: Record<string, unknown>) {
      host = await registerUser(server);
      const started = await api(server.url)<StartedStream>('POST', '/api/live/start', {
        token: host.token,
        body,
      });
      expect(started.status).toBe(201);
      const { streamId, streamKey } = started.body;
      const { publisher } = await publishFixture(server, streamId, streamKey, cleanup);
      return { streamId, publisher };
    }

    const details = async (streamId: string, token?: string) =>
      (await api(server.url)<StreamDetails>('GET', `/api/live/${streamId}`, { token })).body;
    /** How long the replay of the host's past stream is, as their profile lists it. */
    const listedReplay = async (streamId: string) => {
      const profile = await api(server.url)<ProfilePage>(
        'GET',
        `/api/users/by-username/${host.username}`,
      );
      return profile.body.pastStreams.find((s) => s.streamId === streamId)?.replaySeconds;
    };

    it('records a stream, packages it live, and replays it whole once it ends', async () => {
      const { streamId } = await goLive({ title: 'recorded' });
      const startedAt = Date.now();
      // Live: the multivariant playlist and its rendition's window, read by ffprobe.
      await until(
        async () => (await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)).ok,
        15_000,
        'the live playlist',
      );
      // The API names the recording once its first segment is reported.
      await until(
        async () => (await details(streamId, host.token)).recording?.url != null,
        10_000,
        'the recording to be named',
      );
      const live = await details(streamId, host.token);
      // VP8 (the fixture) is packaged, but no browser's MSE plays it: the app is not offered it.
      expect(live.hlsUrl).toBeNull();
      const hlsUrl = `/api/live/${streamId}/hls/index.m3u8`;
      expect(live.recording?.url).toBe(hlsUrl);
      const multivariant = await fetch(`${server.url}${hlsUrl}`);
      expect(multivariant.headers.get('content-type')).toContain('application/vnd.apple.mpegurl');
      expect(multivariant.headers.get('cache-control')).toBe('public, max-age=1');
      const text = await multivariant.text();
      expect(text).toMatch(/#EXT-X-STREAM-INF:BANDWIDTH=\d+,RESOLUTION=1280x720,CODECS="vp8,opus"/);
      const livePlaylist = await (
        await fetch(`${server.url}/api/live/${streamId}/hls/r0/index.m3u8`)
      ).text();
      expect(livePlaylist).toContain('#EXT-X-MEDIA-SEQUENCE:');
      expect(livePlaylist).not.toContain('#EXT-X-ENDLIST');
      const segment = /^(seg-\d+-\d+\.m4s)$/m.exec(livePlaylist)?.[1];
      expect(segment).toBeDefined();
      const segmentRes = await fetch(`${server.url}/api/live/${streamId}/hls/r0/${segment}`);
      expect(segmentRes.status).toBe(200);
      expect(segmentRes.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      const liveProbe = await probe(`${server.url}${hlsUrl}`);
      expect(liveProbe.codecs).toEqual(['opus', 'vp8']);

      await new Promise((r) => setTimeout(r, 8000));
      const ended = await api(server.url)('POST', `/api/live/end/${streamId}`, {
        token: host.token,
      });
      expect(ended.status).toBe(200);
      const elapsed = (Date.now() - startedAt) / 1000;
      await until(
        async () => (await details(streamId, host.token)).recording?.status === 'ready',
        15_000,
        'the recording to be ready',
      );
      const replay = await details(streamId, host.token);
      const recording = replay.recording!;
      expect(replay.hlsUrl).toBeNull();
      // VP8 (the fixture) replays as one WebM file: browsers play no VP8 over HLS.
      expect(recording.url).toBe(`/api/live/${streamId}/recording.webm`);
      const vodUrl = `/api/live/${streamId}/hls/index.m3u8`;
      expect(recording.durationSeconds).toBeGreaterThan(elapsed - 3);
      expect(recording.durationSeconds).toBeLessThan(elapsed + 1);
      expect(recording.bytes).toBeGreaterThan(100_000);
      expect(recording.timeline).toHaveLength(1);
      const vod = await (
        await fetch(`${server.url}/api/live/${streamId}/hls/r0/index.m3u8`)
      ).text();
      expect(vod).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
      expect(vod).toContain('#EXT-X-ENDLIST');
      const vodProbe = await probe(`${server.url}${vodUrl}`);
      expect(vodProbe.codecs).toEqual(['opus', 'vp8']);
      expect(Math.abs(vodProbe.duration - recording.durationSeconds)).toBeLessThan(1.5);
      const decoded = await decode(`${server.url}${vodUrl}`);
      // 30 frames a second, all of them decodable.
      expect(decoded.frames).toBeGreaterThan(recording.durationSeconds * 30 * 0.9);
      const webm = await probe(`${server.url}${recording.url}`);
      expect(webm.codecs).toEqual(['opus', 'vp8']);
      expect(Math.abs(webm.duration - recording.durationSeconds)).toBeLessThan(1.5);
      expect((await decode(`${server.url}${recording.url}`)).frames).toBe(decoded.frames);
      // Seeking asks for ranges.
      const range = await fetch(`${server.url}${recording.url}`, {
        headers: { range: 'bytes=1000-1999' },
      });
      expect(range.status).toBe(206);
      expect((await range.arrayBuffer()).byteLength).toBe(1000);

      // The host's download: one MP4 that ffprobe reads whole; nobody else's.
      expect(recording.downloadUrl).toMatch(/\/recording\.mp4\?token=/);
      // Saved as a person's browser saves it, then read from the disk.
      const file = await fetch(`${server.url}${recording.downloadUrl}`);
      expect(file.headers.get('content-disposition')).toMatch(/^attachment; filename="/);
      const bytes = Buffer.from(await file.arrayBuffer());
      expect(bytes.length).toBe(Number(file.headers.get('content-length')));
      const saved = path.join(mkdtempSync(path.join(tmpdir(), 'onair-download-')), 'stream.mp4');
      writeFileSync(saved, bytes);
      const download = await probe(saved);
      expect(download.codecs).toEqual(['opus', 'vp8']);
      expect(Math.abs(download.duration - recording.durationSeconds)).toBeLessThan(1.5);
      const strangerView = await details(streamId, stranger.token);
      expect(strangerView.recording?.downloadUrl).toBeNull();
      expect(strangerView.recording?.bytes).toBe(0);
      const unsigned = await fetch(`${server.url}/api/live/${streamId}/recording.mp4`);
      expect(unsigned.status).toBe(404);

      // The host's profile lists it with its replay.
      expect(await listedReplay(streamId)).toBe(recording.durationSeconds);

      // Deleted: the playlist and the segments are gone.
      const refused = await fetch(`${server.url}/api/live/${streamId}/recording`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${stranger.token}` },
      });
      expect(refused.status).toBe(404);
      const deleted = await fetch(`${server.url}/api/live/${streamId}/recording`, {
        method: 'DELETE',
        headers: { authorization: `Bearer ${host.token}` },
      });
      expect(deleted.status).toBe(204);
      expect((await details(streamId, host.token)).recording).toBeNull();
      expect(await listedReplay(streamId)).toBeNull();
      expect((await fetch(`${server.url}${recording.url}`)).status).toBe(404);
      expect((await fetch(`${server.url}${vodUrl}`)).status).toBe(404);
      expect((await fetch(`${server.url}/api/live/${streamId}/hls/r0/${segment}`)).status).toBe(
        404,
      );
    }, 60_000);

    it("keeps a private stream's files from strangers: 404 without the signed URL", async () => {
      const { streamId } = await goLive({ title: 'private', isPrivate: true });
      await until(
        async () => (await details(streamId, host.token)).recording?.url != null,
        15_000,
        'the recording to start',
      );
      const view = await details(streamId, host.token);
      const signedUrl = view.recording!.url!;
      expect(signedUrl).toMatch(/\/hls\/index\.m3u8\?token=\d+\.[\da-f-]{36}\.[\w-]+$/);
      const playlist = await fetch(`${server.url}${signedUrl}`);
      expect(playlist.status).toBe(200);
      expect(playlist.headers.get('cache-control')).toBe('private, max-age=1');
      const text = await playlist.text();
      const rendition = /^(r\d\/index\.m3u8\?token=.+)$/m.exec(text)?.[1];
      expect(rendition).toBeDefined();
      const base = `${server.url}/api/live/${streamId}/hls/`;
      const media = await (await fetch(`${base}${rendition}`)).text();
      const segment = /^(seg-\d+-\d+\.m4s)\?token=.+$/m.exec(media)?.[1];
      expect(segment).toBeDefined();
      expect(media).toMatch(/#EXT-X-MAP:URI="init-0\.mp4\?token=/);
      // Signed URLs play; the same paths without the token, or with a forged one, do not exist.
      expect((await probe(`${server.url}${signedUrl}`)).codecs).toEqual(['opus', 'vp8']);
      for (const path of ['index.m3u8', 'r0/index.m3u8', 'r0/init-0.mp4', `r0/${segment}`]) {
        expect((await fetch(`${base}${path}`)).status).toBe(404);
        expect((await fetch(`${base}${path}?token=9999999999.forged`)).status).toBe(404);
        const asStranger = await fetch(`${base}${path}`, {
          headers: { authorization: `Bearer ${stranger.token}` },
        });
        expect(asStranger.status).toBe(404);
      }
      expect((await details(streamId, stranger.token)).hlsUrl).toBeUndefined();
      await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
    }, 40_000);

    it('packages a stream whose host turned recording off only while it is live', async () => {
      const { streamId } = await goLive({ title: 'not kept', record: false });
      await until(
        async () => (await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)).ok,
        15_000,
        'the live playlist',
      );
      expect((await details(streamId, host.token)).recording).toBeNull();
      await api(server.url)('POST', `/api/live/end/${streamId}`, { token: host.token });
      await until(
        async () =>
          (await fetch(`${server.url}/api/live/${streamId}/hls/index.m3u8`)).status === 404,
        10_000,
        'the packaging to go',
      );
      expect((await details(streamId, host.token)).recording).toBeNull();
      expect(await listedReplay(streamId)).toBeNull();
    }, 40_000);
  });
