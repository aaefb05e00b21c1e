import type { ProfilePage } from '@onair/protocol';
import { AppError } from './errors';
import type { StreamService } from './streams';
import type { UserService } from './users';

/**
 * Everything a profile page shows, found by username (any case): the profile, the stream the
 * user is live on and their past streams, each only if `viewerId` may see it (an anonymous
 * caller sees public streams only).
 */
export async function profilePage(
  services: { users: UserService; streams: StreamService },
  username: string,
  viewerId: string | undefined,
): Promise<ProfilePage> {
  const user = await services.users.findByUsername(username);
  if (!user) throw AppError.notFound('User');
  const [profile, streams] = await Promise.all([
    services.users.profile(user.id, viewerId),
    services.streams.ofProfile(user.id, viewerId),
  ]);
  return { ...profile, ...streams };
}
