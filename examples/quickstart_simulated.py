"""Quick start on a simulated ZTF quadrant (offline, ~2 s).

A realistic frame (TPV WCS, ZTF header, Poisson + read noise, mask bits) is written as a
``sciimg``/``mskimg`` pair, opened like a real one, measured, and compared with its truth.
Run: ``python examples/quickstart_simulated.py``; pictures go to ``quickstart-*.png``.
"""
import matplotlib

matplotlib.use("Agg")
import numpy as np

from ztfimg import ScienceImage, simulate

frame = simulate.simulate_quadrant(shape=(1024, 1024), seed=42)
sciimg, mskimg = frame.write("quickstart-data")
img = ScienceImage.from_filename(sciimg)
print(img)

img.load_source_background()                        # sky with the sources masked
src = img.extract_sources(thresh=5)                 # x, y, ra, dec, flux, mag, maskbits ...
print(f"{len(src)} sources; background {img.background.globalback:.1f} DN")

# forced aperture photometry at the true positions of bright stars, in magnitudes
bright = frame.truth[frame.truth["inside"] & (frame.truth["mag"] < 18)]
mag, magerr = img.get_aperture(bright["x"].to_numpy(), bright["y"].to_numpy(), 5, unit="mag")
print(f"median(measured - true) = {np.nanmedian(mag - bright['mag']):+.4f} mag for {len(bright)} stars")

ax = img.show(overlay="sources")
ax.figure.savefig("quickstart-frame.png", dpi=80)
stamp = img.get_stamp(bright["x"].iloc[0], bright["y"].iloc[0], dx=23)
print("stamp centroid (frame pixels):", stamp.to_frame(*stamp.centroid()))
stamp.show().figure.savefig("quickstart-stamp.png", dpi=80)
