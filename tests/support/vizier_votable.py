"""A VizieR VOTable writer, for tests: answers as VizieR gives them to astroquery.

:func:`to_vizier_votable` turns a catalogue into the VOTable body VizieR returns
for a cone query, so that the offline tests (``tests/test_refcat.py``'s
``FakeVizier``) exercise astroquery's real request and parsing path.  It reads the
catalogue specs of :mod:`ztfimg.refcat.specs`; it is test support, not part of the
ztfimg package.
"""

import io
import time
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd

from ztfimg.refcat.columns import _as_id, empty_catalog, normalize
from ztfimg.refcat.specs import CATALOGS, _spec

__all__ = ["to_vizier_votable"]


def _fmt_column(f, values):
    """Strings for the TD cells of one column, as VizieR writes them."""
    if f.kind == "id":
        arr = np.asarray(values)
        if arr.dtype.kind == "f":
            arr = _as_id(arr, f.name)
        return [escape(str(v)) for v in arr]
    if f.kind == "int":
        arr = pd.to_numeric(pd.Series(np.asarray(values)), errors="coerce")
        return ["" if pd.isna(v) else str(int(v)) for v in arr]
    arr = np.asarray(values, dtype=float)
    prec = f.precision if f.precision is not None else 6
    return ["" if not np.isfinite(v) else f"{v:.{prec}f}" for v in arr]


def to_vizier_votable(df, catalog, *, columns=None, query=None):
    """Write a catalogue as the VOTable VizieR returns for a query.

    Reproduces the layout of VizieR answers to astroquery (``-out.meta=huUD``,
    ``-out.form=mini``): VOTable 1.4 with the server DESCRIPTION and INFO
    elements, one RESOURCE/TABLE named after the catalogue (``II/349/ps1`` or
    ``I/355/gaiadr3``), FIELDs with the VizieR names, UCD1+ words, units,
    widths/precisions and descriptions, and TABLEDATA rows with values
    rounded to the column precision, NULL values as empty cells.  Meant for
    simulations and tests that must exercise astroquery's real parsing path.

    Parameters
    ----------
    df : pandas.DataFrame
        Catalogue with normalised (``objid``, ``ra`` ...) or VizieR
        (``objID``, ``RAJ2000`` ...) column names; missing optional columns
        are written as NULL.
    catalog : str
        ``"ps1"`` / ``"gaia"`` or an alias, or the VizieR table name
        (``"II/349/ps1"``, ``"I/355/gaiadr3"``).
    columns : list of str, optional
        VizieR column names to write (as asked with ``-out``); default all
        the columns ztfimg requests.
    query : dict, optional
        Query parameters echoed in the ``queryParameters`` INFO (e.g.
        ``{"-c": "10.0+20.0", "-c.rd": "0.5"}``).

    Returns
    -------
    bytes
        UTF-8 XML document.

    Raises
    ------
    CatalogError
        Unknown catalogue or missing id/ra/dec columns.
    """
    for spec_ in CATALOGS.values():
        if str(catalog) == spec_.vizier:
            catalog = spec_.name
    spec = _spec(catalog)
    norm = normalize(df, spec.name) if len(df.columns) else empty_catalog(spec.name)
    fields = [f for f in spec.fields if f.vizier]
    if columns is not None:
        wanted = [c for c in columns]
        fields = [f for f in fields if f.vizier in wanted]
    out = io.StringIO()
    w = out.write
    w('<?xml version="1.0" encoding="UTF-8"?>\n')
    w('<VOTABLE version="1.4" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"\n'
      '  xmlns="http://www.ivoa.net/xml/VOTable/v1.3"\n'
      '  xsi:schemaLocation="http://www.ivoa.net/xml/VOTable/v1.3 '
      'http://www.ivoa.net/xml/VOTable/v1.3">\n')
    w(' <DESCRIPTION>\n   VizieR Astronomical Server vizier.cds.unistra.fr\n'
      f'    Date: {time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())} [V7.4.5]\n'
      '   Explanations and Statistics of UCDs:\t\t\tSee LINK below\n'
      '   In case of problem, please report to:\tcds-question@unistra.fr\n'
      '   In this version, NULL integer columns are written as an empty string\n'
      '   &lt;TD&gt;&lt;/TD&gt;, explicitely possible from VOTable-1.3\n </DESCRIPTION>\n')
    w('<!-- VOTable description at http://www.ivoa.net/documents/latest/VOT.html -->\n')
    w('<INFO ID="VERSION" name="votable-version" value="1.99+ (14-Oct-2013)"/>\n')
    w('<INFO ID="Ref" name="-ref" value="VOTx0000"/>\n')
    w('<INFO ID="MaxTuples" name="-out.max" value="unlimited"/>\n')
    q = {"-oc.form": "d", "-source": spec.vizier,
         "-out": ",".join(f.vizier for f in fields), "-out.max": "unlimited"}
    q.update(query or {})
    w(f'<INFO name="queryParameters" value="{len(q)}">\n')
    for k, v in q.items():
        w(escape(f"{k}={v}" if v is not None else k) + "\n")
    w('</INFO>\n\n')
    if "-c" in q:
        rad = next((f"r{k[-1]}={v}" for k, v in q.items() if k.startswith("-c.r")), "")
        w(f'<INFO ID="Target" name="-c" value="{escape(str(q["-c"]))},{rad}">\n</INFO>\n\n')
    w(f'<RESOURCE ID="{spec.resource_id}" name="{spec.resource}">\n')
    w(f'  <DESCRIPTION>{escape(spec.title)}</DESCRIPTION>\n')
    w(f'  {spec.coosys}\n')
    w(f'  <TABLE ID="{spec.vizier.replace("/", "_")}" name="{spec.vizier}">\n')
    w(f'    <DESCRIPTION>{escape(spec.table_description)}</DESCRIPTION>\n')
    w('    <!-- Definitions of GROUPs and FIELDs -->\n')
    for f in fields:
        attrs = f'name="{f.vizier}" ucd="{f.ucd}"'
        if f.ref:
            attrs += f' ref="{f.ref}"'
        attrs += f' datatype="{f.datatype}" width="{f.width}"'
        if f.precision is not None:
            attrs += f' precision="{f.precision}"'
        if f.unit:
            attrs += f' unit="{escape(f.unit)}"'
        w(f'    <FIELD {attrs}>\n      <DESCRIPTION>{escape(f.description)}</DESCRIPTION>\n')
        if f.kind == "int":
            w('      <VALUES null="-32768" />\n')
        w('    </FIELD>\n')
    w('<DATA><TABLEDATA>\n')
    cells = [_fmt_column(f, norm[f.name].to_numpy()) for f in fields]
    for row in zip(*cells):
        w("<TR>" + "".join(f"<TD>{c}</TD>" for c in row) + "</TR>\n")
    w('</TABLEDATA></DATA>\n</TABLE>\n')
    w(f'<INFO name="matches" value="{len(norm)}">matching records</INFO>\n')
    w('</RESOURCE>\n</VOTABLE>\n')
    return out.getvalue().encode("utf-8")
