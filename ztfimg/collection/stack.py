"""A stack of stamps of one sky position through many frames, with its time axis.

:class:`StampStack` is what :meth:`ImageCollection.get_stamps
<ztfimg.collection.ImageCollection.get_stamps>` returns per position: the multi-frame form
of :meth:`~ztfimg.image.ZTFImage.get_stamp`.  Frames are in time order; each has its
epoch, its file, the position in its pixels and :class:`StackFlag` bits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import InvalidParameterError
from ..flags import StackFlag

__all__ = ["StackFlag", "StampStack", "build_stack"]


class StampStack:
    """Stamps of one sky position in many frames, in time order.

    Parameters
    ----------
    ra, dec : float
        The position, ICRS degrees.
    data : numpy.ndarray
        ``(n_frames, size, size)`` float32 cutouts (NaN off the frame and, for
        ``'dataclean'``/``'datamasked'`` stamps, on masked pixels).
    mask : numpy.ndarray of bool
        Same shape, True for masked or off-frame pixels.
    times : numpy.ndarray
        OBSJD of each frame, days.
    flags : numpy.ndarray of int64
        :class:`StackFlag` bits per frame.
    files : list of str
        Each frame's file.
    x, y : numpy.ndarray
        The position in each frame, 0-based pixels (NaN where unknown).
    filters : list of str
        Each frame's filter (``'ztfr'`` ...; None when the header has none).
    errors : pandas.DataFrame, optional
        The frames of the run that failed (``file``, ``exception``, ``message``,
        ``traceback``); empty by default.

    Examples
    --------
    >>> st = col.get_stamps(55.06, 33.35, size=21)                     # doctest: +SKIP
    >>> st.data.shape, st.times[:2]                                    # doctest: +SKIP
    ((30, 21, 21), array([2459116.77, 2459117.89]))
    >>> st.show(ncols=6)                                               # doctest: +SKIP
    """

    def __init__(self, ra, dec, data, mask, times, flags, files, x, y, filters, errors=None):
        self.ra, self.dec = float(ra), float(dec)
        self.data = np.asarray(data, dtype=np.float32)
        self.mask = np.asarray(mask, dtype=bool)
        self.times = np.asarray(times, dtype=np.float64)
        self.flags = np.asarray(flags, dtype=np.int64)
        self.files = list(files)
        self.x = np.asarray(x, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64)
        self.filters = list(filters)
        self.errors = (pd.DataFrame(columns=["file", "exception", "message", "traceback"])
                       if errors is None else errors)
        n = len(self.files)
        if not (self.data.shape[:1] == self.mask.shape[:1] == self.times.shape
                == self.flags.shape == self.x.shape == self.y.shape == (n,)) \
                or len(self.filters) != n or self.data.ndim != 3:
            raise InvalidParameterError("StampStack: data, mask, times, flags, files, x, y and "
                                        "filters must all have one entry per frame")

    @property
    def size(self):
        """int: stamp width and height, pixels."""
        return int(self.data.shape[-1])

    @property
    def mjd(self):
        """numpy.ndarray: modified Julian dates of the frames (``times - 2400000.5``)."""
        return self.times - 2400000.5

    @property
    def good(self):
        """numpy.ndarray of bool: frames covering the position with no flag but EDGE."""
        return (self.flags & ~int(StackFlag.EDGE)) == 0

    def __len__(self):
        return len(self.files)

    def __repr__(self):
        return (f"<StampStack ra={self.ra:.6f} dec={self.dec:.6f}: {len(self)} frames of "
                f"{self.size}x{self.size} px, {int(self.good.sum())} unflagged"
                + (f", JD {self.times.min():.3f}..{self.times.max():.3f}" if len(self) else "")
                + ">")

    def __getitem__(self, i):
        """The stamp of frame ``i`` as a :class:`ztfimg.stamps.Stamp`.

        Parameters
        ----------
        i : int
            Frame number in the stack (negative counts from the end).

        Returns
        -------
        ztfimg.stamps.Stamp
            Its pixels, mask and flag (no WCS).

        Raises
        ------
        InvalidParameterError
            ``i`` is not an integer.
        IndexError
            ``i`` is out of range.

        Examples
        --------
        >>> stack[0].centroid()                                         # doctest: +SKIP
        """
        from ..stamps import Stamp
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise InvalidParameterError(f"index a StampStack with an integer frame number; "
                                        f"got {i!r} (use .data for arrays)")
        i = range(len(self))[i]
        return Stamp(self.data[i], self.mask[i], flag=int(self.flags[i]))

    def show(self, ncols=8, *, max_frames=64, axes=None, **kwargs):
        """A grid of the stamps in time order, each titled with its MJD and flags.

        Parameters
        ----------
        ncols : int, default 8
            Stamps per row.
        max_frames : int, default 64
            Show at most this many frames (the first ones).
        axes : sequence of matplotlib.axes.Axes, optional
            Where to draw (at least as many as the frames shown); default a new figure.
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image` (``scale``, ``cmap`` ...).

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes
            The axes used, one per frame shown (flattened).

        Raises
        ------
        InvalidParameterError
            ``ncols``/``max_frames`` not positive integers, or too few ``axes``.

        Examples
        --------
        >>> axes = stack.show(ncols=6, scale="percentile")              # doctest: +SKIP
        >>> axes[0].figure.savefig("stamps.png")                        # doctest: +SKIP
        """
        import matplotlib.pyplot as plt

        from ..plotting import show_image
        for name, v in (("ncols", ncols), ("max_frames", max_frames)):
            if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, np.integer)) or v < 1:
                raise InvalidParameterError(f"{name} must be a positive integer; got {v!r}")
        n = min(len(self), int(max_frames))
        if axes is None:
            ncols = max(1, min(int(ncols), max(n, 1)))
            nrows = max(1, -(-n // ncols))
            fig, grid = plt.subplots(nrows, ncols, figsize=(1.6 * ncols, 1.8 * nrows),
                                     squeeze=False)
            flat = grid.ravel()
            for ax in flat[n:]:
                ax.set_axis_off()
        else:
            flat = np.ravel(np.asarray(axes, dtype=object))
            if len(flat) < n:
                raise InvalidParameterError(f"show needs {n} axes; got {len(flat)}")
        kwargs.setdefault("colorbar", False)
        for i in range(n):
            ax = flat[i]
            img = self.data[i]
            if np.isfinite(img).any():
                show_image(img, ax=ax, **kwargs)
            ax.set_xticks([])
            ax.set_yticks([])
            label = f"{self.mjd[i]:.2f}"
            bad = [m.name for m in (StackFlag.OFF_IMAGE, StackFlag.MASKED, StackFlag.FAILED,
                                    StackFlag.EDGE) if self.flags[i] & m]
            ax.set_title(label + ("\n" + ",".join(b.lower() for b in bad) if bad else ""),
                         fontsize=7)
        return flat[:n]


def build_stack(k, ra, dec, size, res, keep_all=False, failed=None):
    """The :class:`StampStack` of position ``k`` from the results of a stamps run.

    Parameters
    ----------
    k : int
        The position's index in the run's positions.
    ra, dec : float
        The position, degrees.
    size : int
        Stamp size, pixels.
    res : MapResult
        The run of :func:`ztfimg.collection.jobs.stamps_frame` over the frames.
    keep_all : bool, default False
        Keep the frames not covering the position (OFF_IMAGE) and the failed ones (FAILED).
    failed : (numpy.ndarray, list), optional
        Epochs (OBSJD) and filters of every frame, for the failed ones with ``keep_all``.

    Returns
    -------
    StampStack
        The frames in time order (NaN epochs last).

    Raises
    ------
    InvalidParameterError
        Inconsistent inputs.

    Examples
    --------
    >>> res = col.map(stamps_frame, ra, dec, 21, "dataclean", 2.0)     # doctest: +SKIP
    >>> build_stack(0, ra[0], dec[0], 21, res)                         # doctest: +SKIP
    """
    rows = []   # (time, file, x, y, data, mask, flag, filter)
    nan = np.full((size, size), np.nan, np.float32)
    full = np.ones((size, size), bool)
    for i, (path, r) in enumerate(zip(res.files, res.results)):
        if r is None:
            if keep_all:
                t = failed[0][i] if failed is not None else np.nan
                f = failed[1][i] if failed is not None else None
                rows.append((t, path, np.nan, np.nan, nan, full, int(StackFlag.FAILED), f))
            continue
        hit = np.flatnonzero(r["index"] == k)
        if hit.size:
            j = int(hit[0])
            rows.append((r["obsjd"], path, r["x"][j], r["y"][j], r["data"][j], r["mask"][j],
                         int(r["flag"][j]), r["filtername"]))
        elif keep_all:
            rows.append((r["obsjd"], path, np.nan, np.nan, nan, full, int(StackFlag.OFF_IMAGE),
                         r["filtername"]))
    rows.sort(key=lambda row: (not np.isfinite(row[0]), row[0]))
    data = np.stack([r[4] for r in rows]) if rows else np.empty((0, size, size), np.float32)
    mask = np.stack([r[5] for r in rows]) if rows else np.empty((0, size, size), bool)
    return StampStack(ra, dec, data, mask, [r[0] for r in rows], [r[6] for r in rows],
                      [r[1] for r in rows], [r[2] for r in rows], [r[3] for r in rows],
                      [r[7] for r in rows], errors=res.errors.copy())
