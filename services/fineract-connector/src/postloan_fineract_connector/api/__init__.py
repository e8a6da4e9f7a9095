"""The connector's REST API: health and metrics come from the shared bootstrap; status is here."""
