import type { ProfilePage } from '@onair/protocol';
import { AppError } from './errors';
import type { RecordingService } from './recordings';
import type { StreamService } from './streams';
import type { UserService } from './users';

/**
 * Everything a profile page shows, found by username (any case): the profile, the stream the
 * user is live on and their past streams with the length of their replays, each only if
 * `viewerId` may see it (an anonymous caller sees public streams only).
 */
export async function profilePage(
  services: { users: UserService; streams: StreamService; recordings: RecordingService },
  username: string,
  viewerId: string | undefined,
): Promise<ProfilePage> {
  const user = await services.users.findByUsername(username);
  if (!user) throw AppError.notFound('User');
  const [profile, { liveStream, pastStreams }] = await Promise.all([
    services.users.profile(user.id, viewerId),
    services.streams.ofProfile(user.id, viewerId),
  ]);
  const replays = await services.recordings.replayLengths(pastStreams.map((s) => s.streamId));
  return {
    ...profile,
    liveStream,
    pastStreams: pastStreams.map((s) => ({ ...s, replaySeconds: replays.get(s.streamId) ?? null })),
  };
}
