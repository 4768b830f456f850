"""A supernova on difference images: forced PSF photometry, the baseline, detections and
limits, offline.

A field with a galaxy is simulated: a deep reference, science epochs whose seeing, sky and
zero point change, and IPAC-style difference images (``*_scimrefdiffimg.fits.fz`` with
their ``*_diffimgpsf.fits``); a supernova explodes on the galaxy a third of the way in.
An ``ImageCollection`` of kind ``'difference'`` fits the difference-image PSF at the
position on every epoch; ``baseline_correct`` removes the epochs' offset measured before
the explosion; ``transient_table`` gives the light curve as fitters (sncosmo) take it,
with 5-sigma limits where the transient is not detected.
Run: ``python examples/transient.py`` (writes ``transient.png`` and ``transient.csv``).
Set ``ZTFIMG_FAST_EXAMPLES=1`` for fewer epochs (the test suite does).
"""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402

from ztfimg import ImageCollection, simtransient  # noqa: E402
from ztfimg.lightcurves import transients  # noqa: E402

FAST = os.environ.get("ZTFIMG_FAST_EXAMPLES", "") not in ("", "0")
N_EPOCHS = 12 if FAST else 30

series = simtransient.simulate_transient_series(shape=(128, 128), n_epochs=N_EPOCHS, seed=5,
                                                n_transients=1, nframes_ref=10)
host = series.hosts.iloc[0]
print(f"supernova at RA {host['ra']:.5f} Dec {host['dec']:.5f}, peak {host['peak_mag']:.2f} "
      f"AB mag, on a galaxy of {host['gal_mag']:.1f} mag")

with tempfile.TemporaryDirectory() as tmp:
    files = series.write(tmp)                       # sciimg, mskimg, diffimg, diffimgpsf
    col = ImageCollection.from_files(files["sciimg"].tolist(), kind="difference")
    lc = col.forced_photometry(host["ra"], host["dec"], method="psf", progress=False)

lc = transients.baseline_correct(lc)                # the offset before the explosion
table = transients.transient_table(lc, 0)           # time, band, flux (uJy), mag or limit
table.to_csv("transient.csv", index=False)
det = table["is_detection"].to_numpy(bool)
print(table[["time", "flux", "flux_err", "mag", "limit", "is_detection"]].round(3)
      .to_string(index=False))
truth = series.truth
print(f"{det.sum()} detections, {(~det).sum()} limits; brightest "
      f"{np.nanmin(table['mag'][det]):.2f} AB mag, injected peak {np.nanmin(truth['mag']):.2f}")

ax = transients.plot_transient(lc, 0, title="supernova on difference images")
ax.plot(truth["mjd"], truth["mag"], "k-", lw=1, alpha=0.6, label="injected")
ax.legend(fontsize=8)
ax.figure.savefig("transient.png", dpi=80, bbox_inches="tight")
print("wrote transient.png, transient.csv")
