-- The head teacher's review and the submission to the assessor: where a handbook is in its life,
-- who assesses it and when the visit is, comments on strands, the timeline of every step, and
-- the frozen copy that submission makes.

ALTER TABLE assessment
    ADD COLUMN stage text NOT NULL DEFAULT 'in_progress'
        CHECK (stage IN ('in_progress', 'with_head', 'returned', 'submitted', 'awarded')),
    ADD COLUMN assessor_id uuid,
    -- The visit's date and time, in UK local time as the officer typed it.
    ADD COLUMN visit_at timestamp,
    ADD FOREIGN KEY (tenant_id, assessor_id) REFERENCES app_user (tenant_id, id);

-- Comments on a strand, by the head teacher or the Attendance Lead, in the order written.
CREATE TABLE strand_comment (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    strand_key text NOT NULL,
    author_id uuid NOT NULL,
    body text NOT NULL CHECK (length(trim(body)) > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, author_id) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX strand_comment_assessment ON strand_comment (tenant_id, assessment_id, strand_key, created_at);

-- Every step of a handbook's life, shown as its timeline: sent to the head, returned (with the
-- head's message), submitted, reopened (with the reason), assessor or visit set.
CREATE TABLE assessment_event (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('sent_to_head', 'returned', 'submitted', 'reopened', 'assessor_set', 'visit_set')),
    actor_id uuid,
    message text NOT NULL DEFAULT '',
    created_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, actor_id) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX assessment_event_assessment ON assessment_event (tenant_id, assessment_id, id);

-- What the head teacher submitted, frozen: every strand's texts and claim, the documents linked
-- with their content hashes, and the best fit suggested at that moment. Never changed: a
-- reopened handbook is submitted again as a new row.
CREATE TABLE submission (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    submitted_by uuid NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(),
    -- The visit and deadline in force when it was submitted, and how late it was (working days).
    visit_at timestamp,
    deadline date,
    late_by integer,
    snapshot jsonb NOT NULL,
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id),
    FOREIGN KEY (tenant_id, submitted_by) REFERENCES app_user (tenant_id, id)
);
CREATE INDEX submission_assessment ON submission (tenant_id, assessment_id, submitted_at);

CREATE FUNCTION aqm_submission_frozen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'a submission is never changed';
END $$;
CREATE TRIGGER submission_frozen BEFORE UPDATE OR DELETE ON submission
    FOR EACH ROW EXECUTE FUNCTION aqm_submission_frozen();
CREATE TRIGGER submission_frozen_truncate BEFORE TRUNCATE ON submission
    FOR EACH STATEMENT EXECUTE FUNCTION aqm_submission_frozen();

GRANT SELECT, INSERT ON strand_comment, assessment_event, submission TO aqm_app;
GRANT USAGE ON SEQUENCE assessment_event_id_seq TO aqm_app;

ALTER TABLE strand_comment ENABLE ROW LEVEL SECURITY;
ALTER TABLE assessment_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE submission ENABLE ROW LEVEL SECURITY;

CREATE POLICY strand_comment_own ON strand_comment FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY assessment_event_own ON assessment_event FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY submission_own ON submission FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());

-- Outgoing mail may carry one attachment (the handbook PDF for the assessor).
ALTER TABLE outbox
    ADD COLUMN attachment_name text,
    ADD COLUMN attachment_type text,
    ADD COLUMN attachment bytea;
