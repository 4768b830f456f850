"""What each reference catalogue is: its VizieR table, columns and accepted names.

A catalogue is described once, by a :class:`_CatalogSpec` holding one
:class:`_Field` per column.  A field ties together the VizieR column (name, VOTable
datatype, width, precision, unit, UCD, description), the normalised ztfimg name and
kind (``"id"``, ``"float"`` or ``"int"``) and the other names accepted on input
(archive spellings such as PS1 MAST ``gMeanPSFMag`` or Gaia ``phot_g_mean_mag``).
Everything else in :mod:`ztfimg.refcat` -- the VizieR request, column normalisation,
the tile files -- reads these specs; nothing else lists columns.

The catalogues are :data:`CATALOGS` (by canonical name); :data:`ALIASES` is the one
table of accepted names and :func:`resolve_catalog` the one function that reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import CatalogError

__all__ = ["CATALOGS", "ALIASES", "resolve_catalog"]


@dataclass(frozen=True)
class _Field:
    """One catalogue column: VizieR name/metadata and normalised name/dtype."""

    vizier: str  # VizieR column name (label)
    name: str  # normalised column name
    kind: str  # "id", "float", "int"
    datatype: str  # VOTable datatype written by VizieR
    width: int
    precision: int | None = None
    unit: str | None = None
    ucd: str = ""
    description: str = ""
    ref: str | None = None
    aliases: tuple = ()  # other accepted input names (case-insensitive)
    required: bool = False


@dataclass(frozen=True)
class _CatalogSpec:
    """One reference catalogue: VizieR table and resource, fields, id column, bands."""

    name: str
    vizier: str
    resource: str
    resource_id: str
    title: str
    table_description: str
    coosys: str
    fields: tuple
    id_column: str
    bands: tuple
    default_epoch: float | None = None
    extra_defaults: dict = field(default_factory=dict)

    @property
    def columns(self):
        """Normalised column names, in order."""
        return [f.name for f in self.fields]

    @property
    def vizier_columns(self):
        """VizieR column names requested from the service."""
        return [f.vizier for f in self.fields if f.vizier]


def _mag_fields(bands, ucds, width, precision, ewidth, eprecision, kind_desc, aliases):
    """Magnitude and magnitude-error fields, two per band."""
    out = []
    for band, ucd in zip(bands, ucds):
        out.append(_Field(f"{band}mag", f"{band}mag", "float", "double", width, precision, "mag",
                          ucd, f"? {kind_desc} {band} magnitude",
                          aliases=tuple(a.format(b=band, bl=band.lower()) for a in aliases[0])))
        out.append(_Field(f"e_{band}mag", f"e_{band}mag", "float", "double", ewidth, eprecision,
                          "mag", "stat.error;phot.mag", f"? Error on {band}mag",
                          aliases=tuple(a.format(b=band, bl=band.lower()) for a in aliases[1])))
    return out


_PS1 = _CatalogSpec(
    name="ps1",
    vizier="II/349/ps1",
    resource="II/349",
    resource_id="yCat_2349",
    title="The Pan-STARRS release 1 (PS1) Survey - DR1 (Chambers+, 2016)",
    table_description="The Pan-STARRS1 DR1 object catalogue (mean PSF photometry)",
    coosys='<COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/>',
    fields=tuple([
        _Field("objID", "objid", "id", "long", 17, None, None, "meta.id;meta.main",
               "Unique object identifier (1)", aliases=("obj_id", "objid"), required=True),
        _Field("RAJ2000", "ra", "float", "double", 11, 7, "deg", "pos.eq.ra;meta.main",
               "Right ascension (ICRS) at Epoch (raMean)", ref="J2000",
               aliases=("ramean", "ra_deg"), required=True),
        _Field("DEJ2000", "dec", "float", "double", 11, 7, "deg", "pos.eq.dec;meta.main",
               "Declination (ICRS) at Epoch (decMean)", ref="J2000",
               aliases=("decmean", "dec_deg"), required=True),
        _Field("Qual", "qual", "int", "short", 3, None, None, "meta.code.qual",
               "[0,255] Quality flag (qualityFlag)", aliases=("qualityflag",)),
    ] + _mag_fields(
        ("g", "r", "i", "z", "y"),
        ("phot.mag;em.opt.B", "phot.mag;em.opt.R", "phot.mag;em.opt.I", "phot.mag;em.opt.I",
         "phot.mag;em.IR.NIR"),
        8, 4, 7, 4, "Mean PSF AB",
        (("{b}meanpsfmag",), ("{b}meanpsfmagerr", "{b}mag_err", "{b}magerr")),
    )),
    id_column="objid",
    bands=("g", "r", "i", "z", "y"),
)

_GAIA = _CatalogSpec(
    name="gaia",
    vizier="I/355/gaiadr3",
    resource="I/355",
    resource_id="yCat_1355",
    title="Gaia DR3 Part 1. Main source (Gaia Collaboration, 2022)",
    table_description="Gaia DR3 source catalog (1811709771 sources)",
    coosys='<COOSYS ID="H_2016.000" system="ICRS" epoch="J2016.000"/>',
    fields=(
        _Field("Source", "source_id", "id", "long", 19, None, None, "meta.id;meta.main",
               "Unique source identifier (unique within a particular Data Release) (source_id)",
               aliases=("source_id", "sourceid"), required=True),
        _Field("RA_ICRS", "ra", "float", "double", 15, 11, "deg", "pos.eq.ra;meta.main",
               "Right ascension (ICRS) at Ep=2016.0 (ra)", ref="H_2016.000", required=True),
        _Field("DE_ICRS", "dec", "float", "double", 15, 11, "deg", "pos.eq.dec;meta.main",
               "Declination (ICRS) at Ep=2016.0 (dec)", ref="H_2016.000", required=True),
        _Field("", "ref_epoch", "float", "double", 6, 1, "yr", "time.epoch",
               "Reference epoch (ref_epoch); 2016.0 for every DR3 source",
               aliases=("epoch",)),
        _Field("Plx", "parallax", "float", "double", 9, 4, "mas", "pos.parallax.trig",
               "? Parallax (parallax)", aliases=("parallax",)),
        _Field("pmRA", "pmra", "float", "double", 9, 3, "mas/yr", "pos.pm;pos.eq.ra",
               "? Proper motion in right ascension direction, pmRA*cosDE (pmra)"),
        _Field("pmDE", "pmdec", "float", "double", 9, 3, "mas/yr", "pos.pm;pos.eq.dec",
               "? Proper motion in declination direction (pmdec)"),
        _Field("RUWE", "ruwe", "float", "double", 7, 3, None, "stat.fit.goodness",
               "? Renormalised unit weight error (ruwe)"),
    ) + tuple(_mag_fields(
        ("G", "BP", "RP"),
        ("phot.mag;em.opt", "phot.mag;em.opt.B", "phot.mag;em.opt.R"),
        9, 6, 8, 6, "Gaia",
        (("phot_{bl}_mean_mag",), ("{b}mag_err",)),
    )),
    id_column="source_id",
    bands=("G", "BP", "RP"),
    default_epoch=2016.0,
    extra_defaults={"ref_epoch": 2016.0},
)

#: Known catalogues, by canonical name.
CATALOGS = {"ps1": _PS1, "gaia": _GAIA}

#: Accepted names (lower case) and the canonical catalogue they mean.
ALIASES = {
    "ps1": "ps1", "ps1cat": "ps1", "panstarrs": "ps1",
    "gaia": "gaia", "gaiadr3": "gaia",
}


def resolve_catalog(name):
    """Return the canonical name of a reference catalogue.

    Parameters
    ----------
    name : str
        Catalogue name or alias, case-insensitive: ``"ps1"``, ``"ps1cat"``,
        ``"panstarrs"`` (Pan-STARRS1 DR1) or ``"gaia"``, ``"gaiadr3"`` (Gaia DR3).

    Returns
    -------
    str
        ``"ps1"`` or ``"gaia"``.

    Raises
    ------
    CatalogError
        If the name is not known; the message lists the known names.

    Examples
    --------
    >>> resolve_catalog("PanSTARRS")
    'ps1'
    """
    key = str(name).strip().lower() if isinstance(name, str) else None
    if key not in ALIASES:
        raise CatalogError(
            f"unknown reference catalogue {name!r}; known names: {', '.join(sorted(ALIASES))}")
    return ALIASES[key]


def _spec(name):
    """The :class:`_CatalogSpec` of a catalogue name or alias."""
    return CATALOGS[resolve_catalog(name)]
