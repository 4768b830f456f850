"""Tests of ztfimg.dao (DAOPhot PSF files and model) and ztfimg.psfphot (forced PSF photometry).

Real data: tests/data/daophot/ (three IPAC ZTF quadrants: the *_sciimgdao.psf, 72x72 cutouts
around 9 isolated stars each with the full science header, blank-sky cutouts and the IPAC
psfcat truth; MIT, from the PyPI sdist ztforce==0.4.0).
"""

import json
import math
import os

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from ztfimg.dao import (PROFILES, DAOPhotReader, analytic_profile, format_psf_string,
                        keys_cubic_weights, parse_psf_string, read_psf_file, spatial_weights,
                        write_psf_file)
from ztfimg.errors import (InvalidParameterError, MissingFileError, PSFFileError,
                           ShapeMismatchError, ZTFImgError)
from ztfimg.psfphot import FLAGS, psf_photometry, robust_rms

DAODIR = os.path.join(os.path.dirname(__file__), "data", "daophot")
STEMS = ["g_858_12_1_2459683.7846", "r_857_9_2_2459540.8489", "r_1884_2_1_2460248.0036"]
IPAC_DIAMETERS = np.array([2.0, 3.0, 4.0, 6.0, 10.0, 14.0])


def psf_path(stem):
    return os.path.join(DAODIR, stem, "psf.psf")


def with_tables(psf, tables):
    return DAOPhotReader.from_arrays(psf.label, psf.params, tables, psfmag=psf.psfmag,
                                     bright=psf.bright, xpsf=psf.xpsf, ypsf=psf.ypsf)


# --------------------------------------------------------------------------- #
#  Fixtures: real cutouts                                                       #
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def manifest():
    with open(os.path.join(DAODIR, "manifest.json")) as fh:
        return {im["stem"]: im for im in json.load(fh)["images"]}


@pytest.fixture(scope="module")
def real_psfs():
    return {stem: DAOPhotReader(psf_path(stem)) for stem in STEMS}


@pytest.fixture(scope="module")
def real_stars(manifest):
    """Per exposure: list of (cutout data, header, x, y, frame_origin, truth) and blank rms."""
    out = {}
    for stem in STEMS:
        im = manifest[stem]
        cx, cy = im["metadata"]["crpix1"], im["metadata"]["crpix2"]
        stars, blanks = [], []
        for t in im["targets"]:
            data, hdr = fits.getdata(os.path.join(DAODIR, stem, t["file"]), header=True)
            if t["kind"] == "blank":
                blanks.append(robust_rms(data))
                continue
            ox, oy = cx - hdr["CRPIX1"], cy - hdr["CRPIX2"]
            # IPAC xpos/ypos are 1-based full-quadrant pixels: 0-based cutout position
            stars.append((data, hdr, t["xpos"] - ox - 1.0, t["ypos"] - oy - 1.0, (ox, oy), t))
        out[stem] = (stars, float(np.median(blanks)))
    return out


def photometry_vs_ipac(real_stars, psfs, **kwargs):
    """Forced photometry of the 27 real stars: (flux / IPAC flux, redchi2, chi2) arrays."""
    ratio, red, chi2 = [], [], []
    for stem in STEMS:
        stars, rms = real_stars[stem]
        for data, hdr, x, y, origin, truth in stars:
            r = psf_photometry(data, x, y, psfs[stem], rms=rms, gain=hdr["GAIN"],
                               frame_origin=origin, **kwargs)
            ratio.append(r.flux.iloc[0] / truth["flux"])
            red.append(r.redchi2.iloc[0])
            chi2.append(r.chi2.iloc[0])
    return np.array(ratio), np.array(red), np.array(chi2)


def robust(values):
    med = np.median(values)
    return med, 1.4826 * np.median(np.abs(values - med))


# --------------------------------------------------------------------------- #
#  Parser                                                                       #
# --------------------------------------------------------------------------- #
# hand-read from the files: header, parameters, table values [k, y, x]
REAL_EXPECTED = {
    "g_858_12_1_2459683.7846": dict(psfmag=13.489, bright=6806.752, params=(1.515331, 1.547476),
                                    v017=-1.287123e-02, v018=8.426377e-01, last=9.009921e-01),
    "r_857_9_2_2459540.8489": dict(psfmag=13.696, bright=5710.796, params=(1.399581, 1.436508),
                                   v017=-1.416839, v018=-1.171231, last=-2.455977e-01),
    "r_1884_2_1_2460248.0036": dict(psfmag=13.562, bright=6919.143, params=(1.517043, 1.544681),
                                    v017=-1.429825e-02, v018=-3.005759e-01, last=-5.841282e-01),
}


@pytest.mark.parametrize("stem", STEMS)
def test_parse_real_files(stem):
    psf = DAOPhotReader(psf_path(stem))
    exp = REAL_EXPECTED[stem]
    assert (psf.label, psf.npsf, psf.npar, psf.nexp, psf.nfrac) == ("GAUSSIAN", 47, 2, 3, 0)
    assert psf.psfmag == exp["psfmag"] and psf.bright == exp["bright"]
    assert (psf.xpsf, psf.ypsf) == (1535.5, 1539.5)
    np.testing.assert_array_equal(psf.params, exp["params"])
    assert psf.tables.shape == (3, 47, 47)
    # first values: row 0 of table 0 is zero up to x=16, then the touching pair
    # "0.000000E+00-1.287123E-02" / next line (file line 5, fields 6 and 7)
    assert psf.tables[0, 0, 0] == 0.0
    np.testing.assert_array_equal(psf.tables[0, 0, :17], 0.0)
    assert psf.tables[0, 0, 17] == exp["v017"]
    assert psf.tables[0, 0, 18] == exp["v018"]
    # last values: table 2, row 46 (file line 1106, field 2), and the very last (0)
    assert psf.tables[2, 46, 29] == exp["last"]
    assert psf.tables[2, 46, 46] == 0.0
    np.testing.assert_array_equal(psf.tables[2, 46, 30:], 0.0)
    assert psf.filename.endswith("psf.psf")
    assert "GAUSSIAN" in repr(psf)
    # read-only arrays: cached products cannot go stale
    with pytest.raises(ValueError):
        psf.tables[0, 0, 0] = 1.0


@pytest.mark.parametrize("stem", STEMS)
def test_write_reproduces_ipac_file_exactly(stem, tmp_path):
    with open(psf_path(stem)) as fh:
        text = fh.read()
    psf = DAOPhotReader.read(psf_path(stem))
    assert psf.to_string() == text
    out = tmp_path / "copy.psf"
    psf.write(out)
    assert out.read_text() == text
    np.testing.assert_array_equal(DAOPhotReader(out).tables, psf.tables)


def test_fileformat_functions_round_trip(tmp_path):
    """The parser and the writer of ztfimg.dao.fileformat work on plain dicts."""
    with open(psf_path(STEMS[1])) as fh:
        text = fh.read()
    fields = read_psf_file(psf_path(STEMS[1]))
    assert format_psf_string(fields) == text
    out = tmp_path / "copy.psf"
    write_psf_file(out, fields)
    assert out.read_text() == text
    with pytest.raises(InvalidParameterError, match="exists"):
        write_psf_file(out, fields, overwrite=False)
    with pytest.raises(InvalidParameterError, match="missing tables"):
        format_psf_string({k: v for k, v in fields.items() if k != "tables"})
    with pytest.raises(InvalidParameterError, match="shape"):
        format_psf_string(dict(fields, nexp=1))


def test_subpackage_layout_and_seed_name():
    """DAOPhotReader (the first ztfimg's name) is DAOPhotPSF; every module is importable."""
    from ztfimg import dao, psfphot
    from ztfimg.dao import apertures, fileformat, model, plotting, profiles, rendering, synthetic
    from ztfimg.dao.model import DAOPhotPSF

    assert dao.DAOPhotReader is dao.DAOPhotPSF is DAOPhotPSF is model.DAOPhotReader
    psf = dao.DAOPhotReader(psf_path(STEMS[0]))
    assert isinstance(psf, dao.DAOPhotPSF) and isinstance(psf, dao.DAOPhotReader)
    assert type(dao.DAOPhotPSF.synthetic(seed=0)) is DAOPhotPSF
    assert isinstance(DAOPhotPSF.from_string(small_psf_text()), dao.DAOPhotReader)
    assert psf.get_psf(psf.bright, [1.0, 0.0, 0.0]).shape == (47, 47)   # seed usage
    # the public names, where they live, re-exported by the package
    homes = {fileformat: ["parse_psf_string", "read_psf_file", "format_psf_string",
                          "write_psf_file"],
             profiles: ["PROFILES", "analytic_profile", "spatial_weights", "keys_cubic_weights"],
             model: ["DAOPhotPSF", "DAOPhotReader"],
             psfphot: ["psf_photometry"]}
    assert sorted(n for names in homes.values() for n in names) == sorted(dao.__all__)
    for module, names in homes.items():
        for name in names:
            assert getattr(dao, name) is getattr(module, name), name
    # the mixins' methods are the model's
    for module, method in [(rendering, "render"), (apertures, "curve_of_growth"),
                           (synthetic, "synthetic"), (plotting, "show")]:
        assert getattr(DAOPhotPSF, method).__module__ == module.__name__


def small_psf_text(label="GAUSSIAN", npsf=5, npar=2, nexp=1, nfrac=0, params=(1.5, 1.6),
                   values=None):
    head = (f" {label:<8s}{npsf:5d}{npar:5d}{nexp:5d}{nfrac:5d}{13.5:9.3f}{5000.0:15.3f}"
            f"{1535.5:9.1f}{1539.5:9.1f}")
    lines = [head, " " + "".join(f"{p:13.6E}" for p in params)]
    n = npsf * npsf
    if values is None:
        values = np.zeros((nexp, n))
    for k in range(nexp):
        v = np.asarray(values[k]).ravel()
        for i in range(0, n, 6):
            lines.append(" " + "".join(f"{a:13.6E}" for a in v[i:i + 6]))
    return "\n".join(lines) + "\n"


def test_parse_touching_numbers_string():
    vals = np.zeros(25)
    vals[:4] = [1.0, -2.4, -3.5e-5, 7.0e3]
    text = small_psf_text(values=[vals])
    assert " 1.000000E+00-2.400000E+00-3.500000E-05 7.000000E+03" in text
    psf = DAOPhotReader.from_string(text)
    np.testing.assert_array_equal(psf.tables[0, 0, :4], [1.0, -2.4, -3.5e-5, 7.0e3])
    # x runs fastest: the 6th value is (y=1, x=0) for npsf=5
    vals2 = np.zeros(25)
    vals2[5] = 9.0
    assert DAOPhotReader.from_string(small_psf_text(values=[vals2])).tables[0, 1, 0] == 9.0
    # Fortran's three-digit exponent without E and a D exponent are read too
    raw = text.replace(" 7.000000E+03", " 7.000000+003", 1).replace("-3.500000E-05", "-3.500000D-05", 1)
    np.testing.assert_allclose(DAOPhotReader.from_string(raw).tables[0, 0, :4],
                               [1.0, -2.4, -3.5e-5, 7.0e3])
    assert parse_psf_string(text)["nexp"] == 1


def test_parse_tables_written_back_to_back():
    vals = np.arange(3 * 25, dtype=float).reshape(3, 25)
    text = small_psf_text(nexp=3, values=vals)
    lines = text.splitlines()
    flat = "".join(line[1:] for line in lines[2:])
    cont = [" " + flat[i:i + 78] for i in range(0, len(flat), 78)]
    psf = DAOPhotReader.from_string("\n".join(lines[:2] + cont) + "\n")
    np.testing.assert_array_equal(psf.tables.reshape(3, 25), vals)


@pytest.mark.parametrize("label", list(PROFILES))
def test_write_read_round_trip_all_profiles(label, tmp_path):
    npar = PROFILES[label]
    params = [1.4, 1.6, 0.02, 0.7, 0.01][:npar]
    if label.startswith("PENNY"):
        params[2] = 0.7
    rng = np.random.default_rng(1)
    tables = rng.normal(0, 10, (6, 11, 11))
    psf = DAOPhotReader.from_arrays(label, params, tables, psfmag=14.2, bright=3000.5)
    path = tmp_path / f"{label}.psf"
    psf.write(path)
    back = DAOPhotReader(path)
    assert (back.label, back.npar, back.nexp, back.npsf) == (label, npar, 6, 11)
    np.testing.assert_allclose(back.tables, tables, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(back.params, params, rtol=1e-6)
    with pytest.raises(InvalidParameterError):
        psf.write(path, overwrite=False)
    st = back.get_psf_at(100.2, 200.7, size=9)
    assert st.shape == (9, 9) and np.all(np.isfinite(st))


def test_bad_files(tmp_path):
    good = small_psf_text()
    DAOPhotReader.from_string(good)
    with pytest.raises(PSFFileError, match="unknown analytic profile label 'GAUSSIEN'"):
        DAOPhotReader.from_string(good.replace("GAUSSIAN", "GAUSSIEN"))
    with pytest.raises(PSFFileError, match="NEXP=2"):
        DAOPhotReader.from_string(small_psf_text(nexp=2, values=np.zeros((2, 25))))
    with pytest.raises(PSFFileError, match="NFRAC=1.*not supported"):
        DAOPhotReader.from_string(small_psf_text(nfrac=1))
    with pytest.raises(PSFFileError, match="NPAR=3"):
        DAOPhotReader.from_string(small_psf_text(npar=3, params=(1.5, 1.6, 0.0)))
    # truncated: a missing table line, a cut line, a cut header, nothing at all
    with open(psf_path(STEMS[0])) as fh:
        real = fh.read()
    lines = real.splitlines()
    with pytest.raises(PSFFileError, match="truncated"):
        DAOPhotReader.from_string("\n".join(lines[:-5]) + "\n")
    with pytest.raises(PSFFileError, match="truncated"):
        DAOPhotReader.from_string("\n".join(lines[:-2] + [lines[-2][:40], lines[-1]]) + "\n")
    with pytest.raises(PSFFileError, match="header line"):
        DAOPhotReader.from_string(lines[0][:40] + "\n")
    with pytest.raises(PSFFileError, match="empty"):
        DAOPhotReader.from_string("")
    with pytest.raises(PSFFileError, match="no parameters"):
        DAOPhotReader.from_string(lines[0] + "\n")
    with pytest.raises(PSFFileError, match="cannot read a number"):
        DAOPhotReader.from_string(real.replace("-1.287123E-02", "-1.2871x3E-02", 1))
    with pytest.raises(PSFFileError, match="integer"):
        DAOPhotReader.from_string(real.replace("   47    2", "   4x    2", 1))
    # missing file
    with pytest.raises(MissingFileError, match="not found"):
        DAOPhotReader(tmp_path / "nope.psf")
    # errors are ZTFImgError and ValueError / FileNotFoundError
    assert issubclass(PSFFileError, (ZTFImgError, ValueError))
    assert issubclass(MissingFileError, FileNotFoundError)


def test_from_arrays_validation():
    t = np.zeros((3, 11, 11))
    with pytest.raises(InvalidParameterError):
        DAOPhotReader.from_arrays("FOO", [1, 1], t, psfmag=13, bright=1)
    with pytest.raises(InvalidParameterError):
        DAOPhotReader.from_arrays("GAUSSIAN", [1, 1, 1], t, psfmag=13, bright=1)
    with pytest.raises(InvalidParameterError):
        DAOPhotReader.from_arrays("GAUSSIAN", [1, 1], np.zeros((2, 11, 11)), psfmag=13, bright=1)
    with pytest.raises(InvalidParameterError):
        DAOPhotReader.from_arrays("GAUSSIAN", [1, 1], np.zeros((3, 10, 10)), psfmag=13, bright=1)
    with pytest.raises(InvalidParameterError):
        DAOPhotReader.from_arrays("GAUSSIAN", [1, 1], t + np.nan, psfmag=13, bright=1)


# --------------------------------------------------------------------------- #
#  Model                                                                        #
# --------------------------------------------------------------------------- #
def test_gaussian_is_pixel_integrated():
    h1, h2 = 1.3, 1.7
    d = np.arange(-40, 41)
    grid = analytic_profile("GAUSSIAN", [h1, h2], d[None, :], d[:, None])
    # volume of exp(-ln2 r^2/(h1 h2)) / (h1 h2) is pi/ln2
    assert grid.sum() == pytest.approx(math.pi / math.log(2), rel=1e-10)
    # a pixel value is the average of the profile over the pixel (fine sampling)
    u = (np.arange(400) + 0.5) / 400 - 0.5
    for dx, dy in [(0.0, 0.0), (1.3, -0.4), (2.5, 3.0)]:
        fine = np.exp(-math.log(2) * (((dx + u[None, :]) / h1) ** 2
                                      + ((dy + u[:, None]) / h2) ** 2)).mean() / (h1 * h2)
        assert analytic_profile("GAUSSIAN", [h1, h2], dx, dy) == pytest.approx(fine, rel=1e-5)


@pytest.mark.parametrize("label,beta", [("MOFFAT15", 1.5), ("MOFFAT25", 2.5), ("MOFFAT35", 3.5)])
def test_moffat_definition(label, beta):
    alpha = 2 ** (1 / beta) - 1
    w = 25.0   # wide: pixel integration negligible
    p = [w, w, 0.0]
    assert analytic_profile(label, p, w, 0.0) / analytic_profile(label, p, 0.0, 0.0) == \
        pytest.approx(0.5, rel=2e-3)
    if beta > 2:   # volume (beta-1)/(P1P2) * pi P1 P2/(alpha (beta-1)) = pi/alpha
        p = [2.0, 2.0, 0.0]
        d = np.arange(-300, 301)
        vol = analytic_profile(label, p, d[None, :], d[:, None]).sum()
        assert vol == pytest.approx(math.pi / alpha, rel=2e-3)


@pytest.mark.parametrize("label,params", [("LORENTZ", [25.0, 25.0, 0.0]),
                                          ("PENNY1", [25.0, 25.0, 0.6, 0.0]),
                                          ("PENNY2", [25.0, 25.0, 0.6, 0.0, 0.0])])
def test_lorentz_penny_hwhm(label, params):
    peak = analytic_profile(label, params, 0.0, 0.0)
    assert peak == pytest.approx(1.0, rel=1e-3)   # not normalised, peak 1 as in DAOPHOT
    assert analytic_profile(label, params, 25.0, 0.0) / peak == pytest.approx(0.5, rel=2e-3)
    assert analytic_profile(label, params, 0.0, -25.0) / peak == pytest.approx(0.5, rel=2e-3)


def test_penny_components():
    # P3 is the Gaussian fraction: far wings are Lorentzian (1 - P3)/(1 + r^2)
    v = analytic_profile("PENNY1", [1.0, 1.0, 0.75, 0.0], 30.0, 0.0)
    assert v == pytest.approx(0.25 / (1 + 900), rel=2e-3)
    # PENNY2: the tilt P5 acts on the Lorentzian only, P4 on the Gaussian only
    a = analytic_profile("PENNY2", [1.0, 1.0, 0.75, 0.0, 0.3], 20.0, 20.0)
    b = analytic_profile("PENNY2", [1.0, 1.0, 0.75, 0.3, 0.0], 20.0, 20.0)
    assert a == pytest.approx(0.25 / (1 + 800 + 0.3 * 400), rel=5e-3)
    assert b == pytest.approx(0.25 / (1 + 800), rel=5e-3)


def test_spatial_weights():
    X, Y = 0.4, -0.7
    x, y = (X + 1) * 1535.5, (Y + 1) * 1539.5
    w = spatial_weights(x, y, 10, 1535.5, 1539.5)
    p2x, p2y = 1.5 * X * X - 0.5, 1.5 * Y * Y - 0.5
    expected = [1, X, Y, p2x, X * Y, p2y, 2.5 * X ** 3 - 1.5 * X, p2x * Y, X * p2y,
                2.5 * Y ** 3 - 1.5 * Y]
    np.testing.assert_allclose(w, expected, rtol=1e-12, atol=1e-15)
    # 0-based pixel 0 is IPAC's x=1, i.e. X = -1; the frame centre gives X = 0
    np.testing.assert_allclose(spatial_weights([0, 1535.5], [0, 1539.5], 3, 1535.5, 1539.5),
                               [[1, -1, -1], [1, 0, 0]], atol=1e-15)
    assert spatial_weights(1.0, 2.0, 1, 1535.5, 1539.5).tolist() == [1.0]
    with pytest.raises(InvalidParameterError):
        spatial_weights(1.0, 2.0, 4, 1535.5, 1539.5)


def test_keys_kernel():
    w = keys_cubic_weights(np.linspace(0, 0.999, 7))
    np.testing.assert_allclose(w.sum(axis=-1), 1.0)
    np.testing.assert_allclose(keys_cubic_weights(0.0), [0, 1, 0, 0])
    np.testing.assert_allclose(keys_cubic_weights(0.5), [-0.0625, 0.5625, 0.5625, -0.0625])
    # reproduces a cubic polynomial exactly? Keys(a=-0.5) is exact up to quadratics
    t = 0.3
    f = lambda z: 2.0 - z + 0.5 * z * z  # noqa: E731
    assert keys_cubic_weights(t) @ f(np.array([-1, 0, 1, 2.0])) == pytest.approx(f(t))


@pytest.mark.parametrize("xy", [(1000.0, 2000.0), (100.5, 31.5), (2999.0, 7.5)])
def test_stamp_at_table_nodes_equals_table_values(real_psfs, xy):
    """At integer or half-integer positions, stamp pixels fall on table nodes: no interpolation."""
    psf = real_psfs[STEMS[0]]
    x, y = xy
    st = psf.get_psf_at(x, y, size=15)
    h, c = 7, psf.centre_index
    x0, y0 = math.floor(x + 0.5) - h, math.floor(y + 0.5) - h
    coef = psf.spatial_weights(x, y)
    for j, i in [(7, 7), (5, 9), (0, 7), (10, 3), (14, 14), (7, 12)]:
        dx, dy = x0 + i - x, y0 + j - y
        ti, tj = int(round(2 * dx + c)), int(round(2 * dy + c))
        expected = psf.analytic(dx, dy) + sum(coef[k] * psf.tables[k, tj, ti] for k in range(3))
        if dx * dx + dy * dy > psf.psf_radius ** 2:
            expected = 0.0
        assert st[j, i] == pytest.approx(float(expected), rel=1e-9, abs=1e-9)


def test_table_orientation_x_is_column():
    """tables[k, y, x]: a bump at table (y=c, x=c+4) appears 2 px to the right (+x)."""
    npsf, c = 21, 10
    t = np.zeros((1, npsf, npsf))
    t[0, c, c + 4] = 100.0
    psf = DAOPhotReader.from_arrays("GAUSSIAN", [1e-3, 1e-3], t, psfmag=15, bright=0.0)
    st = psf.get_psf_at(50.0, 60.0, size=9)
    assert st[4, 6] == pytest.approx(100.0)
    assert np.count_nonzero(np.abs(st) > 1e-6) == 1
    # between nodes the kernel interpolates smoothly: half a pixel further, still the bump
    st2 = psf.get_psf_at(49.75, 60.0, size=9)   # offset 2.25 px -> table x = c + 4.5
    assert st2[4, 6] == pytest.approx(100.0 * 0.5625)


def test_star_position_in_stamp():
    psf = DAOPhotReader.synthetic(1.5, noise=0.0, spatial=0.0)
    for x, y in [(10.3, 20.8), (500.0, 500.5), (77.49, 3.51)]:
        st = psf.get_psf_at(x, y, size=31)
        yy, xx = np.indices(st.shape)
        cx, cy = (st * xx).sum() / st.sum(), (st * yy).sum() / st.sum()
        assert cx == pytest.approx(15 + x - math.floor(x + 0.5), abs=2e-3)
        assert cy == pytest.approx(15 + y - math.floor(y + 0.5), abs=2e-3)
    n = psf.get_psf_at(10.3, 20.8, normalize=True)
    assert n.shape == (23, 23) and n.sum() == pytest.approx(1.0)


def test_vectorised_stamps_match_single(real_psfs):
    psf = real_psfs[STEMS[1]]
    rng = np.random.default_rng(5)
    x, y = rng.uniform(-3, 3075, 50), rng.uniform(-3, 3083, 50)
    stamps, x0, y0 = psf.get_psf_stamps(x, y, 13, chunk_size=7)
    assert stamps.shape == (50, 13, 13)
    for i in (0, 17, 49):
        np.testing.assert_allclose(stamps[i], psf.get_psf_at(x[i], y[i], size=13), rtol=1e-10, atol=1e-9)
        assert x0[i] == math.floor(x[i] + 0.5) - 6 and y0[i] == math.floor(y[i] + 0.5) - 6
    # frame_origin shifts only the spatial position
    a = psf.get_psf_stamps(10.2, 20.7, 13, frame_origin=(1000, 500))[0][0]
    b = psf.get_psf_at(1010.2, 520.7, size=13)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-9)
    with pytest.raises(InvalidParameterError):
        psf.get_psf_stamps([1.0, np.nan], [1.0, 2.0])
    with pytest.raises(ShapeMismatchError):
        psf.get_psf_stamps([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InvalidParameterError):
        psf.get_psf_at(1.0, 2.0, size=0)


@pytest.mark.parametrize("stem", STEMS)
def test_model_flux_matches_psfmag(real_psfs, stem):
    psf = real_psfs[stem]
    # IPAC's model sums to 10**(0.4*(25-PSFMAG)) DN to 0.4% (the PSFMAG flux scale)
    assert psf.total_flux() / psf.flux_scale == pytest.approx(1.0, abs=0.004)
    assert psf.get_psf_at(300.2, 2900.9).sum() / psf.flux_scale == pytest.approx(1.0, abs=0.006)
    assert psf.fwhm == pytest.approx(sum(REAL_EXPECTED[stem]["params"]))


def test_get_psf_seed_compat(real_psfs):
    psf = real_psfs[STEMS[0]]
    half = psf.get_psf(psf.bright, [1, 0, 0], normed=False)
    assert half.shape == (47, 47)
    # half-pixel grid: 4 samples per pixel; centre node = analytic peak + table centre
    assert half[23, 23] == pytest.approx(psf.analytic(0, 0) + psf.tables[0, 23, 23])
    assert half.sum() / 4 == pytest.approx(psf.total_flux(), rel=0.01)
    assert psf.get_psf(psf.bright, [1, 0, 0]).sum() == pytest.approx(1.0)
    # pixel grid at an integer position equals get_psf_at there
    x, y = 812.0, 2222.0
    pix = psf.get_psf(psf.bright, psf.spatial_weights(x, y), normed=False, inpixels=True)
    np.testing.assert_allclose(pix, psf.get_psf_at(x, y), rtol=1e-9, atol=1e-9)
    assert psf.structures is psf.tables and psf.nstructures == 3 and psf.modelname == "GAUSSIAN"
    with pytest.raises(InvalidParameterError):
        psf.get_psf(1.0, [1, 0])


def test_show_returns_axes(real_psfs):
    import matplotlib.pyplot as plt
    psf = real_psfs[STEMS[0]]
    axes = psf.show()
    assert len(axes) == 1 + 3 + 3
    assert all(hasattr(ax, "imshow") for ax in axes)
    plt.close("all")


# --------------------------------------------------------------------------- #
#  Curve of growth and aperture corrections                                    #
# --------------------------------------------------------------------------- #
def test_curve_of_growth_exact_overlap(real_psfs):
    import photutils.aperture as photutils  # test dependency (the "test" extra)
    psf = real_psfs[STEMS[2]]
    x, y = 1200.37, 801.81
    radii = np.array([1.0, 1.5, 2.0, 3.0, 5.0, 7.0])
    mine = psf.aperture_sums(radii, x, y, nphase=1)
    stamp = psf.get_psf_at(x, y, size=31)
    pos = (15 + x - math.floor(x + 0.5), 15 + y - math.floor(y + 0.5))
    ref = [photutils.aperture_photometry(stamp, photutils.CircularAperture(pos, r),
                                         method="exact")["aperture_sum"][0] for r in radii]
    np.testing.assert_allclose(mine, ref, rtol=1e-7)
    cog = psf.curve_of_growth(radii, x, y)
    assert np.all(np.diff(cog) > 0) and cog[-1] < 1.0
    assert psf.curve_of_growth(psf.psf_radius + 1.5) == pytest.approx(1.0, abs=1e-8)
    with pytest.raises(InvalidParameterError):
        psf.curve_of_growth([0.0, 1.0])


@pytest.mark.parametrize("stem", STEMS)
def test_aperture_correction_vs_header_apcor(real_psfs, real_stars, stem):
    """APCORn of the header vs the PSF model's own (phase-averaged) correction.

    Measured |difference| (mag) over the three exposures, diameters 2, 3, 4, 6, 10, 14 px:
    0.017, 0.007, 0.002, 0.006, 0.002, 0.002 (IPAC's own APCORUNn: 0.0005-0.004).  The 2 px
    aperture depends on the sub-pixel phase (0.06 mag between a centred star and the average).
    """
    hdr = real_stars[stem][0][0][1]
    apcor = np.array([hdr[f"APCOR{i}"] for i in range(1, 7)])
    mine = real_psfs[stem].aperture_correction(IPAC_DIAMETERS)
    bound = np.array([0.02, 0.0075, 0.0075, 0.0075, 0.0075, 0.0075])
    assert np.all(np.abs(mine - apcor) < bound), (mine, apcor)
    assert np.all(np.diff(mine) > 0) and np.all(mine < 0)


# --------------------------------------------------------------------------- #
#  Forced photometry on the real cutouts                                        #
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def real_phot(real_stars, real_psfs):
    return photometry_vs_ipac(real_stars, real_psfs)


def test_real_psf_photometry_reproduces_ipac(real_phot):
    """27 stars of three exposures: measured median 1.0005, robust scatter 0.0077, redchi2 1.25."""
    ratio, red, _ = real_phot
    assert ratio.size == 27 and np.all(np.isfinite(ratio))
    med, scatter = robust(ratio)
    assert abs(med - 1.0) < 0.01
    assert scatter < 0.015
    assert np.all(np.abs(ratio - 1) < 0.03)
    assert 0.8 < np.median(red) < 1.5
    assert np.sum(red < 2.0) >= 25   # one star has a neighbour in its fit disc (redchi2 ~7)


def test_real_photometry_detects_a_wrong_model(real_stars, real_psfs, real_phot):
    ratio, red, chi2 = real_phot
    med, scatter = robust(ratio)
    # transposed tables ([k, x, y] instead of [k, y, x]): chi2 x5, flux biased by ~1.3%
    transposed = {s: with_tables(p, p.tables.transpose(0, 2, 1)) for s, p in real_psfs.items()}
    r_t, red_t, _ = photometry_vs_ipac(real_stars, transposed)
    assert np.median(red_t) > 3 * np.median(red)
    assert abs(np.median(r_t) - 1) > 5 * abs(med - 1) and abs(np.median(r_t) - 1) > 0.008
    # constant PSF (spatial X, Y terms dropped): flux scatter 0.0077 -> 0.012, chi2 +6%
    dropped = {s: with_tables(p, p.tables[:1]) for s, p in real_psfs.items()}
    r_d, _, chi2_d = photometry_vs_ipac(real_stars, dropped)
    assert robust(r_d)[1] > 1.3 * scatter
    assert chi2_d.sum() > 1.03 * chi2.sum()


# --------------------------------------------------------------------------- #
#  Simulations                                                                  #
# --------------------------------------------------------------------------- #
GAIN, READNOISE, SKY = 6.2, 9.0, 150.0


def simulate(psf, rng, nside=10, step=20, fluxrange=(3.3, 4.7), origin=(0.0, 0.0)):
    n = nside * nside
    g = np.arange(nside) * step + step / 2
    X, Y = np.meshgrid(g, g)
    x = X.ravel() + rng.uniform(-0.5, 0.5, n)
    y = Y.ravel() + rng.uniform(-0.5, 0.5, n)
    flux = 10 ** rng.uniform(*fluxrange, n)
    shape = (nside * step, nside * step)
    model = psf.render(shape, x, y, flux, frame_origin=origin) + SKY
    img = rng.poisson(model * GAIN) / GAIN + rng.normal(0, READNOISE / GAIN, shape)
    return img, x, y, flux


@pytest.fixture(scope="module")
def sim_psf(tmp_path_factory):
    """A synthetic ZTF-like PSF written with write() and read back."""
    path = tmp_path_factory.mktemp("psf") / "synthetic_sciimgdao.psf"
    DAOPhotReader.synthetic(1.5, hwhm_y=1.6, nexp=6, seed=1).write(path)
    return DAOPhotReader(path)


def test_synthetic_psf(sim_psf):
    assert (sim_psf.label, sim_psf.nexp, sim_psf.npsf) == ("GAUSSIAN", 6, 47)
    for x, y in [(0.0, 0.0), (1535.5, 1539.5), (3071.0, 100.0)]:
        assert sim_psf.total_flux(x, y) / sim_psf.flux_scale == pytest.approx(1.0, abs=1e-5)
    # the spatial terms change the shape across the frame
    a, b = sim_psf.get_psf_at(10.0, 10.0), sim_psf.get_psf_at(3000.0, 3000.0)
    assert np.abs(a - b).max() > 0.01 * a.max()


def test_render():
    psf = DAOPhotReader.synthetic(1.5, seed=2)
    img = psf.render((60, 50), [20.3, 48.9, 200.0, np.nan, 45.0], [30.6, 10.1, 5.0, 3.0, 55.0],
                     [1e4, 2e3, 5e3, 1e3, 3e3])
    assert img.shape == (60, 50) and img.dtype == np.float64
    # star 1 fully inside: its light sums to its flux; star 2 is clipped by the edge
    assert img[19:43, 8:32].sum() == pytest.approx(1e4 * psf.total_flux(20.3, 30.6) / psf.flux_scale,
                                                   rel=1e-9)
    assert img[19:43, 8:32].sum() == pytest.approx(1e4, rel=1e-5)
    assert 0 < img[:25, 38:].sum() < 2e3
    assert 0 < img[40:, 34:].sum() < 3e3
    assert np.argmax(img[30]) == 20 and np.unravel_index(np.argmax(img), img.shape) == (31, 20)
    empty = psf.render((10, 10), [500.0], [500.0], [1e4])
    assert not empty.any()
    with pytest.raises(InvalidParameterError):
        psf.render((0, 10), [1.0], [1.0], [1.0])


def test_simulated_photometry_unbiased(sim_psf):
    rng = np.random.default_rng(42)
    rms = math.sqrt(SKY / GAIN + (READNOISE / GAIN) ** 2)
    ratio, pull, red = [], [], []
    for rep in range(6):
        origin = tuple(rng.uniform(0, 2800, 2))
        img, x, y, flux = simulate(sim_psf, rng, origin=origin)
        r = psf_photometry(img, x, y, sim_psf, rms=rms, gain=GAIN, frame_origin=origin)
        ratio += list(r.flux / flux)
        pull += list((r.flux - flux) / r.fluxerr)
        red += list(r.redchi2)
    ratio, pull = np.array(ratio), np.array(pull)
    assert abs(np.median(ratio) - 1) < 0.003
    assert abs(np.mean(pull)) < 0.15
    assert 0.9 < np.std(pull) < 1.15
    assert 0.9 < np.median(red) < 1.1


def test_simulated_photometry_options(sim_psf):
    rng = np.random.default_rng(7)
    img, x, y, flux = simulate(sim_psf, rng, nside=6)
    rms = math.sqrt(SKY / GAIN + (READNOISE / GAIN) ** 2)
    base = psf_photometry(img, x, y, sim_psf, rms=rms, gain=GAIN, zp=26.0)
    # fixed sky: unbiased too
    fixed = psf_photometry(img, x, y, sim_psf, rms=rms, gain=GAIN, sky=SKY)
    assert np.median(fixed.flux / flux) == pytest.approx(1.0, abs=0.005)
    assert np.all(fixed.sky == SKY) and np.all(fixed.skyerr == 0)
    assert np.median(base.sky) == pytest.approx(SKY, abs=1.0)
    # rms map of the same value gives the same answer; rms=None estimates it
    same = psf_photometry(img, x, y, sim_psf, rms=np.full(img.shape, rms), gain=GAIN)
    np.testing.assert_allclose(same.flux, base.flux, rtol=1e-10)
    est = psf_photometry(img, x, y, sim_psf, gain=GAIN)
    assert np.median(est.fluxerr / base.fluxerr) == pytest.approx(1.0, abs=0.1)
    # magnitudes
    np.testing.assert_allclose(base.mag, 26.0 - 2.5 * np.log10(base.flux))
    np.testing.assert_allclose(base.magerr, 1.0857362 * base.fluxerr / base.flux, rtol=1e-6)
    # masked pixels: left out, flagged, still unbiased
    mask = np.zeros(img.shape, bool)
    mask[np.floor(y[0] + 0.5).astype(int), np.floor(x[0] + 0.5).astype(int)] = True
    m = psf_photometry(img, x, y, sim_psf, rms=rms, gain=GAIN, mask=mask)
    assert m.psf_flag[0] & FLAGS["MASKED"] and m.npix[0] == base.npix[0] - 1
    assert m.flux[0] == pytest.approx(flux[0], rel=0.05)
    assert (m.psf_flag[1:] == 0).all()
    # the Poisson term matters for bright stars: errors grow with flux
    assert base.fluxerr.iloc[np.argmax(flux)] > 2 * base.fluxerr.iloc[np.argmin(flux)]


def test_photometry_rows_align_with_inputs(sim_psf):
    rng = np.random.default_rng(3)
    img, x, y, flux = simulate(sim_psf, rng, nside=4)
    img[5, 5] = np.nan
    img_before = img.copy()
    xs = np.array([x[0], -10.0, np.nan, x[5], 79.3, 5.2, x[2]])
    ys = np.array([y[0], 20.0, 10.0, y[5], 40.0, 5.1, y[2]])
    mask = np.zeros(img.shape, bool)
    mask[35:46, 75:80] = True                       # covers all usable pixels of star 4
    xs_before, ys_before, mask_before = xs.copy(), ys.copy(), mask.copy()
    sx = pd.Series(xs, index=list("abcdefg"))
    r = psf_photometry(img, sx, ys, sim_psf, rms=5.0, gain=GAIN, mask=mask, fit_radius=3.0)
    assert list(r.index) == list("abcdefg") and len(r) == 7
    np.testing.assert_array_equal(r.x.to_numpy(), xs)
    assert r.psf_flag["b"] & FLAGS["OFF_IMAGE"] and r.psf_flag["c"] & FLAGS["OFF_IMAGE"]
    assert np.isnan(r.flux["b"]) and np.isnan(r.flux["c"]) and r.npix["b"] == 0
    assert r.psf_flag["e"] & FLAGS["NO_DATA"] and r.psf_flag["e"] & FLAGS["EDGE"] and np.isnan(r.flux["e"])
    assert r.psf_flag["f"] & FLAGS["MASKED"] and np.isfinite(r.flux["f"])       # NaN pixel skipped
    assert r.flux["a"] == pytest.approx(flux[0], rel=0.05)
    assert r.flux["g"] == pytest.approx(flux[2], rel=0.05)
    assert r.flux["d"] == pytest.approx(flux[5], rel=0.05)
    # inputs untouched
    np.testing.assert_array_equal(img, img_before)
    np.testing.assert_array_equal(xs, xs_before)
    np.testing.assert_array_equal(ys, ys_before)
    np.testing.assert_array_equal(mask, mask_before)
    # scalar position
    one = psf_photometry(img, x[0], y[0], sim_psf, rms=5.0)
    assert len(one) == 1 and np.isfinite(one.flux[0])
    # a star seen through the PSF object's method gives the same result
    two = sim_psf.photometry(img, x[:1], y[:1], rms=5.0)
    pd.testing.assert_frame_equal(one, two)


def test_photometry_bad_input(sim_psf):
    img = np.zeros((20, 20))
    with pytest.raises(ShapeMismatchError):
        psf_photometry(img, [1.0, 2.0], [1.0], sim_psf, rms=1.0)
    with pytest.raises(ShapeMismatchError):
        psf_photometry(img, [1.0], [1.0], sim_psf, rms=1.0, mask=np.zeros((20, 21), bool))
    with pytest.raises(ShapeMismatchError):
        psf_photometry(img, [1.0], [1.0], sim_psf, rms=np.ones((3, 3)))
    with pytest.raises(InvalidParameterError):
        psf_photometry(img, [1.0], [1.0], sim_psf, rms=1.0, fit_radius=0.5)
    with pytest.raises(InvalidParameterError):
        psf_photometry(img, [1.0], [1.0], sim_psf, rms=-1.0)
    with pytest.raises(InvalidParameterError):
        psf_photometry(img, [1.0], [1.0], sim_psf, rms=1.0, gain=0.0)
    with pytest.raises(InvalidParameterError):
        psf_photometry(np.zeros(5), [1.0], [1.0], sim_psf, rms=1.0)
    with pytest.raises(InvalidParameterError, match="pass rms"):
        psf_photometry(img, [1.0], [1.0], sim_psf)     # a constant image has no noise
    # an empty list of positions is fine
    assert len(psf_photometry(img, [], [], sim_psf, rms=1.0)) == 0


def test_analytic_only_psf(tmp_path):
    """NEXP = 0 (DAOPHOT VARIABLE = -1): no tables, the analytic profile alone."""
    psf = DAOPhotReader.from_arrays("MOFFAT25", [1.6, 1.5, 0.01], np.zeros((0, 23, 23)),
                                    psfmag=14.0, bright=4000.0)
    path = tmp_path / "moffat.psf"
    psf.write(path)
    assert len(path.read_text().splitlines()) == 2
    back = DAOPhotReader(path)
    assert back.nexp == 0 and back.tables.shape == (0, 23, 23)
    st = back.get_psf_at(30.0, 40.0, size=11)
    assert st[5, 5] == pytest.approx(4000.0 * analytic_profile("MOFFAT25", [1.6, 1.5, 0.01], 0, 0))
    np.testing.assert_allclose(back.get_psf(normed=False, inpixels=True), st)
    assert st[0, 0] == 0.0 and back.psf_radius == 5.0    # truncated beyond (npsf - 3)/4


# --------------------------------------------------------------------------- #
#  Where the model is defined: the fitted frame plus a margin                   #
# --------------------------------------------------------------------------- #
def test_valid_range_and_frame_margin(real_psfs):
    from ztfimg.dao import DAOPhotPSF

    psf = real_psfs[STEMS[0]]
    assert DAOPhotPSF.frame_margin == 0.25 and psf.frame_margin == 0.25
    assert psf.frame_size == (3071.0, 3079.0)
    (x0, x1), (y0, y1) = psf.valid_range
    assert (x0, x1, y0, y1) == (-767.75, 3838.75, -769.75, 3848.75)
    # the spatial variables reach +-1.5 at the limits
    np.testing.assert_allclose(psf.spatial_weights([x0, x1], [y0, y1]),
                               [[1, -1.5, -1.5], [1, 1.5, 1.5]], atol=1e-12)
    # an instance can widen its domain
    wide = DAOPhotReader(psf_path(STEMS[0]))
    wide.frame_margin = 1.0
    assert wide.valid_range[0] == (-3071.0, 6142.0)
    wide.get_psf_at(6000.0, 100.0)


@pytest.mark.parametrize("xy", [(1e6, 1e6), (-1e6, 100.0), (100.0, 4000.0), (3839.0, 10.0),
                                (-768.0, 10.0), (10.0, -770.0)])
def test_single_position_beyond_the_frame_refused(real_psfs, xy):
    psf = real_psfs[STEMS[1]]
    x, y = xy
    with pytest.raises(InvalidParameterError, match=r"outside the range.*x in \[-767.75, 3838.75\]"
                                                    r".*y in \[-769.75, 3848.75\]") as info:
        psf.get_psf_at(x, y)
    msg = str(info.value)
    assert f"x={x:g}" in msg and "frame_margin" in msg and "get_psf_stamps" in msg   # what to do
    with pytest.raises(InvalidParameterError, match="outside the range"):
        psf.get_psf(x=x, y=y)
    with pytest.raises(InvalidParameterError, match="outside the range"):
        psf.spatial_weights(x, y)
    with pytest.raises(InvalidParameterError, match="outside the range"):
        psf.total_flux(x, y)
    with pytest.raises(InvalidParameterError, match="outside the range"):
        psf.aperture_correction([2.0, 4.0], x, y)


def test_single_position_at_the_limits_accepted(real_psfs):
    psf = real_psfs[STEMS[1]]
    (x0, x1), (y0, y1) = psf.valid_range
    for x, y in [(x0, y0), (x1, y1), (x0, y1), (0.0, 0.0), (3071.0, 3079.0)]:
        st = psf.get_psf_at(x, y)
        assert np.all(np.isfinite(st)) and st.max() > 100
    # the bug report: 1e6, 1e6 used to give pixel values of -2e4
    with pytest.raises(InvalidParameterError):
        psf.get_psf_at(1e6, 1e6)


def test_get_psf_at_a_position(real_psfs):
    psf = real_psfs[STEMS[0]]
    a = psf.get_psf(x=812.0, y=2222.0, normed=False, inpixels=True)
    b = psf.get_psf(psf.bright, psf.spatial_weights(812.0, 2222.0), normed=False, inpixels=True)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, psf.get_psf_at(812.0, 2222.0), rtol=1e-9, atol=1e-9)
    with pytest.raises(InvalidParameterError, match="both x and y"):
        psf.get_psf(x=1.0)
    with pytest.raises(InvalidParameterError, match="not both"):
        psf.get_psf(coefstruct=[1, 0, 0], x=1.0, y=1.0)
    for bad in [dict(coef_base="abc"), dict(coefstruct=["a", 0, 0]), dict(coefstruct=None, x="a", y=1),
                dict(coefstruct=[np.nan, 0, 0]), dict(coef_base=np.inf), dict(coefstruct=[1, 0])]:
        with pytest.raises(InvalidParameterError):
            psf.get_psf(**bad)


def test_get_psf_at_bad_input(real_psfs):
    psf = real_psfs[STEMS[0]]
    for x, y in [("a", 1.0), (None, 1.0), (np.nan, 10.0), (10.0, np.inf), (True, 3.0)]:
        with pytest.raises(InvalidParameterError):
            psf.get_psf_at(x, y)
    with pytest.raises(InvalidParameterError):
        psf.get_psf_at([1.0, 2.0], [1.0, 2.0])
    for size in (0, -3, 2.5, "23", 10**9, 1e9, True, "abc", [5]):
        with pytest.raises(InvalidParameterError, match="size"):
            psf.get_psf_at(100.0, 100.0, size=size)
    assert psf.get_psf_at(100.0, 100.0, size=np.int64(7)).shape == (7, 7)
    assert psf.get_psf_at(100.0, 100.0, size=9.0).shape == (9, 9)
    with pytest.raises(ShapeMismatchError):
        psf.spatial_weights([1.0, 2.0, 3.0], [1.0, 2.0])
    with pytest.raises(InvalidParameterError):
        psf.spatial_weights([1.0, np.nan], [1.0, 2.0], clamp=True)
    with pytest.raises(InvalidParameterError, match="frame_origin"):
        psf.get_psf_stamps(1.0, 1.0, frame_origin=5)
    with pytest.raises(InvalidParameterError, match="frame_origin"):
        psf.get_psf_stamps(1.0, 1.0, frame_origin=(np.nan, 0))
    with pytest.raises(InvalidParameterError, match="chunk_size"):
        psf.get_psf_stamps(1.0, 1.0, chunk_size="x")
    for kw in [dict(radii="a"), dict(radii=[1.0, -1.0]), dict(radii=None), dict(radii=2.0, nphase=0),
               dict(radii=2.0, nphase=2.5), dict(radii=2.0, nphase=10**6), dict(radii=2.0, x="a", y=1.0)]:
        with pytest.raises(InvalidParameterError):
            psf.curve_of_growth(**kw)
    # a huge aperture holds the whole model, without a huge stamp
    assert psf.curve_of_growth(1e9, nphase=1) == pytest.approx(1.0, abs=1e-7)


def test_vectorised_paths_clamp_the_spatial_position(real_psfs):
    """get_psf_stamps / render never extrapolate and never raise for off-frame stars."""
    from ztfimg.dao import spatial_weights as module_weights

    psf = real_psfs[STEMS[2]]
    (x0, x1), (y0, y1) = psf.valid_range
    # inside the range: exactly today's numbers
    rng = np.random.default_rng(11)
    xs, ys = rng.uniform(x0, x1, 200), rng.uniform(y0, y1, 200)
    np.testing.assert_array_equal(psf.spatial_weights(xs, ys, clamp=True),
                                  module_weights(xs, ys, 3, psf.xpsf, psf.ypsf))
    np.testing.assert_array_equal(psf.spatial_weights(xs, ys), psf.spatial_weights(xs, ys, clamp=True))
    # beyond it: the weights of the nearest valid position
    np.testing.assert_array_equal(psf.spatial_weights([1e6, -1e9], [5e5, 100.0], clamp=True),
                                  module_weights([x1, x0], [y1, 100.0], 3, psf.xpsf, psf.ypsf))
    far, fx0, fy0 = psf.get_psf_stamps([1e6 + 0.25, -1e6 + 0.5], [1e6 + 0.5, 30.25], 15)
    assert np.all(np.isfinite(far)) and far.min() > -0.01 * far.max()
    # same sub-pixel phase, the spatial terms at the clamp point (via frame_origin)
    ref_hi = psf.get_psf_stamps(0.25, 0.5, 15, frame_origin=(x1 - 0.25, y1 - 0.5))[0][0]
    ref_lo = psf.get_psf_stamps(0.5, 30.25, 15, frame_origin=(x0 - 0.5, 0.0))[0][0]
    np.testing.assert_allclose(far[0], ref_hi, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(far[1], ref_lo, rtol=1e-12, atol=1e-12)
    assert fx0[0] == math.floor(1e6 + 0.75) - 7
    # a cutout far from any frame: rendered like at the clamp point, finite
    img_far = psf.render((40, 40), [20.3], [19.6], [1e5], frame_origin=(1e7, 1e7))
    img_lim = psf.render((40, 40), [20.3], [19.6], [1e5], frame_origin=(x1 - 20.3 + 20.3, y1))
    assert np.all(np.isfinite(img_far)) and img_far.sum() == pytest.approx(1e5, rel=0.02)
    img_edge = psf.render((40, 40), [20.3], [19.6], [1e5], frame_origin=(x1 - 20.3, y1 - 19.6))
    np.testing.assert_allclose(img_far, img_edge, rtol=1e-9, atol=1e-9)
    assert img_lim.shape == (40, 40)
    with pytest.raises(ShapeMismatchError):
        psf.render((40, 40), [1.0, 2.0], [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(InvalidParameterError):
        psf.render((40, 40), [1.0], [1.0], ["a"])


def test_photometry_of_off_frame_positions_is_flagged_not_raised(sim_psf):
    rng = np.random.default_rng(5)
    img, x, y, flux = simulate(sim_psf, rng, nside=4)
    xs = np.r_[x[:3], 1e6, -1e9, np.inf]
    ys = np.r_[y[:3], 1e6, 5.0, 3.0]
    r = psf_photometry(img, xs, ys, sim_psf, rms=5.0, gain=GAIN)
    assert len(r) == 6
    assert np.all(np.isfinite(r.flux[:3]))
    assert np.all(np.isnan(r.flux[3:])) and np.all(r.psf_flag[3:] & FLAGS["OFF_IMAGE"])
    # a cutout whose frame_origin lies far beyond the PSF's frame: measured with the
    # PSF of the nearest valid position, finite, no error
    far = psf_photometry(img, x[:3], y[:3], sim_psf, rms=5.0, gain=GAIN, frame_origin=(1e7, -1e7))
    assert np.all(np.isfinite(far.flux)) and np.all(far.psf_flag == 0)
    np.testing.assert_allclose(far.flux, r.flux[:3], rtol=0.1)


# --------------------------------------------------------------------------- #
#  Parser: strict fields and bounded sizes                                      #
# --------------------------------------------------------------------------- #
@pytest.fixture(scope="module")
def real_text():
    with open(psf_path(STEMS[0])) as fh:
        return fh.read()


def replace_header_field(text, start, stop, value):
    head, rest = text.split("\n", 1)
    field = f"{value:>{stop - start}}"
    assert len(field) == stop - start
    return head[:start] + field + head[stop:] + "\n" + rest


@pytest.mark.parametrize("start,stop,value,match", [
    (9, 14, "  207", "expected 3 table.s. of 207x207"),                # allowed size, wrong line count
    (9, 14, "  209", "NPSF=209.*at most 207"),
    (9, 14, "99999", "NPSF=99999.*at most 207"),
    (9, 14, "   48", "NPSF=48.*odd"),
    (9, 14, "   -5", "NPSF=-5 is too small"),
    (9, 14, "\u0664\u0667", "NPSF must be an integer"),      # Arabic-Indic '47'
    (9, 14, "  4_7", "NPSF must be an integer"),
    (19, 24, "   -3", "NEXP=-3"),
    (19, 24, "99999", "NEXP=99999"),
    (29, 38, "      nan", "cannot read a number.*PSFMAG"),
    (29, 38, "      inf", "cannot read a number.*PSFMAG"),
    (29, 38, " 1.0E+999", "PSFMAG=inf"),
    (29, 38, "  -1000.0", "PSFMAG=-1000.0 must be a finite number within -100"),
    (29, 38, "  \uff11\uff13.4", "cannot read a number.*PSFMAG"),   # fullwidth digits
    (38, 53, "       1.0E+300", "BRIGHT=1e\\+300"),
    (38, 53, "            NaN", "cannot read a number.*BRIGHT"),
    (53, 62, "      inf", "cannot read a number.*XPSF"),
    (53, 62, "  1.0E+99", "XPSF=1e\\+99 must be > 0 and < 1e\\+07"),
    (53, 62, "   -100.0", "XPSF, YPSF must be > 0"),
    (62, 71, "      0.0", "XPSF, YPSF must be > 0"),
])
def test_bad_header_values(real_text, start, stop, value, match):
    with pytest.raises(PSFFileError, match=match):
        DAOPhotReader.from_string(replace_header_field(real_text, start, stop, value))


@pytest.mark.parametrize("old,new,match", [
    ("1.515331E+00", "0.000000E+00", "half width P1=0.0 must be >= 1e-06"),
    ("1.515331E+00", "-1.51533E+00", "half width P1=-1.51533 must be >= 1e-06"),
    ("1.547476E+00", "1.000000E-99", "half width P2=1e-99"),
    ("1.547476E+00", "         nan", "cannot read a number"),
    ("1.547476E+00", "1.00000E+999", "analytic parameter P2=inf"),
    ("-1.287123E-02", " 1.000000E+99", "table 1, row 1, column 18 holds 1e\\+99"),
    ("-1.287123E-02", "  1.00000+300", "table 1, row 1, column 18 holds 1e\\+300"),
    ("-1.287123E-02", " 1.00000E+400", "table 1, row 1, column 18 holds inf"),
    ("-1.287123E-02", "          NaN", "cannot read a number"),
    ("-1.287123E-02", "     Infinity", "cannot read a number"),
    ("-1.287123E-02", "-1.28_123E-02", "cannot read a number: unexpected character '_'"),
    ("-1.287123E-02", "-1.\u066287123E-02", "cannot read a number"),
    ("-1.287123E-02", "-1.287\x0c23E-02", "cannot read a number|found 1107 lines"),
])
def test_bad_values_in_the_body(real_text, old, new, match):
    assert len(old) == len(new) and old in real_text
    with pytest.raises(PSFFileError, match=match):
        DAOPhotReader.from_string(real_text.replace(old, new, 1))


def test_parser_input_types_and_line_ends(real_text):
    ref = DAOPhotReader.from_string(real_text)
    as_bytes = DAOPhotReader.from_string(real_text.encode("ascii"))
    np.testing.assert_array_equal(as_bytes.tables, ref.tables)
    crlf = DAOPhotReader.from_string(real_text.replace("\n", "\r\n"))
    np.testing.assert_array_equal(crlf.tables, ref.tables)
    # a non-ASCII byte is corruption, reported as such
    with pytest.raises(PSFFileError):
        DAOPhotReader.from_string(real_text.encode("ascii").replace(b"1.515331", b"1.5\xe93", 1))
    # a Unicode line break inside a line is not a line end (str.splitlines would split)
    with pytest.raises(PSFFileError):
        DAOPhotReader.from_string(real_text.replace(" 0.000000E+00", "\u2028.000000E+00", 1))
    for bad in (None, 42, ["a"]):
        with pytest.raises(InvalidParameterError, match="str"):
            parse_psf_string(bad)
    # the D exponent and the exponent-without-E form still read
    text = real_text.replace("-1.287123E-02", "-1.287123D-02", 1)
    assert DAOPhotReader.from_string(text).tables[0, 0, 17] == -1.287123e-02


def test_npsf_limit_bounds_memory():
    """NEXP=0 needs no table lines, so only the NPSF bound stops a tiny file from asking for
    a 50000-pixel default stamp (20 GB)."""
    from ztfimg.dao.fileformat import MAX_NPSF

    assert MAX_NPSF == 207
    text = small_psf_text(npsf=5, nexp=0)
    ok = DAOPhotReader.from_string(text)
    assert ok.get_psf_at(ok.xpsf, ok.ypsf).shape == (3, 3)
    big = text.replace("    5    2    0", "99999    2    0", 1)
    with pytest.raises(PSFFileError, match="NPSF=99999"):
        DAOPhotReader.from_string(big)
    edge = DAOPhotReader.from_string(text.replace("    5    2    0", "  207    2    0", 1))
    assert edge.get_psf_at(100.0, 100.0).shape == (103, 103)


def test_from_arrays_bad_values():
    t = np.zeros((3, 11, 11))
    for kw in [dict(psfmag="abc"), dict(psfmag=None), dict(bright=[1, 2]), dict(xpsf="x"),
               dict(psfmag=np.nan), dict(psfmag=1e4), dict(bright=np.inf), dict(xpsf=np.inf),
               dict(ypsf=True)]:
        args = dict(dict(psfmag=13.0, bright=1.0), **kw)
        with pytest.raises(InvalidParameterError):
            DAOPhotReader.from_arrays("GAUSSIAN", [1, 1], t, **args)
    for params, tables in [([0.0, 1.0], t), ([1.0, -1.0], t), (["a", 1], t), ([1, 1], "tables"),
                           ([1, 1], np.zeros((1, 209, 209))), ([1, 1], t + 1e300), (None, t)]:
        with pytest.raises(InvalidParameterError):
            DAOPhotReader.from_arrays("GAUSSIAN", params, tables, psfmag=13.0, bright=1.0)
