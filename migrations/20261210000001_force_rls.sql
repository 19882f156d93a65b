-- Row-level security is forced on every table that has it, so the tables' owner is held by the
-- policies too, not only aqm_app and aqm_system.
--
-- The owner is the login role. The web process never queries as it (requests run as aqm_app,
-- sign-in and the workers as aqm_system), but the migrations, the command line (`aqm tenant add`
-- and the like) and the demo data do, and so would an operator's psql session. With the security
-- forced, an owner's session sees and changes no tenant rows unless it says it is doing
-- maintenance (`SET aqm.maintenance = 'on'`), which aqm's own owner connections do when they
-- connect (db::pool). A stray owner connection, or a request handler that were ever given the
-- owner's pool by mistake, shows nothing.
--
-- A superuser passes row-level security whatever it says (the embedded cluster's owner and a test
-- server's are one); on a managed PostgreSQL, whose login is not a superuser, this is what holds.
--
-- A table added later with row-level security must be forced and given the same two policies in its own
-- migration; the catalogue test checks every tenant table for them.

CREATE FUNCTION aqm_maintenance() RETURNS boolean
    LANGUAGE sql STABLE
    AS $$ SELECT coalesce(current_setting('aqm.maintenance', true), '') = 'on' $$;

DO $$
DECLARE
    t regclass;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = current_schema() AND c.relkind = 'r' AND c.relrowsecurity
        ORDER BY c.relname
    LOOP
        EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', t);
        -- The role that runs the migrations owns the tables: the policies are for it. The first
        -- lets its maintenance sessions through. The second, restrictive, holds back its other
        -- sessions even where a policy of aqm_system would let them through: the owner is a
        -- member of aqm_system and aqm_app (to take those roles), and a policy applies to a
        -- role's members as well.
        EXECUTE format(
            'CREATE POLICY maintenance ON %s FOR ALL TO %I USING (aqm_maintenance()) WITH CHECK (aqm_maintenance())',
            t, current_user);
        EXECUTE format(
            'CREATE POLICY maintenance_only ON %s AS RESTRICTIVE FOR ALL TO %I USING (aqm_maintenance()) WITH CHECK (aqm_maintenance())',
            t, current_user);
    END LOOP;
END
$$;
