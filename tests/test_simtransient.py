"""Simulated transients on galaxies (ztfimg.simtransient) and forced photometry on them.

The must-show of issue 13 on simulated data: recovered transient fluxes are unbiased with
pull std 0.9-1.1, the galaxies leave no trace on the difference images (flux at the host
consistent with 0 before the explosion, with honest errors), blank positions have pulls of
std ~1, and the faint epochs give upper limits that hold.
"""

import numpy as np
import pandas as pd
import pytest

from ztfimg import DifferenceImage, filenames, simtransient
from ztfimg.aperture import aperture_photometry
from ztfimg.errors import InvalidParameterError
from ztfimg.image.difference import forced_photometry_frame
from ztfimg.psfdiff import PixelPSF

SHAPE = (256, 256)


@pytest.fixture(scope="module")
def series():
    return simtransient.simulate_transient_series(shape=SHAPE, n_epochs=30, seed=1,
                                                  n_transients=16, cadence=3.0,
                                                  peak_mag=(17.8, 20.8), fall=(15.0, 30.0))


@pytest.fixture(scope="module")
def files(series, tmp_path_factory):
    return series.write(tmp_path_factory.mktemp("transients"))


@pytest.fixture(scope="module")
def measured(series, files):
    """Forced photometry at the transients, the host centres and blank positions."""
    hosts = series.hosts
    rng = np.random.default_rng(5)
    rows, gal, blank = [], [], []
    for e, row in files.iterrows():
        img = DifferenceImage.from_filename(row["diffimg"])
        tab = forced_photometry_frame(img, hosts["ra"].to_numpy(), hosts["dec"].to_numpy())
        tab["epoch"], tab["transient"] = e, np.arange(len(tab))
        rows.append(tab)
        for mode in ("science", "model"):
            g = img.forced_psf_photometry(hosts["gal_x"], hosts["gal_y"], source_noise=mode)
            g["epoch"], g["transient"], g["mode"] = e, np.arange(len(g)), mode
            gal.append(g)
        bx, by = rng.uniform(12, SHAPE[1] - 12, 300), rng.uniform(12, SHAPE[0] - 12, 300)
        far = np.min(np.hypot(bx[:, None] - hosts["x"].to_numpy(),
                              by[:, None] - hosts["y"].to_numpy()), axis=1) > 15
        b = img.forced_psf_photometry(bx[far], by[far])
        b["epoch"], b["limit_frame"] = e, img.get_maglim()
        blank.append(b)
    truth = series.truth[["epoch", "transient", "flux_dn", "flux_ujy", "mag", "magzp"]]
    res = pd.concat(rows, ignore_index=True).merge(truth, on=["epoch", "transient"])
    return res, pd.concat(gal, ignore_index=True), pd.concat(blank, ignore_index=True)


def _clean(tab):
    """Rows without masked, edge or off-image pixels in the fit or the aperture."""
    return (tab["psf_flag"] == 0) & (tab["aper_flag"] == 0)


# ------------------------------------------------------------------ the must-show
def test_transient_fluxes_are_unbiased_with_honest_errors(measured):
    res, _, _ = measured
    assert len(res) == 480
    on = res["flux_dn"] > 0
    assert on.sum() > 250 and (~on).sum() > 100
    pull = (res["forcediffimflux"] - res["flux_dn"]) / res["forcediffimfluxunc"]
    assert pull.notna().all()
    assert abs(pull.mean()) < 0.1 and 0.9 < pull.std() < 1.1
    assert abs(pull[on].mean()) < 0.12 and 0.9 < pull[on].std() < 1.1
    bright = res["flux_dn"] > 20 * res["forcediffimfluxunc"]
    assert bright.sum() > 50
    assert abs(np.median(res["forcediffimflux"][bright] / res["flux_dn"][bright] - 1)) < 0.01
    # in uJy on the frame's zero point (zpdiff is the epoch's true MAGZP)
    np.testing.assert_allclose(res["zpdiff"], res["magzp"], rtol=0, atol=1e-9)
    ujy = res["forcediffimflux"] * 10 ** (-0.4 * res["zpdiff"]) * simtransient.AB_UJY
    assert abs(np.median(ujy[bright] / res["flux_ujy"][bright] - 1)) < 0.01
    # the aperture fluxes too, where no masked pixel falls in the aperture
    ok = _clean(res)
    apull = ((res["forcediffimfluxap"] - res["flux_dn"]) / res["forcediffimfluxuncap"])[ok]
    assert ok.sum() > 350 and abs(apull.mean()) < 0.12 and 0.9 < apull.std() < 1.15
    assert 0.8 < res["forcediffimchisq"].median() < 1.2


def test_the_galaxies_leave_no_trace(measured):
    _, gal, _ = measured
    res = measured[0]
    off = res.groupby("epoch")["flux_dn"].max() == 0          # epochs before every explosion
    pre = gal["epoch"].isin(off[off].index)
    sci = gal[pre & (gal["mode"] == "science")]
    assert len(sci) >= 100
    p = sci["forcediffimflux"] / sci["forcediffimfluxunc"]
    assert abs(p.mean()) < 3 / np.sqrt(len(p)) and 0.85 < p.std() < 1.15
    # at the host centres the galaxy's photon noise matters: without it the errors are small
    mod = gal[pre & (gal["mode"] == "model")]
    pm = mod["forcediffimflux"] / mod["forcediffimfluxunc"]
    assert pm.std() > p.std() * 1.15
    assert (sci["forcediffimfluxunc"].to_numpy() > mod["forcediffimfluxunc"].to_numpy()).all()


def test_blank_positions_have_unit_pulls(measured):
    _, _, blank = measured
    ok = blank["psf_flag"] == 0
    p = (blank["forcediffimflux"] / blank["forcediffimfluxunc"])[ok]
    assert len(p) > 4000
    assert abs(p.mean()) < 0.05 and 0.95 < p.std() < 1.06
    assert (np.abs(p) > 5).mean() < 1e-3
    # on blank sky the 5-sigma limit is the frame's diffmaglim
    lim = blank["zpdiff"] - 2.5 * np.log10(5 * blank["forcediffimfluxunc"])
    frame_lim = blank.groupby("epoch")["limit_frame"].first()
    assert np.abs(lim.groupby(blank["epoch"]).median() - frame_lim).max() < 0.1


def test_upper_limits_where_the_transient_is_faint(measured):
    res, _, _ = measured
    snr = res["forcediffimsnr"]
    det = snr >= 3
    limit = res["zpdiff"] - 2.5 * np.log10(5 * res["forcediffimfluxunc"])
    none = res["flux_dn"] == 0
    assert (det & none).sum() <= 1                            # no false detections
    # a host adds its photon noise: limits on galaxies are brighter than on blank sky
    shallower = res["diffmaglim"][none] - limit[none]
    assert (shallower > 0).all() and shallower.median() > 0.15 and shallower.max() < 1.0
    faint = (res["flux_dn"] > 0) & (res["flux_dn"] < 2 * res["forcediffimfluxunc"])
    assert faint.sum() >= 6
    assert (~det[faint]).mean() >= 0.7                         # mostly limits there
    nondet = ~det & (res["flux_dn"] > 0)
    assert (res["mag"][nondet] > limit[nondet]).mean() > 0.97  # and the limits hold
    strong = res["flux_dn"] > 6 * res["forcediffimfluxunc"]
    assert det[strong].all()


# ------------------------------------------------------------------ the simulator
def test_written_files_have_ztf_names_and_siblings(series, files):
    assert len(files) == 30
    ref = files.attrs["refimg"]
    assert filenames.parse(ref).kind == "reference"
    for _, row in files.iterrows():
        rec = filenames.parse(row["diffimg"])
        assert rec.suffix == "scimrefdiffimg.fits.fz" and rec.fieldid == 600
        assert filenames.sibling(row["diffimg"], "diffimgpsf") == row["diffimgpsf"]
        assert filenames.sibling(row["diffimg"], "mskimg") == row["mskimg"]
    assert files["diffimg"].is_unique
    psf = PixelPSF.from_file(files["diffimgpsf"][0])
    assert psf.fwhm == pytest.approx(series.truth["seeing"][0], rel=0.02)


def test_truth_is_consistent(series):
    t = series.truth
    assert len(t) == 30 * 16 and set(t["transient"]) == set(range(16))
    on = t["flux_dn"] > 0
    np.testing.assert_allclose(t["mag"][on], t["magzp"][on] - 2.5 * np.log10(t["flux_dn"][on]))
    np.testing.assert_allclose(t["flux_ujy"][on],
                               simtransient.AB_UJY * 10 ** (-0.4 * t["mag"][on]), rtol=1e-10)
    assert t["mag"][~on].isna().all() and (t["flux_ujy"][~on] == 0).all()
    for k, g in t.groupby("transient"):
        h = series.hosts.loc[k]
        assert (g["obsjd"][g["flux_dn"] > 0] > h["t_explosion"]).all()
        assert g["mag"].min() >= h["peak_mag"] - 1e-9
    assert series.reference.header["NFRAMES"] == 30
    assert (series.truth["seeing"] > 1.8).all()


def test_difference_expectation_is_the_transient_plus_the_offset(series):
    ep = series.epochs[-1]
    truth = ep.truth
    from ztfimg.simulate import gaussian_stars
    trans = gaussian_stars(SHAPE, truth["x"], truth["y"], truth["flux_dn"], truth["seeing"][0])
    resid = ep.difference - trans - truth["diff_offset"][0]
    from ztfimg.bitmask import DETECTION_BITS, to_bool
    good = ~to_bool(ep.science.mask, DETECTION_BITS) & np.isfinite(ep.difference)
    # the galaxy cores: noise about zero, not galaxy light
    core = np.zeros(SHAPE, bool)
    for h in series.hosts.itertuples():
        core[int(round(h.gal_y)) - 2:int(round(h.gal_y)) + 3,
             int(round(h.gal_x)) - 2:int(round(h.gal_x)) + 3] = True
    assert abs(resid[core & good].mean()) < 1.5
    assert abs(np.median(resid[good])) < 0.2
    assert np.median(ep.static[core]) > 30                   # there was light to subtract


def test_the_simulation_is_deterministic():
    a = simtransient.simulate_transient_series(shape=(96, 96), n_epochs=2, seed=9)
    b = simtransient.simulate_transient_series(shape=(96, 96), n_epochs=2, seed=9)
    c = simtransient.simulate_transient_series(shape=(96, 96), n_epochs=2, seed=10)
    np.testing.assert_array_equal(a.epochs[1].difference, b.epochs[1].difference)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not np.array_equal(a.epochs[1].difference, c.epochs[1].difference)


def test_a_residual_background_is_removed_by_the_background_fit():
    s = simtransient.simulate_transient_series(shape=(128, 128), n_epochs=4, seed=3,
                                               diff_offset=3.0, t_explosion=2.5e6)
    rng = np.random.default_rng(1)
    modes = {"raw": dict(fit_background=False), "default": {},
             "dataclean": dict(data="dataclean", fit_background=False)}
    means = {k: [] for k in modes}
    for ep in s.epochs:
        img = ep.to_image()
        x, y = rng.uniform(15, 113, 150), rng.uniform(15, 113, 150)
        for k, kw in modes.items():
            t = img.forced_psf_photometry(x, y, **kw)
            means[k].append(np.nanmean(t["forcediffimflux"] / t["forcediffimfluxunc"]))
    offsets = np.array([ep.truth["diff_offset"][0] for ep in s.epochs])
    raw = np.array(means["raw"])
    assert np.corrcoef(raw, offsets)[0, 1] > 0.9 and np.abs(raw).max() > 1.0
    assert max(abs(v) for v in means["default"]) < 0.3        # fitted with the amplitude
    assert max(abs(v) for v in means["dataclean"]) < 0.35      # or the sep background map


def test_sersic_light_curve_and_psf_helpers():
    img = simtransient.sersic_image((101, 101), 50.3, 49.8, 1000.0, 5.0, 1.0, 0.3)
    assert img.sum() == pytest.approx(1000.0, rel=1e-9)
    half = aperture_photometry(img, 50.3, 49.8, 5.0)["sum"].iloc[0]
    assert half == pytest.approx(500.0, rel=0.04)             # r_e holds half the light
    lc = simtransient.light_curve(np.array([-1.0, 0.0, 1.0, 5.0, 100.0]), 0.0, 10.0, 3.0, 20.0)
    assert lc[0] == 0 and lc[1] == 0 and 0 < lc[2] < 10 and lc[4] < lc[3] <= 10
    tp = 3.0 * np.log(1 + 20.0 / 3.0)
    assert simtransient.light_curve(tp, 0.0, 10.0, 3.0, 20.0) == pytest.approx(10.0)
    psf = simtransient.psf_image(2.5)
    assert psf.shape == (25, 25) and psf.sum() == pytest.approx(1.0, rel=1e-6)
    assert np.unravel_index(psf.argmax(), psf.shape) == (12, 12)
    for bad in (dict(rise=5.0, fall=2.0), dict(rise=-1.0, fall=2.0)):
        with pytest.raises(InvalidParameterError):
            simtransient.light_curve(1.0, 0.0, 1.0, **bad)
    with pytest.raises(InvalidParameterError):
        simtransient.psf_image(2.5, size=24)
    with pytest.raises(InvalidParameterError):
        simtransient.sersic_image((50, 50), 25, 25, 10.0, 2.0, 20.0, 2.0)


def test_bad_simulation_parameters():
    with pytest.raises(InvalidParameterError):
        simtransient.simulate_transient_series(shape=(96, 96), n_epochs=1, seeing=(1.5, 2.0))
    with pytest.raises(InvalidParameterError):
        simtransient.simulate_transient_series(shape=(96, 96), n_epochs=1, n_transients=50)
    with pytest.raises(InvalidParameterError):
        simtransient.simulate_transient_series(shape=(96, 96), n_epochs=0)
