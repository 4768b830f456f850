"""FITS reading: the direct path (one buffer, in-place byte swap) equals astropy's, and the
files it must not take (gzip, scaled, compressed, truncated) go through astropy or fail
with the package's error."""

import gzip
import os
import shutil

import numpy as np
import pytest
from astropy.io import fits

from ztfimg.errors import FileFormatError
from ztfimg.fitsio import read_fits


def _write(path, data, **cards):
    hdu = fits.PrimaryHDU(data)
    for k, v in cards.items():
        hdu.header[k] = v
    hdu.writeto(path, overwrite=True)
    return path


def test_direct_read_equals_astropy(real_quadrant_paths):
    sci, msk = real_quadrant_paths
    data, header = read_fits(sci, dtype=np.float32)
    ref = fits.getdata(sci).astype(np.float32)
    np.testing.assert_array_equal(data, ref)
    assert data.dtype == np.dtype("=f4") and not data.flags.writeable
    mask, _ = read_fits(msk, dtype=np.int16)
    np.testing.assert_array_equal(mask, fits.getdata(msk))
    assert header["MAGZP"] == fits.getheader(sci)["MAGZP"]


@pytest.mark.parametrize("dtype", [">f4", ">f8", ">i2", ">i4", "u1"])
def test_types_and_scaled_files(tmp_path, dtype):
    rng = np.random.default_rng(0)
    arr = (rng.normal(100, 20, (37, 53))).astype(dtype)
    path = _write(tmp_path / "a.fits", arr)
    got, _ = read_fits(path)
    np.testing.assert_array_equal(got, fits.getdata(path))
    got32, _ = read_fits(path, dtype=np.float32)
    np.testing.assert_allclose(got32, fits.getdata(path).astype(np.float32))
    # a BZERO/BSCALE file goes through astropy's scaling
    scaled = _write(tmp_path / "s.fits", arr.astype(">i2"), BZERO=32768, BSCALE=1)
    got, _ = read_fits(scaled)
    np.testing.assert_array_equal(got, fits.getdata(scaled))


def test_gzip_file_named_fits(tmp_path):
    arr = np.arange(72 * 72, dtype=">f4").reshape(72, 72)
    plain = _write(tmp_path / "p.fits", arr)
    gz = tmp_path / "g.fits"
    with open(plain, "rb") as src, gzip.open(gz, "wb") as dst:
        shutil.copyfileobj(src, dst)
    got, _ = read_fits(gz)
    np.testing.assert_array_equal(got, arr)


def test_truncated_file_is_an_error(tmp_path):
    arr = np.ones((100, 100), dtype=">f4")
    path = _write(tmp_path / "t.fits", arr)
    size = os.path.getsize(path)
    with open(path, "r+b") as fh:
        fh.truncate(size - 2880 - 1000)
    with pytest.raises(FileFormatError, match="truncated"):
        read_fits(path)


def test_header_then_pixels_reads_the_header_once(tmp_path, real_quadrant_paths):
    # read_header + read_pixels give read_fits's numbers for plain, scaled, gzip-ed and
    # tile-compressed files; the headers are the caller's own
    from ztfimg.fitsio import ImageLayout, read_header, read_pixels
    sci, msk = real_quadrant_paths
    hdr, layout = read_header(sci)
    assert isinstance(layout, ImageLayout) and layout.datloc is not None
    data = read_pixels(layout, dtype=np.float32)
    np.testing.assert_array_equal(data, read_fits(sci, dtype=np.float32)[0])
    assert not data.flags.writeable and hdr["MAGZP"] == fits.getheader(sci)["MAGZP"]
    hdr["MAGZP"] = -1.0                               # the next read is not affected
    assert read_header(sci)[0]["MAGZP"] == fits.getheader(sci)["MAGZP"]
    arr = np.arange(40 * 30, dtype=">i2").reshape(40, 30)
    scaled = _write(tmp_path / "s.fits", arr, BZERO=32768, BSCALE=1)
    fz = tmp_path / "c.fits.fz"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(arr.astype(np.float32))]).writeto(fz)
    for path in (scaled, fz):
        _, lay = read_header(path)
        assert lay.datloc is None                     # astropy reads these
        np.testing.assert_array_equal(read_pixels(lay), read_fits(path)[0])


def test_file_changed_after_its_header_is_read_from_scratch(tmp_path):
    # a frame reads its pixels lazily: if the file was rewritten since the header was
    # read (another data offset, other pixels), the pixels come from the new file
    from ztfimg.fitsio import read_header, read_pixels
    path = _write(tmp_path / "a.fits", np.zeros((20, 30), ">f4"))
    _, layout = read_header(path)
    _write(path, np.ones((20, 30), ">f4"), COMMENT1="x" * 60, **{f"K{i}": i for i in range(60)})
    np.testing.assert_array_equal(read_pixels(layout), np.ones((20, 30)))
    os.remove(path)
    from ztfimg.errors import MissingFileError
    with pytest.raises(MissingFileError):
        read_pixels(layout)
