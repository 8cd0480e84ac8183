"""Fused multiply-add on float64 arrays: `a*b + c` with one rounding.

numpy has no fused multiply-add ufunc, and `math.fma` (Python 3.13+) works
on one pair of floats at a time, far too slow for a matrix. So the fused
result is built from exact floating-point transformations, vectorised:

1. Dekker's product: `a*b == uh + ul` exactly (Veltkamp split, 2**27+1).
2. Knuth's two-sum: `c + uh == th + tl` exactly.
3. `v = RO(tl + ul)`, the sum rounded to odd: a round-to-nearest sum,
   moved one ulp toward the exact value when it was inexact and landed on
   an even significand.
4. `RN(th + v)` is then the correctly rounded `a*b + c`: Boldo and
   Melquiond, "Emulation of FMA and correctly rounded sums: proved
   algorithms using rounding to odd", IEEE TC 57(4), 2008, Algorithm 5.

The theorem needs no overflow and no underflow in those steps. Elements
outside the safe range (very large or very small magnitudes, inf, NaN) are
few in practice, so they are computed one by one: with `math.fma` where it
exists (it raises where IEEE gives inf or NaN), else exactly with
`fractions.Fraction` (whose float conversion is correctly rounded). An
exactly zero result takes its sign from IEEE addition (`a*b + c`, exact in
that case), which the transformation above would not preserve.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Optional

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]

_SPLITTER = 134217729.0  # 2**27 + 1: splits a double into two 26-bit halves
_BIG = 2.0 ** 900        # below this, no step can overflow
_TINY = 2.0 ** -900      # above this, no step can underflow


def fma_exact(a: float, b: float, c: float) -> float:
    """One fused multiply-add on Python floats, correctly rounded."""
    if not (math.isfinite(a) and math.isfinite(b)):
        return a * b + c
    if not math.isfinite(c):
        return c  # a finite exact product plus inf/NaN
    exact = Fraction(a) * Fraction(b) + Fraction(c)
    if exact == 0:
        return a * b + c  # the product is exact here; IEEE picks the sign
    try:
        return float(exact)
    except OverflowError:
        return math.inf if exact > 0 else -math.inf


_math_fma: Optional[Callable[[float, float, float], float]] = getattr(
    math, "fma", None)


def _scalar_fma(a: float, b: float, c: float) -> float:
    if _math_fma is not None:
        try:
            return _math_fma(a, b, c)
        except (OverflowError, ValueError):
            pass  # math.fma raises where IEEE gives inf or NaN
    return fma_exact(a, b, c)


def _split(x: F64) -> tuple[F64, F64]:
    t = x * _SPLITTER
    hi = t - (t - x)
    return hi, x - hi


def _two_sum(x: F64, y: F64) -> tuple[F64, F64]:
    s = x + y
    yy = s - x
    return s, (x - (s - yy)) + (y - yy)


def _round_to_odd_sum(x: F64, y: F64) -> F64:
    s, err = _two_sum(x, y)
    even = (s.view(np.int64) & 1) == 0
    fix = (err != 0) & even
    if fix.any():
        toward = np.where(err > 0, np.inf, -np.inf)
        s = np.where(fix, np.nextafter(s, toward), s)
    return s


def fma_arrays(a: F64, b: F64, c: F64, out: F64) -> F64:
    """Write the correctly rounded `a*b + c` into `out` (all one shape).

    `out` may be `a`, `b` or `c`: every input is read before it is written.
    """
    with np.errstate(all="ignore"):
        uh = a * b
        ah, al = _split(a)
        bh, bl = _split(b)
        ul = ((ah * bh - uh) + ah * bl + al * bh) + al * bl
        th, tl = _two_sum(c, uh)
        z = th + _round_to_odd_sum(tl, ul)
        hard = _outside_safe_range(a, b, c, uh)
        zero = z == 0
        if zero.any():
            z = np.where(zero, uh + c, z)
    if hard.any():
        for i in zip(*np.nonzero(hard)):
            z[i] = _scalar_fma(float(a[i]), float(b[i]), float(c[i]))
    np.copyto(out, z)
    return out


def _outside_safe_range(a: F64, b: F64, c: F64, uh: F64) -> NDArray[np.bool_]:
    aa, ab, ac, ap = np.abs(a), np.abs(b), np.abs(c), np.abs(uh)
    hard: NDArray[np.bool_] = ~(np.isfinite(ap) & np.isfinite(ac))
    hard |= (aa > _BIG) | (ab > _BIG) | (ap > _BIG) | (ac > _BIG)
    hard |= (ap < _TINY) & (aa != 0) & (ab != 0)
    hard |= (ac < _TINY) & (ac != 0)
    return hard
