/**
 * Settings an operator gets wrong, or leaves to their defaults, at start: a proxy setting that
 * would let clients choose their own address is refused; a data folder that does not exist yet
 * is created, whatever the database.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config';
import { api, engines, startTestServer } from './support/server';

describe('TRUST_PROXY', () => {
  it('refuses `true` (a client sending its own X-Forwarded-For would choose its address), naming the variable and what to set instead', () => {
    for (const value of ['true', 'TRUE', ' true ']) {
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(
        /TRUST_PROXY: 'true'.*number of proxies.*addresses or subnets/,
      );
    }
  });

  it('takes a hop count, or addresses, CIDR subnets and named ranges', () => {
    const trustProxy = (value?: string) => loadConfig({ TRUST_PROXY: value }).trustProxy;
    expect(trustProxy(undefined)).toBe(false);
    expect(trustProxy('')).toBe(false);
    expect(trustProxy('false')).toBe(false);
    expect(trustProxy('0')).toBe(0);
    expect(trustProxy('2')).toBe(2);
    expect(trustProxy('loopback')).toEqual(['loopback']);
    expect(trustProxy('loopback, linklocal,uniquelocal')).toEqual([
      'loopback',
      'linklocal',
      'uniquelocal',
    ]);
    expect(trustProxy('10.0.0.0/8,192.168.1.7, fd00::/8,::1,2001:db8::/128')).toEqual([
      '10.0.0.0/8',
      '192.168.1.7',
      'fd00::/8',
      '::1',
      '2001:db8::/128',
    ]);
  });

  it('refuses what is neither, naming each wrong entry', () => {
    for (const [value, wrong] of [
      ['loopback,true', '"true"'],
      ['10.0.0.0/33', '"10.0.0.0/33"'],
      ['::/129', '"::/129"'],
      ['10.0.0/8', '"10.0.0/8"'],
      ['10.0.0.1/8/1', '"10.0.0.1/8/1"'],
      ['1.5', '"1.5"'],
      ['-1', '"-1"'],
      ['proxy.example.com', '"proxy.example.com"'],
      ['loopback,,10.0.0.1', '""'],
    ] as const) {
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(ConfigError);
      expect(() => loadConfig({ TRUST_PROXY: value }), value).toThrow(
        new RegExp(`TRUST_PROXY: must be a hop count.*not .*${wrong.replace(/[.*/]/g, '\\$&')}`),
      );
    }
  });

  it('with the proxy named, believes its X-Forwarded-For; without, a client cannot choose its address', async () => {
    // Express answers `req.ip` from this setting; the refused sign-in's rate limit counts by it.
    const attempts = async (env: Record<string, string>) => {
      const server = await startTestServer({ env: { LOGIN_FAILURES_PER_IP: '1', ...env } });
      try {
        const request = api(server.url);
        const signIn = (address: string) =>
          request('POST', '/api/auth/login', {
            body: { username: 'nobody_here', password: 'wrong password' },
            headers: { 'x-forwarded-for': address },
          });
        await signIn('203.0.113.1');
        return (await signIn('203.0.113.2')).status;
      } finally {
        await server.stop();
      }
    };
    expect(await attempts({ TRUST_PROXY: 'loopback' })).toBe(401);
    expect(await attempts({})).toBe(429);
  });
});

describe('DATA_DIR', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it.each(engines)(
    'that does not exist yet is created at start, with DATABASE_URL too (the node died on ENOENT …/node-id) (%s)',
    async (engine) => {
      const parent = await mkdtemp(path.join(os.tmpdir(), 'onair-data-'));
      cleanup.push(() => rm(parent, { recursive: true, force: true }));
      const dataDir = path.join(parent, 'not', 'yet');
      const server = await startTestServer({ engine, env: { DATA_DIR: dataDir } });
      cleanup.push(() => server.stop());
      expect(server.database.engine).toBe(engine);
      expect((await api(server.url)('GET', '/api/health')).status).toBe(200);
      // What it generated is kept there, for its owner's eyes only.
      expect((await stat(dataDir)).mode & 0o777).toBe(0o700);
      for (const name of ['jwt-secret', 'node-id']) {
        expect((await stat(path.join(dataDir, name))).mode & 0o777, name).toBe(0o600);
      }
    },
    60_000,
  );

  it('warns when ICE_SERVERS hands viewers TURN over TCP or TLS, which the media engine cannot complete', async () => {
    const warnings = async (iceServers: unknown) => {
      const lines: { level: number; msg: string }[] = [];
      const logger = pino(
        { level: 'warn' },
        {
          write: (line: string) =>
            void lines.push(JSON.parse(line) as { level: number; msg: string }),
        },
      );
      const server = await startTestServer({
        env: { ICE_SERVERS: JSON.stringify(iceServers) },
        logger,
      });
      await server.stop();
      return lines.filter((l) => l.msg.startsWith('ICE_SERVERS lists TURN over TCP')).length;
    };
    const turn = (urls: string[]) => [{ urls, username: 'u', credential: 'c' }];
    expect(await warnings(turn(['turn:turn.example.com:3478?transport=udp']))).toBe(0);
    expect(await warnings(turn(['turn:turn.example.com:3478?transport=tcp']))).toBe(1);
    expect(await warnings(turn(['turns:turn.example.com:5349']))).toBe(1);
  });
});
