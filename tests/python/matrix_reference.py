"""Which Matrix class the test_matrix_*.py files check, and their helpers.

By default the tests check bocd's own classes (`from bocd import Matrix,
MatrixView`). With BOCD_MATRIX_REFERENCE=bocpy they check bocpy 0.14's
classes instead, which proves that each test states bocpy's behavior and
not merely ours. bocpy's environment has no bocd, so that run skips
tests/python/conftest.py (it starts a bocd daemon for every test):

    BOCD_MATRIX_REFERENCE=bocpy PYTHONPATH=tests/python \\
        bench/.venv-bocpy/bin/python -m pytest --noconftest \\
        -p no:cacheprovider tests/python/test_matrix_*.py

(bench/.venv-bocpy needs `pip install pytest numpy` once.)

Expected values come from plain numpy written in the tests, never from the
class under test: `arr(m)` reads a matrix element by element through
`values()`, `mat(Matrix, a)` builds one from a numpy array through the
constructor, so neither depends on the numpy interop being checked.

This is a helper module and not part of conftest.py because conftest.py
imports bocd, which the reference run does not have. It imports numpy only
inside its helpers: bocpy's workers import the test modules (and so this
one) in sub-interpreters, where numpy cannot be loaded; hence also the
PYTHONPATH above, which lets them find this module.
"""

from __future__ import annotations

import os

import pytest

REFERENCE = os.environ.get("BOCD_MATRIX_REFERENCE", "") == "bocpy"


def _classes():
    if REFERENCE:
        import bocpy

        return bocpy.Matrix, bocpy.MatrixView
    try:
        from bocd import Matrix, MatrixView
    except ImportError as e:
        pytest.fail(f"bocd has no Matrix/MatrixView yet: {e}")
    return Matrix, MatrixView


@pytest.fixture(scope="session")
def Matrix():  # noqa: N802 - the fixture stands for the class
    return _classes()[0]


@pytest.fixture(scope="session")
def MatrixView():  # noqa: N802
    return _classes()[1]


def bocpy_defect(reason: str):
    """Marks a test of documented behavior that bocpy 0.14 itself breaks:
    it must pass on bocd and is expected to fail on the reference."""
    return pytest.mark.xfail(REFERENCE, reason=f"bocpy 0.14 defect: {reason}",
                             strict=True)


def bocd_only(reason: str):
    """Marks a test of something bocd promises beyond bocpy."""
    return pytest.mark.skipif(REFERENCE, reason=f"bocd only: {reason}")


def arr(m):
    """The matrix's elements as a new float64 array of its shape."""
    import numpy as np

    rows, columns = m.shape
    return np.array(list(m.values()), dtype=np.float64).reshape(rows, columns)


def mat(Matrix, a):  # noqa: N803
    """A Matrix holding the 2-D array `a` (built from a flat list)."""
    import numpy as np

    a = np.asarray(a, dtype=np.float64)
    assert a.ndim == 2
    return Matrix(a.shape[0], a.shape[1], a.ravel().tolist())


def check(m, expected, Matrix, *, exact: bool = True):  # noqa: N803
    """Asserts `m` is a Matrix of `expected`'s shape and values (bitwise
    equal, NaN matching NaN, unless exact=False: then within 1e-12)."""
    import numpy as np

    expected = np.asarray(expected, dtype=np.float64)
    assert isinstance(m, Matrix), f"expected a Matrix, got {type(m).__name__}"
    assert m.shape == expected.shape, f"shape {m.shape} != {expected.shape}"
    got = arr(m)
    if exact:
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def sample(rows: int, columns: int, seed: int = 0) -> np.ndarray:
    """Reproducible test data: values in [-10, 10) with a fractional part."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.uniform(-10, 10, size=(rows, columns))
