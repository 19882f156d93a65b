-- Hardening of sign-in, accounts and the audit log.
--
-- 1. The audit log refuses TRUNCATE as it refuses UPDATE and DELETE.
-- 2. Sign-in, sessions, one-time links, the outbox and reminder workers and the operator's pages
--    no longer run as the login role (the owner of every table, and in the embedded cluster a
--    superuser). They run as aqm_system: not a superuser, owner of nothing, granted only what
--    that work needs, and able only to add to the audit log, never to read, change or empty it.
-- 3. Sign-in attempts are recorded before the password is checked (pending until it has been),
--    so concurrent attempts are counted; devices an account has signed in from are remembered.
-- 4. An invitation to an email address that has an account in another authority makes a
--    stand-in row in the inviting authority, so the invitation looks like any other there.

CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION aqm_audit_is_append_only();

DO $$
BEGIN
    CREATE ROLE aqm_system NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT NOCREATEDB NOCREATEROLE;
EXCEPTION
    -- The role is cluster-wide: another database of the same cluster may have made it already.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT aqm_system TO %I', current_user);
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- Sign-in attempts: `succeeded` is NULL while the password is being checked (and stays NULL, so
-- counted as a failure, if the check never finishes). `trusted` attempts came from a device the
-- account had signed in from before (`device`, the hash of its token); they are counted against
-- that device, not against the account.
ALTER TABLE sign_in_attempt ALTER COLUMN succeeded DROP NOT NULL;
ALTER TABLE sign_in_attempt ADD COLUMN trusted boolean NOT NULL DEFAULT false;
ALTER TABLE sign_in_attempt ADD COLUMN device bytea;

-- Devices a person has signed in from: the hash of a random token kept in a cookie of that
-- browser. Forgotten when the person's password changes.
CREATE TABLE known_device (
    token_hash bytea NOT NULL,
    user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    PRIMARY KEY (token_hash, user_id)
);
CREATE INDEX known_device_user ON known_device (user_id);

-- Stand-ins: a row that shows the inviting authority an invited person, for an address that
-- already has an account elsewhere. It never has a password, is never sent a link and never
-- signs in; the email address stays unique among real accounts, and unique within an authority.
ALTER TABLE app_user ADD COLUMN stand_in boolean NOT NULL DEFAULT false;
ALTER TABLE app_user ADD CONSTRAINT app_user_stand_in_has_no_password
    CHECK (NOT stand_in OR password_hash IS NULL);
ALTER TABLE app_user DROP CONSTRAINT app_user_email_key;
CREATE UNIQUE INDEX app_user_email_key ON app_user (email) WHERE NOT stand_in;
ALTER TABLE app_user ADD CONSTRAINT app_user_tenant_email_key UNIQUE (tenant_id, email);

-- What aqm_system may do. Row-level security is on for the tenant-owned tables; aqm_system is
-- not bound to a tenant (sign-in comes before one is known), so its policies let it through, but
-- only on the tables and for the commands granted here.
GRANT SELECT, INSERT ON tenant TO aqm_system;
GRANT SELECT ON school TO aqm_system;
GRANT SELECT, INSERT ON app_user TO aqm_system;
GRANT UPDATE (password_hash, updated_at) ON app_user TO aqm_system;
GRANT SELECT, INSERT, DELETE ON user_session TO aqm_system;
GRANT UPDATE (last_seen_at) ON user_session TO aqm_system;
GRANT SELECT, INSERT ON user_token TO aqm_system;
GRANT UPDATE (used_at) ON user_token TO aqm_system;
GRANT SELECT, INSERT ON sign_in_attempt TO aqm_system;
GRANT UPDATE (succeeded) ON sign_in_attempt TO aqm_system;
GRANT USAGE ON SEQUENCE sign_in_attempt_id_seq TO aqm_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON known_device TO aqm_system;
GRANT SELECT, INSERT, UPDATE ON outbox TO aqm_system;
GRANT INSERT ON audit_event TO aqm_system;
GRANT USAGE ON SEQUENCE audit_event_id_seq TO aqm_system;
-- Whether any school still uses a stored file (evidence files are shared by content).
GRANT SELECT (sha256) ON evidence TO aqm_system;
-- The deadline reminders worker: due reminders with their handbook, school and cohort.
GRANT SELECT ON reminder, cohort TO aqm_system;
GRANT UPDATE (done_at, outcome) ON reminder TO aqm_system;
GRANT SELECT (id, tenant_id, school_id, cohort_id, stage) ON assessment TO aqm_system;

CREATE POLICY tenant_system ON tenant FOR ALL TO aqm_system USING (true) WITH CHECK (true);
CREATE POLICY school_system ON school FOR SELECT TO aqm_system USING (true);
CREATE POLICY app_user_system ON app_user FOR ALL TO aqm_system USING (true) WITH CHECK (true);
CREATE POLICY user_session_system ON user_session FOR ALL TO aqm_system
    USING (true) WITH CHECK (true);
CREATE POLICY user_token_system ON user_token FOR ALL TO aqm_system USING (true) WITH CHECK (true);
CREATE POLICY outbox_system ON outbox FOR ALL TO aqm_system USING (true) WITH CHECK (true);
CREATE POLICY audit_event_system ON audit_event FOR INSERT TO aqm_system WITH CHECK (true);
CREATE POLICY evidence_system ON evidence FOR SELECT TO aqm_system USING (true);
CREATE POLICY reminder_system ON reminder FOR ALL TO aqm_system USING (true) WITH CHECK (true);
CREATE POLICY cohort_system ON cohort FOR SELECT TO aqm_system USING (true);
CREATE POLICY assessment_system ON assessment FOR SELECT TO aqm_system USING (true);
