"""Pure rules of the connector: Avro single-object decoding and the Fineract → postloan mapping."""
