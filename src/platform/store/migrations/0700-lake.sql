-- The lake (src/platform/lake, ADR 0014): every processed event and every profile change also
-- goes to Parquet files with a Delta Lake log. The store records *that* something changed, in the
-- transaction that changed it; the lake writer reads the content when it writes a batch.
--
-- Why triggers: a profile changes in the processor, but also in API merges and splits, consent
-- calls, batch segment runs and computed-trait expiry on the scheduler. A trigger sees every one
-- of them, now and for writers added later, in the writer's own transaction (nothing lost); each
-- trigger is one INSERT … SELECT per statement over its transition table, so a micro-batch pays a
-- few statements, not a statement per row.

-- Whether the lake captures changes (a writer started with the lake on sets it), and which node's
-- writer holds the lease: one writer at a time appends, so Delta `txn` versions rise in order.
CREATE TABLE lake_state (
  id            integer PRIMARY KEY CHECK (id = 1),
  capture       boolean NOT NULL DEFAULT true,
  writer        text,
  leased_until  timestamptz,
  -- The batch claimed and not finished yet, and the id range of its changes.
  batch         bigint,
  batch_lo      bigint,
  batch_hi      bigint,
  updated_at    timestamptz NOT NULL DEFAULT now()
);

-- What changed and is not in the lake yet. A row names its content (an event by source and
-- messageId, a profile, a merge by id) rather than copying it: the writer reads the content when
-- it writes, so a person deleted meanwhile is never written, and nothing is stored twice. Only
-- membership changes carry their content (entered/exited and when), which the history row forgets.
-- `batch` is set when the writer claims the row; it is the Delta `txn` version of that batch.
-- The row has workspace_id and profile_id, so a privacy deletion clears it like any profile table.
CREATE TABLE lake_changes (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  workspace_id  text NOT NULL,
  kind          text NOT NULL CHECK (kind IN ('event', 'profile', 'merge', 'membership')),
  profile_id    text,
  ref           text,
  source_id     text,
  at            timestamptz,
  detail        text,
  batch         bigint,
  -- When the trigger ran (not when its transaction began): the lake's lag and freshness count
  -- from here.
  created_at    timestamptz NOT NULL DEFAULT clock_timestamp()
-- Half-full pages and no index but the key: claiming a batch (setting `batch`) is then a HOT
-- update, which writes no index entry (5x cheaper to claim 20,000 changes on PGlite, and each
-- insert in the processor's transaction maintains one index). The writer reads a batch by its
-- id range (lake_state), so `batch` needs no index.
) WITH (fillfactor = 50);
CREATE SEQUENCE lake_batches;

-- Privacy deletions the lake writer must carry out (the privacy worker's `lake` step files one
-- and waits for `done_at`). No profile_id column on purpose: the store-wide erasure sweep must not
-- delete the request that asks the lake to erase.
CREATE TABLE lake_erasures (
  workspace_id   text NOT NULL,
  request_id     text NOT NULL,
  profile_ids    text[] NOT NULL,
  user_ids       text[] NOT NULL,
  anonymous_ids  text[] NOT NULL,
  requested_at   timestamptz NOT NULL,
  done_at        timestamptz,
  result         jsonb,
  PRIMARY KEY (workspace_id, request_id)
);

CREATE FUNCTION kindred_lake_capturing() RETURNS boolean
LANGUAGE sql STABLE AS $$ SELECT EXISTS (SELECT 1 FROM lake_state WHERE id = 1 AND capture) $$;

-- Events: a pointer per stored event (the time lets the writer's join prune partitions).
CREATE FUNCTION kindred_lake_events() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id, ref, source_id, at)
    SELECT workspace_id, 'event', profile_id, message_id, source_id, "timestamp" FROM changed;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lake_events AFTER INSERT ON events
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_events();

-- A profile changed when its row, its identifiers, segments, computed traits or consents did.
CREATE FUNCTION kindred_lake_profile_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id)
    SELECT DISTINCT workspace_id, 'profile', profile_id FROM changed;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION kindred_lake_profiles() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id)
    SELECT DISTINCT workspace_id, 'profile', id FROM changed;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lake_profiles_insert AFTER INSERT ON profiles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profiles();
CREATE TRIGGER lake_profiles_update AFTER UPDATE ON profiles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profiles();
CREATE TRIGGER lake_identities_insert AFTER INSERT ON identities
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_identities_update AFTER UPDATE ON identities
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_identities_delete AFTER DELETE ON identities
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_segment_members_insert AFTER INSERT ON segment_members
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_segment_members_delete AFTER DELETE ON segment_members
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_computed_traits_insert AFTER INSERT ON computed_trait_values
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_computed_traits_update AFTER UPDATE ON computed_trait_values
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_computed_traits_delete AFTER DELETE ON computed_trait_values
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_consents_insert AFTER INSERT ON profile_consents
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_consents_update AFTER UPDATE ON profile_consents
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();
CREATE TRIGGER lake_consents_delete AFTER DELETE ON profile_consents
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_profile_rows();

-- Merges and splits, by id (their identifiers are read at write time, so erased ones are not).
CREATE FUNCTION kindred_lake_merges() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id, ref, at)
    SELECT workspace_id, 'merge', from_profile_id, id::text, at FROM changed;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lake_merges AFTER INSERT ON profile_merges
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_merges();

-- Segment entries (a history row inserted) and exits (its exited_at set).
CREATE FUNCTION kindred_lake_entered() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id, ref, at, detail)
    SELECT workspace_id, 'membership', profile_id, segment_id, entered_at, 'entered' FROM changed;
  END IF;
  RETURN NULL;
END $$;
CREATE FUNCTION kindred_lake_exited() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF kindred_lake_capturing() THEN
    INSERT INTO lake_changes (workspace_id, kind, profile_id, ref, at, detail)
    SELECT n.workspace_id, 'membership', n.profile_id, n.segment_id, n.exited_at, 'exited'
    FROM changed n
    WHERE n.exited_at IS NOT NULL AND NOT EXISTS (
      SELECT 1 FROM previous o
      WHERE o.workspace_id = n.workspace_id AND o.segment_id = n.segment_id
        AND o.profile_id = n.profile_id AND o.entered_at = n.entered_at
        AND o.exited_at IS NOT DISTINCT FROM n.exited_at);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER lake_membership_entered AFTER INSERT ON segment_membership_history
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_entered();
CREATE TRIGGER lake_membership_exited AFTER UPDATE ON segment_membership_history
  REFERENCING OLD TABLE AS previous NEW TABLE AS changed
  FOR EACH STATEMENT EXECUTE FUNCTION kindred_lake_exited();
