import numpy as np
import pytest
from astropy.io import fits
from scipy.optimize import least_squares

from ztfimg import ScienceImage, bitmask, simulate
from ztfimg.bitmask import ZTFBit


def _fit_peak(data, x0, y0, fwhm, half=6):
    """Fit a Gaussian (+ constant) to the noisy pixels around (x0, y0): independent of the simulator."""
    xi, yi = int(round(x0)), int(round(y0))
    sub = data[yi - half:yi + half + 1, xi - half:xi + half + 1].astype(float)
    yy, xx = np.mgrid[yi - half:yi + half + 1, xi - half:xi + half + 1]

    def resid(p):
        a, x, y, s, b = p
        return (a * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * s**2)) + b - sub).ravel()

    p = least_squares(resid, [sub.max(), x0 + 0.3, y0 - 0.3, fwhm / 2.355, np.median(sub)]).x
    return p[1], p[2]


def test_injected_star_lands_at_coords_to_pixels(tmp_path):
    frame = simulate.simulate_quadrant(shape=(400, 420), seed=5, nstars=0, defects=False)
    import pandas as pd
    # bright isolated stars at chosen sky positions
    img0 = frame.to_image()
    ra, dec = img0.pixels_to_coords([100.3, 250.7, 320.1], [120.6, 200.2, 330.9])
    cat = pd.DataFrame({"ra": ra, "dec": dec, "mag": [15.0, 15.5, 16.0]})
    frame = simulate.simulate_quadrant(shape=(400, 420), seed=5, catalog=cat, defects=False)
    sci, _ = frame.write(tmp_path)
    img = ScienceImage.from_filename(sci)
    x, y = img.coords_to_pixels(cat["ra"], cat["dec"])
    for xi, yi in zip(x, y):
        fx, fy = _fit_peak(img.data, xi, yi, 2.0)
        assert abs(fx - xi) < 0.05 and abs(fy - yi) < 0.05


def test_frame_is_realistic(small_frame):
    f = small_frame
    h = f.header
    assert h["CTYPE1"] == "RA---TPV" and h["PV1_0"] != 0 and h["PV2_0"] != 0
    for key in ("GAIN", "READNOI", "SATURATE", "MAGZP", "MAGZPUNC", "CLRCOEFF", "PCOLOR", "SEEING",
                "FILTER", "FILTERID", "FIELDID", "CCDID", "QID", "RCID", "OBSJD", "EXPTIME", "APCOR5",
                "MAGLIM", "INFOBITS"):
        assert key in h, key
    img = f.to_image()
    # noise: pixels of empty sky have the Poisson + read noise variance
    sky_only = (f.model - f.sky < 0.01) & (f.mask == 0)
    resid = (f.data - f.sky)[sky_only]
    expected = np.sqrt(f.sky[sky_only] / f.gain + (f.readnoise / f.gain) ** 2)
    assert np.std(resid / expected) == pytest.approx(1.0, abs=0.02)
    counts = bitmask.count_bits(f.mask)
    for bit in (ZTFBit.SEXSOURCES, ZTFBit.PSFSOURCES, ZTFBit.LOWRESPONSIVITY, ZTFBit.DEAD,
                ZTFBit.NOISY, ZTFBit.NAN, ZTFBit.SPIKES):
        assert counts[bit] > 0, bit
    assert np.isnan(f.data).sum() == counts[ZTFBit.NAN]
    assert img.get_mask().sum() < img.get_mask(sexsources=True, psfsources=True).sum()


def test_saturation_flagged():
    import pandas as pd
    frame0 = simulate.simulate_quadrant(shape=(100, 100), seed=1, nstars=0)
    ra, dec = frame0.to_image().pixels_to_coords(50, 50)
    f = simulate.simulate_quadrant(shape=(100, 100), seed=1, catalog=pd.DataFrame({"ra": [ra], "dec": [dec], "mag": [9.0]}))
    sat = (f.mask & ZTFBit.SATURATED) != 0
    assert sat.sum() > 5 and np.all(f.data[sat] == f.header["SATURATE"])
    assert sat[50, 50]


def test_deterministic_and_written_files(tmp_path):
    a = simulate.simulate_quadrant(shape=(64, 80), seed=11)
    b = simulate.simulate_quadrant(shape=(64, 80), seed=11)
    assert np.array_equal(a.data, b.data, equal_nan=True) and a.truth.equals(b.truth)
    sci, msk = a.write(tmp_path)
    assert sci.endswith("_zr_c13_o_q3_sciimg.fits") and msk.endswith("_mskimg.fits")
    with fits.open(sci) as hd:
        assert hd[0].header["BITPIX"] == -32 and hd[0].data.dtype.byteorder == ">"
    with fits.open(msk) as hd:
        assert hd[0].header["BITPIX"] == 16 and "AIRCRAFT" in hd[0].header.comments["BIT00"]
    img = ScienceImage.from_filename(sci)
    assert np.array_equal(img.data, a.data, equal_nan=True) and np.array_equal(img.mask, a.mask)


def test_catalog_with_ps1_colour_term():
    import pandas as pd
    frame0 = simulate.simulate_quadrant(shape=(200, 200), seed=2, nstars=0)
    ra, dec = frame0.to_image().pixels_to_coords([50, 150], [50, 150])
    cat = pd.DataFrame({"ra": ra, "dec": dec, "gmag": [17.0, 18.0], "rmag": [16.5, 16.8], "imag": [16.3, 16.4]})
    f = simulate.simulate_quadrant(shape=(200, 200), seed=2, catalog=cat, magzp=26.0, clrcoeff=0.1)
    expected = 10 ** (-0.4 * (cat["rmag"] - 0.1 * (cat["gmag"] - cat["rmag"]) - 26.0))
    np.testing.assert_allclose(f.truth["flux"], expected)
    assert "gmag" in f.truth and cat.shape == (2, 5)  # caller frame untouched


def test_filename_without_fieldid_falls_back_to_dbfield_then_says_what_is_missing():
    import dataclasses

    from ztfimg.errors import HeaderKeywordError
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=1, nstars=5)
    assert frame.filename == "ztf_20200924431770_000655_zr_c13_o_q3_sciimg.fits"
    h = frame.header.copy()
    del h["FIELDID"]
    h["DBFIELD"] = 700
    assert dataclasses.replace(frame, header=h).filename == \
        "ztf_20200924431770_000700_zr_c13_o_q3_sciimg.fits"
    del h["DBFIELD"]
    with pytest.raises(HeaderKeywordError, match="FIELDID or DBFIELD is missing"):
        dataclasses.replace(frame, header=h).filename
    assert simulate.simulate_reference(frame).filename == "ztf_000655_zr_c13_q3_refimg.fits"


def test_simulators_use_the_public_filefracday_rule():
    import ztfimg.simseries
    assert not hasattr(simulate, "_filefracday")
    assert "_filefracday" not in open(ztfimg.simseries.__file__).read()


@pytest.mark.parametrize("seeing", [2.0, 3.0])
def test_header_apcor_describes_the_simulated_stars(seeing):
    # the header's APCORn are what an exact aperture collects of the simulator's own
    # (pixel-integrated) stars, averaged over sub-pixel position: corrected aperture
    # fluxes of bright isolated stars then equal the truth. The continuous Gaussian's
    # fraction left -0.17 / -0.10 / -0.05 mag at 2 / 3 / 4 px (FWHM 2 px).
    from ztfimg.image import ScienceImage
    f = simulate.simulate_quadrant(shape=(512, 512), seed=4, nstars=40, seeing=seeing,
                                   defects=False, mag_range=(14.0, 16.5))
    z = ScienceImage.from_arrays(f.data, f.header, f.mask)
    t = f.truth[f.truth["inside"] & f.truth["x"].between(20, 490) & f.truth["y"].between(20, 490)]
    assert len(t) > 20
    for diam in (2.0, 3.0, 4.0, 6.0, 10.0):
        ph = z.aperture_photometry(t["x"].to_numpy(), t["y"].to_numpy(), diam / 2,
                                   bkgann=(15, 20), apcor=True, sky_estimator="median")
        offset = 2.5 * np.log10(np.median(ph["sum_apcor"].to_numpy() / t["flux"].to_numpy()))
        assert abs(offset) < 0.004, (diam, offset)
    assert f.header["APCOR1"] < f.header["APCOR2"] < f.header["APCOR3"] < f.header["APCOR6"] <= 0
