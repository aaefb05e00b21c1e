import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  type AnyPgColumn,
} from 'drizzle-orm/pg-core';

/** Raw bytes; PGlite reads them as a Uint8Array and `pg` as a Buffer, so both become a Buffer. */
const bytea = customType<{ data: Buffer; driverData: Uint8Array }>({
  dataType: () => 'bytea',
  fromDriver: (value) => Buffer.from(value),
});

const createdAt = () =>
  timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow();

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    username: text('username').notNull(),
    displayName: text('display_name').notNull(),
    avatarUrl: text('avatar_url'),
    bio: text('bio'),
    passwordHash: text('password_hash').notNull(),
    createdAt: createdAt(),
  },
  // Usernames are unique regardless of case.
  (t) => [uniqueIndex('users_username_lower_idx').on(sql`lower(${t.username})`)],
);

export const follows = pgTable(
  'follows',
  {
    followerId: uuid('follower_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: uuid('followee_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.followerId, t.followeeId] }),
    index('follows_followee_idx').on(t.followeeId),
  ],
);

export const liveStreams = pgTable(
  'live_streams',
  {
    streamId: uuid('stream_id').primaryKey().defaultRandom(),
    hostId: uuid('host_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    title: text('title').notNull(),
    description: text('description').notNull().default(''),
    status: text('status', { enum: ['live', 'ended'] })
      .notNull()
      .default('live'),
    /** Distinct non-host users present now; written only under the stream's row lock. */
    viewerCount: integer('viewer_count').notNull().default(0),
    peakViewers: integer('peak_viewers').notNull().default(0),
    duration: integer('duration').notNull().default(0),
    isPrivate: boolean('is_private').notNull().default(false),
    thumbnail: text('thumbnail'),
    /** The broadcaster's camera and microphone as they last announced them; on at the start. */
    camera: boolean('camera').notNull().default(true),
    microphone: boolean('microphone').notNull().default(true),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    /** Slow mode: one comment per user per this many seconds; 0 is off. */
    slowModeSeconds: integer('slow_mode_seconds').notNull().default(0),
    /** Hash of the WHIP stream key; the key itself is shown to the host once. */
    streamKeyHash: text('stream_key_hash'),
    /** The node whose process holds this stream's media. */
    mediaNode: text('media_node').notNull(),
    /**
     * The publishing session claimed on `media_node` (negotiating or connected); null while the
     * stream has no publisher. A new publisher takes it over only from one that is quiet or whose
     * node is gone (issue 17).
     */
    publisherSession: text('publisher_session'),
    /** Since when the claimed publisher has sent nothing (reported after 2 s); null while it sends. */
    publisherQuietSince: timestamp('publisher_quiet_since', { withTimezone: true, mode: 'date' }),
    startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('live_streams_status_started_idx').on(t.status, t.startedAt.desc()),
    index('live_streams_host_idx').on(t.hostId, t.startedAt.desc()),
    // A host has one live stream at a time; the database holds the rule against racing starts.
    uniqueIndex('live_streams_one_live_per_host_idx')
      .on(t.hostId)
      .where(sql`${t.status} = 'live'`),
  ],
);

/**
 * Who a presence or viewer row is: a user, or an anonymous watcher named by what holds it
 * (`anon:<socket id>`, `anon:whep:<session id>`). Exactly one of the two is set; `viewer` is
 * whichever it is, so anonymous watchers are keyed, locked and counted exactly like users.
 */
const viewerColumns = () => ({
  userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
  anonymousId: text('anonymous_id'),
  viewer: text('viewer')
    .notNull()
    .generatedAlwaysAs(sql`coalesce(user_id::text, anonymous_id)`),
});

const oneViewer = (name: string, t: { userId: AnyPgColumn; anonymousId: AnyPgColumn }) =>
  check(name, sql`num_nonnulls(${t.userId}, ${t.anonymousId}) = 1`);

/**
 * The plan's `viewers[]`: one row per viewer per stream, reopened when they come back. Anonymous
 * watchers have rows too (for the number of distinct viewers), but are never listed.
 */
export const streamViewers = pgTable(
  'stream_viewers',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    ...viewerColumns(),
    joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    leftAt: timestamp('left_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.streamId, t.viewer] }),
    oneViewer('stream_viewers_one_viewer', t),
  ],
);

/**
 * Why a viewer counts as present: one row per handle that holds them in the stream (`rest`,
 * `socket:<id>`, `whep:<id>`, `media:<id>`). A viewer is present while any row remains, so
 * several tabs count once and presence is shared by every node on the same database.
 */
export const streamPresence = pgTable(
  'stream_presence',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    ...viewerColumns(),
    handle: text('handle').notNull(),
    node: text('node').notNull(),
    createdAt: createdAt(),
    /** Set for a lease (a REST view): the row lapses then unless renewed. Null while a connection holds it. */
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.streamId, t.viewer, t.handle] }),
    oneViewer('stream_presence_one_viewer', t),
    index('stream_presence_node_idx').on(t.node),
    index('stream_presence_expires_idx')
      .on(t.expiresAt)
      .where(sql`${t.expiresAt} is not null`),
  ],
);

export const liveComments = pgTable(
  'live_comments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    text: text('text').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 6 })
      .notNull()
      .defaultNow(),
    /** Set when a moderator deleted it: kept for the moderation log, never shown again. */
    deletedAt: timestamp('deleted_at', { withTimezone: true, mode: 'date' }),
    deletedBy: uuid('deleted_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [index('live_comments_stream_created_idx').on(t.streamId, t.createdAt.desc())],
);

/**
 * Each user's persistent WHIP stream key (OBS's "Stream Key"). The key is looked up by its hash;
 * it is also kept sealed with a key derived from the server secret (AES-256-GCM, bound to the
 * user), so its owner can be shown it again while a copy of the database alone reveals nothing.
 */
export const streamKeys = pgTable(
  'stream_keys',
  {
    userId: uuid('user_id')
      .primaryKey()
      .references(() => users.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    sealedKey: text('sealed_key').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('stream_keys_key_hash_idx').on(t.keyHash)],
);

/** What a stream started from OBS is called and who may watch it; an empty title means the default. */
export const nextStreamSettings = pgTable('next_stream_settings', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  title: text('title').notNull().default(''),
  description: text('description').notNull().default(''),
  tags: text('tags')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  isPrivate: boolean('is_private').notNull().default(false),
  record: boolean('record').notNull().default(true),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * A stream's recording and live packaging: one row per stream from its start. `keep` is the
 * host's choice to record; without it only live HLS was packaged and nothing stays. The files
 * themselves lie under the recordings directory (`server/src/recordings/layout.ts`).
 */
export const streamRecordings = pgTable(
  'stream_recordings',
  {
    streamId: uuid('stream_id')
      .primaryKey()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    keep: boolean('keep').notNull().default(true),
    status: text('status', { enum: ['recording', 'processing', 'ready', 'failed'] })
      .notNull()
      .default('recording'),
    durationSeconds: doublePrecision('duration_seconds').notNull().default(0),
    bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
    error: text('error'),
    /** When the stream ended (the recording's age for retention); null while live. */
    endedAt: timestamp('ended_at', { withTimezone: true, mode: 'date' }),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [index('stream_recordings_ended_idx').on(t.endedAt)],
);

/**
 * A stream's latest uploaded thumbnail, in the database so every node serves it. `version` is a
 * hash of the bytes: it names the upload in the thumbnail's URL and is its ETag.
 */
export const streamThumbnails = pgTable('stream_thumbnails', {
  streamId: uuid('stream_id')
    .primaryKey()
    .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
  image: bytea('image').notNull(),
  contentType: text('content_type').notNull(),
  version: text('version').notNull(),
  /**
   * Random, new with every upload, and covered by a private stream's URL signature: the same bytes
   * uploaded again get a URL of their own. Null for uploads from before it existed.
   */
  nonce: text('nonce'),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/**
 * A user's uploaded profile picture, in the database so every node serves it. `version` is a hash
 * of the bytes: it names the upload in `users.avatar_url` and is its ETag.
 */
export const userAvatars = pgTable('user_avatars', {
  userId: uuid('user_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  image: bytea('image').notNull(),
  contentType: text('content_type').notNull(),
  version: text('version').notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** The users a host has made moderators of their channel (every stream of theirs). */
export const channelModerators = pgTable(
  'channel_moderators',
  {
    hostId: uuid('host_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    addedBy: uuid('added_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.hostId, t.userId] })],
);

/** The users banned from a host's channel: they may neither watch nor chat in any stream of theirs. */
export const channelBans = pgTable(
  'channel_bans',
  {
    hostId: uuid('host_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    bannedBy: uuid('banned_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.hostId, t.userId] })],
);

/** The words and phrases a host blocks from their channel's chat, as one list (it is replaced whole). */
export const channelBlockedWords = pgTable('channel_blocked_words', {
  hostId: uuid('host_id')
    .primaryKey()
    .references(() => users.id, { onDelete: 'cascade' }),
  words: text('words')
    .array()
    .notNull()
    .default(sql`'{}'::text[]`),
  updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
});

/** A user timed out of one stream's chat until `until`; timing them out again replaces it. */
export const chatTimeouts = pgTable(
  'chat_timeouts',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    until: timestamp('until', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.userId] })],
);

/**
 * When each user last commented on a stream under slow mode. Claimed with one conditional upsert,
 * so two comments racing on two nodes cannot both pass.
 */
export const chatCooldowns = pgTable(
  'chat_cooldowns',
  {
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    lastCommentAt: timestamp('last_comment_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.streamId, t.userId] })],
);

/** Every moderation action taken, with the action as it was asked for (`details`). */
export const moderationLog = pgTable(
  'moderation_log',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    hostId: uuid('host_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    actorId: uuid('actor_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    action: text('action').notNull(),
    targetUserId: uuid('target_user_id').references(() => users.id, { onDelete: 'set null' }),
    details: jsonb('details').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 6 })
      .notNull()
      .defaultNow(),
  },
  (t) => [
    index('moderation_log_stream_created_idx').on(t.streamId, t.createdAt.desc(), t.id.desc()),
  ],
);

/**
 * The deployment's nodes as each last announced itself: a node rewrites its row every few
 * seconds, and one whose heartbeat is older than a few of those is gone. The times are the
 * database's own clock, so nodes whose clocks differ still agree on who is alive.
 */
export const clusterNodes = pgTable('cluster_nodes', {
  nodeId: text('node_id').primaryKey(),
  /** Where clients reach this node (its PUBLIC_URL, or the address it listens on). */
  url: text('url').notNull(),
  /** Media viewer sessions (WHEP and socket watching) it holds. */
  mediaViewers: integer('media_viewers').notNull().default(0),
  /** MEDIA_MAX_VIEWERS_PER_NODE; null is no limit. */
  mediaViewerCap: integer('media_viewer_cap'),
  /** Shutting down: it takes no new sessions. */
  draining: boolean('draining').notNull().default(false),
  startedAt: timestamp('started_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  heartbeatAt: timestamp('heartbeat_at', { withTimezone: true, mode: 'date' })
    .notNull()
    .defaultNow(),
});

/**
 * What a user is told of: today, that someone they follow went live. One going-live is one row
 * per follower, all with the same `id` (written by one INSERT … SELECT from `follows`), so one
 * socket message carries it to every follower and still names each one's row.
 */
export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: ['live_started'] }).notNull(),
    actorId: uuid('actor_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    streamId: uuid('stream_id')
      .notNull()
      .references(() => liveStreams.streamId, { onDelete: 'cascade' }),
    /** Milliseconds, as a JavaScript date holds them: a page's `before` is exact. */
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date', precision: 3 })
      .notNull()
      .defaultNow(),
    readAt: timestamp('read_at', { withTimezone: true, mode: 'date' }),
  },
  (t) => [
    primaryKey({ columns: [t.userId, t.id] }),
    // A stream tells each follower once, however often its start is reported.
    uniqueIndex('notifications_user_stream_kind_idx').on(t.userId, t.streamId, t.kind),
    index('notifications_user_created_idx').on(t.userId, t.createdAt.desc()),
  ],
);
