import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, registerUser, startTestServer, uniqueName, type TestServer } from './support/server';

const secret = 'a-test-signing-secret-of-at-least-32-chars';

describe('accounts and follows', () => {
  let server: TestServer;
  const request = () => api(server.url);
  beforeAll(async () => {
    server = await startTestServer({ env: { JWT_SECRET: secret } });
  });
  afterAll(() => server.stop());

  it('registers, logs in and answers me, never showing a password hash', async () => {
    const name = uniqueName('Alice');
    const reg = await request()('POST', '/api/auth/register', {
      body: { username: name, password: 'longenough', displayName: 'Alice A' },
    });
    expect(reg.status).toBe(201);
    expect(Object.keys(reg.body.user).sort()).toEqual([
      'avatar_url',
      'bio',
      'display_name',
      'id',
      'username',
    ]);
    expect(reg.body.user).toMatchObject({
      username: name,
      display_name: 'Alice A',
      avatar_url: null,
      bio: null,
    });
    expect(JSON.stringify(reg.body)).not.toMatch(/scrypt|password/i);
    const login = await request()('POST', '/api/auth/login', {
      body: { username: name.toUpperCase(), password: 'longenough' },
    });
    expect(login.status).toBe(200);
    const me = await request()('GET', '/api/auth/me', { token: login.body.token });
    expect(me.body.user.id).toBe(reg.body.user.id);
  });

  it('refuses a taken username in any case with 409', async () => {
    const name = uniqueName('Bob');
    await registerUser(server, name);
    const again = await request()('POST', '/api/auth/register', {
      body: { username: name.toLowerCase(), password: 'longenough' },
    });
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('username_taken');
  });

  it('fails wrong passwords and unknown users alike', async () => {
    const user = await registerUser(server);
    const wrong = await request()('POST', '/api/auth/login', {
      body: { username: user.username, password: 'not-the-password' },
    });
    const unknown = await request()('POST', '/api/auth/login', {
      body: { username: uniqueName('ghost'), password: 'whatever1' },
    });
    for (const res of [wrong, unknown]) {
      expect(res.status).toBe(401);
      expect(res.body.error.code).toBe('invalid_credentials');
    }
  });

  it('answers 401 to a missing, malformed, forged or expired token', async () => {
    const user = await registerUser(server);
    const forged = await new SignJWT({ username: user.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.user.id)
      .setIssuer('onair')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('some-other-secret-that-is-long-enough!!'));
    const expired = await new SignJWT({ username: user.username })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(user.user.id)
      .setIssuer('onair')
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(secret));
    expect((await request()('GET', '/api/auth/me')).status).toBe(401);
    expect(
      (await request()('GET', '/api/auth/me', { headers: { authorization: 'Basic abc' } })).status,
    ).toBe(401);
    expect((await request()('GET', '/api/auth/me', { token: forged })).status).toBe(401);
    const exp = await request()('GET', '/api/auth/me', { token: expired });
    expect(exp.status).toBe(401);
    expect(exp.body.error.message).toMatch(/expired/i);
    // A bad token on an endpoint that allows anonymous callers is still refused, not ignored.
    expect((await request()('GET', '/api/live/active', { token: forged })).status).toBe(401);
  });

  it('validates registration input', async () => {
    for (const body of [
      { username: 'ab', password: 'longenough' },
      { username: 'has space', password: 'longenough' },
      { username: 'x'.repeat(31), password: 'longenough' },
      { username: uniqueName(), password: 'short' },
      { username: 42, password: 'longenough' },
      {},
    ]) {
      const res = await request()('POST', '/api/auth/register', { body });
      expect(res.status).toBe(400);
      expect(res.body.error.code).toBe('invalid_input');
    }
  });

  it('follows and unfollows, with public profiles', async () => {
    const a = await registerUser(server);
    const b = await registerUser(server);
    const followed = await request()('POST', `/api/users/${b.user.id}/follow`, { token: a.token });
    expect(followed.status).toBe(200);
    expect(followed.body).toMatchObject({ followers: 1, following: 0, isFollowing: true });
    // Following twice changes nothing.
    expect(
      (await request()('POST', `/api/users/${b.user.id}/follow`, { token: a.token })).body
        .followers,
    ).toBe(1);
    const anonymous = await request()('GET', `/api/users/${b.user.id}`);
    expect(anonymous.body).toMatchObject({
      user: { id: b.user.id, username: b.username },
      followers: 1,
      isFollowing: false,
    });
    expect((await request()('GET', `/api/users/${a.user.id}`)).body.following).toBe(1);
    const unfollowed = await request()('DELETE', `/api/users/${b.user.id}/follow`, {
      token: a.token,
    });
    expect(unfollowed.body).toMatchObject({ followers: 0, isFollowing: false });
    expect(
      (await request()('POST', `/api/users/${a.user.id}/follow`, { token: a.token })).status,
    ).toBe(400);
    expect(
      (
        await request()('POST', '/api/users/6b1f1a8e-3c1d-4c7a-9c55-1d2f4a0b9e10/follow', {
          token: a.token,
        })
      ).status,
    ).toBe(404);
    expect((await request()('GET', '/api/users/not-a-uuid')).status).toBe(400);
    expect((await request()('POST', `/api/users/${b.user.id}/follow`)).status).toBe(401);
  });
});
