"""Celery application. Without CELERY_BROKER_URL tasks run eagerly in-process (settings).

The request id travels with the tasks a request starts: publishing a task copies the current
request id into the message headers (`before_task_publish`), and the worker makes it current
while the task runs (`task_prerun` / `task_postrun`), so the task's log lines and audit rows
carry the id of the request that started it, as do the tasks it starts in turn. Eager tasks run
inside the request itself and simply keep its context."""

import os

from celery import Celery, Task, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "p2phub.settings")


class P2PHubTask(Task):
    """Eager runs (local, tests) raise a task's final error where it was started when
    `task_eager_propagates` is on, as Celery does, but a task that retries (`autoretry_for`,
    `self.retry()`) still retries eagerly first: Celery's own propagation would raise its
    internal `Retry` at the first attempt instead."""

    def apply(self, args=None, kwargs=None, *apply_args, throw=None, **options):
        if options.get("retries"):  # Celery re-running an eager retry: the first call decides
            return super().apply(args, kwargs, *apply_args, throw=False, **options)
        if throw is None:
            throw = self._get_app().conf.task_eager_propagates
        result = super().apply(args, kwargs, *apply_args, throw=False, **options)
        if throw and result.failed():
            raise result.result
        return result


app = Celery("p2phub", task_cls=P2PHubTask)
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

REQUEST_ID_HEADER = "p2phub_request_id"
_bound: dict[str, object] = {}  # task id -> context token, while that task runs in this process


@signals.before_task_publish.connect(dispatch_uid="p2phub.request_id.publish")
def _add_request_id_header(sender=None, headers=None, **kwargs):
    from p2phub.middleware import current_request_context

    request_id = current_request_context().request_id
    if request_id and headers is not None and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


def _request_id_of(task) -> str | None:
    request = getattr(task, "request", None)
    if request is None:
        return None
    value = getattr(request, REQUEST_ID_HEADER, None)  # worker: custom headers become attributes
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(REQUEST_ID_HEADER)  # task.apply(headers=…)
    return value


@signals.task_prerun.connect(dispatch_uid="p2phub.request_id.prerun")
def _bind_request_id(sender=None, task_id=None, task=None, **kwargs):
    from p2phub.middleware import RequestContext, bind_request_context, valid_request_id

    request_id = _request_id_of(task)
    if task_id and valid_request_id(request_id):
        _bound[task_id] = bind_request_context(RequestContext(request_id=request_id))


@signals.task_postrun.connect(dispatch_uid="p2phub.request_id.postrun")
def _unbind_request_id(sender=None, task_id=None, **kwargs):
    from p2phub.middleware import unbind_request_context

    token = _bound.pop(task_id, None) if task_id else None
    if token is not None:
        unbind_request_context(token)


@signals.worker_process_shutdown.connect(dispatch_uid="p2phub.metrics.process_shutdown")
def _metrics_process_dead(pid=None, **kwargs):
    """Prometheus multiprocess mode (p2phub.metrics): a pool process that exits is marked dead;
    its counts stay in the sum /metrics serves."""
    from p2phub.metrics import mark_process_dead

    mark_process_dead(pid or os.getpid())
