import {
  pathOf,
  routes,
  type ErrorBody,
  type ErrorCode,
  type ErrorResponse,
  type JsonRouteName,
  type RequestOf,
  type ResponseOf,
  type RouteName,
  type Routes,
} from '@onair/protocol';

/** A failed API call, with the server's error code and, when the code has them, its details. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode | 'network',
    message: string,
    /** The server's error body (e.g. the `streamId` of `already_live`). */
    readonly body?: ErrorBody,
  ) {
    super(message);
  }
}

type Token = string | null | undefined;

/** Who the call is made as: a token where the route needs one, may take one, or none. */
type AuthOf<A> = A extends 'required'
  ? { token: string }
  : A extends 'optional'
    ? { token?: Token }
    : { token?: undefined };

type InputOf<N extends RouteName> = RequestOf<Routes[N]> & AuthOf<Routes[N]['auth']>;

export type CallInput<N extends JsonRouteName> = InputOf<N>;

/** Routes with nothing to send may be called without an input. */
type CallArgs<N extends RouteName> =
  object extends InputOf<N> ? [input?: InputOf<N>] : [input: InputOf<N>];

/**
 * Calls one route of the protocol's REST table by name: its path, method, body and answer are
 * the table's, so the app cannot read a shape the server does not send. JSON over fetch; a
 * `Blob` body (an image) goes as it is, with its own type.
 */
export async function call<N extends JsonRouteName>(
  name: N,
  ...[input]: CallArgs<N>
): Promise<ResponseOf<Routes[N]>> {
  return (await request(name, input)) as ResponseOf<Routes[N]>;
}

/**
 * Calls a route whose answer the app does not read (a `204 No Content`, such as deleting a
 * recording): it resolves once the server has done it, and fails with an `ApiError` as `call` does.
 */
export async function callWithoutAnswer<N extends Exclude<RouteName, JsonRouteName>>(
  name: N,
  ...[input]: CallArgs<N>
): Promise<void> {
  await request(name, input);
}

async function request(name: RouteName, input: unknown): Promise<unknown> {
  const route = routes[name];
  const { params, query, body, token } = (input ?? {}) as {
    params?: Record<string, string>;
    query?: Record<string, unknown>;
    body?: unknown;
    token?: Token;
  };
  let path = pathOf(route.path, (params ?? {}) as never);
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {}))
    if (value !== undefined) search.set(key, String(value));
  if (search.size) path += `?${search.toString()}`;

  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  const raw = body instanceof Blob;
  if (body !== undefined) headers['content-type'] = raw ? body.type : 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method: route.method,
      headers,
      body: body === undefined ? undefined : raw ? body : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection.');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    // Not our API's JSON (a proxy's error page, say): judged by its status alone.
    data = undefined;
  }
  if (!res.ok) {
    const error = (data as ErrorResponse | undefined)?.error;
    throw new ApiError(
      res.status,
      error?.code ?? 'internal',
      error?.message ?? `Request failed (${res.status})`,
      error,
    );
  }
  return data;
}

/**
 * ICE servers for a media connection. A signed-out visitor may not be given any (TURN
 * credentials are per user): on a network that needs none, watching works without.
 */
export async function iceServers(token: Token): Promise<RTCIceServer[]> {
  try {
    return (await call('iceServers', { token })).iceServers;
  } catch (e) {
    if (!token && e instanceof ApiError && e.code === 'unauthorized') return [];
    throw e;
  }
}
