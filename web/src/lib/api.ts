import {
  tagStreamsPath,
  type CommentPage,
  type ErrorBody,
  type ErrorCode,
  type ErrorResponse,
  type ProfilePage,
  type Stream,
  type StreamDetails,
  type UserProfile,
  type TagStreams,
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

/**
 * JSON over fetch, with the session's bearer token when there is one. A `Blob` body (an image)
 * goes as it is, with its own type.
 */
export async function apiRequest<T>(
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown } = {},
): Promise<T> {
  const headers: Record<string, string> = {};
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  const raw = options.body instanceof Blob;
  if (options.body !== undefined)
    headers['content-type'] = raw ? (options.body as Blob).type : 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      body:
        options.body === undefined
          ? undefined
          : raw
            ? (options.body as Blob)
            : JSON.stringify(options.body),
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
  return data as T;
}

type Token = string | null | undefined;

/**
 * The REST calls the pages make, typed with the protocol's shapes. The token is optional where
 * the server lets anyone in (public streams, profiles): signed-out visitors send none.
 */
export const api = {
  activeStreams: (token: Token) => apiRequest<Stream[]>('GET', '/api/live/active', { token }),
  tagStreams: (tag: string, token: Token) =>
    apiRequest<TagStreams>('GET', tagStreamsPath(tag), { token }),
  stream: (streamId: string, token: Token) =>
    apiRequest<StreamDetails>('GET', `/api/live/${encodeURIComponent(streamId)}`, { token }),
  comments: (streamId: string, token: Token, limit = 50) =>
    apiRequest<CommentPage>(
      'GET',
      `/api/live/${encodeURIComponent(streamId)}/comments?limit=${limit}`,
      { token },
    ),
  profilePage: (username: string, token: Token) =>
    apiRequest<ProfilePage>('GET', `/api/users/by-username/${encodeURIComponent(username)}`, {
      token,
    }),
  follow: (userId: string, token: string) =>
    apiRequest<UserProfile>('POST', `/api/users/${encodeURIComponent(userId)}/follow`, { token }),
  unfollow: (userId: string, token: string) =>
    apiRequest<UserProfile>('DELETE', `/api/users/${encodeURIComponent(userId)}/follow`, {
      token,
    }),
  /**
   * ICE servers for a media connection. A signed-out visitor may not be given any (TURN
   * credentials are per user): on a network that needs none, watching works without.
   */
  iceServers: async (token: Token): Promise<RTCIceServer[]> => {
    try {
      return (
        await apiRequest<{ iceServers: RTCIceServer[] }>('GET', '/api/live/ice-servers', {
          token,
        })
      ).iceServers;
    } catch (e) {
      if (!token && e instanceof ApiError && e.code === 'unauthorized') return [];
      throw e;
    }
  },
};
