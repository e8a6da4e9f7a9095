"""Storage: the connector's tables and its Avro schema store."""
