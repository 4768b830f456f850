"""Forced PSF photometry with a pixel PSF (ztfimg.psfdiff): interpolation, fit, errors, flags."""

import time

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage
from scipy.special import erf

from ztfimg.errors import InvalidParameterError, ShapeMismatchError, ZTFImgError
from ztfimg.flags import PSFFlag, ApertureFlag
from ztfimg.psfdiff import PixelPSF, bspline, forced_psf_photometry
from ztfimg.simulate import gaussian_stars

FWHM = 2.3
GAIN = 6.0
RMS = 6.0


def gaussian_pixels(shape, cx, cy, fwhm):
    """Analytic pixel-integrated circular Gaussian of unit total flux centred at (cx, cy)."""
    s = fwhm / (2 * np.sqrt(2 * np.log(2))) * np.sqrt(2)
    j, i = np.arange(shape[1]), np.arange(shape[0])
    px = 0.5 * (erf((j - cx + 0.5) / s) - erf((j - cx - 0.5) / s))
    py = 0.5 * (erf((i - cy + 0.5) / s) - erf((i - cy - 0.5) / s))
    return py[:, None] * px[None, :]


@pytest.fixture(scope="module")
def psf():
    return PixelPSF(gaussian_pixels((25, 25), 12, 12, FWHM))


@pytest.fixture(scope="module")
def field():
    """A 1024^2 image of Gaussian stars on a grid (Poisson + sky noise), with truth."""
    rng = np.random.default_rng(11)
    gx, gy = np.meshgrid(np.arange(30, 1000, 48.0), np.arange(30, 1000, 48.0))
    x = gx.ravel() + rng.uniform(-0.5, 0.5, gx.size)
    y = gy.ravel() + rng.uniform(-0.5, 0.5, gx.size)
    flux = rng.uniform(100, 20000, x.size)
    model = gaussian_stars((1024, 1024), x, y, flux, FWHM)
    data = model + rng.normal(0, RMS, model.shape) + (rng.poisson(model * GAIN) / GAIN - model)
    blank_x, blank_y = gx.ravel() + 24.0, gy.ravel() + 24.0
    return data, x, y, flux, blank_x, blank_y


# ------------------------------------------------------------------ the interpolation
def test_bspline_is_a_partition_of_unity_and_has_its_textbook_values():
    t = np.linspace(-0.5, 0.5, 11)
    for order in (1, 3, 5):
        total = sum(bspline(t - k, order) for k in range(-4, 5))
        np.testing.assert_allclose(total, 1.0, atol=1e-12)
    assert bspline(0.0, 3) == pytest.approx(2 / 3)
    assert bspline(1.0, 3) == pytest.approx(1 / 6)
    assert bspline(0.0, 5) == pytest.approx(11 / 20)
    assert bspline(3.0, 5) == 0.0


@pytest.mark.parametrize("x,y", [(100.3, 50.6), (10.5, 20.5), (33.49, 12.51), (7.0, 7.0)])
def test_shifted_psf_matches_the_analytic_gaussian(psf, x, y):
    st, x0, y0 = psf.get_psf_stamps(x, y, 25)
    truth = gaussian_pixels((25, 25), x - x0[0], y - y0[0], FWHM)
    err = np.abs(st[0] - truth).max() / truth.max()
    assert err < 0.005                      # quintic spline: <= 0.4% of the peak at FWHM 2.3
    assert st[0].sum() == pytest.approx(1.0, abs=1e-5)
    yy, xx = np.mgrid[0:25, 0:25]
    assert (st[0] * xx).sum() / st[0].sum() + x0[0] == pytest.approx(x, abs=0.01)
    assert (st[0] * yy).sum() / st[0].sum() + y0[0] == pytest.approx(y, abs=0.01)


def test_quintic_beats_cubic_on_a_half_pixel_shift():
    img = gaussian_pixels((25, 25), 12, 12, 2.0)
    errs = {}
    for order in (3, 5):
        st, x0, y0 = PixelPSF(img, order=order).get_psf_stamps(12.5, 12.5, 25)
        truth = gaussian_pixels((25, 25), 12.5 - x0[0], 12.5 - y0[0], 2.0)
        errs[order] = np.abs(st[0] - truth).max() / truth.max()
    assert errs[5] < 0.005 < errs[3] < 0.03


def test_resampling_equals_scipy_ndimage_shift(psf):
    pad = 20
    padded = np.pad(psf.image, pad)
    for x, y in ((100.3, 50.6), (33.49, 12.51), (-2.2, 4.4)):
        st, x0, y0 = psf.get_psf_stamps(x, y, 25)
        dx, dy = x - x0[0] - 12, y - y0[0] - 12
        ref = ndimage.shift(padded, (dy, dx), order=5, mode="mirror")[pad:-pad, pad:-pad]
        np.testing.assert_allclose(st[0], ref, atol=1e-9)


def test_psf_properties_and_render(psf):
    assert psf.fwhm == pytest.approx(FWHM, rel=0.01)
    assert psf.image.sum() == pytest.approx(1.0)
    assert not psf.image.flags.writeable
    assert psf.aperture_fraction(4.5) == pytest.approx(1.0, abs=2e-3)
    assert psf.aperture_fraction(1.0) < 0.5
    img = psf.render((60, 80), [20.3, 50.7], [30.2, 10.5], [1000.0, 500.0])
    assert img.sum() == pytest.approx(1500.0, rel=1e-4)
    ref = 1000 * gaussian_pixels((60, 80), 20.3, 30.2, FWHM) + 500 * gaussian_pixels(
        (60, 80), 50.7, 10.5, FWHM)
    assert np.abs(img - ref).max() < 0.005 * ref.max()
    assert "PixelPSF 25x25" in repr(psf)


def test_psf_negative_pixels_are_clipped_and_the_image_normalised():
    img = gaussian_pixels((15, 15), 7, 7, 2.5) * 40.0
    img[0, 0] = -1.0
    p = PixelPSF(img)
    assert p.image.min() == 0.0 and p.image.sum() == pytest.approx(1.0)
    q = PixelPSF(img, clip_negative=False, normalise=False)
    assert q.image[0, 0] == -1.0


@pytest.mark.parametrize("bad", [np.ones(5), np.ones((2, 2)), np.full((5, 5), np.nan),
                                 np.zeros((5, 5))])
def test_bad_psf_images(bad):
    with pytest.raises(InvalidParameterError):
        PixelPSF(bad)


def test_bad_psf_parameters():
    img = gaussian_pixels((15, 15), 7, 7, 2.5)
    with pytest.raises(InvalidParameterError):
        PixelPSF(img, order=4)
    with pytest.raises(InvalidParameterError):
        PixelPSF(img, center=(30, 2))


# ------------------------------------------------------------------ the fit
def test_noise_free_fluxes_are_exact_to_the_interpolation_error(psf):
    rng = np.random.default_rng(2)
    x = np.arange(40, 1000, 60) + rng.uniform(-0.5, 0.5, 16)
    y = np.full(16, 60.0) + rng.uniform(-0.5, 0.5, 16)
    data = gaussian_stars((120, 1040), x, y, 1000.0, FWHM)
    tab = forced_psf_photometry(data, x, y, psf, rms=1.0, aperture_radius=None)
    np.testing.assert_allclose(tab["flux"], 1000.0, rtol=2e-3)
    assert (tab["psf_flag"] == 0).all()
    # a negative source (a fading transient on a difference image) is measured, not flagged
    neg = forced_psf_photometry(-data, x, y, psf, rms=1.0, aperture_radius=None)
    np.testing.assert_allclose(neg["flux"], -1000.0, rtol=2e-3)
    assert (neg["psf_flag"] == 0).all()


def test_closed_form_equals_an_iterative_least_squares(psf):
    from scipy.optimize import least_squares
    rng = np.random.default_rng(3)
    data = gaussian_stars((80, 80), [40.3], [38.7], [2500.0], FWHM) + rng.normal(0, 5, (80, 80))
    tab = forced_psf_photometry(data, 40.3, 38.7, psf, rms=5.0, fit_background=True,
                                aperture_radius=None)
    st, x0, y0 = psf.get_psf_stamps(40.3, 38.7, 25)
    yy, xx = np.mgrid[0:25, 0:25]
    disc = (xx + x0[0] - 40.3) ** 2 + (yy + y0[0] - 38.7) ** 2 <= 12 ** 2
    cut = data[y0[0]:y0[0] + 25, x0[0]:x0[0] + 25]
    res = least_squares(lambda p: (p[0] * st[0] + p[1] - cut)[disc], [1000.0, 0.0])
    assert tab["flux"].iloc[0] == pytest.approx(res.x[0], rel=1e-6)
    assert tab["background"].iloc[0] == pytest.approx(res.x[1], abs=1e-6)


def test_pulls_of_stars_and_blank_positions(psf, field):
    data, x, y, flux, bx, by = field
    tab = forced_psf_photometry(data, x, y, psf, rms=RMS, gain=GAIN)
    pull = (tab["flux"] - flux) / tab["fluxerr"]
    assert abs(pull.mean()) < 0.15 and 0.9 < pull.std() < 1.1
    assert abs(np.median((tab["flux"] - flux) / flux)) < 2e-3
    assert 0.9 < tab["chi2"].median() < 1.1
    ap = (tab["fluxap"] - flux) / tab["fluxaperr"]
    assert abs(ap.mean()) < 0.15 and 0.9 < ap.std() < 1.1
    blank = forced_psf_photometry(data, bx, by, psf, rms=RMS, gain=GAIN)
    p = blank["flux"] / blank["fluxerr"]
    assert abs(p.mean()) < 0.15 and 0.9 < p.std() < 1.1
    # without the source's Poisson noise the bright stars' errors are too small
    nogain = forced_psf_photometry(data, x, y, psf, rms=RMS)
    bright = flux > 10000
    assert ((nogain["flux"] - flux) / nogain["fluxerr"])[bright].std() > 1.5


def test_rescaling_by_chi2_repairs_underestimated_errors(psf, field):
    data, x, y, flux, bx, by = field
    tab = forced_psf_photometry(data, bx, by, psf, rms=0.6 * RMS, gain=GAIN)
    assert tab["chi2"].median() == pytest.approx(1 / 0.36, rel=0.1)
    assert (tab["flux"] / tab["fluxerr"]).std() > 1.5
    fixed = forced_psf_photometry(data, bx, by, psf, rms=0.6 * RMS, gain=GAIN,
                                  rescale_errors=True)
    assert 0.9 < (fixed["flux"] / fixed["fluxerr"]).std() < 1.1
    np.testing.assert_allclose(fixed["errscale"], np.sqrt(fixed["chi2"]))
    honest = forced_psf_photometry(data, bx, by, psf, rms=RMS, gain=GAIN, rescale_errors=True)
    assert (honest["errscale"] >= 1).all() and honest["errscale"].median() < 1.05


def test_a_background_offset_is_removed_by_the_background_fit(psf, field):
    data, x, y, flux, bx, by = field
    offset = data + 3.0
    biased = forced_psf_photometry(offset, bx, by, psf, rms=RMS, gain=GAIN)
    fitted = forced_psf_photometry(offset, bx, by, psf, rms=RMS, gain=GAIN, fit_background=True)
    assert (biased["flux"] / biased["fluxerr"]).mean() > 1.5
    p = fitted["flux"] / fitted["fluxerr"]
    assert abs(p.mean()) < 0.15 and 0.9 < p.std() < 1.1
    assert fitted["background"].mean() == pytest.approx(3.0, abs=0.2)
    assert abs((fitted["fluxap"] / fitted["fluxaperr"]).mean()) < 0.15


def test_extra_variance_map_enters_the_errors(psf):
    rng = np.random.default_rng(5)
    extra = np.full((200, 200), 64.0)                  # an extra 8 DN of noise per pixel
    data = rng.normal(0, np.sqrt(RMS ** 2 + 64.0), (200, 200))
    xs, ys = np.meshgrid(np.arange(20, 190, 10.0), np.arange(20, 190, 10.0))
    with_var = forced_psf_photometry(data, xs.ravel(), ys.ravel(), psf, rms=RMS, variance=extra)
    without = forced_psf_photometry(data, xs.ravel(), ys.ravel(), psf, rms=RMS)
    ratio = with_var["fluxerr"] / without["fluxerr"]
    np.testing.assert_allclose(ratio, np.sqrt(RMS ** 2 + 64) / RMS, rtol=1e-6)
    aratio = with_var["fluxaperr"] / without["fluxaperr"]
    np.testing.assert_allclose(aratio, np.sqrt(RMS ** 2 + 64) / RMS, rtol=1e-6)
    scalar = forced_psf_photometry(data, xs.ravel(), ys.ravel(), psf, rms=RMS, variance=64.0)
    np.testing.assert_allclose(scalar["fluxerr"], with_var["fluxerr"])


# ------------------------------------------------------------------ rows, flags, inputs
def test_rows_line_up_and_bad_rows_are_flagged(psf):
    rng = np.random.default_rng(6)
    data = rng.normal(0, RMS, (100, 120))
    mask = np.zeros(data.shape, bool)
    mask[50, 60] = True
    x = pd.Series([60.2, -40.0, np.nan, 2.0, 60.0, 119.4], index=list("abcdef"))
    y = np.array([50.1, 30.0, 20.0, 50.0, 50.0, 99.4])
    before = data.copy()
    tab = forced_psf_photometry(data, x, y, psf, rms=RMS, mask=mask)
    np.testing.assert_array_equal(data, before)
    assert list(tab.index) == list("abcdef")
    assert tab.loc["a", "psf_flag"] & PSFFlag.MASKED
    assert tab.loc["a", "psf_masked_frac"] > 0.1
    for k in "bc":
        assert tab.loc[k, "psf_flag"] == PSFFlag.OFF_IMAGE and np.isnan(tab.loc[k, "flux"])
    assert tab.loc["d", "psf_flag"] & PSFFlag.EDGE and np.isfinite(tab.loc["d", "flux"])
    assert tab.loc["d", "aper_flag"] & ApertureFlag.PARTIAL
    assert tab.loc["f", "psf_flag"] & PSFFlag.EDGE
    assert not (tab["psf_flag"] & PSFFlag.NEGATIVE).any()
    assert tab.attrs["fit_radius"] == 12.0 and tab.attrs["aperture_radius"] == 4.5


def test_all_masked_position_has_no_measurement(psf):
    data = np.zeros((60, 60))
    mask = np.zeros(data.shape, bool)
    mask[10:50, 10:50] = True
    tab = forced_psf_photometry(data, 30.0, 30.0, psf, rms=1.0, mask=mask, fit_radius=5)
    assert tab["psf_flag"].iloc[0] & PSFFlag.NO_DATA
    assert np.isnan(tab["flux"].iloc[0]) and tab["psf_masked_frac"].iloc[0] == 1.0


def test_1500_positions_on_a_quadrant_are_fast(psf):
    rng = np.random.default_rng(7)
    data = rng.normal(0, RMS, (3080, 3072)).astype(np.float32)
    x, y = rng.uniform(0, 3071, 1500), rng.uniform(0, 3079, 1500)
    forced_psf_photometry(data, x[:10], y[:10], psf, rms=RMS, engine="sep")
    t0 = time.perf_counter()
    tab = forced_psf_photometry(data, x, y, psf, rms=RMS, gain=GAIN, engine="sep")
    assert time.perf_counter() - t0 < 1.0
    assert len(tab) == 1500 and tab["flux"].notna().all()


@pytest.mark.parametrize("kwargs,exc", [
    (dict(psf=np.ones((5, 5))), InvalidParameterError),
    (dict(data=np.ones(10)), InvalidParameterError),
    (dict(mask=np.zeros((3, 3), bool)), ShapeMismatchError),
    (dict(rms=-1.0), InvalidParameterError),
    (dict(rms=np.ones((3, 3))), ShapeMismatchError),
    (dict(variance=-2.0), InvalidParameterError),
    (dict(gain=0.0), InvalidParameterError),
    (dict(fit_radius=0.5), InvalidParameterError),
    (dict(aperture_radius=-1.0), InvalidParameterError),
    (dict(x=[1.0, 2.0], y=[1.0, 2.0, 3.0]), ShapeMismatchError),
    (dict(x="ten"), InvalidParameterError),
    (dict(poisson_iterations=1.5), InvalidParameterError),
    (dict(chunk_size=0), InvalidParameterError),
    (dict(fit_background="yes"), InvalidParameterError),
])
def test_bad_inputs_raise_ztfimg_errors(psf, kwargs, exc):
    args = dict(data=np.zeros((50, 50)), x=[10.0, 20.0], y=[10.0, 20.0], psf=psf, rms=1.0)
    args.update(kwargs)
    with pytest.raises(exc) as info:
        forced_psf_photometry(args.pop("data"), args.pop("x"), args.pop("y"), args.pop("psf"),
                              **args)
    assert isinstance(info.value, ZTFImgError)
