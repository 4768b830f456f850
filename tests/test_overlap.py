"""ztfimg.overlap: exact circle/pixel overlap and the compiled aperture-sum kernel.

Checked against sep's exact sums (``subpix=0``; sep works in float32, so the images here
are float32 or exactly representable in it), against an independent closed form of the
geometry, and for its own invariants. The kernel is C, built at install time.
"""

import math
import subprocess
import sys

import numpy as np
import pytest

from ztfimg import overlap
from ztfimg.errors import InvalidParameterError, ShapeMismatchError

sep = pytest.importorskip("sep")
needs_kernel = pytest.mark.skipif(not overlap.HAVE_KERNEL, reason="kernel not built")

RTOL = 1e-12


# ------------------------------------------------------------------- references
def _corner(x, y, r):
    """Area of the disc of radius r in [0, x] x [0, y] (x, y >= 0), textbook formula."""
    x, y = min(x, r), min(y, r)
    if x * x + y * y <= r * r:
        return x * y
    xc = math.sqrt(r * r - y * y)

    def prim(u):
        return 0.5 * (u * math.sqrt(max(r * r - u * u, 0.0)) + r * r * math.asin(min(u / r, 1.0)))
    return y * xc + prim(x) - prim(xc)


def _rect_reference(x0, x1, y0, y1, r):
    """Inclusion-exclusion over signed corners: an independent formula."""
    def signed(x, y):
        return math.copysign(1, x) * math.copysign(1, y) * _corner(abs(x), abs(y), r)
    return signed(x1, y1) - signed(x0, y1) - signed(x1, y0) + signed(x0, y0)


def _sep_sums(data, mask, x, y, rin, rout, subpix=0):
    """(sum over unmasked, in-image area, masked area, sum |data|) from sep, per position."""
    zeroed = np.where(mask, np.float32(0), data).astype(np.float32)
    ones = np.ones(data.shape, np.float32)
    mf = mask.astype(np.float32)
    out = []
    for img in (zeroed, ones, mf, np.abs(zeroed)):
        if rin == 0:
            out.append(sep.sum_circle(img, x, y, rout, subpix=subpix)[0])
        else:
            out.append(sep.sum_circann(img, x, y, rin, rout, subpix=subpix)[0])
    return out


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(7)
    ny, nx = 90, 120
    data = rng.normal(5.0, 20.0, (ny, nx)).astype(np.float32)
    mask = rng.random((ny, nx)) < 0.05
    mask[40:50, 60:64] = True
    n = 400
    x = rng.uniform(-8, nx + 8, n)
    y = rng.uniform(-8, ny + 8, n)
    # edges, corners, beyond the image, exact pixel corners and edges
    x[:8] = [-0.5, nx - 0.5, -0.5, nx - 0.5, 10.5, -3.0, nx + 2.0, -200.0]
    y[:8] = [-0.5, ny - 0.5, ny - 0.5, -0.5, 20.5, 30.0, 40.0, -200.0]
    return data, mask, x, y


def _close(got, ref, scale):
    assert np.all(np.abs(got - ref) <= RTOL * np.maximum(scale, 1e-300)), \
        np.max(np.abs(got - ref) / np.maximum(scale, 1e-300))


# -------------------------------------------------------------------- geometry
@needs_kernel
def test_pixel_overlap_matches_closed_form():
    rng = np.random.default_rng(3)
    for _ in range(3000):
        r = 10 ** rng.uniform(-2, math.log10(50))
        cx, cy = rng.uniform(-r - 1, r + 1, 2)
        if rng.random() < 0.2:
            cx = round(cx * 2) / 2  # pixel edges and centres
        got = overlap.pixel_overlap(cx - 0.5, cx + 0.5, cy - 0.5, cy + 0.5, r)
        ref = _rect_reference(cx - 0.5, cx + 0.5, cy - 0.5, cy + 0.5, r)
        assert abs(got - ref) <= 1e-12 * max(r, 1.0), (r, cx, cy, got, ref)
        assert -1e-14 <= got <= 1.0 + 1e-14


@needs_kernel
@pytest.mark.parametrize("r", [1e-3, 0.01, 0.3, 0.5])
def test_small_circle_centred_on_a_pixel_is_pi_r2(r):
    # sep 1.4 returns the whole pixel here; the exact answer is pi r^2
    assert overlap.pixel_overlap(-0.5, 0.5, -0.5, 0.5, r) == pytest.approx(math.pi * r * r,
                                                                          rel=1e-14)


@needs_kernel
def test_pixel_overlap_whole_and_empty():
    assert overlap.pixel_overlap(-0.5, 0.5, -0.5, 0.5, math.sqrt(0.5)) == pytest.approx(1.0)
    assert overlap.pixel_overlap(2.0, 3.0, 0.0, 1.0, 1.5) == 0.0
    assert overlap.pixel_overlap(0.0, 1.0, 0.0, 1.0, 0.0) == 0.0
    with pytest.raises(InvalidParameterError):
        overlap.pixel_overlap(0.0, 1.0, 0.0, 1.0, -1.0)


@needs_kernel
def test_import_loads_nothing_and_numba_is_not_needed():
    # importing the module loads no library; an aperture call loads the C kernel only
    # (numba, ~120 MB of resident memory when it was the engine, stays out)
    code = ("import sys, numpy as np, ztfimg.overlap as o, ztfimg._ckernel as k; "
            "print(k._LIB == {}); "
            "o.circle_sums(np.ones((50, 50), np.float32), [20.0] * 300, [20.0] * 300, 3.0); "
            "print(k._LIB != {}, 'numba' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True", "False"]


def test_without_the_kernel_a_clear_error(monkeypatch):
    from ztfimg import _ckernel
    monkeypatch.setattr(_ckernel, "HAVE_KERNEL", False)
    monkeypatch.setattr(_ckernel, "_LIB", {})
    # imported from the source tree (as the suite is): the message says how to build it
    with pytest.raises(InvalidParameterError, match=r"source tree .*pip install -e \."):
        overlap.circle_sums(np.ones((5, 5), np.float32), [2.0], [2.0], 1.0)
    # an installed package without the library (no compiler at install time)
    real_exists = _ckernel.os.path.exists
    monkeypatch.setattr(_ckernel.os.path, "exists",
                        lambda p: False if p.endswith("_kernel.c") else real_exists(p))
    with pytest.raises(InvalidParameterError, match="compiled kernel was not built"):
        overlap.circle_sums(np.ones((5, 5), np.float32), [2.0], [2.0], 1.0)


# ------------------------------------------------------------------ the kernels
@needs_kernel
@pytest.mark.parametrize("r", [0.01, 0.4, 1.0, 2.5, 5.0, 12.3, 50.0])
def test_circle_equals_sep(scene, r):
    data, mask, x, y = scene
    res = overlap.circle_sums(data, x, y, r, mask=mask)
    s, area, marea, sabs = _sep_sums(data, mask, x, y, 0.0, r)
    _close(res.sum, s, sabs)
    _close(res.area, area, area)
    _close(res.masked_area, marea, area)
    assert res.var_sum is None


@needs_kernel
def test_circle_random_radii_equals_sep(scene):
    data, mask, x, y = scene
    r = 10 ** np.random.default_rng(1).uniform(-2, math.log10(50), x.size)
    res = overlap.circle_sums(data, x, y, r, mask=mask)
    for k in range(0, x.size, 7):
        s, area, marea, sabs = _sep_sums(data, mask, x[k:k + 1], y[k:k + 1], 0.0, r[k])
        _close(res.sum[k:k + 1], s, sabs)
        _close(res.area[k:k + 1], area, area)
        _close(res.masked_area[k:k + 1], marea, area)


@needs_kernel
@pytest.mark.parametrize("rin,rout", [(0.2, 0.9), (3.0, 7.0), (10.0, 15.0), (2.0, 40.0)])
def test_annulus_equals_sep_and_circle_difference(scene, rin, rout):
    data, mask, x, y = scene
    res = overlap.annulus_sums(data, x, y, rin, rout, mask=mask)
    s, area, marea, sabs = _sep_sums(data, mask, x, y, rin, rout)
    _close(res.sum, s, sabs)
    _close(res.area, area, np.maximum(area, 1.0))
    _close(res.masked_area, marea, np.maximum(area, 1.0))
    outer = overlap.circle_sums(data, x, y, rout, mask=mask)
    inner = overlap.circle_sums(data, x, y, rin, mask=mask)
    scale = overlap.circle_sums(np.abs(data), x, y, rout).sum
    _close(res.sum, outer.sum - inner.sum, scale)
    _close(res.area, outer.area - inner.area, np.maximum(outer.area, 1.0))


@needs_kernel
def test_areas_interior_edges_and_off_image():
    ones = np.ones((60, 80), np.float32)
    r = np.array([0.01, 0.3, 3.0, 7.7, 20.0])
    res = overlap.circle_sums(ones, np.full(5, 40.0), np.full(5, 30.0), r)  # centred exactly
    np.testing.assert_allclose(res.area, np.pi * r ** 2, rtol=1e-13)
    np.testing.assert_allclose(res.sum, np.pi * r ** 2, rtol=1e-13)
    # a corner of the image: a quarter of the disc; beyond the image: nothing
    res = overlap.circle_sums(ones, [-0.5, 79.5, -50.0], [-0.5, 59.5, 10.0], 4.0)
    np.testing.assert_allclose(res.area[:2], np.pi * 16 / 4, rtol=1e-13)
    assert res.area[2] == 0.0 and res.sum[2] == 0.0
    ann = overlap.annulus_sums(ones, 40.3, 30.1, 5.0, 9.0)
    assert ann.area[0] == pytest.approx(np.pi * (81 - 25), rel=1e-13)


@needs_kernel
def test_centred_small_radius_where_sep_is_wrong():
    data = np.zeros((21, 21), np.float32)
    data[10, 10] = 1.0
    res = overlap.circle_sums(data, np.full(3, 10.0), np.full(3, 10.0), [0.05, 0.3, 0.69])
    np.testing.assert_allclose(res.sum[:2], np.pi * np.array([0.05, 0.3]) ** 2, rtol=1e-14)
    assert res.sum[2] < 1.0  # r = 0.69 px: the pixel holds most of the disc, not all of it
    # sep gives the whole pixel there, and the exact value 1e-12 px away
    assert sep.sum_circle(data, [10.0], [10.0], 0.3, subpix=0)[0][0] == 1.0
    nudged = sep.sum_circle(data, [10.0 + 1e-12], [10.0], 0.3, subpix=0)[0][0]
    assert res.sum[1] == pytest.approx(nudged, rel=1e-10)


@needs_kernel
def test_center_method_equals_sep_subpix1(scene):
    data, mask, x, y = scene
    for rin, rout in [(0.0, 4.3), (3.0, 8.0)]:
        fn = (lambda **k: overlap.circle_sums(data, x, y, rout, **k)) if rin == 0 else \
            (lambda **k: overlap.annulus_sums(data, x, y, rin, rout, **k))
        res = fn(mask=mask, method="center")
        s, area, marea, sabs = _sep_sums(data, mask, x, y, rin, rout, subpix=1)
        _close(res.sum, s, sabs)
        np.testing.assert_array_equal(res.area, area)
        np.testing.assert_array_equal(res.masked_area, marea)


@needs_kernel
def test_threads_give_identical_results(scene):
    data, mask, x, y = scene
    xs = np.tile(x, 10)
    ys = np.tile(y, 10)
    one = overlap.annulus_sums(data, xs, ys, 2.0, 9.0, mask=mask, n_threads=1)
    two = overlap.annulus_sums(data, xs, ys, 2.0, 9.0, mask=mask, n_threads=2)
    for a, b in zip(one[:3], two[:3]):
        np.testing.assert_array_equal(a, b)


@needs_kernel
def test_aperture_sums_equal_separate_calls(scene):
    data, mask, x, y = scene
    circles, ann = overlap.aperture_sums(data, x, y, [2.0, 5.0], (6.0, 11.0), mask=mask)
    for r, c in zip([2.0, 5.0], circles):
        ref = overlap.circle_sums(data, x, y, r, mask=mask)
        for a, b in zip(c[:3], ref[:3]):
            np.testing.assert_array_equal(a, b)
    ref = overlap.annulus_sums(data, x, y, 6.0, 11.0, mask=mask)
    for a, b in zip(ann[:3], ref[:3]):
        np.testing.assert_array_equal(a, b)
    circles, ann = overlap.aperture_sums(data, x, y, 3.0)
    assert ann is None and len(circles) == 1


@needs_kernel
def test_variance_sum_nonfinite_and_inputs_untouched(scene):
    data, mask, x, y = scene
    var = (np.abs(data) + 1).astype(np.float32).astype(np.float64)
    d0, m0, v0 = data.copy(), mask.copy(), var.copy()
    res = overlap.circle_sums(data, x, y, 4.0, mask=mask, var=var)
    vref = sep.sum_circle(np.where(mask, 0, var).astype(np.float32), x, y, 4.0, subpix=0)[0]
    _close(res.var_sum, vref, vref)
    np.testing.assert_array_equal(data, d0)
    np.testing.assert_array_equal(mask, m0)
    np.testing.assert_array_equal(var, v0)
    # NaN pixels count as masked: same as masking them
    nan_data = np.where(mask, np.float32(np.nan), data)
    nres = overlap.circle_sums(nan_data, x, y, 4.0)
    for a, b in zip(nres[:3], res[:3]):
        np.testing.assert_array_equal(a, b)
    # integer mask, float64 data
    ires = overlap.circle_sums(data.astype(np.float64), x, y, 4.0, mask=mask.astype(np.int16))
    for a, b in zip(ires[:3], res[:3]):
        np.testing.assert_array_equal(a, b)


@needs_kernel
def test_bad_positions_and_bad_input():
    data = np.ones((10, 10), np.float32)
    res = overlap.circle_sums(data, [np.nan, 5.0, np.inf], [5.0, 5.0, 1.0], 2.0)
    assert np.isnan(res.sum[[0, 2]]).all() and np.isnan(res.area[[0, 2]]).all()
    assert res.area[1] == pytest.approx(4 * np.pi)
    empty = overlap.circle_sums(data, [], [], 2.0)
    assert empty.sum.shape == (0,)
    with pytest.raises(InvalidParameterError):
        overlap.circle_sums(data, [1.0], [1.0], -1.0)
    with pytest.raises(InvalidParameterError):
        overlap.annulus_sums(data, [1.0], [1.0], 3.0, 2.0)
    with pytest.raises(InvalidParameterError):
        overlap.circle_sums(data, [1.0], [1.0], 1.0, method="subpixel")
    with pytest.raises(InvalidParameterError):
        overlap.circle_sums(data, [1.0], [1.0], 1.0, n_threads=0)
    with pytest.raises(ShapeMismatchError):
        overlap.circle_sums(data, [1.0], [1.0], 1.0, mask=np.zeros((3, 3), bool))
    with pytest.raises(ShapeMismatchError):
        overlap.circle_sums(data, [1.0, 2.0], [1.0, 2.0, 3.0], 1.0)
    with pytest.raises(ShapeMismatchError):
        overlap.circle_sums(np.ones(5), [1.0], [1.0], 1.0)


@pytest.mark.parametrize("bad", ["abc", "2", [1], 2.5, 0, True])
def test_bad_thread_counts_are_the_packages_error(bad):
    from ztfimg.errors import InvalidParameterError
    with pytest.raises(InvalidParameterError, match="n_threads"):
        overlap.circle_sums(np.ones((5, 5)), [2.0], [2.0], 1.0, n_threads=bad)
