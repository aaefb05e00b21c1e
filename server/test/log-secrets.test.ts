import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { eq, sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { users } from '../src/db/schema';
import { scrubText, scrubUrl } from '../src/logging/redaction';
import { embeddedEnv } from './support/entry-point';
import { connected, RecordingViewer, SyntheticPublisher, waitFor } from './support/loopback-peers';
import {
  api,
  connectSocket,
  emitAck,
  engines,
  nextEvent,
  startTestServer,
  uniqueName,
  type ClientSocket,
} from './support/server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** TURN advertised with expiring credentials, so they appear in responses (`Link`, ice-servers). */
const turnEnv = {
  TURN_SECRET: 'turn-secret-for-the-log-test',
  ICE_SERVERS: JSON.stringify([{ urls: 'turn:127.0.0.1:3478' }]),
};

/** Everything secret a scenario handled, by what it is (the name shows in a failure, never the value). */
type Secrets = Map<string, string>;

/**
 * ICE passwords and user fragments of an SDP. Fragments may be as short as 4 characters, which a
 * long log can hold by chance (in a base64 id): only those of 8 or more are looked for.
 */
const iceCredentials = (sdp: string): string[] =>
  [...sdp.matchAll(/^a=ice-(?:pwd|ufrag):(\S+)/gm)].map((m) => m[1]!).filter((c) => c.length >= 8);

const linkCredentials = (link: string | null): string[] =>
  [...(link ?? '').matchAll(/credential="([^"]+)"/g)].map((m) => m[1]!);

/**
 * The whole life of a stream against a running server, collecting every secret it used:
 * register, login, start, WHIP publish with the stream key, WHEP watch, socket join and comment,
 * a duplicate username, a refused SDP, credentials in query strings and a cookie, the end.
 */
async function fullScenario(baseUrl: string): Promise<Secrets> {
  const secrets: Secrets = new Map();
  const request = api(baseUrl);
  const cleanup: (() => unknown)[] = [];
  try {
    const password = `pw-${uniqueName('secret')}`;
    secrets.set('password', password);
    const hostName = uniqueName('host');
    const registered = await request('POST', '/api/auth/register', {
      body: { username: hostName, password },
      headers: { cookie: 'session=cookie-value-that-must-not-be-logged' },
    });
    expect(registered.status).toBe(201);
    secrets.set('registration token', registered.body.token);
    secrets.set('cookie', 'cookie-value-that-must-not-be-logged');
    const login = await request('POST', '/api/auth/login', {
      body: { username: hostName, password },
    });
    expect(login.status).toBe(200);
    const hostToken: string = login.body.token;
    secrets.set('login token', hostToken);
    expect((await request('GET', '/api/auth/me', { token: hostToken })).status).toBe(200);

    const viewerReg = await request('POST', '/api/auth/register', {
      body: { username: uniqueName('viewer'), password },
    });
    const viewerToken: string = viewerReg.body.token;
    secrets.set('viewer token', viewerToken);

    // The same name in other letters: PostgreSQL refuses the insert on its unique index.
    const duplicate = await request('POST', '/api/auth/register', {
      body: { username: hostName.toUpperCase(), password },
    });
    expect(duplicate.status).toBe(409);

    // A refused offer: what the media library said about it is logged (at info) as its detail.
    // On a stream of its own: a refused first offer must not disturb the stream watched below.
    const other = await request('POST', '/api/live/start', {
      token: viewerToken,
      body: { title: 'refused offer' },
    });
    secrets.set('second stream key', other.body.streamKey);
    const refused = new SyntheticPublisher();
    cleanup.push(() => refused.close());
    const badOffer = (await refused.offer()).replace(
      /^a=fingerprint:.*$/gm,
      'a=fingerprint:sha-256 zz',
    );
    iceCredentials(badOffer).forEach((c, i) => secrets.set(`refused offer ICE credential ${i}`, c));
    const badWhip = await fetch(`${baseUrl}/api/live/${other.body.streamId}/whip`, {
      method: 'POST',
      headers: {
        'content-type': 'application/sdp',
        authorization: `Bearer ${other.body.streamKey}`,
      },
      body: badOffer,
    });
    expect(badWhip.status).toBe(400);
    await request('POST', `/api/live/end/${other.body.streamId}`, { token: viewerToken });

    const started = await request('POST', '/api/live/start', {
      token: hostToken,
      body: { title: 'log scenario' },
    });
    expect(started.status).toBe(201);
    const streamId: string = started.body.streamId;
    const streamKey: string = started.body.streamKey;
    secrets.set('stream key', streamKey);

    // Clients that put credentials in the URL anyway.
    const inUrl = await request(
      'GET',
      `/api/live/${streamId}?key=${streamKey}&access_token=${viewerToken}&limit=1`,
    );
    expect(inUrl.status).toBe(200);
    // ... and in the path, where no parameter name gives them away, however they are encoded,
    // and in the page they came from (a JWT in a URL path was logged as it was).
    const encodedToken = hostToken.replace(/\./g, '%2E');
    secrets.set('login token, percent-encoded in a path', encodedToken);
    for (const inPath of [
      `/api/live/${viewerToken}`,
      `/api/live/${encodedToken}/thumbnail`,
      `/api/users/me/${viewerToken}?limit=1`,
    ]) {
      const res = await request('GET', inPath, {
        headers: { referer: `${baseUrl}/watch/${hostToken}?from=${encodedToken}` },
      });
      expect(res.status, inPath).toBeGreaterThanOrEqual(400);
    }

    const ice = await request('GET', '/api/live/ice-servers', { token: viewerToken });
    for (const server of ice.body.iceServers) {
      if (server.credential) secrets.set('TURN credential (ice-servers)', server.credential);
    }

    const publisher = new SyntheticPublisher();
    cleanup.push(() => publisher.close());
    const offer = await publisher.offer();
    iceCredentials(offer).forEach((c, i) => secrets.set(`publisher ICE credential ${i}`, c));
    const whip = await fetch(`${baseUrl}/api/live/${streamId}/whip`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${streamKey}` },
      body: offer,
    });
    expect(whip.status).toBe(201);
    const whipAnswer = await whip.text();
    iceCredentials(whipAnswer).forEach((c, i) => secrets.set(`WHIP answer ICE credential ${i}`, c));
    await publisher.accept(whipAnswer);
    publisher.start();

    const viewer = new RecordingViewer();
    cleanup.push(() => viewer.close());
    const viewerOffer = await viewer.offer();
    iceCredentials(viewerOffer).forEach((c, i) => secrets.set(`viewer ICE credential ${i}`, c));
    const whep = await fetch(`${baseUrl}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', authorization: `Bearer ${viewerToken}` },
      body: viewerOffer,
    });
    expect(whep.status).toBe(201);
    linkCredentials(whep.headers.get('link')).forEach((c) =>
      secrets.set('TURN credential (Link)', c),
    );
    const whepAnswer = await whep.text();
    iceCredentials(whepAnswer).forEach((c, i) => secrets.set(`WHEP answer ICE credential ${i}`, c));
    await viewer.pc.setRemoteDescription({ type: 'answer', sdp: whepAnswer });
    await connected(viewer.pc);
    await waitFor(() => viewer.received('video') > 0, 10_000, 'video at the WHEP viewer');

    // Watching without an account: its session's ICE credentials are as secret as anyone's.
    const anonymousViewer = new RecordingViewer();
    cleanup.push(() => anonymousViewer.close());
    const anonymousOffer = await anonymousViewer.offer();
    iceCredentials(anonymousOffer).forEach((c, i) =>
      secrets.set(`anonymous viewer ICE credential ${i}`, c),
    );
    const anonymousWhep = await fetch(`${baseUrl}/api/live/${streamId}/whep`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: anonymousOffer,
    });
    expect(anonymousWhep.status).toBe(201);
    iceCredentials(await anonymousWhep.text()).forEach((c, i) =>
      secrets.set(`anonymous WHEP answer ICE credential ${i}`, c),
    );
    const settings = await request('PATCH', '/api/me', {
      token: viewerToken,
      body: { displayName: 'Renamed viewer' },
    });
    expect(settings.status).toBe(200);

    const sockets: ClientSocket[] = [];
    cleanup.push(() => sockets.forEach((s) => s.close()));
    const hostSocket = await connectSocket({ url: baseUrl }, hostToken);
    const viewerSocket = await connectSocket({ url: baseUrl }, viewerToken);
    const anonymousSocket = await connectSocket({ url: baseUrl }, undefined);
    sockets.push(hostSocket, viewerSocket, anonymousSocket);
    expect((await emitAck(hostSocket, 'join_live', { streamId })).ok).toBe(true);
    expect((await emitAck(viewerSocket, 'join_live', { streamId })).ok).toBe(true);
    expect((await emitAck(anonymousSocket, 'join_live', { streamId })).ok).toBe(true);
    expect((await emitAck(anonymousSocket, 'live_comment', { streamId, comment: 'x' })).ok).toBe(
      false,
    );
    const heard = nextEvent(hostSocket, 'live_comment_added');
    expect((await emitAck(viewerSocket, 'live_comment', { streamId, comment: 'hi' })).ok).toBe(
      true,
    );
    await heard;

    const whepDelete = await fetch(`${baseUrl}${whep.headers.get('location')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${viewerToken}` },
    });
    expect(whepDelete.status).toBe(200);
    const ended = await request('POST', `/api/live/end/${streamId}`, { token: hostToken });
    expect(ended.status).toBe(200);

    // OBS with the host's persistent key: shown, rotated, refused once rotated away, used, stopped.
    const shown = await request('GET', '/api/me/stream-key', { token: hostToken });
    expect(shown.status).toBe(200);
    secrets.set('persistent stream key', shown.body.streamKey);
    const rotated = await request('POST', '/api/me/stream-key/rotate', { token: hostToken });
    expect(rotated.status).toBe(200);
    const persistentKey: string = rotated.body.streamKey;
    secrets.set('rotated persistent stream key', persistentKey);
    const obs = new SyntheticPublisher();
    cleanup.push(() => obs.close());
    const obsOffer = await obs.offer();
    iceCredentials(obsOffer).forEach((c, i) => secrets.set(`OBS ICE credential ${i}`, c));
    const toUserWhip = (key: string) =>
      fetch(`${baseUrl}/api/live/whip`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
        body: obsOffer,
      });
    expect((await toUserWhip(shown.body.streamKey)).status).toBe(401);
    const obsWhip = await toUserWhip(persistentKey);
    expect(obsWhip.status).toBe(201);
    const obsAnswer = await obsWhip.text();
    iceCredentials(obsAnswer).forEach((c, i) => secrets.set(`OBS answer ICE credential ${i}`, c));
    await obs.accept(obsAnswer);
    // A key pasted where no key belongs, under a name that says nothing.
    expect((await request('GET', `/api/live/active?q=${persistentKey}`)).status).toBe(200);
    // ... or in a path, where a stream key was logged as it was (also encoded).
    expect((await request('GET', `/api/live/${persistentKey}/whip`)).status).toBeGreaterThanOrEqual(
      400,
    );
    const encodedKey = persistentKey.replace(/_/g, '%5F');
    secrets.set('rotated persistent stream key, percent-encoded in a path', encodedKey);
    expect((await request('GET', `/api/users/${encodedKey}`)).status).toBeGreaterThanOrEqual(400);
    const obsStop = await fetch(`${baseUrl}${obsWhip.headers.get('location')}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${persistentKey}` },
    });
    expect(obsStop.status).toBe(200);
    const obsStream = obsWhip.headers.get('location')!.split('/')[3];
    expect((await request('POST', `/api/live/end/${obsStream}`, { token: hostToken })).status).toBe(
      200,
    );
    return secrets;
  } finally {
    for (const fn of cleanup.reverse()) await fn();
  }
}

/** Fails naming the secret that leaked, never printing it. */
function expectNoSecrets(log: string, secrets: Secrets): void {
  const leaked = [...secrets].filter(([, value]) => log.includes(value)).map(([name]) => name);
  expect(leaked).toEqual([]);
  // Any password hash at all, whoever's it is.
  expect(log).not.toMatch(/scrypt\$/);
}

/** A pino logger at `trace` writing into memory. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString());
      done();
    },
  });
  return { logger: pino({ level: 'trace' }, stream), text: () => lines.join('') };
}

describe('scrubbing', () => {
  it('blanks credential-like query parameters, however they are spelled', () => {
    expect(scrubUrl('/api/live/x/whip?key=abc&limit=5#key=frag')).toBe(
      '/api/live/x/whip?key=[redacted]&limit=5#key=frag',
    );
    expect(
      scrubUrl('/p?stream_key=a&streamKey=b&api-key=c&ACCESS_TOKEN=d&stream%5Fkey=e&before=f'),
    ).toBe(
      '/p?stream_key=[redacted]&streamKey=[redacted]&api-key=[redacted]&ACCESS_TOKEN=[redacted]&stream%5Fkey=[redacted]&before=f',
    );
    expect(scrubUrl('/p?token')).toBe('/p?token');
    expect(scrubUrl('/p?%E0%A4%A=1&secret=2')).toBe('/p?%E0%A4%A=1&secret=[redacted]');
    expect(scrubUrl('/plain/path')).toBe('/plain/path');
  });

  it('blanks ICE passwords, user fragments and TURN credentials in text', () => {
    const sdp = 'v=0\r\na=ice-ufrag:Ab12Cd34\r\na=ice-pwd:s3cr3tPassw0rdOf22chars\r\na=mid:0\r\n';
    expect(scrubText(sdp)).toBe(
      'v=0\r\na=ice-ufrag:[redacted]\r\na=ice-pwd:[redacted]\r\na=mid:0\r\n',
    );
    expect(scrubText('candidate:1 1 udp 1 127.0.0.1 9 typ host ufrag Zx9Yw8Vu')).toBe(
      'candidate:1 1 udp 1 127.0.0.1 9 typ host ufrag [redacted]',
    );
    expect(
      scrubText('<turn:h:3478>; rel="ice-server"; username="1:u"; credential="a+b/c="; x'),
    ).toBe('<turn:h:3478>; rel="ice-server"; username="1:u"; credential="[redacted]"; x');
    const key = `onair_${'Ab3_-'.repeat(8)}xyz`;
    expect(scrubText(`Bearer ${key} was refused`)).toBe('Bearer [redacted] was refused');
    expect(scrubUrl(`/p?stream_key=${key}`)).toBe('/p?stream_key=[redacted]');
  });

  it('blanks JWTs and stream keys anywhere in a URL, path included, however encoded (a JWT in a path was logged)', () => {
    const jwt =
      'eyJhbGciOiJIUzI1NiJ9.eyJ1c2VybmFtZSI6ImEiLCJzdWIiOiJ4In0.3q2-7wTz1mWbq3o_Qk8cEoEJb0mXhQ4m1n5yGq2lYyE';
    const key = `onair_${'Ab3_-'.repeat(8)}xyz`;
    const cases: [string, string][] = [
      [`/api/live/${jwt}`, '/api/live/[redacted]'],
      [`/api/live/${jwt}/whip?limit=1`, '/api/live/[redacted]/whip?limit=1'],
      [`/api/live/${key}/whip`, '/api/live/[redacted]/whip'],
      [`/api/live/${jwt.replace(/\./g, '%2E')}`, '/api/live/[redacted]'],
      [`/api/live/${jwt.replace(/\./g, '%252E')}`, '/api/live/[redacted]'],
      [`/api/live/${key.replace(/_/g, '%5F')}`, '/api/live/[redacted]'],
      [`/api/live/x.${jwt}.json`, '/api/live/[redacted]'],
      [`/p?q=${jwt}&limit=2`, '/p?q=[redacted]&limit=2'],
      [`/p?q=a%20${key.replace(/_/g, '%5F')}`, '/p?q=[redacted]'],
      [`/p?${jwt}`, '/p?[redacted]'],
      [`/p?${jwt}=1&x=2`, '/p?[redacted]&x=2'],
      [`https://onair.example/watch/${jwt}?a=b`, 'https://onair.example/watch/[redacted]?a=b'],
    ];
    for (const [url, scrubbed] of cases) expect(scrubUrl(url), scrubbed).toBe(scrubbed);
    expect(scrubText(`invalid token ${jwt} for /api/x`)).toBe(
      'invalid token [redacted] for /api/x',
    );
    // What only looks a little like one stays.
    for (const plain of [
      '/api/live/0b9f4c1e-2d3a-4b5c-8d7e-6f5a4b3c2d1e/thumbnail?v=0123456789abcdef0123',
      '/assets/index-Bq3x_eY.js',
      '/api/users/eyeglasses.example.com',
      '/p?before=2026-01-01T00:00:00.000Z',
    ]) {
      expect(scrubUrl(plain)).toBe(plain);
    }
  });
});

describe('no secret reaches a log line', () => {
  const cleanup: (() => Promise<unknown> | unknown)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it.each(engines)(
    'through a full scenario, at level trace (%s)',
    async (engine) => {
      const { logger, text } = capturingLogger();
      const server = await startTestServer({ engine, logger, env: turnEnv });
      cleanup.push(() => server.stop());
      const secrets = await fullScenario(server.url);
      expect(secrets.size).toBeGreaterThan(10);
      const stored = await server.database.db.select({ hash: users.passwordHash }).from(users);
      stored.forEach(({ hash }, i) => secrets.set(`stored password hash ${i}`, hash));

      const log = text();
      expectNoSecrets(log, secrets);
      // The log is really there, and says what happened with the secrets blanked out.
      expect(log).toMatch(/"authorization":"\[redacted\]"/);
      expect(log).toMatch(/"cookie":"\[redacted\]"/);
      expect(log).toContain('key=[redacted]&access_token=[redacted]&limit=1');
      expect(log).toMatch(/"url":"\/api\/live\/[0-9a-f-]+\/whip"/);
      expect(log).toContain('"url":"/api/live/whip"');
      expect(log).toContain('"url":"/api/me/stream-key/rotate"');
      expect(log).toContain('/api/live/active?q=[redacted]');
      expect(log).toContain('"url":"/api/live/[redacted]"');
      expect(log).toContain('"url":"/api/live/[redacted]/thumbnail"');
      expect(log).toContain('"url":"/api/users/me/[redacted]?limit=1"');
      expect(log).toContain('"url":"/api/live/[redacted]/whip"');
      expect(log).toContain(`"referer":"${server.url}/watch/[redacted]?from=[redacted]"`);
      expect(log).toContain('"statusCode":409');
      expect(log).toMatch(/Invalid sha-256 fingerprint/);
      expect(log).toMatch(/credential=\\"\[redacted\]\\"/);
    },
    60_000,
  );

  it.each(engines)(
    'logs a failing database query without its parameters (%s)',
    async (engine) => {
      const { logger, text } = capturingLogger();
      const server = await startTestServer({ engine, logger });
      cleanup.push(() => server.stop());
      // The database refuses this one name: registering it is a genuine server-side failure.
      const name = uniqueName('refused');
      await server.database.db.execute(
        sql.raw(`alter table users add constraint refuse_one check (username <> '${name}')`),
      );
      const password = `pw-${uniqueName('secret')}`;
      const res = await api(server.url)('POST', '/api/auth/register', {
        body: { username: name, password, displayName: 'Display Secretname' },
      });
      expect(res.status).toBe(500);
      expect(res.body.error).toEqual({
        code: 'internal',
        message: 'Something went wrong on our side',
      });
      expect(await server.database.db.select().from(users).where(eq(users.username, name))).toEqual(
        [],
      );

      const log = text();
      const failure = log.split('\n').find((line) => line.includes('"request failed"'));
      expect(failure).toBeDefined();
      const { err } = JSON.parse(failure!) as { err: Record<string, unknown> };
      // What an operator needs is still there: the query and the constraint that refused it.
      expect(err.query).toMatch(/^insert into "users"/);
      expect(err.message).toContain('violates check constraint "refuse_one"');
      expect(err).not.toHaveProperty('params');
      expect(`${String(err.message)}${String(err.stack)}`).not.toContain('params:');
      expect(failure).not.toContain('Display Secretname');
      expectNoSecrets(log, new Map([['password', password]]));
    },
    30_000,
  );

  it('through the entry point, media workers included, at level trace', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-logs-'));
    cleanup.push(() => rm(dataDir, { recursive: true, force: true }));
    const child = spawn(process.execPath, ['--import', 'tsx', 'server/src/main.ts'], {
      cwd: root,
      // The entry point as it starts with no configuration: on the embedded database, never on a
      // DATABASE_URL the test run inherits (CI's shared database is for the storage suites).
      env: embeddedEnv({
        ...turnEnv,
        PORT: '0',
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        LOG_LEVEL: 'trace',
        MEDIA_WORKERS: '2',
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    cleanup.push(() => child.kill('SIGKILL'));
    await waitFor(() => /live at http:\/\//.test(output), 30_000, 'the server to start');
    const url = /live at (http:\/\/\S+)/.exec(output)![1]!;

    const secrets = await fullScenario(url);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expectNoSecrets(output, secrets);
    expect(output).toMatch(/"authorization":"\[redacted\]"/);
  }, 90_000);
});
