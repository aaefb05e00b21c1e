import { connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { isLoopback } from '../src/http/metrics-access';
import { api, startTestServer, uniqueName, type TestServer } from './support/server';

/** Sends `chunks` over a raw TCP connection, `gapMs` apart, and resolves with all it receives until the server closes. */
function rawExchange(
  port: number,
  chunks: string[],
  { gapMs = 0, giveUpMs = 10_000 } = {},
): Promise<{ response: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = tcpConnect(port, '127.0.0.1');
    let response = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`the server kept the connection open for ${giveUpMs} ms`));
    }, giveUpMs);
    socket.on('data', (data: Buffer) => (response += data.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ response, closedAfterMs: Date.now() - started });
    });
    const send = async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
    };
    socket.on('connect', () => {
      send().catch(reject);
    });
  });
}

describe('security headers', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.stop());

  const expectSecurityHeaders = (headers: Headers, what: string) => {
    expect(headers.get('x-content-type-options'), what).toBe('nosniff');
    expect(headers.get('referrer-policy'), what).toBe('no-referrer');
    expect(headers.get('x-frame-options'), what).toBe('DENY');
    expect(headers.get('content-security-policy'), what).toMatch(/frame-ancestors 'none'/);
    expect(headers.get('strict-transport-security'), what).toBeNull();
  };

  it('are on every response: pages, API answers, errors, WHIP preflights', async () => {
    const responses: [string, Response][] = [
      ['web app', await fetch(`${server.url}/live/somewhere`)],
      ['health', await fetch(`${server.url}/api/health`)],
      ['list', await fetch(`${server.url}/api/live/active`)],
      ['unknown API path', await fetch(`${server.url}/api/nothing`)],
      [
        'bad input',
        await fetch(`${server.url}/api/auth/login`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{',
        }),
      ],
      ['unauthorized', await fetch(`${server.url}/api/auth/me`)],
      [
        'WHIP preflight',
        await fetch(`${server.url}/api/live/${crypto.randomUUID()}/whip`, { method: 'OPTIONS' }),
      ],
      ['metrics', await fetch(`${server.url}/metrics`)],
    ];
    // (The web app answers 503 until it is built: that answer carries the headers too.)
    for (const [what, res] of responses) {
      expectSecurityHeaders(res.headers, what);
    }
  });

  it('allow what the web app needs and nothing else', async () => {
    const csp = (await fetch(`${server.url}/`)).headers.get('content-security-policy')!;
    const directives = new Map(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values] as const;
      }),
    );
    expect(directives.get('default-src')).toEqual(["'self'"]);
    expect(directives.get('script-src')).toEqual(["'self'"]);
    expect(directives.get('connect-src')).toEqual(["'self'"]);
    expect(directives.get('media-src')).toEqual(["'self'", 'blob:', 'mediastream:']);
    expect(directives.get('img-src')).toContain('https:');
    expect(directives.get('object-src')).toEqual(["'none'"]);
    expect(csp).not.toMatch(/unsafe-eval|upgrade-insecure-requests/);
  });

  it('are also on the responses the realtime server sends itself', async () => {
    // WebSocket only: a long-polling handshake is refused, in Engine.IO's terms.
    const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ code: 0, message: 'Transport unknown' });
    expectSecurityHeaders(res.headers, 'Socket.IO handshake');
    expect(res.headers.get('content-security-policy')).toMatch(/default-src 'none'/);
  });
});

describe('/metrics access', () => {
  it('answers loopback callers only when no token is set', async () => {
    const server = await startTestServer();
    try {
      const local = await fetch(`${server.url}/metrics`);
      expect(local.status).toBe(200);
      expect(await local.text()).toMatch(/onair_live_streams/);
      // Through a proxy on this machine the caller is whoever the proxy names, not loopback.
      for (const header of ['x-forwarded-for', 'forwarded', 'x-real-ip']) {
        const proxied = await api(server.url)('GET', '/metrics', {
          headers: { [header]: header === 'forwarded' ? 'for=203.0.113.7' : '203.0.113.7' },
        });
        expect(proxied.status, header).toBe(403);
        expect(proxied.body.error.code).toBe('forbidden');
        expect(proxied.body.error.message).toMatch(/METRICS_TOKEN/);
      }
    } finally {
      await server.stop();
    }
  });

  it('requires the bearer token from everyone, loopback included, when METRICS_TOKEN is set', async () => {
    const token = 'metrics-token-0123456789abcdef';
    const server = await startTestServer({ env: { METRICS_TOKEN: token } });
    try {
      const request = api(server.url);
      for (const given of [undefined, 'wrong-token', `${token}x`, token.slice(0, -1)]) {
        const res = await request('GET', '/metrics', given ? { token: given } : {});
        expect(res.status, String(given)).toBe(401);
        expect(res.body.error.code).toBe('unauthorized');
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(JSON.stringify(res.body)).not.toMatch(/onair_/);
      }
      const malformed = await request('GET', '/metrics', { headers: { authorization: 'Basic x' } });
      expect(malformed.status).toBe(401);
      const allowed = await request('GET', '/metrics', {
        token,
        headers: { 'x-forwarded-for': '203.0.113.7' },
      });
      expect(allowed.status).toBe(200);
      expect(allowed.body).toMatch(/onair_live_streams/);
      expect(allowed.headers.get('www-authenticate')).toBeNull();
    } finally {
      await server.stop();
    }
  });

  it('knows loopback addresses in every spelling', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(isLoopback(address), address).toBe(true);
    }
    for (const address of ['10.0.0.1', '::ffff:10.0.0.1', '::', '0.0.0.0', '128.0.0.1', '']) {
      expect(isLoopback(address), address).toBe(false);
    }
    expect(isLoopback(undefined)).toBe(false);
  });

  it('refuses a METRICS_TOKEN too short to be a secret, naming the variable', () => {
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ METRICS_TOKEN: 'short' })).toThrow(/METRICS_TOKEN/);
    expect(loadConfig({ METRICS_TOKEN: 'x'.repeat(16) }).metricsToken).toBe('x'.repeat(16));
  });
});

describe('slow or never-ending requests', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ httpTimeouts: { headersMs: 500, requestMs: 1000 } });
  });
  afterAll(() => server.stop());

  it('has tight defaults', async () => {
    const defaults = await startTestServer();
    try {
      expect(defaults.http.headersTimeout).toBe(10_000);
      expect(defaults.http.requestTimeout).toBe(30_000);
    } finally {
      await defaults.stop();
    }
  });

  it('closes a connection whose headers never end', async () => {
    const { response, closedAfterMs } = await rawExchange(server.port, [
      'GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n',
    ]);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(3000);
  });

  it('closes a connection whose body never ends, and registers nobody', async () => {
    const username = uniqueName('slow');
    const body = JSON.stringify({ username, password: 'correct horse battery' });
    const { response, closedAfterMs } = await rawExchange(server.port, [
      `POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      body.slice(0, 10),
    ]);
    expect(response).toMatch(/^HTTP\/1\.1 408/);
    expect(closedAfterMs).toBeLessThan(3500);
    expect(await server.services.users.findByUsername(username)).toBeUndefined();
  });

  it('still serves a request that arrives in pieces within the limit', async () => {
    const username = uniqueName('pieces');
    const body = JSON.stringify({ username, password: 'correct horse battery' });
    const { response } = await rawExchange(
      server.port,
      [
        'POST /api/auth/register HTTP/1.1\r\nHost: 127.0.0.1\r\n',
        `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
        body.slice(0, 10),
        body.slice(10),
      ],
      { gapMs: 100 },
    );
    expect(response).toMatch(/^HTTP\/1\.1 201/);
    expect(await server.services.users.findByUsername(username)).toBeDefined();
  });
});
