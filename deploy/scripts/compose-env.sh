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
# Kafka TLS: a CA and the broker certificate it signs (PEM; the broker's keystore is key + chain).
tls="${POSTLOAN_KAFKA_TLS_DIR:-$(dirname "$file")/kafka-tls}"
mkdir -p "$tls"
openssl req -x509 -newkey rsa:3072 -nodes -days 825 -subj "/CN=postloan compose CA" \
    -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null
openssl req -newkey rsa:3072 -nodes -subj "/CN=kafka" -keyout "$tls/broker.key" -out "$tls/broker.csr" 2>/dev/null
printf 'subjectAltName=DNS:kafka,DNS:localhost\n' > "$tls/san.ext"
openssl x509 -req -in "$tls/broker.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial -days 825 \
    -extfile "$tls/san.ext" -out "$tls/broker.crt" 2>/dev/null
cat "$tls/broker.key" "$tls/broker.crt" "$tls/ca.pem" > "$tls/broker.pem"
chmod 644 "$tls/ca.pem" "$tls/broker.pem"  # read by the kafka container's own user
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
    # One SCRAM-SHA-512 principal per service, plus core banking and the admin (topics, ACLs).
    for principal in KAFKA_ADMIN CORE_BANKING_KAFKA REPAYMENT_MONITOR_KAFKA RISK_ALERT_KAFKA CRM_KAFKA REPORTING_KAFKA; do
        echo "${principal}_PASSWORD=$(secret)"
    done
} > "$file"
echo "wrote $file and $key"
