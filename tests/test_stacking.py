"""ztfimg.stacking: stacks of simulated frames with known shifts, zero points and masks.

Must show (issue 14): star positions within 0.05 px of truth on the output grid, fluxes
conserved to 0.5% after zero-point scaling, masked pixels excluded, the noise of the stack
as expected from N frames, and a written stack that opens as a ReferenceImage.
"""

import math
import os
import tracemalloc

import numpy as np
import pandas as pd
import pytest
import sep
from astropy.wcs import WCS

from ztfimg import simulate
from ztfimg.bitmask import ZTFBit
from ztfimg.errors import HeaderKeywordError, InvalidParameterError, ZTFImgError
from ztfimg.stacking import Stack, as_grid, plan_tiles, prepare_frames, stack
from ztfimg.stacking.grid import footprint

SHAPE = (300, 300)
ZP = 26.3


def _header(shape=SHAPE, **kw):
    h = simulate.make_header(shape, **kw)
    h["NAXIS1"], h["NAXIS2"] = shape[1], shape[0]
    return h


@pytest.fixture(scope="module")
def lattice():
    """64 bright isolated stars on a jittered lattice (ra, dec, mag)."""
    rng = np.random.default_rng(5)
    g = np.arange(25, 280, 32.0)
    x, y = np.meshgrid(g, g)
    x = x.ravel() + rng.uniform(-4, 4, x.size)
    y = y.ravel() + rng.uniform(-4, 4, y.size)
    ra, dec = WCS(_header()).all_pix2world(x, y, 0)
    return pd.DataFrame({"ra": ra, "dec": dec, "mag": rng.uniform(14.5, 16.5, x.size)})


@pytest.fixture(scope="module")
def dithered(lattice):
    """10 frames dithered by up to 8" with different zero points (+-0.25 mag) and seeing."""
    rng = np.random.default_rng(11)
    frames = []
    for i in range(10):
        dra, ddec = rng.uniform(-8, 8, 2) / 3600
        frames.append(simulate.simulate_quadrant(
            shape=SHAPE, seed=10 + i, catalog=lattice,
            ra=55.0608 + dra / math.cos(math.radians(33.35)), dec=33.35 + ddec,
            magzp=ZP + rng.uniform(-0.25, 0.25), seeing=rng.uniform(1.8, 2.6)))
    return frames


def _measure(st, cat, zp):
    """Windowed centroids and annulus-subtracted aperture fluxes at the true positions."""
    x, y = st.wcs.all_world2pix(cat.ra, cat.dec, 0)
    inside = (x > 15) & (x < SHAPE[1] - 15) & (y > 15) & (y < SHAPE[0] - 15)
    data = np.ascontiguousarray(st.data - st.globmed, dtype=np.float64)
    bad = ~np.isfinite(data)
    data[bad] = 0.0
    xw, yw, _ = sep.winpos(data, x[inside], y[inside], 1.0)
    flux, _, _ = sep.sum_circle(data, x[inside], y[inside], 9.0, bkgann=(11.0, 15.0),
                                mask=bad)
    truth = 10 ** (-0.4 * (cat.mag.to_numpy()[inside] - zp))
    return np.hypot(xw - x[inside], yw - y[inside]), flux / truth


# --------------------------------------------------------------------- must show
@pytest.mark.parametrize("method", ["interp", "adaptive"])
def test_positions_and_fluxes_on_the_grid(dithered, lattice, method):
    st = stack(dithered, zeropoint=ZP, reproject=method, progress=False)
    assert st.nframes == 10 and st.zeropoint == ZP
    offset, ratio = _measure(st, lattice, ZP)
    assert len(offset) >= 50
    assert offset.max() < 0.05, offset.max()          # every star within 0.05 px
    assert np.median(offset) < 0.02
    assert abs(np.median(ratio) - 1) < 0.005, np.median(ratio)   # flux to 0.5%
    assert abs(np.mean(ratio) - 1) < 0.005
    assert np.std(ratio) < 0.01


def test_zero_point_scaling_changes_fluxes_as_expected(dithered, lattice):
    st = stack(dithered[:4], zeropoint=ZP + 1.0, progress=False)
    _, ratio = _measure(st, lattice, ZP + 1.0)
    assert abs(np.median(ratio) - 1) < 0.006
    frames = st.frames
    expected = 10 ** (-0.4 * (frames["magzp"] - (ZP + 1.0)))
    np.testing.assert_allclose(frames["scale"], expected, rtol=1e-12)
    # without scaling to one zero point, the fluxes would be off by the zp spread
    assert frames["magzp"].max() - frames["magzp"].min() > 0.1


def _with_column(frame, col, value, masked):
    data = frame.data.copy()
    mask = frame.mask.copy()
    data[:, col] += value
    if masked:
        mask[:, col] |= np.int16(ZTFBit.NOISY)
    return (data, frame.header, mask)


def test_masked_column_leaves_no_trace(dithered):
    frames = dithered[:6]
    base = [(f.data, f.header, f.mask) for f in frames]
    clean_masked = base[:3] + [_with_column(frames[3], 150, 0.0, True)] + base[4:]
    bad_masked = base[:3] + [_with_column(frames[3], 150, 5000.0, True)] + base[4:]
    bad_open = base[:3] + [_with_column(frames[3], 150, 5000.0, False)] + base[4:]
    a = stack(clean_masked, progress=False)
    b = stack(bad_masked, progress=False)
    np.testing.assert_array_equal(a.data, b.data)      # the masked values do not matter
    np.testing.assert_array_equal(a.count, b.count)
    # where frame 3's column lands (1-2 grid columns), exactly one frame fewer was used
    ra, dec = WCS(frames[3].header).all_pix2world([150.0], [150.0], 0)
    gx = int(round(float(b.wcs.all_world2pix(ra, dec, 0)[0][0])))
    fewer = stack(base, progress=False).count - b.count
    assert set(np.unique(fewer)) == {0, 1}
    cols = np.flatnonzero(fewer.any(axis=0))
    assert 1 <= len(cols) <= 2 and abs(cols.mean() - gx) <= 1
    assert fewer[20:280, cols].sum(axis=1).min() >= 1   # along the whole column
    # the same column unmasked and unclipped leaves a 5000/6-DN streak: the test can fail
    c = stack(bad_open, sigma=None, progress=False)
    streak = (c.data[20:280, cols] - a.data[20:280, cols]).sum(axis=1)
    assert np.nanmedian(streak) > 300, np.nanmedian(streak)


def _noise_frames(n, shifts, seed0=100, shape=(200, 200)):
    out, models = [], []
    for i in range(n):
        f = simulate.simulate_quadrant(shape=shape, seed=seed0 + i, nstars=0, defects=False)
        h = f.header.copy()
        h["CRPIX1"] += shifts[i, 0]
        h["CRPIX2"] += shifts[i, 1]
        out.append((f.data, h, f.mask))
        models.append((f.model, h))
    sigma2 = float(np.mean([np.mean(m / 6.0 + (9.0 / 6.0) ** 2) for m, _ in models]))
    return out, models, sigma2


def _stack_noise(frames, models, combine):
    st = stack(frames, combine=combine, weights="equal", progress=False)
    sm = stack(models, combine=combine, weights="equal", sigma=None, progress=False)
    full = st.count == len(frames)
    resid = (st.data - sm.data)[full]
    return float(np.std(resid - resid.mean())), st, full


def test_noise_of_the_stack_integer_shifts():
    n = 16
    rng = np.random.default_rng(0)
    shifts = rng.integers(-4, 5, (n, 2)).astype(float)
    frames, models, sigma2 = _noise_frames(n, shifts)
    expected = math.sqrt(sigma2 / n)                     # sigma / sqrt(N)
    std_mean, st, full = _stack_noise(frames, models, "mean")
    assert 0.97 < std_mean / expected < 1.03, std_mean / expected
    # the weight map predicts it (from each frame's own noise estimate)
    pred = np.sqrt(np.median(st.variance[full]))
    assert 0.97 < pred / expected < 1.03, pred / expected
    std_med, _, _ = _stack_noise(frames, models, "median")
    mc = np.std(np.median(rng.normal(size=(100_000, n)), axis=1)) * math.sqrt(n)
    assert 1.15 < mc < 1.25
    assert abs(std_med / std_mean / mc - 1) < 0.05, (std_med / std_mean, mc)


def test_noise_of_the_stack_fractional_shifts():
    """Bilinear resampling by (a, b) scales a frame's variance by ((1-a)^2+a^2)((1-b)^2+b^2)."""
    n = 12
    rng = np.random.default_rng(1)
    shifts = rng.uniform(-4, 4, (n, 2))
    frames, models, sigma2 = _noise_frames(n, shifts, seed0=300)
    rel = (shifts - shifts[0]) % 1.0
    factor = ((1 - rel[:, 0]) ** 2 + rel[:, 0] ** 2) * ((1 - rel[:, 1]) ** 2 + rel[:, 1] ** 2)
    expected = math.sqrt(sigma2 * factor.mean() / n)
    std_mean, _, _ = _stack_noise(frames, models, "mean")
    assert 0.97 < std_mean / expected < 1.03, std_mean / expected
    assert std_mean < 0.9 * math.sqrt(sigma2 / n)        # the smoothing is real


def test_written_stack_opens_as_reference_image(dithered, tmp_path):
    from ztfimg import ReferenceImage
    path = tmp_path / "deep_refimg.fits"
    st = stack(dithered[:5], output=path, progress=False)
    ref = ReferenceImage(str(path))
    assert ref.magzp == pytest.approx(dithered[0].header["MAGZP"], abs=1e-9)
    assert ref.nframes == 5
    assert ref.globmed == pytest.approx(st.globmed)
    assert 150 < ref.globmed < 200                        # the sky, added back
    assert ref.filtername == "ztfr" and ref.fieldid == 655 and ref.rcid == 50
    assert ref.gain == pytest.approx(5 * 6.0, rel=0.2)     # ~N x gain at one scale
    jd = [f.header["OBSJD"] for f in dithered[:5]]
    assert ref.obsjd == pytest.approx(0.5 * (min(jd) + max(jd)))
    bkg = ref.get_background()
    assert bkg.globalback == pytest.approx(st.globmed)
    x, y = np.array([10.0, 150.0, 290.0]), np.array([5.0, 150.0, 280.0])
    ra1, dec1 = ref.wcs.all_pix2world(x, y, 0)
    ra0, dec0 = WCS(dithered[0].header).all_pix2world(x, y, 0)
    assert np.max(np.hypot((ra1 - ra0) * math.cos(math.radians(33.35)), dec1 - dec0)) \
        * 3600 < 1e-6
    np.testing.assert_array_equal(ref.data, st.data)
    back = Stack.from_file(path)
    np.testing.assert_array_equal(back.count, st.count)
    np.testing.assert_allclose(back.weight, st.weight)
    assert np.all(back.exposure[st.count == 5] == 5 * 30.0)
    with pytest.raises(OSError):
        st.write(path)                                   # no silent overwrite


# --------------------------------------------------------------------- behaviour
def test_interp_equals_reproject_interp_with_pixel_area():
    """The node-splined mapping + bilinear kernel reproduces reproject.reproject_interp."""
    from reproject import reproject_interp
    f = simulate.simulate_quadrant(shape=(160, 160), seed=3, nstars=30, defects=False)
    data = f.data.astype(np.float64)
    # a TAN grid, rotated by 25 deg and with 1.3"/px pixels
    grid_h = _header((120, 120), rotation=25.0, pixel_scale=1.3, pv=False)
    grid_h["CTYPE1"], grid_h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    for k in ("PV1_1", "PV2_1"):
        del grid_h[k]
    st = stack([(f.data, f.header)], grid=grid_h, sky=None, weights="equal", sigma=None,
               progress=False)
    ref, cover = reproject_interp((data, WCS(f.header)), WCS(grid_h), shape_out=(120, 120))
    area = (1.3 / 1.012) ** 2
    ok = (cover > 0) & np.isfinite(st.data)
    assert ok.sum() > 0.8 * ok.size
    np.testing.assert_allclose(st.data[ok], ref[ok] * area, rtol=2e-3)
    # exact mapping at every pixel (coord_step=1) agrees with the splined one
    st1 = stack([(f.data, f.header)], grid=grid_h, sky=None, weights="equal", sigma=None,
                coord_step=1, progress=False)
    np.testing.assert_allclose(st1.data[ok], st.data[ok], rtol=1e-4)


def test_tiling_does_not_change_the_result(dithered):
    # (sigma=None: clipping is discontinuous, a 1e-6 difference can flip a borderline value)
    frames = dithered[:4]
    whole = stack(frames, sigma=None, progress=False)
    tiled = stack(frames, tile=64, sigma=None, progress=False)
    np.testing.assert_allclose(tiled.data, whole.data, rtol=2e-5, atol=1e-3)
    np.testing.assert_array_equal(tiled.count, whole.count)


def test_plan_tiles_honours_mem_limit(dithered):
    items = prepare_frames(dithered)
    g = as_grid("first", items)
    fps = [footprint(f, g) for f in items]
    tiles = plan_tiles(g, fps, tile=1024, mem_limit=1e6)
    assert len(tiles) > 4
    assert sum((t.y1 - t.y0) * (t.x1 - t.x0) for t in tiles) == SHAPE[0] * SHAPE[1]
    for t in tiles:
        ny, nx = t.shape
        assert ny * nx * (4 * len(t.frames) + 96) <= 1e6
    with pytest.raises(InvalidParameterError, match="raise mem_limit"):
        plan_tiles(g, fps, tile=1024, mem_limit=1e3)


def test_memory_is_bounded_by_tiles(tmp_path):
    """From files, a stack of 30 frames never holds them: traced peak << all the frames."""
    paths = []
    for i in range(30):
        f = simulate.simulate_quadrant(shape=(256, 256), seed=500 + i, nstars=20,
                                       obsjd=2459116.9 + i * 0.01)
        f.header["CRPIX1"] += 0.37 * (i % 5)
        paths.append(f.write(tmp_path)[0])
    all_frames = 30 * 256 * 256 * (4 + 2)              # float32 pixels + int16 masks
    limit = 1.5e6
    stack(paths[:3], tile=64, progress=False)           # libraries loaded before tracing
    tracemalloc.start()
    st = stack(paths, mem_limit=limit, tile=256, sigma=None, progress=False)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    outputs = 256 * 256 * 14
    assert st.nframes == 30
    assert peak < limit + outputs + 2.5e6, peak        # 11.8 MB of frames never loaded
    assert peak < all_frames / 2.5
    # the same stack from memory gives the same pixels
    ref = stack(paths, sigma=None, progress=False)
    np.testing.assert_allclose(st.data, ref.data, rtol=2e-5, atol=1e-3)


def test_grid_options(dithered):
    from ztfimg import ReferenceImage
    frames = dithered[:3]
    ref = simulate.simulate_reference(dithered[5])
    img = ReferenceImage.from_arrays(ref.data, ref.header)
    a = stack(frames, grid=img, progress=False)
    b = stack(frames, grid=ref.header, progress=False)
    w = WCS(ref.header)
    c = stack(frames, grid=(w, SHAPE), progress=False)
    np.testing.assert_allclose(a.data, b.data, rtol=1e-6, equal_nan=True)
    np.testing.assert_allclose(a.data, c.data, rtol=1e-5, atol=1e-3, equal_nan=True)
    # a bigger grid than any frame: uncovered pixels are NaN with count 0
    h = _header((340, 340))
    big = stack(frames, grid=h, progress=False)
    assert big.shape == (340, 340)
    assert np.isnan(big.data[0, 0]) and big.count[0, 0] == 0 and big.weight[0, 0] == 0


def test_median_and_equal_weights_and_repr(dithered):
    st = stack(dithered[:5], combine="median", weights="equal", progress=False)
    assert st.header["COMBINE"] == "median" and st.header["SIGCLIP"] == -1.0
    assert "5 frames" in repr(st)
    assert not st.data.flags.writeable
    t = st.frames
    assert list(t["used"]) == [True] * 5 and np.allclose(t["weight"], 1.0)


def test_stack_on_dask_equals_serial(dithered):
    pytest.importorskip("distributed")
    frames = dithered[:3]
    serial = stack(frames, tile=128, progress=False)
    par = stack(frames, tile=128, client="processes", n_workers=1, progress=False)
    np.testing.assert_allclose(par.data, serial.data, rtol=1e-6)   # float32 rounding
    np.testing.assert_array_equal(par.count, serial.count)


def test_inputs_of_every_kind(dithered, tmp_path):
    from ztfimg import ScienceImage
    f = dithered[0]
    sci, msk = f.write(tmp_path)
    a = stack([sci], progress=False)                    # a file: its mask found beside it
    b = stack([ScienceImage(sci, msk)], progress=False)
    c = stack([f], progress=False)                      # a SimulatedFrame
    d = stack([f.to_image()], progress=False)           # a frame built from arrays
    for other in (b, c, d):
        np.testing.assert_array_equal(other.data, a.data)
    assert np.isnan(a.data[f.mask & int(ZTFBit.DEAD) != 0]).all()


def test_bad_input_raises_ztfimg_errors(dithered):
    f = dithered[0]
    other = simulate.simulate_quadrant(shape=(64, 64), seed=1, nstars=3, filtername="zg")
    cases = [
        dict(frames=[], kw={}), dict(frames=[f], kw=dict(combine="sum")),
        dict(frames=[f], kw=dict(reproject="nearest")), dict(frames=[f], kw=dict(sigma=-1)),
        dict(frames=[f], kw=dict(tile=4)), dict(frames=[f], kw=dict(grid="last")),
        dict(frames=[f], kw=dict(weights="snr")), dict(frames=[f], kw=dict(sky="mode")),
        dict(frames=[f], kw=dict(client="threads")), dict(frames=[f, other], kw={}),
        dict(frames=[42], kw={}), dict(frames=[f], kw=dict(mem_limit=0)),
    ]
    for case in cases:
        with pytest.raises(InvalidParameterError):
            stack(case["frames"], progress=False, **case["kw"])
    h = f.header.copy()
    del h["MAGZP"]
    with pytest.raises(HeaderKeywordError, match="MAGZP"):
        stack([(f.data, h)], progress=False)
    far = _header(SHAPE, ra=200.0, dec=-40.0)
    with pytest.raises(ZTFImgError, match="no frame overlaps"):
        stack([f], grid=far, progress=False)
    with pytest.raises(ZTFImgError):
        stack([(f.data, f.header, f.mask[:10])], progress=False)
    assert not os.path.exists("never.fits")


def test_collection_stack_is_the_stack_of_its_files(dithered, tmp_path):
    from ztfimg import ImageCollection
    files = [f.write(tmp_path / str(i))[0] for i, f in enumerate(dithered[:4])]
    col = ImageCollection.from_files(files)
    st = col.stack(progress=False)
    np.testing.assert_array_equal(st.data, stack(files, progress=False).data)
    np.testing.assert_array_equal(st.data, stack(dithered[:4], progress=False).data)
    assert st.nframes == 4


def test_stack_magzpunc_is_the_median_of_the_frames_that_have_one(dithered):
    # frames without MAGZPUNC are left out of the median (not counted as 0.0); none: absent
    def inputs(drop):
        out = []
        for k, f in enumerate(dithered[:4]):
            h = f.header.copy()
            h["MAGZPUNC"] = 0.001 * (k + 1)
            if k in drop:
                del h["MAGZPUNC"]
            out.append((f.data, h))
        return out
    st = stack(inputs({0}), sigma=None, progress=False)
    assert st.header["MAGZPUNC"] == pytest.approx(0.003)       # median of 0.002, 0.003, 0.004
    st = stack(inputs({0, 1, 2, 3}), sigma=None, progress=False)
    assert "MAGZPUNC" not in st.header
