"""Stack dithered frames onto one grid and read the result back as a ReferenceImage.

Offline and small: 8 simulated 256x256 ZTF-like frames, dithered by a few arcseconds,
with different zero points and seeing, written as sciimg/mskimg files; the stack reads
only the sections it needs, scales every frame to the first one's zero point, leaves the
masked pixels out, and writes a FITS image that ztfimg opens as a ReferenceImage.

Run:  python examples/stack.py      (writes stack.png and deep_refimg.fits here)
"""

import math
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ztfimg import ReferenceImage, simulate  # noqa: E402
from ztfimg.stacking import stack  # noqa: E402


def main():
    rng = np.random.default_rng(42)
    shape = (256, 256)
    header = simulate.make_header(shape)
    header["NAXIS1"], header["NAXIS2"] = shape[1], shape[0]
    stars = simulate.random_catalog(header, 120, rng=rng, mag_range=(15.0, 21.5))
    with tempfile.TemporaryDirectory() as tmp:
        files, first = [], None
        for i in range(8):
            dra, ddec = rng.uniform(-6, 6, 2) / 3600.0
            frame = simulate.simulate_quadrant(
                shape=shape, seed=i, catalog=stars, obsjd=2459116.90 + 0.01 * i,
                ra=55.0608 + dra / math.cos(math.radians(33.35)), dec=33.35 + ddec,
                magzp=26.3 + rng.uniform(-0.2, 0.2), seeing=rng.uniform(1.8, 2.5))
            files.append(frame.write(tmp)[0])
            first = frame if i == 0 else first
        st = stack(files, combine="mean", sigma=3.0, output="deep_refimg.fits",
                   overwrite=True, progress=False)
    print(st)
    print(st.frames[["magzp", "scale", "sky", "rms", "weight"]].round(3))

    ref = ReferenceImage("deep_refimg.fits")
    print(f"ReferenceImage: MAGZP={ref.magzp:.3f} NFRAMES={ref.nframes} "
          f"GLOBMED={ref.globmed:.1f} DN, gain {ref.gain:.1f} e-/DN")
    scaled = st.frames["rms"] * st.frames["scale"]
    deep = float(np.sqrt(np.median(st.variance[st.count == 8])))
    print(f"sky noise per pixel at MAGZP {st.zeropoint:.2f}: frames {scaled.min():.2f}-"
          f"{scaled.max():.2f} DN, stack {deep:.2f} DN (~1/sqrt(8) of a frame)")

    fig, axes = plt.subplots(1, 3, figsize=(12, 4))
    lo, hi = np.nanpercentile(first.data, [1, 99])
    axes[0].imshow(first.data, origin="lower", cmap="gray", vmin=lo, vmax=hi)
    axes[0].set_title("one frame")
    finite = np.isfinite(st.data)
    lo, hi = np.percentile(st.data[finite], [1, 99])
    axes[1].imshow(st.data, origin="lower", cmap="gray", vmin=lo, vmax=hi)
    axes[1].set_title(f"stack of {st.nframes} (mean, 3-sigma clip)")
    im = axes[2].imshow(st.count, origin="lower", cmap="viridis")
    axes[2].set_title("frames per pixel")
    fig.colorbar(im, ax=axes[2])
    fig.tight_layout()
    fig.savefig("stack.png", dpi=80)
    print("wrote stack.png and", os.path.abspath("deep_refimg.fits"))


if __name__ == "__main__":
    main()
