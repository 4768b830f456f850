"""A look at a DAOPhot PSF model: :meth:`DAOPhotPSF.show`.

One row of panels: the analytic profile times BRIGHT, each look-up table, and
the full pixel-integrated PSF at a few frame positions.  Defined here in a mixin
of :class:`ztfimg.dao.model.DAOPhotPSF`; matplotlib is imported only when
plotting.

Examples
--------
>>> axes = psf.show()                                        # doctest: +SKIP
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InvalidParameterError

__all__ = []


class _PlottingMixin:
    """The :meth:`show` method of :class:`~ztfimg.dao.model.DAOPhotPSF`.

    Relies on the model's ``get_psf``, ``get_psf_at``, ``tables``,
    ``centre_index`` and ``psf_radius``.
    """

    def show(self, positions=None, axes=None, cmap="coolwarm"):
        """Plot the base profile, the tables and the PSF at a few frame positions.

        Parameters
        ----------
        positions : sequence of (x, y), optional
            0-based frame positions (default: the four corners and the centre
            of a ``2*xpsf+1`` by ``2*ypsf+1`` frame, i.e. three of them:
            lower-left, centre, upper-right).
        axes : sequence of matplotlib Axes, optional
            ``1 + nexp + len(positions)`` axes to draw in (default: a new figure).
        cmap : str, optional
            Colour map of the tables (default ``"coolwarm"``).

        Returns
        -------
        ndarray of matplotlib.axes.Axes
        """
        import matplotlib.pyplot as plt

        if positions is None:
            positions = [(0.0, 0.0), (self.xpsf, self.ypsf), (2 * self.xpsf, 2 * self.ypsf)]
        npanel = 1 + self.nexp + len(positions)
        if axes is None:
            _, axes = plt.subplots(1, npanel, figsize=(2.4 * npanel, 2.6), squeeze=False)
            axes = axes[0]
        axes = np.asarray(axes, dtype=object).ravel()
        if axes.size < npanel:
            raise InvalidParameterError(f"show needs {npanel} axes, got {axes.size}")
        half = self.centre_index / 2.0
        ext = (-half - 0.25, half + 0.25, -half - 0.25, half + 0.25)
        base = self.get_psf(coef_base=self.bright, coefstruct=np.zeros(self.nexp), normed=False)
        axes[0].imshow(base, origin="lower", extent=ext, cmap="viridis")
        axes[0].set_title(f"{self.label} x BRIGHT", fontsize="small")
        names = ["1", "X", "Y", "P2(X)", "XY", "P2(Y)", "P3(X)", "P2(X)Y", "XP2(Y)", "P3(Y)"]
        for k in range(self.nexp):
            t = self.tables[k]
            v = max(np.abs(t).max(), 1e-30)
            axes[1 + k].imshow(t, origin="lower", extent=ext, cmap=cmap, vmin=-v, vmax=v)
            axes[1 + k].set_title(f"table {k} ({names[k]})", fontsize="small")
        size = 2 * int(math.ceil(self.psf_radius)) + 1
        h = size // 2
        for i, (px, py) in enumerate(positions):
            ax = axes[1 + self.nexp + i]
            st = self.get_psf_at(px, py, size=size)
            ax.imshow(st, origin="lower", extent=(-h - 0.5, h + 0.5, -h - 0.5, h + 0.5), cmap="viridis")
            ax.set_title(f"PSF at ({px:.0f}, {py:.0f})", fontsize="small")
        for ax in axes[:npanel]:
            ax.set_xlabel("dx [px]", fontsize="x-small")
            ax.tick_params(labelsize="x-small")
        return axes[:npanel]
