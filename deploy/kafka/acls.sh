#!/usr/bin/env bash
# Least privilege on the broker (issue 13 item 12): every principal reads only what it consumes and
# writes only its own topic, plus the dead-letter topics of what it consumes (its consumer writes them).
# Only core-banking writes core-banking.loans and core-banking.customers. Must match
# postloan_common/catalog.py (tests/deploy/test_kafka_acls.py checks it).
set -euo pipefail
acl() { /opt/kafka/bin/kafka-acls.sh --bootstrap-server kafka:9092 --command-config /tmp/acl-admin.properties --add --force "$@"; }
cat > /tmp/acl-admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/tls/ca.pem
PROPS

write() { acl --allow-principal "User:$1" --operation Write --operation Describe --topic "$2"; }
read_() { acl --allow-principal "User:$1" --operation Read --operation Describe --topic "$2"; }
group() { acl --allow-principal "User:$1" --operation Read --group "$1"; }

write core-banking core-banking.loans
write core-banking core-banking.customers

write repayment-monitor repayment.loans
read_ repayment-monitor core-banking.loans
write repayment-monitor core-banking.loans.dlt
group repayment-monitor

write risk-alert risk.scores
read_ risk-alert repayment.loans
read_ risk-alert crm.activities
read_ risk-alert core-banking.transactions
read_ risk-alert core-banking.customers
write risk-alert repayment.loans.dlt
write risk-alert crm.activities.dlt
write risk-alert core-banking.transactions.dlt
write risk-alert core-banking.customers.dlt
group risk-alert

write crm crm.activities
read_ crm core-banking.customers
read_ crm repayment.loans
read_ crm risk.scores
write crm core-banking.customers.dlt
write crm repayment.loans.dlt
write crm risk.scores.dlt
group crm

read_ reporting core-banking.loans
read_ reporting core-banking.customers
read_ reporting repayment.loans
read_ reporting risk.scores
read_ reporting crm.activities
write reporting core-banking.loans.dlt
write reporting core-banking.customers.dlt
write reporting repayment.loans.dlt
write reporting risk.scores.dlt
write reporting crm.activities.dlt
group reporting
echo "ACLs written"
