"""RQ entry points: run_<noun>(id) — thin, idempotent, fixed job ids."""
