#!/usr/bin/env bash
# Write an env file with fresh random secrets for docker-compose.yml (once; an existing file is kept).
#   deploy/scripts/compose-env.sh [FILE]     default: .devstack/compose.env (git-ignored)
set -euo pipefail
cd "$(dirname "$0")/../.."
file="${1:-.devstack/compose.env}"
if [ -s "$file" ]; then
    echo "$file exists, keeping it"
    exit 0
fi
mkdir -p "$(dirname "$file")"
secret() { python3 -c 'import secrets; print(secrets.token_hex(24))'; }
umask 077
# The token issuer's key pair: services get the public half; `postloan token` signs with the private
# half (POSTLOAN_JWT_PRIVATE_KEY_FILE=$key postloan token --role admin).
key="$(dirname "$file")/jwt-private.pem"
openssl genpkey -algorithm ed25519 -out "$key"
public_key="$(openssl pkey -in "$key" -pubout | awk '{printf "%s\\n", $0}')"
{
    echo "# docker compose --env-file $file ...   (generated $(date -u +%FT%TZ); never commit it)"
    echo "POSTLOAN_JWT_PUBLIC_KEY=$public_key"
    echo "POSTGRES_PASSWORD=$(secret)"
    echo "REPAYMENT_MONITOR_DB_PASSWORD=$(secret)"
    echo "REPAYMENT_MONITOR_APP_DB_PASSWORD=$(secret)"
    echo "RISK_ALERT_DB_PASSWORD=$(secret)"
    echo "RISK_ALERT_APP_DB_PASSWORD=$(secret)"
    echo "CRM_DB_PASSWORD=$(secret)"
    echo "CRM_APP_DB_PASSWORD=$(secret)"
    echo "REPORTING_DB_PASSWORD=$(secret)"
    echo "REPORTING_APP_DB_PASSWORD=$(secret)"
    echo "GRAFANA_ADMIN_PASSWORD=$(secret)"
} > "$file"
echo "wrote $file and $key"
