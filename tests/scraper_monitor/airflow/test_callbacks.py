"""The cluster policy on plain task objects: every callback kind gets the monitor's, once, first."""

from __future__ import annotations

from types import SimpleNamespace

from scraper_monitor.airflow.callbacks import ON_FAILURE, ON_SUCCESS, has_monitor_callbacks, task_policy


def authors_callback(context: object) -> None:
    """A DAG author's own callback (a slow notifier, say)."""


def test_the_monitor_callback_runs_before_the_authors_and_is_attached_once() -> None:
    task = SimpleNamespace(on_success_callback=authors_callback, on_failure_callback=[authors_callback])
    task_policy(task)
    task_policy(task)  # the policy can run again on the same task (re-parsing): still one each
    assert task.on_success_callback == [ON_SUCCESS, authors_callback]
    assert task.on_failure_callback == [ON_FAILURE, authors_callback]
    assert has_monitor_callbacks(task)
