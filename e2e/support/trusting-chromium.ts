/**
 * A fresh Chromium that trusts one extra root certificate the way a person's machine would after
 * importing it: in the NSS database Chromium on Linux reads ($HOME/.pki/nssdb), here a database
 * of a home directory made for this browser alone. Nothing else is relaxed: a certificate that
 * does not chain to the root, or names another host, is still refused.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { chromiumArgs, chromiumPath, type BrowserSession } from './chromium';

const run = promisify(execFile);

export interface TrustingChromiumOptions {
  /** PEM file of the root certificate to trust for TLS servers. */
  rootCertificate: string;
  /** Host names to resolve to 127.0.0.1, as DNS would point them at the server. */
  hosts: string[];
}

export async function launchTrustingChromium(
  options: TrustingChromiumOptions,
): Promise<BrowserSession> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'onair-chromium-home-'));
  const nssdb = path.join(home, '.pki/nssdb');
  await mkdir(nssdb, { recursive: true });
  await run('certutil', ['-d', `sql:${nssdb}`, '-N', '--empty-password']);
  // "C,,": a CA trusted to issue server certificates, and nothing else.
  await run('certutil', [
    '-d',
    `sql:${nssdb}`,
    '-A',
    '-t',
    'C,,',
    '-n',
    'deployment test root',
    '-i',
    options.rootCertificate,
  ]);
  const profile = path.join(home, 'profile');
  const rules = options.hosts.map((host) => `MAP ${host} 127.0.0.1`).join(',');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath,
    headless: true,
    args: [...chromiumArgs, `--host-resolver-rules=${rules}`],
    env: { ...process.env, HOME: home },
    viewport: { width: 1280, height: 800 },
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
}
