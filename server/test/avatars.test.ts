/**
 * Profile pictures: JPEG, WebP or PNG told by their bytes, at most 1 MB and 1024 px, kept in the
 * database so every node serves them, under a URL that changes with each upload.
 */
import { AVATAR_MAX_BYTES, type User } from '@onair/protocol';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { userAvatars } from '../src/db/schema';
import { jpeg, jpegDeclaring, solidPng, webp } from './support/images';
import {
  api,
  engines,
  registerUser,
  startTestServer,
  type TestServer,
  type TestUser,
} from './support/server';

const put = (server: { url: string }, body: Buffer, contentType: string, token?: string) =>
  fetch(`${server.url}/api/me/avatar`, {
    method: 'PUT',
    headers: {
      'content-type': contentType,
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body,
  });

const errorOf = async (res: Response) =>
  ((await res.json()) as { error: { code: string; message: string } }).error;

const bytesAt = async (server: { url: string }, url: string) => {
  const res = await fetch(`${server.url}${url}`);
  return { res, bytes: Buffer.from(await res.arrayBuffer()) };
};

describe.each(engines)('profile pictures (%s)', (engine) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      engine,
      rateLimits: { avatarUploads: { points: 12, durationSeconds: 60 } },
    });
  });
  afterAll(() => server?.stop());

  const profileOf = async (user: TestUser) =>
    (await api(server.url)<{ user: User }>('GET', `/api/users/${user.user.id}`)).body.user;

  it('takes a PNG, JPEG or WebP, sets avatar_url to a URL that changes with each upload, and serves it', async () => {
    const user = await registerUser(server);
    const png = solidPng(64, 48);

    const first = await put(server, png, 'image/png', user.token);
    expect(first.status).toBe(200);
    const afterPng = (await first.json()) as User;
    expect(afterPng.id).toBe(user.user.id);
    expect(afterPng.avatar_url).toMatch(
      new RegExp(`^/api/users/${user.user.id}/avatar\\?v=[0-9a-f]{20}$`),
    );
    expect((await profileOf(user)).avatar_url).toBe(afterPng.avatar_url);

    const served = await bytesAt(server, afterPng.avatar_url!);
    expect(served.res.status).toBe(200);
    expect(served.res.headers.get('content-type')).toBe('image/png');
    expect(served.res.headers.get('cache-control')).toContain('immutable');
    expect(served.bytes.equals(png)).toBe(true);
    const etag = served.res.headers.get('etag')!;
    const again = await fetch(`${server.url}${afterPng.avatar_url}`, {
      headers: { 'if-none-match': etag },
    });
    expect(again.status).toBe(304);

    // The type is told by the bytes: a JPEG sent as application/octet-stream is a JPEG.
    const second = await put(server, jpeg, 'application/octet-stream', user.token);
    expect(second.status).toBe(200);
    const afterJpeg = (await second.json()) as User;
    expect(afterJpeg.avatar_url).not.toBe(afterPng.avatar_url);
    const jpegServed = await bytesAt(server, afterJpeg.avatar_url!);
    expect(jpegServed.res.headers.get('content-type')).toBe('image/jpeg');
    expect(jpegServed.bytes.equals(jpeg)).toBe(true);

    const third = await put(server, webp, 'image/webp', user.token);
    const afterWebp = (await third.json()) as User;
    expect(afterWebp.avatar_url).not.toBe(afterJpeg.avatar_url);
    expect((await bytesAt(server, afterWebp.avatar_url!)).bytes.equals(webp)).toBe(true);
    // The old URL now answers with the new picture, and only briefly cacheable.
    const stale = await bytesAt(server, afterPng.avatar_url!);
    expect(stale.bytes.equals(webp)).toBe(true);
    expect(stale.res.headers.get('cache-control')).not.toContain('immutable');

    // One row per user, replaced in place.
    const rows = await server.database.db
      .select()
      .from(userAvatars)
      .where(eq(userAvatars.userId, user.user.id));
    expect(rows).toHaveLength(1);
    expect(rows[0]?.contentType).toBe('image/webp');
    expect(rows[0]?.image.equals(webp)).toBe(true);

    // Comments, streams and profiles carry it wherever the user appears.
    const started = await api(server.url)('POST', '/api/live/start', {
      token: user.token,
      body: { title: 'with a face' },
    });
    expect(started.status).toBe(201);
    expect(started.body.host.avatar_url).toBe(afterWebp.avatar_url);
    await api(server.url)('POST', `/api/live/end/${started.body.streamId}`, { token: user.token });
  });

  it('removes the picture: avatar_url is null and the old URL is not found', async () => {
    const user = await registerUser(server);
    const uploaded = (await (await put(server, jpeg, 'image/jpeg', user.token)).json()) as User;
    const res = await api(server.url)<User>('DELETE', '/api/me/avatar', { token: user.token });
    expect(res.status).toBe(200);
    expect(res.body.avatar_url).toBeNull();
    expect((await profileOf(user)).avatar_url).toBeNull();
    expect((await fetch(`${server.url}${uploaded.avatar_url}`)).status).toBe(404);
    // Removing what is not there is no error.
    expect((await api(server.url)('DELETE', '/api/me/avatar', { token: user.token })).status).toBe(
      200,
    );
  });

  it('refuses other formats (415), more than 1 MB (413), more than 1024 px (413) and strangers, changing nothing', async () => {
    const user = await registerUser(server);
    const kept = (await (await put(server, jpeg, 'image/jpeg', user.token)).json()) as User;
    const gif = Buffer.concat([Buffer.from('GIF89a', 'latin1'), Buffer.alloc(64)]);
    const svg = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>');

    const refusals: [string, Promise<Response>, number, string, RegExp?][] = [
      ['GIF bytes', put(server, gif, 'image/gif', user.token), 415, 'unsupported_media_type'],
      ['SVG called PNG', put(server, svg, 'image/png', user.token), 415, 'unsupported_media_type'],
      ['a text body', put(server, jpeg, 'text/plain', user.token), 415, 'unsupported_media_type'],
      [
        'over 1 MB',
        put(
          server,
          Buffer.concat([jpeg, Buffer.alloc(AVATAR_MAX_BYTES)]),
          'image/jpeg',
          user.token,
        ),
        413,
        'payload_too_large',
        /1 MB/,
      ],
      [
        'wider than 1024 px',
        put(server, jpegDeclaring(1600, 900), 'image/jpeg', user.token),
        413,
        'payload_too_large',
        /1600×900 pixels; at most 1024×1024/,
      ],
      [
        'taller than 1024 px',
        put(server, solidPng(16, 1025), 'image/png', user.token),
        413,
        'payload_too_large',
        /16×1025/,
      ],
      ['no token', put(server, jpeg, 'image/jpeg'), 401, 'unauthorized'],
    ];
    for (const [what, pending, status, code, message] of refusals) {
      const res = await pending;
      expect(res.status, what).toBe(status);
      const error = await errorOf(res);
      expect(error.code, what).toBe(code);
      if (message) expect(error.message, what).toMatch(message);
    }
    expect((await profileOf(user)).avatar_url).toBe(kept.avatar_url);
    expect((await bytesAt(server, kept.avatar_url!)).bytes.equals(jpeg)).toBe(true);
    expect((await fetch(`${server.url}/api/users/not-a-uuid/avatar`)).status).toBe(400);
  });

  it('limits uploads per user', async () => {
    const limited = await startTestServer({
      engine: 'pglite',
      rateLimits: { avatarUploads: { points: 2, durationSeconds: 60 } },
    });
    try {
      const user = await registerUser(limited);
      expect((await put(limited, jpeg, 'image/jpeg', user.token)).status).toBe(200);
      expect((await put(limited, webp, 'image/webp', user.token)).status).toBe(200);
      const third = await put(limited, jpeg, 'image/jpeg', user.token);
      expect(third.status).toBe(429);
      expect((await errorOf(third)).code).toBe('rate_limited');
      // Another user has a budget of their own.
      const other = await registerUser(limited);
      expect((await put(limited, jpeg, 'image/jpeg', other.token)).status).toBe(200);
    } finally {
      await limited.stop();
    }
  });
});

describe.skipIf(!process.env.DATABASE_URL)('profile pictures across nodes', () => {
  it('a picture uploaded to one node is served by another node of the same database', async () => {
    const a = await startTestServer({ engine: 'postgres', env: { MEDIA_WORKERS: '1' } });
    const b = await startTestServer({ env: { MEDIA_WORKERS: '1', DATABASE_URL: a.databaseUrl! } });
    try {
      const user = await registerUser(a);
      const png = solidPng(32, 32, [10, 200, 90]);
      const uploaded = (await (await put(a, png, 'image/png', user.token)).json()) as User;
      const fromB = await bytesAt(b, uploaded.avatar_url!);
      expect(fromB.res.status).toBe(200);
      expect(fromB.bytes.equals(png)).toBe(true);
    } finally {
      await b.close();
      await a.stop();
    }
  });
});
