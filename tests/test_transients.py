"""Transient light curves through a collection of difference frames (issue 13, item 3).

Simulated supernovae on galaxies (ztfimg.simtransient) measured by
``ImageCollection(kind="difference").forced_photometry(method="psf")``: fluxes unbiased with
pull std ~1, no trace of the hosts before the explosions, per-group baseline offsets
removed within their errors, honest upper limits, and the fitter table's units.
"""

import numpy as np
import pandas as pd
import pytest

from ztfimg import ImageCollection, simtransient
from ztfimg.errors import InvalidParameterError
from ztfimg.lightcurves import LightCurves
from ztfimg.lightcurves import transients as T

SHAPE = (128, 128)
NT = 4


@pytest.fixture(scope="module")
def series():
    return simtransient.simulate_transient_series(shape=SHAPE, n_epochs=26, seed=4,
                                                  n_transients=NT, cadence=2.0,
                                                  peak_mag=(18.0, 19.8))


@pytest.fixture(scope="module")
def files(series, tmp_path_factory):
    return series.write(tmp_path_factory.mktemp("diffcol"))


@pytest.fixture(scope="module")
def col(files):
    return ImageCollection.from_files(files["sciimg"].tolist(), kind="difference")


@pytest.fixture(scope="module")
def lc(series, col):
    h = series.hosts
    return col.forced_photometry(h["ra"].to_numpy(), h["dec"].to_numpy(), method="psf",
                                 progress=False)


def _truth(series, lc):
    """Truth flux (DN) as (n_stars, n_times) in the light curves' time order."""
    tr = series.truth.pivot(index="obsjd", columns="transient", values="flux_dn")
    tr = tr.loc[lc.frames["obsjd"].to_numpy()]
    return tr.to_numpy().T


def _usable(lc):
    return ((lc.flags[0] & int(T.UNUSABLE)) == 0) & np.isfinite(lc.flux[0])


def test_difference_collection_from_science_names(files, col):
    assert col.kind == "difference" and len(col) == len(files)
    assert all(f.endswith("_scimrefdiffimg.fits.fz") for f in col.files)
    assert list(col.files) == [str(f) for f in files["diffimg"]]
    same = ImageCollection.from_directory(str(np.unique([f.rsplit("/", 1)[0]
                                                         for f in col.files])[0]),
                                          kind="difference")
    assert sorted(same.files) == sorted(col.files)
    h = col.headers
    assert h["header_error"].isna().all() and h["maskfile"].notna().all()
    assert np.all((h["magzp"] > 26.1) & (h["magzp"] < 26.45))
    assert set(h["qid"]) == {2} and set(h["filtername"]) == {"ztfr"}
    with pytest.raises(Exception, match="difference|scimrefdiffimg"):
        ImageCollection.from_files([files.attrs["refimg"]], kind="difference")


def test_lightcurves_product_of_difference_frames(series, lc):
    assert isinstance(lc, LightCurves) and lc.shape == (1, NT, len(series.epochs))
    assert lc.method == "psf" and lc.meta["kind"] == "difference"
    fr = lc.frames
    truth_zp = series.truth.drop_duplicates("obsjd").set_index("obsjd")["magzp"]
    np.testing.assert_allclose(fr["zpdiff"], truth_zp.loc[fr["obsjd"]].to_numpy(), atol=1e-6)
    assert np.all(fr["zpdiffunc"] >= 0) and np.all(np.diff(fr["obsjd"]) > 0)


def test_recovered_fluxes_unbiased_pull_std_near_one(series, lc):
    truth = _truth(series, lc)
    ok = _usable(lc)
    pull = ((lc.flux[0] - truth) / lc.flux_err[0])[ok]
    assert pull.size >= 0.9 * truth.size
    assert abs(pull.mean()) < 3.0 / np.sqrt(pull.size) + 0.1
    assert 0.9 < pull.std() < 1.1
    bright = ok & (truth > 300)
    ratio = np.sum(lc.flux[0][bright]) / np.sum(truth[bright])
    assert abs(ratio - 1) < 0.02


def test_galaxy_leaves_no_trace(series, lc, col):
    truth = _truth(series, lc)
    pre = _usable(lc) & (truth == 0)
    z = (lc.flux[0] / lc.flux_err[0])[pre]
    assert z.size >= 25
    assert abs(z.mean()) < 3.0 / np.sqrt(z.size)
    assert 0.6 < np.sqrt(np.mean(z ** 2)) < 1.35
    h = series.hosts     # the galaxy centres, every epoch: nothing there
    gal = col.forced_photometry(h["gal_ra"].to_numpy(), h["gal_dec"].to_numpy(),
                                method="psf", progress=False)
    zg = (gal.flux[0] / gal.flux_err[0])[_usable(gal) & (truth == 0)]
    assert abs(zg.mean()) < 3.0 / np.sqrt(zg.size) + 0.1 and np.sqrt(np.mean(zg ** 2)) < 1.35


def _two_groups(lc, offsets):
    """Every other frame re-labelled quadrant 3, a constant flux offset added per group."""
    fr = lc.frames.copy()
    other = np.arange(len(fr)) % 2 == 1
    fr.loc[other, "qid"] = 3
    flux = np.array(lc.flux)
    flux[0, :, ~other] += offsets[0]
    flux[0, :, other] += offsets[1]
    return lc._new(flux=flux, frames=fr), other


def test_baseline_offsets_removed_within_their_errors(series, lc):
    offsets = (60.0, -45.0)
    shifted, other = _two_groups(lc, offsets)
    t_exp = series.hosts["t_explosion"].to_numpy() - 2400000.5
    mjd = lc.frames["mjd"].to_numpy()
    for baseline in ("auto", (mjd.min(), t_exp.min() - 1.0)):
        tab = T.fit_baseline(shifted, baseline)
        assert len(tab) == 2 * NT and tab["corrected"].all()
        assert np.all(tab["n_epochs"] >= 3)
        want = np.where(tab["qid"] == 3, offsets[1], offsets[0])
        resid = (tab["offset"] - want) / tab["offset_err"]
        assert np.all(np.abs(resid) < 3.5), resid.tolist()
        if baseline == "auto":   # the chosen epochs are all before the explosions
            assert np.all(tab.groupby("star")["t_event"].first().to_numpy() > t_exp)
        cor = T.baseline_correct(shifted, baseline)
        truth = _truth(series, lc)
        ok = _usable(cor)
        pull = ((cor.flux[0] - truth) / cor.flux_err[0])[ok]
        assert abs(pull.mean()) < 0.35 and 0.8 < pull.std() < 1.15
        assert np.all(cor.flux_err[0][ok] >= lc.flux_err[0][ok])
        assert len(cor.meta["baseline"]) == 2 * NT
    # uncorrected, the offsets are obvious in the pre-event points
    pre = _usable(lc) & (_truth(series, lc) == 0)
    assert np.mean((shifted.flux[0] / shifted.flux_err[0])[pre & ~other[None, :]]) > 1.5


def test_baseline_chi2_rescaling(lc):
    small = lc._new(flux_err=np.array(lc.flux_err) / 2.0)
    mjd = lc.frames["mjd"].to_numpy()
    window = mjd < mjd.min() + 12
    tab = T.fit_baseline(small, window, rescale=True)
    assert np.all(tab["scale"] > 1.0) and 1.6 < tab["scale"].mean() < 2.5   # errors x 1/2
    plain = T.fit_baseline(small, window)
    assert np.all(plain["scale"] == 1.0)
    cor = T.baseline_correct(small, window, rescale=True)
    ratio = np.nanmedian(cor.flux_err[0] / lc.flux_err[0])
    assert 0.75 < ratio < 1.45


def test_detections_and_limits(series, lc):
    cor = T.baseline_correct(lc)
    truth = series.truth
    n_faint = n_det0 = n_zero = 0
    for s in range(NT):
        tab = T.transient_table(cor, s)
        tt = truth[truth.transient == s].set_index("mjd").loc[tab["time"]]
        np.testing.assert_allclose(tab["limit"],
                                   tab["zpdiff"] - 2.5 * np.log10(5 * tab["flux_dn_err"]),
                                   atol=1e-9)
        lim = ~tab["is_detection"].to_numpy()
        assert np.all(tab["is_detection"] == (tab["snr"] >= 3))
        assert np.all(np.isnan(tab["mag"][lim])) and np.all(np.isfinite(tab["mag"][~lim]))
        limit_ujy = 10 ** (-0.4 * (tab["limit"].to_numpy() - 23.9))
        faint = lim & (tt["flux_dn"].to_numpy() > 0)
        n_faint += faint.sum()
        assert np.all(tt["flux_ujy"].to_numpy()[lim] < limit_ujy[lim])
        zero = tt["flux_dn"].to_numpy() == 0
        n_zero += zero.sum()
        n_det0 += (zero & ~lim).sum()
    assert n_zero >= 25 and n_det0 <= 2          # few false detections before explosion


def test_fitter_table_columns_and_units(series, lc):
    cor = T.baseline_correct(lc)
    tab = T.transient_table(cor, 1)
    assert tuple(tab.columns[:len(T.FITTER_COLUMNS)]) == T.FITTER_COLUMNS
    assert np.all(tab["zp"] == 23.9) and set(tab["zpsys"]) == {"ab"}
    assert set(tab["band"]) == {"ztfr"} and np.all(np.diff(tab["time"]) > 0)
    np.testing.assert_allclose(tab["flux"], tab["flux_dn"] * 10 ** (-0.4 * (tab["zpdiff"]
                                                                           - 23.9)))
    det = tab[tab["is_detection"]]
    assert len(det) >= 10
    np.testing.assert_allclose(det["mag"], det["zp"] - 2.5 * np.log10(det["flux"]))
    np.testing.assert_allclose(det["mag_err"], 2.5 / np.log(10) * det["flux_err"]
                               / det["flux"], rtol=1e-3)
    tt = series.truth[series.truth.transient == 1].set_index("mjd").loc[det["time"]]
    pull = (det["flux"].to_numpy() - tt["flux_ujy"].to_numpy()) / det["flux_err"].to_numpy()
    assert abs(np.mean(pull)) < 0.6 and np.std(pull) < 1.4
    np.testing.assert_allclose(det["mag"], tt["mag"], atol=5 * det["mag_err"].max())


def test_plot_draws_limits_as_arrows(lc):
    import matplotlib
    matplotlib.use("Agg")
    cor = T.baseline_correct(lc)
    tab = T.transient_table(cor, 0)
    for kind in ("mag", "flux"):
        ax = T.plot_transient(tab, kind=kind)
        arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
        assert len(arrows) == int((~tab["is_detection"]).sum()) > 0
        assert ax.yaxis_inverted() == (kind == "mag")
        tip, start = arrows[0].xy[1], arrows[0].xyann[1]
        assert (tip > start) if kind == "mag" else (tip < start)   # towards fainter
        matplotlib.pyplot.close(ax.figure)


def test_bad_inputs(col, lc):
    with pytest.raises(InvalidParameterError, match="method='psf'"):
        col.forced_photometry(150.1, 2.2, progress=False)
    with pytest.raises(InvalidParameterError, match="baseline"):
        T.fit_baseline(lc, "first")
    with pytest.raises(InvalidParameterError, match="mask"):
        T.fit_baseline(lc, np.ones(3, bool))
    with pytest.raises(InvalidParameterError):
        T.transient_table(pd.DataFrame())
