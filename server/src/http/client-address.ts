import { isIPv6 } from 'node:net';
import type { Request } from 'express';

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
  const ip = req.ip ?? req.socket.remoteAddress ?? 'unknown';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped?.[1]) return mapped[1];
  return isIPv6(ip) ? ipv6Prefix64(ip.split('%')[0] ?? ip) : ip;
}
