"""Solving lives in engine.solving and never imports the trainer."""

from __future__ import annotations

import subprocess
import sys


def test_solving_never_imports_the_trainer() -> None:
    code = (
        "import sys\n"
        "import engine.solving.inference, engine.solving.views, engine.solving.selection\n"
        "import engine.solving.vote, engine.solving.sampling, engine.solving.scoring\n"
        "import engine.bench.scaling\n"
        "training = [m for m in ('engine.trainer', 'engine.train_step', 'engine.optim',\n"
        "            'engine.curriculum', 'engine.losses') if m in sys.modules]\n"
        "assert not training, training\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
