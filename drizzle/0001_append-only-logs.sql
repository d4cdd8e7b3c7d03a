-- Append-only logs: feedback_event, model_alias_event and round_label (a round's frozen manifest) refuse UPDATE,
-- TRUNCATE and direct DELETE. Deletes cascading from a parent (user/image erasure, round deletion) are allowed:
-- they run inside the foreign key's own trigger, so pg_trigger_depth() > 1. SQLSTATE 55000 → INVALID_STATE.
CREATE FUNCTION "likewise_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = '55000', TABLE = TG_TABLE_NAME;
END;
$$;
--> statement-breakpoint
CREATE TRIGGER "feedback_event_append_only" BEFORE UPDATE OR DELETE ON "feedback_event"
  FOR EACH ROW EXECUTE FUNCTION "likewise_append_only"();
--> statement-breakpoint
CREATE TRIGGER "feedback_event_no_truncate" BEFORE TRUNCATE ON "feedback_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "likewise_append_only"();
--> statement-breakpoint
CREATE TRIGGER "model_alias_event_append_only" BEFORE UPDATE OR DELETE ON "model_alias_event"
  FOR EACH ROW EXECUTE FUNCTION "likewise_append_only"();
--> statement-breakpoint
CREATE TRIGGER "model_alias_event_no_truncate" BEFORE TRUNCATE ON "model_alias_event"
  FOR EACH STATEMENT EXECUTE FUNCTION "likewise_append_only"();
--> statement-breakpoint
CREATE TRIGGER "round_label_append_only" BEFORE UPDATE OR DELETE ON "round_label"
  FOR EACH ROW EXECUTE FUNCTION "likewise_append_only"();
--> statement-breakpoint
CREATE TRIGGER "round_label_no_truncate" BEFORE TRUNCATE ON "round_label"
  FOR EACH STATEMENT EXECUTE FUNCTION "likewise_append_only"();
