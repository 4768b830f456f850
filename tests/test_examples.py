"""The examples in examples/ run as written (offline), in a scratch directory, in their fast
mode (``ZTFIMG_FAST_EXAMPLES=1``: smaller frames, fewer epochs, a one-thread dask cluster),
and write the pictures and tables they promise."""

import glob
import os
import runpy

import pytest

EXAMPLES = sorted(glob.glob(os.path.join(os.path.dirname(__file__), "..", "examples", "*.py")))
NAMES = [os.path.basename(p) for p in EXAMPLES]

#: What each example must write into its working directory (beyond a PNG).
PRODUCTS = {
    "aperture_gaia.py": ["aperture_gaia.png"],
    "lightcurve.py": ["lightcurve.png", "lightcurve_systematics.png"],
    "stack.py": ["stack.png", "deep_refimg.fits"],
    "transient.py": ["transient.png", "transient.csv"],
    "collection.py": ["collection-stamps.png", "collection-lightcurve.png"],
}


def test_there_are_examples():
    assert len(EXAMPLES) >= 8
    # the workflows of the README's tour each have an example
    for name in ("quickstart_simulated.py", "zeropoint.py", "aperture_gaia.py",
                 "daophot_psf.py", "lightcurve.py", "transient.py", "stack.py"):
        assert name in NAMES, name


@pytest.mark.parametrize("path", EXAMPLES, ids=NAMES)
def test_example_runs(path, tmp_path, monkeypatch, real_quadrant_paths):
    import matplotlib.pyplot as plt
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    monkeypatch.setenv("ZTFIMG_FAST_EXAMPLES", "1")
    runpy.run_path(os.path.abspath(path), run_name="__main__")
    plt.close("all")
    written = os.listdir(tmp_path)
    assert any(f.endswith(".png") for f in written)
    for name in PRODUCTS.get(os.path.basename(path), []):
        assert os.path.getsize(tmp_path / name) > 1000, name


def test_transient_example_detects_the_supernova(tmp_path, monkeypatch):
    import pandas as pd
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ZTFIMG_OFFLINE", "1")
    monkeypatch.setenv("ZTFIMG_FAST_EXAMPLES", "1")
    path = [p for p in EXAMPLES if p.endswith("transient.py")][0]
    ns = runpy.run_path(os.path.abspath(path), run_name="__main__")
    table = pd.read_csv(tmp_path / "transient.csv")
    assert len(table) == ns["N_EPOCHS"]
    assert 3 <= table["is_detection"].sum() < len(table)     # none before the explosion
    peak = table.loc[table["is_detection"], "mag"].min()
    assert abs(peak - ns["series"].truth["mag"].min()) < 0.15


def test_cli_demo_small(tmp_path, monkeypatch):
    from ztfimg.cli import main
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--size", "512", "--outdir", "out"]) == 0
    for name in ("frame.png", "stamps.png", "zeropoint.png", "photometry.png", "stack.png",
                 "sources.csv", "photometry.csv"):
        assert os.path.getsize(os.path.join("out", name)) > 0
    assert main(["info", "missing_sciimg.fits"]) == 1
