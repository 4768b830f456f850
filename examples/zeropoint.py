"""Calibrate a frame against Pan-STARRS1, offline.

A PS1-like sky is simulated, drawn into a frame with an injected zero point and colour term,
and loaded into the on-disk catalogue cache as if VizieR had served it; ``get_catalog``
then projects it on the frame and ``fit_zeropoint`` recovers the calibration.
Run: ``python examples/zeropoint.py``.
"""
import tempfile

import matplotlib

matplotlib.use("Agg")
import numpy as np

from ztfimg import refcat, simulate

# ingest says which cone the catalogue covers completely: any cone inside it (here the
# frame's, ~0.5 deg for 2048 px) is then served offline from the cache
RADIUS = 0.8
ps1 = simulate.ps1_like_catalog(55.0608, 33.35, RADIUS, int(16000 * np.pi * RADIUS**2), seed=1)
frame = simulate.simulate_quadrant(shape=(2048, 2048), seed=1, catalog=ps1, magzp=26.21, clrcoeff=0.07)
img = frame.to_image()
img.load_source_background()

cache = tempfile.mkdtemp(prefix="ztfimg-catalogs-")
refcat.ingest(ps1, "ps1", region=(55.0608, 33.35, RADIUS), cache_dir=cache)
cat = img.get_catalog("ps1", cache_dir=cache, offline=True)   # never touches the network
print(f"{len(cat)} PS1 stars on the frame, {int(cat['isolated'].sum())} isolated")

res = img.fit_zeropoint("ps1")
print(res)
print(f"injected ZP 26.21, colour term 0.07; header MAGZP {img.magzp}, CLRCOEFF {img.clrcoeff}")
axes = res.show()
np.ravel(axes)[0].figure.savefig("zeropoint-residuals.png", dpi=70)
