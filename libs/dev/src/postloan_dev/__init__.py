"""Development-only tools: embedded PostgreSQL and broker, the local supervisor, the simulator, test fixtures.

Never installed in production images; services and postloan_common must not import it.
"""
