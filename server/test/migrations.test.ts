import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { drizzle } from 'drizzle-orm/pglite';
import { migrate } from 'drizzle-orm/pglite/migrator';
import { describe, expect, it } from 'vitest';

const migrations = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/db/migrations');

/** The migrations folder as it was up to and including `tag`. */
async function migrationsUpTo(
  tag: string,
): Promise<{ folder: string; remove: () => Promise<void> }> {
  const folder = await mkdtemp(path.join(os.tmpdir(), 'onair-migrations-'));
  await cp(migrations, folder, { recursive: true });
  const journalPath = path.join(folder, 'meta/_journal.json');
  const journal = JSON.parse(await readFile(journalPath, 'utf8')) as {
    entries: { tag: string }[];
  };
  const end = journal.entries.findIndex((e) => e.tag === tag);
  journal.entries = journal.entries.slice(0, end + 1);
  await writeFile(journalPath, JSON.stringify(journal));
  return { folder, remove: () => rm(folder, { recursive: true, force: true }) };
}

describe('migrations', () => {
  it('ends the older of two streams a host had live before "one live stream per host"', async () => {
    const client = await PGlite.create('memory://');
    const db = drizzle({ client });
    const before = await migrationsUpTo('0000_init');
    try {
      await migrate(db, { migrationsFolder: before.folder });
      const {
        rows: [user],
      } = await client.query<{ id: string }>(
        `insert into users (username, display_name, password_hash) values ('twice', 'twice', 'x') returning id`,
      );
      const live = async (startedAt: string) =>
        (
          await client.query<{ stream_id: string }>(
            `insert into live_streams (host_id, title, media_node, started_at) values ($1, 't', 'n', $2) returning stream_id`,
            [user!.id, startedAt],
          )
        ).rows[0]!.stream_id;
      const older = await live('2020-01-01T00:00:00Z');
      const newer = await live('2020-01-02T00:00:00Z');
      for (const streamId of [older, newer]) {
        await client.query(
          `insert into stream_presence (stream_id, user_id, handle, node) values ($1, $2, 'rest', 'n')`,
          [streamId, user!.id],
        );
        await client.query(`insert into stream_viewers (stream_id, user_id) values ($1, $2)`, [
          streamId,
          user!.id,
        ]);
      }

      await migrate(db, { migrationsFolder: migrations });
      const { rows } = await client.query<{ stream_id: string; status: string; ended: boolean }>(
        `select stream_id, status, ended_at is not null as ended from live_streams`,
      );
      expect(Object.fromEntries(rows.map((r) => [r.stream_id, [r.status, r.ended]]))).toEqual({
        [older]: ['ended', true],
        [newer]: ['live', false],
      });
      const presence = await client.query<{ stream_id: string }>(
        `select stream_id from stream_presence`,
      );
      expect(presence.rows.map((r) => r.stream_id)).toEqual([newer]);
      const open = await client.query<{ stream_id: string }>(
        `select stream_id from stream_viewers where left_at is null`,
      );
      expect(open.rows.map((r) => r.stream_id)).toEqual([newer]);
      // And from now on the database refuses a second live stream of that host.
      await expect(live('2020-01-03T00:00:00Z')).rejects.toThrow(/unique/);
    } finally {
      await before.remove();
      await client.close();
    }
  });

  it('keys existing viewers by their user id when anonymous viewers arrive, and keeps their counts', async () => {
    const client = await PGlite.create('memory://');
    const db = drizzle({ client });
    const before = await migrationsUpTo('0001_limits_presence');
    try {
      await migrate(db, { migrationsFolder: before.folder });
      const {
        rows: [user],
      } = await client.query<{ id: string }>(
        `insert into users (username, display_name, password_hash) values ('watcher', 'w', 'x') returning id`,
      );
      const {
        rows: [stream],
      } = await client.query<{ stream_id: string }>(
        `insert into live_streams (host_id, title, media_node) values ($1, 't', 'n') returning stream_id`,
        [user!.id],
      );
      const streamId = stream!.stream_id;
      await client.query(
        `insert into stream_presence (stream_id, user_id, handle, node) values ($1, $2, 'rest', 'n')`,
        [streamId, user!.id],
      );
      await client.query(`insert into stream_viewers (stream_id, user_id) values ($1, $2)`, [
        streamId,
        user!.id,
      ]);

      await migrate(db, { migrationsFolder: migrations });
      const presence = await client.query<{ viewer: string }>(`select viewer from stream_presence`);
      expect(presence.rows).toEqual([{ viewer: user!.id }]);
      const viewers = await client.query<{ viewer: string }>(`select viewer from stream_viewers`);
      expect(viewers.rows).toEqual([{ viewer: user!.id }]);
      const media = await client.query(`select camera, microphone from live_streams`);
      expect(media.rows).toEqual([{ camera: true, microphone: true }]);

      // An anonymous watcher beside them; a row that is both, or neither, is refused.
      await client.query(
        `insert into stream_presence (stream_id, anonymous_id, handle, node) values ($1, 'anon:s1', 'socket:s1', 'n')`,
        [streamId],
      );
      const counted = await client.query<{ n: number }>(
        `select count(distinct viewer)::int as n from stream_presence where stream_id = $1`,
        [streamId],
      );
      expect(counted.rows[0]!.n).toBe(2);
      await expect(
        client.query(
          `insert into stream_presence (stream_id, user_id, anonymous_id, handle, node) values ($1, $2, 'anon:x', 'socket:x', 'n')`,
          [streamId, user!.id],
        ),
      ).rejects.toThrow(/one_viewer/);
      await expect(
        client.query(
          `insert into stream_presence (stream_id, handle, node) values ($1, 'socket:y', 'n')`,
          [streamId],
        ),
      ).rejects.toThrow(/one_viewer|null/);
    } finally {
      await before.remove();
      await client.close();
    }
  });
  it('keeps thumbnails uploaded before uploads had a nonce, without one (their signed URLs stay as they were)', async () => {
    const client = await PGlite.create('memory://');
    const db = drizzle({ client });
    const before = await migrationsUpTo('0005_moderation');
    try {
      await migrate(db, { migrationsFolder: before.folder });
      const {
        rows: [user],
      } = await client.query<{ id: string }>(
        `insert into users (username, display_name, password_hash) values ('host', 'h', 'x') returning id`,
      );
      const {
        rows: [stream],
      } = await client.query<{ stream_id: string }>(
        `insert into live_streams (host_id, title, media_node, is_private) values ($1, 't', 'n', true) returning stream_id`,
        [user!.id],
      );
      await client.query(
        `insert into stream_thumbnails (stream_id, image, content_type, version) values ($1, '\\xffd8ff', 'image/jpeg', 'abc')`,
        [stream!.stream_id],
      );

      await migrate(db, { migrationsFolder: migrations });
      const { rows } = await client.query(`select version, nonce from stream_thumbnails`);
      expect(rows).toEqual([{ version: 'abc', nonce: null }]);
    } finally {
      await before.remove();
      await client.close();
    }
  });
});
