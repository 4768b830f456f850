"""Sky background: recovery of a simulated sky, the real quadrant, bad input."""

import matplotlib.axes
import numpy as np
import pytest
from astropy.io import fits

from ztfimg import simulate
from ztfimg.background import DEFAULT_BOX_SIZE, Background, estimate_background
from ztfimg.errors import InvalidParameterError, ShapeMismatchError


@pytest.fixture(scope="module")
def sim():
    return simulate.simulate_quadrant(shape=(1024, 1024), seed=5)


@pytest.fixture(scope="module")
def real(real_quadrant_paths):
    sci, msk = real_quadrant_paths
    return fits.getdata(sci).astype(np.float32), fits.getdata(msk).astype(np.int16)


def test_simulated_sky_recovered(sim):
    bmask = sim.mask != 0                       # everything, bits 1 and 11 included
    data0, mask0 = sim.data.copy(), bmask.copy()
    bkg = estimate_background(sim.data, bmask)
    sigma = np.sqrt(sim.sky / sim.gain + (sim.readnoise / sim.gain) ** 2)
    good = ~bmask
    diff = (bkg.back - sim.sky)[good]
    # the gradient (+-2.4 DN) and the ripple are followed to a small fraction of the noise
    assert np.ptp(sim.sky) > 4.0
    assert np.sqrt(np.mean(diff ** 2)) < 0.04 * sigma.mean()
    assert np.max(np.abs(diff)) < 0.25 * sigma.mean()
    assert bkg.globalrms == pytest.approx(sigma.mean(), rel=0.03)
    assert bkg.rms.dtype == np.float32 and bkg.back.dtype == np.float32
    assert bkg.box_size == (DEFAULT_BOX_SIZE, DEFAULT_BOX_SIZE) and bkg.filter_size == (3, 3)
    np.testing.assert_array_equal(sim.data, data0)
    np.testing.assert_array_equal(bmask, mask0)
    sub = bkg.subtract(sim.data)
    assert abs(np.median(sub[good])) < 0.1


def test_real_quadrant_background(real):
    data, msk = real
    bkg = estimate_background(data, msk != 0)
    assert bkg.globalback == pytest.approx(156.9, abs=0.5)
    assert bkg.globalrms == pytest.approx(5.83, abs=0.1)
    assert bkg.nmasked == np.count_nonzero(msk)
    # big-endian input as read from disk gives the same answer
    be = data.astype(">f4")
    bkg2 = estimate_background(be, msk != 0)
    np.testing.assert_allclose(bkg2.back, bkg.back)
    assert "Background(" in repr(bkg)


def test_box_and_filter_pairs_and_ellipses(sim):
    bkg = estimate_background(sim.data, sim.mask != 0, box_size=(32, 64), filter_size=(3, 5))
    assert bkg.box_size == (32, 64) and bkg.filter_size == (3, 5)
    ell = {"x": [100.0, 500.0], "y": [100.0, 600.0], "a": [3.0, 2.0], "b": [2.0, 2.0],
           "theta": [0.3, 0.0]}
    b0 = estimate_background(sim.data)
    b1 = estimate_background(sim.data, ellipses=ell, ellipse_scale=3.0)
    # 3x the ellipses: ~pi*9*2*3 + pi*6*6 pixels
    assert 250 < b1.nmasked - b0.nmasked < 320


def test_nan_pixels_ignored():
    rng = np.random.default_rng(1)
    data = rng.normal(50.0, 2.0, (256, 256)).astype(np.float32)
    data[10:20, 10:20] = np.nan
    keep = data.copy()
    bkg = estimate_background(data, box_size=32)
    assert np.all(np.isfinite(bkg.back))
    assert bkg.globalback == pytest.approx(50.0, abs=0.1)
    assert bkg.nmasked == 100
    np.testing.assert_array_equal(data, keep)


def test_bad_input():
    data = np.zeros((100, 120), dtype=np.float32)
    with pytest.raises(ShapeMismatchError):
        estimate_background(data, np.zeros((100, 100), bool))
    with pytest.raises(ShapeMismatchError):
        estimate_background(np.zeros(10))
    with pytest.raises(InvalidParameterError):
        estimate_background(data, box_size=0)
    with pytest.raises(InvalidParameterError):
        estimate_background(data, box_size=(10, 20, 30))
    with pytest.raises(InvalidParameterError):
        estimate_background(data, box_size=200)
    with pytest.raises(InvalidParameterError):
        estimate_background(data, np.ones(data.shape, bool))
    with pytest.raises(InvalidParameterError):
        estimate_background(data, ellipses={"x": [1.0], "y": [1.0]})


def test_show_returns_axes(sim):
    bkg = estimate_background(sim.data, sim.mask != 0)
    back0 = bkg.back.copy()
    ax = bkg.show()
    assert isinstance(ax, matplotlib.axes.Axes)
    ax2 = bkg.show("rms", colorbar=False)
    assert isinstance(ax2, matplotlib.axes.Axes)
    np.testing.assert_array_equal(bkg.back, back0)
    with pytest.raises(InvalidParameterError):
        bkg.show("nope")
    import matplotlib.pyplot as plt
    plt.close("all")
    assert isinstance(bkg, Background)


def test_non_finite_pixels_are_masked_without_a_copy_and_the_maps_are_the_same():
    # sep skips masked pixels without reading them: masking NaN/inf is enough, and the
    # maps equal those of a zero-filled copy bit for bit (no frame-sized temporary)
    rng = np.random.default_rng(0)
    data = rng.normal(100, 5, (600, 500)).astype(np.float32)
    bad = rng.random(data.shape) < 0.01
    bad[200:260, :] = True
    bad[:, 300] = True
    data[bad] = np.nan
    data[5, 5] = np.inf
    bad[5, 5] = True
    extra = rng.random(data.shape) < 0.02
    before = data.copy()
    got = estimate_background(data, mask=extra)
    ref = estimate_background(np.where(bad, np.float32(0), data), mask=extra | bad)
    np.testing.assert_array_equal(got.back, ref.back)
    np.testing.assert_array_equal(got.rms, ref.rms)
    assert got.globalrms == ref.globalrms and np.isfinite(got.globalrms)
    np.testing.assert_array_equal(data, before)                 # input untouched (NaN kept)
    import tracemalloc
    tracemalloc.start()
    estimate_background(data, mask=extra)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2.5 * bad.nbytes + data.nbytes // 4           # masks only, no data copy
