-- Each authority's best-fit rule: how many strands of a theme, and how many themes, each level
-- needs for the suggested best fit. The handbook gives no thresholds, so this is the authority's
-- choice, not part of the framework file. No row: the platform's default rule applies. A row
-- with `rule` NULL: an administrator chose the platform's default (who and when are kept). Every
-- change is also written to the audit log, with the rule before and after.
CREATE TABLE best_fit_rule (
    tenant_id uuid PRIMARY KEY REFERENCES tenant (id),
    -- The rule as `framework::BestFitRule` serialises it; checked against the framework when
    -- read, and the platform's default stands in for a rule that does not fit.
    rule jsonb CHECK (rule IS NULL OR jsonb_typeof(rule) = 'object'),
    -- Raised by every change, so a form filled in against an older rule is refused, not applied.
    version integer NOT NULL DEFAULT 1 CHECK (version > 0),
    set_by uuid NOT NULL,
    set_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (tenant_id, set_by) REFERENCES app_user (tenant_id, id)
);

GRANT SELECT, INSERT, UPDATE ON best_fit_rule TO aqm_app;
ALTER TABLE best_fit_rule ENABLE ROW LEVEL SECURITY;
CREATE POLICY best_fit_rule_own ON best_fit_rule FOR ALL TO aqm_app
    USING (tenant_id = aqm_current_tenant()) WITH CHECK (tenant_id = aqm_current_tenant());
