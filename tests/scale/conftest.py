"""tests/scale/ starts real app servers and task workers. test_multi_server.py needs PostgreSQL (the
servers share one database server, and its tables are copied from the suite's own test database)
and Redis (CACHE_URL), so it is collected only when the suite runs on PostgreSQL, as CI's second pass
does (`DATABASE_URL=postgres://... make test`); on SQLite it is not collected at all, rather than
collected and skipped. Redis is expected at redis://127.0.0.1:6379 (KNOTWORK_TEST_REDIS_URL to change
it); the tests use database 7 of it and flush only that one."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")) else ["test_multi_server.py"]
