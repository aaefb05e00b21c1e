ALTER TABLE "live_streams" ADD COLUMN "publisher_session" text;--> statement-breakpoint
ALTER TABLE "live_streams" ADD COLUMN "publisher_quiet_since" timestamp with time zone;