-- Foreign-key actions (ON DELETE SET NULL of model_alias_event.actor_id when a user is erased) run nested
-- (pg_trigger_depth() > 1) and are allowed, like cascading deletes; direct UPDATE/DELETE/TRUNCATE stay refused.
CREATE OR REPLACE FUNCTION "likewise_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('DELETE', 'UPDATE') AND pg_trigger_depth() > 1 THEN
    RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = '55000', TABLE = TG_TABLE_NAME;
END;
$$;
