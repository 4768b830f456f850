"""DifferenceImage (ztfimg.image.difference): the .fits.fz reader, siblings, header, photometry."""

import os
import pathlib
import shutil

import numpy as np
import pandas as pd
import pytest
from astropy.io import fits

from ztfimg import DifferenceImage, ScienceImage, simtransient
from ztfimg import simulate
from ztfimg.errors import (FileFormatError, FileNameError, HeaderKeywordError,
                           InvalidParameterError, MissingFileError)
from ztfimg.flags import PSFFlag
from ztfimg.image.difference import (SERVICE_COLUMNS, forced_photometry_frame,
                                     read_difference_fits)
from ztfimg.psfdiff import PixelPSF


@pytest.fixture(scope="module")
def series():
    return simtransient.simulate_transient_series(shape=(160, 160), n_epochs=3, seed=4,
                                                  n_transients=4, t_explosion=2459290.0)


@pytest.fixture(scope="module")
def files(series, tmp_path_factory):
    return series.write(tmp_path_factory.mktemp("diff"))


def _write_fz(path, data, header=None, **kw):
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, header=header, **kw)]).writeto(
        path, overwrite=True)
    return str(path)


# ------------------------------------------------------------------ the .fits.fz reader
def test_lossless_fz_round_trips_exactly(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.normal(0, 7.3, (203, 151)).astype(np.float32)
    data[5, 7] = np.nan
    data[100, 100] = 1e6
    header = simulate.make_header((203, 151))
    path = _write_fz(tmp_path / "ztf_20210401123456_000600_zr_c07_o_q2_scimrefdiffimg.fits.fz",
                     data, header, compression_type="GZIP_2", quantize_level=0.0)
    img = DifferenceImage(path)
    out = img.data
    assert out.dtype == np.float32 and out.dtype.isnative and not out.flags.writeable
    np.testing.assert_array_equal(out, data)        # bit for bit, NaN included
    assert img.shape == (203, 151) and img.magzp == header["MAGZP"]
    raw, hdr = read_difference_fits(path)
    assert raw.flags.writeable and hdr["MAGZP"] == header["MAGZP"]


def test_quantised_fz_is_within_the_quantisation_step(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.normal(0, 6.0, (256, 256)).astype(np.float32)
    path = _write_fz(tmp_path / "q.fits.fz", data, compression_type="RICE_1", quantize_level=16)
    out, _ = read_difference_fits(path)
    err = out - data
    assert 0 < np.abs(err).max() < 6.0 / 16 * 1.05       # IPAC-like lossy: rms/16 steps
    assert abs(err.mean()) < 0.01


def test_pixels_are_decompressed_once(files, monkeypatch):
    import astropy.io.fits.hdu.compressed.section as section
    calls = []
    real = section.decompress_image_data_section

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)
    monkeypatch.setattr(section, "decompress_image_data_section", counting)
    img = DifferenceImage.from_filename(files["diffimg"][0])
    assert calls == []                               # opening reads the header only
    img.data
    img.get_mask()
    img.get_stamp(50.0, 60.0, size=15)
    img.forced_psf_photometry([50.0], [60.0])
    img.background
    assert len(calls) == 1


def test_reader_errors(tmp_path):
    with pytest.raises(MissingFileError):
        read_difference_fits(tmp_path / "absent.fits.fz")
    text = tmp_path / "t.fits.fz"
    text.write_text("SIMPLE = nonsense")
    with pytest.raises(FileFormatError):
        read_difference_fits(text)
    good = _write_fz(tmp_path / "g.fits.fz", np.ones((64, 64), np.float32))
    cut = tmp_path / "cut.fits.fz"
    cut.write_bytes(pathlib.Path(good).read_bytes()[:4000])
    with pytest.raises(FileFormatError):
        read_difference_fits(cut)
    table = tmp_path / "table.fits"
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU.from_columns(
        [fits.Column("a", "E", array=np.ones(3))])]).writeto(table)
    with pytest.raises(FileFormatError):
        read_difference_fits(table)


# ------------------------------------------------------------------ siblings and header
def test_from_filename_finds_the_siblings(files):
    row = files.iloc[0]
    img = DifferenceImage.from_filename(row["diffimg"])
    assert img.maskfile == row["mskimg"] and img.psffile == row["diffimgpsf"]
    assert img.sciencefile == row["sciimg"]
    assert isinstance(img.science, ScienceImage) and img.science.shape == img.shape
    assert isinstance(img.psf, PixelPSF) and img.psf.shape == (25, 25)
    for name in (row["sciimg"], row["diffimg"][:-3]):          # science name; '.fits' of alerts
        other = DifferenceImage.from_filename(name)
        assert other.filename == row["diffimg"]
    assert "DifferenceImage" in repr(img) and "mask" in repr(img)
    assert img.filenameinfo.suffix == "scimrefdiffimg.fits.fz"


def test_missing_siblings(files, tmp_path):
    row = files.iloc[1]
    lone = tmp_path / os.path.basename(row["diffimg"])
    shutil.copy(row["diffimg"], lone)
    with pytest.raises(MissingFileError, match="require_mask"):
        DifferenceImage.from_filename(lone)
    img = DifferenceImage.from_filename(lone, require_mask=False)
    assert not img.has_mask and img.science is None
    with pytest.raises(MissingFileError, match="set_psf"):
        img.psf
    with pytest.raises(MissingFileError):
        DifferenceImage.from_filename(lone, require_mask=False, require_psf=True)
    with pytest.raises(MissingFileError):
        img.forced_psf_photometry([10.0], [10.0], source_noise="science")
    img.set_psf(row["diffimgpsf"])
    tab = img.forced_psf_photometry([40.0], [40.0])          # 'auto' = 'model' without science
    assert tab.attrs["source_noise"] == "model" and np.isfinite(tab["forcediffimflux"]).all()
    with pytest.raises(MissingFileError):
        DifferenceImage.from_filename(tmp_path / "ztf_20210401123456_000600_zr_c07_o_q2_"
                                      "scimrefdiffimg.fits.fz")
    with pytest.raises(FileNameError):
        DifferenceImage.from_filename(tmp_path / "ztf_000600_zr_c07_q2_refimg.fits")
    with pytest.raises(InvalidParameterError):
        img.set_psf(3.0)
    with pytest.raises(InvalidParameterError):
        img.set_science(np.zeros((3, 3)))


def test_zero_point_from_the_difference_header_else_the_science_header(series, files, tmp_path):
    ep = series.epochs[0]
    img = DifferenceImage.from_filename(files["diffimg"][0])
    assert img.zpdiff == pytest.approx(ep.truth["magzp"][0])
    assert img.zpdiffunc == pytest.approx(ep.truth["magzpunc"][0])
    bare = ep.header.copy()
    for key in ("MAGZP", "MAGZPUNC", "GAIN"):
        del bare[key]
    bare["INFOBITS"] = 0
    sci = ScienceImage(files["sciimg"][0], files["mskimg"][0])
    both = DifferenceImage.from_arrays(ep.difference, bare, ep.science.mask, psf=ep.psf,
                                       science=sci)
    assert both.zpdiff == pytest.approx(ep.truth["magzp"][0]) and both.gain == 6.0
    alone = DifferenceImage.from_arrays(ep.difference, bare, ep.science.mask, psf=ep.psf)
    with pytest.raises(HeaderKeywordError, match="MAGZP"):
        alone.zpdiff
    sentinel = ep.header.copy()
    sentinel["MAGZP"] = -99.0
    fallback = DifferenceImage.from_arrays(ep.difference, sentinel, psf=ep.psf, science=sci)
    assert fallback.magzp == pytest.approx(ep.truth["magzp"][0])
    counts = 10 ** (-0.4 * (20.0 - img.zpdiff))
    assert img.counts_to_mag(counts)[0] == pytest.approx(20.0)
    # MAGZPUNC in neither header: None, as for a science frame (not a made-up 0.0); the
    # forced table says NaN and the fluxes are unchanged
    nounc = ep.header.copy()
    del nounc["MAGZPUNC"]
    scihdr = sci.header
    del scihdr["MAGZPUNC"]
    sci_nounc = ScienceImage.from_arrays(sci.data, scihdr, sci.mask)
    d = DifferenceImage.from_arrays(ep.difference, nounc, ep.science.mask, psf=ep.psf,
                                    science=sci_nounc)
    assert d.magzpunc is None and d.zpdiffunc is None and sci_nounc.magzpunc is None
    full = DifferenceImage.from_arrays(ep.difference, ep.header, ep.science.mask, psf=ep.psf,
                                       science=sci)
    a = d.forced_psf_photometry([60.0, 90.0], [70.0, 40.0])
    b = full.forced_psf_photometry([60.0, 90.0], [70.0, 40.0])
    assert a["zpdiffunc"].isna().all() and np.isfinite(b["zpdiffunc"]).all()
    np.testing.assert_array_equal(a["forcediffimflux"], b["forcediffimflux"])


# ------------------------------------------------------------------ photometry
def test_forced_photometry_columns_and_alignment(series, files):
    img = DifferenceImage.from_filename(files["diffimg"][2])
    hosts = series.hosts
    ra = np.append(hosts["ra"].to_numpy(), 0.0)
    dec = np.append(hosts["dec"].to_numpy(), 0.0)
    tab = img.forced_psf_photometry(ra, dec, coords="sky")
    assert list(tab.columns) == ["ra", "dec", *SERVICE_COLUMNS]
    assert len(tab) == len(hosts) + 1
    np.testing.assert_allclose(tab["x"][:-1], hosts["x"], atol=1e-4)
    off = tab.iloc[-1]
    assert off["psf_flag"] == PSFFlag.OFF_IMAGE and np.isnan(off["forcediffimflux"])
    assert (tab["zpdiff"] == img.zpdiff).all() and (tab["infobits"] == 0).all()
    assert tab.attrs["source_noise"] == "science"
    truth = series.epochs[2].truth
    pull = (tab["forcediffimflux"][:-1] - truth["flux_dn"]) / tab["forcediffimfluxunc"][:-1]
    assert np.abs(pull).max() < 4
    pix = img.forced_psf_photometry(hosts["x"], hosts["y"])
    np.testing.assert_allclose(pix["forcediffimflux"], tab["forcediffimflux"][:-1], rtol=1e-6)


def test_noise_map_holds_the_static_sources_photon_noise(series, files):
    img = DifferenceImage.from_filename(files["diffimg"][0])
    ep = series.epochs[0]
    noise = img.get_noise_map()
    assert not noise.flags.writeable and noise.shape == img.shape
    rms = img.background.rms
    good = ~img.get_mask() & np.isfinite(ep.difference)
    extra = (noise ** 2 - rms ** 2)[good]
    expected = (ep.static / 6.0)[good]
    bright = expected > 5                 # static scene > 30 DN: galaxy cores and stars
    assert bright.sum() > 50
    ratio = np.median(extra[bright] / expected[bright])
    assert 0.9 < ratio < 1.1
    np.testing.assert_array_equal(img.get_noise_map(source_noise="model"), rms)
    assert img.drop_products("noise") is img
    with pytest.raises(InvalidParameterError):
        img.get_noise_map(source_noise="galaxy")


def test_forced_photometry_frame_adds_the_frame(series, files):
    hosts = series.hosts
    tab = forced_photometry_frame(files["diffimg"][1], hosts["ra"].to_numpy(),
                                  hosts["dec"].to_numpy())
    ep = series.epochs[1]
    assert (tab["jd"] == ep.header["OBSJD"]).all()
    np.testing.assert_allclose(tab["mjd"], ep.header["OBSJD"] - 2400000.5, rtol=0, atol=1e-9)
    assert set(tab["filter"]) == {"ztfr"} and set(tab["filterid"]) == {2}
    assert set(tab["field"]) == {600} and set(tab["ccdid"]) == {7} and set(tab["qid"]) == {2}
    assert set(tab["rcid"]) == {25} and (tab["seeing"] == ep.header["SEEING"]).all()
    assert (tab["diffmaglim"] > 19).all() and (tab["diffmaglim"] < 23).all()
    assert tab["filename"][0] == files["diffimg"][1]
    img = DifferenceImage.from_filename(files["diffimg"][1])
    same = forced_photometry_frame(img, hosts["ra"].to_numpy(), hosts["dec"].to_numpy())
    np.testing.assert_allclose(same["forcediffimflux"], tab["forcediffimflux"])
    with pytest.raises(InvalidParameterError):
        forced_photometry_frame(3, 1.0, 2.0)


def test_maglim_matches_the_measured_errors(files):
    img = DifferenceImage.from_filename(files["diffimg"][0])
    rng = np.random.default_rng(3)
    x, y = rng.uniform(20, 140, 200), rng.uniform(20, 140, 200)
    tab = img.forced_psf_photometry(x, y, source_noise="model", rms="global")
    lim = img.zpdiff - 2.5 * np.log10(5 * np.median(tab["forcediffimfluxunc"]))
    assert img.get_maglim() == pytest.approx(lim, abs=0.05)
    assert img.get_maglim(3.0) > img.get_maglim(5.0)
    with pytest.raises(InvalidParameterError):
        img.get_maglim(rms="map")


def test_conversions_stamps_and_show(files):
    import matplotlib.pyplot as plt
    img = DifferenceImage.from_filename(files["diffimg"][0])
    st = img.get_stamp(60.0, 70.0, size=21)
    assert st.data.shape == (21, 21)
    ra, dec = img.pixels_to_coords(60.0, 70.0)
    assert img.coords_to_pixels(ra, dec) == pytest.approx((60.0, 70.0), abs=1e-6)
    ax = img.show()
    assert ax.get_images()
    plt.close("all")
    assert img.counts_to_flux(1000.0, unit="ujy")[0] == pytest.approx(
        1000.0 * 10 ** (-0.4 * img.zpdiff) * simtransient.AB_UJY, rel=1e-9)


def test_inputs_are_not_modified_and_outputs_are_read_only(series):
    ep = series.epochs[0]
    diff = ep.difference.copy()
    img = DifferenceImage.from_arrays(diff, ep.header, ep.science.mask, psf=ep.psf)
    img.forced_psf_photometry([50.0], [50.0])
    np.testing.assert_array_equal(diff, ep.difference)
    with pytest.raises(ValueError):
        img.data[0, 0] = 1.0
    assert isinstance(img.forced_psf_photometry([50.0], [50.0]), pd.DataFrame)
