/**
 * Caddy as deploy/Caddyfile sets it up, for one test: its own name for the site, a free HTTPS
 * port, and a certificate from Caddy's internal CA (`tls internal`) in place of a public one,
 * which a closed network cannot obtain. Clients are made to trust that CA's root, not told to
 * ignore errors: the TLS they see is the deployment's.
 */
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect as connectTls } from 'node:tls';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon, freePort, recipe, substitute } from './daemon';

export interface CaddyOptions {
  /** The site's name, as in PUBLIC_URL; clients must resolve it to 127.0.0.1. */
  siteName: string;
  /** The HTTPS port (PUBLIC_URL's); pick it with `freePort` before the app starts. */
  httpsPort: number;
  /** The app's port on 127.0.0.1. */
  upstreamPort: number;
}

export interface Caddy {
  /** `https://name:port`, the app's PUBLIC_URL. */
  url: string;
  /** PEM file of the root of Caddy's internal CA, the one certificate a client must trust. */
  rootCertificate: string;
  /** The site's certificate and key (PEM files), as coturn's TLS listener may use them too. */
  siteCertificate: { cert: string; key: string };
  log(): string;
  stop(): Promise<void>;
}

async function testCaddyfile(options: CaddyOptions, storage: string): Promise<string> {
  let file = await recipe('Caddyfile');
  file = substitute(
    file,
    /^\{\n[^}]*\}$/m,
    [
      '{',
      // No admin endpoint on port 2019, which another test's Caddy may hold.
      '\tadmin off',
      `\thttp_port ${await freePort()}`,
      `\thttps_port ${options.httpsPort}`,
      `\tstorage file_system ${storage}`,
      // The root is given to the test's clients; the machine's trust store is left alone.
      '\tskip_install_trust',
      '}',
    ].join('\n'),
  );
  file = substitute(file, /^live\.example\.com \{$/m, `${options.siteName} {\n\ttls internal`);
  file = substitute(
    file,
    'reverse_proxy 127.0.0.1:3000',
    `reverse_proxy 127.0.0.1:${options.upstreamPort}`,
  );
  return file;
}

/** Whether Caddy answers TLS for the site with a certificate that chains to its root. */
const servesTls = (options: CaddyOptions, root: string): Promise<boolean> =>
  access(root).then(
    () =>
      new Promise((resolve) => {
        const socket = connectTls({
          host: '127.0.0.1',
          port: options.httpsPort,
          servername: options.siteName,
          ca: readFileSync(root),
        });
        socket.once('secureConnect', () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      }),
    () => false,
  );

export async function startCaddy(options: CaddyOptions): Promise<Caddy> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-caddy-'));
  const storage = path.join(dir, 'data');
  const file = path.join(dir, 'Caddyfile');
  await writeFile(file, await testCaddyfile(options, storage));
  // HOME and XDG_* keep what Caddy writes besides its storage (autosave) in the directory too.
  const daemon = new Daemon('caddy', 'caddy', ['run', '--config', file, '--adapter', 'caddyfile'], {
    ...process.env,
    HOME: dir,
    XDG_CONFIG_HOME: path.join(dir, 'config'),
    XDG_DATA_HOME: path.join(dir, 'data-home'),
  });
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  const rootCertificate = path.join(storage, 'pki/authorities/local/root.crt');
  const site = path.join(storage, 'certificates/local', options.siteName, options.siteName);
  try {
    await daemon.ready(() => servesTls(options, rootCertificate));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    url: `https://${options.siteName}:${options.httpsPort}`,
    rootCertificate,
    siteCertificate: { cert: `${site}.crt`, key: `${site}.key` },
    log: () => daemon.log(),
    stop,
  };
}
