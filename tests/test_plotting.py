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
