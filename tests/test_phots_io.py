"""Light-curve data products (ztfimg.lightcurves.io): prose's .phots FITS layout, parquet.

The .phots file opens with plain astropy and shows prose's HDU list with its shapes; the
.phots and parquet round trips are exact (every array bit for bit, every table with its
types), for light curves measured on simulated frames and for hand-made ones with awkward
table columns.
"""

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.table import Table

from ztfimg import ImageCollection, LightCurves, simseries
from ztfimg.errors import FileFormatError, InvalidParameterError, MissingFileError
from ztfimg.lightcurves import DifferentialPhotometry, forced_photometry
from ztfimg.lightcurves.io import DIFFERENTIAL_HDUS, PHOTS_HDUS


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    s = simseries.simulate_series(tmp_path_factory.mktemp("io") / "frames", n_frames=5,
                                  shape=(256, 256), seed=8)
    st = s.stars[s.stars["mag"] < 18.5]
    ra0, dec0 = s.frames["ra"].mean(), s.frames["dec"].mean()
    near = np.hypot((st["ra"] - ra0) * np.cos(np.radians(dec0)), st["dec"] - dec0) < 0.028
    targets = st[near][["ra", "dec", "mag", "colour", "variable"]].reset_index(drop=True)
    targets.loc[len(targets)] = [ra0 + 1.0, dec0, np.nan, 0.0, False]      # off every frame
    lc = forced_photometry(ImageCollection.from_files(s.files), targets,
                           radius=[2.0, 3.0, 5.0], bkgann=(10.0, 15.0), progress=False)
    return lc


def awkward():
    """Hand-made light curves whose tables hold every column type the products keep."""
    rng = np.random.default_rng(0)
    flux = rng.normal(1000, 10, (2, 3, 4))
    flux[0, 1, 2] = np.nan
    stars = pd.DataFrame({"ra": [1.0, 2.0, 3.0], "dec": [-1.0, 0.0, 1.0],
                          "name": ["a star", "Éta", None],
                          "label": pd.Series(["p", None, "q"], dtype=object),
                          "gaia_id": pd.array([1234567890123456789, None, 7], dtype="Int64"),
                          "isvar": [True, False, True], "count": np.array([1, 2, 3], np.int16),
                          "mag": [15.0, np.nan, 17.25]})
    frames = pd.DataFrame({"obsjd": 2459000.5 + np.arange(4) / 3, "magzp": [26.0, 26.1, np.nan,
                                                                              26.3],
                           "filtername": ["ztfr", "ztfr", "ztfg", "ztfg"],
                           "file": ["/a/f0.fits", "/a/f1.fits", "/a/f2.fits", "/a/f3.fits"],
                           "fieldid": pd.array([655, 655, None, 656], dtype="Int64"),
                           "note": ["x", "", "y", "z"]})
    flags = rng.integers(0, 1024, (2, 3, 4))
    failed = pd.DataFrame({"file": ["/a/bad.fits"], "exception": ["FileFormatError"],
                           "message": ["truncated"]})
    return LightCurves(flux, np.abs(flux) * 0.01, flags, stars, frames, [3.0, 5.5],
                       x=rng.uniform(0, 100, (3, 4)), y=rng.uniform(0, 100, (3, 4)),
                       sky=rng.normal(150, 3, (3, 4)), bkgann=(10.0, 15.0), failed=failed,
                       meta={"max_seeing": 4.0, "photometry_kwargs": {"sky_estimator": "median"}})


# ------------------------------------------------------------------ .phots layout
def test_phots_layout_with_plain_astropy(measured, tmp_path):
    lc = measured
    nap, ns, nt = lc.shape
    path = lc.save(tmp_path / "lc.phots")
    with fits.open(path) as hdul:
        names = [h.name for h in hdul]
        assert tuple(names[:len(PHOTS_HDUS)]) == PHOTS_HDUS
        assert not set(DIFFERENTIAL_HDUS) & set(names)
        assert hdul["PHOTOMETRY"].data.shape == (nap, ns, nt)
        assert hdul["PHOTOMETRY ERRORS"].data.shape == (nap, ns, nt)
        assert hdul["PHOTOMETRY"].header["NAXIS1"] == nt      # FITS order is reversed
        assert hdul["STARS"].data.shape == (ns, 2)
        assert hdul["STARS"].data[:, 0] == pytest.approx(lc.stars["ra"].to_numpy())
        series = Table(hdul["TIME SERIES"].data)                  # as prose reads it
        assert len(series) == nt and "obsjd" in series.colnames and "magzp" in series.colnames
        assert hdul["APERTURES AREA"].data.shape == (nap, nt)
        assert hdul["APERTURES AREA"].data[:, 0] == pytest.approx(np.pi * lc.apertures**2)
        assert hdul["ANNULUS AREA"].data.shape == (nt,)
        assert hdul["ANNULUS AREA"].data[0] == pytest.approx(np.pi * (15.0**2 - 10.0**2))
        assert hdul["ANNULUS SKY"].data.shape == (ns, nt)
        assert hdul[0].header["ORIGIN"] == "ztfimg" and hdul[0].header["NIMAGES"] == nt
        assert np.array_equal(hdul["PHOTOMETRY"].data, lc.flux, equal_nan=True)


def test_phots_layout_after_differential(measured, tmp_path):
    lc = measured
    nap, ns, nt = lc.shape
    diff = lc.broeg2005(target=0)
    path = diff.save(tmp_path / "diff.phots")
    with fits.open(path) as hdul:
        names = [h.name for h in hdul]
        assert tuple(names[:len(PHOTS_HDUS) + 4]) == PHOTS_HDUS + DIFFERENTIAL_HDUS
        assert hdul["LIGHTCURVES"].data.shape == (nap, ns, nt)
        assert hdul["LIGHTCURVES ERRORS"].data.shape == (nap, ns, nt)
        comps = hdul["COMPARISON STARS"].data
        assert comps.dtype.kind == "i" and comps.shape[0] == nap
        used = comps[diff.aperture][comps[diff.aperture] >= 0]
        assert set(used) == set(diff.comparison_stars) and 0 not in comps
        assert hdul["ARTIFICIAL LCS"].data.shape == (nap, nt)
        assert np.array_equal(hdul["ARTIFICIAL LCS"].data[diff.aperture], diff.artificial,
                              equal_nan=True)
        # the target's row of LIGHTCURVES is its differential light curve
        assert np.array_equal(hdul["LIGHTCURVES"].data[diff.aperture, 0],
                              diff.get_lightcurve()["flux"].to_numpy(), equal_nan=True)
    back = DifferentialPhotometry.load(path)
    assert back.weights.equals(diff.weights)
    assert np.array_equal(back.lightcurves()[0], diff.lightcurves()[0], equal_nan=True)
    assert LightCurves.load(path).equals(lc)
    with pytest.raises(FileFormatError, match="no differential"):
        DifferentialPhotometry.load(lc.save(tmp_path / "plain.phots"))


def test_round_trips_are_exact(measured, tmp_path):
    for lc in (measured, awkward()):
        back = LightCurves.load(lc.save(tmp_path / "x.phots", overwrite=True))
        assert back.equals(lc)
        pd.testing.assert_frame_equal(back.stars, lc.stars)
        pd.testing.assert_frame_equal(back.frames, lc.frames)
        assert back.flux.tobytes() == lc.flux.tobytes()
        again = LightCurves.read_parquet(lc.to_parquet(tmp_path / "x.parquet"))
        assert again.equals(lc)
        pd.testing.assert_frame_equal(again.stars, lc.stars)
        pd.testing.assert_frame_equal(again.frames, lc.frames)
        assert again.failed.equals(lc.failed) and again.meta == lc.meta
    lc = awkward()
    back = LightCurves.load(tmp_path / "x.phots")
    assert back.stars["name"].tolist()[:2] == ["a star", "Éta"]
    assert back.stars["name"].isna().tolist() == [False, False, True]
    assert back.stars["gaia_id"].iloc[0] == 1234567890123456789
    assert back.stars["gaia_id"].isna().tolist() == [False, True, False]
    assert back.stars["count"].dtype == np.int16 and back.stars["isvar"].dtype == bool


def test_parquet_is_the_long_form(measured, tmp_path):
    lc = measured
    path = lc.to_parquet(tmp_path / "lc.parquet")
    long = pd.read_parquet(path)
    assert len(long) == np.prod(lc.shape)
    pd.testing.assert_frame_equal(long, lc.to_dataframe())
    one = long[(long["star"] == 0) & (long["aperture"] == 1)]
    assert np.array_equal(one["flux"].to_numpy(), lc.flux[1, 0], equal_nan=True)


def test_product_errors(measured, tmp_path):
    lc = measured
    path = lc.save(tmp_path / "lc.phots")
    with pytest.raises(InvalidParameterError, match="exists"):
        lc.save(path)
    assert lc.save(path, overwrite=True) == str(path)
    with pytest.raises(MissingFileError):
        LightCurves.load(tmp_path / "nothing.phots")
    fits.PrimaryHDU(np.zeros(3)).writeto(tmp_path / "other.fits")
    with pytest.raises(FileFormatError, match="not a ztfimg"):
        LightCurves.load(tmp_path / "other.fits")
    (tmp_path / "junk.phots").write_text("junk")
    with pytest.raises(FileFormatError):
        LightCurves.load(tmp_path / "junk.phots")
    pd.DataFrame({"a": [1]}).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(FileFormatError, match="not written by"):
        LightCurves.read_parquet(tmp_path / "plain.parquet")
    stars = lc.stars
    stars["when"] = pd.Timestamp("2020-01-01")
    odd = LightCurves(lc.flux, lc.flux_err, lc.flags, stars, lc.frames, lc.apertures)
    with pytest.raises(InvalidParameterError, match="to_parquet"):
        odd.save(tmp_path / "odd.phots")
    assert LightCurves.read_parquet(odd.to_parquet(tmp_path / "odd.parquet")).equals(odd)
    other = lc.select(stars=[0, 1])
    with pytest.raises(InvalidParameterError, match="other light curves"):
        lc.save(tmp_path / "d.phots", differential=other.broeg2005(target=0,
                                                                     comparisons=[1]))
