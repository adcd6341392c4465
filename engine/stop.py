"""Stopping a run cleanly on a signal: the first Ctrl-C (SIGINT) or SIGTERM (as ``timeout``,
``docker stop``, Kubernetes, SLURM and ``torchrun`` send) asks the trainer to stop after the
current step and save a checkpoint; a second one interrupts at once. Used by ``trm train``,
``trm bench ablation`` and ``python -m engine.trainer``. Exit codes as DESIGN.md says.
"""

from __future__ import annotations

import signal
from typing import Any

EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143  # SIGTERM: 128 + 15, as a shell reports it


class StopOnSignal:
    """While active, the first Ctrl-C (SIGINT) or SIGTERM asks for a stop after this step; a
    second one interrupts at once."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None  # the first signal received
        self.previous: dict[int, Any] = {}

    def requested(self) -> bool | str:
        """Why a stop was asked for ("terminated by SIGTERM"), or False (polled after every
        step)."""
        if self.signum == signal.SIGTERM:
            return "terminated by SIGTERM"
        return "interrupted by SIGINT" if self.signum == signal.SIGINT else False

    @property
    def exit_code(self) -> int:
        """143 after SIGTERM, else 130 (DESIGN.md)."""
        return EXIT_TERMINATED if self.signum == signal.SIGTERM else EXIT_INTERRUPTED

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signum = signum
        for each in self.SIGNALS:
            signal.signal(each, signal.default_int_handler)  # the next one raises KeyboardInterrupt

    def __enter__(self) -> StopOnSignal:
        try:
            for each in self.SIGNALS:
                self.previous[each] = signal.signal(each, self._on_signal)
        except ValueError:
            self.previous = {}  # not the main thread: Ctrl-C raises KeyboardInterrupt as usual
        return self

    def __exit__(self, *exc: object) -> None:
        for each, handler in self.previous.items():
            signal.signal(each, handler)
