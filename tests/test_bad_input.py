"""The bad-input matrix: every public entry point answers a user's mistake with the
package's own error (a ZTFImgError subclass) whose message says what was expected and what
was found, never a raw numpy/astropy/sep exception, and never a silently wrong number.

Each case names the exception class and two patterns the message must match: one for what
was expected, one for what was found.
"""

import os
import warnings
from types import SimpleNamespace

import astropy.units as u
import numpy as np
import pandas as pd
import pytest

from ztfimg import (aperture, background, bitmask, catalog, filenames, photometry, psfphot,
                    refcat, simulate, sources, stamps, validation)
from ztfimg.errors import (CatalogError, FileFormatError, FileNameError, HeaderKeywordError,
                           InvalidParameterError, MissingFileError, ShapeMismatchError,
                           ZTFImgError)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    sim = simulate.simulate_quadrant(shape=(160, 150), seed=1, nstars=80)
    root = tmp_path_factory.mktemp("bad")
    sci, msk = sim.write(root)
    notfits = root / "notfits.fits"
    notfits.write_text("this is not a FITS file\n" * 200)
    empty = root / "empty.fits"
    empty.write_bytes(b"")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        z = sim.to_image()
        z.extract_sources()
    return SimpleNamespace(sim=sim, z=z, sci=str(sci), msk=str(msk), notfits=str(notfits),
                           empty=str(empty), root=root,
                           data=np.ascontiguousarray(sim.data, dtype=np.float32))


def _image(env, **header_cards):
    from ztfimg import ScienceImage
    h = env.sim.header.copy()
    for k, v in header_cards.items():
        if v is None:
            h.remove(k, ignore_missing=True)
        else:
            h[k] = v
    return ScienceImage.from_arrays(env.sim.data, h, env.sim.mask)


# (id, call, exception, expected-pattern, found-pattern)
CASES = [
    # ---------------------------------------------------------------- the frame object
    ("image: float file as mask", lambda e: __import__("ztfimg").ScienceImage(e.sci, e.sci),
     FileFormatError, r"expected an integer", r"BITPIX=-32"),
    ("image: mask file as image", lambda e: __import__("ztfimg").ScienceImage(e.msk, e.msk),
     FileFormatError, r"give the \*_sciimg", r"is a ZTF bit mask"),
    ("image: missing file", lambda e: __import__("ztfimg").ScienceImage(str(e.root / "nope.fits")),
     MissingFileError, r"no such file", r"nope\.fits"),
    ("image: not FITS", lambda e: __import__("ztfimg").ScienceImage(e.notfits),
     FileFormatError, r"FITS", r"notfits"),
    ("image: empty file", lambda e: __import__("ztfimg").ScienceImage(e.empty),
     FileFormatError, r"FITS", r"empty"),
    ("image: 1-D data", lambda e: __import__("ztfimg").ScienceImage.from_arrays(
        np.ones(10), e.sim.header), ShapeMismatchError, r"2-D", r"\(10,\)"),
    ("image: string data", lambda e: __import__("ztfimg").ScienceImage.from_arrays(
        np.array([["a"]]), e.sim.header), InvalidParameterError, r"numeric", r"dtype"),
    ("image: float mask array", lambda e: __import__("ztfimg").ScienceImage.from_arrays(
        e.sim.data, e.sim.header, e.sim.data), InvalidParameterError, r"integer", r"float32"),
    ("image: mask shape", lambda e: __import__("ztfimg").ScienceImage.from_arrays(
        e.sim.data, e.sim.header, np.zeros((3, 3), np.int16)), ShapeMismatchError,
     r"image shape", r"\(3, 3\)"),
    ("pixels_to_coords: y None", lambda e: e.z.pixels_to_coords([1.0, 2.0], None),
     InvalidParameterError, r"must be a number or a 1-D array", r"None"),
    ("pixels_to_coords: lengths", lambda e: e.z.pixels_to_coords([1.0, 2.0], [1.0, 2.0, 3.0]),
     ShapeMismatchError, r"same length", r"2 values.*3 values"),
    ("coords_to_pixels: [a, b] vs [c]", lambda e: e.z.coords_to_pixels([55.0, 55.1], [33.3]),
     ShapeMismatchError, r"same length", r"2 values.*1 value"),
    ("coords_to_pixels: sexagesimal", lambda e: e.z.coords_to_pixels("03:40:14", "+33:21:00"),
     InvalidParameterError, r"degrees|SkyCoord", r"03:40:14"),
    ("coords_to_pixels: length unit", lambda e: e.z.coords_to_pixels(55.0 * u.m, 33.3 * u.m),
     InvalidParameterError, r"angle", r"\bm\b"),
    ("get_mask: bits too big", lambda e: e.z.get_mask(bits=1 << 20),
     InvalidParameterError, r"16 of a ZTF mask", r"1048576"),
    ("get_mask: bits string", lambda e: e.z.get_mask(bits="x"),
     InvalidParameterError, r"integer bit selection", r"'x'"),
    ("get_mask: unknown keyword", lambda e: e.z.get_mask(planes=True),
     TypeError, r"", r"planes"),
    ("get_stamp: dx NaN", lambda e: e.z.get_stamp(10.0, 10.0, dx=np.nan),
     InvalidParameterError, r"positive integer", r"nan"),
    ("get_stamp: too big", lambda e: e.z.get_stamp(10.0, 10.0, dx=4000),
     InvalidParameterError, r"smaller stamp", r"4000"),
    ("get_stamp: string position", lambda e: e.z.get_stamp("a", 10.0),
     InvalidParameterError, r"number or a 1-D array", r"'a'"),
    ("set_psf: a number", lambda e: e.z.set_psf(42),
     InvalidParameterError, r"DAOPhotPSF or the path", r"int 42"),
    ("set_psf: missing file", lambda e: e.z.set_psf(str(e.root / "no.psf")),
     MissingFileError, r"", r"no\.psf"),
    ("psf: no file beside", lambda e: e.z.psf,
     MissingFileError, r"set_psf", r"no ZTF file name"),
    ("set_background: not a Background", lambda e: e.z.set_background(3.0),
     InvalidParameterError, r"Background", r"float"),
    ("get_background: box 0", lambda e: e.z.get_background(box_size=0),
     InvalidParameterError, r"positive integer", r"got 0"),
    ("get_background: box larger", lambda e: e.z.get_background(box_size=4000),
     InvalidParameterError, r"smaller box", r"4000"),
    ("get_background: sources lack a,b", lambda e: e.z.get_background(
        sources=pd.DataFrame({"x": [1.0], "y": [1.0]})), InvalidParameterError,
     r"x, y, a, b, theta", r"\['a', 'b', 'theta'\]"),
    ("extract_sources: thresh string", lambda e: e.z.extract_sources(thresh="a"),
     InvalidParameterError, r"positive number", r"'a'"),
    ("extract_sources: thresh < 0", lambda e: e.z.extract_sources(thresh=-1),
     InvalidParameterError, r"positive number", r"-1"),
    ("extract_sources: minarea 0", lambda e: e.z.extract_sources(minarea=0),
     InvalidParameterError, r"positive integer", r"0"),
    ("load_source_background: thresh 0", lambda e: e.z.load_source_background(thresh=0),
     InvalidParameterError, r"positive number", r"0"),
    ("aperture: unit", lambda e: e.z.aperture_photometry([10.0], [10.0], 3, unit="jansky"),
     InvalidParameterError, r"'counts', 'mag' or 'flux'", r"jansky"),
    ("aperture: flux unit", lambda e: e.z.aperture_photometry([10.0], [10.0], 3, unit="flux",
                                                              flux_unit="W"),
     InvalidParameterError, r"flam", r"'W'"),
    ("aperture: radius < 0", lambda e: e.z.aperture_photometry([10.0], [10.0], -1),
     InvalidParameterError, r"> 0", r"-1"),
    ("aperture: radius string", lambda e: e.z.aperture_photometry([10.0], [10.0], "5"),
     InvalidParameterError, r"number", r"'5'"),
    ("aperture: radius in metres", lambda e: e.z.aperture_photometry([10.0], [10.0], 3 * u.m),
     InvalidParameterError, r"pix|arcsec|angle", r"\bm\b"),
    ("aperture: annulus reversed", lambda e: e.z.aperture_photometry([10.0], [10.0], 3,
                                                                     bkgann=(8, 4)),
     InvalidParameterError, r"inner < outer", r"inner=8, outer=4"),
    ("aperture: coords", lambda e: e.z.aperture_photometry([10.0], [10.0], 3, coords="galactic"),
     InvalidParameterError, r"'pixels' or 'sky'", r"galactic"),
    ("aperture: rms < 0", lambda e: e.z.aperture_photometry([10.0], [10.0], 3, rms=-1),
     InvalidParameterError, r"> 0", r"-1"),
    ("aperture: data name", lambda e: e.z.aperture_photometry([10.0], [10.0], 3, data="foo"),
     InvalidParameterError, r"'dataclean'", r"foo"),
    ("aperture: data shape", lambda e: e.z.aperture_photometry([10.0], [10.0], 3,
                                                               data=np.zeros((4, 4))),
     ShapeMismatchError, r"image of", r"\(4, 4\)"),
    ("aperture: apcor for 7 px", lambda e: e.z.aperture_photometry([10.0], [10.0], 3.5,
                                                                   apcor=True),
     HeaderKeywordError, r"header has", r"diameter of 7"),
    ("aperture: lengths", lambda e: e.z.aperture_photometry([10.0, 11.0], [10.0], 3),
     ShapeMismatchError, r"same length", r"2 values.*1 value"),
    ("show: selector", lambda e: e.z.show("nonsense"),
     InvalidParameterError, r"'dataclean'", r"nonsense"),
    ("is_inside: string", lambda e: e.z.is_inside("a", 1.0),
     InvalidParameterError, r"number or a 1-D array", r"'a'"),
    ("get_center: system", lambda e: e.z.get_center("galactic"),
     InvalidParameterError, r"'xy', 'pixels', 'radec', 'sky'", r"galactic"),
    ("get_footprint_radius: margin", lambda e: e.z.get_footprint_radius("a"),
     InvalidParameterError, r"finite number", r"'a'"),
    ("set_catalog: a string", lambda e: e.z.set_catalog("abc", "mine"),
     CatalogError, r"DataFrame, an astropy Table", r"str"),
    ("set_catalog: no ra/dec", lambda e: e.z.set_catalog({"x": [1.0]}, "mine"),
     CatalogError, r"needs ra and dec", r"\['ra', 'dec'\]"),
    ("get_catalog: unknown", lambda e: e.z.get_catalog("sdss", offline=True),
     CatalogError, r"known names", r"sdss"),
    ("fit_zeropoint: method", lambda e: e.z.fit_zeropoint("ps1", method="magic"),
     InvalidParameterError, r"'aperture', 'psf' or 'sources'", r"magic"),
    ("drop_products: name", lambda e: e.z.drop_products("nope"),
     InvalidParameterError, r"'mask', 'background'", r"nope"),
    ("counts_to_mag: colour length", lambda e: e.z.counts_to_mag([1.0, 2.0, 3.0],
                                                                 colour=[0.1, 0.2]),
     ShapeMismatchError, r"one value per element", r"\(3,\).*\(2,\)"),
    ("counts_to_mag: string", lambda e: e.z.counts_to_mag("a"),
     InvalidParameterError, r"number or an array", r"'a'"),
    ("mag_to_counts: None", lambda e: e.z.mag_to_counts(None),
     InvalidParameterError, r"number or an array", r"None"),
    ("counts_to_flux: unit", lambda e: e.z.counts_to_flux(1.0, unit="W"),
     InvalidParameterError, r"expected one of", r"'w'"),
    ("MAGZP = -99", lambda e: _image(e, MAGZP=-99.0).counts_to_mag(100.0),
     HeaderKeywordError, r"no usable MAGZP", r"MAGZP=-99"),
    ("no MAGZP", lambda e: _image(e, MAGZP=None).magzp,
     HeaderKeywordError, r"missing", r"MAGZP"),
    ("GAIN not a number", lambda e: _image(e, GAIN="six").gain,
     HeaderKeywordError, r"cannot be read as float", r"'six'"),
    ("FIXAPERS malformed", lambda e: _image(e, FIXAPERS="2,3,x").apcor,
     HeaderKeywordError, r"comma-separated list of numbers", r"2,3,x"),
    ("no WCS: coords_to_pixels", lambda e: _image(e, CTYPE1=None).coords_to_pixels(55.0, 33.0),
     HeaderKeywordError, r"WCS", r"CTYPE1"),
    ("from_filename: missing mask", lambda e: __import__("ztfimg").ScienceImage.from_filename(
        _copy_without_mask(e)), MissingFileError, r"require_mask=False", r"mskimg"),
    # ---------------------------------------------------------------- level 1
    ("aperture_photometry: 1-D data", lambda e: aperture.aperture_photometry(
        np.ones(10), [1.0], [1.0], 3), ShapeMismatchError, r"2-D", r"\(10,\)"),
    ("aperture_photometry: mask shape", lambda e: aperture.aperture_photometry(
        e.data, [1.0], [1.0], 3, mask=np.zeros((3, 3), bool)), ShapeMismatchError,
     r"data", r"\(3, 3\)"),
    ("aperture_photometry: gain", lambda e: aperture.aperture_photometry(
        e.data, [1.0], [1.0], 3, gain=-1), InvalidParameterError, r"> 0", r"-1"),
    ("aperture_photometry: estimator", lambda e: aperture.aperture_photometry(
        e.data, [1.0], [1.0], 3, bkgann=(5, 8), sky_estimator="mode"),
     InvalidParameterError, r"one of", r"mode"),
    ("aperture_photometry: angle radius without scale", lambda e: aperture.aperture_photometry(
        e.data, [1.0], [1.0], 3 * u.arcsec), InvalidParameterError, r"pixel_scale", r"arcsec"),
    ("aperture_correction: other radius", lambda e: aperture.aperture_correction(
        3.5, {10.0: (-0.01, 0.001)}), InvalidParameterError, r"curve_of_growth", r"3.5"),
    ("extract_sources: string data", lambda e: sources.extract_sources("abc"),
     ShapeMismatchError, r"2-D", r"\(\)"),
    ("extract_sources: err < 0", lambda e: sources.extract_sources(e.data, err=-1),
     InvalidParameterError, r"> 0", r"-1"),
    ("estimate_background: filter 0", lambda e: background.estimate_background(
        e.data, filter_size=0), InvalidParameterError, r"positive integer", r"got 0"),
    ("estimate_background: ellipses", lambda e: background.estimate_background(
        e.data, ellipses={"x": [1.0]}), InvalidParameterError, r"x, y, a, b, theta",
     r"\['y', 'a', 'b', 'theta'\]"),
    ("estimate_background: 1-D", lambda e: background.estimate_background(np.ones(5)),
     ShapeMismatchError, r"2-D", r"\(5,\)"),
    ("estimate_background: all masked", lambda e: background.estimate_background(
        e.data, np.ones(e.data.shape, bool)), InvalidParameterError, r"cannot estimate",
     r"every pixel is masked"),
    ("cut_stamps: dy 0", lambda e: stamps.cut_stamps(e.data, [1.0], [1.0], 5, dy=0),
     InvalidParameterError, r"positive integer", r"0"),
    ("counts_to_flux: unit", lambda e: photometry.counts_to_flux(
        1.0, magzp=26.0, wavelength=6000.0, unit="W"), InvalidParameterError,
     r"expected one of", r"'w'"),
    ("filter_wavelength: unknown", lambda e: photometry.filter_wavelength("zz"),
     InvalidParameterError, r"g, r or i", r"zz"),
    ("bits_from_keywords: unknown", lambda e: bitmask.bits_from_keywords(foo=True),
     InvalidParameterError, r"known:", r"foo"),
    ("to_bool: float mask", lambda e: bitmask.to_bool(np.ones((3, 3))),
     InvalidParameterError, r"integer array", r"float64"),
    ("to_bool: bits", lambda e: bitmask.to_bool(np.ones((3, 3), np.int16), bits=-1),
     InvalidParameterError, r"0 <= bits", r"-1"),
    ("psf_photometry: no model", lambda e: psfphot.psf_photometry(e.data, [1.0], [1.0], None),
     InvalidParameterError, r"PSF", r"None"),
    ("as_radii: zero", lambda e: validation.as_radii(0), InvalidParameterError, r"> 0", r"0"),
    ("as_sky: dec out of order", lambda e: validation.as_sky([1.0, 2.0], [1.0]),
     ShapeMismatchError, r"same length", r"2 values"),
    # ---------------------------------------------------------------- objects, catalogues
    ("match: radius", lambda e: catalog.match([1.0], [1.0], [1.0], [1.0], radius=-1),
     InvalidParameterError, r"positive", r"-1"),
    ("match: lengths", lambda e: catalog.match([1.0, 2.0], [1.0], [1.0], [1.0], radius=1),
     ShapeMismatchError, r"same length", r"2 values"),
    ("collection: unknown label", lambda e: catalog.CatalogCollection().get("ps1"),
     CatalogError, r"catalogue", r"ps1"),
    ("resolve_catalog: unknown", lambda e: refcat.resolve_catalog("sdss"),
     CatalogError, r"known names", r"sdss"),
    ("get_catalog: dec > 90", lambda e: refcat.get_catalog("ps1", 10.0, 100.0, 0.1,
                                                           offline=True),
     InvalidParameterError, r"-90", r"100"),
    ("get_catalog: radius < 0", lambda e: refcat.get_catalog("ps1", 10.0, 10.0, -1.0,
                                                             offline=True),
     InvalidParameterError, r"radius", r"-1"),
    ("filenames.parse: None", lambda e: filenames.parse(None),
     FileNameError, r"str or|path", r"None"),
    ("filenames.parse: trailing newline", lambda e: filenames.parse(
        "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits\n"), FileNameError,
     r"expected the bare name", r"\\n"),
    ("dao: not a PSF file", lambda e: __import__("ztfimg.dao").dao.DAOPhotPSF(e.notfits),
     __import__("ztfimg.errors").errors.PSFFileError, r"", r"notfits"),
]


def _copy_without_mask(env):
    import shutil
    target = env.root / "alone"
    target.mkdir(exist_ok=True)
    path = target / os.path.basename(env.sci)
    shutil.copy(env.sci, path)
    return str(path)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_the_package_error(env, case):
    name, call, exc, expected, found = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as info:
            call(env)
    if exc is not TypeError:  # a Python-level signature error (unknown keyword) stays Python's
        assert isinstance(info.value, ZTFImgError), f"{type(info.value).__name__}: {info.value}"
    message = str(info.value)
    import re
    assert re.search(expected, message), f"expected-part {expected!r} not in: {message}"
    assert re.search(found, message), f"found-part {found!r} not in: {message}"


# ---------------------------------------------------------------- silent wrong answers
def test_tiny_aperture_on_clean_pixels_is_tiny_and_unflagged(env):
    z = env.z
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = z.aperture_photometry([60.0, 60.3], [60.0, 60.0], 1e-9)
    assert (df["aper_flag"] == 0).all()
    assert (np.abs(df["sum"]) < 1e-12).all()            # was a whole pixel (sep) or "all masked"
    np.testing.assert_allclose(df["area"], np.pi * 1e-18, rtol=1e-6)


@pytest.mark.parametrize("r", [0.1, 0.3, 0.5, 0.6, 0.7, 1.0, 2.5])
def test_centred_small_apertures_have_the_circle_area(r):
    # sep 1.4 gives a whole pixel for r <= 0.7 centred exactly on a pixel centre
    data = np.ones((40, 40), np.float32)
    df = aperture.aperture_photometry(data, [20.0, 20.25], [20.0, 20.0], r)
    np.testing.assert_allclose(df["sum"], np.pi * r * r, rtol=1e-9)
    np.testing.assert_allclose(df["area"], np.pi * r * r, rtol=1e-9)


def test_annulus_overlapping_the_aperture_warns(env):
    with pytest.warns(aperture.AnnulusOverlapWarning, match="inside the aperture"):
        env.z.aperture_photometry([60.0], [60.0], 5, bkgann=(3, 8))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        env.z.aperture_photometry([60.0], [60.0], 5, bkgann=(6, 9))   # no warning


def test_magzp_sentinel_gives_nan_magnitudes_not_minus_103(env):
    z = _image(env, MAGZP=-99.0)
    from ztfimg.errors import ZTFImgWarning
    with pytest.warns(ZTFImgWarning, match="MAGZP"):
        src = z.extract_sources()
    assert len(src) > 5 and src["mag"].isna().all()


def test_masked_array_masks_its_pixels(env):
    from ztfimg import ScienceImage
    data = np.ma.masked_greater(env.sim.data, np.nanpercentile(env.sim.data, 99.9))
    z = ScienceImage.from_arrays(data, env.sim.header, env.sim.mask)
    assert np.isnan(z.data[data.mask]).all()
    assert z.get_mask()[data.mask].all()


def test_header_as_dict(env):
    from ztfimg import ScienceImage
    z = ScienceImage.from_arrays(env.sim.data, dict(env.sim.header), env.sim.mask)
    assert z.magzp == env.sim.header["MAGZP"]


def test_units_are_honoured(env):
    z = env.z
    ra, dec = z.pixels_to_coords([20.5, 100.25], [30.0, 140.75])
    for unit in (u.deg, u.rad, u.arcmin):
        x, y = z.coords_to_pixels((ra * u.deg).to(unit), (dec * u.deg).to(unit))
        np.testing.assert_allclose(x, [20.5, 100.25], atol=1e-6)
        np.testing.assert_allclose(y, [30.0, 140.75], atol=1e-6)
    hx, _ = z.coords_to_pixels((ra / 15.0) * u.hourangle, dec * u.deg)
    np.testing.assert_allclose(hx, [20.5, 100.25], atol=1e-6)


def test_unit_names_any_case(env):
    a = env.z.aperture_photometry([60.0], [60.0], 3, unit="MAG")
    b = env.z.aperture_photometry([60.0], [60.0], 3, unit="mag")
    pd.testing.assert_frame_equal(a, b)
    c = env.z.aperture_photometry([60.0], [60.0], 3, unit="flux", flux_unit="uJy")
    assert "ujy" in c and "ujyerr" in c


def test_truncated_fits_leaves_no_open_file(tmp_path):
    import gc

    from astropy.io import fits

    from ztfimg.fitsio import read_fits
    path = tmp_path / "t.fits"
    fits.PrimaryHDU(np.ones((100, 100), ">f4")).writeto(path)
    with open(path, "r+b") as fh:
        fh.truncate(2880 + 100)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for header_only in (False, True):
            with pytest.raises(FileFormatError):
                read_fits(path, header_only=header_only)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


_SWEEP_MODULES = ["aperture", "background", "sources", "stamps", "photometry", "bitmask",
                  "psfphot", "zeropoint", "plotting", "filters", "flags", "validation", "fitsio",
                  "catalog", "filenames"]
_BAD = [None, "x", np.array(["a", "b"]), np.full((3, 3), np.nan), -1, {"a": 1}]


def _public_functions():
    import importlib
    import inspect
    out = []
    for m in _SWEEP_MODULES:
        mod = importlib.import_module(f"ztfimg.{m}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if inspect.isfunction(obj):
                out.append((f"{m}.{name}", obj))
    return out


@pytest.mark.parametrize("name, func", _public_functions(), ids=lambda v: v if isinstance(v, str) else "")
def test_level1_functions_raise_only_package_errors(name, func):
    """Each required argument of each public level-1 function, replaced by a bad value:
    the package's error, or Python's own TypeError for a wrong call signature."""
    import inspect

    import matplotlib.pyplot as plt
    sig = inspect.signature(func)
    required = [p for p in sig.parameters.values() if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    keywords = {p.name: {"magzp": 26.0, "wavelength": 6000.0}.get(p.name, 1.0)
                for p in sig.parameters.values()
                if p.kind == p.KEYWORD_ONLY and p.default is p.empty}
    for bad in _BAD:
        for k in range(len(required)):
            args = [np.ones((20, 20), np.float32) if i == 0 else 1.0 for i in range(len(required))]
            args[k] = bad
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    func(*args, **keywords)
                except ZTFImgError:
                    pass
                except TypeError as exc:  # only a call-signature mistake may stay Python's
                    assert "argument" in str(exc), f"{name}(arg {k} = {bad!r}): {exc!r}"
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    pytest.fail(f"{name}(arg {k} = {bad!r}) raised {type(exc).__name__}: {exc}")
            plt.close("all")


def _image_methods():
    import inspect

    from ztfimg import ReferenceImage, ScienceImage
    out = []
    for cls in (ScienceImage, ReferenceImage):
        for name, obj in inspect.getmembers(cls):
            if not name.startswith("_") and inspect.isfunction(obj):
                out.append((f"{cls.__name__}.{name}", name))
    return out


_BAD_OBJ = [None, "x", np.array(["a", "b"]), np.full((3, 3), np.nan), -1, {"a": 1},
            [1.0, 2.0, 3.0]]


@pytest.mark.parametrize("label, method", _image_methods(), ids=lambda v: v)
def test_frame_methods_raise_only_package_errors(env, label, method):
    """Each positional parameter of each public frame method, replaced by a bad value (the
    others at their defaults, or 50.0): the package's error, a result, or Python's own
    TypeError for a wrong call; never a raw numpy/astropy/sep error."""
    import inspect

    import matplotlib.pyplot as plt

    from ztfimg import ReferenceImage
    cls_name = label.split(".")[0]
    for k_bad in _BAD_OBJ:
        z = env.sim.to_image() if cls_name == "ScienceImage" else ReferenceImage.from_arrays(
            env.sim.data, env.sim.header)
        func = getattr(z, method)
        params = [p for p in inspect.signature(func).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        for k in range(len(params)):
            args = [50.0 if p.default is p.empty else p.default for p in params]
            args[k] = k_bad
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    func(*args)
                except ZTFImgError:
                    pass
                except TypeError as exc:
                    assert "argument" in str(exc), f"{label}({params[k].name}={k_bad!r}): {exc!r}"
                except Exception as exc:  # noqa: BLE001 - the point of the test
                    pytest.fail(f"{label}({params[k].name}={k_bad!r}) raised "
                                f"{type(exc).__name__}: {exc}")
            plt.close("all")
