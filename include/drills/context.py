"""What a drill is given: a way to make an empty store, the private Airflow stack (started on first
use, once per `make drills`), and where to say how it goes."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from drills.stack import DrillStack


def say_now(line: str) -> None:
    """A progress line, out at once even when the output is a file (CI's log)."""
    print(line, flush=True)


@dataclass
class DrillContext:
    #: A new, migrated, empty monitor store; its DSN.
    new_store: Callable[[], str]
    say: Callable[[str], None] = say_now
    #: Starts the private stack the first time a drill asks for it (None: no stack here, as in make test).
    start_stack: Callable[[], DrillStack] | None = None
    _stack: DrillStack | None = field(default=None, repr=False)

    def stack(self) -> DrillStack:
        if self._stack is None:
            if self.start_stack is None:
                raise RuntimeError("this drill needs the Airflow stack: run it with `make drills`")
            self._stack = self.start_stack()
        return self._stack


def store_name() -> str:
    return f"drill_{uuid.uuid4().hex[:10]}"
