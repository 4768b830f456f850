"""The shared input validation and its one broadcasting rule, alone and through its users."""

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord

from ztfimg.aperture import aperture_photometry, curve_of_growth
from ztfimg.catalog import match
from ztfimg.errors import InvalidParameterError, ShapeMismatchError, ZTFImgError
from ztfimg.psfphot import psf_photometry
from ztfimg.sources import extract_sources
from ztfimg.stamps import Stamp, cut_stamps
from ztfimg.validation import (as_annulus, as_gain, as_per_position, as_positions,
                               as_radii, as_rms, as_sky)


class GaussianPSF:
    fwhm = 2.5
    flux_scale = 1.0

    def get_psf_stamps(self, xs, ys, size, frame_origin=(0.0, 0.0)):
        x0 = np.floor(xs - (size - 1) / 2 + 0.5).astype(int)
        y0 = np.floor(ys - (size - 1) / 2 + 0.5).astype(int)
        ar = np.arange(size)
        dx = x0[:, None, None] + ar[None, None, :] - xs[:, None, None]
        dy = y0[:, None, None] + ar[None, :, None] - ys[:, None, None]
        s2 = (self.fwhm / 2.3548) ** 2
        return np.exp(-(dx ** 2 + dy ** 2) / (2 * s2)) / (2 * np.pi * s2), x0, y0


@pytest.fixture(scope="module")
def image():
    rng = np.random.default_rng(2)
    data = rng.normal(0.0, 1.0, (60, 70)).astype(np.float32)
    yy, xx = np.mgrid[0:60, 0:70]
    data += 200 * np.exp(-((xx - 30.2) ** 2 + (yy - 25.7) ** 2) / (2 * 1.3 ** 2))
    return data


# ------------------------------------------------------------------ as_positions
def test_positions_scalars_arrays_and_broadcast():
    xs, ys, scalar = as_positions(3, 4.5)
    assert scalar and xs.tolist() == [3.0] and ys.tolist() == [4.5]
    assert xs.dtype == ys.dtype == np.float64 and xs.ndim == 1
    xs, ys, scalar = as_positions([1, 2, 3], np.float32(7))
    assert not scalar and ys.tolist() == [7.0, 7.0, 7.0]
    xs, ys, scalar = as_positions(np.array(2.0), [5, 6])     # 0-d arrays are scalars
    assert xs.tolist() == [2.0, 2.0] and not scalar
    xs, ys, _ = as_positions([], [])
    assert xs.shape == ys.shape == (0,)
    xs, ys, _ = as_positions([np.nan, 1.0], [np.inf, 2.0])    # NaN allowed, callers flag
    assert np.isnan(xs[0]) and np.isinf(ys[0])
    xs, ys, _ = as_positions(pd.Series([1, 2], index=["a", "b"]), pd.Series([3.0, 4.0]))
    assert xs.tolist() == [1.0, 2.0]
    xs, ys, _ = as_positions(pd.Series([1, None], dtype="Int64"), [0, 0])
    assert np.isnan(xs[1])
    xs, _, _ = as_positions([1.0, 2.0] * u.pix, 3 * u.pix)
    assert xs.tolist() == [1.0, 2.0]


def test_positions_are_new_arrays():
    x = np.array([1.0, 2.0])
    xs, ys, _ = as_positions(x, 0.0)
    xs[0] = 99.0
    assert x[0] == 1.0


def test_positions_length_mismatch_names_both_lengths():
    with pytest.raises(ShapeMismatchError, match=r"x has 2 values and y has 1 value"):
        as_positions([1.0, 2.0], [3.0])                     # never numpy's broadcast
    with pytest.raises(ShapeMismatchError, match="3.*2"):
        as_positions([1, 2, 3], [1, 2], name="xs, ys")


@pytest.mark.parametrize("bad", [None, "12", b"1", ["1", "2"], [[1.0, 2.0], [3.0, 4.0]],
                                 [True, False], np.array([1 + 2j]), object(),
                                 [1.0, "a"], 2 * u.arcsec])
def test_positions_reject_what_is_not_pixels(bad):
    with pytest.raises(InvalidParameterError, match="x must be"):
        as_positions(bad, 1.0)


# ------------------------------------------------------------------ radii / annulus
def test_radii_numbers_and_quantities():
    r, scalar = as_radii(3)
    assert scalar and r.tolist() == [3.0] and r.dtype == np.float64
    r, scalar = as_radii([2, 3.5])
    assert not scalar and r.tolist() == [2.0, 3.5]
    assert as_radii(4 * u.pix)[0].tolist() == [4.0]
    assert as_radii([2, 4] * u.pix)[1] is False
    np.testing.assert_allclose(as_radii(2.024 * u.arcsec, pixel_scale=1.012)[0], [2.0])
    np.testing.assert_allclose(as_radii(0.1 * u.arcmin, pixel_scale=1.5)[0], [4.0])
    np.testing.assert_allclose(as_radii(1 * u.deg, pixel_scale=3600.0)[0], [1.0])
    np.testing.assert_allclose(
        as_radii([1 * u.arcsec, 2 * u.arcsec], pixel_scale=0.5 * u.arcsec / u.pix)[0], [2, 4])


@pytest.mark.parametrize("bad", [0, -1.0, np.nan, np.inf, [2.0, 0.0], [], [[1.0]], "3",
                                 None, True, 3 * u.m, [1.0, np.nan]])
def test_radii_rejects(bad):
    with pytest.raises(InvalidParameterError):
        as_radii(bad)


def test_angle_radius_needs_a_pixel_scale():
    with pytest.raises(InvalidParameterError, match="pixel_scale"):
        as_radii(2 * u.arcsec)
    with pytest.raises(InvalidParameterError, match="pixel_scale"):
        as_radii(2 * u.arcsec, pixel_scale=-1.0)
    with pytest.raises(InvalidParameterError, match="pixel_scale"):
        as_annulus((5, 8) * u.arcsec)


def test_annulus():
    assert as_annulus(None) is None
    assert as_annulus((8, 13)) == (8.0, 13.0)
    assert as_annulus([0, 2.5]) == (0.0, 2.5)
    assert as_annulus(np.array([3, 4])) == (3.0, 4.0)
    assert as_annulus((8, 13) * u.pix) == (8.0, 13.0)
    assert as_annulus((4 * u.arcsec, 8 * u.arcsec), pixel_scale=2.0) == (2.0, 4.0)
    for bad in ((5.0, 5.0), (6.0, 4.0), (-1.0, 3.0), (3.0,), (1, 2, 3), (1, np.nan), "ab",
                ((1, 2), 3), 5.0):
        with pytest.raises(InvalidParameterError):
            as_annulus(bad)


# ------------------------------------------------------------------ gain / rms
def test_gain_and_rms():
    assert as_gain(None) is None and as_gain(6) == 6.0 and as_gain(np.float32(6.2)) > 6
    for bad in (0, -1, np.nan, np.inf, "6", [6.0, 6.0], True):
        with pytest.raises(InvalidParameterError, match="gain"):
            as_gain(bad)
    assert as_rms(None) is None and as_rms(5.8) == 5.8 and isinstance(as_rms(2), float)
    m = np.ones((4, 5), np.float32)
    assert as_rms(m, (4, 5)) is m                  # not copied, not modified
    assert as_rms(np.zeros((2, 2))) is not None    # zeros allowed in a map
    for bad in (0, -2.0, np.nan, "1", True, np.ones(5), np.full((4, 5), np.nan),
                -np.ones((4, 5)), np.ones((4, 5), bool)):
        with pytest.raises(InvalidParameterError):
            as_rms(bad, (4, 5))
    with pytest.raises(ShapeMismatchError, match=r"\(3, 3\).*\(4, 5\)"):
        as_rms(np.ones((3, 3)), (4, 5))
    with pytest.raises(InvalidParameterError, match="err"):
        as_rms(-1.0, name="err")


def test_per_position_values():
    assert as_per_position(2.0, 3).tolist() == [2.0, 2.0, 2.0]
    assert as_per_position([1, 2, 3], 3).tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(ShapeMismatchError, match="1 values but there are 3"):
        as_per_position([1.0], 3)
    with pytest.raises(InvalidParameterError):
        as_per_position("a", 3)


# ------------------------------------------------------------------ sky
def test_sky_degrees_quantities_and_skycoord():
    ra, dec, scalar = as_sky(10.5, -3.0)
    assert scalar and ra.tolist() == [10.5] and dec.tolist() == [-3.0]
    ra_deg = np.array([10.0, 200.0, 359.5])
    dec_deg = np.array([-30.0, 0.0, 89.0])
    r1, d1, s1 = as_sky(np.radians(ra_deg) * u.rad, np.radians(dec_deg) * u.rad)
    np.testing.assert_allclose(r1, ra_deg, rtol=0, atol=1e-12)
    np.testing.assert_allclose(d1, dec_deg, rtol=0, atol=1e-12)
    assert not s1
    r2, d2, _ = as_sky(ra_deg * 60 * u.arcmin, dec_deg * u.deg)
    np.testing.assert_allclose(r2, ra_deg)
    r3, _, _ = as_sky(ra_deg / 15 * u.hourangle, dec_deg)
    np.testing.assert_allclose(r3, ra_deg)
    c = SkyCoord(ra_deg, dec_deg, unit="deg")
    r4, d4, s4 = as_sky(c)
    np.testing.assert_allclose(r4, ra_deg) and np.testing.assert_allclose(d4, dec_deg)
    assert not s4 and as_sky(c[0])[2]
    gal = c.galactic                                          # converted to ICRS
    r5, d5, _ = as_sky(gal)
    np.testing.assert_allclose(r5, ra_deg, atol=1e-9)
    np.testing.assert_allclose(d5, dec_deg, atol=1e-9)
    r6, d6, _ = as_sky(c.frame)
    np.testing.assert_allclose(r6, ra_deg)
    ra, dec, _ = as_sky([1.0, 2.0], 5.0)                      # a scalar broadcasts
    assert dec.tolist() == [5.0, 5.0]


def test_sky_rejects():
    with pytest.raises(ShapeMismatchError, match="ra has 2 values and dec has 1 value"):
        as_sky([1.0, 2.0], [3.0])
    for ra, dec in ((None, 1.0), ("10h20m", "+20d"), (10.0, "20"), (10.0, None),
                    (1 * u.m, 1.0), (1.0, 1 * u.hourangle), (SkyCoord(1, 2, unit="deg"), 2.0),
                    ([[1.0]], [[1.0]])):
        with pytest.raises(InvalidParameterError) as info:
            as_sky(ra, dec)
        assert isinstance(info.value, ZTFImgError) and "got" in str(info.value)


# ------------------------------------------------------------------ through the users
def test_level1_functions_follow_the_broadcasting_rule(image):
    psf = GaussianPSF()
    with pytest.raises(ShapeMismatchError, match="2 values.*1 value"):
        aperture_photometry(image, [10.0, 20.0], [30.0], 3.0)
    with pytest.raises(ShapeMismatchError):
        cut_stamps(image, [10.0, 20.0], [30.0], 5)
    with pytest.raises(ShapeMismatchError):
        psf_photometry(image, [10.0, 20.0], [30.0], psf, rms=1.0)
    with pytest.raises(ShapeMismatchError, match="sky"):
        psf_photometry(image, [10.0, 20.0], [30.0, 31.0], psf, rms=1.0, sky=[0.0])
    with pytest.raises(ShapeMismatchError):
        match([1.0, 2.0], [1.0], [1.0], [1.0], 1.0)
    # scalars broadcast everywhere
    p = aperture_photometry(image, 30.2, [25.7, 40.0], 3.0)
    assert p["x"].tolist() == [30.2, 30.2]
    st = cut_stamps(image, [30.0, 31.0], 25.0, 5)
    assert len(st) == 2 and (st.y0 == st.y0[0]).all()
    r = psf_photometry(image, [30.2, 10.0], 25.7, psf, rms=1.0, sky=0.0)
    assert len(r) == 2
    # the same rejections everywhere
    for call in (lambda: aperture_photometry(image, "30", 25.0, 3.0),
                 lambda: cut_stamps(image, None, 25.0, 5),
                 lambda: psf_photometry(image, [[1.0, 2.0]], [[1.0, 2.0]], psf, rms=1.0),
                 lambda: aperture_photometry(image, 30.0, 25.0, 3.0, gain=-1),
                 lambda: psf_photometry(image, 30.0, 25.0, psf, rms=1.0, gain=0.0),
                 lambda: extract_sources(image, err=1.0, gain="6"),
                 lambda: extract_sources(image, err=np.full(image.shape, np.nan)),
                 lambda: aperture_photometry(image, 30.0, 25.0, 3.0, rms=-1.0),
                 lambda: Stamp(image[:9, :9]).centroid(radius=-1.0)):
        with pytest.raises(InvalidParameterError):
            call()
    with pytest.raises(ShapeMismatchError):
        extract_sources(image, err=np.ones((3, 3)))


def test_quantity_radii_give_the_same_sums(image):
    x, y = [30.2, 12.0], [25.7, 40.5]
    plain = aperture_photometry(image, x, y, [2.0, 4.0], bkgann=(8.0, 12.0), rms=1.0)
    pix = aperture_photometry(image, x, y, [2.0, 4.0] * u.pix, bkgann=(8, 12) * u.pix, rms=1.0)
    scale = 1.012
    ang = aperture_photometry(image, x, y, np.array([2.0, 4.0]) * scale * u.arcsec,
                              bkgann=(8 * scale * u.arcsec, 12 * scale * u.arcsec),
                              rms=1.0, pixel_scale=scale)
    arcmin = aperture_photometry(image, x, y, np.array([2.0, 4.0]) * scale / 60 * u.arcmin,
                                 bkgann=np.array([8.0, 12.0]) * scale * u.arcsec, rms=1.0,
                                 pixel_scale=scale * u.arcsec / u.pix)
    for other in (pix, ang, arcmin):
        for c in ("sum_0", "sum_1", "sumerr_1", "area_1", "sky"):
            np.testing.assert_allclose(other[c], plain[c], rtol=1e-12, atol=1e-12)
        assert other.attrs["radius"] == pytest.approx([2.0, 4.0])
    single = aperture_photometry(image, x, y, 4.0 * scale * u.arcsec, pixel_scale=scale)
    assert "sum" in single and "sum_0" not in single               # a scalar stays scalar
    np.testing.assert_allclose(single["sum"], aperture_photometry(image, x, y, 4.0)["sum"])
    with pytest.raises(InvalidParameterError, match="pixel_scale"):
        aperture_photometry(image, x, y, 2 * u.arcsec)
    cog = curve_of_growth(image, [30.2], [25.7], [2, 4, 8] * u.pix)
    assert cog["radius"].tolist() == [2.0, 4.0, 8.0]


def test_match_takes_radians_and_skycoords():
    rng = np.random.default_rng(1)
    ra = 150 + rng.uniform(0, 0.01, 200)
    dec = 2 + rng.uniform(0, 0.01, 200)
    ra2 = ra + rng.normal(0, 0.3 / 3600, 200)
    dec2 = dec + rng.normal(0, 0.3 / 3600, 200)
    i, j, sep = match(ra, dec, ra2, dec2, 1.0)
    i2, j2, sep2 = match(np.radians(ra) * u.rad, np.radians(dec) * u.rad,
                         SkyCoord(ra2, dec2, unit="deg"), None, 1.0)
    assert i.tolist() == i2.tolist() and j.tolist() == j2.tolist()
    np.testing.assert_allclose(sep, sep2, rtol=1e-9)
    # separations are astropy's
    ref = SkyCoord(ra[i], dec[i], unit="deg").separation(SkyCoord(ra2[j], dec2[j], unit="deg"))
    np.testing.assert_allclose(sep, ref.arcsec, rtol=0, atol=1e-9)     # 1e-9 arcsec


def test_as_shape_is_the_one_image_shape_rule():
    """validation.as_shape, used by DAOPhotPSF.render, the stacking grid and the simulators:
    two whole numbers at least ``minimum``; a fraction is refused, not truncated."""
    import numpy as np
    from astropy.wcs import WCS

    from ztfimg.dao import DAOPhotReader
    from ztfimg.stacking import as_grid
    from ztfimg.validation import as_shape
    assert as_shape((3080.0, np.int64(3072))) == (3080, 3072)
    for bad in [(10.5, 10), (True, 3), "ab", (3,), None]:
        with pytest.raises(InvalidParameterError, match=r"\(rows, columns\), two whole numbers"):
            as_shape(bad)
    with pytest.raises(InvalidParameterError, match=r"at least 64x64 pixels; got \(32, 80\)"):
        as_shape((32, 80), minimum=64)
    # the callers: int(10.5) == 10 used to draw / grid silently on a truncated shape
    psf = DAOPhotReader.synthetic(1.5, seed=2)
    with pytest.raises(InvalidParameterError, match="two whole numbers"):
        psf.render((10.5, 10), [1.0], [1.0], [1.0])
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    with pytest.raises(InvalidParameterError, match="a grid shape must be"):
        as_grid((wcs, (10.5, 10)), [])
    assert as_grid((wcs, (10.0, 12)), []).shape == (10, 12)


@pytest.mark.parametrize("bad, words", [(np.nan, "1 non-finite"), (np.inf, "1 non-finite"),
                                        (-np.inf, "1 non-finite"), (-0.5, "negative")])
def test_as_rms_map_checks_each_kind_of_bad_pixel(bad, words):
    from ztfimg.validation import as_rms
    for dtype in (np.float32, np.float64):
        m = np.full((40, 30), 5.0, dtype)
        assert as_rms(m, (40, 30)) is not None
        m[17, 3] = bad
        with pytest.raises(InvalidParameterError, match=words):
            as_rms(m, (40, 30))
    ints = np.full((4, 3), 2, np.int16)
    ints[0, 0] = -1
    with pytest.raises(InvalidParameterError, match="negative"):
        as_rms(ints)
