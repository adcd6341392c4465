"""Recognising the same puzzle under Sudoku's symmetries: an invariant key and an exact test.

The symmetries are those of :mod:`puzzles.augment` (digit relabelling, transpose, band/row and
stack/column permutations: 9! x 2 x 6^8 of them), too many to canonicalise by brute force. So:

- :func:`invariant_keys` (vectorised, for millions of puzzles) hashes a signature that no symmetry
  changes. It is colour refinement, as in Weisfeiler-Lehman graph hashing: every given starts
  with one colour, and each round mixes into it the multisets (order-free sums) of the colours
  in its row, column, box, band and stack and of the givens holding the same digit. After three
  rounds the sorted colours of the puzzle, or of its transpose when smaller (rows and columns
  swap roles), are hashed to 128 bits. Every symmetric copy of a puzzle gets the same key (no
  misses); different puzzles may rarely share one (a false match: 1 pair among the 1,465 puzzles
  of top1465, which holds many near-duplicates), which is why
- :func:`equivalent` decides exactly for one pair: it tries both orientations and all 1,296
  stack/column orders, keeps those whose row patterns of givens can match, and searches row
  orders band by band while building the digit relabelling.
"""

from __future__ import annotations

from itertools import permutations

import numpy as np

from puzzles.grid import N_CELLS

_MULTIPLIERS = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F))
_POWERS = [np.cumprod(np.full(N_CELLS, m, dtype=np.uint64)) for m in _MULTIPLIERS]
_SALTS = (
    np.uint64(0x243F6A8885A308D3),
    np.uint64(0x13198A2E03707344),
    np.uint64(0xA4093822299F31D0),
    np.uint64(0x082EFA98EC4E6C89),
    np.uint64(0x452821E638D01377),
    np.uint64(0xBE5466CF34E90C6C),
)
_ROUNDS = 3  # colour-refinement rounds (each looks one relation further)
_BLOCK = 2048  # rows per block in invariant_keys
_PERM3 = np.array(list(permutations(range(3))))  # (6, 3)
# (1296, 9): every column order that keeps a grid valid (stacks permuted, columns within stacks)
_LINE_ORDERS = np.array(
    [
        np.concatenate([3 * s + _PERM3[w] for s, w in zip(stacks, within, strict=True)])
        for stacks in _PERM3
        for within in np.ndindex(6, 6, 6)
    ]
)


def invariant_keys(grids: np.ndarray) -> np.ndarray:
    """(N, 2) uint64: equal for all symmetric copies of a puzzle, rarely equal otherwise."""
    grids = np.asarray(grids, dtype=np.uint8).reshape(-1, 9, 9)
    keys = np.empty((len(grids), 2), dtype=np.uint64)
    for lo in range(0, len(grids), _BLOCK):  # blocks keep the temporaries in cache
        block = grids[lo : lo + _BLOCK]
        codes, flipped = _cell_codes(block), _cell_codes(block.transpose(0, 2, 1))
        # the lexicographically smaller of the two orientations' signatures: transpose-invariant
        differs = codes != flipped
        first = differs.argmax(axis=1)[:, None]
        rows = np.arange(len(codes))[:, None]
        take_flipped = differs.any(axis=1) & (flipped[rows, first] < codes[rows, first])[:, 0]
        keys[lo : lo + _BLOCK] = _hash_rows(np.where(take_flipped[:, None], flipped, codes))
    return keys


def exact_keys(grids: np.ndarray) -> np.ndarray:
    """(N, 2) uint64 hash of the grids as written (for exact duplicates)."""
    return _hash_rows(np.asarray(grids, dtype=np.uint8).reshape(-1, N_CELLS).astype(np.int64))


def equivalent(a: np.ndarray, b: np.ndarray) -> bool:
    """True when some symmetry (digit relabelling, transpose, line permutations) maps ``a`` to
    ``b``."""
    a = np.asarray(a, dtype=np.uint8).reshape(9, 9)
    b = np.asarray(b, dtype=np.uint8).reshape(9, 9)
    if np.count_nonzero(a) != np.count_nonzero(b):
        return False
    b_masks = _row_masks(b[None])[0]  # (9,)
    for oriented in (a, a.T):
        columns = oriented[:, _LINE_ORDERS].transpose(1, 0, 2)  # (1296, 9 rows, 9 cols)
        a_masks = _row_masks(columns)  # (1296, 9)
        fits = a_masks[:, None, :] == b_masks[None, :, None]  # (1296, B row, A row)
        for order in np.flatnonzero(fits.any(axis=2).all(axis=1)):
            if _match_rows(columns[order], b, fits[order]):
                return True
    return False


def _cell_codes(grids: np.ndarray) -> np.ndarray:
    """(N, 81) uint32 sorted per-given colour codes of the invariant signature (0 = empty)."""
    n = len(grids)
    flat = grids.reshape(n, N_CELLS).astype(np.intp)
    filled = flat > 0
    cell = np.arange(N_CELLS)
    row, col = cell // 9, cell % 9
    base = np.arange(n)[:, None]
    # the cells each given is related to, as (owner id per cell, number of owners): its row,
    # column, box, band, stack and the cells holding its digit; symmetries permute each kind
    relations = (
        (base * 9 + row, 9 * n),
        (base * 9 + col, 9 * n),
        (base * 9 + (row // 3) * 3 + col // 3, 9 * n),
        (base * 3 + row // 3, 3 * n),
        (base * 3 + col // 3, 3 * n),
        (base * 10 + flat, 10 * n),
    )
    code = filled.astype(np.uint32)
    for _ in range(_ROUNDS):
        # float64 sums of 32-bit values are exact (81 * 2**32 < 2**53), hence order-free
        spread = np.where(filled, _mix32(code), np.uint32(0)).astype(np.float64).ravel()
        mixed = code
        with np.errstate(over="ignore"):
            for salt, (owner, size) in zip(_SALTS, relations, strict=True):
                sums = np.bincount(owner.ravel(), weights=spread, minlength=size).astype(np.uint64)
                folded = (sums ^ (sums >> np.uint64(29)) ^ salt).astype(np.uint32)
                mixed = mixed * np.uint32(0x9E3779B1) + _mix32(folded)[owner]
        code = _mix32(mixed)
    return np.sort(np.where(filled, code, np.uint32(0)), axis=1)


def _mix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser: a cheap bijective scramble of uint32 values."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint32(16))) * np.uint32(0x85EBCA6B)
        x = (x ^ (x >> np.uint32(13))) * np.uint32(0xC2B2AE35)
        return x ^ (x >> np.uint32(16))


def _hash_rows(codes: np.ndarray) -> np.ndarray:
    values = codes.astype(np.uint64) + np.uint64(1)
    with np.errstate(over="ignore"):  # wrapping uint64 arithmetic is the hash
        return np.stack([(values * p).sum(axis=1, dtype=np.uint64) for p in _POWERS], axis=1)


def _row_masks(grids: np.ndarray) -> np.ndarray:
    """(..., 9) givens pattern of each row as a 9-bit number."""
    return ((grids > 0) * (1 << np.arange(9))).sum(axis=-1)


def _match_rows(a: np.ndarray, b: np.ndarray, fits: np.ndarray) -> bool:
    """Search row orders of ``a`` (band-respecting) and one digit map sending ``a`` onto ``b``."""
    forward = np.zeros(10, np.int64)  # a digit -> b digit, 0 = unassigned
    backward = np.zeros(10, np.int64)
    used = np.zeros(9, bool)
    band_of = [-1, -1, -1]  # b band -> a band

    def place(r: int) -> bool:
        if r == 9:
            return True
        b_band = r // 3
        if r % 3 == 0:
            candidates = [i for i in range(9) if fits[r, i] and (i // 3) not in band_of]
        else:
            base = 3 * band_of[b_band]
            candidates = [i for i in range(base, base + 3) if fits[r, i] and not used[i]]
        for i in candidates:
            assigned = _assign(a[i], b[r], forward, backward)
            if assigned is None:
                continue
            used[i] = True
            if r % 3 == 0:
                band_of[b_band] = i // 3
            if place(r + 1):
                return True
            used[i] = False
            if r % 3 == 0:
                band_of[b_band] = -1
            backward[forward[assigned]] = 0
            forward[assigned] = 0
        return False

    return place(0)


def _assign(
    a_row: np.ndarray, b_row: np.ndarray, forward: np.ndarray, backward: np.ndarray
) -> np.ndarray | None:
    """Extend the digit map so that ``a_row`` maps onto ``b_row``; the new a digits, or None."""
    given = a_row > 0
    src, dst = a_row[given].astype(np.int64), b_row[given].astype(np.int64)
    known = forward[src] > 0
    if (forward[src[known]] != dst[known]).any():
        return None
    fresh_src, fresh_dst = src[~known], dst[~known]
    if (backward[fresh_dst] > 0).any() or len(np.unique(fresh_dst)) != len(fresh_dst):
        return None
    forward[fresh_src] = fresh_dst
    backward[fresh_dst] = fresh_src
    return fresh_src
