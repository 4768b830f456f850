"""Aperture photometry: photutils agreement on the real quadrant, simulated fluxes, flags."""

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from photutils.aperture import CircularAnnulus, CircularAperture
from photutils.aperture import aperture_photometry as pu_photometry
from scipy.spatial import cKDTree

from ztfimg import simulate
from ztfimg.aperture import (APER_ALL_MASKED, APER_BAD_POSITION, APER_HAS_MASKED,
                             APER_NO_SKY, APER_OFF_IMAGE, APER_PARTIAL,
                             apcor_table_from_header, aperture_correction,
                             aperture_photometry, apply_aperture_correction, curve_of_growth)
from ztfimg.background import estimate_background
from ztfimg.errors import HeaderKeywordError, InvalidParameterError, ShapeMismatchError

SOURCE_BITS = np.int16((1 << 1) | (1 << 11))


@pytest.fixture(scope="module")
def real(real_quadrant_paths):
    sci, msk = real_quadrant_paths
    data = fits.getdata(sci).astype(np.float32)
    mask = fits.getdata(msk).astype(np.int16)
    bkg = estimate_background(data, mask != 0)
    return bkg.subtract(data), mask, fits.getheader(sci)


@pytest.fixture(scope="module")
def sim():
    frame = simulate.simulate_quadrant(shape=(1024, 1024), seed=5)
    bkg = estimate_background(frame.data, frame.mask != 0)
    t = frame.truth
    tree = cKDTree(np.c_[t["x"], t["y"]])
    d, _ = tree.query(np.c_[t["x"], t["y"]], k=2)
    iso = t[(d[:, 1] > 25) & (t["x"] > 30) & (t["x"] < 994) & (t["y"] > 30) & (t["y"] < 994)
            & (t["flux"] < 2e5)]
    return frame, bkg, iso


def test_exact_sums_match_photutils_on_real_quadrant(real):
    sub, _, _ = real
    rng = np.random.default_rng(42)
    n = 300
    x = rng.uniform(-3, sub.shape[1] + 2, n)       # some apertures cross the edges
    y = rng.uniform(-3, sub.shape[0] + 2, n)
    for r in rng.uniform(0.7, 25.0, 3):
        ours = aperture_photometry(sub, x, y, r)
        ref = pu_photometry(sub, CircularAperture(np.c_[x, y], r), method="exact")
        ref = np.asarray(ref["aperture_sum"], dtype=float)
        ok = ours["aper_flag"].to_numpy() & APER_OFF_IMAGE == 0
        np.testing.assert_allclose(ours["sum"].to_numpy()[ok], ref[ok], rtol=1e-6,
                                   atol=1e-6 * np.abs(ref).max())
        assert (ours["aper_flag"] & APER_PARTIAL).sum() > 0
    # the annulus mean: whole pixels with their centre inside by default (photutils
    # method="center"), exact-overlap weights with sky_subpix=0 (method="exact")
    x, y = x[10:60].clip(30, 3000), y[10:60].clip(30, 3000)
    ann = CircularAnnulus(np.c_[x, y], 8.0, 13.0)
    ours = aperture_photometry(sub, x, y, 3.0, bkgann=(8.0, 13.0), rms=5.8)
    tab = pu_photometry(sub, ann, method="center")
    npix = np.asarray(pu_photometry(np.ones_like(sub), ann, method="center")["aperture_sum"])
    np.testing.assert_allclose(ours["sky"], np.asarray(tab["aperture_sum"]) / npix, rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(ours["sky_npix"], npix)
    ours0 = aperture_photometry(sub, x, y, 3.0, bkgann=(8.0, 13.0), rms=5.8, sky_subpix=0)
    ref = np.asarray(pu_photometry(sub, ann, method="exact")["aperture_sum"]) / ann.area
    np.testing.assert_allclose(ours0["sky"], ref, rtol=1e-6, atol=1e-6)


def test_isolated_star_fluxes_and_errors(sim):
    frame, bkg, iso = sim
    sub = bkg.subtract(frame.data)
    detmask = (frame.mask & ~SOURCE_BITS) != 0
    assert len(iso) > 100
    true = iso["flux"].to_numpy()
    # background map subtracted, rms map for the noise
    p = aperture_photometry(sub, iso["x"], iso["y"], 8.0, rms=bkg.rms, gain=frame.gain,
                            mask=detmask)
    ok = (p["aper_flag"] == 0).to_numpy()
    pull = ((p["sum"].to_numpy() - true) / p["sumerr"].to_numpy())[ok]
    assert 0.9 <= pull.std() <= 1.15               # measured 1.01
    assert abs(np.median(pull)) < 0.3
    assert np.median(p["sum"].to_numpy()[ok] / true[ok]) == pytest.approx(1.0, abs=0.02)
    # local sky from an annulus (robust estimators), raw data
    for est in ("median", "sigclip"):
        p = aperture_photometry(frame.data, iso["x"], iso["y"], 8.0, rms=bkg.globalrms,
                                gain=frame.gain, mask=detmask, bkgann=(15.0, 25.0),
                                sky_estimator=est)
        ok = (p["aper_flag"] == 0).to_numpy()
        pull = ((p["sum"].to_numpy() - true) / p["sumerr"].to_numpy())[ok]
        assert 0.9 <= pull.std() <= 1.15           # measured 0.97
        truesky = frame.sky[np.round(iso["y"]).astype(int), np.round(iso["x"]).astype(int)]
        assert np.std(p["sky"].to_numpy() - truesky) < 0.25


def test_multi_radius_layout_and_index(sim):
    frame, bkg, iso = sim
    sub = bkg.subtract(frame.data)
    x = pd.Series(iso["x"].to_numpy()[:5], index=list("abcde"))
    y = iso["y"].to_numpy()[:5]
    p = aperture_photometry(sub, x, y, [2.0, 4.0, 6.0], rms=5.0)
    assert list(p.index) == list("abcde")
    assert p.attrs["radius"] == [2.0, 4.0, 6.0]
    for k in range(3):
        for c in ("sum", "sumerr", "area", "npix_masked", "masked_frac", "aper_flag"):
            assert f"{c}_{k}" in p.columns
    assert "aper_flag" in p and "sky" in p and "flag" not in p
    np.testing.assert_allclose(p["area_1"], np.pi * 16)
    single = aperture_photometry(sub, x, y, 4.0, rms=5.0)
    np.testing.assert_allclose(single["sum"], p["sum_1"])
    np.testing.assert_allclose(single["sumerr"], np.sqrt(25 * np.pi * 16))


def test_flags_nan_offimage_masked_and_rows_kept():
    rng = np.random.default_rng(0)
    data = rng.normal(0, 1, (100, 120)).astype(np.float32)
    mask = np.zeros(data.shape, bool)
    mask[40:60, 40:60] = True                     # a fully masked block
    mask[20, 20] = True
    data[80, 80] = np.nan                          # NaN pixel: treated as masked
    d0, m0 = data.copy(), mask.copy()
    x = np.array([50.0, 20.0, np.nan, -50.0, 0.0, 80.0, 60.0, 119.4])
    y = np.array([50.0, 20.0, 10.0, 10.0, 50.0, 80.0, np.inf, 99.0])
    x0, y0 = x.copy(), y.copy()
    p = aperture_photometry(data, x, y, 3.0, rms=1.0, mask=mask, gain=5.0)
    np.testing.assert_array_equal(data, d0)
    np.testing.assert_array_equal(mask, m0)
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(y, y0)
    assert len(p) == len(x)
    f = p["aper_flag"].to_numpy()
    assert f[0] & APER_ALL_MASKED and np.isnan(p["sum"][0])
    assert f[1] & APER_HAS_MASKED and np.isfinite(p["sum"][1])
    assert p["npix_masked"][1] == pytest.approx(1.0)
    assert f[2] == APER_BAD_POSITION and np.isnan(p["sum"][2]) and np.isnan(p["sky"][2])
    assert f[3] & APER_OFF_IMAGE and np.isnan(p["sum"][3])
    assert f[4] & APER_PARTIAL and np.isfinite(p["sum"][4])
    # the frame edge is at x = -0.5: the circle loses the segment beyond it
    segment = 9 * np.arccos(0.5 / 3) - 0.5 * np.sqrt(9 - 0.25)
    assert p["area"][4] == pytest.approx(np.pi * 9 - segment, rel=1e-9)
    assert f[5] & APER_HAS_MASKED and np.isfinite(p["sum"][5])
    assert f[6] == APER_BAD_POSITION
    assert f[7] & APER_PARTIAL
    # annulus wholly masked -> no sky
    big = np.zeros(data.shape, bool)
    big[30:70, 30:70] = True
    big[48:53, 48:53] = False
    q = aperture_photometry(data, [50.0], [50.0], 2.0, mask=big, bkgann=(8.0, 12.0),
                            sky_estimator="median")
    assert q["aper_flag"][0] & APER_NO_SKY and np.isnan(q["sum"][0])


def test_empty_and_bad_parameters():
    data = np.zeros((50, 50), np.float32)
    p = aperture_photometry(data, [], [], 3.0)
    assert len(p) == 0 and "sum" in p and "aper_flag" in p
    p = aperture_photometry(data, np.array([]), np.array([]), [2.0, 3.0])
    assert len(p) == 0 and "sum_1" in p
    for bad in (0.0, -1.0, np.nan, [2.0, 0.0]):
        with pytest.raises(InvalidParameterError):
            aperture_photometry(data, [10.0], [10.0], bad)
    for ann in ((5.0, 5.0), (6.0, 4.0), (-1.0, 3.0), (3.0,)):
        with pytest.raises(InvalidParameterError):
            aperture_photometry(data, [10.0], [10.0], 2.0, bkgann=ann)
    with pytest.raises(InvalidParameterError):
        aperture_photometry(data, [10.0], [10.0], 2.0, bkgann=(4, 6), sky_estimator="mode")
    with pytest.raises(ShapeMismatchError):
        aperture_photometry(data, [10.0, 11.0], [10.0], 2.0)
    with pytest.raises(ShapeMismatchError):
        aperture_photometry(data, [10.0], [10.0], 2.0, mask=np.zeros((5, 5), bool))
    with pytest.raises(ShapeMismatchError):
        aperture_photometry(data, [10.0], [10.0], 2.0, rms=np.ones((5, 5)))
    with pytest.raises(InvalidParameterError):
        aperture_photometry(data, [10.0], [10.0], 2.0, gain=0.0)


def test_error_terms():
    data = np.zeros((60, 60), np.float32)
    data[30, 30] = 1000.0
    p = aperture_photometry(data, [30.0], [30.0], 5.0, rms=2.0, gain=4.0, bkgann=(10, 20))
    # the annulus: the pixels whose centre lies in it, counted independently (off-grid
    # centre, so that no pixel centre sits exactly on a circle)
    pa = aperture_photometry(data, [30.3], [30.4], 5.0, rms=2.0, bkgann=(10, 20))
    yy, xx = np.mgrid[0:60, 0:60]
    d2 = (xx - 30.3) ** 2 + (yy - 30.4) ** 2
    assert pa["sky_npix"][0] == int(((d2 >= 100) & (d2 < 400)).sum())
    n_ann = p["sky_npix"][0]
    assert abs(n_ann - np.pi * 300) < 15
    area = np.pi * 25
    expected = np.sqrt(4 * area + 1000 / 4 + area ** 2 * (4 / n_ann))
    assert p["sumerr"][0] == pytest.approx(expected, rel=1e-6)
    p0 = aperture_photometry(data, [30.0], [30.0], 5.0, rms=2.0, gain=4.0, bkgann=(10, 20), sky_subpix=0)
    expected0 = np.sqrt(4 * area + 1000 / 4 + area ** 2 * (4 / (np.pi * 300)))
    assert p0["sumerr"][0] == pytest.approx(expected0, rel=1e-6)
    # without rms: the annulus scatter is used; without annulus either: NaN
    q = aperture_photometry(data, [30.0], [30.0], 5.0)
    assert np.isnan(q["sumerr"][0]) and q["sum"][0] == pytest.approx(1000.0)


def test_curve_of_growth_gaussian():
    from ztfimg.simulate import gaussian_stars
    fwhm = 6.0
    xs = np.array([40.3, 120.7, 200.1, 80.5])
    ys = np.array([50.2, 150.9, 60.4, 200.6])
    img = gaussian_stars((256, 256), xs, ys, np.full(4, 1e5), fwhm).astype(np.float32)
    radii = [2.0, 4.0, 6.0, 10.0, 25.0]
    cog = curve_of_growth(img, xs, ys, radii)
    assert list(cog["radius"]) == radii and (cog["nstars"] == 4).all()
    # pixel integration broadens the Gaussian: sigma^2 + 1/12
    sigma2 = (fwhm / 2.3548) ** 2 + 1 / 12
    expect = 1 - np.exp(-np.array(radii) ** 2 / (2 * sigma2))
    np.testing.assert_allclose(cog["fraction"], expect / expect[-1], atol=0.005)
    assert cog["fraction"].iloc[-1] == 1.0
    with pytest.raises(InvalidParameterError):
        curve_of_growth(img, xs, ys, radii, norm_radius=5.0)


def test_apcor_from_real_header(real):
    _, _, header = real
    table = apcor_table_from_header(header)
    assert sorted(table) == [2.0, 3.0, 4.0, 6.0, 10.0, 14.0]
    corr, unc = aperture_correction(1.5, table)
    assert corr == pytest.approx(-0.32071051)
    flux, err = apply_aperture_correction(np.array([1000.0]), np.array([10.0]), radius=1.5,
                                          apcor=table)
    assert flux[0] == pytest.approx(1000 * 10 ** (0.4 * 0.32071051))
    assert err[0] > 10 * 10 ** (0.4 * 0.32071051)
    mag, merr = apply_aperture_correction(18.0, 0.05, radius=1.5, apcor=table, kind="mag")
    assert mag == pytest.approx(18.0 - 0.32071051) and merr == pytest.approx(np.hypot(0.05, unc))
    with pytest.raises(InvalidParameterError):
        aperture_correction(2.5, table)
    with pytest.raises(HeaderKeywordError):
        apcor_table_from_header({"APCOR1": 0.1})
    with pytest.raises(InvalidParameterError):
        apply_aperture_correction(1.0, radius=1.5, apcor=table, kind="jy")


def test_masked_pixels_left_out_not_rescaled():
    """sep rescales sums for masked pixels; ztfimg must leave them out, in the aperture
    and in the annulus, whatever their values."""
    data = np.full((60, 60), 10.0)
    mask = np.zeros((60, 60), bool)
    data[30, 30] = data[29, 30] = 1e6      # hot masked pixels in the aperture
    mask[30, 30] = mask[29, 30] = True
    data[30, 38:41] = -1e6                 # dead masked pixels in the annulus
    mask[30, 38:41] = True
    before = data.copy()
    p = aperture_photometry(data, [30.2], [30.1], 4.0, mask=mask, bkgann=(7.0, 11.0), rms=1.0)
    assert p["sky"][0] == pytest.approx(10.0, abs=1e-9)
    assert p["sum"][0] == pytest.approx(0.0, abs=1e-6)        # flat sky, nothing else
    assert p["npix_masked"][0] == pytest.approx(2.0, abs=0.05)
    assert p["area"][0] == pytest.approx(np.pi * 16 - p["npix_masked"][0])
    assert p["aper_flag"][0] & APER_HAS_MASKED
    yy, xx = np.mgrid[0:60, 0:60]
    d2 = (xx - 30.2) ** 2 + (yy - 30.1) ** 2
    assert p["sky_npix"][0] == ((d2 >= 49) & (d2 < 121) & ~mask).sum()
    np.testing.assert_array_equal(data, before)
    # a star on the same sky: its light comes out, the masked pixels do not bias it
    yy, xx = np.mgrid[0:60, 0:60]
    star = 500 * np.exp(-((xx - 30.2) ** 2 + (yy - 30.1) ** 2) / (2 * 1.0**2)) / (2 * np.pi)
    p2 = aperture_photometry(data + star, [30.2], [30.1], 4.0, mask=mask, bkgann=(7.0, 11.0))
    unmasked_star = star[~mask & ((xx - 30.2) ** 2 + (yy - 30.1) ** 2 < 16)].sum()
    assert p2["sum"][0] == pytest.approx(unmasked_star, rel=0.01)


def test_mask_neighbourhood_dilation_equals_a_maximum_filter():
    from scipy import ndimage

    from ztfimg.aperture import _dilate_blocks, _MaskNeighbourhood
    rng = np.random.default_rng(7)
    blocks = rng.random((61, 47)) < 0.03
    for k in (1, 2, 4, 9):
        expected = ndimage.maximum_filter(blocks, size=2 * k + 1, mode="constant", cval=False)
        np.testing.assert_array_equal(_dilate_blocks(blocks, k), expected)
    mask = rng.random((100, 90)) < 0.002
    b = _MaskNeighbourhood(mask).blocks
    ref = np.pad(mask, ((0, 12), (0, 6))).reshape(7, 16, 6, 16).any(axis=(1, 3))
    np.testing.assert_array_equal(b, ref)


def test_prepared_image_checks_its_noise_map_once_and_gives_the_same_numbers():
    # a PreparedImage made with rms= keeps the checked map; passing it back skips the
    # full-map check and gives the bits of an unprepared call with the same map
    from ztfimg.aperture import PreparedImage, prepare_image
    from ztfimg.errors import InvalidParameterError, ShapeMismatchError
    rng = np.random.default_rng(8)
    img = rng.normal(0.0, 3.0, (160, 170))
    mask = np.zeros(img.shape, bool)
    mask[40:44, 50:60] = True
    noise = rng.uniform(2.5, 3.5, img.shape).astype(np.float32)
    xs, ys = rng.uniform(5, 165, 40), rng.uniform(5, 155, 40)
    plain = aperture_photometry(img, xs, ys, [3.0, 5.0], bkgann=(8.0, 12.0), rms=noise,
                                mask=mask, gain=6.0)
    prep = prepare_image(img, mask, rms=noise)
    assert isinstance(prep, PreparedImage) and not prep.rms.flags.writeable
    again = aperture_photometry(prep, xs, ys, [3.0, 5.0], bkgann=(8.0, 12.0), rms=prep.rms,
                                gain=6.0)
    pd.testing.assert_frame_equal(plain, again)
    assert np.isfinite(again["sumerr_1"]).all()
    # a prepared image gains a map without losing what it holds
    bare = prepare_image(img, mask)
    assert bare.rms is None and prepare_image(bare) is bare
    with_map = prepare_image(bare, rms=noise)
    assert with_map.data is bare.data and with_map.mask is bare.mask
    # the check still happens once, at preparation
    bad = noise.copy()
    bad[3, 4] = np.nan
    with pytest.raises(InvalidParameterError, match="non-finite"):
        prepare_image(img, rms=bad)
    with pytest.raises(ShapeMismatchError):
        prepare_image(img, rms=noise[:-1])
    with pytest.raises(InvalidParameterError, match="map"):
        prepare_image(img, rms=3.0)
    # another map than the prepared one is checked on the call
    with pytest.raises(InvalidParameterError, match="non-finite"):
        aperture_photometry(prep, xs, ys, 3.0, rms=bad)
