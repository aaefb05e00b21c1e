import { randomUUID } from 'node:crypto';
import type {
  LiveNotification,
  MarkNotificationsReadBody,
  NotificationPage,
  Stream,
} from '@onair/protocol';
import { and, desc, eq, inArray, isNull, lt, lte, sql } from 'drizzle-orm';
import type { Db } from '../db/database';
import { channelBans, follows, liveStreams, notifications, users } from '../db/schema';
import type { LiveEvents } from './events';
import { visibleTo } from './access';
import { hostColumns } from './stream-rows';
import { toPublicUser } from './users';

/**
 * Notifications: who is told when someone goes live, and each user's list of them. Telling is
 * one statement however many follow the host (an INSERT … SELECT from `follows`); the recipients
 * it returns are handed to the transports as one event, which reach each one's tabs.
 */
export class NotificationService {
  constructor(
    private readonly db: Db,
    private readonly events: LiveEvents,
    /**
     * A follower told of a host going live is not told of that host again within this many
     * seconds: a host who ends and starts again (or whose OBS comes back after the grace period
     * ran out) does not ring everyone's bell each time. Default 10 minutes.
     */
    private readonly quietSeconds = 600,
  ) {}

  /**
   * Tells the host's followers that `stream` started: stored unread for each, then emitted as
   * `notification_created` to those it was new for. Banned followers are left out (they may not
   * watch), and so are those told of this host within `quietSeconds`. A stream tells each follower once (a unique index holds it), so a start reported twice,
   * or a publisher coming back within its grace period, tells no one again. Private streams are
   * visible to followers only, and followers are exactly who is told. Returns the recipients.
   */
  async liveStarted(stream: Stream): Promise<string[]> {
    const id = randomUUID();
    const hostId = stream.host.id;
    const rows = await this.db
      .insert(notifications)
      .select(
        this.db
          .select({
            id: sql<string>`${id}::uuid`.as('id'),
            userId: follows.followerId,
            kind: sql<'live_started'>`'live_started'`.as('kind'),
            actorId: sql<string>`${hostId}::uuid`.as('actor_id'),
            streamId: sql<string>`${stream.streamId}::uuid`.as('stream_id'),
            createdAt: sql<Date>`now()`.as('created_at'),
            readAt: sql<Date | null>`null::timestamptz`.as('read_at'),
          })
          .from(follows)
          .where(
            and(
              eq(follows.followeeId, hostId),
              sql`not exists (select 1 from ${channelBans} where ${channelBans.hostId} = ${hostId}
                and ${channelBans.userId} = ${follows.followerId})`,
              sql`not exists (select 1 from ${notifications} recent
                where recent.user_id = ${follows.followerId} and recent.actor_id = ${hostId}
                  and recent.created_at > now() - ${this.quietSeconds}::int * interval '1 second')`,
            ),
          ),
      )
      .onConflictDoNothing()
      .returning({ userId: notifications.userId, createdAt: notifications.createdAt });
    const [first] = rows;
    if (!first) return [];
    const recipients = rows.map((r) => r.userId);
    const notification: LiveNotification = {
      id,
      kind: 'live_started',
      createdAt: first.createdAt.toISOString(),
      read: false,
      host: stream.host,
      stream: {
        streamId: stream.streamId,
        title: stream.title,
        status: stream.status,
        isPrivate: stream.isPrivate,
      },
    };
    this.events.emit('notification_created', notification, recipients);
    return recipients;
  }

  /**
   * A user's notifications, newest first, with the number unread. Those of a private stream the
   * user may no longer see (they stopped following its host) are left out.
   */
  async list(
    userId: string,
    { limit, before }: { limit: number; before?: string | undefined },
  ): Promise<NotificationPage> {
    const [rows, unreadCount] = await Promise.all([
      this.db
        .select({
          id: notifications.id,
          kind: notifications.kind,
          createdAt: notifications.createdAt,
          readAt: notifications.readAt,
          host: hostColumns,
          streamId: liveStreams.streamId,
          title: liveStreams.title,
          status: liveStreams.status,
          isPrivate: liveStreams.isPrivate,
        })
        .from(notifications)
        .innerJoin(liveStreams, eq(liveStreams.streamId, notifications.streamId))
        .innerJoin(users, eq(users.id, notifications.actorId))
        .where(
          and(
            eq(notifications.userId, userId),
            visibleTo(userId),
            before ? lt(notifications.createdAt, new Date(before)) : undefined,
          ),
        )
        .orderBy(desc(notifications.createdAt), desc(notifications.id))
        .limit(limit + 1),
      this.unreadCount(userId),
    ]);
    const page = rows.slice(0, limit);
    return {
      notifications: page.map((r) => ({
        id: r.id,
        kind: r.kind,
        createdAt: r.createdAt.toISOString(),
        read: r.readAt !== null,
        host: toPublicUser(r.host),
        stream: { streamId: r.streamId, title: r.title, status: r.status, isPrivate: r.isPrivate },
      })),
      unreadCount,
      nextBefore: rows.length > limit ? (page.at(-1)?.createdAt.toISOString() ?? null) : null,
    };
  }

  /** Marks the user's own notifications read (the listed ones, those up to a time, or all). */
  async markRead(userId: string, which: MarkNotificationsReadBody): Promise<void> {
    const selected =
      'ids' in which
        ? inArray(notifications.id, which.ids)
        : 'before' in which
          ? lte(notifications.createdAt, new Date(which.before))
          : undefined;
    await this.db
      .update(notifications)
      .set({ readAt: sql`now()` })
      .where(and(eq(notifications.userId, userId), isNull(notifications.readAt), selected));
  }

  /** How many of the user's notifications are unread (as `list` counts them). */
  async unreadCount(userId: string): Promise<number> {
    const [row] = await this.db
      .select({ n: sql<number>`count(*)::int` })
      .from(notifications)
      .innerJoin(liveStreams, eq(liveStreams.streamId, notifications.streamId))
      .where(
        and(eq(notifications.userId, userId), visibleTo(userId), isNull(notifications.readAt)),
      );
    return row?.n ?? 0;
  }
}
