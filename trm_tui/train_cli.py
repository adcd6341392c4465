"""`trm train` and `trm eval` (placeholder until the trainer lands)."""


def train_command() -> None:
    """Train a TRM (not yet available)."""
    raise SystemExit(1)


def eval_command() -> None:
    """Evaluate a run (not yet available)."""
    raise SystemExit(1)
