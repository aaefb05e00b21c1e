import {
  myAvatarPath,
  type NextStreamBody,
  type NextStreamSettings,
  type StreamKeyInfo,
  type UpdateMeBody,
  type User,
} from '@onair/protocol';
import { apiRequest } from './api';

/** The signed-in user's own settings: profile, persistent stream key, next-stream settings. */
export const accountApi = {
  updateMe: (token: string, body: UpdateMeBody) =>
    apiRequest<{ user: User }>('PATCH', '/api/me', { token, body }),
  streamKey: (token: string) => apiRequest<StreamKeyInfo>('GET', '/api/me/stream-key', { token }),
  rotateStreamKey: (token: string) =>
    apiRequest<StreamKeyInfo>('POST', '/api/me/stream-key/rotate', { token }),
  nextStream: (token: string) =>
    apiRequest<NextStreamSettings>('GET', '/api/me/next-stream', { token }),
  saveNextStream: (token: string, body: NextStreamBody) =>
    apiRequest<NextStreamSettings>('PUT', '/api/me/next-stream', { token, body }),
  /** The picture's bytes as the body; the server answers the user with the new `avatar_url`. */
  uploadAvatar: (token: string, image: Blob) =>
    apiRequest<User>('PUT', myAvatarPath, { token, body: image }),
  removeAvatar: (token: string) => apiRequest<User>('DELETE', myAvatarPath, { token }),
};
