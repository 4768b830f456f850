"""The simulated series (ztfimg.simseries): files, headers = truth, drift, variable star."""

import os

import numpy as np
import pytest
from astropy.io import fits

from ztfimg import ScienceImage, filenames, simseries
from ztfimg.errors import InvalidParameterError


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return simseries.simulate_series(tmp_path_factory.mktemp("s") / "frames", n_frames=5,
                                     shape=(256, 320), seed=8, drift=10.0, amplitude=0.5)


def test_files_names_and_headers_are_the_truth(series):
    f = series.frames
    assert len(series) == 5 and f["written"].all()
    assert all(os.path.exists(p) for p in series.files + series.maskfiles)
    recs = [filenames.parse(p) for p in series.files]
    assert len({r.filefracday for r in recs}) == 5                  # distinct epochs
    assert all(r.fieldid == 655 and r.filtername == "zr" and r.qid == 3 for r in recs)
    assert np.all(np.diff(f["obsjd"]) > 0.7)
    for i, path in enumerate(series.files):
        h = fits.getheader(path)
        assert h["MAGZP"] == f["magzp"].iloc[i] and h["CLRCOEFF"] == f["clrcoeff"].iloc[i]
        assert h["SEEING"] == f["seeing"].iloc[i] and h["OBSJD"] == f["obsjd"].iloc[i]
        assert h["NAXIS1"] == 320 and h["NAXIS2"] == 256
        assert filenames.sibling(path, "mskimg") == series.maskfiles[i]
    # the conditions really change from frame to frame, within the asked ranges
    assert f["magzp"].between(26.05, 26.45).all() and f["magzp"].std() > 0.05
    assert f["seeing"].between(1.6, 3.0).all() and f["sky"].between(110, 300).all()
    assert 3 < np.hypot(f["dx"], f["dy"]).max() < 60


def test_drift_variable_and_sky_level(series):
    v = series.variable
    lc = series.lightcurve
    for i, path in enumerate(series.files):
        img = ScienceImage.from_filename(path)
        x, y = img.coords_to_pixels(v["ra"], v["dec"])
        # the stars move by (dx, dy) on the detector
        assert x == pytest.approx((320 - 1) / 2 + 3.3 + series.frames["dx"].iloc[i], abs=0.05)
        assert y == pytest.approx((256 - 1) / 2 - 2.7 + series.frames["dy"].iloc[i], abs=0.05)
        assert (x, y) == pytest.approx((lc["x"].iloc[i], lc["y"].iloc[i]), abs=1e-6)
        bkg = img.get_background()
        assert bkg.globalback == pytest.approx(series.frames["sky"].iloc[i], rel=0.05)
        phot = img.aperture_photometry(x, y, radius=12.0)    # > 99.9% of the light
        assert abs(phot["sum"].iloc[0] - lc["flux"].iloc[i]) < 4 * phot["sumerr"].iloc[0]
    expected = v["mean_mag"] - v["amplitude"] * np.cos(2 * np.pi * (lc["obsjd"] - v["t0"])
                                                       / v["period"])
    np.testing.assert_allclose(lc["mag"], expected)
    assert lc["mag"].max() - lc["mag"].min() > 0.3
    # one variable among the stars; the catalogue served is the sky with PS1-like errors
    assert series.stars["variable"].sum() == 1
    cat = series.catalog.set_index("objid")
    stars = series.stars.set_index("objid")
    assert len(cat) == len(stars) and cat.loc[v["objid"], "ra"] == v["ra"]
    resid = (cat["rmag"] - stars["rmag"]) / cat["e_rmag"]
    assert 0.8 < resid.std() < 1.2
    ra, dec, radius = series.region
    assert (ra, dec) == (55.0608, 33.35) and 0.05 < radius < 0.2


def test_parts_are_the_same_series(series, tmp_path):
    part = simseries.simulate_series(tmp_path, n_frames=5, shape=(256, 320), seed=8,
                                     drift=10.0, amplitude=0.5, indices=[3])
    assert part.frames["written"].tolist() == [False, False, False, True, False]
    assert [os.path.basename(p) for p in part.files] == \
        [os.path.basename(p) for p in series.files]
    np.testing.assert_array_equal(fits.getdata(part.files[3]), fits.getdata(series.files[3]))
    assert not os.path.exists(part.files[0])


@pytest.mark.parametrize("kwargs, match", [
    ({"n_frames": 0}, "n_frames"), ({"shape": (32, 32)}, "64x64"), ({"shape": 5}, "shape"),
    ({"filtername": "zz"}, "filtername"), ({"seeing": (3, 2)}, "low <= high"),
    ({"cadence": 0}, "cadence"), ({"indices": [9]}, "indices"), ({"seed": -1}, "seed"),
])
def test_bad_parameters(tmp_path, kwargs, match):
    args = {"n_frames": 3, "shape": (64, 64)}
    args.update(kwargs)
    with pytest.raises(InvalidParameterError, match=match):
        simseries.simulate_series(tmp_path, **args)
    assert not any(tmp_path.iterdir())
