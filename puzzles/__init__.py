"""The Sudoku domain, without torch: grids, parsing, the exact solver, rating, the generator,
symmetry augmentation and dataset files.

Grids are numpy ``uint8`` arrays of 81 cells in row-major order holding digits ``1..9`` and
``0`` for an empty cell; a batch is an ``(N, 81)`` array. Model tokens (DESIGN.md) are the
digits plus one, see :func:`puzzles.grid.to_tokens`.
"""
