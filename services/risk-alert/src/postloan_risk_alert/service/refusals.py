"""Why a write is refused: shared by collateral, guarantees and reviews (each may subclass for its own title)."""

from __future__ import annotations


class NotFound(LookupError):
    """Something the write names (loan, customer, collateral, link) does not exist."""


class Conflict(ValueError):
    """The same id with other content."""


class Invalid(ValueError):
    """A field is not acceptable; `field` is its path."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
