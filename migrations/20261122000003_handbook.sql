-- The handbook: cohorts, assessments (a school's handbook for one cohort, pinned to a framework
-- version), what the school writes per strand (with every saved attempt kept), and the school's
-- evidence library with links from documents to strands.

CREATE TABLE cohort (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id),
    name text NOT NULL CHECK (length(trim(name)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name),
    UNIQUE (tenant_id, id)
);

CREATE TABLE assessment (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id),
    school_id uuid NOT NULL,
    cohort_id uuid NOT NULL,
    framework_key text NOT NULL,
    framework_version text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'closed')),
    opened_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    FOREIGN KEY (tenant_id, cohort_id) REFERENCES cohort (tenant_id, id),
    FOREIGN KEY (framework_key, framework_version) REFERENCES framework_version (framework_key, version)
);
-- A school has at most one open assessment.
CREATE UNIQUE INDEX assessment_one_open ON assessment (tenant_id, school_id) WHERE status = 'open';

CREATE TABLE strand_entry (
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    actions text NOT NULL DEFAULT '',
    impact text NOT NULL DEFAULT '',
    claimed_level text,
    version integer NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid REFERENCES app_user (id),
    PRIMARY KEY (assessment_id, strand_key),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id)
);

-- Every save attempt, accepted or refused as stale, so no text typed is ever lost.
CREATE TABLE strand_revision (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    based_on_version integer NOT NULL,
    actions text NOT NULL,
    impact text NOT NULL,
    claimed_level text,
    outcome text NOT NULL CHECK (outcome IN ('saved', 'conflict')),
    saved_by uuid REFERENCES app_user (id),
    saved_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id)
);
CREATE INDEX strand_revision_entry ON strand_revision (tenant_id, assessment_id, strand_key, id);

CREATE TABLE evidence (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id),
    school_id uuid NOT NULL,
    title text NOT NULL CHECK (length(trim(title)) > 0),
    evidence_date date,
    description text NOT NULL DEFAULT '',
    file_name text NOT NULL,
    content_type text NOT NULL,
    size_bytes bigint NOT NULL,
    sha256 text NOT NULL,
    uploaded_by uuid REFERENCES app_user (id),
    uploaded_at timestamptz NOT NULL DEFAULT now(),
    deleted_at timestamptz,
    deleted_by uuid REFERENCES app_user (id),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id)
);
CREATE INDEX evidence_school ON evidence (tenant_id, school_id) WHERE deleted_at IS NULL;

CREATE TABLE evidence_link (
    tenant_id uuid NOT NULL,
    evidence_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    linked_by uuid REFERENCES app_user (id),
    linked_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (evidence_id, assessment_id, strand_key),
    FOREIGN KEY (tenant_id, evidence_id) REFERENCES evidence (tenant_id, id),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id)
);
CREATE INDEX evidence_link_strand ON evidence_link (tenant_id, assessment_id, strand_key);

GRANT SELECT, INSERT, UPDATE ON cohort, assessment, strand_entry, evidence TO aqm_app;
GRANT SELECT, INSERT ON strand_revision TO aqm_app;
GRANT SELECT, INSERT, DELETE ON evidence_link TO aqm_app;
GRANT USAGE ON SEQUENCE strand_revision_id_seq TO aqm_app;

ALTER TABLE cohort ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessment ENABLE ROW LEVEL SECURITY;
ALTER TABLE strand_entry ENABLE ROW LEVEL SECURITY;
ALTER TABLE strand_revision ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence ENABLE ROW LEVEL SECURITY;
ALTER TABLE evidence_link ENABLE ROW LEVEL SECURITY;

CREATE POLICY cohort_own ON cohort FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY assessment_own ON assessment FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY strand_entry_own ON strand_entry FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY strand_revision_own ON strand_revision FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY evidence_own ON evidence FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY evidence_link_own ON evidence_link FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());

-- The web role reads which framework versions exist (no tenant data in it).
GRANT SELECT ON framework_version TO aqm_app;
