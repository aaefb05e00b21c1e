/** coturn as deploy/turnserver.conf sets it up, on free ports of 127.0.0.1, for one test. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { accepts, Daemon, freePort, freeUdpRange, recipe, substitute } from './daemon';

export interface CoturnOptions {
  /** The TURN REST API secret, the app's TURN_SECRET. */
  secret: string;
  realm: string;
  /** Certificate and key (PEM files) for the TLS listener; none: no TLS listener. */
  tls?: { cert: string; key: string } | undefined;
}

export interface Coturn {
  /** TURN over UDP and TCP. */
  port: number;
  /** TURN over TLS; undefined without `tls`. */
  tlsPort: number | undefined;
  /** The UDP ports relayed addresses are taken from. */
  relayPorts: [number, number];
  /** Everything it logged (verbose). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * The recipe's file with the test's ports, secret and certificate, and what only a test on one
 * machine needs: every address is 127.0.0.1, so the relay must be allowed to reach loopback
 * peers, which the recipe (rightly) leaves denied.
 */
async function testConfig(
  options: CoturnOptions,
  dir: string,
  ports: { port: number; tlsPort: number; relay: [number, number] },
): Promise<string> {
  let conf = await recipe('turnserver.conf');
  const set = (key: string, value: string) => {
    conf = substitute(conf, new RegExp(`^#?${key}=.*$`, 'm'), `${key}=${value}`);
  };
  set('listening-port', String(ports.port));
  set('tls-listening-port', String(ports.tlsPort));
  set('min-port', String(ports.relay[0]));
  set('max-port', String(ports.relay[1]));
  set('static-auth-secret', options.secret);
  set('realm', options.realm);
  if (options.tls) {
    set('cert', options.tls.cert);
    set('pkey', options.tls.key);
  } else {
    conf = substitute(conf, /^cert=.*$/m, 'no-tls');
    conf = substitute(conf, /^pkey=.*$/m, '');
  }
  set('log-file', 'stdout');
  return [
    conf,
    '# The test machine: one loopback address for clients, relays and the app server alike.',
    'listening-ip=127.0.0.1',
    'relay-ip=127.0.0.1',
    'allow-loopback-peers',
    'no-dtls',
    'verbose',
    `pidfile=${path.join(dir, 'turnserver.pid')}`,
    `userdb=${path.join(dir, 'turndb')}`,
    '',
  ].join('\n');
}

export async function startCoturn(options: CoturnOptions): Promise<Coturn> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'onair-coturn-'));
  const port = await freePort(true);
  const tlsPort = options.tls ? await freePort() : 0;
  const relay = await freeUdpRange(40);
  const file = path.join(dir, 'turnserver.conf');
  await writeFile(file, await testConfig(options, dir, { port, tlsPort, relay }));
  const daemon = new Daemon('turnserver', 'turnserver', ['-c', file]);
  const stop = async () => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await daemon.ready(async () => (await accepts(port)) && (!options.tls || accepts(tlsPort)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    port,
    tlsPort: options.tls ? tlsPort : undefined,
    relayPorts: relay,
    log: () => daemon.log(),
    stop,
  };
}
