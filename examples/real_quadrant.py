"""The seed usage on the real ZTF quadrant (field 655, c13 q3, ZTF_r, 2020-09-24).

Needs the sample data once: ``python -m ztfimg fetch-data`` (then offline).
Run: ``python examples/real_quadrant.py``.
"""
import matplotlib

matplotlib.use("Agg")

from ztfimg import datasets, image

sciimg, mask = datasets.get_real_quadrant()
z = image.ScienceImage(sciimg, mask)
print(z)
z.load_source_background()
z.show().figure.savefig("real-frame.png", dpi=80)
z.extract_sources(data="dataclean", setmag=True)
print(z.sources[["x", "y", "ra", "dec", "flux", "fluxerr", "mag", "magerr", "maskbits"]].head())

RA, Dec = z.sources["ra"].iloc[100], z.sources["dec"].iloc[100]
x, y = z.coords_to_pixels(RA, Dec)
mag, magerr = z.get_aperture(x, y, 5, unit="mag")
print(f"source at RA={RA:.5f} Dec={Dec:.5f}: x={x:.2f} y={y:.2f}, r=5px mag {mag:.3f} +- {magerr:.3f}")
# with the IPAC aperture correction for the 10 px diameter
m10, e10 = z.get_aperture(x, y, 5, unit="mag", apcor=True)
print(f"with APCOR5 ({z.get_apcor(10)[0]:+.4f} mag): {m10:.3f} +- {e10:.3f}")
stamp = z.get_stamp(x, y, dx=23, dy=23)
stamp.show().figure.savefig("real-stamp.png", dpi=80)
stampdata = z.get_stamp(x, y, dx=23, dy=23, asarray=True)
print("stamp array", stampdata.shape)
