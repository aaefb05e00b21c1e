ALTER TABLE "live_streams" ADD COLUMN "camera" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "live_streams" ADD COLUMN "microphone" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_presence" ADD COLUMN "anonymous_id" text;--> statement-breakpoint
ALTER TABLE "stream_presence" ADD COLUMN "viewer" text GENERATED ALWAYS AS (coalesce(user_id::text, anonymous_id)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_viewers" ADD COLUMN "anonymous_id" text;--> statement-breakpoint
ALTER TABLE "stream_viewers" ADD COLUMN "viewer" text GENERATED ALWAYS AS (coalesce(user_id::text, anonymous_id)) STORED NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_presence" ADD CONSTRAINT "stream_presence_one_viewer" CHECK (num_nonnulls("stream_presence"."user_id", "stream_presence"."anonymous_id") = 1);--> statement-breakpoint
ALTER TABLE "stream_viewers" ADD CONSTRAINT "stream_viewers_one_viewer" CHECK (num_nonnulls("stream_viewers"."user_id", "stream_viewers"."anonymous_id") = 1);