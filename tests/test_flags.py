"""The flag registry: one IntFlag and one column name per kind of table, decoding helpers."""

import enum

import numpy as np
import pandas as pd
import pytest
import sep

from ztfimg import aperture, psfphot, sources, stamps
from ztfimg.aperture import aperture_photometry
from ztfimg.errors import InvalidParameterError
from ztfimg.flags import (FLAG_COLUMNS, ApertureFlag, PSFFlag, SourceFlag, StampFlag,
                          decode_flags, describe_flags)
from ztfimg.psfphot import psf_photometry
from ztfimg.sources import extract_sources
from ztfimg.stamps import cut_stamps

ALL = (ApertureFlag, SourceFlag, PSFFlag, StampFlag)


class GaussianPSF:
    """Minimal PSF model for psf_photometry: a unit-sum circular Gaussian."""

    fwhm = 2.5
    flux_scale = 1.0

    def get_psf_stamps(self, xs, ys, size, frame_origin=(0.0, 0.0)):
        x0 = np.floor(xs - (size - 1) / 2 + 0.5).astype(int)
        y0 = np.floor(ys - (size - 1) / 2 + 0.5).astype(int)
        ar = np.arange(size)
        dx = x0[:, None, None] + ar[None, None, :] - xs[:, None, None]
        dy = y0[:, None, None] + ar[None, :, None] - ys[:, None, None]
        s2 = (self.fwhm / 2.3548) ** 2
        return np.exp(-(dx ** 2 + dy ** 2) / (2 * s2)) / (2 * np.pi * s2), x0, y0


def star_field(shape=(80, 100), stars=((40.3, 30.7), (0.4, 50.2), (70.0, 60.0), (73.0, 60.5)),
               amp=400.0, seed=0):
    rng = np.random.default_rng(seed)
    data = rng.normal(0.0, 1.0, shape).astype(np.float32)
    yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
    for x, y in stars:
        data += amp * np.exp(-((xx - x) ** 2 + (yy - y) ** 2) / (2 * 1.2 ** 2))
    return data


# ------------------------------------------------------------------ the registry
def test_each_kind_is_an_intflag_with_none_and_docstring():
    for cls in ALL:
        assert issubclass(cls, enum.IntFlag)
        assert cls.NONE == 0
        members = [m for m in cls.__members__.values() if m]
        values = [int(m) for m in members]
        assert all(v & (v - 1) == 0 for v in values)          # one bit each
        assert len(set(values)) == len(values)
        for m in members:
            assert m.name in cls.__doc__                      # every bit is documented


def test_old_aliases_are_the_new_members():
    assert aperture.APER_PARTIAL is ApertureFlag.PARTIAL == 1
    assert aperture.APER_OFF_IMAGE is ApertureFlag.OFF_IMAGE == 2
    assert aperture.APER_HAS_MASKED is ApertureFlag.HAS_MASKED == 4
    assert aperture.APER_ALL_MASKED is ApertureFlag.ALL_MASKED == 8
    assert aperture.APER_BAD_POSITION is ApertureFlag.BAD_POSITION == 16
    assert aperture.APER_NO_SKY is ApertureFlag.NO_SKY == 32
    assert sources.OBJ_MERGED is SourceFlag.MERGED == int(sep.OBJ_MERGED)
    assert sources.OBJ_TRUNC is SourceFlag.TRUNC == int(sep.OBJ_TRUNC)
    assert sources.OBJ_DOVERFLOW is SourceFlag.DOVERFLOW == int(sep.OBJ_DOVERFLOW)
    assert sources.OBJ_SINGU is SourceFlag.SINGU == int(sep.OBJ_SINGU)
    assert stamps.STAMP_EDGE is StampFlag.EDGE == 1
    assert stamps.STAMP_OFF_IMAGE is StampFlag.OFF_IMAGE == 2
    assert stamps.STAMP_BAD_POSITION is StampFlag.BAD_POSITION == 4
    old = {"OFF_IMAGE": 1, "EDGE": 2, "MASKED": 4, "NO_DATA": 8, "SINGULAR": 16,
           "NEGATIVE": 32}
    assert psfphot.FLAGS == old and list(psfphot.FLAGS) == list(old)
    for name, member in psfphot.FLAGS.items():
        assert member is PSFFlag[name]


def test_members_are_scalars_for_numpy_and_pandas():
    s = pd.Series([0, 1, 3, 2])
    assert (s & ApertureFlag.PARTIAL).tolist() == [0, 1, 1, 0]
    assert (s & (ApertureFlag.PARTIAL | ApertureFlag.OFF_IMAGE) != 0).sum() == 3
    a = np.zeros(3, np.int64)
    a[1] |= StampFlag.EDGE
    assert a.dtype == np.int64 and a.tolist() == [0, 1, 0]
    assert list(ApertureFlag)[0] is ApertureFlag.PARTIAL      # the class still iterates


def test_flag_columns_registry():
    assert FLAG_COLUMNS == {"aper_flag": ApertureFlag, "sep_flag": SourceFlag,
                            "psf_flag": PSFFlag, "stamp_flag": StampFlag}
    assert len(set(FLAG_COLUMNS.values())) == len(FLAG_COLUMNS)


# ------------------------------------------------------------------ real outputs
@pytest.fixture(scope="module")
def tables():
    data = star_field()
    x = np.array([40.3, 0.4, -30.0, np.nan, 70.0])
    y = np.array([30.7, 50.2, 10.0, 5.0, 60.0])
    return {
        "aperture": aperture_photometry(data, x, y, 4.0, rms=1.0),
        "aperture_multi": aperture_photometry(data, x, y, [2.0, 6.0], rms=1.0),
        "sources": extract_sources(data, err=1.0, thresh=5.0),
        "psf": psf_photometry(data, x, y, GaussianPSF(), rms=1.0),
    }


def test_no_two_tables_share_a_flag_column_name(tables):
    kinds = {"aperture": ApertureFlag, "aperture_multi": ApertureFlag,
             "sources": SourceFlag, "psf": PSFFlag}
    seen = {}
    for label, df in tables.items():
        cols = [c for c in df.columns if "flag" in c]
        assert cols, label
        assert "flag" not in df.columns, label              # no ambiguous bare "flag"
        for c in cols:
            base = c.rsplit("_", 1)[0] if c[-1].isdigit() else c
            assert FLAG_COLUMNS[base] is kinds[label], (label, c)
            seen.setdefault(base, set()).add(kinds[label])
    assert all(len(v) == 1 for v in seen.values())
    assert set(seen) == {"aper_flag", "sep_flag", "psf_flag"}
    assert list(tables["aperture_multi"].filter(like="flag").columns) == [
        "aper_flag_0", "aper_flag_1", "aper_flag"]


def test_decode_aperture_flags_at_the_edge(tables):
    p = tables["aperture"]
    assert decode_flags(int(p["aper_flag"][0]), "aper_flag") == []
    assert decode_flags(int(p["aper_flag"][1]), "aper_flag") == ["PARTIAL"]
    assert decode_flags(int(p["aper_flag"][2]), ApertureFlag) == ["OFF_IMAGE"]
    assert decode_flags(p["aper_flag"][3], ApertureFlag) == ["BAD_POSITION"]
    table = decode_flags(p["aper_flag"], "aper_flag")
    assert list(table.columns) == ["PARTIAL", "OFF_IMAGE", "HAS_MASKED", "ALL_MASKED",
                                   "BAD_POSITION", "NO_SKY"]
    assert table.dtypes.eq(bool).all() and table.index.equals(p.index)
    assert table["PARTIAL"].tolist() == [False, True, False, False, False]
    assert table["OFF_IMAGE"].tolist() == [False, False, True, False, False]
    # per-radius columns: the suffix keeps the kind; the OR column has every bit
    m = tables["aperture_multi"]
    r0 = decode_flags(m["aper_flag_0"], "aper_flag_0")
    r1 = decode_flags(m["aper_flag_1"], "aper_flag_1")
    both = decode_flags(m["aper_flag"], "aper_flag")
    assert (both == (r0 | r1)).all().all()
    assert not r0["PARTIAL"][1] or r1["PARTIAL"][1]          # the larger radius is partial


def test_decode_keeps_a_series_index():
    data = star_field()
    xs = pd.Series([40.3, -30.0], index=["star", "off"])
    p = aperture_photometry(data, xs, [30.7, 10.0], 3.0)
    d = decode_flags(p["aper_flag"], "aper_flag")
    assert list(d.index) == ["star", "off"] and d.loc["off", "OFF_IMAGE"]


def test_decode_source_flags():
    # two blended stars are deblended (MERGED); a star on the edge is truncated (TRUNC)
    data = star_field(stars=((40.0, 30.0), (45.0, 30.0), (0.2, 60.0)), amp=300.0)
    src = extract_sources(data, err=1.0, thresh=5.0)
    d = decode_flags(src["sep_flag"], "sep_flag")
    assert list(d.columns) == ["MERGED", "TRUNC", "DOVERFLOW", "SINGU"]
    left = src["x"] < 3
    assert d.loc[left, "TRUNC"].all() and d.loc[~left, "MERGED"].sum() == 2
    assert (src["sep_flag"] & SourceFlag.TRUNC != 0).equals(d["TRUNC"])


def test_decode_psf_flags(tables):
    p = tables["psf"]
    assert decode_flags(int(p["psf_flag"][0]), "psf_flag") == []
    assert "EDGE" in decode_flags(int(p["psf_flag"][1]), PSFFlag)
    assert decode_flags(int(p["psf_flag"][2]), PSFFlag) == ["OFF_IMAGE"]
    assert decode_flags(int(p["psf_flag"][3]), PSFFlag) == ["OFF_IMAGE"]


def test_decode_stamp_flags():
    data = star_field()
    st = cut_stamps(data, [40.0, 1.0, -50.0, np.nan], [30.0, 1.0, 10.0, 5.0], 9)
    d = decode_flags(st.flag, StampFlag)
    assert d["EDGE"].tolist() == [False, True, False, False]
    assert d["OFF_IMAGE"].tolist() == [False, False, True, False]
    assert d["BAD_POSITION"].tolist() == [False, False, False, True]
    assert decode_flags(st[1].flag, "stamp_flag") == ["EDGE"]
    assert isinstance(st[1].flag, int)


def test_decode_inputs():
    assert decode_flags(0, ApertureFlag) == []
    assert decode_flags(ApertureFlag.PARTIAL | ApertureFlag.NO_SKY, ApertureFlag) == [
        "PARTIAL", "NO_SKY"]
    assert decode_flags(np.int16(3), "stamp_flag") == ["EDGE", "OFF_IMAGE"]
    # missing values (after a merge) decode to no bit; float columns of whole numbers work
    d = decode_flags(pd.Series([1.0, np.nan, 4.0]), PSFFlag)
    assert d["OFF_IMAGE"].tolist() == [True, False, False]
    assert d["MASKED"].tolist() == [False, False, True]
    d = decode_flags(pd.Series([2, None], dtype="Int64"), "psf_flag")
    assert d["EDGE"].tolist() == [True, False]
    assert decode_flags(np.array([], np.int64), ApertureFlag).shape == (0, 6)
    for bad_kind in ("flag", "aper", "sep_flag_x", int, 3):
        with pytest.raises(InvalidParameterError):
            decode_flags(1, bad_kind)
    for bad in (-1, 2.5, 64, "3", None, [[1, 2]], pd.DataFrame({"aper_flag": [1]})):
        with pytest.raises(InvalidParameterError):
            decode_flags(bad, ApertureFlag)
    with pytest.raises(InvalidParameterError, match="SourceFlag"):
        decode_flags([16], "sep_flag")                # bit 4 is not a sep flag


def test_describe_flags(tables):
    m = tables["aperture_multi"]
    d = describe_flags(m)
    assert list(d.columns) == ["column", "flag", "value", "count", "fraction"]
    assert d["column"].unique().tolist() == ["aper_flag_0", "aper_flag_1", "aper_flag"]
    row = d[(d.column == "aper_flag") & (d.flag == "OFF_IMAGE")].iloc[0]
    assert row["count"] == int((m["aper_flag"] & ApertureFlag.OFF_IMAGE != 0).sum())
    assert row["fraction"] == pytest.approx(row["count"] / len(m))
    none = d[(d.column == "aper_flag") & (d.flag == "NONE")].iloc[0]
    assert none["count"] == int((m["aper_flag"] == 0).sum())
    assert (d.loc[d.flag != "NONE", "count"] > 0).all()       # only the bits that occur
    full = describe_flags(m, all_bits=True)
    assert len(full) == 3 * 7
    # several kinds in one table (e.g. a merge of aperture and PSF photometry)
    both = tables["aperture"].join(tables["psf"][["psf_flag"]])
    assert set(describe_flags(both)["column"]) == {"aper_flag", "psf_flag"}
    assert describe_flags(tables["psf"]["psf_flag"])["column"].eq("psf_flag").all()
    with pytest.raises(InvalidParameterError, match="aper_flag"):
        describe_flags(pd.DataFrame({"x": [1.0]}))
    with pytest.raises(InvalidParameterError):
        describe_flags([1, 2])


def test_every_flag_class_is_registered_in_ztfimg_flags():
    """LightCurveFlag and StackFlag are defined with the others (one scalar-flag rule) and
    still importable where users found them."""
    import enum

    import pandas as pd

    from ztfimg import flags
    from ztfimg.collection import StackFlag
    from ztfimg.collection.stack import StackFlag as StackFlag2
    from ztfimg.lightcurves import LightCurveFlag
    from ztfimg.lightcurves.pointflags import LightCurveFlag as LightCurveFlag2
    assert LightCurveFlag is LightCurveFlag2 is flags.LightCurveFlag
    assert StackFlag is StackFlag2 is flags.StackFlag
    assert {"LightCurveFlag", "StackFlag"} <= set(flags.__all__)
    for cls in (LightCurveFlag, StackFlag):
        assert cls.__module__ == "ztfimg.flags" and issubclass(cls, enum.IntFlag)
        assert cls.__iter__ is None           # members are scalars for pandas
    s = pd.Series([0, 4, 132, 1])
    assert (s & LightCurveFlag.MASKED).tolist() == [0, 4, 4, 0]
    assert ((s & StackFlag.MASKED) != 0).tolist() == [False, False, False, False]
    assert flags.decode_flags(132, LightCurveFlag) == ["MASKED", "INFOBITS"]
    assert flags.decode_flags(17, StackFlag) == ["EDGE", "FAILED"]
    assert int(StackFlag.EDGE) == int(flags.StampFlag.EDGE) == 1
