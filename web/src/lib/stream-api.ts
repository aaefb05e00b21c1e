import {
  thumbnailPath,
  type Stream,
  type StreamSummary,
  type ThumbnailResult,
} from '@onair/protocol';
import { apiRequest } from './api';

/** Streams as the host and viewers see them beyond the live room. */
export const streamApi = {
  active: (token: string | null) => apiRequest<Stream[]>('GET', '/api/live/active', { token }),
  summary: (token: string, streamId: string) =>
    apiRequest<StreamSummary>('GET', `/api/live/${streamId}/summary`, { token }),
  uploadThumbnail: (token: string, streamId: string, image: Blob) =>
    apiRequest<ThumbnailResult>('PUT', thumbnailPath(streamId), { token, body: image }),
};
