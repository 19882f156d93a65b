-- The benchmark's authority of realistic size: :schools more schools in the demo authority, each
-- enrolled in cohort 2025/26 with every strand written (texts of about 1,200 characters, a level
-- claimed), five evidence records, a submission for most, an award for a third, and three years
-- of absence figures. Run with psql -v schools=200 -v strands="'{1.1,1.2,...}'".
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE bench_t AS
  SELECT id AS tenant, (SELECT id FROM app_user WHERE tenant_id = t.id AND role = 'la_officer' LIMIT 1) AS officer,
         (SELECT id FROM app_user WHERE tenant_id = t.id AND role = 'assessor' LIMIT 1) AS assessor,
         (SELECT version FROM framework_version WHERE framework_key = 'laqm' ORDER BY first_loaded_at DESC LIMIT 1) AS version
  FROM tenant t WHERE slug = 'demo';
INSERT INTO cohort (id, tenant_id, name) SELECT gen_random_uuid(), tenant, '2025/26' FROM bench_t;
CREATE TEMP TABLE bench_s AS
  SELECT gen_random_uuid() AS school, gen_random_uuid() AS assessment, g AS n,
         CASE g % 10 WHEN 0 THEN 'secondary' WHEN 1 THEN 'special' ELSE 'primary' END AS phase
  FROM generate_series(1, :schools) g;
INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status)
  SELECT school, tenant, 800000 + n, 'Benchmark School ' || n, phase, '999', 'open' FROM bench_s, bench_t;
INSERT INTO assessment (id, tenant_id, school_id, cohort_id, framework_key, framework_version, stage, assessor_id, visit_at)
  SELECT s.assessment, t.tenant, s.school, c.id, 'laqm', t.version,
         CASE WHEN s.n % 3 = 0 THEN 'awarded' WHEN s.n % 3 = 1 THEN 'submitted' ELSE 'in_progress' END,
         t.assessor, now()::date + (s.n % 60) + interval '9 hours'
  FROM bench_s s, bench_t t, cohort c WHERE c.tenant_id = t.tenant AND c.name = '2025/26';
INSERT INTO strand_entry (tenant_id, assessment_id, strand_key, actions, impact, claimed_level, version)
  SELECT t.tenant, s.assessment, k,
         repeat('Daily first-day calling is led by the attendance officer, with weekly review of persistent absence. ', 12),
         repeat('Persistent absence fell from 19% to 14% over the year; the weekly review meets every Monday. ', 12),
         (ARRAY['bronze', 'silver', 'gold'])[1 + (s.n + length(k)) % 3], 1
  FROM bench_s s, bench_t t, unnest(:strands::text[]) k;
INSERT INTO evidence (id, tenant_id, school_id, title, file_name, content_type, size_bytes, sha256)
  SELECT gen_random_uuid(), t.tenant, s.school, 'Evidence document ' || d, 'evidence.pdf', 'application/pdf', 120000,
         md5(s.n::text || d::text) || md5(d::text || s.n::text)
  FROM bench_s s, bench_t t, generate_series(1, 5) d;
INSERT INTO award (tenant_id, assessment_id, assessor_id, outcome, suggested, claimed, awarded_on, expires_on, verify_code)
  SELECT t.tenant, s.assessment, t.assessor, 'silver', 'silver', 'silver', now()::date - 30,
         now()::date - 30 + (s.n % 1000), md5(random()::text || s.n::text)
  FROM bench_s s, bench_t t WHERE s.n % 3 = 0;
INSERT INTO attendance_figure (tenant_id, school_id, time_period, term, overall_pct, pa_pct, severe_pct, source, recorded_by)
  SELECT t.tenant, s.school, p, 'Academic year', 5 + (s.n % 40) / 10.0 - (p - 202324) / 101.0 * 0.3,
         15 + (s.n % 80) / 10.0, 1 + (s.n % 20) / 10.0, 'manual', t.officer
  FROM bench_s s, bench_t t, unnest(ARRAY[202324, 202425, 202526]) p;
-- A second Attendance Lead (Benchmark School 2, in progress), with the demo lead's password, so the
-- autosave load spreads over two handbooks: each of wrk's two threads writes its own.
INSERT INTO app_user (id, tenant_id, email, name, role, school_id, password_hash)
  SELECT gen_random_uuid(), t.tenant, 'bench-lead@aqm-demo.test', 'Benchmark Lead', 'attendance_lead', s.school,
         (SELECT password_hash FROM app_user WHERE email = 'lead@aqm-demo.test')
  FROM bench_s s, bench_t t WHERE s.n = 2;
COMMIT;
ANALYZE;
