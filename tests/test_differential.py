"""Differential photometry (ztfimg.lightcurves.differential): Broeg 2005 weights and errors.

* a small hand-computed case (weights after one iteration, the artificial star and its
  error, the target's differential light curve and error);
* the error of a weighted mean against a Monte Carlo (and against prose's formula);
* the target never in its own comparison set;
* a simulated season of 80 ZTF-like frames (drifting pointing, seeing 1.5-3 px, sky and
  transparency varying by 5 %, a target with a 1 % sinusoid, 15 constant comparison stars
  and one varying by 5 %) written with ZTF names, measured through an ImageCollection and
  forced_photometry: the injected amplitude is recovered within 10 %, the residual rms over
  the median error is within 0.85-1.15, the variable comparison is dropped.
"""

import numpy as np
import pandas as pd
import pytest

from ztfimg import ImageCollection, LightCurves, simulate
from ztfimg.errors import InvalidParameterError, ZTFImgError
from ztfimg.lightcurves import DifferentialPhotometry, broeg2005, forced_photometry, weighted_mean

START = 2459116.65
P_TARGET, P_VARIABLE = 3.7, 5.3


# ------------------------------------------------------------------ helpers
def hand_lightcurves(target_flux=None):
    """Star 0 the target, 1-3 comparisons; 4 frames; 1 % errors."""
    f1 = 100.0 * np.ones(4)
    f2 = 200.0 * np.ones(4)
    f3 = 50.0 * np.array([1.0, 1.1, 0.9, 1.0])
    ft = 1000.0 * np.ones(4) if target_flux is None else np.asarray(target_flux, float)
    flux = np.array([[ft, f1, f2, f3]])
    err = np.array([[0.01 * ft, np.full(4, 1.0), np.full(4, 2.0), np.full(4, 0.5)]])
    stars = pd.DataFrame({"ra": [10.0, 10.01, 10.02, 10.03], "dec": [20.0] * 4,
                          "name": ["T", "C1", "C2", "C3"]})
    frames = pd.DataFrame({"obsjd": START + np.arange(4.0), "filtername": ["ztfr"] * 4,
                           "magzp": [26.0] * 4, "file": [f"f{i}" for i in range(4)]})
    return LightCurves(flux, err, np.zeros(flux.shape, int), stars, frames, [3.0])


def write_season(directory, n_frames=80, shape=(400, 400), seed=0, n_comp=15, n_field=60):
    """A season of one field: target (star 0), comparisons 1..15, a 5 % variable (16)."""
    rng = np.random.default_rng(seed)
    ra0, dec0, scale = 55.0608, 33.35, 1.012 / 3600.0
    cosd = np.cos(np.radians(dec0))
    ny, nx = shape
    pos = []
    while len(pos) < n_comp + 2:                    # bright stars 25 px apart at least
        p = rng.uniform(40, [nx - 40, ny - 40])
        if all(np.hypot(*(p - q)) > 25 for q in pos):
            pos.append(p)
    pos = np.array(pos)
    x = np.concatenate([pos[:, 0], rng.uniform(20, nx - 20, n_field)])
    y = np.concatenate([pos[:, 1], rng.uniform(20, ny - 20, n_field)])
    # the simulator's CD matrix has +x towards -RA and +y towards -Dec
    stars = pd.DataFrame({"ra": ra0 - (x - nx / 2) * scale / cosd,
                          "dec": dec0 - (y - ny / 2) * scale,
                          "mag": np.concatenate([[15.0], rng.uniform(14.6, 16.4, n_comp), [15.3],
                                                 rng.uniform(17.5, 21.0, n_field)])})
    obsjd = START + np.arange(n_frames) + rng.uniform(0, 0.25, n_frames)
    target = 1 + 0.01 * np.sin(2 * np.pi * (obsjd - START) / P_TARGET)
    variable = 1 + 0.05 * np.sin(2 * np.pi * (obsjd - START) / P_VARIABLE + 1.0)
    seeing = rng.uniform(1.5, 3.0, n_frames)
    sky = rng.uniform(152.0, 168.0, n_frames)                      # +-2.5 %: 5 % range
    magzp = 26.3 + rng.uniform(-0.0265, 0.0265, n_frames)         # transparency, 5 %
    dx, dy = rng.normal(0, 5, n_frames), rng.normal(0, 5, n_frames)
    files = []
    for i in range(n_frames):
        cat = stars.copy()
        cat.loc[0, "mag"] -= 2.5 * np.log10(target[i])
        cat.loc[n_comp + 1, "mag"] -= 2.5 * np.log10(variable[i])
        frame = simulate.simulate_quadrant(
            shape=shape, seed=seed * 1000 + i + 1, catalog=cat, ra=ra0 + dx[i] * scale / cosd,
            dec=dec0 + dy[i] * scale, obsjd=obsjd[i], seeing=seeing[i], sky=sky[i],
            magzp=magzp[i])
        files.append(frame.write(directory)[0])
    truth = pd.DataFrame({"obsjd": obsjd, "target": target, "variable": variable,
                          "seeing": seeing, "sky": sky, "magzp": magzp, "dx": dx, "dy": dy})
    return files, stars.iloc[:n_comp + 2].reset_index(drop=True), truth


@pytest.fixture(scope="module")
def season(tmp_path_factory):
    files, stars, truth = write_season(tmp_path_factory.mktemp("season"))
    col = ImageCollection.from_files(files)
    lc = forced_photometry(col, stars, radius=[3.0, 5.0, 7.0], bkgann=(10.0, 15.0),
                           progress=False)
    return lc, truth


def sine_fit(t, y, e, period):
    a = np.column_stack([np.ones_like(t), np.sin(2 * np.pi * t / period),
                         np.cos(2 * np.pi * t / period)])
    coef = np.linalg.lstsq(a / e[:, None], y / e, rcond=None)[0]
    return coef, y - a @ coef


# ------------------------------------------------------------------ hand-computed
def test_weights_and_errors_hand_computed():
    lc = hand_lightcurves()
    diff = broeg2005(lc, target=0, max_iter=1, max_excess=None)
    # one iteration from equal initial weights (all errors 1 %): each star against the
    # mean of the two others, normalised by its median
    r1 = np.array([1.0, 1 / 1.05, 1 / 0.95, 1.0])          # C1 / ((C2 + C3) / 2), = C2's
    r3 = np.array([1.0, 1.1, 0.9, 1.0])                    # C3 / ((C1 + C2) / 2)
    s1, s3 = np.std(r1, ddof=1), np.std(r3, ddof=1)
    assert s1 == pytest.approx(0.0409527, rel=1e-5) and s3 == pytest.approx(np.sqrt(0.02 / 3))
    w = np.array([1 / s1**2, 1 / s1**2, 1 / s3**2])
    w /= w.sum()
    assert diff.weights.to_numpy() == pytest.approx(w, rel=1e-12)
    assert list(diff.weights.index) == [1, 2, 3]
    assert w[2] / w[0] == pytest.approx(0.25157, rel=1e-4)
    f = np.array([np.ones(4), np.ones(4), r3])
    art = (w[:, None] * f).sum(0)
    art_err = 0.01 * np.sqrt((w**2).sum())                  # sqrt(sum w^2 s^2) / sum w
    assert diff.artificial == pytest.approx(art, rel=1e-12)
    assert diff.artificial_err == pytest.approx(np.full(4, art_err), rel=1e-12)
    d = (1000.0 / art) / np.median(1000.0 / art)
    lcv = diff.get_lightcurve()
    assert lcv["flux"].to_numpy() == pytest.approx(d, rel=1e-12)
    assert lcv["flux_err"].to_numpy() == pytest.approx(
        d * np.sqrt(0.01**2 + (art_err / art) ** 2), rel=1e-12)
    assert list(diff.comparison_stars) == [1, 2, 3]
    # the numbers: 0.4441 for C1 and C2, 0.1117 for C3; artificial error 0.638 %
    assert w == pytest.approx([0.44413, 0.44413, 0.11173], abs=1e-5)
    assert art_err == pytest.approx(0.0063796, rel=1e-4)


def test_variable_comparison_dropped_in_hand_case():
    diff = broeg2005(hand_lightcurves(), target=0)      # iterated, with the excess test
    assert diff.weights[3] == 0.0 and 3 not in diff.comparison_stars
    assert not diff.comparisons.set_index("star").loc[3, "used"]


def test_errors_too_small_for_all_drop_only_the_variable():
    """Errors that miss a 1 % noise common to every star (flat field, say) do not empty the
    comparison set: the drop is relative to the candidates' typical excess."""
    rng = np.random.default_rng(7)
    nt, nc = 120, 12
    t = np.arange(nt, dtype=float)
    true = np.ones((nc + 1, nt))
    true[5] = 1 + 0.08 * np.sin(2 * np.pi * t / 17.0)            # comparison 5 varies
    flux = 1e4 * true * (1 + rng.normal(0, 0.01, true.shape))
    err = 0.003 * flux                                          # reported: 0.3 %
    frames = pd.DataFrame({"obsjd": START + t, "filtername": "ztfr"})
    stars = pd.DataFrame({"ra": np.linspace(10, 10.1, nc + 1), "dec": 20.0})
    lc = LightCurves(flux[None], err[None], np.zeros((1, nc + 1, nt), int), stars, frames, [3.0])
    diff = lc.broeg2005(target=0)
    assert 5 not in diff.comparison_stars and len(diff.comparison_stars) == nc - 1
    assert (diff.comparisons.set_index("star").drop(5)["excess"] > 2.5).all()


def test_weighted_mean_error_monte_carlo():
    rng = np.random.default_rng(42)
    w = np.array([1.0, 2.0, 5.0, 0.5])
    sigma = np.array([0.1, 0.05, 0.2, 0.02])
    draws = rng.normal(0.0, sigma, size=(200_000, 4))
    means, errs = weighted_mean(draws.T, np.broadcast_to(sigma[:, None], draws.T.shape),
                                w[:, None])
    formula = np.sqrt(np.sum(w**2 * sigma**2)) / np.sum(w)
    assert errs == pytest.approx(np.full(len(errs), formula))
    assert np.std(means) == pytest.approx(formula, rel=0.01)
    # prose's error of the same mean (normalised weights, divided by sum(w^2)) is 2x too big
    wn = w / w.sum()
    prose = np.sqrt(np.sum(wn**2 * sigma**2)) / np.sum(wn**2)
    assert prose / np.std(means) > 1.9
    m, e = weighted_mean([1.0, np.nan, 3.0], [0.1, 0.1, 0.1], [1.0, 1.0, 1.0])
    assert float(m) == 2.0 and float(e) == pytest.approx(0.1 / np.sqrt(2))


def test_target_never_its_own_comparison():
    lc = hand_lightcurves()
    for t in range(4):
        diff = broeg2005(lc, target=t, max_excess=None)
        for sol in diff._solutions.values():
            assert t not in sol.candidates
        assert t not in diff.comparison_stars and t not in diff.weights.index
    with pytest.raises(InvalidParameterError, match="own comparison"):
        broeg2005(lc, target=0, comparisons=[0, 1, 2])
    with pytest.raises(InvalidParameterError, match="own comparison"):
        broeg2005(lc, target="T", weights={"T": 1.0, "C1": 1.0})


def test_overrides_and_exclusions():
    lc = hand_lightcurves()
    diff = lc.broeg2005(target=0, comparisons=["C1", "C2"], weights=[1.0, 3.0])
    assert diff.weights.to_dict() == {1: 0.25, 2: 0.75}
    assert list(diff.comparison_stars) == [2, 1]           # heaviest first
    assert diff.artificial == pytest.approx(np.ones(4))
    diff = lc.broeg2005(target=0, exclude=[3], max_excess=None)
    assert 3 not in diff.weights.index
    diff = lc.broeg2005(target=0, weights={1: 2.0, 3: 2.0})
    assert diff.weights.to_dict() == {1: 0.5, 3: 0.5}
    with pytest.raises(InvalidParameterError):
        lc.broeg2005(target=0, comparisons=[1, 2], weights=[1.0])
    with pytest.raises(InvalidParameterError):
        lc.broeg2005(target=0, comparisons=[1, 2], exclude=[2])
    with pytest.raises(InvalidParameterError):
        lc.broeg2005(target=9)
    with pytest.raises(ZTFImgError):
        lc.broeg2005(target=0, max_iter=0)


def test_one_filter_only():
    lc = hand_lightcurves()
    frames = lc.frames
    frames["filtername"] = ["ztfr", "ztfg", "ztfr", "ztfg"]
    two = LightCurves(lc.flux, lc.flux_err, lc.flags, lc.stars, frames, lc.apertures)
    with pytest.raises(InvalidParameterError, match="one filter"):
        two.broeg2005(target=0)
    assert two.select(filtername="zg").broeg2005(target=0).lc.n_times == 2


# ------------------------------------------------------------------ simulated season
def test_season_recovers_amplitude_with_honest_errors(season):
    lc, truth = season
    assert lc.shape == (3, 17, 80)
    diff = lc.broeg2005(target=0)
    assert diff.target == 0 and 0 not in diff.comparison_stars
    # the aperture is the one whose target light curve scatters least
    assert diff.aperture == int(diff.scatter.idxmin())
    table = diff.get_lightcurve()
    good = (table["flag"] == 0).to_numpy() & np.isfinite(table["flux"].to_numpy())
    assert good.sum() >= 70
    t = lc.frames["obsjd"].to_numpy() - START
    y, e = table["flux"].to_numpy()[good], table["flux_err"].to_numpy()[good]
    coef, resid = sine_fit(t[good], y, e, P_TARGET)
    amplitude = np.hypot(coef[1], coef[2]) / coef[0]
    assert amplitude == pytest.approx(0.01, rel=0.10)
    rms = np.sqrt(np.sum(resid**2) / (good.sum() - 3))
    assert 0.85 <= rms / np.median(e) <= 1.15
    # the 5 % variable comparison: dropped (or at most a third of the median weight)
    w = diff.weights
    assert 16 in w.index
    assert w[16] == 0.0 or w[16] < np.median(w[w > 0]) / 3
    assert set(diff.comparison_stars) == set(range(1, 16))
    table = diff.comparisons.set_index("star")
    assert table.loc[16, "excess"] > 5 and (table.loc[1:15, "excess"] < 1.6).all()


def test_season_frames_table(season):
    lc, truth = season
    frames = lc.frames
    assert frames["magzp"].to_numpy() == pytest.approx(truth["magzp"].to_numpy())
    assert frames["seeing"].to_numpy() == pytest.approx(truth["seeing"].to_numpy())
    # the stars' shift from their mean position follows the pointing drift
    for name in ("dx", "dy"):
        measured = frames[name].to_numpy()
        injected = truth[name].to_numpy() - truth[name].mean()
        assert np.abs(measured - injected).max() < 0.2
    assert frames["sky"].to_numpy() == pytest.approx(truth["sky"].to_numpy(), rel=0.02)


def test_season_plots(season):
    import matplotlib.pyplot as plt
    lc, _ = season
    diff = lc.broeg2005(target=0)
    assert "DifferentialPhotometry star 0" in repr(diff)
    ax = diff.plot()
    assert len(ax.lines) + len(ax.containers) > 0
    axes = diff.plot_comparisons()
    assert axes.size >= 16 and sum(a.get_visible() for a in axes.flat) == 16
    axes = diff.plot_systematics()
    assert [a.get_ylabel() for a in axes[1:]] == ["seeing [px]", "sky [DN]", "dx [px]",
                                                  "dy [px]"]
    plt.close("all")


def test_loaded_result_is_the_same(season, tmp_path):
    lc, _ = season
    diff = lc.broeg2005(target=0)
    path = diff.save(tmp_path / "season.phots")
    back = DifferentialPhotometry.load(path)
    assert back.aperture == diff.aperture and back.target == 0
    assert np.array_equal(back.artificial, diff.artificial, equal_nan=True)
    assert back.weights.equals(diff.weights)
    assert np.array_equal(back.comparison_stars, diff.comparison_stars)
    lcv, lcb = diff.get_lightcurve(), back.get_lightcurve()
    assert lcv.equals(lcb)
