CREATE TYPE "public"."generation_status" AS ENUM('queued', 'running', 'done', 'failed');--> statement-breakpoint
CREATE TABLE "generation_request" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid,
	"prompt_id" uuid NOT NULL,
	"requested_model_version_id" text,
	"model_version_id" text,
	"count" integer NOT NULL,
	"seed" bigint NOT NULL,
	"steps" integer NOT NULL,
	"guidance" double precision NOT NULL,
	"status" "generation_status" DEFAULT 'queued' NOT NULL,
	"progress" double precision DEFAULT 0 NOT NULL,
	"image_ids" uuid[] DEFAULT '{}'::uuid[] NOT NULL,
	"error" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"worker_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "generation_request_count_range" CHECK ("generation_request"."count" between 1 and 16),
	CONSTRAINT "generation_request_seed_range" CHECK ("generation_request"."seed" >= 0),
	CONSTRAINT "generation_request_steps_range" CHECK ("generation_request"."steps" between 1 and 1000),
	CONSTRAINT "generation_request_guidance_range" CHECK ("generation_request"."guidance" >= 0 and "generation_request"."guidance" <= 100),
	CONSTRAINT "generation_request_progress_range" CHECK ("generation_request"."progress" >= 0 and "generation_request"."progress" <= 1),
	CONSTRAINT "generation_request_failed_has_error" CHECK ("generation_request"."status" <> 'failed' or "generation_request"."error" is not null),
	CONSTRAINT "generation_request_done_has_images" CHECK ("generation_request"."status" <> 'done' or (cardinality("generation_request"."image_ids") = "generation_request"."count" and "generation_request"."model_version_id" is not null)),
	CONSTRAINT "generation_request_finished_at" CHECK (("generation_request"."status" in ('done', 'failed')) = ("generation_request"."finished_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "generation_request" ADD CONSTRAINT "generation_request_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_request" ADD CONSTRAINT "generation_request_prompt_id_prompt_id_fk" FOREIGN KEY ("prompt_id") REFERENCES "public"."prompt"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_request" ADD CONSTRAINT "generation_request_requested_model_version_id_model_version_id_fk" FOREIGN KEY ("requested_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "generation_request" ADD CONSTRAINT "generation_request_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "generation_request_status_idx" ON "generation_request" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "generation_request_user_idx" ON "generation_request" USING btree ("user_id","created_at");