"""The numpy versions of the stack and calibration loops (used without a C compiler) give
the compiled kernel's bits, and the kernel wrappers fall back to them."""

import numpy as np
import pytest

from ztfimg import _ckernel, _npkernels
from ztfimg.errors import ZTFImgWarning

pytestmark = pytest.mark.skipif(not _ckernel.HAVE_KERNEL,
                                reason="compares with the compiled kernel")


def _cube(rng, n, m, dtype):
    cube = rng.normal(100.0, 5.0, (n, m))
    out = rng.random((n, m))
    cube[out < 0.04] += 80.0                          # outliers for the clipping
    cube[out > 0.97] = np.nan                         # missing values
    cube[:, :3] = np.nan                              # wholly missing pixels
    cube[:, 3:6] = 42.0                               # identical values (zero scatter)
    cube[0, 6], cube[1:, 6] = 5.0, np.nan             # a single value
    if n >= 2:
        cube[:2, 7], cube[2:, 7] = (1.0, 3.0), np.inf  # two values, infinities missing
    return cube.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 2, 5, 12])
@pytest.mark.parametrize("median, sigma, maxiters", [(True, 0.0, 0), (False, 0.0, 0),
                                                     (False, 3.0, 5), (False, 1.5, 10),
                                                     (False, 2.0, 1)])
def test_combine_same_bits(dtype, n, median, sigma, maxiters):
    rng = np.random.default_rng(n * 7 + int(sigma * 10) + maxiters)
    cube = _cube(rng, n, 3000, dtype)
    weights = rng.uniform(0.5, 2.0, n)
    extra = np.column_stack([rng.uniform(20, 40, n), np.ones(n)])
    c = _ckernel.combine(cube, weights, extra, median, sigma, maxiters, n_threads=2)
    p = _npkernels.combine(cube, weights, extra, median, sigma, maxiters)
    for a, b, name in zip(c, p, ("out", "var", "count", "wsum", "esum")):
        assert a.dtype == b.dtype and a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=name)
    assert np.isnan(c[0][:3]).all() and (c[2][:3] == 0).all()


def test_bilinear_same_bits():
    rng = np.random.default_rng(3)
    ny, nx = 300, 260
    frame = rng.normal(0.0, 1.0, (ny, nx)).astype(np.float32)
    frame[rng.random((ny, nx)) < 0.01] = np.nan
    y0, x0 = 40, 30
    section = np.ascontiguousarray(frame[y0:250, x0:220])
    yy, xx = np.mgrid[0:180, 0:200].astype(np.float64)
    for dx, dy in ((25.3, 35.7), (29.5, 39.5), (-2.0, 10.0), (30.0000001, 40.0)):
        x, y = xx + dx, yy + dy
        x[5, 5], y[6, 6] = np.nan, np.inf
        x[7, 7] = nx - 0.5                             # the outer half pixel
        c = _ckernel.bilinear(section, x, y, x0, y0, ny, nx, 1e-6, n_threads=2)
        p = _npkernels.bilinear(section, x, y, x0, y0, ny, nx, 1e-6)
        np.testing.assert_array_equal(c, p)
        assert np.isfinite(c).mean() > 0.5


def test_wrappers_fall_back_to_numpy_with_one_warning(monkeypatch):
    rng = np.random.default_rng(1)
    cube = _cube(rng, 6, 500, np.float32)
    w, e = np.ones(6), np.zeros((6, 1))
    want = _ckernel.combine(cube, w, e, False, 3.0, 5)
    monkeypatch.setattr(_ckernel, "HAVE_KERNEL", False)
    monkeypatch.setattr(_ckernel, "_NUMPY_WARNED", False)
    with pytest.warns(ZTFImgWarning, match="not built"):
        got = _ckernel.combine(cube, w, e, False, 3.0, 5)
    for a, b in zip(want, got):
        np.testing.assert_array_equal(a, b)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # once per process
        section = rng.normal(size=(50, 50)).astype(np.float32)
        yy, xx = np.mgrid[0:20, 0:20].astype(np.float64)
        _ckernel.bilinear(section, xx + 3.2, yy + 4.1, 0, 0, 50, 50, 1e-6)
