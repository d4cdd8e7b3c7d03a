ALTER TYPE "public"."experiment_status" ADD VALUE 'starting' BEFORE 'running';--> statement-breakpoint
ALTER TABLE "experiment" DROP CONSTRAINT "experiment_stopped";--> statement-breakpoint
ALTER TABLE "experiment" ADD CONSTRAINT "experiment_stopped" CHECK ("experiment"."status"::text in ('draft', 'starting', 'running') or "experiment"."stopped_at" is not null);