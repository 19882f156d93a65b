-- Good practice shared across schools: a strand's practice offered by the school (written by
-- the lead, approved by the head), reviewed by the authority's officers before it is published,
-- browsed and searched by everyone of the authority, featured for the celebration event.

-- One offer of one strand of one handbook. The shared version is its own text: the handbook is
-- not changed. `status`:
--   draft              the lead is writing it
--   with_head          waiting for the head teacher's approval
--   offered            approved by the head, waiting for an officer
--   changes_requested  an officer asked for changes (`officer_message` says which)
--   published          in the resource base
--   declined           an officer declined it (`officer_message` says why)
--   withdrawn          the school took it back: gone from the resource base at once
CREATE TABLE practice (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    school_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    theme_number integer NOT NULL,
    strand_label text NOT NULL,
    actions text NOT NULL DEFAULT '',
    impact text NOT NULL DEFAULT '',
    status text NOT NULL DEFAULT 'draft' CHECK (status IN
        ('draft', 'with_head', 'offered', 'changes_requested', 'published', 'declined', 'withdrawn')),
    -- Who agreed to be asked about it, and whether their email address may be shown.
    contact_id uuid NOT NULL,
    contact_shows_email boolean NOT NULL DEFAULT false,
    officer_message text NOT NULL DEFAULT '',
    featured boolean NOT NULL DEFAULT false,
    created_by uuid NOT NULL,
    approved_by uuid,
    approved_at timestamptz,
    published_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now(),
    created_at timestamptz NOT NULL DEFAULT now(),
    search tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english', strand_label), 'B')
        || to_tsvector('english', actions || ' ' || impact)) STORED,
    UNIQUE (tenant_id, id),
    CHECK (length(trim(actions)) > 0 OR length(trim(impact)) > 0),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, contact_id) REFERENCES app_user (tenant_id, id),
    FOREIGN KEY (tenant_id, created_by) REFERENCES app_user (tenant_id, id),
    FOREIGN KEY (tenant_id, approved_by) REFERENCES app_user (tenant_id, id)
);
-- One live offer per strand of a handbook; a withdrawn or declined one may be offered again.
CREATE UNIQUE INDEX practice_one_live ON practice (tenant_id, assessment_id, strand_key)
    WHERE status NOT IN ('withdrawn', 'declined');
CREATE INDEX practice_published ON practice (tenant_id, strand_key) WHERE status = 'published';
CREATE INDEX practice_search ON practice USING gin (search);

-- The documents chosen to go with it (from the strand's linked evidence).
CREATE TABLE practice_document (
    tenant_id uuid NOT NULL,
    practice_id uuid NOT NULL,
    evidence_id uuid NOT NULL,
    PRIMARY KEY (tenant_id, practice_id, evidence_id),
    FOREIGN KEY (tenant_id, practice_id) REFERENCES practice (tenant_id, id),
    FOREIGN KEY (tenant_id, evidence_id) REFERENCES evidence (tenant_id, id)
);

-- The assessor's "strength worth sharing" on a strand during the visit; the school decides.
CREATE TABLE practice_recommendation (
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    assessor_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, assessment_id, strand_key),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, assessor_id) REFERENCES app_user (tenant_id, id)
);

-- "Contact this school": the message goes through the service to the contact.
CREATE TABLE practice_contact (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    practice_id uuid NOT NULL,
    sender_id uuid NOT NULL,
    message text NOT NULL CHECK (length(trim(message)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, practice_id) REFERENCES practice (tenant_id, id),
    FOREIGN KEY (tenant_id, sender_id) REFERENCES app_user (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE ON practice TO aqm_app;
GRANT SELECT, INSERT, DELETE ON practice_document, practice_recommendation TO aqm_app;
GRANT SELECT, INSERT ON practice_contact TO aqm_app;

ALTER TABLE practice ENABLE ROW LEVEL SECURITY;
ALTER TABLE practice_document ENABLE ROW LEVEL SECURITY;
ALTER TABLE practice_recommendation ENABLE ROW LEVEL SECURITY;
ALTER TABLE practice_contact ENABLE ROW LEVEL SECURITY;
CREATE POLICY practice_own ON practice FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY practice_document_own ON practice_document FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY practice_recommendation_own ON practice_recommendation FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY practice_contact_own ON practice_contact FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());

-- Across authorities (optional, off by default): an authority that opts in may publish chosen
-- entries platform-wide, and its people then see other opted-in authorities' chosen entries,
-- with the authority's name. Read across tenants through aqm_system, which sees only those rows
-- and only the columns the page shows.
ALTER TABLE tenant ADD COLUMN share_practice_widely boolean NOT NULL DEFAULT false;
ALTER TABLE practice ADD COLUMN platform_wide boolean NOT NULL DEFAULT false;
GRANT SELECT (id, tenant_id, school_id, strand_key, theme_number, strand_label, actions, impact, status,
              platform_wide, updated_at, search) ON practice TO aqm_system;
CREATE POLICY practice_platform_wide ON practice FOR SELECT TO aqm_system
    USING (platform_wide AND status = 'published');
