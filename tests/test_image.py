"""ScienceImage/ReferenceImage on the real quadrant, real cutouts and real headers."""

import json
import os
import shutil

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.wcs import WCS

from ztfimg import ReferenceImage, ScienceImage, bitmask
from ztfimg.bitmask import ZTFBit
from ztfimg.errors import (FileFormatError, HeaderKeywordError, InvalidParameterError,
                           MissingFileError, ShapeMismatchError, ZTFImgError)

from conftest import DATA, HEADERS, REAL_SCI_HEADER

DAOPHOT = os.path.join(DATA, "daophot")

# Pixel counts per bit of the real mask, counted independently with astropy below and
# pinned here (the file is sha256-verified): a regression guard on top of the comparison.
REAL_BIT_COUNTS = {ZTFBit.SEXSOURCES: 332429, ZTFBit.LOWRESPONSIVITY: 644,
                   ZTFBit.HIGHRESPONSIVITY: 7, ZTFBit.NOISY: 92, ZTFBit.SPIKES: 343,
                   ZTFBit.SATURATED: 1794, ZTFBit.DEAD: 15, ZTFBit.PSFSOURCES: 18745,
                   ZTFBit.TRACKS: 0, ZTFBit.NAN: 0}


def test_real_quadrant_pixels(real_image):
    d = real_image.data
    assert d.shape == (3080, 3072)
    assert d.dtype == np.float32 and d.dtype.isnative
    assert real_image.mask.dtype == np.int16 and real_image.mask.dtype.isnative
    assert not d.flags.writeable and not real_image.mask.flags.writeable
    with pytest.raises(ValueError):
        d[0, 0] = 1.0
    # same pixels as astropy reads them
    raw = fits.getdata(real_image.filename)
    assert np.array_equal(raw.astype(np.float32), d, equal_nan=True)


def test_real_header_accessors(real_image):
    z = real_image
    assert (z.fieldid, z.ccdid, z.qid, z.rcid, z.filterid, z.filtername) == (655, 13, 3, 50, 2, "ztfr")
    assert z.obsjd == pytest.approx(2459116.9317708)
    assert z.obsmjd == pytest.approx(59116.4317708)
    assert z.obstime.isot.startswith("2020-09-24T10:21")
    assert (z.exptime, z.gain, z.readnoise) == (30.0, 6.0, 9.0)
    assert z.saturation == pytest.approx(58647.152)
    assert z.seeing == pytest.approx(1.241) and z.pixel_scale == pytest.approx(1.012)
    assert z.magzp == pytest.approx(26.285139) and z.magzpunc == pytest.approx(3.9755e-6)
    assert z.magzprms == pytest.approx(0.024661) and z.clrcoeff == pytest.approx(0.079197)
    assert z.pcolor == "g-r" and z.maglim == pytest.approx(21.73)
    assert z.apcor[10.0] == pytest.approx((-0.010023, 0.0006952677))
    assert z.get_apcor(14) == pytest.approx((0.004617, 0.0007477186))
    assert sorted(z.apcor) == [2.0, 3.0, 4.0, 6.0, 10.0, 14.0]
    assert z.infobits == 0 and z.status == 1
    r = repr(z)
    assert "field 655" in r and "c13 q3" in r and "ztfr" in r and "26.285" in r and "2020-09-24" in r


def test_real_mask_bits(real_image):
    raw = fits.getdata(real_image.maskfile)  # big-endian int16, read independently
    from astropy.nddata import bitfield_to_boolean_mask
    counts = bitmask.count_bits(real_image.mask)
    for bit in ZTFBit:
        expected = int(((raw.astype(np.int64) >> (bit.bit_length() - 1)) & 1).sum())
        assert counts[bit] == expected, bit
    for bit, n in REAL_BIT_COUNTS.items():
        assert counts[bit] == n, bit
    det = real_image.get_mask()
    bkg = real_image.get_mask(sexsources=True, psfsources=True)
    ref_det = bitfield_to_boolean_mask(raw, ignore_flags=int(bitmask.DETECTION_BITS), flip_bits=True)
    ref_bkg = bitfield_to_boolean_mask(raw, ignore_flags=int(bitmask.BACKGROUND_BITS), flip_bits=True)
    assert np.array_equal(det, ref_det) and np.array_equal(bkg, ref_bkg)
    assert det.sum() == 2884 and bkg.sum() == 338654
    # the two star bits are kept out of the detection selection
    star = (raw & 2) != 0
    assert star.sum() > 300000 and not (det & star & ~ref_det).any()
    assert np.array_equal(real_image.get_mask(bits=bitmask.BACKGROUND_BITS), bkg)
    np.testing.assert_array_equal(np.isnan(real_image.get_data(apply_mask=True)), det)


def test_crpix_maps_off_crval(real_image, real_header):
    h = real_header
    ra, dec = real_image.pixels_to_coords(h["CRPIX1"] - 1, h["CRPIX2"] - 1)
    wra, wdec = WCS(h).all_pix2world(h["CRPIX1"], h["CRPIX2"], 1)
    assert abs(ra - wra) * 3600 < 1e-6 and abs(dec - wdec) * 3600 < 1e-6
    sep = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(h["CRVAL1"], h["CRVAL2"], unit="deg")).arcsec
    assert 0.15 < sep < 0.35  # PV1_0/PV2_0 offsets: ~0.24 arcsec measured


def _cutout_targets():
    manifest = json.load(open(os.path.join(DAOPHOT, "manifest.json")))
    for image in manifest["images"]:
        meta = image["metadata"]
        for t in image["targets"]:
            if t["kind"] == "star":
                yield image["stem"], meta, t


def test_ipac_psfcat_positions_reproduced():
    n = 0
    for stem, meta, t in _cutout_targets():
        path = os.path.join(DAOPHOT, stem, t["file"])
        z = ScienceImage(path)
        h = z.header
        x = t["xpos"] - (meta["crpix1"] - h["CRPIX1"]) - 1  # 1-based quadrant -> 0-based cutout
        y = t["ypos"] - (meta["crpix2"] - h["CRPIX2"]) - 1
        ra, dec = z.pixels_to_coords(x, y)
        sep = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(t["ra"], t["dec"], unit="deg")).arcsec
        assert sep < 0.01, (stem, t["file"], sep)
        xb, yb = z.coords_to_pixels(t["ra"], t["dec"])
        # psfcat ra/dec are given to 1e-7 deg (0.00036"): back to pixels within 0.005 px
        assert abs(xb - x) < 0.005 and abs(yb - y) < 0.005
        # the 1-based mistake would miss by more than an arcsecond
        ra1, dec1 = z.pixels_to_coords(x + 1, y + 1)
        assert SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(t["ra"], t["dec"], unit="deg")).arcsec > 1.0
        n += 1
    assert n >= 20


@pytest.mark.parametrize("name,filt,fid,field,rcid", [
    ("ztf_20200924431759_000655_zr_c13_o_q3_sciimg.hdr", "ztfr", 2, 655, 50),
    ("zuds_ZTFg_651_c03_q1_sciimg.hdr", "ztfg", 1, 651, 8),
    ("zuds_ZTF_i_763_c14_q4_sciimg.hdr", "ztfi", 3, 763, 55),
])
def test_real_headers_parse(name, filt, fid, field, rcid):
    h = fits.Header.fromtextfile(os.path.join(HEADERS, name))
    z = ScienceImage.from_arrays(np.zeros((h["NAXIS2"], h["NAXIS1"]), np.float32), h)
    assert (z.filtername, z.filterid, z.fieldid, z.rcid) == (filt, fid, field, rcid)
    assert z.ccdid == (rcid // 4 + 1) and z.qid == rcid % 4 + 1
    assert 25 < z.magzp < 27 and 1 < z.seeing < 4 and 5 < z.gain < 7
    assert len(z.apcor) == 6 and z.apcor[2.0][0] < z.apcor[14.0][0]
    ra, dec = z.pixels_to_coords([0, 3071], [0, 3079])
    x, y = z.coords_to_pixels(ra, dec)
    np.testing.assert_allclose(x, [0, 3071], atol=1e-4)
    np.testing.assert_allclose(y, [0, 3079], atol=1e-4)
    assert z.pcolor in ("g-r", "r-i")


def test_vectorised_and_skycoord(real_image):
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 3071, 1000), rng.uniform(0, 3079, 1000)
    xc, yc = x.copy(), y.copy()
    ra, dec = real_image.pixels_to_coords(x, y)
    np.testing.assert_array_equal(x, xc)
    x2, y2 = real_image.coords_to_pixels(SkyCoord(ra, dec, unit="deg"))
    np.testing.assert_allclose(x2, x, atol=1e-4)
    np.testing.assert_allclose(y2, y, atol=1e-4)
    # NaN in, NaN out, aligned
    ra3, dec3 = real_image.pixels_to_coords([np.nan, 10.0], [5.0, 10.0])
    assert np.isnan(ra3[0]) and np.isfinite(ra3[1])
    x3, y3 = real_image.coords_to_pixels([np.nan, ra[0]], [dec[0], np.nan])
    assert np.isnan(x3).all() and np.isnan(y3).all()
    assert real_image.is_inside([0, -1, 3071.4, 3072], [0, 5, 5, 5]).tolist() == [True, False, True, False]


def test_image_conversions_use_header(real_image):
    mag, err = real_image.counts_to_mag(1000.0, 10.0)
    assert mag == pytest.approx(26.285139 - 7.5)
    assert err == pytest.approx(np.hypot(1.0857362 * 0.01, 3.9755e-6), rel=1e-6)
    magc, _ = real_image.counts_to_mag(1000.0, colour=0.5)
    assert magc - mag == pytest.approx(0.5 * 0.079197)
    c, _ = real_image.mag_to_counts(magc, colour=0.5)
    assert c == pytest.approx(1000.0)
    f, fe = real_image.counts_to_flux(1000.0, 10.0)
    assert f == pytest.approx(10 ** (-0.4 * (mag + 2.406)) / 6421.81**2)
    assert fe / f == pytest.approx(0.01)
    assert real_image.flux_to_counts(f, fe)[0] == pytest.approx(1000.0)


# ---------------------------------------------------------------- bad input
def test_missing_files(tmp_path):
    with pytest.raises(MissingFileError, match="no such file"):
        ScienceImage(tmp_path / "nothere_sciimg.fits")
    sim = tmp_path / "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits"
    fits.PrimaryHDU(np.zeros((20, 30), np.float32)).writeto(sim)
    with pytest.raises(MissingFileError, match="mskimg"):
        ScienceImage.from_filename(sim)
    assert ScienceImage.from_filename(sim, require_mask=False).mask is None


def test_truncated_fits(tmp_path, real_quadrant_paths):
    bad = tmp_path / "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits"
    with open(real_quadrant_paths[0], "rb") as src, open(bad, "wb") as dst:
        dst.write(src.read(200_000))
    with pytest.raises(FileFormatError, match="truncated|cannot read"):
        ScienceImage(bad).data
    notfits = tmp_path / "x.fits"
    notfits.write_text("hello")
    with pytest.raises(FileFormatError):
        ScienceImage(notfits)
    with pytest.raises(ZTFImgError):
        ScienceImage(tmp_path)


def test_mask_of_another_shape(real_header):
    data = np.zeros((50, 60), np.float32)
    with pytest.raises(ShapeMismatchError, match=r"mask shape \(50, 61\)"):
        ScienceImage.from_arrays(data, real_header, mask=np.zeros((50, 61), np.int16))
    with pytest.raises(InvalidParameterError):
        ScienceImage.from_arrays(data, real_header, mask=np.zeros((50, 60), float))
    with pytest.raises(ShapeMismatchError):
        ScienceImage.from_arrays(np.zeros(10), real_header)


def test_header_without_wcs_or_magzp(real_header):
    h = real_header.copy()
    for key in ("CTYPE1", "CTYPE2", "MAGZP"):
        del h[key]
    z = ScienceImage.from_arrays(np.zeros((10, 10), np.float32), h)
    with pytest.raises(HeaderKeywordError, match="MAGZP"):
        z.magzp
    with pytest.raises(HeaderKeywordError, match="MAGZP"):
        z.counts_to_mag(100.0)
    with pytest.raises(HeaderKeywordError, match="WCS"):
        z.pixels_to_coords(1, 1)
    del h["FILTER"]
    assert ScienceImage.from_arrays(np.zeros((10, 10)), h).filtername == "ztfr"  # from FILTERID
    del h["FILTERID"], h["DBFID"]
    with pytest.raises(HeaderKeywordError, match="FILTER"):
        ScienceImage.from_arrays(np.zeros((10, 10)), h).filtername
    assert "ScienceImage" in repr(z)  # repr survives missing keywords


def test_caller_arrays_never_modified(real_header):
    data = np.arange(100, dtype=">f8").reshape(10, 10)
    mask = np.zeros((10, 10), ">i2")
    mask[3, 3] = 256
    d0, m0 = data.copy(), mask.copy()
    z = ScienceImage.from_arrays(data, real_header, mask)
    out = z.get_data(apply_mask=True)
    assert np.isnan(out[3, 3]) and z.data.dtype == np.float32 and z.data.dtype.isnative
    out[0, 0] = -5
    np.testing.assert_array_equal(data, d0)
    np.testing.assert_array_equal(mask, m0)
    assert z.data[0, 0] == 0


def test_reference_image_keywords(tmp_path):
    from ztfimg import simulate
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=0, nstars=5)
    ref = simulate.simulate_reference(frame)
    path = ref.write(tmp_path)
    z = ReferenceImage.from_filename(path)
    assert (z.fieldid, z.rcid, z.filterid, z.ccdid, z.qid) == (655, 50, 2, 13, 3)
    assert z.globmed == pytest.approx(float(np.mean(frame.sky)), rel=1e-6)
    assert z.nframes == 20 and z.mask is None
    with pytest.raises(HeaderKeywordError, match="OBSJD"):
        z.obsjd


def test_reference_background_uses_globmed(tmp_path):
    from ztfimg import simulate
    frame = simulate.simulate_quadrant(shape=(256, 256), seed=2, nstars=40)
    ref = simulate.simulate_reference(frame, globmed=150.0)
    z = ReferenceImage.from_filename(ref.write(tmp_path))
    bkg = z.background
    assert bkg.globalback == 150.0 and np.all(bkg.back == 150.0)
    # noise of the co-add: sky Poisson over the effective gain (20 frames) plus read noise
    expected = np.sqrt(150.0 / z.gain + (z.readnoise / z.gain) ** 2 / 20)
    assert bkg.globalrms == pytest.approx(expected, rel=0.05)
    sep_bkg = z.get_background(use_globmed=False)
    assert sep_bkg is not bkg and abs(sep_bkg.globalback - 150.0) < 0.1


def test_from_filename_in_ztfdata_mirror(tmp_path, monkeypatch):
    from ztfimg import filenames, simulate
    frame = simulate.simulate_quadrant(shape=(64, 64), seed=0, nstars=3)
    name = frame.filename
    target = tmp_path / os.path.dirname(filenames.archive_path(name))
    frame.write(target)
    monkeypatch.setenv("ZTFDATA", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    z = ScienceImage.from_filename(name)
    assert z.filename == str(target / name) and z.mask is not None


def test_absent_magzpunc_is_none_not_zero(small_frame):
    h = small_frame.header.copy()
    del h["MAGZPUNC"]
    img = ScienceImage.from_arrays(small_frame.data, h, small_frame.mask)
    assert img.magzpunc is None and img.airmass is None     # absent: None, as AIRMASS
    h["MAGZPUNC"] = -99.0                                     # IPAC's 'no value' sentinel
    assert ScienceImage.from_arrays(small_frame.data, h, small_frame.mask).magzpunc is None
    # the magnitudes still come out (no zero-point term in the error when it is unknown)
    mag, magerr = img.counts_to_mag(1000.0, 10.0)
    assert magerr == pytest.approx(1.0857362 * 10.0 / 1000.0, rel=1e-6)
