-- Many API votes in one statement (castVotes / createVoteWriter in packages/db/src/queries/vote-batch.ts): the public
-- vote API groups the votes that arrive while the previous group commits, so one round trip, one plan and one WAL
-- flush serve them all (BENCHMARKS.md, "Vote API under load"). Each vote runs likewise_cast_vote (0011) unchanged,
-- the one definition of the vote rules, inside its own exception block: a vote that fails (request id reused, unknown
-- image, …) is rolled back alone and reported in its row (SQLSTATE + message) while the others commit. An exception
-- block is a subtransaction, and a transaction with more than 64 of them makes other sessions' snapshots slower, so
-- callers send at most 64 votes per call.
-- p_keys[i] is the API key the vote arrived with (NULL = none): it is checked in the same transaction (not revoked,
-- its account not blocked, issued to p_users[i]), so a key revoked after the web process cached it writes nothing;
-- such a vote is reported with SQLSTATE 28000. The key's last_used_at is kept to the minute, as findApiKeyUser does.
CREATE FUNCTION "likewise_cast_votes"(
  p_keys uuid[], p_users uuid[], p_images uuid[], p_values "vote_value"[], p_requests uuid[]
)
RETURNS TABLE (
  "ord" integer,
  "error_code" text,
  "error_message" text,
  "value" "vote_value",
  "previous_value" "vote_value",
  "changed" boolean,
  "label_id" bigint,
  "requeued" boolean,
  "is_duplicate" boolean
)
LANGUAGE plpgsql AS $$
DECLARE
  n integer := coalesce(cardinality(p_users), 0);
  r record;
BEGIN
  IF coalesce(cardinality(p_keys), 0) <> n OR coalesce(cardinality(p_images), 0) <> n
     OR coalesce(cardinality(p_values), 0) <> n OR coalesce(cardinality(p_requests), 0) <> n THEN
    RAISE EXCEPTION 'likewise_cast_votes: the five arrays must have the same length' USING ERRCODE = '22023';
  END IF;
  FOR i IN 1..n LOOP
    "ord" := i;
    "error_code" := NULL;
    "error_message" := NULL;
    "value" := NULL;
    "previous_value" := NULL;
    "changed" := NULL;
    "label_id" := NULL;
    "requeued" := NULL;
    "is_duplicate" := NULL;
    IF p_keys[i] IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM "api_key" k JOIN "user" u ON u."id" = k."user_id"
        WHERE k."id" = p_keys[i] AND k."user_id" = p_users[i] AND k."revoked_at" IS NULL AND u."blocked_at" IS NULL
    ) THEN
      "error_code" := '28000';
      "error_message" := 'unknown or revoked API key';
      RETURN NEXT;
      CONTINUE;
    END IF;
    IF p_keys[i] IS NOT NULL THEN
      UPDATE "api_key" k SET "last_used_at" = now()
        WHERE k."id" = p_keys[i] AND (k."last_used_at" IS NULL OR k."last_used_at" < now() - interval '60 seconds');
    END IF;
    BEGIN
      SELECT * INTO r FROM likewise_cast_vote(p_users[i], p_images[i], p_values[i], p_requests[i]);
      "value" := r."value";
      "previous_value" := r."previous_value";
      "changed" := r."changed";
      "label_id" := r."label_id";
      "requeued" := r."requeued";
      "is_duplicate" := r."is_duplicate";
    EXCEPTION WHEN OTHERS THEN
      "error_code" := SQLSTATE;
      "error_message" := SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END;
$$;
