"""Light curves (ztfimg.lightcurves): forced photometry through an ImageCollection, the
LightCurves object, calibration, upper limits, bins, selection, merging and append.

One simulated series (8 frames of 300x300 of one field, ztfimg.simseries: drifting
pointing, zero points 26.05-26.45, colour terms, seeing, sky, a 0.4-mag variable) is
shared by the module.
"""

import os
import shutil

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from astropy.time import Time

from ztfimg import ImageCollection, LightCurves, simseries, simulate
from ztfimg.errors import InvalidParameterError, ShapeMismatchError
from ztfimg.flags import decode_flags
from ztfimg.lightcurves import LightCurveFlag, bjd_tdb, forced_photometry, palomar

N = 8


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def series(tmp_path_factory):
    return simseries.simulate_series(tmp_path_factory.mktemp("lc") / "frames", n_frames=N,
                                     shape=(300, 300), seed=5)


def _isolated_targets(series, n_max=14):
    st = series.stars
    ra0, dec0 = series.frames["ra"].mean(), series.frames["dec"].mean()
    cosd = np.cos(np.radians(dec0))
    px = 3600.0 / 1.012
    x, y = (st["ra"] - ra0) * cosd * px, (st["dec"] - dec0) * px
    keep = []
    for i in np.flatnonzero((np.hypot(x, y) < 125) & (st["mag"] < 19.0).to_numpy()):
        sep = np.hypot(x - x[i], y - y[i])
        near = (sep < 16) & (st["mag"] < st["mag"].iloc[i] + 3.0)
        if near.sum() == 1:          # only itself
            keep.append(i)
    return st.iloc[keep[:n_max]]


@pytest.fixture(scope="module")
def targets(series):
    """Isolated stars (with the variable), a blank position, one far off, one NaN."""
    st = _isolated_targets(series)
    var = series.stars[series.stars["variable"]]
    ra0, dec0 = series.frames["ra"].mean(), series.frames["dec"].mean()
    # a blank position: the grid point farthest from every star brighter than 21.5
    cosd = np.cos(np.radians(dec0))
    grid = [(ra0 + dx / 3600 / cosd, dec0 + dy / 3600) for dx in range(-100, 101, 10)
            for dy in range(-100, 101, 10)]
    sep = [np.min(np.hypot((series.stars["ra"] - r) * cosd, series.stars["dec"] - d))
           for r, d in grid]
    blank = grid[int(np.argmax(sep))]
    table = pd.concat([st, var], ignore_index=True)[["objid", "ra", "dec", "mag", "colour",
                                                     "variable"]]
    extra = pd.DataFrame({"objid": [-1, -2, -3], "ra": [blank[0], ra0 + 2.0, np.nan],
                          "dec": [blank[1], dec0, dec0], "mag": np.nan, "colour": 0.0,
                          "variable": False})
    table = pd.concat([table, extra], ignore_index=True)
    table.insert(0, "name", [f"s{i}" for i in range(len(table) - 4)]
                 + ["variable", "blank", "far", "nan"])
    return table


@pytest.fixture(scope="module")
def lc(series, targets):
    col = ImageCollection.from_files(series.files)
    return forced_photometry(col, targets, radius=[2.0, 3.0, 5.0], bkgann=(10.0, 15.0),
                             progress=False)


def _chi2(values, errors):
    w = 1.0 / errors**2
    mean = np.sum(w * values) / np.sum(w)
    return np.sum(((values - mean) / errors) ** 2) / (len(values) - 1), mean


# ------------------------------------------------------------------ the object
def test_shapes_tables_and_time(lc, targets, series):
    ns = len(targets)
    assert lc.shape == (3, ns, N) and lc.flux.shape == lc.flux_err.shape == lc.flags.shape
    assert lc.flags.dtype == np.int32 and lc.x.shape == (ns, N)
    assert lc.apertures.tolist() == [2.0, 3.0, 5.0] and lc.bkgann == (10.0, 15.0)
    assert isinstance(lc.time, Time) and lc.time.scale == "utc"
    assert np.all(np.diff(lc.time.jd) > 0)
    assert lc.time.jd == pytest.approx(np.sort(series.frames["obsjd"].to_numpy()))
    # the targets' own columns are kept, in order
    assert list(lc.stars.columns) == list(targets.columns)
    assert lc.stars["name"].tolist() == targets["name"].tolist()
    frames = lc.frames
    for col in ("file", "filename", "filtername", "magzp", "magzpunc", "seeing", "sky",
                "airmass", "dx", "dy", "infobits", "apcor_1", "apcorunc_1"):
        assert col in frames.columns
    assert (frames["filtername"] == "ztfr").all() and frames["airmass"].isna().all()
    assert frames["magzp"].to_numpy() == pytest.approx(series.frames["magzp"].to_numpy())
    assert frames["filename"].tolist() == [os.path.basename(f) for f in series.files]
    # the drift of the pointing, recovered from the stars' pixel positions
    injected = series.frames["dx"].to_numpy() - series.frames["dx"].mean()
    assert np.abs(frames["dx"].to_numpy() - injected).max() < 0.1
    assert "LightCurves" in repr(lc) and f"{ns} stars x {N} times x 3 apertures" in repr(lc)
    assert len(lc.failed) == 0


def test_off_frame_and_bad_positions_are_kept_and_flagged(lc):
    far, nan = lc.star_index("far"), lc.star_index("nan")
    assert np.isnan(lc.flux[:, far]).all() and np.isnan(lc.flux_err[:, far]).all()
    assert (lc.flags[:, far] & LightCurveFlag.OFF_IMAGE).all()
    assert np.isnan(lc.x[far]).all()                 # never projected: off the footprint
    assert (lc.flags[:, nan] == LightCurveFlag.BAD_POSITION).all()
    assert decode_flags(int(lc.flags[0, far, 0]), LightCurveFlag) == ["OFF_IMAGE"]
    inside = [i for i in range(lc.n_stars) if i not in (far, nan)]
    assert np.isfinite(lc.flux[:, inside]).mean() > 0.95


def test_read_only_and_inputs_untouched(series, targets):
    before = targets.copy()
    ra = targets["ra"].to_numpy().copy()
    col = ImageCollection.from_files(series.files[:2])
    out = forced_photometry(col, targets, radius=3.0, progress=False)
    pd.testing.assert_frame_equal(targets, before)
    assert np.array_equal(targets["ra"].to_numpy(), ra, equal_nan=True)
    with pytest.raises(ValueError):
        out.flux[0, 0, 0] = 1.0
    with pytest.raises(ValueError):
        out.flux.setflags(write=True)
    stars = out.stars
    stars["ra"] = 0.0
    frames = out.frames
    frames["magzp"] = 0.0
    assert out.stars["ra"].iloc[0] != 0.0 and out.frames["magzp"].iloc[0] != 0.0
    assert out.shape == (1, len(targets), 2)


def test_thousands_of_positions(series):
    rng = np.random.default_rng(1)
    ra0, dec0 = series.frames["ra"].mean(), series.frames["dec"].mean()
    ra = ra0 + rng.uniform(-0.2, 0.2, 3000)
    dec = dec0 + rng.uniform(-0.2, 0.2, 3000)
    col = ImageCollection.from_files(series.files[:3])
    out = forced_photometry(col, ra * u.deg, dec * u.deg, radius=[3.0], bkgann=None,
                            progress=False)
    assert out.shape == (1, 3000, 3)
    on = np.isfinite(out.flux[0])
    off = (out.flags[0] & LightCurveFlag.OFF_IMAGE) != 0
    assert np.all(on | off) and 0.005 < on.mean() < 0.2     # ~ (300 px / 0.4 deg)^2
    assert np.all(np.isnan(out.sky[:, 0]) | ~off[:, 0])


def test_psf_method(tmp_path):
    from ztfimg.dao import DAOPhotPSF
    here = os.path.dirname(__file__)
    psf = DAOPhotPSF(os.path.join(here, "data", "daophot", "r_857_9_2_2459540.8489",
                                  "psf.psf"))
    base = simulate.simulate_quadrant(shape=(200, 200), seed=11, defects=False)
    cat = base.truth[["ra", "dec", "mag"]]
    files = []
    for i, zp in enumerate((26.2, 26.3, 26.4)):
        frame = simulate.simulate_quadrant(shape=(200, 200), seed=20 + i, catalog=cat,
                                           psf=psf, obsjd=2459116.9 + i, magzp=zp,
                                           defects=False)
        files.append(frame.write(tmp_path)[0])
    truth = frame.truth[(frame.truth["mag"] < 18.0) & frame.truth["inside"]]
    out = forced_photometry(ImageCollection.from_files(files), truth["ra"], truth["dec"],
                            method="psf", progress=False)
    assert out.method == "psf" and out.n_apertures == 1 and np.isnan(out.apertures[0])
    assert "PSF" in repr(out)
    cal = out.calibrated()
    good = cal["flag"].to_numpy() == 0
    dev = (cal["mag"].to_numpy() - np.repeat(truth["mag"].to_numpy(), 3))[good]
    merr = cal["mag_err"].to_numpy()[good]
    assert np.all(np.abs(dev) < 5 * merr + 0.02)
    # a frame without its PSF file fails, is reported, and the run goes on
    nopsf = simulate.simulate_quadrant(shape=(200, 200), seed=3, catalog=cat,
                                       obsjd=2459120.9).write(tmp_path / "nopsf")[0]
    res = forced_photometry(ImageCollection.from_files([files[0], nopsf]), truth["ra"],
                            truth["dec"], method="psf", progress=False)
    assert res.n_times == 1 and len(res.failed) == 1
    assert res.failed["exception"].iloc[0] == "MissingFileError"


# ------------------------------------------------------------------ calibration
def test_calibrated_magnitudes_agree_across_zero_points(lc, series):
    zp = lc.frames["magzp"].to_numpy()
    assert zp.max() - zp.min() > 0.2            # the frames really have different zero points
    raw = lc.flux[1]
    snr = np.nanmedian(lc.flux[1, :-4] / lc.flux_err[1, :-4], axis=1)
    bright = [i for i in range(lc.n_stars - 4) if snr[i] > 20 and not lc.stars["variable"][i]]
    assert len(bright) >= 6
    # the DN of a constant star change from frame to frame far beyond their errors ...
    raw_chi2 = []
    for i in bright:
        good = lc.flags[1, i] == 0
        inst = -2.5 * np.log10(raw[i][good])
        raw_chi2.append(_chi2(inst, 1.0857 * lc.flux_err[1, i][good] / raw[i][good])[0])
    assert min(raw_chi2) > 3 and np.median(raw_chi2) > 20
    # ... and the calibrated magnitudes (colour term included) agree within their errors
    cal = lc.calibrated(1, colour="colour")
    chi2s = []
    for i in bright:
        row = cal[(cal["star"] == i) & (cal["flag"] == 0)]
        chi2, mean = _chi2(row["mag"].to_numpy(), row["mag_err"].to_numpy())
        chi2s.append(chi2)
        truth = lc.stars["mag"].iloc[i]
        assert abs(mean - truth) < 0.03                  # PS1 mag of the star
    assert 0.3 < np.median(chi2s) < 2.0 and max(chi2s) < 5.0
    # without the colour term they are off by CLRCOEFF * colour, frame by frame
    nocol = lc.calibrated(1)
    delta = (cal["mag"] - nocol["mag"]).to_numpy().reshape(lc.n_stars, N)
    expect = np.outer(lc.stars["colour"], lc.frames["clrcoeff"])
    finite = np.isfinite(delta)
    assert delta[finite] == pytest.approx(expect[finite], abs=1e-9)


def test_variable_star_calibrated(lc, series):
    v = lc.star_index("variable")
    table = lc.get_lightcurve(v, 1, colour="colour")
    truth = series.lightcurve.sort_values("obsjd")["mag"].to_numpy()
    dev = (table["mag"].to_numpy() - truth) / table["mag_err"].to_numpy()
    assert np.abs(dev).max() < 5 and np.ptp(table["mag"]) > 0.5


def test_upper_limits_and_apcor(lc):
    b = lc.star_index("blank")
    cal = lc.calibrated(1, stars=[b])
    assert cal["upper_limit"].sum() >= N - 1
    ul = cal[cal["upper_limit"]]
    assert ul["mag"].isna().all() and ul["mag_err"].isna().all()
    zp = lc.frames["magzp"].to_numpy()[ul["time"]]
    assert ul["maglim"].to_numpy() == pytest.approx(
        zp - 2.5 * np.log10(5 * ul["counts_err"].to_numpy()), abs=1e-10)
    assert (ul["maglim"] > 19.5).all() and (ul["maglim"] < 23).all()
    # the header aperture correction (diameter 6 px is a FIXAPERS aperture)
    s0 = lc.get_lightcurve(0, 1, flux_unit="counts")
    raw = lc.get_lightcurve(0, 1, flux_unit="counts", apcor=False)
    corr = lc.frames["apcor_1"].to_numpy()
    assert s0["flux"].to_numpy() == pytest.approx(raw["flux"].to_numpy() * 10 ** (-0.4 * corr))
    assert raw["flux"].to_numpy() == pytest.approx(lc.flux[1, 0])
    with pytest.raises(InvalidParameterError, match="no header aperture correction"):
        forced = lc.select(stars=[0])
        LightCurves(forced.flux, forced.flux_err, forced.flags, forced.stars,
                    forced.frames.drop(columns=["apcor_0"]), forced.apertures).calibrated(
            0, apcor=True)
    # uJy: 10**(-0.4 (m - 23.9))
    ujy = lc.get_lightcurve(0, 1)
    det = ~ujy["upper_limit"]
    assert ujy["flux"][det].to_numpy() == pytest.approx(
        10 ** (-0.4 * (ujy["mag"][det].to_numpy() - 23.9)), rel=1e-6)


def test_get_lightcurve_columns_and_bjd(lc):
    table = lc.get_lightcurve("s0", bjd=True)
    assert list(table.columns) == ["mjd", "flux", "flux_err", "mag", "mag_err", "flag", "snr",
                                   "upper_limit", "maglim", "filtername", "file", "bjd_tdb"]
    assert len(table) == N and table.attrs["flux_unit"] == "ujy"
    jd = lc.frames["obsjd"].to_numpy()
    delta = (table["bjd_tdb"].to_numpy() - jd) * 86400.0
    assert np.all(np.abs(delta - 69.184) < 500.0)        # TT-UTC plus <= 499 s light time
    # from the geocentre instead of Palomar: the Earth-radius term, < 21.3 ms
    row = lc.stars.iloc[0]
    t = Time(jd, format="jd", scale="utc")
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.utils import iers
    centre = EarthLocation.from_geocentric(0.0, 0.0, 0.0, unit=u.m)
    with iers.conf.set_temp("auto_download", False):
        geo = (t.tdb + t.light_travel_time(SkyCoord(row["ra"], row["dec"], unit="deg"),
                                           location=centre)).jd
    assert 0 < np.max(np.abs(table["bjd_tdb"].to_numpy() - geo)) * 86400 < 0.0213
    assert palomar().lat.deg == pytest.approx(33.3564, abs=1e-4)
    assert palomar().lon.deg == pytest.approx(-116.8639, abs=1e-4)
    assert bjd_tdb(Time(jd, format="jd"), row["ra"], row["dec"]) == pytest.approx(
        table["bjd_tdb"].to_numpy(), abs=1e-9)
    with pytest.raises(InvalidParameterError):
        bjd_tdb(jd, [1.0, 2.0], [3.0, 4.0])


def test_to_dataframe_long_form(lc):
    long = lc.to_dataframe()
    assert len(long) == lc.n_apertures * lc.n_stars * lc.n_times
    row = long[(long["aperture"] == 2) & (long["star"] == 3) & (long["time"] == 5)].iloc[0]
    assert row["flux"] == lc.flux[2, 3, 5] and row["radius"] == 5.0
    assert row["x"] == lc.x[3, 5] and row["mjd"] == lc.mjd[5]


# ------------------------------------------------------------------ bins
def _hand(zp=(25.0,) * 6, filters=("ztfr",) * 6):
    flux = np.array([[[10.0, 12.0, 11.0, 20.0, 22.0, np.nan],
                      [5.0, 5.5, 6.0, 7.0, 7.5, 8.0]]])
    err = np.array([[[1.0, 2.0, 1.0, 2.0, 1.0, 1.0],
                     [0.5, 0.5, 1.0, 1.0, 2.0, 1.0]]])
    flags = np.zeros(flux.shape, np.int32)
    flags[0, 1, 2] = LightCurveFlag.MASKED
    frames = pd.DataFrame({"obsjd": 2459000.5 + np.array([0.1, 0.2, 0.3, 1.1, 1.2, 1.3]),
                           "magzp": zp, "magzpunc": [0.01] * 6, "clrcoeff": 0.1,
                           "filtername": list(filters), "file": [f"f{i}" for i in range(6)]})
    stars = pd.DataFrame({"ra": [1.0, 2.0], "dec": [3.0, 4.0]})
    return LightCurves(flux, err, flags, stars, frames, [3.0])


def test_bin_weighted_mean_errors():
    lc = _hand()
    b = lc.bin(1.0)
    assert b.shape == (1, 2, 2) and b.frames["nframes"].tolist() == [3, 3]
    f, e = lc.flux[0, 0, :3], lc.flux_err[0, 0, :3]
    w = 1 / e**2
    assert b.flux[0, 0, 0] == pytest.approx(np.sum(w * f) / np.sum(w))
    assert b.flux_err[0, 0, 0] == pytest.approx(1 / np.sqrt(np.sum(w)))
    # the NaN point is left out
    assert b.flux[0, 0, 1] == pytest.approx((20 / 4 + 22) / (1 / 4 + 1))
    assert b.flags[0, 1, 0] == LightCurveFlag.MASKED and b.flags[0, 0, 0] == 0
    assert b.frames["obsjd"].to_numpy() == pytest.approx(2459000.5 + np.array([0.2, 1.2]))
    assert b.frames["magzpunc"].iloc[0] == pytest.approx(0.01 / np.sqrt(3))
    plain = lc.bin(1.0, weighted=False)
    assert plain.flux[0, 1, 1] == pytest.approx(np.mean([7.0, 7.5, 8.0]))
    assert plain.flux_err[0, 1, 1] == pytest.approx(np.sqrt(1 + 4 + 1) / 3)
    assert lc.shape == (1, 2, 6)                  # the input is unchanged
    # the binned errors match the scatter of many bins of pure noise
    rng = np.random.default_rng(3)
    n = 4000
    sig = rng.uniform(0.5, 2.0, (1, 1, n))
    noisy = LightCurves(100 + rng.normal(0, sig), sig, np.zeros((1, 1, n), int),
                        pd.DataFrame({"ra": [0.0], "dec": [0.0]}),
                        pd.DataFrame({"obsjd": 2459000.5 + np.arange(n) * 0.25,
                                      "magzp": 25.0, "filtername": "ztfr"}), [3.0])
    nb = noisy.bin(1.0)
    pull = (nb.flux[0, 0] - 100) / nb.flux_err[0, 0]
    assert np.std(pull) == pytest.approx(1.0, abs=0.05)


def test_bin_rescales_zero_points_and_keeps_filters_apart():
    lc = _hand(zp=(25.0, 25.5, 26.0, 25.0, 25.0, 25.0),
               filters=("ztfr", "ztfr", "ztfr", "ztfg", "ztfg", "ztfg"))
    b = lc.bin(1.0, zp_ref=25.0)
    assert b.frames["filtername"].tolist() == ["ztfr", "ztfg"]
    scale = 10 ** (0.4 * (25.0 - np.array([25.0, 25.5, 26.0])))
    f, e = lc.flux[0, 1, :3] * scale, lc.flux_err[0, 1, :3] * scale
    w = 1 / e**2
    assert b.flux[0, 1, 0] == pytest.approx(np.sum(w * f) / np.sum(w))
    assert b.frames["magzp"].tolist() == [25.0, 25.0]
    with pytest.raises(InvalidParameterError):
        lc.bin(-1.0)
    assert lc.bin(24 * u.hour).equals(lc.bin(1.0))


# ------------------------------------------------------------------ selection, merge, append
def test_selection_returns_new_objects(lc):
    sub = lc.select(stars=["s1", 0], tmin=lc.mjd[2], tmax=Time(lc.mjd[5], format="mjd"))
    assert sub is not lc and sub.shape == (3, 2, 4) and lc.shape[2] == N
    assert sub.stars["name"].tolist() == ["s1", "s0"]
    assert np.array_equal(sub.flux, lc.flux[:, [1, 0]][:, :, 2:6], equal_nan=True)
    assert lc.select(filtername="zr").n_times == N and lc.select(filtername="zg").n_times == 0
    assert lc.select(frames=lc.frames["seeing"] < 2.5).n_times == int(
        (lc.frames["seeing"] < 2.5).sum())
    with pytest.raises(InvalidParameterError):
        lc.select(filtername="zz")
    with pytest.raises(InvalidParameterError):
        lc.select(stars=["nobody"])
    with pytest.raises(ShapeMismatchError):
        lc.select(frames=[True, False])


def test_merge_is_the_whole(lc):
    first = lc.select(frames=np.arange(4))
    second = lc.select(frames=np.arange(3, N))            # frame 3 in both
    merged = second.merge(first)
    assert merged.equals(lc)
    with pytest.raises(InvalidParameterError):
        lc.merge(lc.select(stars=[0, 1]))


def test_append_measures_only_new_frames(series, targets, tmp_path):
    files = []
    for f, m in zip(series.files, series.maskfiles):
        files.append(shutil.copy(f, tmp_path))
        shutil.copy(m, tmp_path)
    col = ImageCollection.from_files(files)
    full = forced_photometry(col, targets, radius=[2.0, 3.0, 5.0], progress=False)
    part = forced_photometry(col[:5], targets, radius=[2.0, 3.0, 5.0], progress=False)
    with open(files[0], "wb") as fh:          # an old frame becomes unreadable: not reopened
        fh.write(b"not a FITS file")
    grown = part.append(col, progress=False)
    assert grown.equals(full) and len(grown.failed) == 0
    again = grown.append(col, progress=False)
    assert again is not grown and again.equals(grown)
    # a fresh run over the same collection reports the broken frame and measures the rest
    fresh = forced_photometry(col, targets, radius=[2.0, 3.0, 5.0], progress=False)
    assert fresh.n_times == N - 1 and len(fresh.failed) == 1
    assert fresh.failed["file"].iloc[0] == os.path.abspath(files[0])
    with pytest.raises(InvalidParameterError):
        full.bin(1.0).append(col)


def test_processes_give_identical_results(series, targets):
    col = ImageCollection.from_files(series.files[:4])
    serial = forced_photometry(col, targets, radius=[3.0], progress=False)
    parallel = forced_photometry(col, targets, radius=[3.0], progress=False,
                                 client="processes", n_workers=2)
    assert len(parallel.failed) == 0, parallel.failed.to_dict("records")
    for name in ("flux", "flux_err", "flags", "x", "y", "sky"):
        assert np.array_equal(getattr(parallel, name), getattr(serial, name),
                              equal_nan=True), name
    pd.testing.assert_frame_equal(parallel.frames, serial.frames)
    assert parallel.equals(serial)


# ------------------------------------------------------------------ bad input
def test_bad_input_raises_ztfimg_errors(series, lc):
    col = ImageCollection.from_files(series.files[:1])
    for kwargs in ({"method": "model"}, {"radius": -1.0}, {"radius": [3.0, 12.0]},
                   {"bkgann": (5.0, 4.0)}, {"max_seeing": 0.0}, {"photometry_kwargs": 3}):
        with pytest.raises(InvalidParameterError):
            forced_photometry(col, [55.0], [33.3], progress=False, **kwargs)
    with pytest.raises(ShapeMismatchError):
        forced_photometry(col, [55.0, 55.1], [33.3], progress=False)
    with pytest.raises(InvalidParameterError):
        forced_photometry(series.files, [55.0], [33.3])
    with pytest.raises(InvalidParameterError):
        forced_photometry(col, pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InvalidParameterError):
        lc.get_lightcurve(99)
    with pytest.raises(InvalidParameterError):
        lc.get_lightcurve(0, aperture=3)
    with pytest.raises(InvalidParameterError):
        lc.calibrated(flux_unit="erg")
    with pytest.raises(InvalidParameterError):
        lc.calibrated(colour="nocolumn")
    with pytest.raises(ShapeMismatchError):
        LightCurves(np.zeros((1, 2, 3)), np.zeros((1, 2, 2)), np.zeros((1, 2, 3), int),
                    pd.DataFrame({"ra": [0, 1], "dec": [0, 1]}),
                    pd.DataFrame({"obsjd": [1.0, 2.0, 3.0]}), [3.0])
    with pytest.raises(InvalidParameterError):
        LightCurves(np.zeros((1, 1, 1)), np.zeros((1, 1, 1)), np.zeros((1, 1, 1), int),
                    pd.DataFrame({"ra": [0]}), pd.DataFrame({"obsjd": [1.0]}), [3.0])


def test_plot(lc):
    import matplotlib.pyplot as plt
    ax = lc.plot("variable", 1, colour="colour")
    assert ax.yaxis_inverted() and ax.get_xlabel() == "MJD"
    ax = lc.plot("blank", kind="flux")
    assert "flux" in ax.get_ylabel()
    plt.close("all")


def test_lightcurves_imports_point_one_way_towards_core():
    """No import cycle in ztfimg/lightcurves/: the modules that build on LightCurves import
    core; core reaches them only through its one labelled function ``_helpers``."""
    import ast
    import pathlib

    import ztfimg.lightcurves as pkg
    root = pathlib.Path(pkg.__file__).parent
    names = {p.stem for p in root.glob("*.py")} - {"__init__"}
    graph = {}
    for name in names:
        tree = ast.parse((root / f"{name}.py").read_text())
        helper = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "_helpers"]
        skip = {id(n) for h in helper for n in ast.walk(h)}
        edges = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1 and id(node) not in skip:
                targets = [node.module] if node.module else [a.name for a in node.names]
                edges |= {t for t in targets if t in names}
        graph[name] = edges
    assert "core" not in graph["core"] and graph["core"] <= {"frames"}, graph["core"]

    def cycle_from(start, node, seen):
        for nxt in graph[node]:
            if nxt == start:
                return [node, nxt]
            if nxt not in seen:
                seen.add(nxt)
                path = cycle_from(start, nxt, seen)
                if path:
                    return [node] + path
        return None

    cycles = [c for c in (cycle_from(n, n, set()) for n in sorted(names)) if c]
    assert not cycles, f"import cycles in ztfimg/lightcurves: {cycles}"
    # the helpers really are reached (the methods work through _helpers)
    from ztfimg.lightcurves import core
    ops = core._helpers()
    assert ops.combine.LightCurves is core.LightCurves and ops.io.LightCurves is core.LightCurves
