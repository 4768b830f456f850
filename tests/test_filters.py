"""The ZTF filter table and its users (photometry wavelengths, file-name codes)."""

import ast
import dataclasses
import pathlib

import numpy as np
import pytest

from ztfimg import filenames
from ztfimg import photometry as ph
from ztfimg.errors import InvalidParameterError
from ztfimg.filters import FILTERS, ZTFFilter, get_filter, normalise_filter


def test_table_holds_the_ztf_facts():
    # ZTF.md: FILTERID 1 g, 2 r, 3 i; file codes zg/zr/zi; effective wavelengths; PCOLOR
    assert [f.name for f in FILTERS] == ["ztfg", "ztfr", "ztfi"]
    assert [f.filterid for f in FILTERS] == [1, 2, 3]
    assert [f.code for f in FILTERS] == ["zg", "zr", "zi"]
    assert [f.wavelength for f in FILTERS] == [4813.97, 6421.81, 7883.06]
    assert [f.ps1_band for f in FILTERS] == ["g", "r", "i"]
    assert [f.colour for f in FILTERS] == ["g-r", "g-r", "r-i"]
    assert FILTERS[2].colour_bands == ("r", "i")
    assert isinstance(FILTERS, tuple) and all(isinstance(f, ZTFFilter) for f in FILTERS)
    assert [f.name for f in dataclasses.fields(ZTFFilter)] == [
        "name", "filterid", "code", "wavelength", "ps1_band", "colour"]
    with pytest.raises(dataclasses.FrozenInstanceError):
        FILTERS[0].wavelength = 5000.0


@pytest.mark.parametrize("value, expected", [
    ("ZTF_r", "ztfr"), ("ZTF g", "ztfg"), ("ZTF_i", "ztfi"), ("zr", "ztfr"), ("zg", "ztfg"),
    ("r", "ztfr"), ("I", "ztfi"), ("ztfr", "ztfr"), ("ZTFG", "ztfg"), (" ztf_i ", "ztfi"),
    (1, "ztfg"), (2, "ztfr"), (3, "ztfi"), (np.int64(2), "ztfr"), (np.int16(3), "ztfi"),
])
def test_normalise_filter_spellings(value, expected):
    assert normalise_filter(value) == expected
    assert get_filter(value).name == expected


@pytest.mark.parametrize("bad", ["V", "zz", "ztf", "", "gr", 0, 4, -1, None, 2.0, "ZTF_u"])
def test_normalise_filter_rejects(bad):
    with pytest.raises(InvalidParameterError, match="not a ZTF filter"):
        normalise_filter(bad)
    with pytest.raises(InvalidParameterError):
        get_filter(bad)


def test_get_filter_records():
    r = get_filter("ZTF_r")
    assert r == ZTFFilter("ztfr", 2, "zr", 6421.81, "r", "g-r")
    assert get_filter(r) is r
    assert get_filter("zi").colour == "r-i" and get_filter(1).ps1_band == "g"


def test_photometry_wavelengths_come_from_the_table():
    assert ph.ZTF_WAVELENGTHS == {f.name: f.wavelength for f in FILTERS}
    for f in FILTERS:
        for spelling in (f.name, f.code, f.ps1_band, f"ZTF_{f.ps1_band}", f.filterid):
            assert ph.filter_wavelength(spelling) == f.wavelength
    with pytest.raises(InvalidParameterError):
        ph.filter_wavelength("V")


def test_filenames_codes_come_from_the_table():
    assert filenames.FILTERS == {f.code: f.filterid for f in FILTERS}
    for f in FILTERS:
        name = filenames.build_science_filename("20200924431759", 655, f.code, 13, 3)
        rec = filenames.parse(name)
        assert rec.filtername == f.code and rec.filterid == f.filterid
        assert get_filter(rec.filtername) is f
    from ztfimg.errors import FileNameError
    with pytest.raises(FileNameError):
        filenames.parse("ztf_20200924431759_000655_zu_c13_o_q3_sciimg.fits")


def test_filters_imports_only_errors_and_numpy():
    src = pathlib.Path(__file__).resolve().parents[1] / "ztfimg" / "filters.py"
    tree = ast.parse(src.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(("." * node.level) + (node.module or ""))
    local = {m for m in imported if m.startswith(".")}
    assert local == {".errors"}
    third_party = imported - local - {"__future__", "re", "dataclasses"}
    assert third_party == {"numpy"}
