-- The local authority's programme and data: the events of each cohort with their registers,
-- withdrawal of a school from its cohort, the schools' attendance figures (imported from the
-- DfE's published files or entered by hand) and the targets the authority sets them.

-- A withdrawn school keeps its handbook, read-only; the row is closed so the school may join a
-- later cohort.
ALTER TABLE assessment DROP CONSTRAINT assessment_stage_check;
ALTER TABLE assessment ADD CONSTRAINT assessment_stage_check
    CHECK (stage IN ('in_progress', 'with_head', 'returned', 'submitted', 'awarded', 'withdrawn'));
ALTER TABLE assessment ADD COLUMN withdrawn_at timestamptz,
    ADD COLUMN withdrawn_reason text,
    ADD CHECK ((stage = 'withdrawn') = (withdrawn_at IS NOT NULL));

ALTER TABLE assessment_event DROP CONSTRAINT assessment_event_kind_check;
ALTER TABLE assessment_event ADD CONSTRAINT assessment_event_kind_check CHECK (kind IN (
    'sent_to_head', 'returned', 'submitted', 'reopened', 'assessor_set', 'visit_set',
    'awarded', 'acknowledged', 'renewed', 'withdrawn'));

-- The handbook's events: the launch (head teacher and Attendance Lead), CPD 1 to 3 (two key
-- themes each) and the award and celebration event. One of each kind per cohort. `starts_at`
-- is UK local time, like a visit.
CREATE TABLE programme_event (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL,
    cohort_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('launch', 'cpd1', 'cpd2', 'cpd3', 'celebration')),
    starts_at timestamp NOT NULL,
    place text NOT NULL CHECK (length(trim(place)) > 0),
    capacity integer NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    invited_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, id),
    UNIQUE (tenant_id, cohort_id, kind),
    FOREIGN KEY (tenant_id, cohort_id) REFERENCES cohort (tenant_id, id)
);

-- Who from each school came. A school without a row came with no one (or the register has not
-- been taken yet: the event's `register_taken_at` tells).
CREATE TABLE event_attendance (
    tenant_id uuid NOT NULL,
    event_id uuid NOT NULL,
    school_id uuid NOT NULL,
    lead_attended boolean NOT NULL,
    head_attended boolean NOT NULL,
    recorded_by uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, event_id, school_id),
    FOREIGN KEY (tenant_id, event_id) REFERENCES programme_event (tenant_id, id),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES app_user (tenant_id, id)
);
ALTER TABLE programme_event ADD COLUMN register_taken_at timestamptz;

-- A school's absence figures for one period: `time_period` as the DfE writes it (202324 for
-- 2023/24) and `term` its `time_identifier`. Rates in per cent; NULL where the file has no value
-- (x, z, c, u or :), never zero.
CREATE TABLE attendance_figure (
    tenant_id uuid NOT NULL,
    school_id uuid NOT NULL,
    time_period integer NOT NULL CHECK (time_period BETWEEN 200001 AND 209999 AND time_period % 100 = (time_period / 100 + 1) % 100),
    term text NOT NULL CHECK (term IN ('Academic year', 'Autumn term', 'Autumn and spring term', 'Spring term', 'Summer term')),
    overall_pct double precision CHECK (overall_pct BETWEEN 0 AND 100),
    pa_pct double precision CHECK (pa_pct BETWEEN 0 AND 100),
    severe_pct double precision CHECK (severe_pct BETWEEN 0 AND 100),
    enrolments integer CHECK (enrolments >= 0),
    source text NOT NULL CHECK (source IN ('dfe', 'manual')),
    recorded_by uuid NOT NULL,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, school_id, time_period, term),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    FOREIGN KEY (tenant_id, recorded_by) REFERENCES app_user (tenant_id, id)
);

-- The authority's annual targets for a school: overall absence and persistent absence, in per cent.
CREATE TABLE attendance_target (
    tenant_id uuid NOT NULL,
    school_id uuid NOT NULL,
    time_period integer NOT NULL CHECK (time_period BETWEEN 200001 AND 209999 AND time_period % 100 = (time_period / 100 + 1) % 100),
    overall_pct double precision CHECK (overall_pct BETWEEN 0 AND 100),
    pa_pct double precision CHECK (pa_pct BETWEEN 0 AND 100),
    set_by uuid NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, school_id, time_period),
    CHECK (overall_pct IS NOT NULL OR pa_pct IS NOT NULL),
    FOREIGN KEY (tenant_id, school_id) REFERENCES school (tenant_id, id),
    FOREIGN KEY (tenant_id, set_by) REFERENCES app_user (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE ON programme_event TO aqm_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON event_attendance, attendance_figure, attendance_target TO aqm_app;

ALTER TABLE programme_event ENABLE ROW LEVEL SECURITY;
ALTER TABLE event_attendance ENABLE ROW LEVEL SECURITY;
ALTER TABLE attendance_figure ENABLE ROW LEVEL SECURITY;
ALTER TABLE attendance_target ENABLE ROW LEVEL SECURITY;
CREATE POLICY programme_event_own ON programme_event FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY event_attendance_own ON event_attendance FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY attendance_figure_own ON attendance_figure FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
CREATE POLICY attendance_target_own ON attendance_target FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
