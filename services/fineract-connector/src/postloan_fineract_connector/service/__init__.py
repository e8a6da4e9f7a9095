"""Use cases of the connector: ingesting Fineract messages, reporting status."""
