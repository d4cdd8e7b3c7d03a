CREATE TABLE "serving_host" (
	"id" text PRIMARY KEY NOT NULL,
	"kind" text NOT NULL,
	"hostname" text NOT NULL,
	"pid" integer NOT NULL,
	"production_version_id" text,
	"is_converged" boolean DEFAULT false NOT NULL,
	"status" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"heartbeat_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "serving_host_id_shape" CHECK ("serving_host"."id" ~ '^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$')
);
--> statement-breakpoint
ALTER TABLE "serving_host" ADD CONSTRAINT "serving_host_production_version_id_model_version_id_fk" FOREIGN KEY ("production_version_id") REFERENCES "public"."model_version"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "serving_host_heartbeat_idx" ON "serving_host" USING btree ("heartbeat_at");