"""The DAOPhot ``.psf`` text format: read and write IPAC ``*_sciimgdao.psf`` files.

A DAOPHOT II PSF file is Fortran fixed-width text (checked on real ZTF files):

* line 1, ``(1X, A8, 4I5, F9.3, F15.3, 2F9.1)``: label, NPSF, NPAR, NEXP, NFRAC,
  PSFMAG, BRIGHT, XPSF, YPSF;
* line 2: the NPAR parameters of the analytic profile, ``(1X, 6E13.6)``;
* then NEXP + NFRAC tables of NPSF x NPSF values, each starting on a new line,
  ``(1X, 6E13.6)``, x running fastest.

Fields are fixed-width and may touch (``1.0E+00-2.4E+00``): they are read by
13-character columns, never split on blanks.

The reader is strict, as a file from the outside world must be met: every field
is an ASCII Fortran number (no NaN, inf, underscores or other scripts' digits),
records end with a newline, the number of lines matches the header, and the
values must give a model that can be evaluated: NPSF odd and at most
:data:`MAX_NPSF` (DAOPHOT's own limit, so that no header can ask for gigabytes),
numbers finite and below :data:`MAX_VALUE`, PSFMAG within :data:`MAX_PSFMAG`,
XPSF/YPSF in (0, :data:`MAX_XYPSF`), half widths of at least :data:`MIN_HWHM`.
Anything else is a :class:`~ztfimg.errors.PSFFileError` naming the line and field.

Reading gives a plain dict of the file's values (:func:`parse_psf_string`,
:func:`read_psf_file`); writing takes the same dict (:func:`format_psf_string`,
:func:`write_psf_file`) and reproduces IPAC files byte for byte.  The model
built on these values is :class:`ztfimg.dao.model.DAOPhotPSF`.

Examples
--------
>>> from ztfimg.dao.fileformat import read_psf_file, write_psf_file  # doctest: +SKIP
>>> fields = read_psf_file("ztf_..._sciimgdao.psf")                   # doctest: +SKIP
>>> fields["label"], fields["tables"].shape                           # doctest: +SKIP
('GAUSSIAN', (3, 47, 47))
>>> write_psf_file("copy.psf", fields)                                # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

from ..errors import InvalidParameterError, MissingFileError, PSFFileError
from .profiles import _VALID_NEXP, PROFILES

__all__ = ["parse_psf_string", "read_psf_file", "format_psf_string", "write_psf_file"]

_FIELD = 13          # width of an E13.6 field
_PER_LINE = 6        # E13.6 fields per line
#: Keys of the dict returned by :func:`parse_psf_string`, in file order.
_KEYS = ("label", "npsf", "npar", "nexp", "nfrac", "psfmag", "bright", "xpsf", "ypsf",
         "params", "tables")


# ============================================================================ #
#  Limits                                                                      #
# ============================================================================ #
#: Largest NPSF accepted: DAOPHOT II's own table size limit (``MAXPSF = 207`` in its
#: source, a PSF radius of 51 pixels); it bounds the memory a file can ask for.
MAX_NPSF = 207
#: Largest magnitude of a parameter, table value or BRIGHT (what E13.6 writes, and what
#: keeps every sum of the model finite).
MAX_VALUE = 1e99
#: PSFMAG must lie within +-MAX_PSFMAG (the flux scale ``10**(0.4*(25 - PSFMAG))`` stays finite).
MAX_PSFMAG = 100.0
#: XPSF, YPSF must be below this (the F9.1 field), and > 0.
MAX_XYPSF = 1e7
#: Smallest half width at half maximum (P1, P2, pixels) of the analytic profile.
MIN_HWHM = 1e-6


def _model_value_problem(label, npsf, params, psfmag, bright, xpsf, ypsf, tables):
    """Why these model values cannot be evaluated (a sentence), or None when they can.

    Shared by the parser (which raises PSFFileError) and ``DAOPhotPSF.from_arrays``
    (InvalidParameterError).  ``params`` and ``tables`` are float arrays.
    """
    if not (npsf % 2 == 1 and 5 <= npsf <= MAX_NPSF):
        return (f"NPSF={npsf}: the table size must be odd and within 5-{MAX_NPSF} "
                "(DAOPHOT's limit)")
    psfmag, bright, xpsf, ypsf = float(psfmag), float(bright), float(xpsf), float(ypsf)
    for name, v, lo, hi in (("PSFMAG", psfmag, -MAX_PSFMAG, MAX_PSFMAG),
                            ("BRIGHT", bright, -MAX_VALUE, MAX_VALUE)):
        if not (math.isfinite(v) and lo <= v <= hi):
            return f"{name}={v!r} must be a finite number within {lo:g} .. {hi:g}"
    for name, v in (("XPSF", xpsf), ("YPSF", ypsf)):
        if not (math.isfinite(v) and 0 < v < MAX_XYPSF):
            return (f"{name}={v!r} must be > 0 and < {MAX_XYPSF:g} (the frame centre, "
                    "1535.5/1539.5 for a ZTF quadrant)")
    bad = np.flatnonzero(~(np.isfinite(params) & (np.abs(params) < MAX_VALUE)))
    if bad.size:
        i = int(bad[0])
        return (f"analytic parameter P{i + 1}={float(params[i])!r} is not a finite number below "
                f"{MAX_VALUE:g} in magnitude")
    for i in range(min(2, params.size)):
        if not params[i] >= MIN_HWHM:
            return (f"{label} half width P{i + 1}={float(params[i])!r} must be >= {MIN_HWHM:g} "
                    "pixels (a half width at half maximum)")
    flat = tables.reshape(-1)
    ok = np.isfinite(flat) & (np.abs(flat) < MAX_VALUE)
    if not ok.all():
        k, j, i = np.unravel_index(int(np.flatnonzero(~ok)[0]), tables.shape)
        return (f"look-up table {k + 1}, row {j + 1}, column {i + 1} holds "
                f"{float(tables[k, j, i])!r}, "
                f"not a finite number below {MAX_VALUE:g} in magnitude")
    return None


# ============================================================================ #
#  Parsing                                                                     #
# ============================================================================ #
# Fortran fields, ASCII only: integers (I5) and reals (F9.3, E13.6, with a D exponent or
# the exponent-without-E form Fortran uses for three-digit exponents, 1.000000+100).
_INT_RE = re.compile(r" *[+-]?[0-9]+ *", re.ASCII)
_REAL_RE = re.compile(
    r" *(?P<mant>[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+))"
    r"(?:[EeDd](?P<exp>[+-]?[0-9]{1,3})|(?P<bare>[+-][0-9]{1,3}))? *", re.ASCII)
# Characters that can appear in a block of E13.6 fields; anything else is corruption.
_NOT_NUMERIC = re.compile(r"[^0-9 +\-.EeDd]", re.ASCII)


def _ffloat(field, where):
    """Parse one Fortran real field (``E13.6``, ``F9.3`` ...), strictly (ASCII, no NaN).

    Accepts ``D`` exponents and the exponent-without-``E`` form Fortran uses
    for three-digit exponents (``1.000000+100``).  Raises PSFFileError naming
    ``where`` otherwise.
    """
    m = _REAL_RE.fullmatch(field)
    if not m:
        raise PSFFileError(
            f"DAOPhot PSF: cannot read a number from {field!r} ({where}); expected a Fortran "
            "real such as ' 1.234567E+00'. The file is corrupt or not a DAOPHOT .psf file.")
    exp = m["exp"] if m["exp"] is not None else m["bare"]
    return float(m["mant"] + ("" if exp is None else "E" + exp))


def _fint(field, name):
    if not _INT_RE.fullmatch(field):
        raise PSFFileError(
            f"DAOPhot PSF header: {name} must be an integer in its fixed-width field, "
            f"found {field!r}. Is this a DAOPHOT .psf file?")
    return int(field)


def _as_text(text):
    """The file content as str: bytes decoded as ASCII (bad bytes become U+FFFD)."""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text).decode("ascii", errors="replace")
    if not isinstance(text, str):
        raise InvalidParameterError(
            f"parse_psf_string: text must be the content of a .psf file as a str (or bytes), "
            f"found {type(text).__name__}; use read_psf_file to read a file by name")
    return text


def parse_psf_string(text, source="<string>"):
    """Parse the text of a DAOPhot PSF file.

    Parameters
    ----------
    text : str or bytes
        Whole file content (bytes are decoded as ASCII; a DAOPHOT file is ASCII).
    source : str, optional
        Name used in error messages (default ``"<string>"``).

    Returns
    -------
    dict
        Keys ``label`` (str), ``npsf``, ``npar``, ``nexp``, ``nfrac`` (int),
        ``psfmag`` (mag), ``bright`` (DN), ``xpsf``, ``ypsf`` (1-based pixels,
        as in the file), ``params`` (float ndarray of length NPAR) and
        ``tables`` (float ndarray of shape ``(NEXP, NPSF, NPSF)`` indexed
        ``[k, y, x]``).

    Raises
    ------
    PSFFileError
        Malformed or truncated file (a field that is not an ASCII Fortran number,
        a wrong number of lines), unknown profile label, NPAR inconsistent with the
        label, NEXP not in {0, 1, 3, 6, 10}, NFRAC != 0 (fractional-pixel tables are
        not supported), NPSF even or outside 5 .. :data:`MAX_NPSF`, or values the
        model cannot be evaluated with: non-finite or huge (>= :data:`MAX_VALUE`)
        numbers, PSFMAG beyond +-:data:`MAX_PSFMAG`, XPSF/YPSF not in
        (0, :data:`MAX_XYPSF`), half widths below :data:`MIN_HWHM`.
    InvalidParameterError
        ``text`` is neither a str nor bytes.
    """
    text = _as_text(text)
    # Fortran records end with a newline; other Unicode line breaks are data (corruption)
    lines = [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        raise PSFFileError(f"DAOPhot PSF {source}: the file is empty.")
    head = lines[0].rstrip()
    if len(head) < 71:
        raise PSFFileError(
            f"DAOPhot PSF {source}: header line is {len(head)} characters long, expected 71 "
            "(format 1X,A8,4I5,F9.3,F15.3,2F9.1); the file is truncated or not a DAOPHOT PSF.")
    label = head[1:9].strip().upper()
    if label not in PROFILES:
        raise PSFFileError(
            f"DAOPhot PSF {source}: unknown analytic profile label {label!r}; expected one of "
            f"{', '.join(PROFILES)}.")
    npsf = _fint(head[9:14], "NPSF")
    npar = _fint(head[14:19], "NPAR")
    nexp = _fint(head[19:24], "NEXP")
    nfrac = _fint(head[24:29], "NFRAC")
    psfmag = _ffloat(head[29:38], "PSFMAG")
    bright = _ffloat(head[38:53], "BRIGHT")
    xpsf = _ffloat(head[53:62], "XPSF")
    ypsf = _ffloat(head[62:71], "YPSF")
    if npar != PROFILES[label]:
        raise PSFFileError(
            f"DAOPhot PSF {source}: profile {label} has {PROFILES[label]} parameters, "
            f"the header says NPAR={npar}.")
    if nexp not in _VALID_NEXP:
        raise PSFFileError(
            f"DAOPhot PSF {source}: NEXP={nexp} is not a DAOPHOT spatial order; expected one of "
            "1, 3, 6, 10 (constant, linear, quadratic, cubic) or 0 (analytic only).")
    if nfrac != 0:
        raise PSFFileError(
            f"DAOPhot PSF {source}: NFRAC={nfrac}: fractional-pixel look-up tables are not "
            "supported by ztfimg (IPAC ZTF files have NFRAC=0).")
    if npsf < 5:
        raise PSFFileError(f"DAOPhot PSF {source}: NPSF={npsf} is too small (need >= 5).")
    if npsf > MAX_NPSF or npsf % 2 == 0:
        raise PSFFileError(
            f"DAOPhot PSF {source}: NPSF={npsf}: the table size must be odd and at most "
            f"{MAX_NPSF} (DAOPHOT's own limit; ZTF files have 47). The header is corrupt.")
    if not (xpsf > 0 and ypsf > 0):
        raise PSFFileError(f"DAOPhot PSF {source}: XPSF, YPSF must be > 0, got {xpsf}, {ypsf}.")
    if len(lines) < 2:
        raise PSFFileError(f"DAOPhot PSF {source}: truncated after the header line (no parameters).")
    params = np.array(_read_fields(lines[1], npar, f"{source} line 2"), dtype=float)

    body = lines[2:]
    nval = npsf * npsf
    per_table = -(-nval // _PER_LINE)
    if nexp == 0:
        if any(s.strip() for s in body):
            raise PSFFileError(f"DAOPhot PSF {source}: NEXP=0 but look-up tables follow.")
        tables = np.zeros((0, npsf, npsf))
    else:
        continuous = -(-nexp * nval // _PER_LINE)
        if len(body) == nexp * per_table:       # DAOPHOT: each table starts a new line
            values = []
            for k in range(nexp):
                chunk = body[k * per_table:(k + 1) * per_table]
                values.extend(_read_block(chunk, nval, 2 + k * per_table + 1, source))
        elif len(body) == continuous:           # tolerated: tables written back to back
            values = _read_block(body, nexp * nval, 3, source)
        else:
            raise PSFFileError(
                f"DAOPhot PSF {source}: expected {nexp} table(s) of {npsf}x{npsf} values "
                f"({nexp * per_table} lines after the parameters), found {len(body)} lines; "
                "the file is truncated or corrupt.")
        tables = np.asarray(values, dtype=float).reshape(nexp, npsf, npsf)
    problem = _model_value_problem(label, npsf, params, psfmag, bright, xpsf, ypsf, tables)
    if problem:
        raise PSFFileError(f"DAOPhot PSF {source}: {problem}; the file is corrupt or not an "
                           "IPAC/DAOPHOT PSF.")
    return dict(label=label, npsf=npsf, npar=npar, nexp=nexp, nfrac=nfrac, psfmag=psfmag,
                bright=bright, xpsf=xpsf, ypsf=ypsf, params=params, tables=tables)


def _read_fields(line, count, where):
    """Read ``count`` E13.6 fields after the leading blank of ``line``."""
    need = 1 + _FIELD * count
    if len(line.rstrip()) < need:
        raise PSFFileError(
            f"DAOPhot PSF {where}: expected {count} fixed-width (13-character) numbers, "
            f"the line is too short: {line!r}. The file is truncated or corrupt.")
    bad = _NOT_NUMERIC.search(line, 1, need)
    if bad:
        raise PSFFileError(
            f"DAOPhot PSF {where}: cannot read a number: unexpected character "
            f"{bad.group()!r} in column {bad.start() + 1} of a line of fixed-width numbers: "
            f"{line!r}. The file is corrupt.")
    try:   # fast path: only Fortran-number characters, so float() reads them as Fortran would
        return [float(line[i:i + _FIELD]) for i in range(1, need, _FIELD)]
    except ValueError:
        return [_ffloat(line[1 + _FIELD * i:1 + _FIELD * (i + 1)], f"{where}, field {i + 1}")
                for i in range(count)]


def _read_block(lines, nval, first_lineno, source):
    """The ``nval`` numbers of ``lines`` (6 per line), as a list of floats."""
    width = _FIELD * _PER_LINE
    last = nval - _PER_LINE * (len(lines) - 1)    # fields on the last line
    if lines and 1 <= last <= _PER_LINE:
        # fast path for well-formed text: one check and one float() per field
        text = "".join([line[1:1 + width] for line in lines[:-1]]) + lines[-1][1:1 + _FIELD * last]
        if len(text) == _FIELD * nval and not _NOT_NUMERIC.search(text):
            try:
                return [float(text[i:i + _FIELD]) for i in range(0, len(text), _FIELD)]
            except ValueError:
                pass   # D exponents, exponents without E, or an error: read line by line
    values = []
    for i, line in enumerate(lines):
        count = min(_PER_LINE, nval - len(values))
        values.extend(_read_fields(line, count, f"{source} line {first_lineno + i}"))
    return values


def read_psf_file(path):
    """Read and parse a DAOPhot ``.psf`` file (see :func:`parse_psf_string`).

    Parameters
    ----------
    path : str or os.PathLike
        File name.

    Returns
    -------
    dict
        As :func:`parse_psf_string`.

    Raises
    ------
    MissingFileError
        The file does not exist.
    PSFFileError
        The file is malformed (see :func:`parse_psf_string`).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise MissingFileError(f"DAOPhot PSF file not found: {path!r}.")
    with open(path, "r", encoding="ascii", errors="replace") as fh:
        text = fh.read()
    return parse_psf_string(text, source=repr(path))




# ============================================================================ #
#  Writing                                                                     #
# ============================================================================ #
def _format_e13(values):
    return "".join(f"{v:13.6E}" for v in values)


def format_psf_string(psf):
    """The DAOPhot ``.psf`` text of a PSF (the inverse of :func:`parse_psf_string`).

    Parameters
    ----------
    psf : mapping
        The file's values, with the keys :func:`parse_psf_string` returns:
        ``label`` (str), ``npsf``, ``npar``, ``nexp``, ``nfrac`` (int),
        ``psfmag`` (mag), ``bright`` (DN), ``xpsf``, ``ypsf`` (1-based pixels),
        ``params`` (NPAR floats) and ``tables`` (shape ``(NEXP, NPSF, NPSF)``,
        indexed ``[k, y, x]``).

    Returns
    -------
    str
        Text in the exact IPAC/DAOPHOT layout, ending with a newline.

    Raises
    ------
    InvalidParameterError
        A key is missing, ``params``/``tables`` do not match NPAR/NEXP/NPSF, or
        a value cannot be written in its fixed-width field.
    """
    missing = [key for key in _KEYS if key not in psf]
    if missing:
        raise InvalidParameterError(
            f"format_psf_string: missing {', '.join(missing)}; expected the keys returned by "
            "parse_psf_string")
    label, npsf, npar, nexp, nfrac = (psf[k] for k in ("label", "npsf", "npar", "nexp", "nfrac"))
    params = np.asarray(psf["params"], dtype=float)
    tables = np.asarray(psf["tables"], dtype=float)
    if params.shape != (npar,) or tables.shape != (nexp, npsf, npsf):
        raise InvalidParameterError(
            f"format_psf_string: params must have shape ({npar},) and tables ({nexp}, {npsf}, "
            f"{npsf}) for NPAR={npar}, NEXP={nexp}, NPSF={npsf}; got {params.shape} and "
            f"{tables.shape}")
    vals = np.concatenate([params, tables.ravel()])
    if not np.all(np.isfinite(vals)) or np.any(np.abs(vals) >= 1e99):
        raise InvalidParameterError("parameters and tables must be finite and < 1e99 to be written")
    head = (f" {label:<8s}{npsf:5d}{npar:5d}{nexp:5d}{nfrac:5d}"
            f"{psf['psfmag']:9.3f}{psf['bright']:15.3f}{psf['xpsf']:9.1f}{psf['ypsf']:9.1f}")
    if len(head) != 71:
        raise InvalidParameterError(f"header values do not fit their Fortran fields: {head!r}")
    lines = [head, " " + _format_e13(params)]
    for k in range(nexp):
        flat = tables[k].ravel()   # [y, x] C order: x runs fastest, as DAOPHOT writes
        for i in range(0, flat.size, _PER_LINE):
            lines.append(" " + _format_e13(flat[i:i + _PER_LINE]))
    return "\n".join(lines) + "\n"


def write_psf_file(path, psf, overwrite=True):
    """Write a DAOPhot ``.psf`` file (see :func:`format_psf_string`).

    Parameters
    ----------
    path : str or os.PathLike
        Output file.
    psf : mapping
        The file's values, as returned by :func:`read_psf_file`.
    overwrite : bool, optional
        Replace an existing file (default True); False raises if the file exists.

    Raises
    ------
    InvalidParameterError
        The file exists and ``overwrite`` is False, or a value cannot be
        written (see :func:`format_psf_string`).
    """
    path = os.fspath(path)
    if os.path.exists(path) and not overwrite:
        raise InvalidParameterError(f"{path!r} exists; pass overwrite=True to replace it")
    text = format_psf_string(psf)
    with open(path, "w", encoding="ascii", newline="\n") as fh:
        fh.write(text)
