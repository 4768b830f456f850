"""The ``ztfimg`` command line: bad input is one line on stderr and a meaningful exit status.

Exit statuses: 0 success, 1 runtime error (a file, the data, the output directory; ``info``:
any file failed), 2 usage error (options and their values, checked before any work), 3 an
internal error (a bug), 130 interrupted. ``--traceback`` or ``ZTFIMG_TRACEBACK=1`` add the
full traceback.
"""

import json
import os
import shutil
import subprocess
import sys
import warnings

import numpy as np
import pytest

import ztfimg
from ztfimg import cli
from ztfimg.cli import MAX_DEMO_SIZE, MIN_DEMO_SIZE, main

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(autouse=True)
def _no_traceback_env(monkeypatch):
    monkeypatch.delenv("ZTFIMG_TRACEBACK", raising=False)


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A simulated 256x256 science frame with its mask, and a reference image, on disk."""
    from ztfimg import simulate
    d = tmp_path_factory.mktemp("sim")
    frame = simulate.simulate_quadrant(shape=(256, 256), seed=1)
    sci, msk = frame.write(d)
    ref = simulate.simulate_reference(frame).write(d)
    return {"sci": str(sci), "msk": str(msk), "ref": str(ref), "dir": str(d)}


def run(capsys, *args):
    """main(args) in-process: (exit status, stdout, list of stderr lines)."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err.splitlines()


def assert_one_error(lines, *words, kind="error"):
    """stderr is exactly one ``ztfimg: <kind>:`` line holding every word; no traceback."""
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"ztfimg: {kind}: "), lines
    for word in words:
        assert word in lines[0], (word, lines[0])
    return lines[0]


# ------------------------------------------------------------------------------ generic
def test_version(capsys):
    code, out, err = run(capsys, "--version")
    assert (code, out, err) == (0, f"ztfimg {ztfimg.__version__}\n", [])


def test_help_documents_exit_codes_and_traceback(capsys):
    code, out, err = run(capsys, "--help")
    assert code == 0 and not err
    for text in ("--version", "--traceback", "ZTFIMG_TRACEBACK", "3 internal error", "2 usage"):
        assert text in out
    code, out, _ = run(capsys, "demo", "--help")
    assert code == 0 and f"{MIN_DEMO_SIZE} to {MAX_DEMO_SIZE}" in out


@pytest.mark.parametrize("args, words", [
    ((), ["a command is required"]),
    (("dmo",), ["invalid choice", "'dmo'"]),
    (("demo", "--bogus"), ["unrecognized arguments: --bogus"]),
    (("info",), ["FILE"]),
    (("photometry", "frame.fits"), ["positions one way"]),                 # none given
    (("stamps", "frame.fits", "--xy", "1,2", "--radec", "3,4", "--out", "st.fits"),
     ["positions one way"]),
])
def test_usage_errors_are_one_line_exit_2(capsys, args, words):
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert_one_error(err, *words, "--help")


# ------------------------------------------------------------------------------ demo
@pytest.mark.parametrize("seed", ["-1", "1.5", "x"])
def test_demo_seed_must_be_non_negative_int(capsys, tmp_path, seed):
    out_dir = tmp_path / "out"
    code, out, err = run(capsys, "demo", "--seed", seed, "--outdir", out_dir)
    assert code == 2 and out == ""
    assert_one_error(err, "--seed", "non-negative integer", seed)
    assert not out_dir.exists()


def test_demo_seed_equals_form(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--seed=-1", "--outdir", tmp_path)
    assert code == 2
    assert_one_error(err, "--seed")


@pytest.mark.parametrize("size", ["0", "1", "100", str(MIN_DEMO_SIZE - 1), str(MAX_DEMO_SIZE + 1),
                                  "abc", "512.0"])
def test_demo_size_range(capsys, tmp_path, size):
    code, out, err = run(capsys, "demo", "--size", size, "--outdir", tmp_path / "out")
    assert code == 2 and out == ""
    line = assert_one_error(err, "--size", f"from {MIN_DEMO_SIZE} to {MAX_DEMO_SIZE}", size)
    assert "xpsf" not in line and "box_size" not in line
    assert not (tmp_path / "out").exists()


def test_demo_at_the_smallest_size_runs(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--size", MIN_DEMO_SIZE, "--frames", "0",
                         "--outdir", tmp_path / "o")
    assert code == 0, err
    assert "zero point vs PS1" in out
    for name in ("frame.png", "stamps.png", "zeropoint.png", "sources.csv", "report.txt"):
        assert (tmp_path / "o" / name).stat().st_size > 0
    assert not (tmp_path / "o" / "season_calibrate.csv").exists()


@pytest.fixture(scope="module")
def demo_season(tmp_path_factory):
    """The demo with a short season (8 frames): its folder and run_demo's result."""
    d = tmp_path_factory.mktemp("demo")
    res = cli.run_demo(str(d), size=MIN_DEMO_SIZE, frames=8, seed=0)
    return d, res


def test_demo_season_files_and_report(demo_season):
    import pandas as pd
    d, res = demo_season
    pngs = ["frame.png", "stamps.png", "zeropoint.png", "photometry.png", "stack.png",
            "season_zeropoints.png", "season_lightcurve.png", "season_comparisons.png",
            "transient.png"]
    for name in pngs:
        assert (d / name).stat().st_size > 10_000, name
    report = (d / "report.txt").read_text()
    for name in pngs + ["sources.csv", "photometry.csv", "stack.fits", "season_headers.csv",
                        "season_calibrate.csv", "season_differential.csv", "transient.csv"]:
        assert f"\n{name}\n" in report, name
    assert "made by: ImageCollection.calibrate" in report
    assert "made by: transients.plot_transient" in report
    headers = pd.read_csv(d / "season_headers.csv")
    assert len(headers) == 8 and set(headers["fieldid"]) == {655}
    assert headers["magzp"].between(26.0, 26.5).all()


def test_demo_psf_and_aperture_photometry_against_the_truth(demo_season):
    import pandas as pd
    d, res = demo_season
    tab = pd.read_csv(d / "photometry.csv")
    assert len(tab) > 20
    good = (tab["psf_flag"] == 0) & (tab["aper_flag"] == 0)
    assert good.mean() > 0.9
    psf = (tab["psf_flux"] / tab["true_flux"])[good]
    aper = (tab["aper_flux"] / tab["true_flux"])[good]
    assert psf.median() == pytest.approx(1.0, abs=0.01)
    assert aper.median() == pytest.approx(1.0, abs=0.02)
    pull = ((tab["psf_flux"] - tab["true_flux"]) / tab["psf_fluxerr"])[good]
    assert 0.7 < res["psf_pull_std"] < 1.4 and abs(pull.median()) < 0.3
    okp = tab["psf_flag"] == 0
    assert res["psf_ratio"] == pytest.approx((tab["psf_flux"] / tab["true_flux"])[okp].median())
    report = (d / "report.txt").read_text()
    assert "ScienceImage.get_psf_photometry(x, y)" in report


def test_demo_stack_beats_one_frame(demo_season):
    from ztfimg import ReferenceImage
    d, res = demo_season
    ref = ReferenceImage(str(d / "stack.fits"))
    assert ref.nframes == res["stack_nframes"] == 8
    # sky noise of the stack about 1/sqrt(8) of a frame's
    assert res["stack_noise"] == pytest.approx(res["frame_noise"] / np.sqrt(8), rel=0.25)
    report = (d / "report.txt").read_text()
    assert "\nstack.png\n" in report and "ImageCollection.stack(" in report


def test_demo_season_zero_points_match_the_injected(demo_season):
    import pandas as pd
    d, res = demo_season
    zp = pd.read_csv(d / "season_calibrate.csv")
    assert len(zp) == 8 and zp["error"].isna().all()
    np.testing.assert_allclose(zp["zp"], zp["injected_zp"], atol=0.03)
    assert res["zp_offset_rms"] < 0.015
    assert np.all(np.abs(zp["zp"] - zp["injected_zp"]) < 5 * zp["zp_err"] + 0.01)


def test_demo_season_differential_amplitude(demo_season):
    import pandas as pd
    d, res = demo_season
    diff = pd.read_csv(d / "season_differential.csv")
    assert len(diff) == 8 and np.isfinite(diff["flux"]).all()
    assert diff["flux"].median() == pytest.approx(1.0, abs=0.15)
    # injected semi-amplitude 0.3 mag: recovered to a few per cent, residuals ~ 1 %
    assert res["diff_amplitude"] == pytest.approx(res["true_amplitude"], abs=0.03)
    assert res["diff_rms"] < 0.03 and res["n_comparisons"] >= 3


def test_demo_transient_detections_and_limits(demo_season):
    import pandas as pd
    d, res = demo_season
    tab = pd.read_csv(d / "transient.csv")
    assert len(tab) == 20 and {"time", "flux", "flux_err", "limit", "is_detection"} <= set(tab)
    assert 5 <= tab["is_detection"].sum() < 20          # the first epochs are before explosion
    assert res["peak_mag"] == pytest.approx(res["true_peak_mag"], abs=0.15)


def test_demo_frames_range(capsys, tmp_path):
    code, out, err = run(capsys, "demo", "--frames", "3", "--outdir", tmp_path / "o")
    assert code == 2 and out == ""
    assert_one_error(err, "--frames", "0 (no season)", "from 5 to 200")


def test_demo_outdir_under_a_regular_file(capsys, tmp_path):
    afile = tmp_path / "afile"
    afile.write_text("x")
    code, out, err = run(capsys, "demo", "--outdir", afile / "out" / "deeper")
    assert code == 2 and out == ""
    assert_one_error(err, "--outdir", "not a directory", str(afile))
    code, _, err = run(capsys, "demo", "--outdir", afile)
    assert code == 2
    assert_one_error(err, "--outdir", "not a directory")
    assert afile.read_text() == "x"


def test_demo_outdir_that_cannot_be_created(capsys, tmp_path, monkeypatch):
    def refuse(path, *args, **kwargs):
        raise PermissionError(13, "Permission denied", path)
    monkeypatch.setattr(cli.os, "makedirs", refuse)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path / "new")
    assert code == 2
    assert_one_error(err, "cannot create the output directory", "Permission denied")


def test_outdir_check_leaves_nothing_behind(capsys, tmp_path):
    target = tmp_path / "a" / "b"
    code, _, err = run(capsys, "demo", "--outdir", target, "--seed", "-1")
    assert code == 2
    assert_one_error(err, "--seed")
    assert not (tmp_path / "a").exists()


def test_demo_real_excludes_size_and_seed(capsys, tmp_path):
    code, _, err = run(capsys, "demo", "--real", "--size", "512", "--outdir", tmp_path)
    assert code == 2
    assert_one_error(err, "--real", "--size")


def test_demo_real_without_cache_is_a_runtime_error(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path / "empty-cache"))
    code, out, err = run(capsys, "demo", "--real", "--outdir", tmp_path / "out")
    assert code == 1
    assert_one_error(err, "fetch-data")


def test_run_demo_validates_its_arguments(tmp_path):
    from ztfimg.errors import InvalidParameterError
    with pytest.raises(InvalidParameterError, match=f"from {MIN_DEMO_SIZE} to {MAX_DEMO_SIZE}"):
        cli.run_demo(str(tmp_path / "o"), size=100)
    with pytest.raises(InvalidParameterError, match="non-negative"):
        cli.run_demo(str(tmp_path / "o"), seed=-1)
    assert not (tmp_path / "o").exists()


# ------------------------------------------------------------------------------ handler
def test_runtime_oserror_is_one_line_exit_1(capsys, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/frame.png")
    monkeypatch.setattr(cli, "run_demo", fail)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path)
    assert code == 1
    assert_one_error(err, "Permission denied", "/somewhere/frame.png")


def test_ztfimg_error_is_one_line_exit_1(capsys, tmp_path, monkeypatch):
    from ztfimg.errors import CatalogError

    def fail(*args, **kwargs):
        raise CatalogError("too few stars\nfor a fit")
    monkeypatch.setattr(cli, "run_demo", fail)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path)
    assert code == 1
    assert err == ["ztfimg: error: too few stars for a fit"]


def test_bug_is_a_summary_and_exit_3(capsys, tmp_path, monkeypatch):
    def fail(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(cli, "run_demo", fail)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path)
    assert code == 3
    assert_one_error(err, "ZeroDivisionError", "division by zero", "--traceback", "report",
                     kind="internal error")


@pytest.mark.parametrize("how", ["option", "option-after", "env"])
def test_traceback_on_request(capsys, tmp_path, monkeypatch, how):
    def fail(*args, **kwargs):
        raise ZeroDivisionError("division by zero")
    monkeypatch.setattr(cli, "run_demo", fail)
    args = ["demo", "--outdir", tmp_path]
    if how == "option":
        args = ["--traceback"] + args
    elif how == "option-after":
        args = args + ["--traceback"]
    else:
        monkeypatch.setenv("ZTFIMG_TRACEBACK", "1")
    code, _, err = run(capsys, *args)
    assert code == 3
    assert err[0] == "Traceback (most recent call last):"
    assert any("ZeroDivisionError: division by zero" == line for line in err)
    assert err[-1].startswith("ztfimg: internal error: ZeroDivisionError")


def test_traceback_for_a_user_error(capsys, sim, tmp_path):
    code, _, err = run(capsys, "info", "--traceback", tmp_path / "missing_sciimg.fits")
    assert code == 1
    assert err[0] == "Traceback (most recent call last):"
    assert "MissingFileError" in "\n".join(err)
    assert err[-1].startswith("ztfimg: error: no such file")


def test_traceback_env_zero_means_off(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZTFIMG_TRACEBACK", "0")
    code, _, err = run(capsys, "info", tmp_path / "missing.fits")
    assert code == 1
    assert_one_error(err, "no such file")


def test_interrupt_exit_130(capsys, tmp_path, monkeypatch):
    def stop(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(cli, "run_demo", stop)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path)
    assert (code, err) == (130, ["ztfimg: interrupted"])


def test_broken_pipe_is_quiet(capsys, sim, monkeypatch):
    def closed(msg):
        raise BrokenPipeError(32, "Broken pipe")
    monkeypatch.setattr(cli.commands, "_log", closed)
    code, _, err = run(capsys, "info", sim["sci"], sim["sci"])
    assert (code, err) == (1, [])


def test_warnings_are_one_line(capsys, tmp_path, monkeypatch):
    def warn(*args, **kwargs):
        warnings.warn("look at this\nresult", UserWarning)
        return {}
    monkeypatch.setattr(cli, "run_demo", warn)
    code, _, err = run(capsys, "demo", "--outdir", tmp_path)
    assert code == 0
    assert err == ["ztfimg: warning: look at this result (UserWarning)"]


# ------------------------------------------------------------------------------ info
def test_info_science_with_mask(capsys, sim):
    from ztfimg import ScienceImage
    expected = int(ScienceImage(sim["sci"], sim["msk"]).get_mask().sum())
    code, out, err = run(capsys, "info", sim["sci"])
    assert (code, err) == (0, [])
    lines = out.splitlines()
    assert lines[0].startswith("<ScienceImage") and "[256x256, mask]" in lines[0]
    assert lines[1].startswith(f"  mask {os.path.basename(sim['msk'])}: {expected} of 65536 "
                               "pixels masked")
    assert expected > 0


def test_info_science_without_mask(capsys, sim, tmp_path):
    alone = tmp_path / os.path.basename(sim["sci"])
    shutil.copy(sim["sci"], alone)
    code, out, err = run(capsys, "info", alone)
    assert (code, err) == (0, [])
    assert "no mask" in out.splitlines()[0]
    assert "_mskimg.fits is not beside it" in out.splitlines()[1]


def test_info_reference(capsys, sim):
    code, out, err = run(capsys, "info", sim["ref"])
    assert (code, err) == (0, [])
    assert out.startswith("<ReferenceImage") and len(out.splitlines()) == 1


def test_info_refuses_a_mask_and_names_the_science_file(capsys, sim):
    code, out, err = run(capsys, "info", sim["msk"])
    assert code == 1 and out == ""
    assert_one_error(err, "bit mask", "not a science image", sim["sci"])


def test_info_refuses_a_renamed_mask_by_its_header(capsys, sim, tmp_path):
    renamed = tmp_path / "image.fits"
    shutil.copy(sim["msk"], renamed)
    code, _, err = run(capsys, "info", renamed)
    assert code == 1
    assert_one_error(err, "bit mask", "integer BITPIX=16", "legend", str(renamed))


def test_info_reports_each_bad_file_and_goes_on(capsys, sim, tmp_path):
    import numpy as np
    from astropy.io import fits
    from astropy.table import Table
    missing = tmp_path / "missing_sciimg.fits"
    text = tmp_path / "notes.txt"
    text.write_text("not a FITS file\n")
    truncated = tmp_path / os.path.basename(sim["sci"])
    truncated.write_bytes(open(sim["sci"], "rb").read()[:100_000])
    table = tmp_path / "table.fits"
    Table({"a": [1, 2]}).write(table)
    plain = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.ones((20, 30), np.float32)).writeto(plain)
    files = [missing, sim["sci"], text, sim["msk"], truncated, table, tmp_path, plain, sim["ref"]]
    code, out, err = run(capsys, "info", *files)
    assert code == 1
    bad = [missing, text, sim["msk"], truncated, table, tmp_path]
    assert len(err) == len(bad), err
    for line, path in zip(err, bad):
        assert line.startswith("ztfimg: error: ") and str(path) in line, (line, path)
    assert "no such file" in err[0]
    assert "not FITS" in err[1]
    assert "truncated" in err[3]
    assert "no 2-D image" in err[4]
    assert "directory" in err[5]
    summaries = [line for line in out.splitlines() if line.startswith("<")]
    kinds = [s.split()[0] for s in summaries]
    assert kinds == ["<ScienceImage", "<ScienceImage", "<ReferenceImage"]
    assert "[30x20, no mask] plain.fits" in summaries[1]


def test_info_json(capsys, sim, tmp_path):
    from ztfimg import ScienceImage
    missing = tmp_path / "missing.fits"
    code, out, err = run(capsys, "info", "--json", sim["sci"], missing, sim["ref"])
    assert code == 1
    assert_one_error(err, "no such file")
    records = json.loads(out)
    assert [r["ok"] for r in records] == [True, False, True]
    sci, bad, ref = records
    assert sci["file"] == sim["sci"] and sci["type"] == "ScienceImage"
    assert sci["mask"] == sim["msk"] and sci["shape"] == [256, 256]
    assert sci["masked_pixels"] == int(ScienceImage(sim["sci"], sim["msk"]).get_mask().sum())
    assert sci["masked_fraction"] == pytest.approx(sci["masked_pixels"] / 256**2)
    assert (sci["fieldid"], sci["ccdid"], sci["qid"], sci["filter"]) == (655, 13, 3, "ztfr")
    assert bad == {"file": str(missing), "ok": False, "error": f"no such file: {str(missing)!r}"}
    assert ref["type"] == "ReferenceImage" and ref["mask"] is None and ref["masked_pixels"] is None


def test_info_json_all_good_exit_0(capsys, sim):
    code, out, err = run(capsys, "info", "--json", sim["sci"])
    assert (code, err) == (0, [])
    assert len(json.loads(out)) == 1


def test_info_bug_in_one_file_goes_on_and_exits_3(capsys, sim, monkeypatch):
    real = cli.commands._describe_image

    def flaky(img):
        if img.filename == sim["ref"]:
            raise IndexError("list index out of range")
        return real(img)
    monkeypatch.setattr(cli.commands, "_describe_image", flaky)
    code, out, err = run(capsys, "info", sim["ref"], sim["sci"])
    assert code == 3
    assert_one_error(err, sim["ref"], "IndexError", "--traceback", kind="internal error")
    assert out.startswith("<ScienceImage")


def test_info_real_quadrant(capsys, real_quadrant_paths, real_image):
    sci, msk = real_quadrant_paths
    code, out, err = run(capsys, "info", sci)
    assert (code, err) == (0, [])
    lines = out.splitlines()
    assert "field 655 c13 q3 ztfr" in lines[0] and "[3072x3080, mask]" in lines[0]
    expected = int(real_image.get_mask().sum())
    assert lines[1].startswith(f"  mask {os.path.basename(msk)}: {expected} of 9461760 pixels")
    code, out, err = run(capsys, "info", msk)
    assert code == 1 and out == ""
    assert_one_error(err, "bit mask", sci)


# ------------------------------------------------------------------------------ fetch-data
def test_fetch_data_offline_from_cache(capsys, real_quadrant_paths, monkeypatch):
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    code, out, err = run(capsys, "fetch-data")
    assert (code, err) == (0, [])
    assert out.splitlines() == list(real_quadrant_paths)


def test_fetch_data_offline_empty_cache(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    monkeypatch.setenv("ZTFIMG_CACHE", str(tmp_path))
    code, out, err = run(capsys, "fetch-data")
    assert code == 1 and out == ""
    assert_one_error(err, "offline")


# ------------------------------------------------------------------------------ processes
def _ztfimg(*args, cwd, env=None):
    environ = {k: v for k, v in os.environ.items() if k != "ZTFIMG_TRACEBACK"}
    environ["PYTHONPATH"] = ROOT + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "ztfimg", *map(str, args)], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=300)


def test_process_exit_codes(tmp_path, sim):
    p = _ztfimg("--version", cwd=tmp_path)
    assert (p.returncode, p.stdout, p.stderr) == (0, f"ztfimg {ztfimg.__version__}\n", "")
    p = _ztfimg("demo", "--seed", "-1", cwd=tmp_path)
    assert p.returncode == 2 and p.stdout == ""
    assert p.stderr.count("\n") == 1 and p.stderr.startswith("ztfimg: error: argument --seed")
    assert not (tmp_path / "ztfimg-demo").exists()
    p = _ztfimg("info", sim["sci"], tmp_path / "missing.fits", sim["msk"], cwd=tmp_path)
    assert p.returncode == 1
    assert p.stdout.startswith("<ScienceImage")
    lines = p.stderr.splitlines()
    assert len(lines) == 2 and all(line.startswith("ztfimg: error: ") for line in lines)


def test_process_traceback_env(tmp_path):
    p = _ztfimg("info", tmp_path / "missing.fits", cwd=tmp_path, env={"ZTFIMG_TRACEBACK": "1"})
    assert p.returncode == 1
    assert p.stderr.startswith("Traceback (most recent call last):")
    assert p.stderr.splitlines()[-1].startswith("ztfimg: error: no such file")


def test_lightcurve_command_on_a_simulated_series(tmp_path, capsys):
    import json

    from ztfimg import ImageCollection, LightCurves, simseries
    from ztfimg.cli import main
    s = simseries.simulate_series(tmp_path / "frames", 5, shape=(256, 256), seed=1)
    var = s.stars[s.stars["variable"]].iloc[0]
    out, png = tmp_path / "lc.parquet", tmp_path / "lc.png"
    rc = main(["lightcurve", *s.files, "--ra", repr(float(var.ra)), "--dec",
               repr(float(var.dec)), "--radius", "3", "--out", str(out), "--png", str(png),
               "--json"])
    assert rc == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 5 and summary["failed"] == 0 and summary["good_points"] == 5
    assert png.stat().st_size > 10_000
    lc = LightCurves.read_parquet(out)
    direct = ImageCollection.from_files(s.files).forced_photometry(
        float(var.ra), float(var.dec), radius=3, bkgann=(10, 15), progress=False)
    np.testing.assert_array_equal(lc.flux, direct.flux)
    # the variable's injected magnitudes (PS1 band) come back with its colour term
    table = direct.get_lightcurve(0, colour=float(var["colour"]))
    pull = (table["mag"].to_numpy() - s.lightcurve["mag"].to_numpy()) / table["mag_err"]
    assert np.all(np.abs(pull) < 4), pull
    assert main(["lightcurve", *s.files, "--ra", "1", "--dec", "2", "--out",
                 str(tmp_path / "x.txt")]) == 1


# ------------------------------------------------------------------------------ measuring
@pytest.fixture(scope="module")
def season(tmp_path_factory):
    """``ztfimg simulate`` of 3 frames of 384 px with the catalogue ingested in a cache."""
    d = tmp_path_factory.mktemp("season")
    cache = d / "cache"
    code = main(["simulate", str(d / "frames"), "--frames", "3", "--size", "384", "--seed", "2",
                 "--ingest", "--cache-dir", str(cache)])
    assert code == 0
    files = sorted(str(p) for p in (d / "frames").glob("*_sciimg.fits"))
    return {"files": files, "cache": str(cache), "dir": d}


def test_simulate_command_matches_simulate_series(season, tmp_path, capsys):
    import pandas as pd

    from ztfimg import simseries
    capsys.readouterr()
    code, out, err = run(capsys, "simulate", tmp_path / "x", "--frames", "3", "--size", "384",
                         "--seed", "2", "--json")
    assert (code, err) == (0, [])
    summary = json.loads(out)
    direct = simseries.simulate_series(tmp_path / "y", 3, shape=(384, 384), seed=2)
    assert [os.path.basename(f) for f in summary["files"]] == [
        os.path.basename(f) for f in direct.files]
    np.testing.assert_allclose(summary["magzp"], direct.frames["magzp"])
    assert len(pd.read_csv(summary["catalog"])) == len(direct.catalog)
    assert len(season["files"]) == 3


def test_sources_command_matches_extract_sources(season, tmp_path, capsys):
    import pandas as pd

    from ztfimg import ScienceImage
    out_csv = tmp_path / "s.csv"
    code, out, err = run(capsys, "sources", season["files"][0], "--out", out_csv, "--json")
    assert (code, err) == (0, [])
    img = ScienceImage.from_filename(season["files"][0])
    img.load_source_background()
    direct = img.extract_sources(thresh=5, setmag=True)
    got = pd.read_csv(out_csv)
    assert json.loads(out)["nsources"] == len(direct) == len(got) > 20
    np.testing.assert_allclose(got["x"], direct["x"])
    np.testing.assert_allclose(got["flux"], direct["flux"], rtol=1e-10)
    code, _, err = run(capsys, "sources", season["files"][0], "--out", tmp_path / "s.parquet")
    assert code == 0 and len(pd.read_parquet(tmp_path / "s.parquet")) == len(direct)
    code, _, err = run(capsys, "sources", season["files"][0], "--out", tmp_path / "s.txt")
    assert code == 1
    assert_one_error(err, "--out", ".csv")


def test_photometry_command_pixels_sky_and_file(season, tmp_path, capsys):
    from ztfimg import ScienceImage
    f = season["files"][0]
    img = ScienceImage.from_filename(f)
    direct = img.aperture_photometry([100.0, 200.5], [120.0, 50.0], 3.0)
    code, out, err = run(capsys, "photometry", f, "--xy", "100,120", "--xy", "200.5,50",
                         "--radius", "3", "--json")
    assert (code, err) == (0, [])
    rows = json.loads(out)
    np.testing.assert_allclose([r["sum"] for r in rows], direct["sum"], rtol=1e-10)
    ra, dec = np.ravel(img.pixels_to_coords(100.0, 120.0))[:2]
    code, out, _ = run(capsys, "photometry", f, "--radec", f"{float(ra)!r},{float(dec)!r}",
                       "--radius", "3", "--json")
    assert code == 0
    sky = img.aperture_photometry([float(ra)], [float(dec)], 3.0, coords="sky")
    assert json.loads(out)[0]["sum"] == pytest.approx(float(sky["sum"][0]), rel=1e-9)
    assert json.loads(out)[0]["sum"] == pytest.approx(direct["sum"][0], rel=1e-3, abs=0.5)
    pos = tmp_path / "pos.csv"
    pos.write_text("name,x,y\na,100,120\nb,200.5,50\n")
    code, out, _ = run(capsys, "photometry", f, "--positions", pos, "--radius", "3", "--json")
    assert code == 0
    np.testing.assert_allclose([r["sum"] for r in json.loads(out)], direct["sum"], rtol=1e-10)


@pytest.mark.parametrize("content, words", [
    ("name,x,y\na,100,120\nb,oops,50\n", ["line 3", "'oops'", "1 bad row"]),
    ("name,u,v\na,100,120\n", ["x,y", "ra,dec", "name, u, v"]),
    ("x,y\n", ["no position"]),
])
def test_photometry_bad_position_file_is_one_line(season, tmp_path, capsys, content, words):
    pos = tmp_path / "pos.csv"
    pos.write_text(content)
    code, out, err = run(capsys, "photometry", season["files"][0], "--positions", pos)
    assert code == 1 and out == ""
    assert_one_error(err, str(pos), *words)


def test_photometry_user_mistakes(season, tmp_path, capsys):
    f = season["files"][0]
    pos = tmp_path / "pos.csv"
    pos.write_text("x,y\n1,2\n")
    code, _, err = run(capsys, "photometry", f, "--positions", pos, "--columns", "xx,y")
    assert code == 1
    assert_one_error(err, "no column 'xx'")
    code, _, err = run(capsys, "photometry", tmp_path / "missing_sciimg.fits", "--xy", "1,2")
    assert code == 1
    assert_one_error(err, "no such file")
    code, _, err = run(capsys, "photometry", f, "--xy", "1")
    assert code == 2
    assert_one_error(err, "--xy", "A,B")
    code, _, err = run(capsys, "photometry", f)
    assert code == 2                                  # an option mistake: a usage error
    assert_one_error(err, "--xy", "--positions", "ztfimg photometry --help")


def test_calibrate_command_matches_the_collection(season, tmp_path, capsys):
    import pandas as pd

    from ztfimg import ImageCollection
    out_csv = tmp_path / "zp.csv"
    code, out, err = run(capsys, "calibrate", *season["files"], "--offline", "--cache-dir",
                         season["cache"], "--out", out_csv, "--json")
    assert (code, err) == (0, [])
    rows = json.loads(out)
    direct = ImageCollection.from_files(season["files"]).calibrate(
        "ps1", progress=False, cache_dir=season["cache"], offline=True)
    np.testing.assert_allclose([r["zp"] for r in rows], direct["zp"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(pd.read_csv(out_csv)["zp"], direct["zp"], atol=1e-9)
    # the simulated frames' header MAGZP is the injected zero point
    assert np.all(np.abs(direct["dzp"]) < 0.03)


def test_calibrate_with_an_empty_cache_is_one_line_exit_1(season, tmp_path, capsys):
    code, out, err = run(capsys, "calibrate", season["files"][0], "--offline", "--cache-dir",
                         tmp_path / "empty")
    assert code == 1
    assert_one_error(err, "1 of 1 frame(s) could not be calibrated")


def test_stamps_command_png_and_fits(season, tmp_path, capsys):
    from astropy.io import fits

    from ztfimg import ScienceImage
    f = season["files"][0]
    code, _, err = run(capsys, "stamps", f, "--xy", "100,120", "--xy", "200,50", "--out",
                       tmp_path / "s.fits", "--size", "15")
    assert (code, err) == (0, [])
    with fits.open(tmp_path / "s.fits") as hdul:
        cube, pos = hdul[0].data, hdul["POSITIONS"].data
    assert cube.shape == (2, 15, 15) and list(pos["x"]) == [100, 200]
    direct = ScienceImage.from_filename(f).get_stamp(100, 120, dx=15)
    np.testing.assert_allclose(cube[0], direct.data, equal_nan=True, rtol=1e-6)
    code, _, err = run(capsys, "stamps", f, "--xy", "100,120", "--out", tmp_path / "s.png")
    assert code == 0 and (tmp_path / "s.png").stat().st_size > 5000
    code, _, err = run(capsys, "stamps", f, "--xy", "100,120", "--out", tmp_path / "s.jpg")
    assert code == 1
    assert_one_error(err, ".png", ".fits")


@pytest.mark.parametrize("command", ["sources", "photometry", "calibrate", "stamps", "simulate"])
def test_each_command_has_help(capsys, command):
    code, out, err = run(capsys, command, "--help")
    assert code == 0 and not err and f"usage: ztfimg {command}" in out and "exit status" in out


def test_psf_command_renders_the_daophot_psf(tmp_path, capsys):
    import glob

    from astropy.io import fits

    from ztfimg.dao import DAOPhotPSF
    psffile = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "data", "daophot",
                                            "*", "psf.psf")))[0]
    out = tmp_path / "psf.fits"
    assert main(["psf", psffile, "--x", "1000.3", "--y", "2000.7", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    ref = DAOPhotPSF(psffile).get_psf_at(1000.3, 2000.7, normalize=True)
    np.testing.assert_allclose(fits.getdata(out), ref, rtol=1e-6)
    assert summary["sum"] == pytest.approx(1.0) and summary["size"] == ref.shape[0]
    png = tmp_path / "psf.png"
    assert main(["psf", psffile, "--x", "10", "--y", "20", "--out", str(png)]) == 0
    assert png.stat().st_size > 5_000
    assert main(["psf", psffile, "--x", "10", "--y", "20", "--out", str(tmp_path / "a.jpg")]) == 1


def test_cache_command_fills_lists_and_clears(tmp_path, capsys):
    from ztfimg import simulate
    cat = simulate.ps1_like_catalog(55.0, 33.3, 0.3, 500, seed=1)
    csv = tmp_path / "ps1.csv"
    cat.to_csv(csv, index=False)
    cache = tmp_path / "cache"
    assert main(["cache", "fill", str(csv), "--catalog", "ps1", "--region", "55.0", "33.3",
                 "0.3", "--cache-dir", str(cache), "--json"]) == 0
    filled = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert filled["catalogs"]["ps1"]["tiles"] >= 1
    from ztfimg import refcat
    back = refcat.get_catalog("ps1", 55.0, 33.3, 0.2, cache_dir=cache, offline=True)
    inside = np.hypot((cat["ra"] - 55.0) * np.cos(np.radians(33.3)), cat["dec"] - 33.3) < 0.2
    assert len(back) == int(inside.sum())
    assert main(["cache", "clear", "--cache-dir", str(cache)]) == 1      # needs --yes
    assert main(["cache", "clear", "--cache-dir", str(cache), "--yes", "--json"]) == 0
    cleared = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert cleared["catalogs"] == {}
    assert main(["cache", "fill", str(csv), "--cache-dir", str(cache)]) == 1  # no --region
