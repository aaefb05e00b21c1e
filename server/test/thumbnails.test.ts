/**
 * Stream thumbnails: uploaded by the host as JPEG or WebP (checked by their bytes), kept in the
 * database, served with long-lived caching and ETags, announced to the room and the live list,
 * and as private as the stream they show.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { THUMBNAIL_MAX_BYTES, type ThumbnailResult } from '@onair/protocol';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey, signature } from '../src/auth/secret-box';
import { streamThumbnails } from '../src/db/schema';
import { jpegDeclaring, markerAt, riff, vp8Declaring, webpDeclaring } from './support/images';
import {
  api,
  collect,
  connectSocket,
  emitAck,
  engines,
  nextEvent,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Small frames Chromium encoded from a canvas (make-thumbnail-fixtures.ts). */
const jpeg = readFileSync(path.join(fixtures, 'thumbnail.jpg'));
const webp = readFileSync(path.join(fixtures, 'thumbnail.webp'));
const png = Buffer.from(
  '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489',
  'hex',
);

const upload = (
  server: TestServer,
  streamId: string,
  body: Buffer,
  contentType: string,
  token?: string,
) =>
  fetch(`${server.url}/api/live/${streamId}/thumbnail`, {
    method: 'PUT',
    headers: {
      'content-type': contentType,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
  });

const startStream = async (server: TestServer, host: TestUser, isPrivate = false) => {
  const res = await api(server.url)('POST', '/api/live/start', {
    token: host.token,
    body: { title: 'with a thumbnail', isPrivate, thumbnail: 'https://example.com/old.jpg' },
  });
  expect(res.status).toBe(201);
  return res.body.streamId as string;
};

describe.each(engines)('stream thumbnails (%s)', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ engine });
  });
  afterAll(() => server?.stop());

  it('takes JPEG and WebP from the host, stores them, and tells the room at once and the list soon after', async () => {
    const request = api(server.url);
    const [host, inRoom, onList] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    const streamId = await startStream(server, host);
    const roomSocket = await connectSocket(server, inRoom.token);
    const listSocket = await connectSocket(server, onList.token);
    try {
      expect((await emitAck(roomSocket, 'join_live', { streamId })).ok).toBe(true);
      const heardInRoom = collect(roomSocket, 'live_thumbnail');
      const inRoomNow = nextEvent(roomSocket, 'live_thumbnail');
      const onListSoon = nextEvent(listSocket, 'live_thumbnail', undefined, 5000);

      const res = await upload(server, streamId, jpeg, 'image/jpeg', host.token);
      expect(res.status).toBe(200);
      const { thumbnail } = (await res.json()) as ThumbnailResult;
      expect(thumbnail).toMatch(new RegExp(`^/api/live/${streamId}/thumbnail\\?v=[0-9a-f]+$`));
      expect(await inRoomNow).toEqual({ streamId, thumbnail });
      expect(await onListSoon).toEqual({ streamId, thumbnail });
      // The uploaded frame wins over the URL the stream was started with.
      expect((await request('GET', `/api/live/${streamId}`)).body.thumbnail).toBe(thumbnail);
      await expect
        .poll(
          async () =>
            (
              await request<{ streamId: string; thumbnail: string }[]>('GET', '/api/live/active')
            ).body.find((s) => s.streamId === streamId)?.thumbnail,
        )
        .toBe(thumbnail);

      const served = await fetch(`${server.url}${thumbnail}`);
      expect(served.status).toBe(200);
      expect(served.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await served.arrayBuffer()).equals(jpeg)).toBe(true);

      const second = await upload(server, streamId, webp, 'image/webp', host.token);
      expect(second.status).toBe(200);
      const next = ((await second.json()) as ThumbnailResult).thumbnail;
      expect(next).not.toBe(thumbnail);
      const servedWebp = await fetch(`${server.url}${next}`);
      expect(servedWebp.headers.get('content-type')).toBe('image/webp');
      expect(Buffer.from(await servedWebp.arrayBuffer()).equals(webp)).toBe(true);
      await expect.poll(() => heardInRoom.length).toBe(2);
      expect(heardInRoom[1]).toEqual({ streamId, thumbnail: next });
      // The room is told once, not again with the list pages.
      await new Promise((r) => setTimeout(r, 1500));
      expect(heardInRoom.length).toBe(2);

      const [row] = await server.database.db
        .select()
        .from(streamThumbnails)
        .where(eq(streamThumbnails.streamId, streamId));
      expect(row?.contentType).toBe('image/webp');
      expect(row?.image.equals(webp)).toBe(true);
    } finally {
      roomSocket.close();
      listSocket.close();
    }
  });

  it('refuses what is not a JPEG or WebP, what says it is the other, what is too big, and anyone but the host', async () => {
    const request = api(server.url);
    const [host, other] = await Promise.all([registerUser(server), registerUser(server)]);
    const streamId = await startStream(server, host);
    const good = await upload(server, streamId, jpeg, 'image/jpeg', host.token);
    const { thumbnail } = (await good.json()) as ThumbnailResult;

    const refusals: [string, Promise<Response>, number, string][] = [
      [
        'PNG bytes called JPEG',
        upload(server, streamId, png, 'image/jpeg', host.token),
        415,
        'unsupported_media_type',
      ],
      [
        'JPEG bytes called WebP',
        upload(server, streamId, jpeg, 'image/webp', host.token),
        415,
        'unsupported_media_type',
      ],
      [
        'WebP bytes called JPEG',
        upload(server, streamId, webp, 'image/jpeg', host.token),
        415,
        'unsupported_media_type',
      ],
      [
        'a PNG as a PNG',
        upload(server, streamId, png, 'image/png', host.token),
        415,
        'unsupported_media_type',
      ],
      [
        'RIFF that is not WebP',
        upload(
          server,
          streamId,
          Buffer.from('RIFF\x10\x00\x00\x00WAVEfmt '),
          'image/webp',
          host.token,
        ),
        415,
        'unsupported_media_type',
      ],
      [
        'too large',
        upload(
          server,
          streamId,
          Buffer.concat([jpeg, Buffer.alloc(THUMBNAIL_MAX_BYTES)]),
          'image/jpeg',
          host.token,
        ),
        413,
        'payload_too_large',
      ],
      ['not the host', upload(server, streamId, webp, 'image/webp', other.token), 403, 'forbidden'],
      ['nobody', upload(server, streamId, webp, 'image/webp'), 401, 'unauthorized'],
    ];
    for (const [what, pending, status, code] of refusals) {
      const res = await pending;
      expect(res.status, what).toBe(status);
      expect(((await res.json()) as { error: { code: string } }).error.code, what).toBe(code);
    }
    // Exactly the maximum is fine.
    const atLimit = Buffer.concat([jpeg, Buffer.alloc(THUMBNAIL_MAX_BYTES - jpeg.length)]);
    const fits = await upload(server, streamId, atLimit, 'image/jpeg', host.token);
    expect(fits.status).toBe(200);
    const latest = ((await fits.json()) as ThumbnailResult).thumbnail;

    await request('POST', `/api/live/end/${streamId}`, { token: host.token });
    const afterEnd = await upload(server, streamId, webp, 'image/webp', host.token);
    expect(afterEnd.status).toBe(409);
    expect(((await afterEnd.json()) as { error: { code: string } }).error.code).toBe(
      'stream_ended',
    );
    // Nothing refused changed anything; the ended stream keeps its last frame for its page.
    expect((await request('GET', `/api/live/${streamId}`)).body.thumbnail).toBe(latest);
    expect(latest).not.toBe(thumbnail);
    expect((await fetch(`${server.url}${latest}`)).status).toBe(200);
  });

  it('refuses a thumbnail declaring 65500×65500 pixels (it was taken, and cached for a year on list pages), and changes nothing', async () => {
    const request = api(server.url);
    const host = await registerUser(server);
    const streamId = await startStream(server, host);
    const good = await upload(server, streamId, jpeg, 'image/jpeg', host.token);
    expect(good.status).toBe(200);
    const { thumbnail } = (await good.json()) as ThumbnailResult;

    const refusals: [string, Buffer, string, number, string][] = [
      ['JPEG 65500×65500', jpegDeclaring(65500, 65500), 'image/jpeg', 413, 'payload_too_large'],
      [
        'progressive JPEG 8000×4500',
        jpegDeclaring(8000, 4500, 0xc2),
        'image/jpeg',
        413,
        'payload_too_large',
      ],
      [
        'JPEG one pixel too wide',
        jpegDeclaring(3841, 2160),
        'image/jpeg',
        413,
        'payload_too_large',
      ],
      [
        'WebP canvas 65500×65500',
        webpDeclaring(65500, 65500),
        'image/webp',
        413,
        'payload_too_large',
      ],
      [
        'lossy WebP 16383×16383',
        riff(['VP8 ', vp8Declaring(16383, 16383)]),
        'image/webp',
        413,
        'payload_too_large',
      ],
      [
        'JPEG cut before its frame header',
        jpeg.subarray(0, markerAt(jpeg, 0xc0)),
        'image/jpeg',
        400,
        'invalid_input',
      ],
    ];
    for (const [what, body, type, status, code] of refusals) {
      const res = await upload(server, streamId, body, type, host.token);
      expect(res.status, what).toBe(status);
      const { error } = (await res.json()) as { error: { code: string; message: string } };
      expect(error.code, what).toBe(code);
      if (status === 413) expect(error.message, what).toMatch(/at most 3840×2160/);
    }
    // Nothing refused changed anything: the stream and its thumbnail are the first upload's.
    expect((await request('GET', `/api/live/${streamId}`)).body.thumbnail).toBe(thumbnail);
    const served = await fetch(`${server.url}${thumbnail}`);
    expect(Buffer.from(await served.arrayBuffer()).equals(jpeg)).toBe(true);

    // Up to 4K, in either orientation, is fine.
    for (const [width, height] of [
      [3840, 2160],
      [2160, 3840],
    ]) {
      const res = await upload(
        server,
        streamId,
        jpegDeclaring(width!, height!),
        'image/jpeg',
        host.token,
      );
      expect(res.status, `${width}×${height}`).toBe(200);
    }
  });

  it('serves with a long cache for the current version, a short one otherwise, an ETag and 304', async () => {
    const host = await registerUser(server);
    const streamId = await startStream(server, host);
    const none = await fetch(`${server.url}/api/live/${streamId}/thumbnail`);
    expect(none.status).toBe(404);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('not_found');

    const first = (await (
      await upload(server, streamId, jpeg, 'image/jpeg', host.token)
    ).json()) as ThumbnailResult;
    const current = await fetch(`${server.url}${first.thumbnail}`);
    expect(current.status).toBe(200);
    expect(current.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(current.headers.get('x-content-type-options')).toBe('nosniff');
    const etag = current.headers.get('etag');
    expect(etag).toMatch(/^"[0-9a-f]+"$/);

    const bare = await fetch(`${server.url}/api/live/${streamId}/thumbnail`);
    expect(bare.status).toBe(200);
    expect(bare.headers.get('cache-control')).toBe('public, max-age=15');
    expect(bare.headers.get('etag')).toBe(etag);

    const revalidated = await fetch(`${server.url}/api/live/${streamId}/thumbnail`, {
      headers: { 'if-none-match': `W/"other", ${etag}` },
    });
    expect(revalidated.status).toBe(304);
    expect(await revalidated.text()).toBe('');
    expect(revalidated.headers.get('etag')).toBe(etag);

    await upload(server, streamId, webp, 'image/webp', host.token);
    // The old URL now answers with the new frame, and may not be kept for long.
    const stale = await fetch(`${server.url}${first.thumbnail}`, {
      headers: { 'if-none-match': etag! },
    });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('content-type')).toBe('image/webp');
    expect(stale.headers.get('cache-control')).toBe('public, max-age=15');

    for (const bad of ['not-a-uuid', `${streamId}x`]) {
      const res = await fetch(`${server.url}/api/live/${bad}/thumbnail`);
      expect(res.status).toBe(400);
    }
  });

  it("keeps a private stream's thumbnail from strangers; its signed URL works for an <img>", async () => {
    const request = api(server.url);
    const [host, follower, stranger] = await Promise.all([
      registerUser(server),
      registerUser(server),
      registerUser(server),
    ]);
    await request('POST', `/api/users/${host.user.id}/follow`, { token: follower.token });
    const streamId = await startStream(server, host, true);
    const res = await upload(server, streamId, jpeg, 'image/jpeg', host.token);
    expect(res.status).toBe(200);
    const { thumbnail } = (await res.json()) as ThumbnailResult;
    expect(thumbnail).toMatch(/\?v=[0-9a-f]+&sig=[A-Za-z0-9_-]+$/);
    const bare = `/api/live/${streamId}/thumbnail`;
    const versionOnly = thumbnail.replace(/&sig=.*$/, '');

    const get = (url: string, token?: string) =>
      fetch(`${server.url}${url}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
    // Strangers: with or without a token, however they guess, it is not there.
    for (const [url, token] of [
      [bare, undefined],
      [bare, stranger.token],
      [versionOnly, stranger.token],
      [`${versionOnly}&sig=AAAAAAAAAAAAAAAAAAAAAA`, undefined],
      [thumbnail.replace(/v=[0-9a-f]+/, 'v=0000'), undefined],
    ] as const) {
      const denied = await get(url, token);
      expect(denied.status, url).toBe(404);
    }
    // Those who may see the stream: by token, or by the URL the stream's JSON gave them.
    for (const [url, token] of [
      [bare, host.token],
      [bare, follower.token],
      [thumbnail, undefined],
    ] as const) {
      const allowed = await get(url, token);
      expect(allowed.status, url).toBe(200);
      expect(allowed.headers.get('cache-control')).toMatch(/^private, /);
      expect(Buffer.from(await allowed.arrayBuffer()).equals(jpeg)).toBe(true);
    }
    const followerView = await request('GET', `/api/live/${streamId}`, { token: follower.token });
    expect(followerView.body.thumbnail).toBe(thumbnail);
  });
});

describe.each(engines)('private thumbnail URLs (%s)', (engine) => {
  const secret = 'a-signing-secret-of-this-test-only-0123456789';
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ engine, env: { JWT_SECRET: secret } });
  });
  afterAll(() => server?.stop());

  const startPrivate = async () => {
    const request = api(server.url);
    const [host, follower] = await Promise.all([registerUser(server), registerUser(server)]);
    expect(
      (await request('POST', `/api/users/${host.user.id}/follow`, { token: follower.token }))
        .status,
    ).toBeLessThan(300);
    return { host, follower, streamId: await startStream(server, host, true) };
  };
  const uploaded = async (streamId: string, body: Buffer, type: string, token: string) => {
    const res = await upload(server, streamId, body, type, token);
    expect(res.status).toBe(200);
    return ((await res.json()) as ThumbnailResult).thumbnail;
  };
  /** As an `<img>` asks: no token. */
  const fetchImage = (url: string) => fetch(`${server.url}${url}`);

  it("do not come back to life when the same bytes are uploaded again (an ex-follower's old URL worked again: the signature covered only the image's hash)", async () => {
    const request = api(server.url);
    const { host, follower, streamId } = await startPrivate();
    const first = await uploaded(streamId, jpeg, 'image/jpeg', host.token);
    expect(
      (await request('GET', `/api/live/${streamId}`, { token: follower.token })).body.thumbnail,
    ).toBe(first);
    expect((await fetchImage(first)).status).toBe(200);

    await uploaded(streamId, webp, 'image/webp', host.token);
    expect((await fetchImage(first)).status).toBe(404);
    await request('DELETE', `/api/users/${host.user.id}/follow`, { token: follower.token });

    // The first frame again, byte for byte: a URL of its own, and the one the follower kept stays dead.
    const again = await uploaded(streamId, jpeg, 'image/jpeg', host.token);
    expect(again).not.toBe(first);
    expect(again.replace(/&sig=.*$/, '')).toBe(first.replace(/&sig=.*$/, ''));
    for (const token of [undefined, follower.token]) {
      const res = await fetch(`${server.url}${first}`, {
        headers: token ? { authorization: `Bearer ${token}` } : {},
      });
      expect(res.status, token ? "with the ex-follower's token" : 'as an <img>').toBe(404);
    }
    const current = await fetchImage(again);
    expect(current.status).toBe(200);
    expect(Buffer.from(await current.arrayBuffer()).equals(jpeg)).toBe(true);
    // Even with nobody's access changing, each upload of the same bytes is signed anew.
    const third = await uploaded(streamId, jpeg, 'image/jpeg', host.token);
    expect(third).not.toBe(again);
    expect((await fetchImage(again)).status).toBe(404);
    expect((await fetchImage(third)).status).toBe(200);
  });

  it('keep working for an upload stored before uploads had a nonce', async () => {
    const { host, streamId } = await startPrivate();
    const url = await uploaded(streamId, jpeg, 'image/jpeg', host.token);
    const version = /v=([0-9a-f]+)/.exec(url)![1]!;
    await server.database.db
      .update(streamThumbnails)
      .set({ nonce: null })
      .where(eq(streamThumbnails.streamId, streamId));
    const legacy = `/api/live/${streamId}/thumbnail?v=${version}&sig=${signature(
      deriveKey(secret, 'thumbnail urls'),
      `${streamId}:${version}`,
    )}`;
    expect((await fetchImage(legacy)).status).toBe(200);
    expect((await fetchImage(url)).status).toBe(404);
  });
});

describe.runIf(Boolean(process.env.DATABASE_URL))('thumbnails across nodes', () => {
  it('a second node on the same PostgreSQL serves the thumbnail the first one took', async () => {
    const a = await startTestServer({ engine: 'postgres' });
    const b = await startTestServer({ env: { DATABASE_URL: a.databaseUrl! } });
    try {
      const host = await registerUser(a);
      const streamId = await startStream(a, host);
      const res = await upload(a, streamId, webp, 'image/webp', host.token);
      const { thumbnail } = (await res.json()) as ThumbnailResult;
      const fromB = await fetch(`${b.url}${thumbnail}`);
      expect(fromB.status).toBe(200);
      expect(fromB.headers.get('content-type')).toBe('image/webp');
      expect(Buffer.from(await fromB.arrayBuffer()).equals(webp)).toBe(true);
      expect((await api(b.url)('GET', `/api/live/${streamId}`)).body.thumbnail).toBe(thumbnail);
    } finally {
      await b.close();
      await a.stop();
    }
  });
});
