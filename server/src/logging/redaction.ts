/**
 * What must never reach a log line: bearer tokens, cookies, stream keys (also in URLs and text), password
 * hashes and the query parameters that carry them, ICE passwords and TURN credentials. Log lines
 * travel to places with weaker access control than the database, and a token in a log is a
 * session anyone reading it can take over.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stdSerializers } from 'pino';

export const censor = '[redacted]';

/**
 * Keys redacted wherever pino meets them at the top level or one level down (`{ user: { token } }`).
 * A second net under the serializers below, for values someone logs by name.
 */
const secretKeys = [
  'authorization',
  'cookie',
  'password',
  'passwordHash',
  'token',
  'streamKey',
  'credential',
  'usernameFragment',
  'sdp',
  'candidate',
];
export const redactPaths = [...secretKeys, ...secretKeys.map((key) => `*.${key}`)];

const secretHeaders = new Set(['authorization', 'proxy-authorization', 'cookie', 'x-api-key']);
/** Headers whose value is a URL, scrubbed as the request's own. */
const urlHeaders = new Set(['referer', 'location', 'content-location']);

/** Query parameter names that carry credentials: `key`, `token`, `access_token`, `streamKey`, `api-key`... */
const secretParamSuffixes = [
  'key',
  'token',
  'secret',
  'password',
  'passwd',
  'credential',
  'auth',
  'authorization',
  'jwt',
  'sig',
  'signature',
];

function isSecretParam(name: string): boolean {
  let decoded = name;
  try {
    decoded = decodeURIComponent(name.replace(/\+/g, ' '));
  } catch {
    // a malformed escape: judge the name as written
  }
  const normalized = decoded.toLowerCase().replace(/[^a-z0-9]/g, '');
  return secretParamSuffixes.some((suffix) => normalized.endsWith(suffix));
}

/** Percent-decoded, as often as it was encoded (a few times at most), or as written if malformed. */
function decoded(text: string): string {
  let current = text;
  for (let round = 0; round < 3; round += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current.replace(/\+/g, ' '));
    } catch {
      return current;
    }
    if (next === current) return current;
    current = next;
  }
  return current;
}

/** Whether a part of a URL, once decoded, holds a token or key recognisable by its shape. */
function carriesSecret(part: string): boolean {
  const text = decoded(part);
  return secretShapes.some((shape) => text.search(shape) >= 0);
}

/**
 * The URL with every path segment and query value that holds a recognisable token or key, and
 * the value of every credential-like query parameter, replaced. A client may put a token anywhere
 * (`/api/live/<jwt>`), and encode it as it likes, so each part is judged decoded.
 */
export function scrubUrl(url: string): string {
  const hash = url.indexOf('#');
  const end = hash < 0 ? url.length : hash;
  const start = url.indexOf('?');
  const pathEnd = start < 0 || start > end ? end : start;
  const path = url
    .slice(0, pathEnd)
    .split('/')
    .map((segment) => (carriesSecret(segment) ? censor : segment))
    .join('/');
  if (pathEnd === end) return `${path}${url.slice(end)}`;
  const query = url
    .slice(pathEnd + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return carriesSecret(pair) ? censor : pair;
      const name = pair.slice(0, eq);
      if (carriesSecret(name)) return censor;
      return isSecretParam(name) || carriesSecret(pair.slice(eq + 1)) ? `${name}=${censor}` : pair;
    })
    .join('&');
  return `${path}?${query}${url.slice(end)}`;
}

/**
 * Express's parsed query or route parameters with credential-like parameters, and tokens or
 * keys wherever they are (names, values, repeated values), replaced.
 */
function scrubParams(params: unknown, depth = 0): unknown {
  if (depth > 4) return censor; // deeper than any parameter of ours: not worth reading through
  if (typeof params === 'string') return scrubText(params);
  if (!params || typeof params !== 'object') return params;
  if (Array.isArray(params)) return params.map((value) => scrubParams(value, depth + 1));
  return Object.fromEntries(
    Object.entries(params).map(([name, value]) =>
      carriesSecret(name)
        ? [censor, censor]
        : [name, isSecretParam(name) ? censor : scrubParams(value, depth + 1)],
    ),
  );
}

/**
 * ICE passwords and user fragments (in SDP, RFC 8839 §5.4, and in trickled candidates) and TURN
 * credentials (in `Link` headers, RFC 9725 §4.6): knowing them lets a stranger answer a
 * connectivity check or use our relay.
 */
const sdpCredentials =
  /(a=ice-(?:pwd|ufrag):|\bufrag\s+|\bpwd\s+|\bcredential\s*=\s*"?)([^\s";,]+)/gi;

/** Persistent stream keys carry a prefix (`onair_`) so they are recognised wherever they turn up. */
const persistentStreamKeys = /onair_[A-Za-z0-9_-]{20,}/g;

/**
 * JWTs (RFC 7519 §3): three base64url parts, the first a JSON object, which starts `{"` (`eyJ`)
 * or `{ "` (`eyA`) once encoded. Access tokens are JWTs.
 */
const jwts = /ey[JA][A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*/g;

/** Credentials recognisable by their shape alone, wherever they are. */
const secretShapes = [persistentStreamKeys, jwts];

export function scrubText(text: string): string {
  return secretShapes.reduce(
    (scrubbed, shape) => scrubbed.replace(shape, censor),
    text.replace(sdpCredentials, `$1${censor}`),
  );
}

type Headers = Record<string, unknown>;

function scrubHeaders(headers: unknown): Headers | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const copy: Headers = {};
  for (const [name, value] of Object.entries(headers as Headers)) {
    const lower = name.toLowerCase();
    if (secretHeaders.has(lower) || lower === 'set-cookie') copy[name] = censor;
    else if (typeof value === 'string')
      copy[name] = scrubText(urlHeaders.has(lower) ? scrubUrl(value) : value);
    else copy[name] = value;
  }
  return copy;
}

/** pino-http's request serializer without credentials in headers, URL or query. */
export function requestSerializer(req: IncomingMessage): Record<string, unknown> {
  const serialized = stdSerializers.req(req);
  return {
    id: serialized.id,
    method: serialized.method,
    url: scrubText(scrubUrl(String(serialized.url ?? ''))),
    query: scrubParams(serialized.query),
    params: scrubParams(serialized.params),
    headers: scrubHeaders(serialized.headers),
    remoteAddress: serialized.remoteAddress,
    remotePort: serialized.remotePort,
  };
}

/** pino-http's response serializer without cookies or ICE server credentials in its headers. */
export function responseSerializer(res: ServerResponse): Record<string, unknown> {
  const serialized = stdSerializers.res(res);
  return { statusCode: serialized.statusCode, headers: scrubHeaders(serialized.headers) };
}

const isErrorLike = (value: unknown): value is Error =>
  !!value && typeof value === 'object' && typeof (value as Error).message === 'string';

/**
 * A copy of an error chain without the values a database query was given. drizzle's
 * `DrizzleQueryError` carries `params` and writes them into its message and stack (the password
 * hash is a parameter of the insert that registers a user); PGlite's errors carry `params` and
 * `queryOptions`; PostgreSQL's `detail` quotes the offending row ("Failing row contains ...").
 */
function withoutQueryValues(error: Error, depth = 0): Error {
  const fields = error as unknown as Record<string, unknown>;
  const cause = fields.cause;
  const cleanCause = isErrorLike(cause) && depth < 8 ? withoutQueryValues(cause, depth + 1) : cause;
  const fromDatabase = typeof fields.severity === 'string' && typeof fields.code === 'string';
  const carriesValues = 'params' in fields || 'queryOptions' in fields || fromDatabase;
  if (!carriesValues && cleanCause === cause) return error;

  const copy = Object.create(
    Object.getPrototypeOf(error) as object,
    Object.getOwnPropertyDescriptors(error),
  ) as Record<string, unknown>;
  let listed: string | undefined;
  try {
    if (Array.isArray(fields.params)) listed = `\nparams: ${String(fields.params)}`;
  } catch {
    // a parameter that cannot be turned into text cannot have been written into the message
  }
  for (const key of ['message', 'stack'] as const) {
    // Read from the original: V8 may keep `stack` behind an accessor bound to the instance.
    const text = fields[key];
    if (typeof text !== 'string') continue;
    const value = listed ? text.split(listed).join('') : text;
    Object.defineProperty(copy, key, { value, writable: true, configurable: true });
  }
  delete copy.params;
  delete copy.queryOptions;
  if (fromDatabase) delete copy.detail;
  if (cleanCause !== cause) copy.cause = cleanCause;
  return copy as unknown as Error;
}

/**
 * pino's error serializer over a copy of the error without query values, its text scrubbed of
 * ICE and TURN credentials. Also takes an error pino-http has serialized already (it keeps the
 * original in `raw`).
 */
export function errorSerializer(value: unknown): unknown {
  const raw = value && typeof value === 'object' ? (value as { raw?: unknown }).raw : undefined;
  const error = isErrorLike(raw) ? raw : value;
  if (!isErrorLike(error)) return value;
  const serialized = stdSerializers.err(withoutQueryValues(error)) as unknown as Record<
    string,
    unknown
  >;
  for (const key of ['message', 'stack', 'detail']) {
    const text = serialized[key];
    if (typeof text === 'string') serialized[key] = scrubText(text);
  }
  return serialized;
}

/** Serializers every logger of the product uses; `detail` is the media plane's log-only text. */
export const safeSerializers = {
  err: errorSerializer,
  detail: (detail: unknown) => (typeof detail === 'string' ? scrubText(detail) : detail),
};
