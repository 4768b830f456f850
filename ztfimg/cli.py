"""The ``ztfimg`` command line (also ``python -m ztfimg``).

Commands
--------
``ztfimg demo [--outdir DIR] [--real] [--size N] [--seed S]``
    The main job on a built-in default, offline: simulate a ZTF quadrant (or use the real
    sample quadrant with ``--real`` when it is cached), load it as a ScienceImage, measure it
    and write pictures and tables to ``DIR``.
``ztfimg info [--json] FILE [FILE ...]``
    Each ZTF image with the mask beside it: the ScienceImage (or ReferenceImage) summary and
    the masked pixels. A file that cannot be read is reported on stderr and the others go on.
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
import json
import operator
import os
import re
import sys
import tempfile
import textwrap
import time
import traceback
import warnings

from .errors import InvalidParameterError, MissingFileError, ZTFImgError

__all__ = ["main", "run_demo", "UsageError", "MIN_DEMO_SIZE", "MAX_DEMO_SIZE",
           "EXIT_OK", "EXIT_RUNTIME", "EXIT_USAGE", "EXIT_BUG", "EXIT_INTERRUPTED"]

#: Exit statuses of the ``ztfimg`` command.
EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, EXIT_BUG, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: Smallest side (pixels) of the demo's simulated frame. The simulator takes 16 and the sep
#: background mesh 64, but the demo fits a zero point on the PS1-like stars in the frame:
#: below this side some seeds leave fewer than the 5 calibrators the fit needs. Measured:
#: 13 of 40 seeds fail at 200 px, 2 of 40 at 256, 1 of 440 at 320; none of 300 at 384, where
#: the fewest calibrators of a seed is 11 (26 on average).
MIN_DEMO_SIZE = 384
#: Largest side: a square frame that fits in a ZTF quadrant (3080 x 3072).
MAX_DEMO_SIZE = 3072

_TRACEBACK_ENV = "ZTFIMG_TRACEBACK"
_MASK_NAME = re.compile(r"_mskimg\.fits(\.fz|\.gz)?$")


class UsageError(ZTFImgError, ValueError):
    """The command line is wrong: an unknown option, a missing or invalid value."""


def _log(msg):
    print(msg, flush=True)


def _one_line(text):
    """``text`` with its line breaks and runs of blanks folded into single spaces."""
    return " ".join(str(text).split())


# ---------------------------------------------------------------------------- validation
def _as_int(value):
    """``value`` as a Python int when it is an integer (not a bool), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def _check_seed(seed):
    """The demo's simulation seed as an int, or InvalidParameterError."""
    value = _as_int(seed)
    if value is None or value < 0:
        raise InvalidParameterError(f"the seed must be a non-negative integer, got {seed!r}")
    return value


def _check_size(size):
    """The demo's frame side as an int within the supported range, or InvalidParameterError."""
    value = _as_int(size)
    if value is None or not MIN_DEMO_SIZE <= value <= MAX_DEMO_SIZE:
        raise InvalidParameterError(
            f"the frame side must be an integer from {MIN_DEMO_SIZE} to {MAX_DEMO_SIZE} pixels, "
            f"got {size!r} (below {MIN_DEMO_SIZE} px the frame holds too few PS1 stars for the "
            "zero-point fit; a quadrant is 3080x3072; omit --size for a full quadrant)")
    return value


def _int_argument(text, check):
    """argparse type helper: parse an integer and apply ``check``."""
    try:
        value = int(text)
    except ValueError:
        value = text
    try:
        return check(value)
    except InvalidParameterError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _seed_argument(text):
    """argparse type of ``--seed``: a non-negative integer."""
    return _int_argument(text, _check_seed)


def _size_argument(text):
    """argparse type of ``--size``: an integer from MIN_DEMO_SIZE to MAX_DEMO_SIZE."""
    return _int_argument(text, _check_size)


def _outdir_argument(text):
    """argparse type of ``--outdir``: a directory that can be created and written.

    The check creates what is missing, writes a temporary file in it and removes what it
    created, so that a bad directory is reported before the work starts and a good one is
    left as it was.

    Parameters
    ----------
    text : str
        The directory given on the command line.

    Returns
    -------
    str
        ``text`` unchanged.

    Raises
    ------
    argparse.ArgumentTypeError
        When a part of the path is not a directory, or it cannot be created or written.
    """
    if not text.strip():
        raise argparse.ArgumentTypeError("the output directory must be a non-empty path")
    path = os.path.abspath(text)
    missing = []
    existing = path
    while not os.path.lexists(existing):
        missing.append(existing)              # deepest first
        parent = os.path.dirname(existing)
        if parent == existing:
            break
        existing = parent
    if os.path.lexists(existing) and not os.path.isdir(existing):
        shown = existing if os.path.isabs(text) else os.path.relpath(existing)
        where = "it" if existing == path else repr(shown)
        raise argparse.ArgumentTypeError(
            f"cannot use {text!r} as the output directory: {where} exists and is not a "
            "directory; give a directory path")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        verb = "create" if missing else "write in"
        raise argparse.ArgumentTypeError(
            f"cannot {verb} the output directory {text!r}: {exc.strerror or exc}; give a "
            "writable directory") from None
    finally:
        for made in missing:
            try:
                os.rmdir(made)
            except OSError:
                pass
    return text


# ---------------------------------------------------------------------------- demo
def run_demo(outdir="ztfimg-demo", real=False, size=None, seed=0):
    """Run the demo pipeline and return a dict of what it produced.

    On a simulated quadrant (default): a PS1-like sky is drawn with a DAOPhot PSF (written
    beside the frame as IPAC does), then loaded, background-estimated, sources extracted,
    aperture and forced PSF photometry compared with the truth, and the zero point and
    colour term fitted against the "PS1" catalogue. With ``real=True`` the cached real
    quadrant is measured (no truth, no PSF file, no catalogue: offline).

    Parameters
    ----------
    outdir : str, default 'ztfimg-demo'
        Output directory (created): ``frame.png``, ``stamps.png``, ``zeropoint.png``,
        ``sources.csv``.
    real : bool, default False
        Use the real sample quadrant (must be cached, see ``ztfimg fetch-data``).
    size : int, optional
        Side of a smaller simulated frame, :data:`MIN_DEMO_SIZE` to :data:`MAX_DEMO_SIZE`
        pixels (default: a full 3080x3072 quadrant).
    seed : int, default 0
        Seed of the simulation, a non-negative integer.

    Returns
    -------
    dict
        Paths written and summary numbers.

    Raises
    ------
    InvalidParameterError
        If ``size`` or ``seed`` is out of range.
    OfflineError
        With ``real=True`` when the real quadrant is not cached.
    OSError
        If ``outdir`` cannot be created or written.
    """
    size = None if size is None else _check_size(size)
    seed = _check_seed(seed)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from astropy.stats import mad_std

    from . import datasets, simulate
    from .dao import DAOPhotPSF as DAOPhotReader
    from .image import ScienceImage

    os.makedirs(outdir, exist_ok=True)
    out = {}
    t0 = time.perf_counter()
    truth = ps1 = None
    if real:
        sciimg, mskimg = datasets.get_real_quadrant(offline=True)
        _log(f"real ZTF quadrant: {os.path.basename(sciimg)}")
    else:
        shape = (3080, 3072) if size is None else (int(size), int(size))
        radius = 0.45 * np.hypot(*shape) / np.hypot(3080, 3072) * 1.35
        ps1 = simulate.ps1_like_catalog(55.0608, 33.35, radius, int(16000 * np.pi * radius**2), seed=seed)
        psf = DAOPhotReader.synthetic(hwhm=1.0, seed=seed, xpsf=shape[1] / 2 - 0.5, ypsf=shape[0] / 2 - 0.5)
        frame = simulate.simulate_quadrant(shape=shape, seed=seed, catalog=ps1, psf=psf,
                                           magzp=26.25, clrcoeff=0.09)
        sciimg, mskimg = frame.write(os.path.join(outdir, "data"))[:2]
        truth = frame.truth
        _log(f"simulated ZTF quadrant ({shape[1]}x{shape[0]}, {int(truth['inside'].sum())} stars "
             f"from a PS1-like catalogue, DAOPhot PSF, seed {seed}) written to {os.path.dirname(sciimg)}")
    img = ScienceImage.from_filename(sciimg)
    _log(repr(img))
    mask = img.get_mask()
    ra, dec = img.get_center("radec")
    _log(f"  centre RA {ra:.5f} Dec {dec:.5f} deg; masked pixels {int(mask.sum())} "
         f"({100 * mask.mean():.3f}%); gain {img.gain} e-/DN; saturation {img.saturation:.0f} DN")

    img.load_source_background()
    src = img.extract_sources(thresh=5, setmag=True)
    _log(f"  background {img.background.globalback:.2f} DN, rms {img.background.globalrms:.2f} DN; "
         f"{len(src)} sources at 5 sigma")
    src_path = os.path.join(outdir, "sources.csv")
    src.to_csv(src_path, index=False)
    out.update(image=img, sources=src_path)

    if truth is not None:
        t = truth[truth["inside"] & (truth["snr"] > 20)]
        t = t[t["x"].between(20, img.shape[1] - 21) & t["y"].between(20, img.shape[0] - 21)]
        ap = img.aperture_photometry(t["x"], t["y"], 5.0, apcor=True)
        ok = ap["aper_flag"].to_numpy() == 0
        ratio_ap = np.median(ap["sum_apcor"].to_numpy()[ok] / t["flux"].to_numpy()[ok])
        pp = img.get_psf_photometry(t["x"], t["y"])
        okp = pp["psf_flag"].to_numpy() == 0
        ratio_psf = np.median(pp["flux"].to_numpy()[okp] / t["flux"].to_numpy()[okp])
        pull = (pp["flux"].to_numpy() - t["flux"].to_numpy())[okp] / pp["fluxerr"].to_numpy()[okp]
        _log(f"  {ok.sum()} bright stars: aperture (r=5 px + APCOR) / true flux = {ratio_ap:.4f}; "
             f"PSF fit / true flux = {ratio_psf:.4f} (pull robust std "
             f"{mad_std(pull):.2f})")
        img.set_catalog(ps1, "ps1", kind="ps1", inside_only=True)
        zp = img.fit_zeropoint("ps1")
        _log(f"  zero point vs PS1: {zp.zp:.4f} +- {zp.zp_err:.4f} (injected 26.25), colour term "
             f"{zp.clrcoeff:.4f} +- {zp.clrcoeff_err:.4f} (injected 0.09), {zp.nstars} stars, "
             f"rms {zp.rms:.3f} mag")
        axes = zp.show()
        fig = np.ravel(axes)[0].figure
        zpng = os.path.join(outdir, "zeropoint.png")
        fig.savefig(zpng, dpi=80, bbox_inches="tight")
        plt.close(fig)
        out.update(zeropoint=zp, zeropoint_png=zpng)
        overlay = "ps1"
    else:
        overlay = "sources"

    # the whole frame, and a 300 px zoom with the catalogue (or sources) circled
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 6))
    img.show(ax=ax1)
    marks = img.catalogs.get(overlay) if overlay != "sources" else img.sources
    cx, cy = img.get_center()
    x0, y0 = cx - 150, cy - 150
    zoom = marks[marks["x"].between(x0, x0 + 300) & marks["y"].between(y0, y0 + 300)]
    if "mag" in zoom:
        zoom = zoom[zoom["mag"] < 20]
    img.show(ax=ax2, overlay=zoom, title=f"zoom, {overlay} circled")
    ax2.set_xlim(x0, x0 + 300)
    ax2.set_ylim(y0, y0 + 300)
    ax1.add_patch(plt.Rectangle((x0, y0), 300, 300, fill=False, color="tab:orange", lw=1.5))
    png = os.path.join(outdir, "frame.png")
    fig.savefig(png, dpi=80, bbox_inches="tight")
    plt.close(fig)
    bright = src[(src["sep_flag"] == 0)].nsmallest(4, "mag")
    fig, axs = plt.subplots(1, len(bright), figsize=(3 * len(bright), 3))
    for axi, (_, row) in zip(np.ravel(axs), bright.iterrows()):
        img.get_stamp(row["x"], row["y"], dx=23).show(ax=axi)
        axi.set_title(f"mag {row['mag']:.2f}")
    spng = os.path.join(outdir, "stamps.png")
    fig.savefig(spng, dpi=80, bbox_inches="tight")
    plt.close(fig)
    out.update(png=png, stamps_png=spng)
    _log(f"  pictures: {png}, {spng}" + (f", {out['zeropoint_png']}" if "zeropoint_png" in out else ""))
    _log(f"done in {time.perf_counter() - t0:.1f} s")
    return out


# ---------------------------------------------------------------------------- info
def _science_name(path):
    """The science image a mask file belongs to (same directory), or None."""
    base = os.path.basename(path)
    if "_mskimg." not in base:
        return None
    return os.path.join(os.path.dirname(path), base.replace("_mskimg.", "_sciimg.", 1))


def _refuse_mask(path, header=None):
    """Raise FileFormatError when ``path`` is a ZTF bit mask (by name, or an integer image
    with the mask legend) given where an image goes."""
    from .bitmask import has_mask_legend
    from .errors import FileFormatError
    if header is None:
        if not _MASK_NAME.search(os.path.basename(path)):
            return
        why = "its name ends in _mskimg"
    else:
        if not (int(header.get("BITPIX", -32)) > 0 and has_mask_legend(header)):
            return
        why = f"integer BITPIX={header['BITPIX']} with the mask-bit legend"
    sci = _science_name(path)
    instead = (f"give the science image {sci!r} instead (its mask is found beside it)" if sci
               else "give the science image it belongs to instead")
    raise FileFormatError(f"{path!r} is a ZTF bit mask ({why}), not a science image: {instead}")


def _open_image(path):
    """Open ``path`` for ``ztfimg info``: a reference image, a science image with the mask
    beside it when present, or any other FITS image (no mask); bit masks are refused.

    Returns
    -------
    ztfimg.image.ZTFImage

    Raises
    ------
    ZTFImgError
        MissingFileError, FileNameError or FileFormatError saying what is wrong.
    """
    from . import filenames
    from .errors import FileFormatError, FileNameError
    from .fitsio import read_fits
    from .image import ReferenceImage, ScienceImage

    _refuse_mask(path)
    rec = filenames.parse(path) if filenames.is_ztf_filename(path) else None
    resolved = filenames.find_file(path)                  # a bare name: the $ZTFDATA mirror
    _, header = read_fits(resolved, header_only=True)
    _refuse_mask(path, header)
    xtension = str(header.get("XTENSION", "IMAGE")).strip().upper()
    if xtension != "IMAGE" or int(header.get("NAXIS", 0)) != 2:
        raise FileFormatError(f"{path!r} holds no 2-D image (XTENSION={xtension}, NAXIS="
                              f"{header.get('NAXIS', 0)}): give a *_sciimg.fits or *_refimg.fits")
    if rec is not None and rec.kind == "raw":
        raise FileNameError(f"{path!r} is a raw CCD exposure (four quadrants): ztfimg info reads "
                            "the processed quadrants, *_sciimg.fits and *_refimg.fits")
    if rec is not None and rec.kind == "reference":
        return ReferenceImage.from_filename(resolved)
    if rec is not None and rec.suffix.startswith("sciimg."):
        return ScienceImage.from_filename(resolved, require_mask=False)
    return ScienceImage(resolved)


def _header_value(img, name):
    """A header property of ``img`` as a JSON value, or None when absent or unusable."""
    try:
        value = getattr(img, name)
        if name == "obstime":
            value = value.isot
    except (ZTFImgError, ValueError, KeyError, TypeError):  # HeaderKeywordError included
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:  # NaN
        return None
    return value


def _describe_image(img):
    """The ``info`` record of an opened image: summary line, header values and mask counts."""
    data = img.data                                 # read the pixels: a truncated file fails here
    record = {"type": type(img).__name__, "summary": repr(img), "shape": list(data.shape)}
    for key, name in (("fieldid", "fieldid"), ("ccdid", "ccdid"), ("qid", "qid"),
                      ("filter", "filtername"), ("obs", "obstime"), ("magzp", "magzp"),
                      ("seeing", "seeing")):
        record[key] = _header_value(img, name)
    record.update(mask=img.maskfile, masked_pixels=None, masked_fraction=None)
    if img.has_mask:
        masked = img.get_mask()                     # the detection selection (+ NaN pixels)
        record["masked_pixels"] = int(masked.sum())
        record["masked_fraction"] = float(masked.mean())
    return record


def _info_text(record):
    """The text lines ``ztfimg info`` prints for one good file."""
    from . import filenames
    lines = [record["summary"]]
    name = os.path.basename(record["file"])
    if record["mask"]:
        npix = record["shape"][0] * record["shape"][1]
        lines.append(f"  mask {os.path.basename(record['mask'])}: {record['masked_pixels']} of "
                     f"{npix} pixels masked ({100 * record['masked_fraction']:.3f}%, detection "
                     "selection: every bit but 1 and 11, and NaN pixels)")
    elif (record["type"] == "ScienceImage" and filenames.is_ztf_filename(name)
          and filenames.parse(name).suffix.startswith("sciimg.")):
        lines.append(f"  no mask: {filenames.sibling(name, 'mskimg')} is not beside it")
    return lines


def _run_info(files, as_json=False, show_traceback=False):
    """``ztfimg info``: describe each file, report each bad one on stderr and go on.

    Returns
    -------
    int
        EXIT_OK, EXIT_RUNTIME when any file failed, EXIT_BUG when any failed on a bug.
    """
    records, status = [], EXIT_OK
    for path in files:
        try:
            record = {"file": path, "ok": True, "error": None}
            record.update(_describe_image(_open_image(path)))
        except (ZTFImgError, OSError, MemoryError) as exc:
            message = _user_message(exc)
            if path not in message and os.path.basename(path) not in message:
                message = f"{path}: {message}"
            _report(message, show_traceback)
            record = {"file": path, "ok": False, "error": message}
            status = max(status, EXIT_RUNTIME)
        except Exception as exc:  # a bug: say so, go on with the other files
            message = f"{path}: {_bug_message(exc)}"
            _report(message, show_traceback, kind="internal error")
            record = {"file": path, "ok": False, "error": message}
            status = EXIT_BUG
        records.append(record)
        if not as_json and record["ok"]:
            for line in _info_text(record):
                _log(line)
    if as_json:
        print(json.dumps(records, indent=1), flush=True)
    return status


# ---------------------------------------------------------------------------- errors
def _run_lightcurve(args):
    """``ztfimg lightcurve``: forced photometry of one position over many frames."""
    import numpy as np

    from .collection import ImageCollection
    if args.files:
        col = ImageCollection.from_files(args.files)
    else:
        _log(f"searching IRSA for frames covering ({args.ra:g}, {args.dec:g})")
        col = ImageCollection.from_sky(args.ra, args.dec, filters=args.filters,
                                       start=args.start, end=args.end, root=args.root,
                                       progress=True)
    if len(col) == 0:
        raise MissingFileError("no frame to measure: give files, or a position that some "
                               "frames cover (check --filters/--start/--end)")
    client = "processes" if args.workers and args.workers > 1 else None
    lc = col.forced_photometry(args.ra, args.dec, radius=args.radius, bkgann=tuple(args.bkgann),
                               method=args.method, client=client,
                               n_workers=args.workers if client else None, progress=True)
    if args.out:
        if args.out.endswith(".phots"):
            lc.save(args.out, overwrite=True)
        elif args.out.endswith(".parquet"):
            lc.to_parquet(args.out)
        else:
            raise InvalidParameterError(f"--out must end in .phots or .parquet; got {args.out!r}")
    if args.png:
        import matplotlib
        matplotlib.use("Agg")
        ax = lc.plot(0)
        ax.figure.savefig(args.png, dpi=110, bbox_inches="tight")
    table = lc.get_lightcurve(0)
    summary = {"frames": int(lc.n_times), "failed": int(len(lc.failed)),
               "apertures": [float(r) for r in lc.apertures],
               "good_points": int((table["flag"] == 0).sum()),
               "median_flux_ujy": float(np.nanmedian(table["flux"])),
               "median_mag": float(np.nanmedian(table["mag"])),
               "out": args.out, "png": args.png}
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['frames']} frames ({summary['failed']} failed), "
              f"{summary['good_points']} good points; median {summary['median_flux_ujy']:.6g} "
              f"uJy ({summary['median_mag']:.3f} AB mag, aperture {lc.apertures[0]:g} px)"
              + (f"; wrote {args.out}" if args.out else "")
              + (f", {args.png}" if args.png else ""))
    return EXIT_OK


def _traceback_wanted(argv):
    """True with ``--traceback`` before any ``--`` in ``argv`` or ``ZTFIMG_TRACEBACK`` set."""
    env = os.environ.get(_TRACEBACK_ENV, "").strip().lower()
    if env not in ("", "0", "false", "no", "off"):
        return True
    args = argv[:argv.index("--")] if "--" in argv else argv
    return "--traceback" in args


def _user_message(exc):
    """One line for a user-facing error (ZTFImgError, OSError, MemoryError)."""
    if isinstance(exc, MemoryError):
        return "out of memory" + (f": {_one_line(exc)}" if str(exc) else "")
    if isinstance(exc, OSError) and not isinstance(exc, ZTFImgError) and exc.strerror:
        where = f" {exc.filename!r}" if exc.filename else ""
        return _one_line(f"{exc.strerror}:{where}" if where else exc.strerror)
    return _one_line(exc) or type(exc).__name__


def _bug_message(exc):
    """One line for an unexpected exception: what it was, and what to do."""
    text = _one_line(exc)
    return (f"{type(exc).__name__}{': ' + text if text else ''} (a bug in ztfimg: run again with "
            f"--traceback or {_TRACEBACK_ENV}=1 and report it)")


def _report(message, show_traceback, kind="error"):
    """Print ``ztfimg: <kind>: message`` on stderr, after the traceback when asked."""
    if show_traceback:
        traceback.print_exc(file=sys.stderr)
    print(f"ztfimg: {kind}: {message}", file=sys.stderr, flush=True)


def _silence_stdout():
    """Point stdout at /dev/null so that the interpreter's final flush does not fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (captured in-process)
        pass


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings as one line, ``ztfimg: warning: <message> (<category>)``."""
    stream = sys.stderr if file is None else file
    try:
        stream.write(f"ztfimg: warning: {_one_line(message)} ({category.__name__})\n")
    except OSError:
        pass


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
    from . import __version__
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
        description=_fill("Simulate a ZTF quadrant (or load the cached real one), measure it and "
                    "write frame.png, stamps.png, zeropoint.png and sources.csv."))
    p_demo.add_argument("--outdir", default="ztfimg-demo", type=_outdir_argument,
                        help="output directory, created if needed (default ztfimg-demo)")
    p_demo.add_argument("--real", action="store_true",
                        help="use the cached real sample quadrant (see 'ztfimg fetch-data')")
    p_demo.add_argument("--size", type=_size_argument, default=None, metavar="N",
                        help=f"side of a smaller simulated frame, {MIN_DEMO_SIZE} to "
                             f"{MAX_DEMO_SIZE} pixels (default: a full 3080x3072 quadrant)")
    p_demo.add_argument("--seed", type=_seed_argument, default=None, metavar="S",
                        help="simulation seed, a non-negative integer (default 0)")
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
        parser.error("a command is required: demo, info, lightcurve or fetch-data")
    if args.command == "demo":
        if args.real and (args.size is not None or args.seed is not None):
            p_demo.error("--size and --seed choose the simulated frame: they cannot be used "
                         "with --real")
        run_demo(args.outdir, real=args.real, size=args.size,
                 seed=0 if args.seed is None else args.seed)
    elif args.command == "info":
        return _run_info(args.files, as_json=args.json, show_traceback=show_traceback)
    elif args.command == "lightcurve":
        return _run_lightcurve(args)
    elif args.command == "fetch-data":
        from . import datasets
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
