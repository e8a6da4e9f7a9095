#!/usr/bin/env bash
# Kafka in compose: format the KRaft storage with one SCRAM-SHA-512 credential per principal (first
# start only; SCRAM users cannot be created over SASL before one exists), then start as the image does.
set -euo pipefail
data=/var/lib/kafka/data
if [ ! -f "$data/meta.properties" ]; then
    cat > /tmp/format.properties <<PROPS
node.id=${KAFKA_NODE_ID}
process.roles=${KAFKA_PROCESS_ROLES}
controller.quorum.voters=${KAFKA_CONTROLLER_QUORUM_VOTERS}
controller.listener.names=${KAFKA_CONTROLLER_LISTENER_NAMES}
listeners=${KAFKA_LISTENERS}
listener.security.protocol.map=${KAFKA_LISTENER_SECURITY_PROTOCOL_MAP}
inter.broker.listener.name=${KAFKA_INTER_BROKER_LISTENER_NAME}
log.dirs=${KAFKA_LOG_DIRS}
PROPS
    scram=()
    for pair in "admin:$KAFKA_ADMIN_PASSWORD" "core-banking:$CORE_BANKING_KAFKA_PASSWORD" \
        "repayment-monitor:$REPAYMENT_MONITOR_KAFKA_PASSWORD" "risk-alert:$RISK_ALERT_KAFKA_PASSWORD" \
        "crm:$CRM_KAFKA_PASSWORD" "reporting:$REPORTING_KAFKA_PASSWORD"; do
        scram+=(--add-scram "SCRAM-SHA-512=[name=${pair%%:*},password=${pair#*:}]")
    done
    /opt/kafka/bin/kafka-storage.sh format -t "$CLUSTER_ID" -c /tmp/format.properties "${scram[@]}"
fi
# The health check and the ACL job log in as admin with this client configuration.
cat > /tmp/admin.properties <<PROPS
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_ADMIN_PASSWORD}";
ssl.truststore.type=PEM
ssl.truststore.location=/etc/kafka/tls/ca.pem
PROPS
exec /etc/kafka/docker/run
