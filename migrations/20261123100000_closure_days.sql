-- The authority's own closure days (INSET days, holidays): with weekends and the bank holidays of
-- its nation, they are not working days when deadlines are counted. Officers add and remove them;
-- the audit log keeps each change.

CREATE TABLE closure_day (
    id uuid PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenant (id),
    day date NOT NULL,
    description text NOT NULL CHECK (length(trim(description)) BETWEEN 1 AND 200),
    added_by uuid,
    added_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, day),
    UNIQUE (tenant_id, id),
    FOREIGN KEY (tenant_id, added_by) REFERENCES app_user (tenant_id, id)
);

GRANT SELECT, INSERT, DELETE ON closure_day TO aqm_app;

ALTER TABLE closure_day ENABLE ROW LEVEL SECURITY;

CREATE POLICY closure_day_own ON closure_day FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
