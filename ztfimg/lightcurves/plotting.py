"""Figures of light curves and differential photometry (level 3).

Each function draws on given Axes (or a new figure) and returns them, as the rest of
ztfimg does; nothing is shown or saved.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidParameterError
from .pointflags import SUSPECT

__all__ = ["plot_lightcurve", "plot_differential", "plot_comparisons", "plot_systematics"]


def _axes(ax):
    if ax is not None:
        return ax
    import matplotlib.pyplot as plt
    _, ax = plt.subplots(figsize=(8, 4))
    return ax


def plot_lightcurve(table, ax=None, *, kind="mag", title=None):
    """Plot a light curve table of :meth:`LightCurves.get_lightcurve`.

    Parameters
    ----------
    table : pandas.DataFrame
        ``mjd``, ``flux``, ``flux_err``, ``mag``, ``mag_err``, ``upper_limit``, ``maglim``,
        ``filtername``.
    ax : matplotlib.axes.Axes, optional
    kind : {'mag', 'flux'}, default 'mag'
        Magnitudes (inverted axis, upper limits as downward triangles at ``maglim``) or
        fluxes. Points flagged PARTIAL or MASKED are drawn open.
    title : str, optional

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_lightcurve(lc.get_lightcurve(0))                    # doctest: +SKIP
    """
    if kind not in ("mag", "flux"):
        raise InvalidParameterError(f"kind must be 'mag' or 'flux'; got {kind!r}")
    ax = _axes(ax)
    colours = {"ztfg": "tab:green", "ztfr": "tab:red", "ztfi": "tab:orange"}
    for filt, sub in table.groupby("filtername", sort=False):
        c = colours.get(filt, "k")
        suspect = (sub["flag"].to_numpy() & int(SUSPECT)) != 0
        for bad, style in ((False, {"mfc": c}), (True, {"mfc": "none", "alpha": 0.6})):
            part = sub[suspect == bad]
            label = (filt or "?") if not bad else f"{filt or '?'} (edge / masked pixels)"
            if kind == "mag":
                det = part[~part["upper_limit"]]
                if len(det):
                    ax.errorbar(det["mjd"], det["mag"], det["mag_err"], fmt="o", ms=3,
                                color=c, label=label, **style)
            elif len(part):
                ax.errorbar(part["mjd"], part["flux"], part["flux_err"], fmt="o", ms=3,
                            color=c, label=label, **style)
        ul = sub[sub["upper_limit"]]
        if kind == "mag" and len(ul):
            ax.plot(ul["mjd"], ul["maglim"], "v", color=c, alpha=0.5, ms=4,
                    label=f"{filt or '?'} 5-sigma limit")
    if kind == "mag" and not ax.yaxis_inverted():
        ax.invert_yaxis()
    unit = table.attrs.get("flux_unit", "ujy")
    ax.set_xlabel("MJD")
    ax.set_ylabel("AB magnitude" if kind == "mag" else f"flux [{unit}]")
    if title:
        ax.set_title(title)
    if len(table):
        ax.legend(loc="best", fontsize="small")
    return ax


def plot_differential(diff, ax=None, **kwargs):
    """The target's differential light curve, with its errors.

    Parameters
    ----------
    diff : DifferentialPhotometry
    ax : matplotlib.axes.Axes, optional
    **kwargs
        Passed to ``Axes.errorbar``.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> ax = plot_differential(diff)                                  # doctest: +SKIP
    """
    ax = _axes(ax)
    t = diff.get_lightcurve()
    suspect = (t["flag"].to_numpy() & int(SUSPECT)) != 0
    style = {"fmt": "o", "ms": 3, "color": "k", "ecolor": "0.6"}
    style.update(kwargs)
    ax.errorbar(t["mjd"][~suspect], t["flux"][~suspect], t["flux_err"][~suspect], **style)
    if suspect.any():
        ax.errorbar(t["mjd"][suspect], t["flux"][suspect], t["flux_err"][suspect],
                    **dict(style, mfc="none", alpha=0.6, label="edge / masked pixels"))
        ax.legend(loc="best", fontsize="small")
    ax.axhline(1.0, color="0.5", lw=0.8)
    ax.set_xlabel("MJD")
    ax.set_ylabel("differential flux")
    ax.set_title(repr(diff).strip("<>"), fontsize="small")
    return ax


def plot_comparisons(diff, n_max=16):
    """Each comparison star's light curve against the artificial star of the others.

    Parameters
    ----------
    diff : DifferentialPhotometry
    n_max : int, default 16

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes

    Examples
    --------
    >>> axes = plot_comparisons(diff, n_max=4)                        # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    table = diff.comparisons.sort_values("weight", ascending=False).head(int(n_max))
    n = max(len(table), 1)
    ncol = min(4, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3 * ncol, 2.2 * nrow), sharex=True,
                             squeeze=False)
    s = diff._sol
    mjd = diff.lc.mjd
    pos = {int(c): k for k, c in enumerate(s.candidates)}
    for ax, (_, row) in zip(axes.flat, table.iterrows()):
        k = pos[int(row["star"])]
        ax.plot(mjd, s.ratio_c[k], ".", ms=3, color="k" if row["used"] else "tab:red")
        ax.set_title(f"star {int(row['star'])}: w={row['weight']:.3f}, "
                     f"x{row['excess']:.1f}", fontsize="x-small")
    for ax in axes.flat[len(table):]:
        ax.set_visible(False)
    fig.supxlabel("MJD")
    fig.supylabel("flux / others' artificial star")
    return axes


def plot_systematics(diff):
    """Airmass, seeing, sky and the stars' shifts against time, under the light curve.

    Parameters
    ----------
    diff : DifferentialPhotometry

    Returns
    -------
    numpy.ndarray of matplotlib.axes.Axes
        The light curve, then one panel per quantity the frames table has values for.

    Examples
    --------
    >>> axes = plot_systematics(diff)                                 # doctest: +SKIP
    """
    import matplotlib.pyplot as plt
    frames = diff.lc._frames
    series = [(name, frames[name].to_numpy(float), label) for name, label in (
        ("airmass", "airmass"), ("seeing", "seeing [px]"), ("sky", "sky [DN]"),
        ("dx", "dx [px]"), ("dy", "dy [px]")) if np.isfinite(frames[name].to_numpy(float)).any()]
    fig, axes = plt.subplots(len(series) + 1, 1, figsize=(8, 1.6 * (len(series) + 1)),
                             sharex=True, squeeze=False)
    axes = axes[:, 0]
    plot_differential(diff, ax=axes[0])
    axes[0].set_xlabel("")
    mjd = diff.lc.mjd
    for ax, (_, values, label) in zip(axes[1:], series):
        ax.plot(mjd, values, ".", ms=3, color="tab:blue")
        ax.set_ylabel(label, fontsize="small")
    axes[-1].set_xlabel("MJD")
    return axes
