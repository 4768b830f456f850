"""Shared pieces of the ``ztfimg`` command line: exit statuses, the demo's size range,
argument checks, one-line error messages."""

from __future__ import annotations

import argparse
import operator
import os
import re
import sys
import tempfile
import traceback

from ..errors import InvalidParameterError, ZTFImgError

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


#: Fewest frames of the season: broeg2005 needs a few points per comparison star.
MIN_SEASON_FRAMES = 5
#: Most frames of the season (the demo is a demo: about a second a frame).
MAX_SEASON_FRAMES = 200


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


def _check_frames(frames):
    """The demo's season length: 0 (no season) or MIN_SEASON_FRAMES to MAX_SEASON_FRAMES."""
    value = _as_int(frames)
    if value is None or not (value == 0 or MIN_SEASON_FRAMES <= value <= MAX_SEASON_FRAMES):
        raise InvalidParameterError(
            f"the number of season frames must be 0 (no season) or an integer from "
            f"{MIN_SEASON_FRAMES} to {MAX_SEASON_FRAMES}, got {frames!r}")
    return value


def _frames_argument(text):
    """argparse type of ``--frames``."""
    return _int_argument(text, _check_frames)


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
