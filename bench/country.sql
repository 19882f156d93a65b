-- The benchmark's country: :authorities more authorities (149 by default, 150 with the demo's),
-- and schools spread over them until the platform holds :schools (25,000 by default), each
-- authority with an administrator and an officer, for the operator's country-wide page.
-- Run with psql -v authorities=149 -v schools=25000.
\set ON_ERROR_STOP on
BEGIN;
CREATE TEMP TABLE bench_la AS
  SELECT gen_random_uuid() AS tenant, g AS n FROM generate_series(1, :authorities) g;
INSERT INTO tenant (id, slug, name, nation)
  SELECT tenant, 'bench-authority-' || n, 'Benchmark Authority ' || n, 'england' FROM bench_la;
INSERT INTO app_user (id, tenant_id, email, name, role)
  SELECT gen_random_uuid(), tenant, 'admin' || n || '@bench.test', 'Administrator ' || n, 'tenant_admin' FROM bench_la
  UNION ALL
  SELECT gen_random_uuid(), tenant, 'officer' || n || '@bench.test', 'Officer ' || n, 'la_officer' FROM bench_la;
INSERT INTO school (id, tenant_id, urn, name, phase, la_code, status)
  SELECT gen_random_uuid(), la.tenant, 900000 + g, 'Country School ' || g,
         CASE g % 10 WHEN 0 THEN 'secondary' WHEN 1 THEN 'special' ELSE 'primary' END,
         (100 + la.n)::text, 'open'
  FROM generate_series(1, greatest(:schools - (SELECT count(*) FROM school), 0)) g
  JOIN bench_la la ON la.n = 1 + g % :authorities;
COMMIT;
ANALYZE;
