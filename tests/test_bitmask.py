import warnings

import numpy as np
import pytest
from astropy.io import fits

from ztfimg import bitmask
from ztfimg.bitmask import ZTFBit
from ztfimg.errors import InvalidParameterError

from conftest import HEADERS


def test_selections():
    assert int(bitmask.BACKGROUND_BITS) == (1 << 13) - 1
    assert not bitmask.DETECTION_BITS & ZTFBit.SEXSOURCES
    assert not bitmask.DETECTION_BITS & ZTFBit.PSFSOURCES
    assert int(bitmask.DETECTION_BITS) == (1 << 13) - 1 - 2 - 2048
    assert bitmask.bits_from_keywords(tracks=True, saturated=True, dead=False) == ZTFBit.TRACKS | ZTFBit.SATURATED
    with pytest.raises(InvalidParameterError, match="unknown mask keyword"):
        bitmask.bits_from_keywords(satellites=True)


def test_to_bool_big_endian_and_no_mutation():
    m = np.array([[0, 2, 2048, 256], [2 | 256, 4096, 1, 0]], dtype=">i2")
    before = m.copy()
    b = bitmask.to_bool(m)
    assert b.dtype == bool
    np.testing.assert_array_equal(b, [[False, False, False, True], [True, True, True, False]])
    np.testing.assert_array_equal(bitmask.to_bool(m, bitmask.BACKGROUND_BITS), m != 0)
    np.testing.assert_array_equal(m, before)
    with pytest.raises(InvalidParameterError):
        bitmask.to_bool(m.astype(float))


def test_count_bits():
    m = np.array([0, 1, 3, 2048 | 2, -32768 | 256], dtype=np.int16)
    counts = bitmask.count_bits(m)
    assert counts[ZTFBit.TRACKS] == 2 and counts[ZTFBit.SEXSOURCES] == 2
    assert counts[ZTFBit.PSFSOURCES] == 1 and counts[ZTFBit.SATURATED] == 1


def test_legend_of_real_mask_header_matches():
    h = fits.Header.fromtextfile(f"{HEADERS}/ztf_20200924431759_000655_zr_c13_o_q3_mskimg.hdr")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert bitmask.check_legend(h) == {}


def test_legend_difference_warns():
    h = fits.Header.fromtextfile(f"{HEADERS}/ztf_20200924431759_000655_zr_c13_o_q3_mskimg.hdr")
    h["BIT08"] = (8, "SOMETHING ELSE")
    with pytest.warns(bitmask.MaskLegendWarning, match="bit 8"):
        diffs = bitmask.check_legend(h)
    assert list(diffs) == [8]


def test_science_header_infobits_not_taken_for_a_mask_legend():
    h = fits.Header.fromtextfile(f"{HEADERS}/ztf_20200924431759_000655_zr_c13_o_q3_sciimg.hdr")
    assert bitmask.check_legend(h) == {}


def test_to_bool_by_row_blocks_equals_the_plain_rule():
    import numpy as np
    from ztfimg.bitmask import BACKGROUND_BITS, DETECTION_BITS, to_bool
    rng = np.random.default_rng(3)
    mask = rng.integers(0, 2 ** 14, size=(1100, 1000)).astype(">i2")  # big-endian, as read
    for bits in (DETECTION_BITS, BACKGROUND_BITS, 2, 1 << 13):
        got = to_bool(mask, bits)
        assert got.dtype == bool
        np.testing.assert_array_equal(got, (mask.astype(np.int64) & int(bits)) != 0)
