import type { ModerationView } from '@onair/protocol';
import { apiRequest } from './api';

const moderationPath = (streamId: string) => `/api/live/${encodeURIComponent(streamId)}/moderation`;

/**
 * A stream's moderation as its host and moderators read it. Actions go over the socket
 * (`live_moderate`), where the chat they act on lives.
 */
export const moderationApi = {
  /** The settings now and the newest actions taken (`before`: an older page). */
  view: (token: string, streamId: string, before?: string) =>
    apiRequest<ModerationView>(
      'GET',
      `${moderationPath(streamId)}${before ? `?before=${encodeURIComponent(before)}` : ''}`,
      { token },
    ),
};
