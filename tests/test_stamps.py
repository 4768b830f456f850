"""Stamps: vectorised cutting, centring convention, edges, WCS, centroid, profiles."""

import matplotlib.axes
import matplotlib.pyplot as plt
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from ztfimg.errors import InvalidParameterError, ShapeMismatchError
from ztfimg.simulate import gaussian_stars
from ztfimg.stamps import (STAMP_BAD_POSITION, STAMP_EDGE, STAMP_OFF_IMAGE, Stamp,
                           cut_stamps, stamp_origin)

from conftest import REAL_SCI_HEADER


@pytest.fixture(scope="module")
def frame():
    return np.arange(60 * 80, dtype=np.float32).reshape(60, 80)


def test_values_equal_slicing_and_centring(frame):
    f0 = frame.copy()
    x = np.array([10.2, 40.49, 40.51, 33.0])
    y = np.array([20.0, 30.6, 12.3, 44.5])
    st = cut_stamps(frame, x, y, 7)
    np.testing.assert_array_equal(frame, f0)
    assert st.data.shape == (4, 7, 7)
    for i in range(4):
        xc, yc = int(np.floor(x[i] + 0.5)), int(np.floor(y[i] + 0.5))   # nearest pixel
        np.testing.assert_array_equal(st.data[i], frame[yc - 3:yc + 4, xc - 3:xc + 4])
        assert st.x[i] == pytest.approx(x[i] - (xc - 3))
        assert abs(st.x[i] - 3) <= 0.5 and abs(st.y[i] - 3) <= 0.5
    assert (st.flag == 0).all()
    # even size: the position is within half a pixel of the stamp centre (n - 1) / 2
    ev = cut_stamps(frame, x, y, 6, 4)
    assert ev.data.shape == (4, 4, 6)
    assert np.all(np.abs(ev.x - 2.5) <= 0.5) and np.all(np.abs(ev.y - 1.5) <= 0.5)
    assert stamp_origin(10.2, 6) == 8


def test_edges_padded_never_wrapped(frame):
    st = cut_stamps(frame, [0.0, 79.0, 200.0, np.nan], [0.0, 59.4, 30.0, 3.0], 5,
                    mask=np.zeros(frame.shape, bool))
    assert st.flag[0] == STAMP_EDGE and st.flag[1] == STAMP_EDGE
    assert st.flag[2] == STAMP_OFF_IMAGE and st.flag[3] == STAMP_BAD_POSITION
    s0 = st.data[0]
    assert np.isnan(s0[:2, :]).all() and np.isnan(s0[:, :2]).all()
    np.testing.assert_array_equal(s0[2:, 2:], frame[0:3, 0:3])
    assert st.mask[0][:2].all() and not st.mask[0][2:, 2:].any()
    s1 = st.data[1]
    np.testing.assert_array_equal(s1[:3, :3], frame[57:60, 77:80])
    assert np.isnan(s1[3:, :]).all() and np.isnan(s1[:, 3:]).all()   # no wrap-around
    assert np.isnan(st.data[2]).all() and np.isnan(st.data[3]).all()
    assert np.isnan(st.x[3])
    # integer frames become float with NaN fill; custom fill kept
    ist = cut_stamps(frame.astype(np.int32), [0.0], [0.0], 3, fill=-1)
    assert ist.data.dtype.kind == "i" and ist.data[0, 0, 0] == -1


def test_bad_input(frame):
    with pytest.raises(InvalidParameterError):
        cut_stamps(frame, [10.0], [10.0], 81)          # wider than the frame
    with pytest.raises(InvalidParameterError):
        cut_stamps(frame, [10.0], [10.0], 5, 61)       # taller than the frame
    for bad in (0, -3, 2.5, True):
        with pytest.raises(InvalidParameterError):
            cut_stamps(frame, [10.0], [10.0], bad)
    with pytest.raises(ShapeMismatchError):
        cut_stamps(frame, [10.0, 2.0], [10.0], 5)
    with pytest.raises(ShapeMismatchError):
        cut_stamps(frame, [10.0], [10.0], 5, mask=np.zeros((3, 3), bool))
    empty = cut_stamps(frame, [], [], 5)
    assert empty.data.shape == (0, 5, 5) and len(empty) == 0


def test_stamp_wcs_matches_frame():
    header = fits.Header.fromtextfile(REAL_SCI_HEADER)
    wcs = WCS(header)
    data = np.zeros((3080, 3072), np.float32)
    x, y = np.array([100.3, 3070.2]), np.array([2000.7, 3.1])
    st = cut_stamps(data, x, y, 15, wcs=wcs)
    for i in range(2):
        s = st[i]
        ra, dec = s.wcs.all_pix2world(s.x, s.y, 0)
        ra0, dec0 = wcs.all_pix2world(x[i], y[i], 0)
        assert abs(ra - ra0) * 3600 < 1e-6 and abs(dec - dec0) * 3600 < 1e-6
        fx, fy = s.to_frame(s.x, s.y)
        assert fx == pytest.approx(x[i]) and fy == pytest.approx(y[i])
    assert st[1].flag == STAMP_EDGE
    assert wcs.wcs.crpix[0] == header["CRPIX1"]          # frame WCS untouched


def test_centroid_recentre_profile():
    xt, yt = 20.37, 18.81
    img = gaussian_stars((40, 40), [xt], [yt], [5e4], 3.0).astype(np.float32) + 10.0
    rng = np.random.default_rng(2)
    img += rng.normal(0, 1.0, img.shape).astype(np.float32)
    st = cut_stamps(img, [19.6], [19.4], 21)[0]
    cx, cy = st.centroid()
    fx, fy = st.to_frame(cx, cy)
    assert fx == pytest.approx(xt, abs=0.05) and fy == pytest.approx(yt, abs=0.05)
    data0 = st.data.copy()
    rc = st.recentred()
    np.testing.assert_array_equal(st.data, data0)
    assert rc.shape == st.shape and rc.x == 10.0 and rc.y == 10.0
    peak = np.unravel_index(np.nanargmax(rc.data), rc.shape)
    assert peak == (10, 10)
    c2 = rc.centroid()
    assert c2[0] == pytest.approx(10.0, abs=0.06) and c2[1] == pytest.approx(10.0, abs=0.06)
    gx, gy = rc.to_frame(10.0, 10.0)
    assert gx == pytest.approx(xt, abs=0.05) and gy == pytest.approx(yt, abs=0.05)
    prof = st.radial_profile(cx, cy)
    assert prof["mean"].iloc[0] > prof["mean"].iloc[3] > prof["mean"].iloc[-1]
    assert prof["mean"].iloc[-1] == pytest.approx(10.0, abs=0.5)
    assert (prof["npix"] > 0).all()
    with pytest.raises(InvalidParameterError):
        st.radial_profile(bin_size=0)


def test_show_marks_position():
    img = np.random.default_rng(0).normal(0, 1, (30, 30)).astype(np.float32)
    st = cut_stamps(img, [12.3], [14.8], 11, mask=img > 2)[0]
    d0 = st.data.copy()
    ax = st.show()
    assert isinstance(ax, matplotlib.axes.Axes)
    xs, ys = ax.lines[-1].get_data()
    assert xs[0] == pytest.approx(st.x) and ys[0] == pytest.approx(st.y)
    np.testing.assert_array_equal(st.data, d0)
    assert "Stamp(" in repr(st)
    plt.close("all")
    with pytest.raises(ShapeMismatchError):
        Stamp(np.zeros((3, 3)), mask=np.zeros((2, 2), bool))
