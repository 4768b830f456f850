"""The frame object: one answer per question, nothing handed out aliases its state.

One test per defect found in the review of the frame object (each failed on the old
``ztfimg/image.py``), and a parametrised check that every public entry point leaves its
inputs and the object's state untouched by what it returns.
"""

import numpy as np
import pandas as pd
import pytest

from ztfimg import ReferenceImage, ScienceImage, simulate
from ztfimg.background import estimate_background
from ztfimg.bitmask import BACKGROUND_BITS
from ztfimg.errors import HeaderKeywordError, InvalidParameterError

from conftest import assert_unchanged


@pytest.fixture(scope="module")
def sim():
    return simulate.simulate_quadrant(shape=(600, 640), seed=11)


@pytest.fixture()
def z(sim):
    return sim.to_image()


def _bright(sim, n=60):
    t = sim.truth
    t = t[t["inside"] & (t["snr"] > 30) & t["x"].between(20, 620) & t["y"].between(20, 580)]
    return t.iloc[:n]


# ---------------------------------------------------------------- product keys
def test_background_key_holds_the_source_ellipses(z):
    src = z.extract_sources()
    b1 = z.get_background(sources=src)
    big = src.copy()
    big["a"] *= 4
    big["b"] *= 4
    b2 = z.get_background(sources=big)
    assert b2 is not b1
    assert b2.nmasked > b1.nmasked
    assert z.get_background(sources=src.copy()) is b1  # same values, same product


def test_derived_arrays_follow_every_new_background(z):
    mask = z.get_mask(bits=BACKGROUND_BITS)
    for box in (32, 64, 128, 32, 64):
        # new objects each time: Python may reuse an id, a version counter cannot collide
        z.set_background(estimate_background(z.data, mask, box_size=box))
        clean = z.dataclean
        good = np.isfinite(clean)
        np.testing.assert_allclose(clean[good], (z.data - z.background.back)[good],
                                   rtol=0, atol=1e-3)


def test_reference_source_background_masks_the_sources(tmp_path):
    frame = simulate.simulate_quadrant(shape=(512, 512), seed=2, nstars=150)
    ref = ReferenceImage.from_filename(simulate.simulate_reference(frame, globmed=150.0)
                                       .write(tmp_path))
    globmed = ref.get_background()
    bkg = ref.load_source_background()
    assert bkg is not globmed and ref.background is bkg
    assert bkg.box_size == (64, 64)               # a sep mesh, not the constant GLOBMED
    assert bkg.nmasked > globmed.nmasked + 1000    # the stars' ellipses are masked
    assert float(np.std(bkg.back)) > 0             # follows the simulated sky gradient


# ---------------------------------------------------------------- numbers
@pytest.fixture(scope="module")
def sim_psf(tmp_path_factory):
    from ztfimg.dao import DAOPhotPSF
    psf = DAOPhotPSF.synthetic(hwhm=1.1, seed=4, xpsf=255.5, ypsf=255.5)
    frame = simulate.simulate_quadrant(shape=(512, 512), seed=8, psf=psf)
    sci, _ = frame.write(tmp_path_factory.mktemp("psfsky"))
    return frame, sci


@pytest.mark.parametrize("data", ["dataclean", "datamasked", "data"])
def test_psf_photometry_with_fixed_sky_subtracts_the_sky_once(sim_psf, data):
    frame, sci = sim_psf
    z = ScienceImage.from_filename(sci)
    t = frame.truth
    t = t[t["inside"] & (t["snr"] > 20) & t["x"].between(15, 496) & t["y"].between(15, 496)]
    phot = z.get_psf_photometry(t["x"].to_numpy(), t["y"].to_numpy(), fit_sky=False, data=data)
    ok = phot["psf_flag"].to_numpy() == 0
    ratio = phot["flux"].to_numpy()[ok] / t["flux"].to_numpy()[ok]
    assert ok.sum() > 30
    assert np.median(ratio) == pytest.approx(1.0, abs=0.02)   # was -0.6 on dataclean


def test_apcor_sum_means_the_same_for_every_unit(z, sim):
    t = _bright(sim)
    x, y = t["x"].to_numpy(), t["y"].to_numpy()
    counts = z.aperture_photometry(x, y, 5, apcor=True)
    mag = z.aperture_photometry(x, y, 5, apcor=True, unit="mag")
    flux = z.aperture_photometry(x, y, 5, apcor=True, unit="flux")
    raw = z.aperture_photometry(x, y, 5)
    for df in (counts, mag, flux):
        np.testing.assert_array_equal(df["sum"], raw["sum"])          # raw DN everywhere
        np.testing.assert_array_equal(df["sumerr"], raw["sumerr"])
    corr, unc = z.get_apcor(10)
    fac = 10 ** (-0.4 * corr)
    np.testing.assert_allclose(counts["sum_apcor"], raw["sum"] * fac, rtol=1e-12)
    expected_err = np.hypot(raw["sumerr"] * fac, raw["sum"] * fac * 0.4 * np.log(10) * unc)
    np.testing.assert_allclose(counts["sumerr_apcor"], expected_err, rtol=1e-12)
    assert (counts["apcor"] == corr).all() and (counts["apcorerr"] == unc).all()
    m, me = z.counts_to_mag(counts["sum_apcor"].to_numpy(), counts["sumerr_apcor"].to_numpy())
    np.testing.assert_allclose(mag["mag"], m, rtol=1e-12)
    f, fe = z.counts_to_flux(counts["sum_apcor"].to_numpy(), counts["sumerr_apcor"].to_numpy())
    np.testing.assert_allclose(flux["flam"], f, rtol=1e-12)
    np.testing.assert_allclose(flux["flamerr"], fe, rtol=1e-12)   # APCORUNC kept
    assert "flux" not in flux                                       # a flux column is DN
    # get_aperture hands out the corrected values when apcor=True
    v, e = z.get_aperture(x, y, 5, apcor=True)
    np.testing.assert_allclose(v, counts["sum_apcor"])


def _with_header(sim, **cards):
    header = sim.header.copy()
    for key, value in cards.items():
        if value is None:
            header.remove(key, ignore_missing=True)
        else:
            header[key] = value
    return ScienceImage.from_arrays(sim.data, header, sim.mask)


@pytest.mark.parametrize("cards, match", [
    ({"FIXAPERS": "2,3,x,6,10,14"}, "FIXAPERS"),
    ({"FIXAPERS": None}, "FIXAPERS"),
    ({"APCORUN3": None}, "APCORUN3"),
])
def test_apcor_header_problems_are_errors_not_defaults(sim, cards, match):
    z = _with_header(sim, **cards)
    with pytest.raises(HeaderKeywordError, match=match):
        z.apcor
    with pytest.raises(HeaderKeywordError, match=match):
        z.aperture_photometry([100.0], [100.0], 5, apcor=True)


def test_unit_is_checked_before_the_photometry_runs(z, monkeypatch):
    from ztfimg import aperture
    calls = []
    monkeypatch.setattr(aperture, "aperture_photometry", lambda *a, **k: calls.append(1))
    with pytest.raises(InvalidParameterError, match="unit"):
        z.aperture_photometry([10.0], [10.0], 3, unit="jansky")
    with pytest.raises(InvalidParameterError, match="flux_unit"):
        z.aperture_photometry([10.0], [10.0], 3, unit="flux", flux_unit="W")
    assert calls == []


def test_stamp_size_and_psf_fit_radius_as_quantity(sim_psf):
    import astropy.units as u
    frame, sci = sim_psf
    z = ScienceImage.from_filename(sci)
    assert z.get_stamp(100.0, 120.0, size=15).data.shape == (15, 15)
    t = frame.truth
    t = t[t["inside"] & (t["snr"] > 20) & t["x"].between(15, 496) & t["y"].between(15, 496)]
    a = z.get_psf_photometry(t["x"].to_numpy(), t["y"].to_numpy(), fit_radius=4.0)
    b = z.get_psf_photometry(t["x"].to_numpy(), t["y"].to_numpy(), fit_radius=4.0 * u.pix)
    c = z.get_psf_photometry(t["x"].to_numpy(), t["y"].to_numpy(),
                             fit_radius=4.0 * z.pixel_scale * u.arcsec)
    np.testing.assert_allclose(b["flux"], a["flux"], rtol=1e-12)
    np.testing.assert_allclose(c["flux"], a["flux"], rtol=1e-9)


def test_quantity_radii(z, sim):
    import astropy.units as u
    t = _bright(sim, 10)
    ref = z.aperture_photometry(t["x"], t["y"], [3, 5])
    pix = z.aperture_photometry(t["x"], t["y"], [3, 5] * u.pix)
    arc = z.aperture_photometry(t["x"], t["y"], np.array([3, 5]) * z.pixel_scale * u.arcsec)
    for df in (pix, arc):
        np.testing.assert_allclose(df["sum_0"], ref["sum_0"], rtol=1e-9)
        np.testing.assert_allclose(df["sum_1"], ref["sum_1"], rtol=1e-9)


# ---------------------------------------------------------------- no WCS, no hidden work
def test_sources_without_wcs_warn_and_keep_the_columns(sim):
    from ztfimg.image import NoWCSWarning
    header = sim.header.copy()
    for key in ("CTYPE1", "CTYPE2"):
        header.remove(key)
    z = ScienceImage.from_arrays(sim.data, header, sim.mask)
    with pytest.warns(NoWCSWarning, match="no WCS"):
        src = z.extract_sources()
    assert len(src) > 50 and src["ra"].isna().all() and src["dec"].isna().all()
    assert "sources" not in z.catalogs


def test_show_overlay_does_not_extract_as_a_side_effect(z):
    import matplotlib.pyplot as plt
    ax = z.show(overlay="sources")
    assert z.sources is None
    assert len(ax.collections[0].get_offsets()) > 50   # the sources were drawn
    plt.close("all")


# ---------------------------------------------------------------- nothing handed out aliases state
def test_returned_tables_are_copies(z):
    src = z.extract_sources()
    src["x"] = -1.0
    assert (z.sources["x"] >= 0).all()
    again = z.sources
    again["y"] = -1.0
    assert (z.sources["y"] >= 0).all()
    cat = pd.DataFrame({"ra": z.pixels_to_coords([100.0, 200.0], [100.0, 200.0])[0],
                        "dec": z.pixels_to_coords([100.0, 200.0], [100.0, 200.0])[1]})
    z.set_catalog(cat, "mine")
    got = z.catalogs.get("mine")
    got["ra"] = 0.0
    assert (z.catalogs.get("mine")["ra"] != 0).all()


def test_background_maps_are_read_only(z):
    with pytest.raises(ValueError):
        z.background.back[0, 0] = 1.0
    with pytest.raises(ValueError):
        z.background.rms[0, 0] = 1.0
    with pytest.raises(ValueError):
        z.get_mask()[0, 0] = True
    with pytest.raises(AttributeError):
        z.background.globalrms = 0.0


def _entry_points(sim):
    t = _bright(sim, 40)
    x, y = t["x"].to_numpy().copy(), t["y"].to_numpy().copy()
    return x, y, {
        "data": lambda z: z.data,
        "mask": lambda z: z.mask,
        "get_mask": lambda z: z.get_mask(),
        "datamasked": lambda z: z.datamasked,
        "dataclean": lambda z: z.dataclean,
        "get_data": lambda z: z.get_data(apply_mask=True, rm_bkgd=True),
        "background": lambda z: z.get_background(),
        "extract_sources": lambda z: z.extract_sources(),
        "aperture_photometry": lambda z: z.aperture_photometry(x, y, [3, 5], bkgann=(8, 12)),
        "get_aperture": lambda z: z.get_aperture(x, y, 5),
        "get_stamp": lambda z: z.get_stamp(x, y, dx=15),
        "get_stamp_array": lambda z: z.get_stamp(x, y, dx=15, asarray=True),
        "pixels_to_coords": lambda z: z.pixels_to_coords(x, y),
        "coords_to_pixels": lambda z: z.coords_to_pixels(*z.pixels_to_coords(x, y)),
        "curve_of_growth": lambda z: z.get_curve_of_growth(x, y, [2, 4, 6, 8]),
        "header": lambda z: z.header,
        "wcs": lambda z: z.wcs,
        "stamp_size": lambda z: z.get_stamp(float(x[0]), float(y[0]), size=11),
        "set_catalog": lambda z: z.set_catalog(
            pd.DataFrame(dict(zip(("ra", "dec"), z.pixels_to_coords(x, y)))), "mine"),
    }


def _scribble(value):
    """Write garbage into whatever a call returned, where it can be written."""
    from astropy.io import fits
    from astropy.wcs import WCS
    if isinstance(value, fits.Header):
        value["MAGZP"] = 0.0
        value["CRVAL1"] = 0.0
    elif isinstance(value, WCS):
        value.wcs.crpix = [0.0, 0.0]
        value.wcs.set()
    elif isinstance(value, np.ndarray):
        if value.flags.writeable and value.size:
            value[...] = -999
    elif isinstance(value, pd.DataFrame):
        for col in value.columns:
            value[col] = 0
    elif isinstance(value, tuple):
        for v in value:
            _scribble(v)
    elif hasattr(value, "data") and isinstance(getattr(value, "data"), np.ndarray):
        _scribble(value.data)


_NAMES = list(_entry_points(simulate.simulate_quadrant(shape=(64, 64), seed=0, nstars=3))[2])


@pytest.mark.parametrize("name", _NAMES)
def test_entry_points_leave_inputs_and_state_untouched(sim, name):
    x, y, calls = _entry_points(sim)
    z = sim.to_image()
    z.extract_sources()
    state = (z.data.copy(), z.mask.copy(), z.background.back.copy(), z.sources, z.dataclean,
             z.magzp, z.pixels_to_coords(100.0, 200.0))
    x0, y0 = x.copy(), y.copy()
    _scribble(calls[name](z))
    assert_unchanged(x0, x)
    assert_unchanged(y0, y)
    assert_unchanged(state[0], z.data)
    assert_unchanged(state[1], z.mask)
    assert_unchanged(state[2], z.background.back)
    pd.testing.assert_frame_equal(state[3], z.sources)
    assert_unchanged(state[4], z.dataclean)
    assert z.magzp == state[5] and z.pixels_to_coords(100.0, 200.0) == state[6]
    # the simulated frame the image was built from is untouched as well
    assert_unchanged(sim.to_image().data, z.data)


def test_a_frame_keeps_one_compute_array(real_image):
    z = ScienceImage(real_image.filename, real_image.maskfile)
    z.load_source_background()
    z.extract_sources()
    z.aperture_photometry([100.0, 2000.0], [100.0, 2000.0], [3, 5], bkgann=(10, 15))
    z.dataclean  # noqa: B018 - made for the caller, not kept
    names = [name for name, _, _ in z.products]
    assert names.count("compute") == 1
    big = [(name, mb) for name, _, mb in z.products if mb > 30]
    # the compute array only: sep backgrounds keep their mesh, not full-frame maps
    assert [name for name, _ in big] == ["compute"], z.products
    z.drop_products()
    assert z.products == []


def test_filenameinfo_is_one_rule_for_every_frame(tmp_path):
    from ztfimg import ReferenceImage, ScienceImage, simulate
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=1)
    sci, _ = frame.write(tmp_path)
    ref = simulate.simulate_reference(frame).write(tmp_path)
    assert ScienceImage.from_filename(sci).filenameinfo.suffix == "sciimg.fits"
    info = ReferenceImage(ref).filenameinfo
    assert info.kind == "reference" and info.suffix == "refimg.fits"
    assert ScienceImage.from_arrays(frame.data, frame.header).filenameinfo is None


def test_pixels_on_demand_measures_the_same_with_one_array_less(tmp_path):
    # a collection's frames: the raw pixels become the compute array, and are read again
    # from the file when asked for; every number is the same as a default frame's
    f = simulate.simulate_quadrant(shape=(300, 280), seed=5, nstars=60)
    sci, _ = f.write(tmp_path)
    ref = ScienceImage.from_filename(sci)
    lean = ScienceImage.from_filename(sci)
    lean.pixels_on_demand = True
    x, y = f.truth["x"].to_numpy(), f.truth["y"].to_numpy()
    a = ref.aperture_photometry(x, y, [2.0, 4.0], bkgann=(8, 12))
    b = lean.aperture_photometry(x, y, [2.0, 4.0], bkgann=(8, 12))
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    assert lean._data is None and ref._data is not None        # one full frame less
    np.testing.assert_array_equal(lean.data, ref.data)          # read again, untouched
    np.testing.assert_array_equal(lean.data, f.data)
    pd.testing.assert_frame_equal(lean.extract_sources(), ref.extract_sources())
    # a new background: the compute array is rebuilt from the file's pixels
    lean.drop_products("compute")
    c = lean.aperture_photometry(x, y, [2.0, 4.0], bkgann=(8, 12))
    pd.testing.assert_frame_equal(a, c, check_exact=True)
    # collections open their frames so
    from ztfimg.collection.jobs import open_frame
    assert open_frame(sci).pixels_on_demand and not ref.pixels_on_demand


def test_background_subtract_into_an_array():
    rng = np.random.default_rng(0)
    data = rng.normal(100.0, 3.0, (128, 96)).astype(np.float32)
    bkg = estimate_background(data)
    expected = bkg.subtract(data)
    buf = data.copy()
    assert bkg.subtract(buf, out=buf) is buf                    # in place, no temporary
    np.testing.assert_array_equal(buf, expected)
    out64 = np.empty(data.shape)
    bkg.subtract(data, out=out64)
    np.testing.assert_allclose(out64, expected, rtol=1e-6)
    from ztfimg.errors import ShapeMismatchError
    for bad in (np.empty(data.shape, np.int32), np.empty(data.shape, np.float32)[:, ::2],
                data.tolist()):
        with pytest.raises(InvalidParameterError, match="out must be"):
            bkg.subtract(data, out=bad)
    with pytest.raises(ShapeMismatchError):
        bkg.subtract(data, out=np.empty((10, 10), np.float32))
