-- The assessor's visit and the award: the level the assessor agrees for each strand with their
-- notes, the award itself (its level, date, expiry and public verification code), the strengths
-- and areas for development per key theme, and where a renewal's handbook came from.

-- What the assessor agreed for one strand during the visit. `agreed_level` is a level key of the
-- framework, 'none' when the strand meets none of the levels, NULL while not yet judged.
-- `client_stamp` is the browser's time of the change (milliseconds): the visit page queues changes
-- while offline and resends them, and a change older than the one stored is ignored, so a late
-- retry never overwrites a newer note.
CREATE TABLE strand_judgement (
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    agreed_level text,
    notes text NOT NULL DEFAULT '',
    client_stamp bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by uuid NOT NULL,
    PRIMARY KEY (tenant_id, assessment_id, strand_key),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, updated_by) REFERENCES app_user (tenant_id, id)
);

-- The award agreed at the visit, one per assessment. `outcome` and `suggested` are a level key
-- or 'not_yet'. A reason is required when the outcome differs from the suggestion. A level award
-- has an expiry (the authority's validity setting at the time) and an unguessable verification
-- code for its public page; "not yet" has neither.
CREATE TABLE award (
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    assessor_id uuid NOT NULL,
    outcome text NOT NULL CHECK (length(outcome) > 0),
    suggested text NOT NULL,
    claimed text NOT NULL,
    reason text NOT NULL DEFAULT '',
    awarded_on date NOT NULL,
    expires_on date,
    verify_code text UNIQUE,
    acknowledged_by uuid,
    acknowledged_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, assessment_id),
    CHECK (outcome = suggested OR length(trim(reason)) > 0),
    CHECK ((outcome = 'not_yet') = (expires_on IS NULL) AND (expires_on IS NULL) = (verify_code IS NULL)),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, assessor_id) REFERENCES app_user (tenant_id, id),
    FOREIGN KEY (tenant_id, acknowledged_by) REFERENCES app_user (tenant_id, id)
);

-- "Identify strengths and areas for development", per key theme.
CREATE TABLE award_theme (
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    theme_number integer NOT NULL,
    strengths text NOT NULL DEFAULT '',
    development text NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, assessment_id, theme_number),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES award (tenant_id, assessment_id)
);

-- A renewal's handbook starts from the previous one's texts and links.
ALTER TABLE assessment ADD COLUMN renewal_of uuid,
    ADD FOREIGN KEY (tenant_id, renewal_of) REFERENCES assessment (tenant_id, id);

ALTER TABLE assessment_event DROP CONSTRAINT assessment_event_kind_check;
ALTER TABLE assessment_event ADD CONSTRAINT assessment_event_kind_check CHECK (kind IN (
    'sent_to_head', 'returned', 'submitted', 'reopened', 'assessor_set', 'visit_set',
    'awarded', 'acknowledged', 'renewed'));

GRANT SELECT, INSERT, UPDATE ON strand_judgement TO aqm_app;
GRANT SELECT, INSERT ON award, award_theme TO aqm_app;
GRANT UPDATE (acknowledged_by, acknowledged_at) ON award TO aqm_app;

ALTER TABLE strand_judgement ENABLE ROW LEVEL SECURITY;
ALTER TABLE award ENABLE ROW LEVEL SECURITY;
ALTER TABLE award_theme ENABLE ROW LEVEL SECURITY;
CREATE POLICY strand_judgement_own ON strand_judgement FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY award_own ON award FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY award_theme_own ON award_theme FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());

-- The public verification page reads one award by its code, outside any tenant: only the facts
-- it shows, through aqm_system.
GRANT SELECT (tenant_id, assessment_id, outcome, awarded_on, expires_on, verify_code) ON award TO aqm_system;
GRANT SELECT (id, tenant_id, school_id, framework_key, framework_version) ON assessment TO aqm_system;
CREATE POLICY award_system ON award FOR SELECT TO aqm_system USING (verify_code IS NOT NULL);
