"""The ``psf`` and ``cache`` sub-commands of the ``ztfimg`` command line."""

from __future__ import annotations

import json
import os

from ..errors import InvalidParameterError
from ._common import EXIT_OK, _log

__all__ = ["add_parsers"]


def _run_psf(args):
    """Render IPAC's DAOPhot PSF at a frame position to a PNG or a FITS image."""
    import numpy as np

    from ..dao import DAOPhotPSF
    psf = DAOPhotPSF(args.file)
    stamp = psf.get_psf_at(args.x, args.y, size=args.size, normalize=True)
    out = args.out
    if out.endswith(".fits"):
        from astropy.io import fits
        hdr = fits.Header()
        hdr["PSFFILE"] = (os.path.basename(args.file)[:68], "DAOPhot PSF file")
        hdr["PSF_X"] = (float(args.x), "0-based frame column of the rendered star")
        hdr["PSF_Y"] = (float(args.y), "0-based frame row of the rendered star")
        hdr["COMMENT"] = "pixel-integrated PSF, normalised to a sum of 1"
        fits.PrimaryHDU(stamp.astype(np.float32), header=hdr).writeto(out, overwrite=True)
    elif out.endswith(".png"):
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(4.6, 4.0))
        cmap = matplotlib.colormaps["magma"].with_extremes(bad="black", under="black")
        im = ax.imshow(stamp, origin="lower", cmap=cmap,  # <= 0 (outside the model): black
                       norm=matplotlib.colors.LogNorm(vmin=max(stamp.max() * 1e-4, 1e-12),
                                                      vmax=stamp.max()))
        fig.colorbar(im, ax=ax, label="fraction of the flux per pixel")
        ax.set_xlabel("x [px]")
        ax.set_ylabel("y [px]")
        ax.set_title(f"DAOPhot PSF at ({args.x:g}, {args.y:g})", fontsize=10)
        fig.savefig(out, dpi=110, bbox_inches="tight")
        plt.close(fig)
    else:
        raise InvalidParameterError(f"--out must end in .png or .fits; got {out!r}")
    c = stamp.shape[0] // 2
    summary = {"file": args.file, "x": args.x, "y": args.y, "size": int(stamp.shape[0]),
               "sum": float(stamp.sum()), "peak": float(stamp.max()),
               "centre": float(stamp[c, c]), "out": out}
    if args.json:
        print(json.dumps(summary))
    else:
        _log(f"PSF at ({args.x:g}, {args.y:g}): {stamp.shape[0]}x{stamp.shape[0]} px, peak "
             f"{summary['peak']:.4f} of the flux; wrote {out}")
    return EXIT_OK


def _tiles(root):
    """(catalogue, path, bytes) of every tile file under the cache root."""
    out = []
    if root.is_dir():
        for path in sorted(root.rglob("*.parquet")):
            out.append((path.relative_to(root).parts[0], path, path.stat().st_size))
    return out


def _run_cache(args):
    """List, fill or clear the catalogue tile cache."""
    from ..refcat import tiles as _tiles_mod
    root = _tiles_mod.get_cache_dir(args.cache_dir)
    if args.action == "fill":
        if not args.file or args.region is None:
            raise InvalidParameterError("cache fill needs FILE (a .csv, .parquet or .fits "
                                        "catalogue) and --region RA DEC RADIUS (degrees, the "
                                        "cone the file covers completely)")
        from ..refcat import ingest
        data = args.file
        if str(data).endswith(".csv"):
            import pandas as pd
            data = pd.read_csv(data)
        written = ingest(data, args.catalog, region=tuple(args.region), cache_dir=args.cache_dir)
        _log(f"{len(written)} tile(s) of {args.catalog} written under {root}")
    elif args.action == "clear":
        doomed = [t for t in _tiles(root) if args.catalog in (None, t[0])]
        if not args.yes:
            raise InvalidParameterError(f"cache clear would delete {len(doomed)} tile file(s) "
                                        f"under {root}; add --yes to do it")
        for _, path, _ in doomed:
            path.unlink()
        _log(f"deleted {len(doomed)} tile file(s) under {root}")
    tiles = _tiles(root)
    by = {}
    for name, _, size in tiles:
        n, b = by.get(name, (0, 0))
        by[name] = (n + 1, b + size)
    summary = {"root": str(root), "catalogs": {k: {"tiles": n, "bytes": b}
                                               for k, (n, b) in sorted(by.items())}}
    if args.json:
        print(json.dumps(summary))
    elif args.action == "list":
        _log(f"catalogue cache {root}")
        if not by:
            _log("  (empty)")
        for k, (n, b) in sorted(by.items()):
            _log(f"  {k}: {n} tile(s), {b / 2**20:.1f} MB")
    return EXIT_OK


def add_parsers(sub, common, epilog, fill, formatter):
    """Add ``psf`` and ``cache`` to ``sub``; each parser's ``func`` runs it."""
    def new(name, help, description):
        return sub.add_parser(name, parents=[common], epilog=epilog, formatter_class=formatter,
                              help=help, description=fill(description))

    p = new("psf", "render the DAOPhot PSF of a frame at a position",
            "Render IPAC's DAOPhot PSF (*_sciimgdao.psf, ztfimg.dao.DAOPhotPSF.get_psf_at) "
            "at a 0-based frame position, normalised to a sum of 1, as a PNG (log scale) or "
            "a FITS image.")
    p.add_argument("file", metavar="PSFFILE", help="a *_sciimgdao.psf file")
    p.add_argument("--x", type=float, required=True, help="0-based frame column")
    p.add_argument("--y", type=float, required=True, help="0-based frame row")
    p.add_argument("--size", type=int, default=None, help="stamp side, pixels (default 23)")
    p.add_argument("--out", required=True, help="psf.png or psf.fits")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run_psf)

    p = new("cache", "list, fill or clear the catalogue cache",
            "The on-disk cache of PS1/Gaia tiles that frames' catalogues come from "
            "(default $ZTFIMG_CACHE/catalogs). 'list' shows what it holds; 'fill FILE "
            "--region RA DEC R' puts a catalogue you have into it (so frames inside the cone "
            "work offline); 'clear [--catalog NAME] --yes' deletes tiles.")
    p.add_argument("action", choices=("list", "fill", "clear"))
    p.add_argument("file", nargs="?", metavar="FILE", help="catalogue file for 'fill'")
    p.add_argument("--catalog", default=None, help="ps1 or gaia (fill: required)")
    p.add_argument("--region", type=float, nargs=3, metavar=("RA", "DEC", "R"),
                   help="cone the file covers completely, degrees (fill)")
    p.add_argument("--cache-dir", default=None, help="cache root (default $ZTFIMG_CACHE)")
    p.add_argument("--yes", action="store_true", help="really delete (clear)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run_cache)
