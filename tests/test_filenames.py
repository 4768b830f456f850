import pytest

from ztfimg import filenames
from ztfimg.errors import FileNameError

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
