-- Reminders of a handbook's submission deadline, 10 and 5 working days before it and on the day.
-- Scheduled when the visit is set (and again when it moves), cancelled by submission; a worker
-- claims due rows with FOR UPDATE SKIP LOCKED and writes their emails to the outbox in the same
-- transaction that marks them done, so each goes once across restarts and several processes.
CREATE TABLE reminder (
    id bigserial PRIMARY KEY,
    tenant_id uuid NOT NULL,
    assessment_id uuid NOT NULL,
    kind text NOT NULL CHECK (kind IN ('ten_days', 'five_days', 'deadline_day')),
    due_on date NOT NULL,
    -- The deadline the reminder is about.
    deadline date NOT NULL,
    done_at timestamptz,
    outcome text CHECK (outcome IN ('sent', 'skipped')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, assessment_id, kind, due_on),
    FOREIGN KEY (tenant_id, assessment_id) REFERENCES assessment (tenant_id, id)
);
CREATE INDEX reminder_due ON reminder (due_on) WHERE done_at IS NULL;

GRANT SELECT, INSERT, DELETE ON reminder TO aqm_app;
GRANT USAGE ON SEQUENCE reminder_id_seq TO aqm_app;
ALTER TABLE reminder ENABLE ROW LEVEL SECURITY;
CREATE POLICY reminder_own ON reminder FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
