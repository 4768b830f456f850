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
