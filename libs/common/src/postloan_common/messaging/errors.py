"""Which consumer failures retrying can cure, and the error a handler raises when it cannot."""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError


class PermanentError(Exception):
    """Raised by a handler when retrying the event can never succeed; the event is dead-lettered."""


# Serialization failure, deadlock, lock not available, server shutting down or admin-terminated,
# connection failures.
_TRANSIENT_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "08000", "08003", "08006"})


def is_transient(exc: BaseException) -> bool:
    """True for failures that retrying the same batch can cure (connections, deadlocks, timeouts)."""
    if isinstance(exc, PermanentError):
        return False
    if isinstance(exc, OperationalError | InterfaceError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = getattr(exc.orig, "sqlstate", None) or getattr(
            getattr(exc.orig, "__cause__", None), "sqlstate", None
        )
        return sqlstate in _TRANSIENT_SQLSTATES
    # Raised on the raw asyncpg connection (driver_connection), not wrapped by SQLAlchemy.
    if getattr(exc, "sqlstate", None) in _TRANSIENT_SQLSTATES:
        return True
    if isinstance(exc, OSError | TimeoutError | ConnectionError):
        return True
    name = type(exc).__name__
    return name in {
        "ConnectionDoesNotExistError",
        "CannotConnectNowError",
        "TooManyConnectionsError",
        "InternalClientError",  # asyncpg state confusion after the server dropped the connection
        "ConnectionResetError",
    }
