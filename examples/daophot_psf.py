"""IPAC's DAOPhot PSF: read it, look at it, rebuild it anywhere, and fit real stars.

Uses the real PSF files and cutouts shipped in ``tests/data/daophot`` (MIT, from ztforce).
Run from the project root: ``python examples/daophot_psf.py``.
"""
import json
import os

import matplotlib

matplotlib.use("Agg")
import numpy as np

from ztfimg import ScienceImage, dao

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "..", "tests", "data", "daophot")
stem = "r_857_9_2_2459540.8489"
d = dao.DAOPhotReader(os.path.join(root, stem, "psf.psf"))
print(d)
d.show()[0].figure.savefig("daophot-psf.png", dpi=70)
psf = d.get_psf(1, [0.1, 0.1, 0.1])            # the seed's call: base profile + structures
stamp = d.get_psf_at(1000.3, 2000.7, size=25, normalize=True)
print("PSF stamp at (1000.3, 2000.7):", stamp.shape, f"sum={stamp.sum():.4f}")
print("curve of growth -> APCOR for diameters 2..14 px:",
      [round(d.aperture_correction(D), 3) for D in (2, 3, 4, 6, 10, 14)])

manifest = json.load(open(os.path.join(root, "manifest.json")))
info = next(i for i in manifest["images"] if i["stem"] == stem)
for t in info["targets"]:
    if t["kind"] != "star":
        continue
    z = ScienceImage(os.path.join(root, stem, t["file"])).set_psf(d)
    origin = (info["metadata"]["crpix1"] - z.header["CRPIX1"], info["metadata"]["crpix2"] - z.header["CRPIX2"])
    phot = z.get_psf_photometry([t["ra"]], [t["dec"]], coords="sky", data="data", rms="global",
                                frame_origin=origin)
    print(f"{t['file']}: ztfimg {phot['flux'].iloc[0]:9.1f} DN, IPAC psfcat {t['flux']:9.1f} DN, "
          f"ratio {phot['flux'].iloc[0] / t['flux']:.4f}, redchi2 {phot['redchi2'].iloc[0]:.2f}")
