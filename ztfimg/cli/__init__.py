"""The ``ztfimg`` command line (also ``python -m ztfimg``).

Commands
--------
``ztfimg demo [--outdir DIR] [--real] [--size N] [--seed S] [--frames N]``
    The whole workflow on a built-in default, offline: one frame (simulated, or the cached
    real quadrant with ``--real``) measured (aperture and PSF photometry against the truth),
    then a simulated season of one field calibrated and stacked, its light curves with
    differential photometry and a transient on difference images; pictures, tables and
    ``report.txt`` in ``DIR`` (:mod:`.demo`).
``ztfimg info [--json] FILE [FILE ...]``
    Each ZTF image with the mask beside it: the ScienceImage (or ReferenceImage) summary and
    the masked pixels. A file that cannot be read is reported on stderr and the others go on.
``ztfimg sources|photometry|calibrate|stamps|simulate ...``
    One library call each (:mod:`.measure`): extract sources to a table, aperture or
    (``--psf``) DAOPhot PSF photometry at positions, zero points of many frames (here, on
    ``--workers`` local processes or on a dask cluster with ``--scheduler ADDRESS``, a
    progress bar on stderr), stamps as a PNG grid or FITS cube, simulated frames.
    ``--json`` prints what a script parses.
``ztfimg psf|cache ...``
    Render a frame's DAOPhot PSF; list, fill or clear the catalogue cache (:mod:`.extras`).
``ztfimg lightcurve``
    Forced photometry of a position over many frames (:mod:`.commands`).
``ztfimg fetch-data``
    Obtain the real sample quadrant into the cache (needs the Python package index).

Errors
------
A mistake (an option value, a file, the output directory) is one line on stderr,
``ztfimg: error: <message>``, and a non-zero exit status:

== ==========================================================================================
0  success
1  runtime error: a file, the data or the output directory (``info``: any file failed)
2  usage error: an unknown option, a bad option value (checked before any work starts)
3  internal error, a bug in ztfimg: a one-line summary; run again with ``--traceback`` and
   report it
== ==========================================================================================

``--traceback`` (anywhere on the line) or ``ZTFIMG_TRACEBACK=1`` prints the full traceback
as well, for bug reports.
"""


from __future__ import annotations

import argparse
import os
import sys
import textwrap
import warnings

from ..errors import ZTFImgError
from . import commands, extras, measure
from ._common import (EXIT_BUG, EXIT_INTERRUPTED, EXIT_OK, EXIT_RUNTIME, EXIT_USAGE,
                      MAX_DEMO_SIZE, MIN_DEMO_SIZE, _TRACEBACK_ENV, UsageError, _bug_message,
                      _frames_argument, _outdir_argument, _report, _seed_argument, _show_warning,
                      _silence_stdout, _size_argument, _traceback_wanted, _user_message)
from .demo import DEFAULT_FRAMES, run_demo
from .season import MAX_SEASON_FRAMES, MIN_SEASON_FRAMES

__all__ = ["main", "run_demo", "UsageError", "MIN_DEMO_SIZE", "MAX_DEMO_SIZE",
           "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE", "EXIT_BUG", "EXIT_INTERRUPTED"]


# ---------------------------------------------------------------------------- parser
class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors raise :class:`UsageError` (one line, exit 2)."""

    def error(self, message):
        raise UsageError(f"{message} (see '{self.prog} --help')")


_EPILOG = """\
exit status: 0 success; 1 runtime error (a file, the data or the output directory; for
info: any file failed); 2 usage error (an option or its value, checked before any work
starts); 3 internal error, a bug in ztfimg: a one-line summary is printed, run again with
--traceback (or ZTFIMG_TRACEBACK=1) for the full traceback and report it; 130 interrupted.
Every error is one line on stderr: 'ztfimg: error: <message>'."""


def _fill(text):
    """``text`` wrapped for --help (the parsers keep line breaks as written)."""
    return textwrap.fill(" ".join(text.split()), 88)


def _build_parser():
    """The ``ztfimg`` argument parser."""
    from .. import __version__
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS,
                        help=f"print the full traceback of an error (or set {_TRACEBACK_ENV}=1)")
    parser = _Parser(prog="ztfimg", epilog=_EPILOG,
                     description="ztfimg: tools for Zwicky Transient Facility images (ZTF "
                                 "science quadrants, their masks and reference images).",
                     parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"ztfimg {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    p_demo = sub.add_parser(
        "demo", parents=[common], epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="simulate (or load) a ZTF quadrant and measure it, offline",
        description=_fill("Offline tour of ztfimg. One frame: simulate a ZTF quadrant (or "
                    "load the cached real one with --real), measure it and write frame.png, "
                    "stamps.png, zeropoint.png, photometry.png/csv (aperture and PSF "
                    "photometry against the truth) and sources.csv. A season: simulate "
                    "--frames nights of one field, calibrate every frame, stack them "
                    "(stack.png/fits), light curves with differential photometry and a "
                    "supernova on difference images (season_*.png/csv, transient.png/csv). "
                    "report.txt says what each file shows and which call made it."))
    p_demo.add_argument("--outdir", default="ztfimg-demo", type=_outdir_argument,
                        help="output directory, created if needed (default ztfimg-demo)")
    p_demo.add_argument("--real", action="store_true",
                        help="use the cached real sample quadrant (see 'ztfimg fetch-data')")
    p_demo.add_argument("--size", type=_size_argument, default=None, metavar="N",
                        help=f"side of a smaller simulated frame, {MIN_DEMO_SIZE} to "
                             f"{MAX_DEMO_SIZE} pixels (default: a full 3080x3072 quadrant)")
    p_demo.add_argument("--seed", type=_seed_argument, default=None, metavar="S",
                        help="simulation seed, a non-negative integer (default 0)")
    p_demo.add_argument("--frames", type=_frames_argument, default=DEFAULT_FRAMES, metavar="N",
                        help=f"frames of the simulated season, 0 (no season, no transient) "
                             f"or {MIN_SEASON_FRAMES} to {MAX_SEASON_FRAMES} (default "
                             f"{DEFAULT_FRAMES})")
    p_info = sub.add_parser(
        "info", parents=[common], epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="summarise ZTF image files",
        description=_fill("Summarise ZTF images: each *_sciimg.fits with the *_mskimg.fits beside "
                    "it when present (masked pixels of the detection selection), each "
                    "*_refimg.fits as a reference image. A bad file is reported on stderr, "
                    "the others go on, and the exit status is 1 if any failed."))
    p_info.add_argument("files", nargs="+", metavar="FILE", help="FITS image files")
    p_info.add_argument("--json", action="store_true",
                        help="print a JSON list of objects (one per file, failures included "
                             "with ok=false and the error)")
    p_lc = sub.add_parser(
        "lightcurve", parents=[common], epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        help="forced photometry of a sky position over many frames",
        description=_fill("Forced aperture (or PSF) photometry of a sky position on every "
                          "frame given, or on every archive frame covering it (no FILE: "
                          "searched at IRSA and downloaded into $ZTFDATA); writes the light "
                          "curves as .phots or .parquet and a PNG."))
    p_lc.add_argument("files", nargs="*", metavar="FILE", help="*_sciimg.fits frames (masks "
                      "beside them); none: search the archive at --ra/--dec")
    p_lc.add_argument("--ra", type=float, required=True, help="right ascension, degrees")
    p_lc.add_argument("--dec", type=float, required=True, help="declination, degrees")
    p_lc.add_argument("--radius", type=float, nargs="+", default=[2.0, 3.0, 5.0],
                      metavar="R", help="aperture radii, pixels (default 2 3 5)")
    p_lc.add_argument("--bkgann", type=float, nargs=2, default=[10.0, 15.0],
                      metavar=("RIN", "ROUT"), help="sky annulus, pixels (default 10 15)")
    p_lc.add_argument("--method", choices=("aperture", "psf"), default="aperture")
    p_lc.add_argument("--workers", type=int, default=1, metavar="N",
                      help="local worker processes (default 1: in this process)")
    p_lc.add_argument("--filters", default=None, help="archive search: e.g. zr or zg,zr")
    p_lc.add_argument("--start", default=None, help="archive search: first JD or date")
    p_lc.add_argument("--end", default=None, help="archive search: last JD or date")
    p_lc.add_argument("--root", default=None, help="archive mirror (default $ZTFDATA)")
    p_lc.add_argument("--out", default=None, help="write the light curves (.phots or .parquet)")
    p_lc.add_argument("--png", default=None, help="write a plot of the light curve")
    p_lc.add_argument("--json", action="store_true", help="print a JSON summary")
    measure.add_parsers(sub, common, _EPILOG, _fill, argparse.RawDescriptionHelpFormatter)
    extras.add_parsers(sub, common, _EPILOG, _fill, argparse.RawDescriptionHelpFormatter)
    sub.add_parser("fetch-data", parents=[common], epilog=_EPILOG,
                   formatter_class=argparse.RawDescriptionHelpFormatter,
                   help="obtain the real sample quadrant into the cache",
                   description=_fill("Obtain the real sample quadrant into the cache (needs the "
                               "Python package index) and print its paths."))
    return parser, p_demo


def _dispatch(argv, show_traceback):
    """Parse ``argv`` and run the command; errors propagate to :func:`main`."""
    parser, p_demo = _build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if args.command is None:
        parser.error("a command is required: demo, info, sources, photometry, calibrate, "
                     "stamps, psf, simulate, lightcurve, cache or fetch-data")
    if args.command == "demo":
        if args.real and (args.size is not None or args.seed is not None):
            p_demo.error("--size and --seed choose the simulated frame: they cannot be used "
                         "with --real")
        run_demo(args.outdir, real=args.real, size=args.size,
                 seed=0 if args.seed is None else args.seed, frames=args.frames)
    elif args.command == "info":
        return commands._run_info(args.files, as_json=args.json, show_traceback=show_traceback)
    elif args.command == "lightcurve":
        return commands._run_lightcurve(args)
    elif hasattr(args, "func"):
        return args.func(args)
    elif args.command == "fetch-data":
        from .. import datasets
        for path in datasets.get_real_quadrant():
            print(path)
    return EXIT_OK


def main(argv=None) -> int:
    """Entry point of the ``ztfimg`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 success, 1 runtime error, 2 usage error, 3 internal error (a bug), 130
        interrupted. Errors are one line on stderr, ``ztfimg: error: <message>``; the full
        traceback with ``--traceback`` or ``ZTFIMG_TRACEBACK=1``.
    """
    argv = sys.argv[1:] if argv is None else [os.fspath(a) for a in argv]
    show_traceback = _traceback_wanted(argv)
    with warnings.catch_warnings():
        if not show_traceback:
            warnings.showwarning = _show_warning
        try:
            return _dispatch(argv, show_traceback)
        except UsageError as exc:  # argparse internals: no traceback to show
            _report(_user_message(exc), False)
            return EXIT_USAGE
        except KeyboardInterrupt:
            print("ztfimg: interrupted", file=sys.stderr, flush=True)
            return EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader went away (``ztfimg info ... | head``): stop quietly
            _silence_stdout()
            return EXIT_RUNTIME
        except (ZTFImgError, OSError, MemoryError) as exc:
            _report(_user_message(exc), show_traceback)
            return EXIT_RUNTIME
        except Exception as exc:
            _report(_bug_message(exc), show_traceback, kind="internal error")
            return EXIT_BUG


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
