#!/usr/bin/env bash
# First start of the postgres container only (docker-entrypoint-initdb.d): one database and two
# login roles per service: <role> owns the database and runs the migrations, <role>_app is what the
# service runs as (append-only audit_log: /etc/postloan/runtime-grants.sql, the file the tests run
# too). Each role can connect to its own database only, since
# CONNECT is revoked from PUBLIC on every database, `postgres` and the templates included.
set -euo pipefail

create_service_database() {
    local role="$1" database="$2" password="$3" runtime_password="$4"
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set=role="$role" --set=database="$database" --set=password="$password" <<'SQL'
CREATE ROLE :"role" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE DATABASE :"database" OWNER :"role";
REVOKE ALL ON DATABASE :"database" FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE :"database" TO :"role";
SQL
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
        --set=runtime="${role}_app" --set=password="$runtime_password" <<'SQL'
CREATE ROLE :"runtime" LOGIN PASSWORD :'password' NOSUPERUSER NOCREATEDB NOCREATEROLE;
SQL
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$database" \
        --set=database="$database" --set=owner="$role" --set=runtime="${role}_app" \
        -f "${POSTLOAN_RUNTIME_GRANTS:-/etc/postloan/runtime-grants.sql}"
}

create_service_database repayment_monitor postloan_repayment "${REPAYMENT_MONITOR_DB_PASSWORD:?set REPAYMENT_MONITOR_DB_PASSWORD}" \
    "${REPAYMENT_MONITOR_APP_DB_PASSWORD:?set REPAYMENT_MONITOR_APP_DB_PASSWORD}"
create_service_database risk_alert postloan_risk "${RISK_ALERT_DB_PASSWORD:?set RISK_ALERT_DB_PASSWORD}" \
    "${RISK_ALERT_APP_DB_PASSWORD:?set RISK_ALERT_APP_DB_PASSWORD}"
create_service_database crm postloan_crm "${CRM_DB_PASSWORD:?set CRM_DB_PASSWORD}" \
    "${CRM_APP_DB_PASSWORD:?set CRM_APP_DB_PASSWORD}"
create_service_database reporting postloan_reporting "${REPORTING_DB_PASSWORD:?set REPORTING_DB_PASSWORD}" \
    "${REPORTING_APP_DB_PASSWORD:?set REPORTING_APP_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<'SQL'
REVOKE CONNECT ON DATABASE postgres FROM PUBLIC;
REVOKE CONNECT ON DATABASE template1 FROM PUBLIC;
SQL
