"""The RQ worker: builds the app once in the parent, disposes its pool before each fork."""

from __future__ import annotations

from rq import SimpleWorker, Worker

from jobs.queues import get_queue
from jobs.runtime import set_app


class AppWorker(Worker):
    def fork_work_horse(self, job, queue):
        from app.extensions import db

        # A forked child must not share the parent's database connections.
        db.engine.dispose()
        return super().fork_work_horse(job, queue)


def run_worker(app, *, burst: bool = False, simple: bool = False) -> bool:
    set_app(app)
    with app.app_context():
        from jobs.recovery import requeue_interrupted

        # Jobs are idempotent and resume from the database: whatever a dead worker left is picked up again.
        requeue_interrupted()
        queue = get_queue(app.config)
        cls = SimpleWorker if simple else AppWorker
        worker = cls([queue], connection=queue.connection)
        return worker.work(burst=burst, with_scheduler=False)
