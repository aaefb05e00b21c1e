import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { childPids, embeddedEnv, spawnEntryPoint, startEntryPoint } from './support/entry-point';
import { SyntheticPublisher } from './support/loopback-peers';
import { api, registerUser, startTestServer } from './support/server';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const metric = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').pop()) : NaN;
};

describe('operations', () => {
  it('exposes Prometheus metrics that follow what happens, and request ids', async () => {
    const server = await startTestServer();
    try {
      const before = await (await fetch(`${server.url}/metrics`)).text();
      expect(metric(before, 'onair_live_streams')).toBe(0);
      const host = await registerUser(server);
      const viewer = await registerUser(server);
      const { body } = await api(server.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'metrics' },
      });
      await api(server.url)('POST', `/api/live/${body.streamId}/view`, { token: viewer.token });
      const res = await fetch(`${server.url}/metrics`);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
      const after = await res.text();
      expect(metric(after, 'onair_live_streams')).toBe(1);
      expect(metric(after, 'onair_viewers')).toBe(1);
      expect(metric(after, 'onair_connected_sockets')).toBe(0);
      expect(after).toMatch(
        /onair_http_request_duration_seconds_bucket\{.*route="\/api\/live\/start".*\}/,
      );

      const generated = await fetch(`${server.url}/api/health`);
      expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
      const echoed = await fetch(`${server.url}/api/health`, {
        headers: { 'x-request-id': 'trace-123' },
      });
      expect(echoed.headers.get('x-request-id')).toBe('trace-123');
      const refused = await fetch(`${server.url}/api/health`, {
        headers: { 'x-request-id': 'bad id with spaces' },
      });
      expect(refused.headers.get('x-request-id')).not.toBe('bad id with spaces');
    } finally {
      await server.stop();
    }
  });

  it('ends streams a crashed process left live, on the next start', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-crash-'));
    const env = { DATA_DIR: dataDir, NODE_ID: 'node-crash-test', PUBLISHER_GRACE_SECONDS: '0' };
    try {
      const first = await startTestServer({ env });
      const host = await registerUser(first);
      const started = await api(first.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'orphan' },
      });
      // A crash: the process goes away without ending anything.
      await first.close();
      const second = await startTestServer({ env });
      try {
        const details = await api(second.url)('GET', `/api/live/${started.body.streamId}`);
        expect(details.body.status).toBe('ended');
        expect(details.body.endedAt).not.toBeNull();
        expect((await api(second.url)('GET', '/api/live/active')).body).toEqual([]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('keeps REST views across a restart of the node that took them, until their lease ends', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-restart-'));
    const env = { DATA_DIR: dataDir, NODE_ID: 'node-restart-test', PUBLISHER_GRACE_SECONDS: '60' };
    try {
      const first = await startTestServer({ env });
      const [host, overRest] = await Promise.all([registerUser(first), registerUser(first)]);
      const started = await api(first.url)('POST', '/api/live/start', {
        token: host.token,
        body: { title: 'restart' },
      });
      const streamId = started.body.streamId;
      await api(first.url)('POST', `/api/live/${streamId}/view`, { token: overRest.token });
      // A lease is not a connection of this node: the restart's clean-up leaves it alone.
      await first.close();
      const second = await startTestServer({ env });
      try {
        const details = await api(second.url)('GET', `/api/live/${streamId}`, {
          token: host.token,
        });
        expect(details.body.viewerCount).toBe(1);
        const open = details.body.viewers.filter((v: any) => v.leftAt === null);
        expect(open.map((v: any) => v.user.id)).toEqual([overRest.user.id]);
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('starts from the entry point, prints its URL and stops cleanly on SIGTERM', async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-main-'));
    try {
      const server = await startEntryPoint({ DATA_DIR: dataDir });
      try {
        expect((await (await fetch(`${server.url}/api/health`)).json()) as unknown).toEqual({
          ok: true,
          status: 'ok',
          dependencies: { database: 'ok' },
        });
        // The embedded database, even when the test run has DATABASE_URL set (as CI does).
        expect(existsSync(path.join(dataDir, 'PG_VERSION'))).toBe(true);
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      } finally {
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('runs compiled under plain node, media workers included, as npm start does', async () => {
    // A build of its own, so a build someone is running from server/dist stays as it is.
    const outDir = path.join(root, 'server/.tmp', `dist-${process.pid}`);
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'onair-compiled-'));
    const publisher = new SyntheticPublisher();
    try {
      await promisify(execFile)(process.execPath, ['scripts/build-server.mjs', outDir], {
        cwd: root,
      });
      const server = await startEntryPoint({ DATA_DIR: dataDir }, [path.join(outDir, 'main.js')]);
      try {
        // No media worker runs before the first media session.
        expect(childPids(server.pid)).toEqual([]);
        const host = await registerUser(server);
        const { body } = await api(server.url)('POST', '/api/live/start', {
          token: host.token,
          body: { title: 'compiled' },
        });
        const res = await fetch(`${server.url}/api/live/${body.streamId}/whip`, {
          method: 'POST',
          headers: { 'content-type': 'application/sdp', authorization: `Bearer ${body.streamKey}` },
          body: await publisher.offer(),
        });
        expect(res.status).toBe(201);
        await publisher.accept(await res.text());
        const workers = childPids(server.pid);
        expect(workers.length).toBeGreaterThan(0);
        for (const pid of workers) {
          const command = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
          expect(command).toContain(path.join(outDir, 'worker-main.js'));
          expect(command).not.toMatch(/tsx/);
        }
        server.child.kill('SIGTERM');
        expect(await server.exited).toBe(0);
      } finally {
        await server.stop();
      }
    } finally {
      await publisher.close();
      await rm(dataDir, { recursive: true, force: true });
      await rm(outDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('refuses invalid configuration with a message naming the variable', async () => {
    const child = spawnEntryPoint(embeddedEnv({ PORT: 'abc', ICE_SERVERS: 'not json' }));
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/PORT/);
    expect(stderr).toMatch(/ICE_SERVERS/);
  }, 30_000);
});
