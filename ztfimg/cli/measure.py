"""The measuring sub-commands: ``sources``, ``photometry``, ``calibrate``, ``stamps`` and
``simulate``.

Each is a thin layer on one library call (named in its ``--help``), so that a script can
check the command against the call: ``sources`` is ``ScienceImage.extract_sources``,
``photometry`` ``ScienceImage.aperture_photometry`` (``--psf``:
``ScienceImage.get_psf_photometry``), ``calibrate``
``ImageCollection.calibrate``, ``stamps`` ``ScienceImage.get_stamp`` and ``simulate``
``ztfimg.simseries.simulate_series``. A user mistake (missing file, bad column, a position
file with a bad row, an unknown output format) raises a ZTFImgError whose message is one
line.
"""

from __future__ import annotations

import argparse
import json
import os

from ..errors import InvalidParameterError, MissingFileError, ZTFImgError
from ._common import EXIT_OK, UsageError, _log

__all__ = ["add_parsers", "read_positions"]

_TABLE_FORMATS = (".csv", ".parquet", ".fits")


# ---------------------------------------------------------------------------- helpers
def _check_frame(path):
    """A one-line MissingFileError unless ``path`` is a file (and not a mask)."""
    if not os.path.exists(path):
        raise MissingFileError(f"no such file: {path!r}")
    if os.path.isdir(path):
        raise MissingFileError(f"{path!r} is a directory, not a FITS image")
    from .commands import _refuse_mask
    _refuse_mask(path)


def _open_science(path):
    """A ScienceImage from ``path`` (its mask beside it when present)."""
    from ..image import ScienceImage
    _check_frame(path)
    return ScienceImage.from_filename(path, require_mask=False)


def _write_table(df, path):
    """Write ``df`` as CSV, parquet or a FITS table, by the extension of ``path``."""
    ext = os.path.splitext(path)[1].lower()
    if ext not in _TABLE_FORMATS:
        raise InvalidParameterError(f"--out must end in {', '.join(_TABLE_FORMATS)}; got "
                                    f"{path!r}")
    if ext == ".csv":
        df.to_csv(path, index=False)
    elif ext == ".parquet":
        df.to_parquet(path, index=False)
    else:
        from astropy.table import Table
        Table.from_pandas(df.reset_index(drop=True)).write(path, overwrite=True)
    return path


def _pair(text):
    """argparse type of ``--xy`` / ``--radec``: ``A,B`` as two floats."""
    parts = text.replace(" ", "").split(",")
    try:
        if len(parts) != 2:
            raise ValueError
        return float(parts[0]), float(parts[1])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers as A,B; got {text!r}") from None


def read_positions(path, columns=None):
    """Positions from a CSV file: ``(a, b, kind)`` with kind 'pixels' (x, y) or 'sky'
    (ra, dec).

    Parameters
    ----------
    path : str
        A CSV file with a header line.
    columns : (str, str), optional
        The two columns to use; default ``x, y`` if present, else ``ra, dec``. With
        explicit columns, 'ra'/'dec' names mean sky positions, anything else pixels.

    Raises
    ------
    MissingFileError, InvalidParameterError
        No file, a missing column, a row that is not two finite numbers (named by its
        line number).
    """
    import numpy as np
    import pandas as pd
    if not os.path.isfile(path):
        raise MissingFileError(f"no such position file: {path!r}")
    try:
        df = pd.read_csv(path, dtype=str, skipinitialspace=True)
    except (ValueError, pd.errors.ParserError) as exc:
        raise InvalidParameterError(f"cannot read the position file {path!r} as CSV: "
                                    f"{' '.join(str(exc).split())}") from None
    cols = {c.strip().lower(): c for c in df.columns}
    if columns:
        names = [c.strip() for c in columns]
        missing = [c for c in names if c not in df.columns and c.lower() not in cols]
        if missing:
            raise InvalidParameterError(
                f"the position file {path!r} has no column {missing[0]!r}; its columns: "
                f"{', '.join(map(str, df.columns))}")
        keys = [c if c in df.columns else cols[c.lower()] for c in names]
        kind = "sky" if names[0].lower() in ("ra", "radeg", "ra_deg") else "pixels"
    elif "x" in cols and "y" in cols:
        keys, kind = [cols["x"], cols["y"]], "pixels"
    elif "ra" in cols and "dec" in cols:
        keys, kind = [cols["ra"], cols["dec"]], "sky"
    else:
        raise InvalidParameterError(
            f"the position file {path!r} needs columns x,y (pixels) or ra,dec (degrees), or "
            f"name them with --columns; its columns: {', '.join(map(str, df.columns))}")
    if len(df) == 0:
        raise InvalidParameterError(f"the position file {path!r} holds no position")
    values = []
    for key in keys:
        v = pd.to_numeric(df[key], errors="coerce").to_numpy(float)
        values.append(v)
    bad = ~(np.isfinite(values[0]) & np.isfinite(values[1]))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(
            f"{path!r} line {i + 2}: {keys[0]}={df[keys[0]].iloc[i]!r}, "
            f"{keys[1]}={df[keys[1]].iloc[i]!r} is not two numbers ({int(bad.sum())} bad "
            "row(s))")
    return values[0], values[1], kind


def _positions(args):
    """``(a, b, kind)`` from ``--xy``, ``--radec`` or ``--positions`` (exactly one)."""
    import numpy as np
    given = [bool(args.xy), bool(args.radec), bool(args.positions)]
    if sum(given) != 1:
        raise UsageError("give the positions one way: --xy X,Y ..., --radec RA,DEC ... or "
                         f"--positions FILE.csv (see 'ztfimg {args.command} --help')")
    if args.xy:
        a, b = np.array(args.xy, float).T
        return a, b, "pixels"
    if args.radec:
        a, b = np.array(args.radec, float).T
        return a, b, "sky"
    return read_positions(args.positions, args.columns)


def _json_value(v):
    import numpy as np
    if isinstance(v, (np.floating, float)):
        return None if not np.isfinite(v) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    return v


def _records(df):
    return [{k: _json_value(v) for k, v in row.items()} for row in df.to_dict("records")]


# ---------------------------------------------------------------------------- commands
def _run_sources(args):
    img = _open_science(args.file)
    img.load_source_background()
    src = img.extract_sources(thresh=args.thresh, setmag=True, minarea=args.minarea)
    if args.out:
        _write_table(src, args.out)
    summary = {"file": args.file, "nsources": int(len(src)), "thresh": args.thresh,
               "background": float(img.background.globalback),
               "rms": float(img.background.globalrms), "out": args.out}
    if args.json:
        print(json.dumps(summary))
    else:
        _log(f"{len(src)} sources at {args.thresh:g} sigma (background "
             f"{summary['background']:.2f} DN, rms {summary['rms']:.2f} DN)"
             + (f"; wrote {args.out}" if args.out else ""))
    return EXIT_OK


def _psf_beside(path):
    """The DAOPhot PSF file beside the frame ``path``, or a one-line MissingFileError."""
    from .. import filenames
    if not filenames.is_ztf_filename(path):
        raise MissingFileError(f"--psf needs the frame's DAOPhot PSF (*_sciimgdao.psf) beside "
                               f"a ZTF-named *_sciimg.fits; {path!r} has no ZTF name: give the "
                               "PSF with --psf-file")
    psf = filenames.sibling(path, "sciimgdao.psf")
    if not os.path.isfile(psf):
        raise MissingFileError(f"no DAOPhot PSF file {os.path.basename(psf)!r} beside {path!r}: "
                               "--psf needs IPAC's *_sciimgdao.psf (give one with --psf-file, "
                               "or drop --psf for aperture photometry)")
    return psf


def _run_photometry(args):
    psf_mode = bool(args.psf or args.psf_file)
    if psf_mode and (args.radius is not None or args.bkgann is not None):
        raise UsageError("--radius and --bkgann are aperture options: with --psf the fit "
                         "disc is --fit-radius (see 'ztfimg photometry --help')")
    if not psf_mode and args.fit_radius is not None:
        raise UsageError("--fit-radius is a PSF option: add --psf (see 'ztfimg photometry "
                         "--help')")
    a, b, kind = _positions(args)
    if psf_mode:
        _check_frame(args.file)                     # the frame's own mistakes first
        psf_path = args.psf_file or _psf_beside(args.file)
        if not os.path.isfile(psf_path):
            raise MissingFileError(f"no such PSF file: {psf_path!r}")
    img = _open_science(args.file)
    if psf_mode:
        if args.psf_file:
            img.set_psf(args.psf_file)
        table = img.get_psf_photometry(a, b, coords=kind, fit_radius=args.fit_radius)
        if not args.mag:
            table = table.drop(columns=[c for c in ("mag", "magerr") if c in table])
    else:
        radius = [5.0] if args.radius is None else args.radius
        radius = radius[0] if len(radius) == 1 else list(radius)
        table = img.aperture_photometry(a, b, radius, coords=kind,
                                        bkgann=tuple(args.bkgann) if args.bkgann else None,
                                        unit="mag" if args.mag else "counts")
    if args.out:
        _write_table(table, args.out)
    if args.json:
        print(json.dumps(_records(table)))
    elif not args.out:
        print(table.to_string(index=False))
    else:
        _log(f"{len(table)} positions measured ({'PSF fit' if psf_mode else 'aperture'}); "
             f"wrote {args.out}")
    return EXIT_OK


def _connect(address, timeout):
    """A ``distributed.Client`` connected to the scheduler at ``address``, or one line."""
    try:
        from distributed import Client
    except ImportError:
        raise ZTFImgError("--scheduler needs the 'distributed' package (pip install "
                          "distributed)") from None
    try:
        return Client(address, timeout=timeout)
    except (OSError, TimeoutError, ValueError) as exc:  # refused, timed out, bad address
        raise ZTFImgError(f"cannot connect to the dask scheduler {address!r} within "
                          f"{timeout:g} s: {' '.join(str(exc).split()) or type(exc).__name__}; "
                          "check the address (tcp://host:port) and that the scheduler "
                          "runs") from None


def _run_calibrate(args):
    import contextlib

    from ..collection import ImageCollection
    if args.scheduler and args.workers > 1:
        raise UsageError("--scheduler runs on that cluster's workers: it cannot be used with "
                         "--workers (see 'ztfimg calibrate --help')")
    if not args.timeout > 0:
        raise UsageError(f"--timeout must be a positive number of seconds; got {args.timeout:g}")
    for path in args.files:
        if not os.path.exists(path):
            raise MissingFileError(f"no such file: {path!r}")
    col = ImageCollection.from_files(args.files)
    kwargs = {"magrange": tuple(args.magrange)}
    if args.cache_dir:
        kwargs["cache_dir"] = os.path.abspath(args.cache_dir)
    if args.offline:
        kwargs["offline"] = True
    progress = len(col) > 1 and not (args.json or args.quiet)
    with contextlib.ExitStack() as stack:
        if args.scheduler:
            client = stack.enter_context(_connect(args.scheduler, args.timeout))
            n_workers = None
        else:
            client = "processes" if args.workers > 1 else None
            n_workers = args.workers if client else None
        zp = col.calibrate(args.catalog, client=client, n_workers=n_workers,
                           progress=progress, **kwargs)
    if args.out:
        _write_table(zp, args.out)
    cols = ["filename", "obsjd", "zp", "zp_err", "clrcoeff", "clrcoeff_err", "nstars", "rms",
            "header_magzp", "dzp", "error"]
    if args.json:
        print(json.dumps(_records(zp[cols])))
    elif not args.quiet:
        for row in zp.itertuples():
            if row.error is None or row.error != row.error:
                _log(f"{row.filename}: zp {row.zp:.4f} +- {row.zp_err:.4f}, colour term "
                     f"{row.clrcoeff:.4f}, {row.nstars} stars, rms {row.rms:.3f} mag "
                     f"(header {row.header_magzp:.4f}, fit - header {row.dzp:+.4f})")
            else:
                _log(f"{row.filename}: failed: {row.error}")
    failed = zp["error"].notna().to_numpy()
    if failed.any():
        raise ZTFImgError(f"{int(failed.sum())} of {len(zp)} frame(s) could not be calibrated "
                          f"(first: {zp['error'][failed].iloc[0]})")
    return EXIT_OK


def _run_stamps(args):
    import numpy as np
    a, b, kind = _positions(args)
    img = _open_science(args.file)
    if kind == "sky":
        x, y = img.coords_to_pixels(a, b)
    else:
        x, y = a, b
    x, y = np.atleast_1d(x).astype(float), np.atleast_1d(y).astype(float)
    stamps = [img.get_stamp(xi, yi, dx=args.size) for xi, yi in zip(x, y)]
    ext = os.path.splitext(args.out)[1].lower()
    if ext == ".png":
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        n = len(stamps)
        ncol = min(n, args.columns_grid)
        nrow = (n + ncol - 1) // ncol
        fig, axs = plt.subplots(nrow, ncol, figsize=(3.6 * ncol, 3.3 * nrow), squeeze=False)
        for i, ax in enumerate(axs.ravel()):
            if i >= n:
                ax.set_visible(False)
                continue
            stamps[i].show(ax=ax, stretch=args.stretch, scale="percentile",
                           percentile=(1, 99.9))
            ax.set_title(f"#{i} ({x[i]:.1f}, {y[i]:.1f})", fontsize=9)
        fig.tight_layout()
        fig.savefig(args.out, dpi=80)
        plt.close(fig)
    elif ext in (".fits", ".fit"):
        from astropy.io import fits
        from astropy.table import Table
        cube = np.stack([np.asarray(s.data, np.float32) for s in stamps])
        prim = fits.PrimaryHDU(cube)
        prim.header["SOURCE"] = os.path.basename(args.file)[:68]
        tab = Table({"x": x, "y": y, "x0": [float(s.origin[0]) for s in stamps],
                     "y0": [float(s.origin[1]) for s in stamps],
                     "flag": [int(s.flag) for s in stamps]})
        fits.HDUList([prim, fits.BinTableHDU(tab, name="POSITIONS")]).writeto(args.out,
                                                                             overwrite=True)
    else:
        raise InvalidParameterError(f"--out must end in .png (a grid) or .fits (a cube); got "
                                    f"{args.out!r}")
    summary = {"file": args.file, "n": len(stamps), "size": args.size, "out": args.out}
    if args.json:
        print(json.dumps(summary))
    else:
        _log(f"{len(stamps)} stamps of {args.size} px; wrote {args.out}")
    return EXIT_OK


def _run_simulate(args):
    from .. import simseries
    s = simseries.simulate_series(args.outdir, args.frames, shape=(args.size, args.size),
                                  seed=args.seed, filtername=args.filter)
    tiles = s.ingest(cache_dir=args.cache_dir) if args.ingest else []
    cat = os.path.join(args.outdir, "catalog_ps1.csv")
    s.catalog.to_csv(cat, index=False)
    s.frames.drop(columns=["file", "maskfile"], errors="ignore").to_csv(
        os.path.join(args.outdir, "frames_truth.csv"), index=False)
    summary = {"outdir": args.outdir, "files": list(s.files), "catalog": cat,
               "ingested_tiles": [str(t) for t in tiles],
               "magzp": [float(v) for v in s.frames["magzp"]]}
    if args.json:
        print(json.dumps(summary))
    else:
        for f in s.files:
            print(f)
        _log(f"{len(s.files)} frames of {args.size}x{args.size} px; catalogue {cat}"
             + (f", ingested into the cache ({len(tiles)} tiles)" if args.ingest else ""))
    return EXIT_OK


# ---------------------------------------------------------------------------- parsers
def _position_options(p):
    p.add_argument("--xy", type=_pair, action="append", metavar="X,Y",
                   help="a 0-based pixel position (repeat for more)")
    p.add_argument("--radec", type=_pair, action="append", metavar="RA,DEC",
                   help="a sky position, degrees (repeat for more)")
    p.add_argument("--positions", metavar="CSV",
                   help="a CSV file with columns x,y (pixels) or ra,dec (degrees)")
    p.add_argument("--columns", type=lambda t: t.split(","), metavar="A,B",
                   help="the two columns of --positions to use")


def add_parsers(sub, common, epilog, fill, formatter):
    """Add the measuring sub-commands to ``sub``; each parser's ``func`` runs it."""
    def new(name, help, description):
        return sub.add_parser(name, parents=[common], epilog=epilog, formatter_class=formatter,
                              help=help, description=fill(description))

    p = new("sources", "extract the sources of a frame to a table",
            "Detect the sources of a ZTF science image (ScienceImage.extract_sources after a "
            "source-masked background) and write them as CSV, parquet or a FITS table.")
    p.add_argument("file", metavar="FILE", help="*_sciimg.fits (its mask beside it)")
    p.add_argument("--out", help="output table (.csv, .parquet or .fits)")
    p.add_argument("--thresh", type=float, default=5.0, help="threshold, sigma (default 5)")
    p.add_argument("--minarea", type=int, default=5, help="minimum pixels (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run_sources)

    p = new("photometry", "aperture or PSF photometry at given positions",
            "Aperture photometry (ScienceImage.aperture_photometry) or, with --psf, forced PSF "
            "photometry with the frame's DAOPhot PSF (ScienceImage.get_psf_photometry; the "
            "*_sciimgdao.psf beside the frame, or --psf-file) at pixel positions (--xy, "
            "0-based) or sky positions (--radec, degrees), or the rows of a CSV file "
            "(--positions). Prints the table, or writes it with --out. Fluxes are DN.")
    p.add_argument("file", metavar="FILE", help="*_sciimg.fits (its mask beside it)")
    _position_options(p)
    p.add_argument("--radius", type=float, nargs="+", default=None, metavar="R",
                   help="aperture radius (radii), pixels (default 5)")
    p.add_argument("--bkgann", type=float, nargs=2, metavar=("RIN", "ROUT"),
                   help="local sky annulus, pixels (default: the background map)")
    p.add_argument("--psf", action="store_true",
                   help="PSF-fit photometry with the DAOPhot PSF beside the frame")
    p.add_argument("--psf-file", default=None, metavar="PSFFILE",
                   help="a *_sciimgdao.psf to fit with (implies --psf)")
    p.add_argument("--fit-radius", type=float, default=None, metavar="R",
                   help="PSF fit: radius of the fitted disc, pixels (default max(3, 1.5 FWHM))")
    p.add_argument("--mag", action="store_true", help="add magnitudes (header MAGZP)")
    p.add_argument("--out", help="output table (.csv, .parquet or .fits)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.set_defaults(func=_run_photometry)

    p = new("calibrate", "zero point of one or many frames against PS1 or Gaia",
            "Fit the zero point and colour term of each frame (ImageCollection.calibrate) "
            "against the PS1 (or Gaia) catalogue, from the catalogue cache or the network; "
            "prints one line per frame beside the header's MAGZP, with a progress bar on "
            "stderr for many frames (not with --json or --quiet). Frames run in this "
            "process, on --workers local processes, or on a dask cluster (--scheduler). "
            "Exit status 1 if any frame failed.")
    p.add_argument("files", nargs="+", metavar="FILE", help="*_sciimg.fits frames")
    p.add_argument("--catalog", choices=("ps1", "gaia"), default="ps1")
    p.add_argument("--magrange", type=float, nargs=2, default=[15.0, 19.5],
                   metavar=("BRIGHT", "FAINT"), help="calibrator magnitudes (default 15 19.5)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local worker processes (default 1: in this process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="run on the dask cluster whose scheduler is at ADDRESS "
                        "(tcp://host:port; distributed.Client(ADDRESS) is passed as client=)")
    p.add_argument("--timeout", type=float, default=30.0, metavar="S",
                   help="seconds to wait for the scheduler (default 30)")
    p.add_argument("--cache-dir", default=None, help="catalogue cache root (default "
                   "$ZTFIMG_CACHE/catalogs; on a cluster, a directory every worker sees)")
    p.add_argument("--offline", action="store_true", help="use the catalogue cache only")
    p.add_argument("--out", help="write the table (.csv, .parquet or .fits)")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--quiet", action="store_true",
                   help="no per-frame lines and no progress bar (errors are still shown)")
    p.set_defaults(func=_run_calibrate)

    p = new("stamps", "cutouts at given positions, as a PNG grid or a FITS cube",
            "Cut stamps (ScienceImage.get_stamp) around pixel or sky positions and write a "
            "PNG grid (.png) or a FITS cube with a POSITIONS table (.fits).")
    p.add_argument("file", metavar="FILE", help="*_sciimg.fits (its mask beside it)")
    _position_options(p)
    p.add_argument("--out", required=True, help="stamps.png (grid) or stamps.fits (cube)")
    p.add_argument("--size", type=int, default=23, help="stamp side, pixels (default 23)")
    p.add_argument("--stretch", choices=("linear", "sqrt", "log", "asinh"), default="asinh")
    p.add_argument("--grid-columns", dest="columns_grid", type=int, default=5, metavar="N",
                   help="stamps per row of the PNG grid (default 5)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run_stamps)

    p = new("simulate", "write simulated ZTF frames of one field",
            "Simulate a series of frames of one field (ztfimg.simseries.simulate_series: "
            "drifting pointing, changing seeing, sky and zero point, a variable star) with "
            "ZTF names and masks; writes catalog_ps1.csv and frames_truth.csv beside them. "
            "--ingest puts the catalogue into the catalogue cache so that 'ztfimg calibrate "
            "--offline' works on the frames.")
    p.add_argument("outdir", metavar="DIR", help="output directory (created)")
    p.add_argument("--frames", type=int, default=5, metavar="N", help="frames (default 5)")
    p.add_argument("--size", type=int, default=512, metavar="N",
                   help="side of each frame, pixels (default 512)")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="seed (default 0)")
    p.add_argument("--filter", choices=("zg", "zr", "zi"), default="zr")
    p.add_argument("--ingest", action="store_true",
                   help="put the catalogue into the catalogue cache")
    p.add_argument("--cache-dir", default=None, help="catalogue cache root (with --ingest)")
    p.add_argument("--json", action="store_true", help="print a JSON summary")
    p.set_defaults(func=_run_simulate)
