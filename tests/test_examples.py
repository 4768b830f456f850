"""The examples in examples/ run as written (offline), in a scratch directory."""

import glob
import os
import runpy

import pytest

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "examples", "*.py")))


def test_there_are_examples():
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("path", EXAMPLES, ids=[os.path.basename(p) for p in EXAMPLES])
def test_example_runs(path, tmp_path, monkeypatch, real_quadrant_paths):
    import matplotlib.pyplot as plt
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    runpy.run_path(os.path.abspath(path), run_name="__main__")
    plt.close("all")
    assert any(f.endswith(".png") for f in os.listdir(tmp_path))


def test_cli_demo_small(tmp_path, monkeypatch):
    from ztfimg.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--size", "512", "--outdir", "out"]) == 0
    for name in ("frame.png", "stamps.png", "zeropoint.png", "sources.csv"):
        assert os.path.getsize(os.path.join("out", name)) > 0
    assert main(["info", "missing_sciimg.fits"]) == 1
