"""The demo's pictures of one frame: the frame and a zoom, PSF against aperture photometry,
and a stack of the season.

A full ZTF quadrant (3080 x 3072) is drawn from a block-averaged copy (at most
:data:`MAX_VIEW` pixels a side): matplotlib resamples every pixel of an image at each draw,
which for a full frame costs seconds and several hundred MB, for a picture 80 dpi wide.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["frame_figure", "photometry_table", "photometry_figure", "stack_figure",
           "MAX_VIEW"]

#: Largest side, pixels, of the array drawn for a whole frame (more is invisible at 80 dpi).
MAX_VIEW = 800


def _save(fig, path, dpi=80):
    import matplotlib.pyplot as plt
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return path


def frame_figure(img, marks, label, path):
    """``frame.png``: the whole frame (block-averaged when large) and a 300 px zoom with
    ``marks`` circled.

    Parameters
    ----------
    img : ztfimg.image.ScienceImage
    marks : pandas.DataFrame
        Positions (``x``, ``y``; ellipses with ``a``, ``b``, ``theta``) drawn on the zoom.
    label : str
        What ``marks`` are, for the title.
    path : str

    Returns
    -------
    (str, int)
        The path written and the block size of the left panel.
    """
    import matplotlib.pyplot as plt

    from ..plotting import show_image
    ny, nx = img.shape
    factor = max(1, math.ceil(max(ny, nx) / MAX_VIEW))
    clean = img.dataclean
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6))
    parts = img._describe()
    title = " ".join(parts[:4]) if parts else "frame"
    if factor > 1:
        title += f"\n(shown in {factor}x{factor} px blocks)"
    show_image(clean, ax=ax1, title=title, colorbar_label="DN", downsample=factor)
    cx, cy = (nx - 1) / 2, (ny - 1) / 2
    x0, y0 = int(round(cx - 150)), int(round(cy - 150))
    zoom = marks[marks["x"].between(x0, x0 + 300) & marks["y"].between(y0, y0 + 300)]
    if "mag" in zoom:
        zoom = zoom[zoom["mag"] < 20]
    cut = np.array(clean[max(y0, 0):y0 + 300, max(x0, 0):x0 + 300], dtype=np.float32)
    del clean
    x0, y0 = max(x0, 0), max(y0, 0)
    show_image(cut, ax=ax2, overlay=zoom, title=f"zoom (full resolution), {label} circled",
               colorbar_label="DN",
               extent=(x0 - 0.5, x0 + cut.shape[1] - 0.5, y0 - 0.5, y0 + cut.shape[0] - 0.5))
    ax1.add_patch(plt.Rectangle((x0, y0), cut.shape[1], cut.shape[0], fill=False,
                                color="tab:orange", lw=1.5))
    return _save(fig, path), factor


def photometry_table(truth, ap, pp):
    """The bright stars' true flux beside the aperture and PSF measurements (one row each).

    Parameters
    ----------
    truth : pandas.DataFrame
        The simulation truth of the stars (``ra``, ``dec``, ``x``, ``y``, ``mag``, ``flux``).
    ap : pandas.DataFrame
        ``ScienceImage.aperture_photometry(..., apcor=True)`` at the true positions.
    pp : pandas.DataFrame
        ``ScienceImage.get_psf_photometry`` at the true positions.

    Returns
    -------
    pandas.DataFrame
    """
    import pandas as pd
    return pd.DataFrame({
        "x": truth["x"].to_numpy(), "y": truth["y"].to_numpy(),
        "ra": truth["ra"].to_numpy(), "dec": truth["dec"].to_numpy(),
        "true_mag": truth["mag"].to_numpy(), "true_flux": truth["flux"].to_numpy(),
        "aper_flux": ap["sum_apcor"].to_numpy(), "aper_fluxerr": ap["sumerr_apcor"].to_numpy(),
        "aper_flag": ap["aper_flag"].to_numpy(),
        "psf_flux": pp["flux"].to_numpy(), "psf_fluxerr": pp["fluxerr"].to_numpy(),
        "psf_redchi2": pp["redchi2"].to_numpy(), "psf_flag": pp["psf_flag"].to_numpy()})


def photometry_figure(table, psf_stamp, psf_xy, path):
    """``photometry.png``: the DAOPhot PSF, measured / true flux of aperture and PSF
    photometry against magnitude, and the PSF fit's pulls.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`photometry_table`.
    psf_stamp : numpy.ndarray
        The PSF rendered at ``psf_xy`` (sum 1).
    psf_xy : (float, float)
    path : str

    Returns
    -------
    str
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from astropy.stats import mad_std
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.2),
                             gridspec_kw={"width_ratios": [1, 1.5, 1.1]})
    cmap = matplotlib.colormaps["magma"].with_extremes(bad="black", under="black")
    im = axes[0].imshow(psf_stamp, origin="lower", cmap=cmap,
                        norm=matplotlib.colors.LogNorm(vmin=psf_stamp.max() * 1e-4,
                                                       vmax=psf_stamp.max()))
    fig.colorbar(im, ax=axes[0], label="fraction of the flux per pixel")
    axes[0].set(xlabel="x [px]", ylabel="y [px]",
                title=f"DAOPhot PSF at ({psf_xy[0]:g}, {psf_xy[1]:g})")
    ok_ap = table["aper_flag"].to_numpy() == 0
    ok_psf = table["psf_flag"].to_numpy() == 0
    mag, true = table["true_mag"].to_numpy(), table["true_flux"].to_numpy()
    r_ap = table["aper_flux"].to_numpy() / true
    r_psf = table["psf_flux"].to_numpy() / true
    for ok, ratio, colour, name in ((ok_ap, r_ap, "tab:blue", "aperture r=5 px + APCOR"),
                                    (ok_psf, r_psf, "tab:red", "PSF fit")):
        axes[1].plot(mag[ok], ratio[ok], ".", ms=3, alpha=0.4, color=colour,
                     label=f"{name}: median {np.median(ratio[ok]):.4f}, robust scatter "
                           f"{100 * mad_std(ratio[ok]):.1f}%")
    axes[1].axhline(1, color="k", lw=0.8)
    axes[1].set_ylim(0.85, 1.15)
    axes[1].set(xlabel="true magnitude", ylabel="measured / true flux",
                title=f"{len(table)} stars of S/N > 20 at their true positions")
    axes[1].legend(fontsize=8, loc="lower left")
    pull = ((table["psf_flux"] - table["true_flux"]) / table["psf_fluxerr"]).to_numpy()[ok_psf]
    pull = pull[np.isfinite(pull)]
    bins = np.linspace(-5, 5, 41)
    axes[2].hist(np.clip(pull, -5, 5), bins=bins, density=True, color="tab:red", alpha=0.6,
                 label=f"PSF fit (robust std {mad_std(pull):.2f})")
    grid = np.linspace(-5, 5, 201)
    axes[2].plot(grid, np.exp(-grid**2 / 2) / np.sqrt(2 * np.pi), "k-", lw=1, label="N(0, 1)")
    axes[2].set(xlabel="(measured - true) / error", ylabel="density",
                title="PSF fit: errors are honest")
    axes[2].legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return _save(fig, path)


def stack_figure(st, first, path):
    """``stack.png``: one frame, the stack of all (same display range) and frames per pixel.

    Parameters
    ----------
    st : ztfimg.stacking.Stack
    first : ztfimg.image.ScienceImage
        The frame whose grid and zero point the stack has (its first frame).
    path : str

    Returns
    -------
    str
    """
    import matplotlib.pyplot as plt
    from astropy.visualization import ZScaleInterval

    from ..plotting import show_image
    sky0 = float(st.frames["sky"].iloc[0])
    one = np.asarray(first.datamasked, dtype=np.float32) - sky0 + st.globmed
    finite = np.isfinite(st.data)
    lo, hi = ZScaleInterval().get_limits(st.data[finite])
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6))
    show_image(one, ax=axes[0], vmin=lo, vmax=hi, title="one frame (the grid's)")
    show_image(st.data, ax=axes[1], vmin=lo, vmax=hi,
               title=f"stack of {st.nframes} frames (sigma-clipped mean)")
    show_image(st.count, ax=axes[2], scale="minmax", cmap="viridis",
               colorbar_label="frames", title="frames per pixel (dithered pointings)")
    fig.tight_layout()
    return _save(fig, path)
