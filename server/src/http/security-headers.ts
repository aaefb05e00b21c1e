import helmet from 'helmet';

/**
 * The web app's Content Security Policy: our own scripts and styles only (Vite emits files, no
 * inline script), images from anywhere over HTTPS (stream thumbnails and avatars are URLs on
 * other hosts), camera and remote streams as `blob:`/`mediastream:` media, and API and Socket.IO
 * traffic to this origin (in CSP Level 3 `'self'` also matches `ws:`/`wss:` to it). Nothing may
 * frame the app (clickjacking) and no plugin may load.
 */
const directives = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:', 'https:'],
  mediaSrc: ["'self'", 'blob:', 'mediastream:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'", 'data:'],
  workerSrc: ["'self'", 'blob:'],
  manifestSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

/**
 * helmet on every response the Express app sends. Left out on purpose: HSTS, because this
 * process speaks plain HTTP and the TLS terminator in front of it owns that promise (a
 * year-long `includeSubDomains` sent from here could break sibling hosts), and
 * `upgrade-insecure-requests`, which would break the app served over plain HTTP on a LAN address.
 */
export const securityHeaders = () =>
  helmet({
    contentSecurityPolicy: { useDefaults: false, directives },
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });

/**
 * The same promises for responses Express never sees (Socket.IO's polling and handshake): they
 * are data, never a page, so nothing at all may load from them.
 */
export const dataResponseHeaders: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Resource-Policy': 'same-origin',
};
