-- Tenants (local authorities), schools, people, sessions, one-time links, the email outbox and the
-- audit log.
--
-- Two walls keep tenants apart. The first: every query names the tenant of the signed-in person.
-- The second: row-level security. Web requests reach tenant-owned tables as the role aqm_app,
-- which owns nothing and bypasses nothing, inside a transaction that has set aqm.tenant_id; the
-- policies below show it only that tenant's rows. Sign-in, sessions, the outbox worker and the
-- operator's tools run as the owner (the login role), which RLS does not apply to.

DO $$
BEGIN
    CREATE ROLE aqm_app NOLOGIN NOSUPERUSER NOBYPASSRLS NOINHERIT;
EXCEPTION
    -- The role is cluster-wide: another database of the same cluster may have made it already.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT aqm_app TO %I', current_user);
EXCEPTION
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

-- NULL when no tenant is set, so policies match nothing. After a transaction that set it, the
-- setting reads '' and the cast fails: that fails safe, so it is deliberately not coalesced.
CREATE FUNCTION aqm_current_tenant() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('aqm.tenant_id', true), '')::uuid $$;

CREATE TABLE tenant (
    id uuid PRIMARY KEY,
    slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    nation text NOT NULL CHECK (nation IN ('england', 'wales')),
    submission_notice_days integer NOT NULL DEFAULT 5 CHECK (submission_notice_days BETWEEN 0 AND 60),
    award_validity_years integer NOT NULL DEFAULT 3 CHECK (award_validity_years BETWEEN 1 AND 10),
    framework_key text NOT NULL DEFAULT 'laqm',
    is_demo boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE school (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id),
    urn integer NOT NULL CHECK (urn > 0),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    phase text NOT NULL CHECK (phase IN ('primary', 'secondary', 'special', 'all_through', 'alternative_provision', 'nursery')),
    la_code text NOT NULL,
    status text NOT NULL CHECK (status IN ('open', 'closed')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    -- A URN is national, but a school belongs to one authority; uniqueness per tenant keeps one
    -- tenant's import from learning about another's schools through a conflict.
    UNIQUE (tenant_id, urn),
    UNIQUE (tenant_id, id)
);

CREATE TABLE app_user (
    id uuid PRIMARY KEY,
    -- NULL only for platform operators, who belong to no authority.
    tenant_id uuid REFERENCES tenant (id),
    email text NOT NULL UNIQUE CHECK (email = lower(email) AND email LIKE '%_@_%'),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    role text NOT NULL CHECK (role IN ('attendance_lead', 'head_teacher', 'assessor', 'la_officer', 'tenant_admin', 'platform_operator')),
    school_id uuid,
    password_hash text,
    active boolean NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    CHECK ((role = 'platform_operator') = (tenant_id IS NULL)),
    CHECK ((role IN ('attendance_lead', 'head_teacher')) = (school_id IS NOT NULL))
);
CREATE INDEX app_user_tenant_school ON app_user (tenant_id, school_id);

-- Sessions are found by the hash of the cookie's token, so a copy of this table opens no session.
CREATE TABLE user_session (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    tenant_id uuid REFERENCES tenant (id),
    csrf_token text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    absolute_expiry timestamptz NOT NULL,
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_session_user ON user_session (user_id);

-- Failed and successful sign-ins, for throttling per account and per address.
CREATE TABLE sign_in_attempt (
    id bigserial PRIMARY KEY,
    email text NOT NULL,
    address text NOT NULL,
    succeeded boolean NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sign_in_attempt_email ON sign_in_attempt (email, at);
CREATE INDEX sign_in_attempt_address ON sign_in_attempt (address, at);

-- Single-use links: invitations (set a first password) and password resets.
CREATE TABLE user_token (
    token_hash bytea PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    tenant_id uuid REFERENCES tenant (id),
    purpose text NOT NULL CHECK (purpose IN ('invitation', 'reset')),
    expires_at timestamptz NOT NULL,
    used_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, user_id) REFERENCES app_user (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_token_user ON user_token (user_id);

-- Mail is written here in the same transaction as the change that causes it; a worker sends it.
CREATE TABLE outbox (
    id uuid PRIMARY KEY,
    tenant_id uuid REFERENCES tenant (id),
    to_address text NOT NULL,
    subject text NOT NULL,
    body_text text NOT NULL,
    body_html text NOT NULL,
    status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'dead')),
    attempts integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    locked_until timestamptz,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status IN ('pending', 'sending');

-- Append-only: no role may update or delete (see the trigger), and aqm_app may only insert and read.
CREATE TABLE audit_event (
    id bigserial PRIMARY KEY,
    tenant_id uuid REFERENCES tenant (id),
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_id uuid REFERENCES app_user (id),
    actor_email text,
    action text NOT NULL,
    school_id uuid,
    subject_type text,
    subject_id text,
    before jsonb,
    after jsonb,
    address text,
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id)
);
CREATE INDEX audit_event_tenant ON audit_event (tenant_id, occurred_at DESC);
CREATE INDEX audit_event_tenant_school ON audit_event (tenant_id, school_id, occurred_at DESC);
CREATE INDEX audit_event_tenant_actor ON audit_event (tenant_id, actor_id, occurred_at DESC);

CREATE FUNCTION aqm_audit_is_append_only() RETURNS trigger
    LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'the audit log is append-only'; END $$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION aqm_audit_is_append_only();

-- What the web role may touch, and the policies that keep it inside its tenant.
GRANT SELECT, UPDATE ON tenant TO aqm_app;
GRANT SELECT, INSERT, UPDATE ON school, app_user TO aqm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON user_session, user_token TO aqm_app;
GRANT INSERT ON outbox TO aqm_app;
GRANT SELECT, INSERT ON audit_event TO aqm_app;
GRANT USAGE ON SEQUENCE audit_event_id_seq TO aqm_app;

ALTER TABLE tenant ENABLE ROW LEVEL SECURITY;
ALTER TABLE school ENABLE ROW LEVEL SECURITY;
ALTER TABLE app_user ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_session ENABLE ROW LEVEL SECURITY;
ALTER TABLE user_token ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_event ENABLE ROW LEVEL SECURITY;

CREATE POLICY tenant_own ON tenant FOR ALL TO aqm_app
    USING (id = aqm_current_tenant()) WITH CHECK (id = aqm_current_tenant());
CREATE POLICY school_own ON school FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY app_user_own ON app_user FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY user_session_own ON user_session FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY user_token_own ON user_token FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY outbox_own ON outbox FOR INSERT TO aqm_app
    WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY audit_event_own ON audit_event FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
