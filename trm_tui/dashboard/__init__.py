"""The Textual dashboard of `trm dashboard`: runs list, live training view, solve view, start a run.

It reads only the run-directory contract of DESIGN.md (``config.json``, ``events.jsonl``,
``checkpoints/``) and imports torch only inside the solve view's worker thread.
"""
