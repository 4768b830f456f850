"""Light curves from many frames: forced photometry, calibration, differential photometry and
the data products, offline.

A season of one field is simulated (12 nights of a 320x320 quadrant: the pointing drifts,
the seeing, sky and zero point change, a star varies by 5 %) and written with ZTF names.
Forced photometry of the brighter stars through an ImageCollection gives a LightCurves
(DN of each frame, per aperture); ``calibrated`` puts them on the AB scale with each
frame's zero point and colour term; ``broeg2005`` divides the variable by an artificial
comparison star; the results go to prose's ``.phots`` layout and to parquet.
Runs serially in a few seconds, then once more on a local dask cluster (``client=`` takes a
``distributed.Client``: a laptop's cores or a site's cluster).
Set ``ZTFIMG_FAST_EXAMPLES=1`` for a one-thread in-process cluster (the test suite does).
Run: ``python examples/lightcurve.py``.
"""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ztfimg import ImageCollection, LightCurves, simseries
from ztfimg.lightcurves import forced_photometry

FAST = os.environ.get("ZTFIMG_FAST_EXAMPLES", "") not in ("", "0")

if __name__ == "__main__":     # worker processes (client="processes") re-import this file
    root = tempfile.mkdtemp(prefix="ztfimg-lightcurve-")
    series = simseries.simulate_series(os.path.join(root, "frames"), n_frames=12,
                                       shape=(320, 320), seed=7, amplitude=0.05)
    col = ImageCollection.from_directory(os.path.join(root, "frames"))

    # targets: the stars brighter than r = 18.5 near the field centre, with their PS1 colour
    stars = series.stars
    ra0, dec0 = series.frames["ra"].mean(), series.frames["dec"].mean()
    near = np.hypot((stars["ra"] - ra0) * np.cos(np.radians(dec0)), stars["dec"] - dec0) < 0.04
    targets = stars[near & (stars["mag"] < 18.5)][["objid", "ra", "dec", "mag", "colour",
                                                   "variable"]].reset_index(drop=True)
    lc = forced_photometry(col, targets, radius=[2, 3, 5], bkgann=(10, 15), progress=False)
    print(lc)

    # the same on a dask cluster: a site's (Client("tcp://scheduler:8786")) or, here, a local
    # one on the loopback interface; every frame is one task, the results are identical
    from distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1 if FAST else 2, threads_per_worker=1,
                           processes=not FAST, protocol="tcp://", host="127.0.0.1",
                           dashboard_address="127.0.0.1:0")
    with cluster, Client(cluster) as client:
        on_dask = forced_photometry(col, targets, radius=[2, 3, 5], bkgann=(10, 15),
                                    client=client, progress=False)
    assert on_dask.equals(lc)
    print(f"on dask ({1 if FAST else 2} worker(s)): the same light curves")
    print(lc.frames[["filename", "magzp", "seeing", "sky", "dx", "dy"]].round(3).to_string())

    # calibrated: each frame's MAGZP and CLRCOEFF * colour, the header aperture correction
    target = int(np.flatnonzero(lc.stars["variable"])[0])
    table = lc.get_lightcurve(target, aperture=1, colour="colour", bjd=True)
    print(table[["bjd_tdb", "mag", "mag_err", "flux", "flux_err", "flag"]].round(4).to_string())
    cal = lc.calibrated(1, colour="colour")
    clean = cal[~cal["upper_limit"] & (cal["flag"] == 0)]      # flag 4: masked pixels
    spread = clean.groupby("star")["mag"].std()
    print("scatter of the calibrated magnitudes of the constant stars (mag):",
          spread.drop(target).round(4).tolist())

    # differential photometry: iterated Broeg weights, the variable never its own comparison
    diff = lc.broeg2005(target=target)
    print(diff)
    print(diff.comparisons.round(4).to_string())

    # data products: prose's .phots layout (read back exactly) and parquet (long form)
    path = diff.save(os.path.join(root, "field655.phots"))
    assert LightCurves.load(path).equals(lc)
    lc.to_parquet(os.path.join(root, "field655.parquet"))
    print("wrote", path)

    fig, axes = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    lc.plot(target, 1, ax=axes[0], colour="colour")
    diff.plot(ax=axes[1])
    fig.tight_layout()
    fig.savefig("lightcurve.png", dpi=80)
    axes = diff.plot_systematics()
    axes[0].figure.savefig("lightcurve_systematics.png", dpi=70)
    plt.close("all")
