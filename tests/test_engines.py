"""The two aperture engines (the compiled kernel and sep) give the same numbers and flags.

Every route of :func:`ztfimg.aperture.aperture_photometry` is run with ``engine="kernel"``
and ``engine="sep"`` on the real quadrant (with its mask) and on simulated frames, with
positions that cross the edges, fall off the image, are NaN, or sit exactly on pixel
centres, and compared column by column: sums and areas to 1e-12 relative, flags and
pixel counts identical.
"""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sep
from astropy.io import fits
from photutils.aperture import CircularAperture
from photutils.aperture import aperture_photometry as pu_photometry

from ztfimg import overlap, simulate
from ztfimg.aperture import aperture_photometry
from ztfimg.background import estimate_background
from ztfimg.errors import InvalidParameterError
from ztfimg.overlap import HAVE_KERNEL

pytestmark = pytest.mark.skipif(not HAVE_KERNEL, reason="the kernel is built at install")

SOURCE_BITS = np.int16((1 << 1) | (1 << 11))


@pytest.fixture(scope="module")
def real(real_quadrant_paths):
    sci, msk = real_quadrant_paths
    data = fits.getdata(sci).astype(np.float32)
    bits = fits.getdata(msk).astype(np.int16)
    mask = bits != 0              # every bit: masked apertures are many
    bkg = estimate_background(data, mask)
    return bkg.subtract(data), mask, bkg


def _positions(shape, n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-15, shape[1] + 15, n)
    y = rng.uniform(-15, shape[0] + 15, n)
    x[:20] = np.rint(x[:20])                 # exactly on pixel centres
    y[:20] = np.rint(y[:20])
    x[20], y[21] = np.nan, np.inf            # bad positions
    x[22], y[22] = -500.0, 100.0             # wholly off the image
    return x, y


def _gross(img, x, y, kw):
    """What each sum adds up, sum(w |d|), and the mean |d| in the annulus (the scales)."""
    keep = {k: v for k, v in kw.items() if k in ("radius", "mask", "subpix", "sky_subpix")}
    g = aperture_photometry(np.abs(img), x, y, engine="kernel", **keep)
    if kw.get("bkgann") is not None:
        keep["bkgann"] = kw["bkgann"]
        g["sky"] = aperture_photometry(np.abs(img), x, y, engine="kernel", **keep)["sky"]
    return g


def _compare(a, b, gross, rtol=1e-12):
    """Every column equal: flags and pixel counts exactly, the rest to ``rtol`` of its scale.

    Sums of pixels of both signs cancel, so a sum's scale is what was added up: the sum of
    ``|data|`` in the aperture plus ``area * |sky|`` (``gross``, from :func:`_gross`); the
    sky's the mean ``|data|`` in the annulus; an area's (unmasked = in-image - masked)
    the in-image area plus one pixel; a fraction's 1.
    """
    assert list(a.columns) == list(b.columns)
    sky = np.abs(np.nan_to_num(a["sky"].to_numpy()))
    gsky = np.nan_to_num(gross["sky"].to_numpy())
    for col in a.columns:
        va, vb = a[col].to_numpy(), b[col].to_numpy()
        if "flag" in col or col == "sky_npix":
            np.testing.assert_array_equal(va, vb, err_msg=col)
            continue
        np.testing.assert_array_equal(va[~np.isfinite(va)], vb[~np.isfinite(va)], err_msg=col)
        ok = np.isfinite(va)
        stem, suf = col, ""
        if col[-1].isdigit():
            stem, suf = col.rsplit("_", 1)
            suf = "_" + suf
        if stem in ("sum", "sumerr"):
            area = np.nan_to_num(a["area" + suf].to_numpy())
            scale = np.nan_to_num(gross["sum" + suf].to_numpy()) + area * (sky + gsky)
            if stem == "sumerr":
                scale = np.abs(va) + np.sqrt(scale)
        elif col in ("sky", "skyerr"):
            scale = np.abs(va) + gsky
        elif stem in ("area", "npix_masked"):
            # per-pixel overlaps are exact to ~1e-12 of a pixel in sep: one pixel added
            scale = np.nan_to_num(a["area" + suf].to_numpy() + a["npix_masked" + suf].to_numpy()) + 1
        elif stem == "masked_frac":
            scale = np.ones_like(va)
        else:
            scale = np.abs(va)
        err = np.abs(va[ok] - vb[ok])
        assert np.all(err <= rtol * scale[ok] + 1e-300), (
            col, float(np.max(err / np.maximum(scale[ok], 1e-300))))


CASES = [
    dict(radius=[1.0, 3.0, 5.5, 12.0]),
    dict(radius=0.3),                                           # tiny, centred circles
    dict(radius=[2.0, 4.0], bkgann=(8.0, 14.0), rms=5.8, gain=6.2),
    dict(radius=3.0, bkgann=(8.0, 14.0), rms=5.8, sky_subpix=0),
    dict(radius=3.0, bkgann=(8.0, 14.0)),                      # sky scatter from the annulus
    dict(radius=[3.0, 6.0], bkgann=(8.0, 14.0), sky_estimator="median", rms=5.8),
    dict(radius=3.0, bkgann=(8.0, 14.0), sky_estimator="sigclip"),
    dict(radius=[3.0, 5.0], subpix=1, bkgann=(8.0, 14.0), rms=5.8),
]


@pytest.mark.parametrize("kw", CASES, ids=[str(i) for i in range(len(CASES))])
def test_engines_equal_on_real_quadrant(real, kw):
    sub, mask, bkg = real
    x, y = _positions(sub.shape, 3000, seed=7)
    a = aperture_photometry(sub, x, y, mask=mask, engine="kernel", **kw)
    b = aperture_photometry(sub, x, y, mask=mask, engine="sep", **kw)
    _compare(a, b, _gross(sub, x, y, dict(kw, mask=mask)))
    # the comparison is not empty: masked, partial and off-image apertures are present
    flag = a["aper_flag"].to_numpy()
    assert np.count_nonzero(flag & 2) >= 1 and np.count_nonzero(flag & 16) == 2
    if np.max(kw["radius"]) > 1:
        assert np.count_nonzero(flag & 4) > 100 and np.count_nonzero(flag & 1) > 20


def test_engines_with_an_rms_map_and_float64_data():
    # sep's exact overlap on float64 arrays is good to ~1e-8 only (on float32 to 1e-16;
    # see test_sep_float64_precision): the kernel is checked against photutils there
    frame = simulate.simulate_quadrant(shape=(600, 700), seed=11)
    bkg = estimate_background(frame.data, frame.mask != 0)
    sub = bkg.subtract(frame.data).astype(np.float64)
    x, y = _positions(sub.shape, 800, seed=3)
    kw = dict(radius=[2.5, 5.0], bkgann=(9.0, 15.0), rms=bkg.rms, gain=6.2,
              mask=frame.mask != 0)
    a = aperture_photometry(sub, x, y, engine="kernel", **kw)
    b = aperture_photometry(sub, x, y, engine="sep", **kw)
    _compare(a, b, _gross(sub, x, y, kw), rtol=5e-8)
    # the variance-map sum alone, against photutils' exact overlap, to 1e-12
    inside = (x > 10) & (x < 690) & (y > 10) & (y < 590)
    var = np.square(bkg.rms, dtype=np.float64)
    ours = overlap.circle_sums(np.zeros_like(var), x[inside], y[inside], 5.0, var=var).var_sum
    ref = pu_photometry(var, CircularAperture(np.c_[x[inside], y[inside]], 5.0), method="exact")
    np.testing.assert_allclose(ours, np.asarray(ref["aperture_sum"]), rtol=1e-12)


def test_sep_float64_precision():
    # documents why the float64 comparison above is looser: sep 1.4 sums float64 data
    # with ~1e-9 relative errors, float32 data exactly; the kernel is exact on both
    rng = np.random.default_rng(1)
    img = rng.uniform(20, 40, (200, 200))
    x, y = np.array([100.3, 50.7, 150.2]), np.array([120.1, 60.5, 100.9])
    ref = np.asarray(pu_photometry(img, CircularAperture(np.c_[x, y], 5.0),
                                   method="exact")["aperture_sum"])
    kernel = overlap.circle_sums(img, x, y, 5.0).sum
    np.testing.assert_allclose(kernel, ref, rtol=1e-14)
    s64 = sep.sum_circle(img, x, y, 5.0, subpix=0)[0]
    assert np.max(np.abs(s64 / ref - 1)) > 1e-10
    img32 = img.astype(np.float32)
    s32 = sep.sum_circle(img32, x, y, 5.0, subpix=0)[0]
    ref32 = np.asarray(pu_photometry(img32.astype(np.float64), CircularAperture(
        np.c_[x, y], 5.0), method="exact")["aperture_sum"])
    np.testing.assert_allclose(s32, ref32, rtol=1e-14)


def test_auto_picks_the_kernel_and_sep_keeps_subpixel_sampling():
    frame = simulate.simulate_quadrant(shape=(256, 256), seed=2)
    x, y = np.array([50.3, 120.7]), np.array([60.1, 200.9])
    auto = aperture_photometry(frame.data, x, y, 4.0)
    kern = aperture_photometry(frame.data, x, y, 4.0, engine="kernel")
    np.testing.assert_array_equal(auto["sum"], kern["sum"])
    # subpix=5 is sep's route only: auto takes it, the kernel refuses with the package's error
    s5 = aperture_photometry(frame.data, x, y, 4.0, subpix=5)
    ref = aperture_photometry(frame.data, x, y, 4.0, subpix=5, engine="sep")
    np.testing.assert_array_equal(s5["sum"], ref["sum"])
    with pytest.raises(InvalidParameterError, match="subpix"):
        aperture_photometry(frame.data, x, y, 4.0, subpix=5, engine="kernel")
    with pytest.raises(InvalidParameterError, match="engine"):
        aperture_photometry(frame.data, x, y, 4.0, engine="cuda")
    with pytest.raises(InvalidParameterError, match="n_threads"):
        aperture_photometry(frame.data, x, y, 4.0, n_threads=0)


def test_thread_count_does_not_change_the_numbers(real):
    sub, mask, _ = real
    x, y = _positions(sub.shape, 2000, seed=5)
    one = aperture_photometry(sub, x, y, [3.0, 7.0], bkgann=(9.0, 14.0), rms=5.8, mask=mask,
                              n_threads=1)
    two = aperture_photometry(sub, x, y, [3.0, 7.0], bkgann=(9.0, 14.0), rms=5.8, mask=mask,
                              n_threads=2)
    for col in one.columns:
        np.testing.assert_array_equal(one[col].to_numpy(), two[col].to_numpy(), err_msg=col)


def test_median_and_mean_annulus_use_the_same_pixels_at_pixel_centres():
    # a centre exactly on a pixel centre with integer radii puts pixel centres exactly on
    # both circles: every estimator takes rin < d < rout (sep's and the kernel's rule)
    img = np.ones((61, 61), dtype=np.float32)
    for engine in ("kernel", "sep"):
        for est in ("mean", "median", "sigclip"):
            df = aperture_photometry(img, 30.0, 30.0, 2.0, bkgann=(5.0, 10.0),
                                     sky_estimator=est, engine=engine)
            assert df["sky_npix"].iloc[0] == 224, (engine, est)


def test_auto_takes_the_kernel_for_every_call_size_and_default_threads(monkeypatch):
    # the C kernel has no load cost: auto uses it for 1 position as for 1e4, so a call
    # gives the same bits whatever the process did before (serial vs workers)
    import ztfimg.aperture as ap
    used = []
    real_k = ap._sums_kernel
    monkeypatch.setattr(ap, "_sums_kernel", lambda *a, **k: used.append(1) or real_k(*a, **k))
    img = np.random.default_rng(0).normal(size=(200, 200)).astype(np.float32)
    one = aperture_photometry(img, [50.5], [70.1], 3.0)
    many = aperture_photometry(img, np.r_[50.5, np.linspace(20, 180, 500)],
                               np.r_[70.1, np.linspace(20, 180, 500)], 3.0)
    assert used == [1, 1] and one["sum"].iloc[0] == many["sum"].iloc[0]
    # the thread rule: ZTFIMG_NUM_THREADS, else OMP_NUM_THREADS (dask workers: 1)
    monkeypatch.delenv("ZTFIMG_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert overlap.default_threads() == 1
    monkeypatch.setenv("ZTFIMG_NUM_THREADS", "3")
    assert overlap.default_threads() == 3
    monkeypatch.setenv("ZTFIMG_NUM_THREADS", "two")
    with pytest.raises(InvalidParameterError, match="ZTFIMG_NUM_THREADS"):
        aperture_photometry(img, np.linspace(20, 180, 500), np.linspace(20, 180, 500), 3.0)


def test_ztfimg_engine_variable_steers_auto(monkeypatch):
    import ztfimg.aperture as ap
    img = np.ones((200, 200), dtype=np.float32)
    xs = np.linspace(20, 180, 300)
    used = []
    for name in ("_sums_kernel", "_sums_sep"):
        real = getattr(ap, name)
        monkeypatch.setattr(ap, name, lambda *a, _r=real, _n=name, **k: used.append(_n)
                            or _r(*a, **k))
    monkeypatch.setenv("ZTFIMG_ENGINE", "sep")
    df = aperture_photometry(img, xs, xs, 3.0)          # the variable says sep
    np.testing.assert_allclose(df["sum"], np.pi * 9, rtol=1e-12)
    aperture_photometry(img, xs, xs, 3.0, engine="kernel")   # an explicit engine wins
    monkeypatch.setenv("ZTFIMG_ENGINE", "kernel")
    aperture_photometry(img, xs[:2], xs[:2], 3.0)       # 2 positions: the kernel
    assert used == ["_sums_sep", "_sums_kernel", "_sums_kernel"]
    monkeypatch.setenv("ZTFIMG_ENGINE", "gpu")
    with pytest.raises(InvalidParameterError, match="ZTFIMG_ENGINE"):
        aperture_photometry(img, xs, xs, 3.0)
    # the same reading of the variable steers the compiled mask-bit loop of extractions
    from ztfimg import sources
    with pytest.raises(InvalidParameterError, match="ZTFIMG_ENGINE"):
        sources._use_compiled()
    monkeypatch.setenv("ZTFIMG_ENGINE", "sep")
    assert not sources._use_compiled()
    monkeypatch.setenv("ZTFIMG_ENGINE", "kernel")
    assert sources._use_compiled()


def test_an_rms_map_is_squared_in_the_kernel_not_into_a_frame_sized_map():
    # the kernel squares the rms map pixel by pixel: the same bits as a float64 variance
    # map, and no frame-sized temporary per call (it was 8 bytes a pixel, ~10 ms a quadrant)
    import tracemalloc
    rng = np.random.default_rng(4)
    img = rng.normal(0.0, 5.0, (1500, 1400)).astype(np.float32)
    rms = np.abs(rng.normal(5.0, 0.5, img.shape)).astype(np.float32)
    x, y = rng.uniform(20, 1380, 300), rng.uniform(20, 1480, 300)
    (c,), a = overlap.aperture_sums(img, x, y, [4.0], (8.0, 12.0), rms=rms)
    (cv,), av = overlap.aperture_sums(img, x, y, [4.0], (8.0, 12.0),
                                      var=np.square(rms, dtype=np.float64))
    np.testing.assert_array_equal(c.var_sum, cv.var_sum)
    np.testing.assert_array_equal(a.var_sum, av.var_sum)
    with pytest.raises(InvalidParameterError, match="var or rms"):
        overlap.aperture_sums(img, x, y, [4.0], rms=rms, var=rms)
    aperture_photometry(img, x, y, 4.0, bkgann=(8, 12), rms=rms, engine="kernel")
    tracemalloc.start()
    df = aperture_photometry(img, x, y, 4.0, bkgann=(8, 12), rms=rms, engine="kernel")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < img.nbytes // 2, peak                        # no 8-byte-a-pixel map
    ref = aperture_photometry(img, x, y, 4.0, bkgann=(8, 12), rms=rms, engine="sep")
    # sep sums a float64 variance map with its float64 overlap, exact to ~1e-9 only (see
    # test_sep_float64_precision above)
    np.testing.assert_allclose(df["sumerr"], ref["sumerr"], rtol=1e-8)


def test_helper_threads_spread_over_cpus_leave_caller_and_numbers_alone(monkeypatch):
    # helpers are placed on the other CPUs of the caller's set; the caller's own affinity
    # is never changed, a one-CPU set still works, and the bits do not depend on any of it
    import os
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("CPU affinity is Linux-only")
    rng = np.random.default_rng(5)
    img = rng.normal(size=(300, 300)).astype(np.float32)
    xs, ys = rng.uniform(10, 290, 2000), rng.uniform(10, 290, 2000)
    before = os.sched_getaffinity(0)
    spread = overlap.aperture_sums(img, xs, ys, 4.0, (8.0, 12.0), n_threads=4)
    assert os.sched_getaffinity(0) == before
    monkeypatch.setenv("ZTFIMG_SPREAD_THREADS", "0")
    unplaced = overlap.aperture_sums(img, xs, ys, 4.0, (8.0, 12.0), n_threads=4)
    monkeypatch.delenv("ZTFIMG_SPREAD_THREADS")
    one_cpu = min(before)
    try:
        os.sched_setaffinity(0, {one_cpu})
        pinned = overlap.aperture_sums(img, xs, ys, 4.0, (8.0, 12.0), n_threads=4)
        assert os.sched_getaffinity(0) == {one_cpu}
    finally:
        os.sched_setaffinity(0, before)
    single = overlap.aperture_sums(img, xs, ys, 4.0, (8.0, 12.0), n_threads=1)
    def fields(res):
        (circle,), annulus = res
        return [circle.sum, circle.area, circle.masked_area, annulus.sum, annulus.area]

    assert np.isfinite(fields(spread)[0]).all()
    for other in (unplaced, pinned, single):
        for a, b in zip(fields(spread), fields(other)):
            np.testing.assert_array_equal(a, b)
