import type { ErrorBody, ErrorCode, ErrorResponse } from '@onair/protocol';

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
  const data: unknown = text ? JSON.parse(text) : undefined;
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
