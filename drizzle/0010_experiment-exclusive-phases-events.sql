CREATE TABLE "experiment_event" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "experiment_event_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"experiment_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"actor_id" uuid,
	"reason" text DEFAULT '' NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "experiment_event_kind" CHECK ("experiment_event"."kind" in ('started', 'weights', 'phase', 'stopped', 'auto_stopped', 'decided'))
);
--> statement-breakpoint
ALTER TABLE "assignment" ADD COLUMN "phase" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "assignment" DROP CONSTRAINT "assignment_experiment_id_user_id_pk";--> statement-breakpoint
ALTER TABLE "assignment" ADD CONSTRAINT "assignment_experiment_id_phase_user_id_pk" PRIMARY KEY("experiment_id","phase","user_id");--> statement-breakpoint
ALTER TABLE "experiment" ADD COLUMN "population_offset" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "experiment" ADD COLUMN "phase" integer DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "experiment" ADD COLUMN "phase_started_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "experiment_event" ADD CONSTRAINT "experiment_event_experiment_id_experiment_id_fk" FOREIGN KEY ("experiment_id") REFERENCES "public"."experiment"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "experiment_event" ADD CONSTRAINT "experiment_event_actor_id_user_id_fk" FOREIGN KEY ("actor_id") REFERENCES "public"."user"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "experiment_event_experiment_at_idx" ON "experiment_event" USING btree ("experiment_id","at");--> statement-breakpoint
ALTER TABLE "experiment" ADD CONSTRAINT "experiment_population_slice" CHECK ("experiment"."population_offset" >= 0 and "experiment"."population_offset" + "experiment"."population_percent" <= 100);--> statement-breakpoint
ALTER TABLE "experiment" ADD CONSTRAINT "experiment_phase" CHECK ("experiment"."phase" >= 1);--> statement-breakpoint
-- Hand-written (drizzle-kit cannot express these). Running experiments start their first phase when they started.
UPDATE "experiment" SET "phase_started_at" = "started_at" WHERE "started_at" IS NOT NULL;--> statement-breakpoint
-- Mutual exclusivity: the population slices of starting/running experiments never overlap. The predicate names only
-- enum values older than this transaction ('starting' was added in 0008, and migrations run in one transaction).
ALTER TABLE "experiment" ADD CONSTRAINT "experiment_population_exclusive" EXCLUDE USING gist (
  numrange("population_offset"::numeric, ("population_offset" + "population_percent")::numeric) WITH &&
) WHERE ("status" NOT IN ('draft', 'stopped', 'decided'));--> statement-breakpoint
CREATE TRIGGER "experiment_event_append_only" BEFORE UPDATE OR DELETE ON "experiment_event"
  FOR EACH ROW EXECUTE FUNCTION "likewise_append_only"();--> statement-breakpoint
CREATE TRIGGER "experiment_event_no_truncate" BEFORE TRUNCATE ON "experiment_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "likewise_append_only"();
