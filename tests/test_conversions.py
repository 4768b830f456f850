import warnings

import numpy as np
import pytest

from ztfimg import photometry as ph
from ztfimg.errors import InvalidParameterError


def test_counts_mag_round_trip_and_errors():
    counts = np.array([1.0, 10.0, 1234.5, 1e6])
    err = np.array([0.1, 1.0, 12.345, 1e3])
    c0, e0 = counts.copy(), err.copy()
    mag, magerr = ph.counts_to_mag(counts, err, magzp=26.0, magzpunc=0.01)
    np.testing.assert_allclose(mag, 26.0 - 2.5 * np.log10(counts))
    np.testing.assert_allclose(magerr, np.hypot(2.5 / np.log(10) * err / counts, 0.01))
    back, backerr = ph.mag_to_counts(mag, ph.counts_to_mag(counts, err, magzp=26.0)[1], magzp=26.0)
    np.testing.assert_allclose(back, counts, rtol=1e-12)
    np.testing.assert_allclose(backerr, err, rtol=1e-12)
    np.testing.assert_array_equal(counts, c0)
    np.testing.assert_array_equal(err, e0)


def test_non_positive_counts_give_nan_quietly():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mag, err = ph.counts_to_mag([-5.0, 0.0, np.nan, 100.0], [1, 1, 1, 1], magzp=25.0)
    assert np.isnan(mag[:3]).all() and np.isnan(err[:3]).all()
    assert mag[3] == pytest.approx(20.0)
    m, e = ph.counts_to_mag(100.0, magzp=25.0)
    assert isinstance(m, float) and e is None


def test_ab_flux_of_known_magnitude():
    # AB zero: 3631 Jy
    f, _ = ph.mag_to_flux(0.0, wavelength=6000.0, unit="jy")
    assert f == pytest.approx(3631.0, rel=1e-3)
    f, _ = ph.mag_to_flux(20.0, wavelength=1.0, unit="ujy")
    assert f == pytest.approx(36.31, rel=1e-3)
    # f_lambda = f_nu c / lambda^2 for the same AB magnitude
    fnu, _ = ph.mag_to_flux(18.0, wavelength=6421.81, unit="fnu")
    flam, _ = ph.mag_to_flux(18.0, wavelength=6421.81, unit="flam")
    assert flam == pytest.approx(fnu * 2.99792458e18 / 6421.81**2, rel=2e-3)
    assert flam == pytest.approx(10 ** (-0.4 * (18 + 2.406)) / 6421.81**2)
    m, me = ph.flux_to_mag(flam, flam * 0.05, wavelength=6421.81)
    assert m == pytest.approx(18.0) and me == pytest.approx(1.0857362 * 0.05)


def test_counts_flux_round_trip_with_colour():
    c = np.array([50.0, 5000.0])
    f, fe = ph.counts_to_flux(c, c * 0.1, magzp=26.3, wavelength=4813.97, clrcoeff=0.1, colour=[0.5, 1.0])
    back, backerr = ph.flux_to_counts(f, fe, magzp=26.3, wavelength=4813.97, clrcoeff=0.1, colour=[0.5, 1.0])
    np.testing.assert_allclose(back, c)
    np.testing.assert_allclose(backerr, c * 0.1)
    m_nocol, _ = ph.counts_to_mag(c, magzp=26.3)
    m_col, _ = ph.counts_to_mag(c, magzp=26.3, clrcoeff=0.1, colour=[0.5, 1.0])
    np.testing.assert_allclose(m_col - m_nocol, [0.05, 0.1])


def test_bad_parameters():
    with pytest.raises(InvalidParameterError):
        ph.mag_to_flux(20, wavelength=5000, unit="watts")
    with pytest.raises(InvalidParameterError):
        ph.counts_to_mag(20, magzp=25, colour=0.5)
    assert ph.filter_wavelength("ZTF_g") == ph.filter_wavelength("zg") == 4813.97
    with pytest.raises(InvalidParameterError):
        ph.filter_wavelength("V")


def test_flux_is_linear_in_counts_negative_allowed():
    f, fe = ph.counts_to_flux([-100.0, 100.0], [10.0, 10.0], magzp=26.0, wavelength=6421.81, unit="ujy")
    assert f[0] == pytest.approx(-f[1]) and fe[0] == fe[1]
    assert f[1] == pytest.approx(3631e6 * 10 ** (-0.4 * (26.0 - 5.0)), rel=1e-3)
    c, ce = ph.flux_to_counts(f, fe, magzp=26.0, wavelength=6421.81, unit="ujy")
    np.testing.assert_allclose(c, [-100.0, 100.0])
    np.testing.assert_allclose(ce, [10.0, 10.0])
