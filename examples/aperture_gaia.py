"""Aperture photometry of Gaia stars: the curve of growth, the aperture correction, and
stamps around the stars matched to the detected sources, offline.

A Gaia-like catalogue (positions and G magnitudes) is simulated, drawn into a ZTF-like frame
and loaded into a temporary catalogue cache as if VizieR had served it; ``get_catalog``
projects it on the frame, ``catalogs.match`` pairs it one-to-one with the extracted sources,
``get_curve_of_growth`` measures how much of a star's light falls inside each radius, and
the header's APCOR corrects a small aperture to the total.
Run: ``python examples/aperture_gaia.py`` (writes ``aperture_gaia.png`` here).
Set ``ZTFIMG_FAST_EXAMPLES=1`` for a smaller frame (the test suite does).
"""
import os
import tempfile

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ztfimg import ScienceImage, refcat, simulate  # noqa: E402

FAST = os.environ.get("ZTFIMG_FAST_EXAMPLES", "") not in ("", "0")
SIZE = 512 if FAST else 1024
RA, DEC = 55.0608, 33.35

with tempfile.TemporaryDirectory() as tmp:
    # a Gaia-like sky: G is the frame's magnitude system here (no colour term)
    radius = 0.25 * SIZE / 1024     # degrees: more than the frame's half-diagonal (0.2)
    sky = simulate.ps1_like_catalog(RA, DEC, radius, int(16000 * np.pi * radius**2), seed=3)
    gaia = sky[["ra", "dec"]].assign(Source=np.arange(len(sky)) + 10**15, Gmag=sky["rmag"])
    gaia = gaia.rename(columns={"ra": "RA_ICRS", "dec": "DE_ICRS"})
    refcat.ingest(gaia, "gaia", region=(RA, DEC, radius), cache_dir=tmp)

    frame = simulate.simulate_quadrant(shape=(SIZE, SIZE), seed=3, ra=RA, dec=DEC,
                                       catalog=sky.assign(mag=sky["rmag"]), seeing=2.2)
    sciimg, _ = frame.write(os.path.join(tmp, "frames"))
    img = ScienceImage.from_filename(sciimg)
    img.load_source_background()
    sources = img.extract_sources(thresh=5, setmag=True)
    stars = img.get_catalog("gaia", cache_dir=tmp, offline=True, magrange=(14, 19.5))
    print(f"{len(sources)} sources, {len(stars)} Gaia stars of G 14-19.5 on the frame")

    # one-to-one match (1 arcsec), then photometry at the Gaia positions (the catalogue's)
    pairs = img.catalogs.match("sources", "gaia", radius=1.0)
    matched = stars.loc[pairs["gaia_index"]]
    matched = matched[matched["isolated"]]
    print(f"{len(pairs)} matched pairs; {len(matched)} isolated Gaia stars measured")
    phot = img.aperture_photometry(matched["ra"], matched["dec"], [2, 3, 5], coords="sky",
                                   bkgann=(10, 15), unit="mag")
    radii = np.arange(1, 11)
    cog = img.get_curve_of_growth(matched["x"], matched["y"], radii, bkgann=(12, 18))
    print(cog.round(4).to_string(index=False))
    apcor = img.aperture_photometry(matched["x"], matched["y"], 3.0, apcor=True)
    true = matched["mag"].to_numpy()
    total = img.magzp - 2.5 * np.log10(apcor["sum_apcor"].to_numpy())
    good = phot["aper_flag"].to_numpy() == 0
    print(f"r=3 px + APCOR minus Gaia G: median {np.median((total - true)[good]):+.4f} mag")

    fig = plt.figure(figsize=(13, 7.5))
    top = fig.add_gridspec(2, 1, height_ratios=[1.25, 1], hspace=0.35)
    left, right = top[0].subgridspec(1, 2, wspace=0.3).subplots()
    left.plot(cog.iloc[:, 0], cog.iloc[:, 1], "o-")
    left.set(xlabel="aperture radius [px]", ylabel="fraction of the light inside",
             title=f"curve of growth of {len(matched)} Gaia stars")
    for i, r in enumerate([2, 3, 5]):
        left.axvline(r, color="0.7", lw=0.8, ls=":")
        m = phot[f"mag_{i}"].to_numpy() if f"mag_{i}" in phot else phot["mag"].to_numpy()
        right.plot(true[good], (m - true)[good], ".", ms=4, label=f"r = {r} px")
    right.plot(true[good], (total - true)[good], "k.", ms=4, label="r = 3 px + APCOR")
    right.axhline(0, color="k", lw=0.8)
    right.set_ylim(-0.25, 0.45)                      # a few faint blends lie beyond
    right.set(xlabel="Gaia G (simulated)", ylabel="aperture mag - G",
              title="small apertures miss light; APCOR puts it back")
    right.legend(fontsize=8)
    bright = matched.nsmallest(6, "mag")
    axes = top[1].subgridspec(1, 6, wspace=0.5).subplots()
    for ax, (_, row) in zip(axes, bright.iterrows()):
        img.get_stamp(row["x"], row["y"], dx=21).show(ax=ax, stretch="asinh",
                                                       scale="percentile",
                                                       percentile=(1, 99.9), colorbar=False)
        ax.set_title(f"G {row['mag']:.1f}\n({row['x']:.0f}, {row['y']:.0f})", fontsize=8)
    fig.savefig("aperture_gaia.png", dpi=80, bbox_inches="tight")
    print("wrote aperture_gaia.png")
