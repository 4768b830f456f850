"""The ``ztfimg`` command line, continued: PSF photometry, calibration on a dask cluster with
a progress bar, and the demo's PSF photometry and stack parts.

Every command is run in-process through :func:`ztfimg.cli.main` on simulated data and its
output is checked for content against the simulation truth or the library call it wraps.
"""

import json
import os

import numpy as np
import pandas as pd
import pytest

from ztfimg.cli import main


@pytest.fixture(autouse=True)
def _no_traceback_env(monkeypatch):
    monkeypatch.delenv("ZTFIMG_TRACEBACK", raising=False)


def run(capsys, *args):
    """main(args) in-process: (exit status, stdout, list of stderr lines)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def assert_one_error(lines, *words):
    """stderr is exactly one ``ztfimg: error:`` line holding every word; no traceback."""
    assert len(lines) == 1, lines
    assert lines[0].startswith("ztfimg: error: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])


# ------------------------------------------------------------------------------ PSF photometry
@pytest.fixture(scope="module")
def psf_frame(tmp_path_factory):
    """A 256 px simulated frame drawn with a DAOPhot PSF (written beside it) and its truth:
    the isolated, unflagged stars of S/N > 30 well inside the frame."""
    from ztfimg import simulate
    from ztfimg.dao import DAOPhotPSF
    d = tmp_path_factory.mktemp("psfsim")
    psf = DAOPhotPSF.synthetic(hwhm=1.0, seed=3, xpsf=127.5, ypsf=127.5)
    frame = simulate.simulate_quadrant(shape=(256, 256), seed=3, psf=psf, nstars=60,
                                       defects=False)
    sci, _ = frame.write(d)
    t = frame.truth
    t = t[t["inside"] & (t["snr"] > 30) & t["x"].between(15, 240) & t["y"].between(15, 240)]
    xy = t[["x", "y"]].to_numpy()
    dist = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(dist, np.inf)
    t = t[dist.min(axis=1) > 12].reset_index(drop=True)
    assert len(t) >= 5
    return {"sci": str(sci), "truth": t, "dir": d}


def test_psf_photometry_pixels_matches_the_truth(psf_frame, tmp_path, capsys):
    from ztfimg import ScienceImage
    t = psf_frame["truth"]
    pos = tmp_path / "pos.csv"
    t[["x", "y"]].to_csv(pos, index=False)
    out = tmp_path / "psf.csv"
    code, stdout, err = run(capsys, "photometry", psf_frame["sci"], "--psf", "--positions",
                            pos, "--out", out, "--mag")
    assert (code, err) == (0, [])
    assert "PSF fit" in stdout and str(out) in stdout
    got = pd.read_csv(out)
    assert len(got) == len(t)
    assert {"flux", "fluxerr", "psf_flag", "mag", "magerr"} <= set(got.columns)
    assert (got["psf_flag"] == 0).all()
    ratio = got["flux"].to_numpy() / t["flux"].to_numpy()
    assert np.median(ratio) == pytest.approx(1.0, abs=0.01)
    pull = (got["flux"] - t["flux"]).to_numpy() / got["fluxerr"].to_numpy()
    assert np.all(np.abs(pull) < 5)
    # the table is ScienceImage.get_psf_photometry's
    direct = ScienceImage.from_filename(psf_frame["sci"]).get_psf_photometry(t["x"], t["y"])
    np.testing.assert_allclose(got["flux"], direct["flux"], rtol=1e-9)


def test_psf_photometry_sky_positions_and_json(psf_frame, capsys):
    from ztfimg import ScienceImage
    t = psf_frame["truth"].iloc[:3]
    img = ScienceImage.from_filename(psf_frame["sci"])
    ra, dec = img.pixels_to_coords(t["x"].to_numpy(), t["y"].to_numpy())
    args = []
    for r, d in zip(np.ravel(ra), np.ravel(dec)):
        args += ["--radec", f"{float(r)!r},{float(d)!r}"]
    code, stdout, err = run(capsys, "photometry", psf_frame["sci"], "--psf", *args, "--json")
    assert (code, err) == (0, [])
    rows = json.loads(stdout)
    assert len(rows) == 3 and "mag" not in rows[0]
    np.testing.assert_allclose([r["ra"] for r in rows], np.ravel(ra))
    np.testing.assert_allclose([r["flux"] for r in rows], t["flux"], rtol=0.05)


def test_psf_photometry_without_a_psf_file_is_one_line_exit_1(psf_frame, tmp_path, capsys):
    import shutil
    sci = tmp_path / os.path.basename(psf_frame["sci"])
    shutil.copy(psf_frame["sci"], sci)
    before = sorted(os.listdir(tmp_path))
    code, stdout, err = run(capsys, "photometry", sci, "--psf", "--xy", "100,100")
    assert code == 1 and stdout == ""
    assert_one_error(err, "sciimgdao.psf", "--psf-file")
    assert sorted(os.listdir(tmp_path)) == before
    # --psf-file gives it explicitly
    psffile = os.path.join(psf_frame["dir"], os.path.basename(psf_frame["sci"]).replace(
        "sciimg.fits", "sciimgdao.psf"))
    code, stdout, err = run(capsys, "photometry", sci, "--psf-file", psffile, "--xy",
                            "100,100", "--json")
    assert (code, err) == (0, [])
    assert len(json.loads(stdout)) == 1
    code, _, err = run(capsys, "photometry", sci, "--psf-file", tmp_path / "no.psf", "--xy",
                       "100,100")
    assert code == 1
    assert_one_error(err, "no such PSF file")


def test_psf_photometry_option_conflicts_are_usage_errors(psf_frame, capsys):
    code, _, err = run(capsys, "photometry", psf_frame["sci"], "--psf", "--radius", "3",
                       "--xy", "1,2")
    assert code == 2
    assert_one_error(err, "--radius", "--fit-radius")
    code, _, err = run(capsys, "photometry", psf_frame["sci"], "--fit-radius", "4", "--xy",
                       "1,2")
    assert code == 2
    assert_one_error(err, "--fit-radius", "--psf")


def test_psf_photometry_fit_radius_is_passed(psf_frame, capsys):
    t = psf_frame["truth"].iloc[:2]
    xy = [f"{x!r},{y!r}" for x, y in zip(t["x"], t["y"])]
    code, stdout, _ = run(capsys, "photometry", psf_frame["sci"], "--psf", "--fit-radius",
                          "6", "--xy", xy[0], "--xy", xy[1], "--json")
    assert code == 0
    rows = json.loads(stdout)
    # npix counts the pixels of the fitted disc: about pi * 6**2
    assert all(100 < r["npix"] <= np.pi * 6.5**2 for r in rows)


# ------------------------------------------------------------------------------ calibrate
@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """``ztfimg simulate`` of 3 frames of 384 px with the catalogue ingested in a cache."""
    d = tmp_path_factory.mktemp("season")
    cache = d / "cache"
    assert main(["simulate", str(d / "frames"), "--frames", "3", "--size", "384", "--seed",
                 "4", "--ingest", "--cache-dir", str(cache)]) == 0
    files = sorted(str(p) for p in (d / "frames").glob("*_sciimg.fits"))
    return {"files": files, "cache": str(cache)}


def _calibrate_json(capsys, season, *extra):
    code, stdout, err = run(capsys, "calibrate", *season["files"], "--offline", "--cache-dir",
                            season["cache"], "--json", *extra)
    assert code == 0, err
    return pd.DataFrame(json.loads(stdout)), err


@pytest.mark.parametrize("processes", [False, True], ids=["threads", "processes"])
def test_calibrate_on_a_dask_scheduler_matches_serial(season, capsys, processes):
    distributed = pytest.importorskip("distributed")
    serial, _ = _calibrate_json(capsys, season)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=processes,
                                  protocol="tcp://", host="127.0.0.1",
                                  dashboard_address="127.0.0.1:0") as cluster:
        remote, err = _calibrate_json(capsys, season, "--scheduler", cluster.scheduler_address)
    assert err == []
    pd.testing.assert_frame_equal(remote, serial)
    assert remote["error"].isna().all() and len(remote) == 3


def test_calibrate_scheduler_unreachable_is_one_line_exit_1(season, capsys):
    pytest.importorskip("distributed")
    import socket
    with socket.socket() as s:            # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    code, stdout, err = run(capsys, "calibrate", season["files"][0], "--offline",
                            "--scheduler", f"tcp://127.0.0.1:{port}", "--timeout", "2")
    assert code == 1 and stdout == ""
    assert_one_error(err, "cannot connect", f"127.0.0.1:{port}")


def test_calibrate_scheduler_and_workers_exclude_each_other(season, capsys):
    code, _, err = run(capsys, "calibrate", season["files"][0], "--workers", "2",
                       "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2
    assert_one_error(err, "--scheduler", "--workers")


def test_calibrate_progress_bar_on_stderr_unless_quiet_or_json(season, capsys):
    code, stdout, err = run(capsys, "calibrate", *season["files"], "--offline", "--cache-dir",
                            season["cache"])
    assert code == 0
    text = "\n".join(err)
    assert "ztfimg calibrate_frame" in text and "/3 [" in text        # tqdm's bar
    lines = stdout.splitlines()
    assert len(lines) == 3 and all("zp " in line and "stars" in line for line in lines)
    code, stdout, err = run(capsys, "calibrate", *season["files"], "--offline", "--cache-dir",
                            season["cache"], "--quiet")
    assert (code, stdout, err) == (0, "", [])
    _, err = _calibrate_json(capsys, season)
    assert err == []
