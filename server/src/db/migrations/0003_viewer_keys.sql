ALTER TABLE "stream_presence" DROP CONSTRAINT "stream_presence_stream_id_user_id_handle_pk";--> statement-breakpoint
ALTER TABLE "stream_viewers" DROP CONSTRAINT "stream_viewers_stream_id_user_id_pk";--> statement-breakpoint
ALTER TABLE "stream_presence" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_viewers" ALTER COLUMN "user_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "stream_presence" ADD CONSTRAINT "stream_presence_stream_id_viewer_handle_pk" PRIMARY KEY("stream_id","viewer","handle");--> statement-breakpoint
ALTER TABLE "stream_viewers" ADD CONSTRAINT "stream_viewers_stream_id_viewer_pk" PRIMARY KEY("stream_id","viewer");