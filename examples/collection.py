"""Many frames with ImageCollection: headers, selection, a job on every frame, calibration,
stamps and a light curve, offline.

A season of one field is simulated (6 nights of a 512x512 quadrant: the pointing drifts, the
seeing, sky and zero point change, a variable star shines among constant ones) and written
with ZTF names; its PS1-like catalogue goes into a temporary catalogue cache, so the frames
calibrate offline. Runs serially in a few seconds; on a laptop's cores or a dask cluster the
same calls take ``client="processes"`` (or ``client=distributed.Client(...)``).
Run: ``python examples/collection.py``.
"""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from ztfimg import ImageCollection, simseries


def variable_mag(image, ra, dec, colour):
    """The per-frame job: forced photometry of one star, a 10 px diameter aperture corrected
    to total with the header's APCOR, in the PS1 system (colour term): (mag, magerr)."""
    phot = image.aperture_photometry(ra, dec, radius=5.0, coords="sky", unit="mag",
                                     apcor=True, colour=colour)
    return float(phot["mag"].iloc[0]), float(phot["magerr"].iloc[0])


if __name__ == "__main__":     # worker processes (client="processes") re-import this file
    root = tempfile.mkdtemp(prefix="ztfimg-collection-")
    series = simseries.simulate_series(os.path.join(root, "frames"), n_frames=6,
                                       shape=(512, 512), seed=5)
    cache = os.path.join(root, "catalogs")
    series.ingest(cache_dir=cache)

    col = ImageCollection.from_directory(os.path.join(root, "frames"))
    print(col)
    print(col.headers[["filename", "obsmjd", "filtername", "magzp", "seeing"]].to_string())

    sharp = col.select(filtername="ztfr", seeing=lambda s: s < 2.2)
    print(f"{len(sharp)} of {len(col)} frames with seeing < 2.2 px")

    # any function of a frame, on every frame; failures would be in res.errors
    v = series.variable
    colour = float(series.stars.loc[series.stars["variable"], "colour"].iloc[0])
    res = col.map(variable_mag, v["ra"], v["dec"], colour, progress=False)  # client="processes"
    print(res)
    mag, magerr = np.array(res.results).T

    # the survey-calibration loop, offline from the cache
    zp = col.calibrate("ps1", cache_dir=cache, offline=True, progress=False)
    zp["injected"] = series.frames["magzp"].to_numpy()
    print(zp[["filename", "zp", "zp_err", "injected", "nstars"]].to_string())

    # the variable star's stamps through the frames, and its light curve
    stack = col.get_stamps(v["ra"], v["dec"], size=21, progress=False)
    print(stack)
    axes = stack.show(ncols=6)
    axes[0].figure.savefig("collection-stamps.png", dpi=70)

    fig, ax = plt.subplots()
    ax.errorbar(stack.mjd, mag, magerr, fmt="o", label="measured (10 px aperture + APCOR)")
    ax.plot(series.lightcurve["obsmjd"], series.lightcurve["mag"], "x", label="injected")
    ax.invert_yaxis()
    ax.set_xlabel("MJD")
    ax.set_ylabel("mag")
    ax.legend()
    fig.savefig("collection-lightcurve.png", dpi=70)
