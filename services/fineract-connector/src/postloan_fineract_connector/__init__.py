"""The fineract-connector service: Apache Fineract external events in, core-banking events out."""
