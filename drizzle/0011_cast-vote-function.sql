-- The vote path in one server-side call (castVote / castVoteOnce in packages/db/src/queries/vote.ts): the same rules
-- as before, but one statement instead of ~9 round trips (BEGIN, request id, savepoint, advisory lock, SELECT … FOR
-- UPDATE, event, vote, RELEASE, COMMIT), which was the public vote API's bottleneck under load (BENCHMARKS.md).
-- p_request NULL = no request id (castVote). p_value NULL = clear. A request id reused for another vote raises
-- SQLSTATE 22023 (→ INVALID_INPUT); an unknown user or image is a foreign-key violation (23503 → NOT_FOUND).
CREATE FUNCTION "likewise_cast_vote"(p_user uuid, p_image uuid, p_value "vote_value", p_request uuid)
RETURNS TABLE (
  "value" "vote_value",
  "previous_value" "vote_value",
  "changed" boolean,
  "label_id" bigint,
  "requeued" boolean,
  "is_duplicate" boolean,
  "event_id" bigint,
  "event_at" timestamp with time zone
)
LANGUAGE plpgsql AS $$
DECLARE
  v_stored "feedback_event_value" := coalesce(p_value::text, 'cleared')::"feedback_event_value";
  v_seen "vote_request"%ROWTYPE;
  v_current "vote"%ROWTYPE;
  v_event_id bigint;
  v_event_at timestamp with time zone;
BEGIN
  IF p_request IS NOT NULL THEN
    -- A concurrent request with the same id waits here for the first one's commit, then sees it as a duplicate.
    INSERT INTO "vote_request" ("user_id", "request_id", "image_id", "value")
      VALUES (p_user, p_request, p_image, v_stored)
      ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
      SELECT * INTO v_seen FROM "vote_request" r WHERE r."user_id" = p_user AND r."request_id" = p_request;
      IF v_seen."image_id" IS DISTINCT FROM p_image OR v_seen."value" IS DISTINCT FROM v_stored THEN
        RAISE EXCEPTION 'vote request % was already used for another vote', p_request USING ERRCODE = '22023';
      END IF;
      SELECT * INTO v_current FROM "vote" v WHERE v."user_id" = p_user AND v."image_id" = p_image;
      RETURN QUERY SELECT v_current."value", v_current."value", false, v_current."event_id", false, true,
        NULL::bigint, NULL::timestamp with time zone;
      RETURN;
    END IF;
  END IF;

  -- Serialises votes per (user, image) (same lock class as before: 0x4c570002); FOR UPDATE waits for a claim.
  PERFORM pg_advisory_xact_lock(1280770050, hashtext(p_user::text || '/' || p_image::text));
  SELECT * INTO v_current FROM "vote" v WHERE v."user_id" = p_user AND v."image_id" = p_image FOR UPDATE;
  IF v_current."value" IS NOT DISTINCT FROM p_value THEN
    RETURN QUERY SELECT p_value, v_current."value", false, v_current."event_id", false, false,
      NULL::bigint, NULL::timestamp with time zone;
    RETURN;
  END IF;

  INSERT INTO "feedback_event" ("user_id", "image_id", "old_value", "new_value")
    VALUES (p_user, p_image, v_current."value", v_stored)
    RETURNING "id", "at" INTO v_event_id, v_event_at;
  IF p_value IS NULL THEN
    DELETE FROM "vote" v WHERE v."user_id" = p_user AND v."image_id" = p_image;
  ELSIF v_current."user_id" IS NULL THEN
    INSERT INTO "vote" ("user_id", "image_id", "value", "event_id") VALUES (p_user, p_image, p_value, v_event_id);
  ELSE
    UPDATE "vote" v SET "value" = p_value, "event_id" = v_event_id, "round_id" = NULL, "claimed_at" = NULL,
      "updated_at" = now()
      WHERE v."user_id" = p_user AND v."image_id" = p_image;
  END IF;
  RETURN QUERY SELECT p_value, v_current."value", true,
    CASE WHEN p_value IS NULL THEN NULL ELSE v_event_id END,
    p_value IS NOT NULL AND v_current."round_id" IS NOT NULL, false, v_event_id, v_event_at;
END;
$$;
