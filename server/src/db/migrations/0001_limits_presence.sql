-- One live stream per host: streams left live beside a newer one by earlier versions end first.
UPDATE "live_streams" AS s SET "status" = 'ended', "ended_at" = now(), "viewer_count" = 0, "updated_at" = now(),
  "duration" = greatest(0, floor(extract(epoch from now() - s."started_at")))::int
  WHERE s."status" = 'live' AND EXISTS (
    SELECT 1 FROM "live_streams" AS newer WHERE newer."host_id" = s."host_id" AND newer."status" = 'live'
      AND (newer."started_at", newer."stream_id") > (s."started_at", s."stream_id"));--> statement-breakpoint
DELETE FROM "stream_presence" AS p USING "live_streams" AS s
  WHERE p."stream_id" = s."stream_id" AND s."status" = 'ended';--> statement-breakpoint
UPDATE "stream_viewers" AS v SET "left_at" = now() FROM "live_streams" AS s
  WHERE v."stream_id" = s."stream_id" AND s."status" = 'ended' AND v."left_at" IS NULL;--> statement-breakpoint
ALTER TABLE "stream_presence" ADD COLUMN "expires_at" timestamp with time zone;--> statement-breakpoint
CREATE UNIQUE INDEX "live_streams_one_live_per_host_idx" ON "live_streams" USING btree ("host_id") WHERE "live_streams"."status" = 'live';--> statement-breakpoint
CREATE INDEX "stream_presence_expires_idx" ON "stream_presence" USING btree ("expires_at") WHERE "stream_presence"."expires_at" is not null;