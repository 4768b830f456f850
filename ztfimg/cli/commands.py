"""The ``ztfimg`` sub-commands other than ``demo``: info, lightcurve and the rest."""

from __future__ import annotations

import json
import os

from ..errors import InvalidParameterError, MissingFileError, ZTFImgError
from ._common import (EXIT_BUG, EXIT_OK, EXIT_RUNTIME, _MASK_NAME, _bug_message, _log,
                      _report, _user_message)


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
    from ..bitmask import has_mask_legend
    from ..errors import FileFormatError
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
    from .. import filenames
    from ..errors import FileFormatError, FileNameError
    from ..fitsio import read_fits
    from ..image import ReferenceImage, ScienceImage

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
    from .. import filenames
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

    from ..collection import ImageCollection
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

