CREATE TYPE "public"."alias_move_kind" AS ENUM('initial', 'promote', 'rollback');--> statement-breakpoint
CREATE TYPE "public"."experiment_status" AS ENUM('draft', 'running', 'stopped', 'decided');--> statement-breakpoint
CREATE TYPE "public"."feedback_event_value" AS ENUM('like', 'dislike', 'cleared');--> statement-breakpoint
CREATE TYPE "public"."model_alias_name" AS ENUM('production');--> statement-breakpoint
CREATE TYPE "public"."model_version_status" AS ENUM('candidate', 'registered', 'rejected', 'retired');--> statement-breakpoint
CREATE TYPE "public"."promotion_policy" AS ENUM('none', 'experiment', 'promote_if_gate');--> statement-breakpoint
CREATE TYPE "public"."prompt_source" AS ENUM('curated', 'user');--> statement-breakpoint
CREATE TYPE "public"."round_status" AS ENUM('queued', 'draining', 'training', 'exporting', 'evaluating', 'published', 'rejected', 'failed', 'canceled');--> statement-breakpoint
CREATE TYPE "public"."round_trigger" AS ENUM('manual', 'schedule', 'data');--> statement-breakpoint
CREATE TYPE "public"."user_role" AS ENUM('rater', 'analyst', 'admin');--> statement-breakpoint
CREATE TYPE "public"."vote_value" AS ENUM('like', 'dislike');--> statement-breakpoint
CREATE TABLE "account" (
	"user_id" uuid NOT NULL,
	"type" text NOT NULL,
	"provider" text NOT NULL,
	"provider_account_id" text NOT NULL,
	"refresh_token" text,
	"access_token" text,
	"expires_at" integer,
	"token_type" text,
	"scope" text,
	"id_token" text,
	"session_state" text,
	CONSTRAINT "account_provider_provider_account_id_pk" PRIMARY KEY("provider","provider_account_id")
);
--> statement-breakpoint
CREATE TABLE "session" (
	"session_token" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"expires" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "user" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text,
	"email" text NOT NULL,
	"email_verified" timestamp with time zone,
	"image" text,
	"password_hash" text,
	"role" "user_role" DEFAULT 'rater' NOT NULL,
	"training_consent" boolean DEFAULT false NOT NULL,
	"training_consent_changed_at" timestamp with time zone,
	"excluded_from_training" boolean DEFAULT false NOT NULL,
	"excluded_from_training_at" timestamp with time zone,
	"blocked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_email_shape" CHECK ("user"."email" ~ '^[^@\s]+@[^@\s]+$' and length("user"."email") <= 320),
	CONSTRAINT "user_name_length" CHECK ("user"."name" is null or length("user"."name") <= 200)
);
--> statement-breakpoint
CREATE TABLE "verification_token" (
	"identifier" text NOT NULL,
	"token" text NOT NULL,
	"expires" timestamp with time zone NOT NULL,
	CONSTRAINT "verification_token_identifier_token_pk" PRIMARY KEY("identifier","token")
);
--> statement-breakpoint
CREATE TABLE "assignment" (
	"experiment_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"variant_id" uuid NOT NULL,
	"first_exposed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "assignment_experiment_id_user_id_pk" PRIMARY KEY("experiment_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "experiment" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"hypothesis" text DEFAULT '' NOT NULL,
	"status" "experiment_status" DEFAULT 'draft' NOT NULL,
	"population_percent" double precision DEFAULT 100 NOT NULL,
	"primary_metric" text DEFAULT 'like_rate_per_vote' NOT NULL,
	"guardrails" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"min_sample_per_variant" integer DEFAULT 0 NOT NULL,
	"min_duration_seconds" integer DEFAULT 0 NOT NULL,
	"decision_rule" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"salt" text DEFAULT substr(replace(gen_random_uuid()::text, '-', ''), 1, 16) NOT NULL,
	"decision" jsonb,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"stopped_at" timestamp with time zone,
	"decided_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "experiment_population_percent" CHECK ("experiment"."population_percent" > 0 and "experiment"."population_percent" <= 100),
	CONSTRAINT "experiment_minimums" CHECK ("experiment"."min_sample_per_variant" >= 0 and "experiment"."min_duration_seconds" >= 0),
	CONSTRAINT "experiment_started" CHECK ("experiment"."status" = 'draft' or "experiment"."started_at" is not null),
	CONSTRAINT "experiment_stopped" CHECK ("experiment"."status" in ('draft', 'running') or "experiment"."stopped_at" is not null)
);
--> statement-breakpoint
CREATE TABLE "variant" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"experiment_id" uuid NOT NULL,
	"name" text NOT NULL,
	"model_version_id" text NOT NULL,
	"weight" double precision NOT NULL,
	"is_control" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "variant_experiment_name_key" UNIQUE("experiment_id","name"),
	CONSTRAINT "variant_id_experiment_key" UNIQUE("id","experiment_id"),
	CONSTRAINT "variant_weight_nonnegative" CHECK ("variant"."weight" >= 0 and "variant"."weight" <> 'NaN'::float8 and "variant"."weight" <> 'Infinity'::float8)
);
--> statement-breakpoint
CREATE TABLE "exposure" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "exposure_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" uuid NOT NULL,
	"image_id" uuid NOT NULL,
	"experiment_id" uuid,
	"variant_id" uuid,
	"shown_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "exposure_variant_with_experiment" CHECK (("exposure"."experiment_id" is null) = ("exposure"."variant_id" is null))
);
--> statement-breakpoint
CREATE TABLE "feedback_event" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "feedback_event_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"user_id" uuid NOT NULL,
	"image_id" uuid NOT NULL,
	"old_value" "vote_value",
	"new_value" "feedback_event_value" NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "feedback_event_changes" CHECK ("feedback_event"."old_value"::text is distinct from "feedback_event"."new_value"::text),
	CONSTRAINT "feedback_event_clears_something" CHECK ("feedback_event"."new_value" <> 'cleared' or "feedback_event"."old_value" is not null)
);
--> statement-breakpoint
CREATE TABLE "vote" (
	"user_id" uuid NOT NULL,
	"image_id" uuid NOT NULL,
	"value" "vote_value" NOT NULL,
	"event_id" bigint NOT NULL,
	"round_id" uuid,
	"claimed_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "vote_user_id_image_id_pk" PRIMARY KEY("user_id","image_id"),
	CONSTRAINT "vote_claim_consistent" CHECK (("vote"."round_id" is null) = ("vote"."claimed_at" is null))
);
--> statement-breakpoint
CREATE TABLE "image" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"prompt_id" uuid NOT NULL,
	"model_version_id" text NOT NULL,
	"seed" bigint NOT NULL,
	"sampler" text NOT NULL,
	"steps" integer NOT NULL,
	"guidance" double precision NOT NULL,
	"eta" double precision DEFAULT 0 NOT NULL,
	"blob_key" text NOT NULL,
	"width" integer NOT NULL,
	"height" integer NOT NULL,
	"is_hidden" boolean DEFAULT false NOT NULL,
	"hidden_at" timestamp with time zone,
	"hidden_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "image_seed_range" CHECK ("image"."seed" >= 0),
	CONSTRAINT "image_sampler_shape" CHECK ("image"."sampler" ~ '^[a-z0-9_+-]{1,32}$'),
	CONSTRAINT "image_steps_positive" CHECK ("image"."steps" > 0 and "image"."steps" <= 10000),
	CONSTRAINT "image_guidance_range" CHECK ("image"."guidance" >= 0 and "image"."guidance" <= 100),
	CONSTRAINT "image_eta_range" CHECK ("image"."eta" >= 0 and "image"."eta" <= 1),
	CONSTRAINT "image_blob_key_sha256" CHECK ("image"."blob_key" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "image_size_positive" CHECK ("image"."width" > 0 and "image"."height" > 0 and "image"."width" <= 4096 and "image"."height" <= 4096)
);
--> statement-breakpoint
CREATE TABLE "model_alias" (
	"name" "model_alias_name" PRIMARY KEY NOT NULL,
	"model_version_id" text NOT NULL,
	"moved_at" timestamp with time zone DEFAULT now() NOT NULL,
	"moved_by" uuid
);
--> statement-breakpoint
CREATE TABLE "model_alias_event" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "model_alias_event_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"alias" "model_alias_name" NOT NULL,
	"kind" "alias_move_kind" NOT NULL,
	"from_model_version_id" text,
	"to_model_version_id" text NOT NULL,
	"actor_id" uuid,
	"reason" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_alias_event_moves" CHECK ("model_alias_event"."from_model_version_id" is distinct from "model_alias_event"."to_model_version_id")
);
--> statement-breakpoint
CREATE TABLE "model_version" (
	"id" text PRIMARY KEY DEFAULT gen_random_uuid()::text NOT NULL,
	"family" text NOT NULL,
	"parent_id" text,
	"status" "model_version_status" DEFAULT 'candidate' NOT NULL,
	"artifact_uri" text NOT NULL,
	"sha256" text NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"manifest" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"round_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "model_version_id_shape" CHECK ("model_version"."id" ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$'),
	CONSTRAINT "model_version_family_shape" CHECK ("model_version"."family" ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
	CONSTRAINT "model_version_sha256_hex" CHECK ("model_version"."sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "model_version_not_own_parent" CHECK ("model_version"."parent_id" is distinct from "model_version"."id")
);
--> statement-breakpoint
CREATE TABLE "prompt" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"text" text NOT NULL,
	"source" "prompt_source" NOT NULL,
	"submitted_by" uuid,
	"is_active" boolean DEFAULT true NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "prompt_text_length" CHECK (length(btrim("prompt"."text")) between 1 and 500)
);
--> statement-breakpoint
CREATE TABLE "alignment_round" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"status" "round_status" DEFAULT 'queued' NOT NULL,
	"trigger" "round_trigger" NOT NULL,
	"schedule_id" uuid,
	"parent_model_version_id" text NOT NULL,
	"candidate_model_version_id" text,
	"objective_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"label_count_desirable" integer DEFAULT 0 NOT NULL,
	"label_count_undesirable" integer DEFAULT 0 NOT NULL,
	"manifest_sha256" text,
	"progress" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"metrics" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text,
	"worker_id" text,
	"heartbeat_at" timestamp with time zone,
	"requested_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"labels_released_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "alignment_round_label_counts" CHECK ("alignment_round"."label_count_desirable" >= 0 and "alignment_round"."label_count_undesirable" >= 0),
	CONSTRAINT "alignment_round_manifest_sha256" CHECK ("alignment_round"."manifest_sha256" is null or "alignment_round"."manifest_sha256" ~ '^[0-9a-f]{64}$'),
	CONSTRAINT "alignment_round_finished_iff_terminal" CHECK (("alignment_round"."finished_at" is not null) = ("alignment_round"."status" in ('published', 'rejected', 'failed', 'canceled'))),
	CONSTRAINT "alignment_round_published_has_candidate" CHECK ("alignment_round"."status" <> 'published' or "alignment_round"."candidate_model_version_id" is not null),
	CONSTRAINT "alignment_round_failed_has_error" CHECK ("alignment_round"."status" <> 'failed' or "alignment_round"."error" is not null)
);
--> statement-breakpoint
CREATE TABLE "round_label" (
	"round_id" uuid NOT NULL,
	"event_id" bigint NOT NULL,
	"user_id" uuid NOT NULL,
	"image_id" uuid NOT NULL,
	"model_version_id" text NOT NULL,
	"value" "vote_value" NOT NULL,
	CONSTRAINT "round_label_round_id_event_id_pk" PRIMARY KEY("round_id","event_id")
);
--> statement-breakpoint
CREATE TABLE "schedule" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"name" text NOT NULL,
	"cron" text,
	"timezone" text DEFAULT 'UTC' NOT NULL,
	"is_data_triggered" boolean DEFAULT false NOT NULL,
	"min_new_labels" integer DEFAULT 0 NOT NULL,
	"class_balance_min" double precision DEFAULT 0 NOT NULL,
	"class_balance_max" double precision DEFAULT 1 NOT NULL,
	"round_config" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"promotion_policy" "promotion_policy" DEFAULT 'none' NOT NULL,
	"experiment_traffic_percent" smallint,
	"is_enabled" boolean DEFAULT true NOT NULL,
	"last_triggered_at" timestamp with time zone,
	"created_by" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "schedule_has_trigger" CHECK ("schedule"."cron" is not null or "schedule"."is_data_triggered"),
	CONSTRAINT "schedule_cron_shape" CHECK ("schedule"."cron" is null or "schedule"."cron" ~ '^\S+(\s+\S+){4,5}$'),
	CONSTRAINT "schedule_min_new_labels" CHECK ("schedule"."min_new_labels" >= 0),
	CONSTRAINT "schedule_class_balance_band" CHECK (0 <= "schedule"."class_balance_min" and "schedule"."class_balance_min" <= "schedule"."class_balance_max" and "schedule"."class_balance_max" <= 1),
	CONSTRAINT "schedule_experiment_traffic" CHECK (("schedule"."promotion_policy" = 'experiment') = ("schedule"."experiment_traffic_percent" is not null)
        and ("schedule"."experiment_traffic_percent" is null or "schedule"."experiment_traffic_percent" between 1 and 100))
);
--> statement-breakpoint
ALTER TABLE "account" ADD CONSTRAINT "account_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "session" ADD CONSTRAINT "session_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignment" ADD CONSTRAINT "assignment_experiment_id_experiment_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignment" ADD CONSTRAINT "assignment_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "assignment" ADD CONSTRAINT "assignment_variant_fk" FOREIGN KEY ("variant_id","experiment_id") REFERENCES "public"."variant"("id","experiment_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "experiment" ADD CONSTRAINT "experiment_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variant" ADD CONSTRAINT "variant_experiment_id_experiment_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "variant" ADD CONSTRAINT "variant_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exposure" ADD CONSTRAINT "exposure_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exposure" ADD CONSTRAINT "exposure_image_id_image_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."image"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exposure" ADD CONSTRAINT "exposure_experiment_id_experiment_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "exposure" ADD CONSTRAINT "exposure_variant_fk" FOREIGN KEY ("variant_id","experiment_id") REFERENCES "public"."variant"("id","experiment_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback_event" ADD CONSTRAINT "feedback_event_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "feedback_event" ADD CONSTRAINT "feedback_event_image_id_image_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."image"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vote" ADD CONSTRAINT "vote_user_id_user_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."user"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vote" ADD CONSTRAINT "vote_image_id_image_id_fk" FOREIGN KEY ("image_id") REFERENCES "public"."image"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vote" ADD CONSTRAINT "vote_event_id_feedback_event_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."feedback_event"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "vote" ADD CONSTRAINT "vote_round_id_alignment_round_id_fk" FOREIGN KEY ("round_id") REFERENCES "public"."alignment_round"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image" ADD CONSTRAINT "image_prompt_id_prompt_id_fk" FOREIGN KEY ("prompt_id") REFERENCES "public"."prompt"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image" ADD CONSTRAINT "image_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "image" ADD CONSTRAINT "image_hidden_by_user_id_fk" FOREIGN KEY ("hidden_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias" ADD CONSTRAINT "model_alias_model_version_id_model_version_id_fk" FOREIGN KEY ("model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias" ADD CONSTRAINT "model_alias_moved_by_user_id_fk" FOREIGN KEY ("moved_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_event" ADD CONSTRAINT "model_alias_event_from_model_version_id_model_version_id_fk" FOREIGN KEY ("from_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_event" ADD CONSTRAINT "model_alias_event_to_model_version_id_model_version_id_fk" FOREIGN KEY ("to_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_alias_event" ADD CONSTRAINT "model_alias_event_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_parent_id_model_version_id_fk" FOREIGN KEY ("parent_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "model_version" ADD CONSTRAINT "model_version_round_id_alignment_round_id_fk" FOREIGN KEY ("round_id") REFERENCES "public"."alignment_round"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "prompt" ADD CONSTRAINT "prompt_submitted_by_user_id_fk" FOREIGN KEY ("submitted_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alignment_round" ADD CONSTRAINT "alignment_round_schedule_id_schedule_id_fk" FOREIGN KEY ("schedule_id") REFERENCES "public"."schedule"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alignment_round" ADD CONSTRAINT "alignment_round_parent_model_version_id_model_version_id_fk" FOREIGN KEY ("parent_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alignment_round" ADD CONSTRAINT "alignment_round_candidate_model_version_id_model_version_id_fk" FOREIGN KEY ("candidate_model_version_id") REFERENCES "public"."model_version"("id") ON DELETE restrict ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "alignment_round" ADD CONSTRAINT "alignment_round_requested_by_user_id_fk" FOREIGN KEY ("requested_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "round_label" ADD CONSTRAINT "round_label_round_id_alignment_round_id_fk" FOREIGN KEY ("round_id") REFERENCES "public"."alignment_round"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "round_label" ADD CONSTRAINT "round_label_event_id_feedback_event_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."feedback_event"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "schedule" ADD CONSTRAINT "schedule_created_by_user_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "account_user_id_idx" ON "account" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "session_user_id_idx" ON "session" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "user_email_lower_key" ON "user" USING btree (lower("email"));--> statement-breakpoint
CREATE INDEX "assignment_variant_idx" ON "assignment" USING btree ("variant_id");--> statement-breakpoint
CREATE INDEX "assignment_user_idx" ON "assignment" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "experiment_name_key" ON "experiment" USING btree ("name");--> statement-breakpoint
CREATE INDEX "experiment_status_idx" ON "experiment" USING btree ("status");--> statement-breakpoint
CREATE UNIQUE INDEX "variant_one_control" ON "variant" USING btree ("experiment_id") WHERE "variant"."is_control";--> statement-breakpoint
CREATE INDEX "variant_model_version_idx" ON "variant" USING btree ("model_version_id");--> statement-breakpoint
CREATE INDEX "exposure_user_shown_idx" ON "exposure" USING btree ("user_id","shown_at");--> statement-breakpoint
CREATE INDEX "exposure_image_idx" ON "exposure" USING btree ("image_id");--> statement-breakpoint
CREATE INDEX "exposure_variant_shown_idx" ON "exposure" USING btree ("experiment_id","variant_id","shown_at") WHERE "exposure"."experiment_id" is not null;--> statement-breakpoint
CREATE INDEX "feedback_event_user_image_idx" ON "feedback_event" USING btree ("user_id","image_id","id");--> statement-breakpoint
CREATE INDEX "feedback_event_image_idx" ON "feedback_event" USING btree ("image_id");--> statement-breakpoint
CREATE INDEX "feedback_event_at_idx" ON "feedback_event" USING btree ("at");--> statement-breakpoint
CREATE INDEX "vote_pool_idx" ON "vote" USING btree ("event_id") WHERE "vote"."round_id" is null;--> statement-breakpoint
CREATE INDEX "vote_round_id_idx" ON "vote" USING btree ("round_id") WHERE "vote"."round_id" is not null;--> statement-breakpoint
CREATE INDEX "vote_image_id_idx" ON "vote" USING btree ("image_id");--> statement-breakpoint
CREATE INDEX "vote_event_id_idx" ON "vote" USING btree ("event_id");--> statement-breakpoint
CREATE INDEX "image_feed_idx" ON "image" USING btree ("model_version_id","created_at") WHERE not "image"."is_hidden";--> statement-breakpoint
CREATE INDEX "image_prompt_id_idx" ON "image" USING btree ("prompt_id");--> statement-breakpoint
CREATE INDEX "image_blob_key_idx" ON "image" USING btree ("blob_key");--> statement-breakpoint
CREATE INDEX "model_alias_event_alias_at_idx" ON "model_alias_event" USING btree ("alias","at");--> statement-breakpoint
CREATE INDEX "model_version_parent_id_idx" ON "model_version" USING btree ("parent_id");--> statement-breakpoint
CREATE INDEX "model_version_round_id_idx" ON "model_version" USING btree ("round_id");--> statement-breakpoint
CREATE INDEX "model_version_family_created_idx" ON "model_version" USING btree ("family","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "prompt_curated_text_key" ON "prompt" USING btree ("text") WHERE "prompt"."source" = 'curated';--> statement-breakpoint
CREATE INDEX "prompt_active_idx" ON "prompt" USING btree ("created_at") WHERE "prompt"."is_active";--> statement-breakpoint
CREATE UNIQUE INDEX "alignment_round_one_running" ON "alignment_round" USING btree ((true)) WHERE "alignment_round"."status" in ('training', 'exporting', 'evaluating');--> statement-breakpoint
CREATE INDEX "alignment_round_status_created_idx" ON "alignment_round" USING btree ("status","created_at");--> statement-breakpoint
CREATE INDEX "alignment_round_schedule_idx" ON "alignment_round" USING btree ("schedule_id");--> statement-breakpoint
CREATE INDEX "alignment_round_parent_idx" ON "alignment_round" USING btree ("parent_model_version_id");--> statement-breakpoint
CREATE INDEX "round_label_event_idx" ON "round_label" USING btree ("event_id");--> statement-breakpoint
CREATE UNIQUE INDEX "schedule_name_key" ON "schedule" USING btree ("name");