"""show_image: scales, WCS axes, overlays, never touching the data."""

import matplotlib.axes
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from astropy.io import fits
from astropy.visualization import ZScaleInterval
from astropy.visualization.wcsaxes import WCSAxes
from astropy.wcs import WCS
from matplotlib.collections import EllipseCollection

from ztfimg.errors import InvalidParameterError, ShapeMismatchError
from ztfimg.plotting import show_image

from conftest import REAL_SCI_HEADER


@pytest.fixture
def img():
    rng = np.random.default_rng(0)
    data = rng.normal(100, 5, (64, 80)).astype(np.float32)
    data[30, 40] = 5000.0
    data[5, 5] = np.nan
    yield data
    plt.close("all")


def test_zscale_default_and_data_untouched(img):
    before = img.copy()
    ax = show_image(img)
    assert isinstance(ax, matplotlib.axes.Axes)
    np.testing.assert_array_equal(img, before)
    norm = ax.images[0].norm
    lo, hi = ZScaleInterval().get_limits(img[np.isfinite(img)])
    assert norm.vmin == pytest.approx(lo) and norm.vmax == pytest.approx(hi)
    assert hi < 5000                                  # the bright pixel does not set the scale
    assert len(ax.figure.axes) == 2                    # colour bar


def test_percentile_minmax_limits_and_mask(img):
    ax = show_image(img, scale="percentile", percentile=(5, 95), colorbar=False)
    finite = img[np.isfinite(img)]
    assert ax.images[0].norm.vmin == pytest.approx(np.percentile(finite, 5), rel=1e-3)
    assert len(ax.figure.axes) == 1
    ax = show_image(img, scale="minmax", vmin=90.0, stretch="asinh")
    assert ax.images[0].norm.vmin == 90.0 and ax.images[0].norm.vmax == pytest.approx(5000.0)
    mask = np.zeros(img.shape, bool)
    mask[30, 40] = True
    before = img.copy()
    ax = show_image(img, mask=mask)
    shown = ax.images[0].get_array()
    assert np.ma.is_masked(shown[30, 40]) or np.isnan(shown[30, 40])
    np.testing.assert_array_equal(img, before)


def test_wcs_axes_and_overlays(img):
    wcs = WCS(fits.Header.fromtextfile(REAL_SCI_HEADER))[:64, :80]
    src = pd.DataFrame({"x": [10.0, 40.0], "y": [12.0, 30.0], "a": [2.0, 1.5],
                        "b": [1.0, 1.5], "theta": [0.3, 0.0]})
    src0 = src.copy()
    ax = show_image(img, wcs=wcs, overlay=src)
    assert isinstance(ax, WCSAxes)
    assert any(isinstance(c, EllipseCollection) for c in ax.collections)
    pd.testing.assert_frame_equal(src, src0)
    xlim = ax.get_xlim()
    ax2 = show_image(img, overlay={"x": [500.0], "y": [3.0]},
                     overlay_kwargs={"edgecolors": "cyan"}, title="t")
    assert ax2.get_xlim() == pytest.approx(xlim)      # off-image marker: view unchanged
    assert ax2.get_title() == "t" and len(ax2.collections) == 1
    fig, axes = plt.subplots(1, 2)
    assert show_image(img, ax=axes[1], colorbar=False) is axes[1]


def test_bad_input(img):
    with pytest.raises(InvalidParameterError):
        show_image(img, scale="sqrt")
    with pytest.raises(InvalidParameterError):
        show_image(img, scale="percentile", percentile=(99, 1))
    with pytest.raises(InvalidParameterError):
        show_image(img, stretch="cubic")
    with pytest.raises(ShapeMismatchError):
        show_image(img[0])
    with pytest.raises(ShapeMismatchError):
        show_image(img, mask=np.zeros((3, 3), bool))
    with pytest.raises(InvalidParameterError):
        show_image(img, overlay={"ra": [1.0]})
    ax = show_image(np.full((10, 10), np.nan))        # nothing finite: still draws
    assert isinstance(ax, matplotlib.axes.Axes)


def test_north_up_orientation_from_the_wcs():
    import matplotlib
    matplotlib.use("Agg")
    from astropy.wcs import WCS
    from ztfimg.plotting import _north_up, show_image

    def wcs(cd):
        w = WCS(naxis=2)
        w.wcs.ctype = ["RA---TAN", "DEC--TAN"]
        w.wcs.crval = [55.0, 33.0]
        w.wcs.crpix = [50, 40]
        w.wcs.cd = np.array(cd) / 3600.0
        return w

    assert _north_up(wcs([[-1, 0], [0, 1]])) == (False, False, False)   # already N up E left
    assert _north_up(wcs([[1, 0], [0, -1]])) == (False, True, True)     # rotated by 180 deg
    assert _north_up(wcs([[0, -1], [1, 0]])) == (True, False, False)    # columns run N-S
    # a star north-east of the centre ends up up-left of it on the screen
    data = np.zeros((80, 100))
    w = wcs([[1, 0], [0, -1]])
    x, y = w.all_world2pix(55.0 + 10 / 3600 / np.cos(np.radians(33)), 33.0 + 10 / 3600, 0)
    data[int(round(float(y))), int(round(float(x)))] = 100.0
    ax = show_image(data, wcs=w, north_up=True, colorbar=False)
    xc, yc = w.all_world2pix(55.0, 33.0, 0)
    disp = ax.transData.transform([[float(x), float(y)], [float(xc), float(yc)]])
    assert disp[0, 0] < disp[1, 0] and disp[0, 1] > disp[1, 1]
    assert ax.coords[0].get_axislabel() == "RA (ICRS)"
    with pytest.raises(InvalidParameterError, match="north_up"):
        show_image(data, north_up=True)


def test_masked_pixels_get_their_own_colour_and_the_colorbar_its_unit():
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.colors import to_rgba
    from ztfimg.plotting import MASK_COLOR, show_image
    data = np.random.default_rng(0).normal(size=(30, 30))
    data[:, 5] = np.nan                                   # a dead column
    ax = show_image(data)
    im = ax.images[0]
    assert im.cmap.get_bad() == pytest.approx(to_rgba(MASK_COLOR))
    assert ax.figure.axes[1].get_ylabel() == "DN"
    assert ax.get_xlabel() == "x [px]" and ax.get_ylabel() == "y [px]"


def test_full_frames_are_drawn_block_averaged_over_the_same_pixel_coordinates():
    from ztfimg.plotting import DISPLAY_MAX_SIDE, block_average
    rng = np.random.default_rng(3)
    data = rng.normal(100.0, 5.0, (3080, 3072)).astype(np.float32)
    data[:, 1000] = np.nan                                    # a dead column
    before = data.copy()
    src = pd.DataFrame({"x": [10.0, 3000.0], "y": [20.0, 3070.0]})
    ax = show_image(data, overlay=src)
    im = ax.get_images()[0]
    shown = im.get_array()
    assert shown.shape == (3080 // 3, 3072 // 3) and max(shown.shape) <= DISPLAY_MAX_SIDE
    assert im.get_extent() == [-0.5, 3072 - 0.5, -0.5, 3078 - 0.5]   # frame pixels
    assert ax.get_xlim() == (-0.5, 3071.5)                    # the overlay keeps the view
    col = 1000 // 3
    assert np.all(np.ma.getmaskarray(shown)[:, col]) or np.all(np.isnan(np.asarray(shown)[:, col]))
    assert np.isfinite(np.asarray(shown)[:, col + 1]).all()   # only its block column blanked
    # the block mean: noise down by the factor (5 -> 5/3 DN), mean unchanged
    vals = np.asarray(shown)[:, col + 5:]
    assert np.std(vals) == pytest.approx(5.0 / 3, rel=0.02)
    np.testing.assert_allclose(vals[0, 0], data[0:3, (col + 5) * 3:(col + 6) * 3].mean(), rtol=1e-6)
    np.testing.assert_array_equal(data, before)
    plt.close("all")
    # every pixel on request; small images are never averaged
    ax = show_image(data, downsample=1)
    assert ax.get_images()[0].get_array().shape == data.shape
    ax = show_image(data[:500, :500])
    assert ax.get_images()[0].get_array().shape == (500, 500)
    plt.close("all")
    np.testing.assert_array_equal(block_average(np.arange(16.0).reshape(4, 4), 2),
                                  [[2.5, 4.5], [10.5, 12.5]])
    for bad in (0, 2.5, "3", True):
        with pytest.raises(InvalidParameterError):
            show_image(data[:10, :10], downsample=bad)
        with pytest.raises(InvalidParameterError):
            block_average(data[:10, :10], bad)
    with pytest.raises(ShapeMismatchError):
        block_average(data[:2, :2], 3)
