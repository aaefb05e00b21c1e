import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';
import type { Request } from 'express';
import proxyaddr from 'proxy-addr';

/** The first 64 bits of an IPv6 address, written out in full (`2001:db8:0:1::/64`). */
function ipv6Prefix64(address: string): string {
  const [head = '', tail] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = [
    ...left,
    ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'),
    ...right,
  ];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g || '0', 16).toString(16))
    .join(':')}::/64`;
}

/**
 * The key that per-address limits count by: the client's IPv4 address, or its IPv6 /64 (one
 * subscriber usually holds a whole /64, so counting single IPv6 addresses would be no limit).
 * Behind a proxy this is only right when `TRUST_PROXY` names it (Express's `req.ip`).
 */
export function clientAddress(req: Request): string {
  return addressKey(req.ip ?? req.socket.remoteAddress ?? 'unknown');
}

/** Express's compiled `trust proxy` setting (`app.get('trust proxy fn')`). */
export type TrustProxy = (address: string, hop: number) => boolean;

/**
 * `clientAddress` for a request Express never sees (a WebSocket upgrade): given the app's own
 * compiled `trust proxy`, the same key as its `req.ip` gives, so one address is one address to
 * every limit.
 */
export function upgradeClientAddress(req: IncomingMessage, trust: TrustProxy): string {
  return addressKey(proxyaddr(req, trust));
}

/** An address as limits count it: IPv4 (also when IPv4-mapped), or the IPv6 /64. */
export function addressKey(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  return isIPv6(ip) ? ipv6Prefix64(ip.split('%')[0] ?? ip) : ip;
}
