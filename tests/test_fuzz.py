"""Fuzz tests of the two text parsers fed by the outside world: ZTF file names and DAOPhot files.

Fixed seeds, so every run sees the same few thousand cases (the whole file takes a few
seconds).  The properties:

* :mod:`ztfimg.filenames` on random strings, random bytes and mutated valid names: only
  :class:`~ztfimg.errors.ZTFImgError` subclasses are raised; ``is_ztf_filename`` never
  raises and agrees with ``parse``; a name ``parse`` accepts is ASCII with no whitespace
  and rebuilds exactly through the ``build_*`` functions; ``sibling`` of an accepted
  quadrant name is a name of the same frame.
* the DAOPhot parser on mutations of the real IPAC files in tests/data/daophot/: only
  :class:`~ztfimg.errors.PSFFileError` is raised, and whatever parses evaluates to finite
  numbers (at the frame centre and, clamped, far away) or raises a ZTFImgError.

Failures are collected and reported together, with the input that triggered them.
"""

import os
import pathlib
import random
import string

import numpy as np
import pytest

from ztfimg import filenames
from ztfimg.dao import DAOPhotPSF, parse_psf_string
from ztfimg.errors import PSFFileError, ZTFImgError

DAODIR = os.path.join(os.path.dirname(__file__), "data", "daophot")
PSF_FILES = sorted(os.path.join(DAODIR, d, "psf.psf") for d in os.listdir(DAODIR)
                   if os.path.isdir(os.path.join(DAODIR, d)))

# --------------------------------------------------------------------------- #
#  Character pools                                                             #
# --------------------------------------------------------------------------- #
#: Unicode decimal digits of other scripts, which int() and \d accept: 0 of each block.
DIGIT_ZEROS = [0x0660, 0x06F0, 0x0966, 0x09E6, 0x0E50, 0xFF10, 0x1D7CE, 0x104A0]
WHITESPACE = [" ", "\t", "\n", "\r", "\x0b", "\x0c", "\x1c", "\x85", "\xa0", "\u2028", "\u3000"]
NAME_CHARS = string.ascii_letters + string.digits + "_._-/"
SUFFIXES = ["sciimg.fits", "mskimg.fits", "psfcat.fits", "sexcat.fits", "sciimgdao.psf",
            "sciimgdaopsfcent.fits", "scimrefdiffimg.fits.fz", "diffimgpsf.fits", "refimg.fits",
            "refpsfcat.fits", "refcov.fits", "refunc.fits", "log.txt"]


def foreign_digit(rng, value=None):
    value = rng.randrange(10) if value is None else value
    return chr(rng.choice(DIGIT_ZEROS) + value)


def random_char(rng):
    pick = rng.random()
    if pick < 0.45:
        return rng.choice(NAME_CHARS)
    if pick < 0.6:
        return rng.choice(WHITESPACE)
    if pick < 0.75:
        return foreign_digit(rng)
    if pick < 0.8:
        return "\x00"
    if pick < 0.85:
        return chr(rng.randrange(0xD800, 0xE000))          # lone surrogate
    return chr(rng.randrange(0x80, 0x30000))


def valid_name(rng):
    """A random, valid ZTF name built by hand (not by the module under test)."""
    year, month = rng.randrange(2017, 2030), rng.randrange(1, 13)
    day = rng.randrange(1, 29)
    ffd = f"{year:04d}{month:02d}{day:02d}{rng.randrange(10**6):06d}"
    field = rng.choice([rng.randrange(1, 2000), rng.randrange(10**6)])
    filt, ccd, q = rng.choice(["zg", "zr", "zi"]), rng.randrange(1, 17), rng.randrange(1, 5)
    imgtype = rng.choice(["o", "o", "o", rng.choice(string.ascii_lowercase)])
    kind = rng.random()
    if kind < 0.6:
        return f"ztf_{ffd}_{field:06d}_{filt}_c{ccd:02d}_{imgtype}_q{q}_{rng.choice(SUFFIXES)}"
    if kind < 0.8:
        return f"ztf_{field:06d}_{filt}_c{ccd:02d}_q{q}_{rng.choice(SUFFIXES)}"
    return f"ztf_{ffd}_{field:06d}_{filt}_c{ccd:02d}_{imgtype}.{rng.choice(['fits', 'fits.fz'])}"


def mutate_name(rng, name):
    """One to three random edits of a name."""
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(9)
        i = rng.randrange(len(name) + 1)
        if op == 0 and name:            # substitute any character
            i = min(i, len(name) - 1)
            name = name[:i] + random_char(rng) + name[i + 1:]
        elif op == 1:                   # an ASCII digit becomes the same digit of another script
            digits = [k for k, c in enumerate(name) if c in string.digits]
            if digits:
                k = rng.choice(digits)
                name = name[:k] + foreign_digit(rng, int(name[k])) + name[k + 1:]
        elif op == 2:                   # insertion
            name = name[:i] + random_char(rng) + name[i:]
        elif op == 3 and name:          # deletion
            i = min(i, len(name) - 1)
            name = name[:i] + name[i + 1:]
        elif op == 4:                   # truncation
            name = name[:i]
        elif op == 5:                   # surrounding whitespace
            ws = "".join(rng.choice(WHITESPACE) for _ in range(rng.randrange(1, 3)))
            name = rng.choice([ws + name, name + ws, ws + name + ws])
        elif op == 6:                   # ASCII digit change (often still valid)
            digits = [k for k, c in enumerate(name) if c in string.digits]
            if digits:
                k = rng.choice(digits)
                name = name[:k] + rng.choice(string.digits) + name[k + 1:]
        elif op == 7 and len(name) > 2:  # duplicated or swapped piece
            j = rng.randrange(len(name))
            a, b = sorted((i if i < len(name) else len(name) - 1, j))
            name = name[:b] + name[a:b] + name[b:] if rng.random() < 0.5 else \
                name[:a] + name[b] + name[a + 1:b] + name[a] + name[b + 1:]
        else:                           # a directory part
            name = rng.choice(["/data/", "rel/dir/", "/with space/", "\u0661/", "./"]) + name
    return name


def random_string(rng):
    n = rng.randrange(0, 90)
    if rng.random() < 0.5:
        return "".join(random_char(rng) for _ in range(n))
    return "ztf_" + "".join(rng.choice("0123456789_zgric.qo" + foreign_digit(rng))
                            for _ in range(n))


# --------------------------------------------------------------------------- #
#  File names                                                                   #
# --------------------------------------------------------------------------- #
def rebuild(rec):
    if rec.kind == "science":
        return filenames.build_science_filename(rec.filefracday, rec.fieldid, rec.filtername,
                                                rec.ccdid, rec.qid, rec.suffix, rec.imgtype)
    if rec.kind == "reference":
        return filenames.build_reference_filename(rec.fieldid, rec.filtername, rec.ccdid,
                                                  rec.qid, rec.suffix)
    return filenames.build_raw_filename(rec.filefracday, rec.fieldid, rec.filtername,
                                        rec.ccdid, rec.imgtype, rec.suffix)


def check_name(value, problems, rng):
    """Every property of the file-name functions on one input; problems are appended."""
    try:
        try:
            rec = filenames.parse(value)
        except ZTFImgError:
            rec = None
        accepted = filenames.is_ztf_filename(value)
        if accepted is not (rec is not None):
            problems.append((value, f"is_ztf_filename={accepted!r} but parse "
                                    f"{'accepted' if rec else 'refused'} it"))
            return None
        if rec is None:
            for func in (filenames.archive_path, filenames.reference_filename):
                try:
                    func(value)
                    problems.append((value, f"{func.__name__} accepted what parse refused"))
                except ZTFImgError:
                    pass
        else:
            name = rec.filename
            if not name.isascii() or any(c.isspace() for c in name):
                problems.append((value, "accepted a non-ASCII or whitespace name"))
            if rebuild(rec) != name:
                problems.append((value, f"round trip gave {rebuild(rec)!r}"))
            assert filenames.archive_path(value).endswith("/" + name)
        suffix = rng.choice(["mskimg", "sciimgdao", "psfcat.fits", mutate_name(rng, "mskimg")])
        try:
            sib = filenames.sibling(value, suffix)
        except ZTFImgError:
            sib = None
            if rec is not None and rec.kind != "raw" and filenames._SUFFIX_RE.fullmatch(suffix):
                problems.append((value, f"sibling({suffix!r}) refused a valid quadrant name"))
        if sib is not None:
            srec = filenames.parse(sib)
            if rec is None or rec.kind == "raw" or (srec.fieldid, srec.ccdid, srec.qid) != \
                    (rec.fieldid, rec.ccdid, rec.qid) or not srec.suffix.startswith(suffix):
                problems.append((value, f"sibling({suffix!r}) gave {sib!r}"))
        return rec
    except ZTFImgError as exc:   # a ZTFImgError where none may happen (archive_path of rec ...)
        problems.append((value, f"unexpected {type(exc).__name__}: {exc}"))
    except Exception as exc:     # noqa: BLE001 - the point of the test
        problems.append((value, f"raised {type(exc).__name__}: {exc}"))
    return None


def report(problems, total):
    shown = "\n".join(f"  {value!r:.120}: {what:.300}" for value, what in problems[:8])
    return f"{len(problems)} of {total} inputs broke a property:\n{shown}"


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_random_strings(seed):
    rng = random.Random(seed)
    problems, n = [], 600
    for _ in range(n):
        check_name(random_string(rng), problems, rng)
    assert not problems, report(problems, n)


@pytest.mark.parametrize("seed", [3, 4])
def test_fuzz_random_bytes(seed):
    """Random bytes, and the UTF-8 of mutated names, as bytes paths (decoded by os.fsdecode)."""
    rng = random.Random(seed)
    problems, n = [], 500
    for i in range(n):
        if i % 2:
            value = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 70)))
        else:
            value = mutate_name(rng, valid_name(rng)).encode("utf-8", "surrogatepass")
        check_name(value, problems, rng)
    assert not problems, report(problems, n)


@pytest.mark.parametrize("seed", [5, 6, 7])
def test_fuzz_mutated_names(seed):
    rng = random.Random(seed)
    problems, n, accepted, mutants_accepted = [], 800, 0, 0
    for _ in range(n):
        good = valid_name(rng)
        rec = check_name(good, problems, rng)
        assert rec is not None and rec.filename == good, good
        accepted += 1
        bad = mutate_name(rng, good)
        value = pathlib.PurePosixPath(bad) if rng.random() < 0.1 and bad.strip() else bad
        rec = check_name(value, problems, rng)
        if rec is not None:
            mutants_accepted += 1
            # an accepted mutant is a valid name: ASCII digits only, no whitespace
            assert all(c.isascii() and not c.isspace() for c in rec.filename)
    assert not problems, report(problems, 2 * n)
    # the fuzzer does what it should: most mutants are refused, some remain valid names
    assert 0.05 * n < mutants_accepted < 0.6 * n


def test_fuzz_non_path_values():
    rng = random.Random(8)
    values = [None, 0, 42, -1, 3.5, float("nan"), True, [], ["ztf"], (), {}, object(), b"",
              bytearray(b"ztf"), memoryview(b"ztf"), np.int64(5), np.array(["x"]), 1j, Ellipsis]
    problems = []
    for value in values:
        check_name(value, problems, rng)
        if filenames.is_ztf_filename(value):
            problems.append((value, "a non-path value was accepted"))
    assert not problems, report(problems, len(values))


# --------------------------------------------------------------------------- #
#  DAOPhot files                                                                #
# --------------------------------------------------------------------------- #
BAD_NUMBERS = ["NaN", "nan", "inf", "-inf", "Infinity", "1.0E+300", "1.0E+999", "-1.0E+99",
               "9.999999E+99", "1.00000+300", "1.0D+38", "0.0", "-0.0", "1.0E-320", "-1.0E-99",
               "*************", "", "1_000", "\u0661.5", "\uff11.0E+00", "+", "-.", "1.0E",
               "0x1p3", "1e5"]
BAD_INTS = [-1, -47, 0, 1, 2, 3, 4, 5, 6, 7, 10, 11, 46, 48, 99, 205, 207, 209, 999, 99999,
            -9999]
HEADER_INTS = [(9, 14), (14, 19), (19, 24), (24, 29)]            # NPSF NPAR NEXP NFRAC
HEADER_REALS = [(29, 38), (38, 53), (53, 62), (62, 71)]         # PSFMAG BRIGHT XPSF YPSF


@pytest.fixture(scope="module")
def psf_texts():
    """(bytes, line spans, digit positions) of each real file."""
    out = []
    for path in PSF_FILES:
        with open(path, "rb") as fh:
            data = fh.read()
        digits = [i for i, b in enumerate(data) if 48 <= b <= 57]
        out.append((data, line_spans(data), digits))
    assert len(out) == 3
    return out


def put(data, start, stop, text):
    """``data`` with bytes ``start:stop`` replaced by ``text`` right-aligned to the width."""
    field = text.encode("utf-8")[-(stop - start):].rjust(stop - start)
    return data[:start] + field + data[stop:]


def line_spans(data):
    spans, start = [], 0
    for i, b in enumerate(data):
        if b == 10:
            spans.append((start, i))
            start = i + 1
    return spans


def change_digits(rng, data, digits, count):
    """``data`` with ``count`` ASCII digits (at positions ``digits``) replaced by random digits."""
    buf = bytearray(data)
    for _ in range(count):
        i = rng.choice(digits)
        if i < len(buf) and 48 <= buf[i] <= 57:
            buf[i] = 48 + rng.randrange(10)
    return bytes(buf)


def mutate_psf(rng, data, spans, digits):
    """One to three random edits of a .psf file's bytes (``spans``, ``digits``: of the original)."""
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(11)
        n = len(data)
        if op == 0 and n:                           # byte flips
            for _ in range(rng.randrange(1, 4)):
                i = rng.randrange(len(data))
                data = data[:i] + bytes([rng.randrange(256)]) + data[i + 1:]
        elif op == 1 and n:                         # single bit flip
            i = rng.randrange(n)
            data = data[:i] + bytes([data[i] ^ (1 << rng.randrange(8))]) + data[i + 1:]
        elif op == 2:                               # digit changes (often still a valid file)
            data = change_digits(rng, data, digits, rng.randrange(1, 6))
        elif op == 3:                               # truncation
            data = data[:rng.randrange(n + 1)]
        elif op in (4, 5) and len(spans) > 3:       # deleted / duplicated line(s)
            lines = data.split(b"\n")
            i = rng.randrange(len(lines))
            k = rng.randrange(1, 3)
            lines = lines[:i] + lines[i + k:] if op == 4 else lines[:i + k] + lines[i:]
            data = b"\n".join(lines)
        elif op == 6 and spans:                     # a huge / NaN / malformed number
            line = rng.choice([0, 1] + [rng.randrange(len(spans))] * 2)
            a, b = spans[min(line, len(spans) - 1)]
            if line == 0:
                start, stop = rng.choice(HEADER_REALS)
            else:
                f = rng.randrange(6)
                start, stop = 1 + 13 * f, 14 + 13 * f
            if a + stop <= len(data):
                data = put(data, a + start, a + stop, rng.choice(BAD_NUMBERS))
        elif op == 7:                               # odd, negative, absurd sizes
            start, stop = rng.choice(HEADER_INTS)
            if stop <= len(data):
                data = put(data, start, stop, str(rng.choice(BAD_INTS)))
        elif op == 8 and n:                         # exponent changes
            i = data.find(b"E", rng.randrange(n))
            if 0 <= i < n - 3:
                data = data[:i + 1] + rng.choice([b"+99", b"-99", b"+38", b"-45", b"+00",
                                                  b"+3", b"99"]) + data[i + 4:]
        elif op == 9:                               # inserted junk
            i = rng.randrange(n + 1)
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 4)))
            data = data[:i] + junk + data[i:]
        elif op == 10 and len(spans) > 2:           # analytic only (no table lines), any NPSF:
            data = put(data[:spans[1][1] + 1], 19, 24, "0")      # a tiny file, a huge model?
            data = put(data, 9, 14, str(rng.choice(BAD_INTS + [rng.randrange(1, 99999, 2)])))
    return data


def check_psf(data, problems):
    """The parser either refuses with PSFFileError or gives a model that evaluates finite."""
    try:
        psf = DAOPhotPSF.from_string(data)
    except PSFFileError:
        return False
    except Exception as exc:     # noqa: BLE001 - the point of the test
        problems.append((data[:80], f"parser raised {type(exc).__name__}: {exc}"))
        return False
    try:
        stamp = psf.get_psf_at(psf.xpsf, psf.ypsf)
        stamps, _, _ = psf.get_psf_stamps([0.0, psf.xpsf, 1e7], [0.0, psf.ypsf, -1e7], 11)
        if not (np.all(np.isfinite(stamp)) and np.all(np.isfinite(stamps))):
            problems.append((data[:80], "the model evaluates to non-finite values"))
    except ZTFImgError:
        pass
    except Exception as exc:     # noqa: BLE001
        problems.append((data[:80], f"evaluation raised {type(exc).__name__}: {exc}"))
    return True


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_fuzz_daophot_parser(psf_texts, seed):
    rng = random.Random(seed)
    problems, n, parsed = [], 400, 0
    for i in range(n):
        original, spans, digits = psf_texts[i % len(psf_texts)]
        data = mutate_psf(rng, original, spans, digits)
        # as bytes (decoded as ASCII) and as a str holding any character
        value = data if i % 2 else data.decode("latin-1")
        parsed += check_psf(value, problems)
    assert not problems, report(problems, n)
    assert 0.05 * n < parsed < 0.8 * n     # both branches are exercised


def test_fuzz_daophot_round_trip_of_accepted_mutants(psf_texts):
    """A digit-mutated file that parses writes back to text that parses to the same model."""
    rng = random.Random(14)
    done = 0
    for i in range(40):
        original, _, digits = psf_texts[i % len(psf_texts)]
        data = change_digits(rng, original, digits, rng.randrange(1, 8))
        try:
            fields = parse_psf_string(data)
        except PSFFileError:
            continue
        psf = DAOPhotPSF.from_string(data)
        try:
            text = psf.to_string()
        except ZTFImgError:
            continue
        back = parse_psf_string(text)
        np.testing.assert_array_equal(back["tables"], fields["tables"])
        np.testing.assert_array_equal(back["params"], fields["params"])
        assert (back["psfmag"], back["xpsf"], back["ypsf"]) == \
            (fields["psfmag"], fields["xpsf"], fields["ypsf"])
        done += 1
    assert done >= 10
