-- Runtime role of one service database (issue 13 item 14): read and write every table, but the
-- audit log is append-only. Run as a superuser connected to the service database, BEFORE the
-- migrations, with psql variables database, owner (runs migrations, owns the tables) and runtime
-- (the services log in as it). Used by deploy/postgres/initdb and tests/deploy/test_runtime_grants.py.
ALTER DATABASE :"database" SET postloan.runtime_role = :'runtime';
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"runtime";
GRANT USAGE ON SCHEMA public TO :"runtime";
-- Tables the owner creates later (every migration) are covered by its default privileges.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO :"runtime";
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public
    GRANT USAGE, SELECT ON SEQUENCES TO :"runtime";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO :"runtime";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO :"runtime";
REVOKE UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public FROM PUBLIC;

-- Default privileges cannot name one table, so when a migration creates audit_log the runtime
-- role loses UPDATE and DELETE on it at once (the trigger runs in the migration's transaction).
CREATE OR REPLACE FUNCTION postloan_audit_log_append_only() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    created record;
BEGIN
    FOR created IN SELECT object_identity FROM pg_event_trigger_ddl_commands() WHERE object_type = 'table' LOOP
        IF created.object_identity = 'public.audit_log' THEN
            EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON public.audit_log FROM %I',
                           current_setting('postloan.runtime_role'));
        END IF;
    END LOOP;
END
$$;
DROP EVENT TRIGGER IF EXISTS postloan_audit_log_append_only;
CREATE EVENT TRIGGER postloan_audit_log_append_only ON ddl_command_end WHEN TAG IN ('CREATE TABLE')
    EXECUTE FUNCTION postloan_audit_log_append_only();
-- An audit_log that exists already (grants applied after the migrations) is covered too.
DO $$
BEGIN
    IF to_regclass('public.audit_log') IS NOT NULL THEN
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON public.audit_log FROM %I',
                       current_setting('postloan.runtime_role', true));
    END IF;
END
$$;
