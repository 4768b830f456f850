import pathlib

import numpy as np
import pytest

from ztfimg import filenames
from ztfimg.errors import FileNameError, ZTFImgError

SCI = "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits"
REF = "ztf_000655_zr_c13_q3_refimg.fits"
RAW = "ztf_20200924431759_000655_zr_c13_o.fits.fz"


def test_parse_science():
    rec = filenames.parse("/some/dir/" + SCI)
    assert rec.kind == "science"
    assert (rec.fieldid, rec.filtername, rec.filterid, rec.ccdid, rec.qid, rec.rcid) == (655, "zr", 2, 13, 3, 50)
    assert rec.filefracday == "20200924431759" and rec.imgtype == "o" and rec.suffix == "sciimg.fits"
    assert str(rec.date) == "2020-09-24"
    assert rec.fracday == pytest.approx(0.431759)
    assert rec.datetime.hour == 10 and rec.datetime.minute == 21


def test_parse_reference_and_raw():
    ref = filenames.parse(REF)
    assert (ref.kind, ref.fieldid, ref.ccdid, ref.qid, ref.rcid, ref.filefracday) == ("reference", 655, 13, 3, 50, None)
    raw = filenames.parse(RAW)
    assert (raw.kind, raw.ccdid, raw.qid, raw.rcid, raw.suffix) == ("raw", 13, None, None, "fits.fz")


@pytest.mark.parametrize("name", [SCI, REF])
def test_round_trip_science_reference(name):
    rec = filenames.parse(name)
    if rec.kind == "science":
        rebuilt = filenames.build_science_filename(rec.filefracday, rec.fieldid, rec.filtername,
                                                   rec.ccdid, rec.qid, rec.suffix, rec.imgtype)
    else:
        rebuilt = filenames.build_reference_filename(rec.fieldid, rec.filtername, rec.ccdid, rec.qid, rec.suffix)
    assert rebuilt == name


def test_siblings_and_paths():
    assert filenames.sibling(SCI, "mskimg") == SCI.replace("sciimg", "mskimg")
    assert filenames.sibling("/d/" + SCI, "sciimgdao.psf") == "/d/ztf_20200924431759_000655_zr_c13_o_q3_sciimgdao.psf"
    assert filenames.sibling(SCI, "sciimgdao") == "ztf_20200924431759_000655_zr_c13_o_q3_sciimgdao.psf"
    assert filenames.sibling(SCI, "psfcat") == SCI.replace("sciimg", "psfcat")
    assert filenames.reference_filename(SCI) == REF
    assert filenames.archive_path(SCI) == "sci/2020/0924/431759/" + SCI
    assert filenames.archive_path(REF) == "ref/000/field000655/zr/ccd13/q3/" + REF
    assert filenames.archive_path("ztf_001735_zg_c01_q1_refimg.fits").startswith("ref/001/field001735/zg/ccd01/q1/")
    assert filenames.local_path(SCI, root="/mirror") == "/mirror/sci/2020/0924/431759/" + SCI


def test_rcid():
    for ccd in range(1, 17):
        for q in range(1, 5):
            assert filenames.ccd_qid_from_rcid(filenames.rcid_from_ccd_qid(ccd, q)) == (ccd, q)
    assert filenames.rcid_from_ccd_qid(1, 1) == 0 and filenames.rcid_from_ccd_qid(16, 4) == 63


@pytest.mark.parametrize("bad", [
    "image.fits", "ztf_2020092443175_000655_zr_c13_o_q3_sciimg.fits",  # 13 digits
    "ztf_20200924431759_000655_zx_c13_o_q3_sciimg.fits",  # bad filter
    "ztf_20200924431759_000655_zr_c17_o_q3_sciimg.fits",  # ccd 17
    "ztf_20200924431759_000655_zr_c13_o_q5_sciimg.fits",  # q5
    "ztf_20201324431759_000655_zr_c13_o_q3_sciimg.fits",  # month 13
    "",
])
def test_bad_names(bad):
    with pytest.raises(FileNameError):
        filenames.parse(bad)
    assert not filenames.is_ztf_filename(bad)


def test_sibling_of_raw_refused_and_no_root(monkeypatch):
    with pytest.raises(FileNameError):
        filenames.sibling(RAW, "mskimg")
    monkeypatch.delenv("ZTFDATA", raising=False)
    with pytest.raises(FileNameError, match="ZTFDATA"):
        filenames.local_path(SCI)


# --------------------------------------------------------------------------- #
#  Bad input: strict patterns, types, builders                                  #
# --------------------------------------------------------------------------- #
ARABIC = "\u0660\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669"   # Arabic-Indic 0-9
FULLWIDTH = "".join(chr(0xFF10 + i) for i in range(10))                    # fullwidth 0-9
DEVANAGARI = "".join(chr(0x0966 + i) for i in range(10))


def to_digits(text, table):
    return "".join(table[int(c)] if c.isascii() and c.isdigit() else c for c in text)


@pytest.mark.parametrize("name", [SCI, REF, RAW])
@pytest.mark.parametrize("pad", ["\n", "\r\n", " ", "\t", "\x0b", "\u00a0", "\u2028"])
def test_surrounding_whitespace_refused(name, pad):
    for bad in (name + pad, pad + name, "/d/" + name + pad):
        with pytest.raises(FileNameError, match="whitespace"):
            filenames.parse(bad)
        assert filenames.is_ztf_filename(bad) is False
        with pytest.raises(FileNameError):
            filenames.archive_path(bad)
        with pytest.raises(FileNameError):
            filenames.local_path(bad, root="/mirror")
    if name != RAW:
        with pytest.raises(FileNameError):
            filenames.sibling(name + "\n", "mskimg")   # used to give '..._q3__mskimg.fits'
        with pytest.raises(FileNameError):
            filenames.reference_filename(name + "\n")


def test_inner_whitespace_refused():
    for bad in [SCI.replace("_c13", " _c13"), SCI.replace("sciimg", "sci img"),
                SCI.replace("sciimg.fits", "sciimg.fits\nfoo"), SCI[:-1] + "\n" + SCI[-1]]:
        with pytest.raises(FileNameError):
            filenames.parse(bad)
        assert not filenames.is_ztf_filename(bad)


@pytest.mark.parametrize("table", [ARABIC, FULLWIDTH, DEVANAGARI])
@pytest.mark.parametrize("part", ["field", "ccd", "qid", "date", "all"])
def test_non_ascii_digits_refused(table, part):
    field, ccd, qid, date = "000655", "c13", "q3", "20200924431759"
    pieces = {"field": (field, to_digits(field, table)), "ccd": (ccd, to_digits(ccd, table)),
              "qid": (qid, to_digits(qid, table)), "date": (date, to_digits(date, table))}
    names = []
    for base in (SCI, REF, RAW):
        if part == "all":
            names.append(to_digits(base, table))
        else:
            old, new = pieces[part]
            if old in base:
                names.append(base.replace(old, new, 1))
    for bad in names:
        assert bad != SCI and not bad.isascii()
        with pytest.raises(FileNameError, match="non-ASCII"):
            filenames.parse(bad)
        assert filenames.is_ztf_filename(bad) is False
        with pytest.raises(FileNameError):
            filenames.sibling(bad, "mskimg")


@pytest.mark.parametrize("bad", [None, 42, 3.5, ["x"], {"a": 1}, object(), np.int64(3),
                                 bytearray(b"ztf")])
def test_non_path_input(bad):
    with pytest.raises(FileNameError, match="str or a path-like") as info:
        filenames.parse(bad)
    assert ("None" if bad is None else type(bad).__name__) in str(info.value)  # what was found
    assert filenames.is_ztf_filename(bad) is False    # a predicate never raises
    for func in (filenames.archive_path, filenames.reference_filename):
        with pytest.raises(FileNameError, match="str or a path-like"):
            func(bad)
    with pytest.raises(FileNameError, match="str or a path-like"):
        filenames.sibling(bad, "mskimg")
    with pytest.raises(FileNameError, match="str or a path-like"):
        filenames.local_path(bad, root="/m")
    if bad is not None:      # root=None means $ZTFDATA
        with pytest.raises(FileNameError, match="root must be a str or a path-like"):
            filenames.local_path(SCI, root=bad)


class _BytesPath:
    def __fspath__(self):
        return ("/d/" + SCI).encode()


def test_bytes_and_path_like_are_decoded():
    rec = filenames.parse(SCI.encode())
    assert rec.filename == SCI and isinstance(rec.filename, str)
    assert filenames.is_ztf_filename(SCI.encode()) and filenames.is_ztf_filename(pathlib.Path(SCI))
    assert filenames.parse(pathlib.Path("/d") / REF).kind == "reference"
    assert filenames.parse(_BytesPath()).filename == SCI
    assert filenames.sibling(("/d/" + SCI).encode(), "mskimg") == "/d/" + SCI.replace("sciimg", "mskimg")
    assert filenames.sibling(_BytesPath(), "sciimgdao") == "/d/" + SCI.replace("sciimg.fits", "sciimgdao.psf")
    assert filenames.archive_path(SCI.encode()) == "sci/2020/0924/431759/" + SCI
    assert filenames.local_path(SCI.encode(), root=b"/m") == "/m/sci/2020/0924/431759/" + SCI
    assert filenames.reference_filename(pathlib.Path(SCI)) == REF
    # undecodable bytes: a clear error, never UnicodeDecodeError
    for bad in (b"\xff\xfe", SCI.encode()[:-4] + b"\xff" + b"fits", b"\x00"):
        with pytest.raises(FileNameError):
            filenames.parse(bad)
        assert not filenames.is_ztf_filename(bad)
    with pytest.raises(FileNameError, match="NUL"):
        filenames.parse(SCI + "\x00")


@pytest.mark.parametrize("suffix", [None, 3, "", "\n", "mskimg\n", " mskimg", "a/b", "_mskimg",
                                    "msk img", "msk\u0661", b"mskimg"])
def test_sibling_bad_suffix(suffix):
    with pytest.raises(FileNameError, match="suffix"):
        filenames.sibling(SCI, suffix)
    with pytest.raises(FileNameError, match="suffix"):
        filenames.reference_filename(SCI, suffix)


def test_ztfdata_with_whitespace(monkeypatch):
    monkeypatch.setenv("ZTFDATA", "/mirror\n")
    with pytest.raises(FileNameError, match=r"\$ZTFDATA.*whitespace"):
        filenames.local_path(SCI)
    monkeypatch.setenv("ZTFDATA", "/mirror")
    assert filenames.local_path(SCI) == "/mirror/sci/2020/0924/431759/" + SCI


GOOD_SCI = dict(filefracday="20200924431759", fieldid=655, filtername="zr", ccdid=13, qid=3)


@pytest.mark.parametrize("key,value,match", [
    ("ccdid", 0, "ccdid must be an integer 1-16, found 0"),
    ("ccdid", 17, "ccdid must be an integer 1-16, found 17"),
    ("ccdid", 13.5, "ccdid must be an integer 1-16, found float 13.5"),
    ("ccdid", "abc", "ccdid must be an integer 1-16"),
    ("ccdid", "\u0661\u0663", "ccdid must be an integer 1-16"),     # Arabic-Indic '13'
    ("ccdid", " 13", "ccdid must be an integer 1-16"),
    ("ccdid", None, "ccdid must be an integer 1-16, found None"),
    ("ccdid", True, "ccdid must be an integer 1-16, found bool"),
    ("ccdid", float("nan"), "ccdid must be an integer 1-16"),
    ("qid", 5, "qid must be an integer 1-4, found 5"),
    ("qid", 0, "qid must be an integer 1-4"),
    ("qid", [3], "qid must be an integer 1-4"),
    ("fieldid", -1, "fieldid must be an integer 0-999999, found -1"),
    ("fieldid", 1_000_000, "fieldid must be an integer 0-999999"),
    ("fieldid", 655.2, "fieldid must be an integer 0-999999"),
    ("filtername", "zu", "filtername must be one of 'zg', 'zr', 'zi'"),
    ("filtername", None, "filtername must be one of"),
    ("filtername", "zr\n", "filtername must be one of"),
    ("filefracday", "2020092443175", "filefracday must be 'YYYYMMDDffffff'"),
    ("filefracday", "20200924431759\n", "filefracday must be"),
    ("filefracday", to_digits("20200924431759", ARABIC), "filefracday must be"),
    ("filefracday", 2.0200924431759e13, "filefracday must be"),
    ("filefracday", None, "filefracday must be"),
    ("filefracday", "20201324431759", "not a valid date"),
    ("filefracday", "20200230431759", "not a valid date"),
    ("suffix", "sciimg.fits\n", "suffix must be a product suffix"),
    ("suffix", "", "suffix must be"),
    ("imgtype", "O", "imgtype must be one lower-case letter"),
    ("imgtype", "oo", "imgtype must be"),
])
def test_build_science_bad_values(key, value, match):
    with pytest.raises(FileNameError, match=match):
        filenames.build_science_filename(**dict(GOOD_SCI, **{key: value}))


def test_build_accepts_integer_like_values():
    expect = filenames.build_science_filename(**GOOD_SCI)
    assert expect == SCI
    assert filenames.build_science_filename(20200924431759, np.int64(655), "zr", np.int32(13),
                                            3.0) == SCI
    assert filenames.build_science_filename("20200924431759", "000655", "zr", "13", "3") == SCI
    assert filenames.build_reference_filename(655.0, "zr", 13, np.uint8(3)) == REF
    assert filenames.build_raw_filename("20200924431759", 655, "zr", 13) == RAW
    assert filenames.build_raw_filename("20200924431759", 655, "zr", 13, suffix="fits").endswith("_o.fits")
    with pytest.raises(FileNameError, match="'fits.fz' or 'fits'"):
        filenames.build_raw_filename("20200924431759", 655, "zr", 13, suffix="fits.gz")
    with pytest.raises(FileNameError, match="ccdid must be an integer 1-16"):
        filenames.build_raw_filename("20200924431759", 655, "zr", 0)
    for kw in (dict(ccdid=17), dict(qid=9), dict(fieldid=-3), dict(filtername="g"),
               dict(suffix="refimg fits")):
        args = dict(dict(fieldid=655, filtername="zr", ccdid=13, qid=3), **kw)
        with pytest.raises(FileNameError):
            filenames.build_reference_filename(**args)


def test_round_trip_raw():
    rec = filenames.parse(RAW)
    assert filenames.build_raw_filename(rec.filefracday, rec.fieldid, rec.filtername, rec.ccdid,
                                        rec.imgtype, rec.suffix) == RAW


@pytest.mark.parametrize("args", [(0, 1), (17, 1), (1, 0), (1, 5), (1.5, 1), (None, 1), ("x", 2),
                                  (True, 1), (1, [1])])
def test_rcid_bad_values(args):
    with pytest.raises(FileNameError, match="must be an integer"):
        filenames.rcid_from_ccd_qid(*args)


@pytest.mark.parametrize("rcid", [-1, 64, 2.5, None, "x", float("inf")])
def test_ccd_qid_from_rcid_bad_values(rcid):
    with pytest.raises(FileNameError, match="rcid must be an integer 0-63"):
        filenames.ccd_qid_from_rcid(rcid)


def test_every_error_is_a_ztfimg_error_with_a_message():
    calls = [lambda: filenames.parse(None), lambda: filenames.parse(SCI + "\n"),
             lambda: filenames.sibling(RAW, "mskimg"), lambda: filenames.reference_filename(RAW),
             lambda: filenames.build_science_filename(**dict(GOOD_SCI, ccdid=99))]
    for call in calls:
        with pytest.raises(ZTFImgError) as info:
            call()
        assert isinstance(info.value, ValueError) and len(str(info.value)) > 30


def test_find_file_looks_in_the_ztfdata_mirror(tmp_path, monkeypatch):
    name = "ztf_20200924431759_000655_zr_c13_o_q3_sciimg.fits"
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ZTFDATA", raising=False)
    assert filenames.find_file(name) == name
    monkeypatch.setenv("ZTFDATA", str(tmp_path / "mirror"))
    assert filenames.find_file(name) == str(tmp_path / "mirror" / filenames.archive_path(name))
    assert filenames.find_file("./" + name) == "./" + name        # a path is kept as given
    assert filenames.find_file("notes.txt") == "notes.txt"         # not a ZTF name
    (tmp_path / name).write_text("x")
    assert filenames.find_file(name) == name                      # present here: kept
    with pytest.raises(FileNameError, match="str or a path-like"):
        filenames.find_file(None)


def test_filefracday_from_jd_is_the_date_and_truncated_fraction_of_the_day():
    # JD 2459116.9317708 is 0.4317708 of the UT day 2020-09-24: cut (not rounded) to 6 digits
    assert filenames.filefracday_from_jd(2459116.9317708) == "20200924431770"
    assert filenames.filefracday_from_jd(2459116.5) == "20200924000000"      # UT midnight
    assert filenames.filefracday_from_jd(np.float64(2459117.4999999)) == "20200924999999"
    assert filenames.filefracday_from_jd(1721425.5) == "00010101000000"       # zero-padded year
    # the inverse of ZTFFileName.datetime, to the microsecond
    jd = 2459300.123456
    name = filenames.build_science_filename(filenames.filefracday_from_jd(jd), 655, "zr", 13, 3)
    dt = filenames.parse(name).datetime
    import datetime as _dt
    back = 2451545.0 + (dt - _dt.datetime(2000, 1, 1, 12)) / _dt.timedelta(days=1)
    assert 0 <= jd - back < 1.2e-6


@pytest.mark.parametrize("jd", [None, "2459116.5", True, float("nan"), float("inf"), -1.0,
                                5373484.5, [2459116.5]])
def test_filefracday_from_jd_bad_values(jd):
    with pytest.raises(FileNameError, match="filefracday_from_jd: jd must be"):
        filenames.filefracday_from_jd(jd)
