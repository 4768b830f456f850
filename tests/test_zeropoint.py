"""Tests of ztfimg.zeropoint: zero point and colour term on simulated stars."""

import socket

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ztfimg.errors import InvalidParameterError, ShapeMismatchError  # noqa: E402
from ztfimg.zeropoint import ZeroPointResult, fit_zeropoint  # noqa: E402

ZP, CLR = 26.275, 0.085


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    def guarded(self, address):
        raise RuntimeError(f"network access attempted in tests: {address}")

    monkeypatch.setattr(socket.socket, "connect", guarded)


def simulate(seed, n=600, zp=ZP, clr=CLR, outliers=0.05):
    """PS1-like stars: true mag, colour; noisy reference and instrumental mags."""
    rng = np.random.default_rng(seed)
    true = rng.uniform(14, 20.5, n)
    colour = rng.uniform(-0.3, 1.8, n)
    ref_err = 0.004 + 0.02 * 10 ** (0.4 * (true - 20.5))
    inst_err = 0.006 + 0.08 * 10 ** (0.4 * (true - 20.5))
    ref = true + rng.normal(0, 1, n) * ref_err
    inst = true - zp - clr * colour + rng.normal(0, 1, n) * inst_err
    bad = rng.random(n) < outliers  # variables, blends, cosmic rays
    inst[bad] += rng.choice([-1, 1], bad.sum()) * rng.uniform(0.1, 1.0, bad.sum())
    x, y = rng.uniform(0, 3072, n), rng.uniform(0, 3080, n)
    return dict(inst=inst, ref=ref, colour=colour, inst_err=inst_err, ref_err=ref_err,
                x=x, y=y, bad=bad)


@pytest.mark.parametrize("seed", range(8))
def test_recovers_injected_zero_point_and_colour_term(seed):
    s = simulate(seed)
    res = fit_zeropoint(s["inst"], s["ref"], colour=s["colour"], inst_err=s["inst_err"],
                        ref_err=s["ref_err"])
    assert abs(res.zp - ZP) < 0.005
    assert abs(res.clrcoeff - CLR) < 0.005
    assert abs(res.zp - ZP) / res.zp_err < 3
    assert abs(res.clrcoeff - CLR) / res.clrcoeff_err < 3
    # outliers are rejected, good stars kept
    assert (~res.used[s["bad"]]).mean() > 0.8
    assert res.used[~s["bad"]].mean() > 0.97
    assert res.covariance.shape == (2, 2) and res.covariance[0, 1] == res.zpclrcov


def test_pull_distribution_is_calibrated():
    pz, pc = [], []
    for seed in range(100, 130):
        s = simulate(seed, n=300)
        r = fit_zeropoint(s["inst"], s["ref"], colour=s["colour"], inst_err=s["inst_err"],
                          ref_err=s["ref_err"])
        pz.append((r.zp - ZP) / r.zp_err)
        pc.append((r.clrcoeff - CLR) / r.clrcoeff_err)
    assert max(np.abs(pz)) < 4 and max(np.abs(pc)) < 4
    assert 0.6 < np.std(pz) < 1.4 and 0.6 < np.std(pc) < 1.4
    assert abs(np.mean(pz)) < 0.6


def test_unweighted_and_no_colour():
    s = simulate(1, outliers=0)
    r = fit_zeropoint(s["inst"], s["ref"], colour=s["colour"])
    assert abs(r.zp - ZP) < 0.005 and abs(r.zp - ZP) / r.zp_err < 3
    # no colour term: fit ZP only on stars of zero colour-term (clr=0)
    s0 = simulate(2, clr=0.0)
    r0 = fit_zeropoint(s0["inst"], s0["ref"], inst_err=s0["inst_err"], ref_err=s0["ref_err"])
    assert abs(r0.zp - ZP) < 0.005 and abs(r0.zp - ZP) / r0.zp_err < 3
    assert np.isnan(r0.clrcoeff) and np.isnan(r0.clrcoeff_err) and np.isnan(r0.zpclrcov)
    assert r0.covariance.shape == (1, 1)
    np.testing.assert_allclose(r0.calibrate(s0["inst"]), s0["inst"] + r0.zp)


def test_result_fields_and_calibrate():
    s = simulate(3)
    r = fit_zeropoint(s["inst"], s["ref"], s["colour"], s["inst_err"], s["ref_err"],
                      sigma_clip=3, maxiter=5, x=s["x"], y=s["y"])
    assert isinstance(r, ZeroPointResult)
    n = len(s["inst"])
    assert r.used.shape == r.residuals.shape == (n,) and r.used.dtype == bool
    assert r.nstars == r.used.sum() and 1 <= r.niter <= 5
    assert 0.005 < r.rms < 0.1
    cal = r.calibrate(s["inst"], s["colour"])
    assert np.median(np.abs(cal - s["ref"])[r.used]) < 0.03
    with pytest.raises(InvalidParameterError):
        r.calibrate(s["inst"])
    d = r.to_dict()
    assert d["zp"] == r.zp and d["nstars"] == r.nstars
    assert "zp=26.27" in repr(r)


def test_show_returns_axes():
    import matplotlib.pyplot as plt

    s = simulate(4)
    r = fit_zeropoint(s["inst"], s["ref"], s["colour"], s["inst_err"], s["ref_err"],
                      x=s["x"], y=s["y"])
    axes = r.show()
    assert len(axes) == 4
    assert all(isinstance(a, matplotlib.axes.Axes) for a in axes)
    assert axes[1].get_xlabel().startswith("colour") and axes[2].get_xlabel().startswith("x")
    plt.close("all")
    r2 = fit_zeropoint(s["inst"], s["ref"])
    assert len(r2.show()) == 1
    plt.close("all")


def test_too_few_stars():
    s = simulate(5, n=4)
    with pytest.raises(InvalidParameterError, match="too few stars"):
        fit_zeropoint(s["inst"], s["ref"], s["colour"])
    inst = np.full(50, np.nan)
    inst[:3] = 1.0
    with pytest.raises(InvalidParameterError, match="3 of 50"):
        fit_zeropoint(inst, np.ones(50) * 20)
    with pytest.raises(InvalidParameterError, match="too few"):
        fit_zeropoint([], [])


def test_nan_and_bad_errors_are_skipped():
    s = simulate(6, outliers=0)
    s["inst"][:10] = np.nan
    s["colour"][10:20] = np.nan
    s["ref_err"][20:25] = -0.01  # negative or NaN error -> excluded
    s["ref_err"][25:30] = np.nan
    r = fit_zeropoint(s["inst"], s["ref"], s["colour"], s["inst_err"], s["ref_err"])
    assert not r.used[:30].any()
    assert np.isnan(r.residuals[:20]).all()
    assert abs(r.zp - ZP) < 0.005


def test_bad_input():
    s = simulate(7)
    with pytest.raises(ShapeMismatchError):
        fit_zeropoint(s["inst"], s["ref"][:-1])
    with pytest.raises(ShapeMismatchError):
        fit_zeropoint(s["inst"], s["ref"], colour=s["colour"][:10])
    with pytest.raises(InvalidParameterError, match="no spread"):
        fit_zeropoint(s["inst"], s["ref"], colour=np.full(len(s["inst"]), 0.7))
    with pytest.raises(InvalidParameterError):
        fit_zeropoint(s["inst"], s["ref"], sigma_clip=-1)
    with pytest.raises(InvalidParameterError):
        fit_zeropoint(s["inst"], s["ref"], maxiter=0)
    # scalar errors broadcast; no clipping allowed
    r = fit_zeropoint(s["inst"], s["ref"], s["colour"], inst_err=0.02, sigma_clip=None)
    assert r.niter == 1 and r.used.sum() == len(s["inst"])
