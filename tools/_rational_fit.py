"""The rational fit that tools/fit_gelu32.py and tools/fit_gelu_slope.py share.

``lawson(grid, f, m, n)``: the coefficients ``(p, q)`` of ``P(a) / Q(a)`` (degrees
``m`` and ``n``, ``Q(0) = 1``, powers of ``a`` from 0 up) that minimise the largest
relative error against the values ``f`` on ``grid``: Lawson's iteration on
weighted linearised least squares, the best of ``iters`` rounds.
"""
import numpy as np


def lawson(grid, f, m, n, iters):
    powers_p = grid[:, None] ** np.arange(m + 1)
    powers_q = grid[:, None] ** np.arange(1, n + 1)
    w = np.full(grid.size, 1.0 / grid.size)
    q_at = np.ones_like(grid)
    best = (np.inf, None, None)
    for _ in range(iters):
        # P(a) - f(a) (Q(a) - 1) = f(a), in units of f(a) Q(a): relative error
        lhs = np.hstack([powers_p, -f[:, None] * powers_q])
        scale = np.sqrt(w) / (f * q_at)
        c = np.linalg.lstsq(lhs * scale[:, None], f * scale, rcond=None)[0]
        p, q = c[:m + 1], np.concatenate([[1.0], c[m + 1:]])
        q_at = powers_q @ q[1:] + 1.0
        err = np.abs((powers_p @ p) / q_at - f) / f
        if err.max() < best[0]:
            best = (err.max(), p, q)
        w = w * err + 1e-300
        w /= w.sum()
    return best[1], best[2]


def fit_on(ref, a_fit, m, n, nodes, checks, iters):
    """``(p, q, worst)``: :func:`lawson` on ``nodes`` Chebyshev points of ``[0,
    a_fit]`` against ``ref`` (a float function), and the worst relative error on
    ``checks`` evenly spaced points; every coefficient must come out positive (so
    the sums of the power basis do not cancel)."""
    grid = (1 - np.cos(np.linspace(0, np.pi, nodes))) / 2 * a_fit
    p, q = lawson(grid, np.array([ref(a) for a in grid]), m, n, iters)
    check = np.linspace(0, a_fit, checks)
    f = np.array([ref(a) for a in check])
    worst = np.max(np.abs(np.polyval(p[::-1], check) / np.polyval(q[::-1], check) - f) / f)
    assert np.all(p > 0) and np.all(q > 0)
    return p, q, worst
