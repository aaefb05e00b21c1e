import type { ModerationActionBody } from '@onair/protocol';
import { api, registerUser, type ApiResponse, type TestUser } from './server';

/** `POST /api/live/:streamId/moderation` as `user`. */
export function moderate(
  server: { url: string },
  user: TestUser,
  streamId: string,
  action: ModerationActionBody | Record<string, unknown>,
): Promise<ApiResponse<any>> {
  return api(server.url)('POST', `/api/live/${streamId}/moderation`, {
    token: user.token,
    body: action,
  });
}

/** `GET /api/live/:streamId/moderation` as `user`. */
export function moderationView(
  server: { url: string },
  user: TestUser | undefined,
  streamId: string,
  query = '',
): Promise<ApiResponse<any>> {
  return api(server.url)('GET', `/api/live/${streamId}/moderation${query}`, {
    ...(user ? { token: user.token } : {}),
  });
}

/** Starts a public stream of `host` (ending none: each test has a host of its own). */
export async function startStream(
  server: { url: string },
  host: TestUser,
  body: Record<string, unknown> = { title: 'moderated' },
): Promise<string> {
  const res = await api(server.url)('POST', '/api/live/start', { token: host.token, body });
  if (res.status !== 201)
    throw new Error(`start failed: ${res.status} ${JSON.stringify(res.body)}`);
  return (res.body as { streamId: string }).streamId;
}

/** A host with a live stream, one moderator and `viewers` more users, all freshly registered. */
export async function moderatedChannel(server: { url: string }, viewers = 2) {
  const [host, moderator, ...others] = await Promise.all(
    Array.from({ length: viewers + 2 }, () => registerUser(server)),
  );
  const streamId = await startStream(server, host!);
  const appointed = await moderate(server, host!, streamId, {
    action: 'add_moderator',
    userId: moderator!.user.id,
  });
  if (appointed.status !== 200) throw new Error(`add_moderator failed: ${appointed.status}`);
  return { host: host!, moderator: moderator!, viewers: others, streamId };
}
