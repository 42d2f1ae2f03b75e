"""The background task queue (Huey): a SQLite file in instance/ by default, Redis when TASK_QUEUE_URL is redis://.

Features register plain functions with `@background("name")` and queue them with `enqueue(name, *args)`;
core knows none of them. Tasks may leave small notes (`put_note`) in the queue's store, which every
process reads, for progress that must be visible while the task's own database transaction is open.
A task runs inside an application context: the caller's when one is active (immediate mode, in
tests), else a fresh one in the worker that `flask tasks run` starts.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey, RedisHuey, SqliteHuey

F = TypeVar("F", bound=Callable[..., Any])
QUEUE_NAME = "portal"
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
NOTE_PREFIX = "note:"

_registered: dict[str, Callable[..., Any]] = {}


def background(name: str) -> Callable[[F], F]:
    """Register a function as the task `name` (called with plain, JSON-like arguments)."""
    def register(function: F) -> F:
        if _registered.get(name, function) is not function:
            raise ValueError(f"two tasks are registered as {name!r}")
        _registered[name] = function
        return function
    return register


def queue_url(app: Flask) -> str:
    """Where the queue lives: the configured URL, or a SQLite file in the instance folder."""
    return app.config.get("TASK_QUEUE_URL") or f"sqlite:///{Path(app.instance_path) / 'tasks.sqlite3'}"


class TaskQueue:
    """One app's Huey instance and the registered tasks bound to it."""

    def __init__(self, app: Flask) -> None:
        """Open the queue the app's configuration names."""
        self.app = app
        self.huey = self._open(queue_url(app), bool(app.config.get("TASK_QUEUE_IMMEDIATE")))
        self._bound: dict[str, Any] = {}

    @staticmethod
    def _open(url: str, immediate: bool) -> Huey:
        """A RedisHuey for redis:// URLs, a SqliteHuey for sqlite:/// ones."""
        if url.startswith(REDIS_SCHEMES):
            return RedisHuey(QUEUE_NAME, url=url, immediate=immediate, results=False)
        if url.startswith("sqlite:///"):
            return SqliteHuey(QUEUE_NAME, filename=url.removeprefix("sqlite:///"), immediate=immediate, results=False)
        raise ValueError(f"TASK_QUEUE_URL must start with redis:// or sqlite:///, not {url!r}")

    def bind(self, name: str) -> Any:
        """The Huey task for a registered function, run inside an application context."""
        if name not in self._bound:
            function = _registered[name]
            app = self.app

            @functools.wraps(function)
            def in_app_context(*args: Any) -> Any:
                if has_app_context():
                    return function(*args)
                with app.app_context():
                    return function(*args)

            self._bound[name] = self.huey.task(name=name)(in_app_context)
        return self._bound[name]

    def bind_all(self) -> list[str]:
        """Bind every registered task (a worker must know them all before it starts); returns their names."""
        for name in _registered:
            self.bind(name)
        return sorted(_registered)

    def enqueue(self, name: str, *args: Any) -> None:
        """Queue a call of the task (in immediate mode: run it now)."""
        self.bind(name)(*args)

    def put_note(self, key: str, value: dict[str, Any]) -> None:
        """Leave a small note in the queue's store, readable by every process (a running task's progress)."""
        self.huey.put(f"{NOTE_PREFIX}{key}", value)

    def read_note(self, key: str) -> dict[str, Any] | None:
        """The note under `key`, left in place; None if there is none."""
        note = self.huey.get(f"{NOTE_PREFIX}{key}", peek=True)
        return note if isinstance(note, dict) else None

    def drop_note(self, key: str) -> None:
        """Remove the note under `key`, if any."""
        self.huey.delete(f"{NOTE_PREFIX}{key}")


def task_queue(app: Flask | None = None) -> TaskQueue:
    """The app's queue, opened on first use."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    queue = app.extensions.get("portal_tasks")
    if queue is None:
        queue = app.extensions["portal_tasks"] = TaskQueue(app)
    return queue  # type: ignore[no-any-return]


def enqueue(name: str, *args: Any) -> None:
    """Queue the registered task `name` on the current app's queue."""
    task_queue().enqueue(name, *args)
