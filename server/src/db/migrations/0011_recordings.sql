CREATE TABLE "stream_recordings" (
	"stream_id" uuid PRIMARY KEY NOT NULL,
	"keep" boolean DEFAULT true NOT NULL,
	"status" text DEFAULT 'recording' NOT NULL,
	"duration_seconds" double precision DEFAULT 0 NOT NULL,
	"bytes" bigint DEFAULT 0 NOT NULL,
	"error" text,
	"ended_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "next_stream_settings" ADD COLUMN "record" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_recordings" ADD CONSTRAINT "stream_recordings_stream_id_live_streams_stream_id_fk" FOREIGN KEY ("stream_id") REFERENCES "public"."live_streams"("stream_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "stream_recordings_ended_idx" ON "stream_recordings" USING btree ("ended_at");