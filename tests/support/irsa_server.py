"""An IRSA-like ZTF archive on 127.0.0.1, for the archive tests and the example (no network).

:class:`IRSAServer` runs :class:`http.server.ThreadingHTTPServer` in a thread on a free
port and answers like IRSA's image server (IBE) does for ZTF:

* ``GET <base>search/ztf/products/<sci|ref>?POS=ra,dec[&SIZE=w[,h]][&INTERSECT=..][&where=..]``
  -> an IPAC table (``\\fixlen = T``, ``|name|`` / ``|type|`` header lines, as astroquery's
  ``Ibe.query_region`` reads it) of the rows whose footprint (corners ``ra1..dec4``) meets
  the position, filtered by the ``where`` clause (the conjunctions of ``col IN (...)`` and
  ``col <op> value`` that ztfimg sends; anything else is a 400, like a bad query at IRSA).
  The science rows are the real IRSA metadata rows of ``tests/data/daophot/manifest.json``
  (the multi-position upload columns ``in_*`` dropped); reference rows are derived from
  them (:func:`reference_rows`);
* ``GET``/``HEAD <base>data/ztf/products/<archive path>`` -> the file, with ``Range``
  requests (``206``, ``416``) and a ``Content-Length`` always.

Products are added by name (:meth:`IRSAServer.add_file`) or simulated for the search rows
(:meth:`IRSAServer.add_frames`, small frames written by :mod:`ztfimg.simulate`).
Misbehaviour is switched per product (:meth:`IRSAServer.fail`): ``404``, ``401``, ``403``,
``503`` (with ``Retry-After: 0``), ``'stall'`` (no answer for ``stall_seconds``),
``'drop'`` (the connection closed after half the body), each for a number of requests.
Every request is logged (:attr:`IRSAServer.log`, :meth:`IRSAServer.hits`,
:meth:`IRSAServer.ranges`). ``chunk_delay`` slows every body down (seconds per chunk).
"""

from __future__ import annotations

import io
import json
import os
import re
import socket
import tempfile
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np

from ztfimg import filenames

__all__ = ["IRSAServer", "manifest_rows", "repeat_row", "reference_rows", "ipac_table",
           "MANIFEST"]

MANIFEST = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                        "daophot", "manifest.json")
_DATA = "/ibe/data/ztf/products/"
_SEARCH = "/ibe/search/ztf/products/"
_REF_COLUMNS = ["field", "ccdid", "qid", "rcid", "fid", "filtercode", "ra", "dec",
                "ra1", "dec1", "ra2", "dec2", "ra3", "dec3", "ra4", "dec4", "maglimit",
                "infobits", "ipac_pub_date", "ipac_gid"]


def manifest_rows(path=MANIFEST):
    """The real IRSA science metadata rows of the manifest (list of dicts, in file order)."""
    with open(path) as fh:
        images = json.load(fh)["images"]
    return [{k: v for k, v in im["metadata"].items() if not k.startswith("in_")}
            for im in images]


def repeat_row(row, n, days=1.0):
    """``n`` epochs of one quadrant: copies of ``row`` every ``days`` days (a light curve).

    ``obsjd``, ``obsdate``, ``filefracday``, ``pid`` and ``expid`` follow the new epoch;
    everything else (field, CCD, quadrant, footprint, seeing ...) is the real row's.
    """
    import datetime as dt
    out = []
    out.append(dict(row))
    for k in range(1, n):
        r = dict(row)
        r["obsjd"] = row["obsjd"] + k * days
        t = dt.datetime(2000, 1, 1, 12) + dt.timedelta(days=r["obsjd"] - 2451545.0)
        frac = (t - t.replace(hour=0, minute=0, second=0, microsecond=0)).total_seconds() / 86400
        r["filefracday"] = int(f"{t:%Y%m%d}{int(frac * 1e6):06d}")
        r["obsdate"] = f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d}+00"
        r["pid"], r["expid"] = row["pid"] + 1000 * k, row["expid"] + 10 * k
        out.append(r)
    return out


def reference_rows(rows):
    """Reference-table rows for the quadrants of some science rows (one per quadrant+filter).

    IRSA's ``ref`` table has the quadrant's identity and footprint plus the co-add's own
    columns; here those are derived from the science row: ``nframes`` 25, ``startobsdate`` /
    ``endobsdate`` around the exposure.
    """
    out, seen = [], set()
    for r in rows:
        key = (r["field"], r["filtercode"], r["ccdid"], r["qid"])
        if key in seen:
            continue
        seen.add(key)
        ref = {k: r[k] for k in _REF_COLUMNS}
        ref.update(nframes=25, startobsdate="2018-03-20 00:00:00+00",
                   endobsdate="2019-12-31 00:00:00+00")
        out.append(ref)
    return out


def ipac_table(rows, columns):
    """An IPAC table (the text IRSA answers) of ``rows`` (dicts) with ``columns``, in order."""
    from astropy.table import Table
    names = list(columns)
    data = {n: [r[n] for r in rows] for n in names}
    table = Table()
    for n in names:
        values = data[n]
        kinds = {type(v) for v in values}
        if not values:
            table[n] = np.array([], dtype=_EMPTY_TYPES.get(n, float))
        elif kinds <= {int, bool}:
            table[n] = np.array(values, dtype=np.int64)
        elif kinds <= {int, float}:
            table[n] = np.array(values, dtype=np.float64)
        else:
            table[n] = np.array([str(v) for v in values])
    table.meta["keywords"] = {"fixlen": {"value": "T"}, "RowsRetrieved": {"value": len(rows)}}
    buf = io.StringIO()
    table.write(buf, format="ascii.ipac")
    return buf.getvalue()


_EMPTY_TYPES = {"filtercode": "U2", "imgtype": "U6", "imgtypecode": "U1", "obsdate": "U26",
                "ipac_pub_date": "U22", "startobsdate": "U22", "endobsdate": "U22"}
for _name in ("field", "ccdid", "qid", "rcid", "fid", "pid", "nid", "expid", "itid",
              "filefracday", "infobits", "ipac_gid", "nframes"):
    _EMPTY_TYPES[_name] = np.int64


# ----------------------------------------------------------------------------- geometry
def _tangent(ra, dec, ra0, dec0):
    ra, dec, ra0, dec0 = map(np.radians, (ra, dec, ra0, dec0))
    c = np.sin(dec0) * np.sin(dec) + np.cos(dec0) * np.cos(dec) * np.cos(ra - ra0)
    x = np.cos(dec) * np.sin(ra - ra0) / c
    y = (np.cos(dec0) * np.sin(dec) - np.sin(dec0) * np.cos(dec) * np.cos(ra - ra0)) / c
    return np.degrees(x), np.degrees(y)


def _inside(poly_x, poly_y, x, y):
    """Whether (x, y) is inside the convex polygon (corners in order)."""
    n = len(poly_x)
    signs = {np.sign((poly_x[(i + 1) % n] - poly_x[i]) * (y - poly_y[i])
                     - (poly_y[(i + 1) % n] - poly_y[i]) * (x - poly_x[i])) for i in range(n)}
    signs.discard(0.0)
    return len(signs) <= 1


def _meets(row, ra, dec, width, height):
    """Whether the footprint of ``row`` meets the box (width x height deg) at (ra, dec)."""
    xs, ys = _tangent(np.array([row[f"ra{i}"] for i in range(1, 5)]),
                      np.array([row[f"dec{i}"] for i in range(1, 5)]), ra, dec)
    w, h = width / 2, height / 2
    probes = [(0, 0)] + [(sx * w, sy * h) for sx in (-1, 0, 1) for sy in (-1, 0, 1)]
    if any(_inside(xs, ys, px, py) for px, py in probes):
        return True
    return bool(w and h and any(abs(x) <= w and abs(y) <= h for x, y in zip(xs, ys)))


# ----------------------------------------------------------------------------- where
_IN = re.compile(r"(\w+)\s+IN\s*\((.*)\)", re.I)
_CMP = re.compile(r"(\w+)\s*(>=|<=|!=|=|<|>)\s*(.+)")


def _literal(text):
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return text[1:-1]
    return float(text)


def _where_test(where):
    """A predicate on rows for the conjunctions ztfimg sends; ValueError for anything else."""
    tests = []
    for term in re.split(r"\s+AND\s+", where.strip(), flags=re.I):
        term = term.strip()
        while term.startswith("("):
            term = term[1:].strip()
        while term.endswith(")") and term.count(")") > term.count("("):
            term = term[:-1].strip()
        m = _IN.fullmatch(term)
        if m:
            values = [_literal(v) for v in m[2].split(",")]
            tests.append(lambda r, c=m[1], v=values: r[c] in v)
            continue
        m = _CMP.fullmatch(term)
        if not m:
            raise ValueError(f"cannot parse the condition {term!r}")
        col, op, value = m[1], m[2], _literal(m[3])
        ops = {">=": np.greater_equal, "<=": np.less_equal, "=": np.equal, "!=": np.not_equal,
               "<": np.less, ">": np.greater}
        tests.append(lambda r, c=col, f=ops[op], v=value: bool(f(r[c], v)))

    def check(row):
        for test in tests:
            try:
                if not test(row):
                    return False
            except KeyError as exc:
                raise ValueError(f"unknown column {exc}") from None
        return True
    return check


# ----------------------------------------------------------------------------- server
class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):   # quiet
        pass

    def do_GET(self):
        self.server.irsa._handle(self, head=False)

    def do_HEAD(self):
        self.server.irsa._handle(self, head=True)


class IRSAServer:
    """A local stand-in for IRSA's ZTF image server (see the module description).

    Parameters
    ----------
    rows : list of dict, optional
        Science metadata rows; default :func:`manifest_rows` (3 real rows).
    chunk_size : int, default 4096
        Bytes per write of a body.
    chunk_delay : float, default 0
        Seconds to sleep after each chunk (slow downloads).
    stall_seconds : float, default 3
        How long a ``'stall'`` fault keeps the client waiting.
    """

    def __init__(self, rows=None, *, chunk_size=4096, chunk_delay=0.0, stall_seconds=3.0):
        self.rows = {"sci": list(manifest_rows() if rows is None else rows)}
        self.rows["ref"] = reference_rows(self.rows["sci"])
        self.columns = {"sci": list(self.rows["sci"][0]) if self.rows["sci"] else [],
                        "ref": list(self.rows["ref"][0]) if self.rows["ref"] else []}
        self.files = {}
        self.chunk_size, self.chunk_delay = chunk_size, chunk_delay
        self.stall_seconds = stall_seconds
        self.log = []
        self.searches = []
        self._faults = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._httpd = None
        self._thread = None

    # -------------------------------------------------------------- life cycle
    def start(self):
        """Start serving on 127.0.0.1 (a free port); returns self."""
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._httpd.irsa = self
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        name="irsa-server")
        self._thread.start()
        return self

    def stop(self):
        """Stop serving (stalled requests are released)."""
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    @property
    def base_url(self):
        """The IBE base URL of this server, ``http://127.0.0.1:<port>/ibe/``."""
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/ibe/"

    # -------------------------------------------------------------- content
    def add_file(self, name, data):
        """Serve ``data`` (bytes) as the product ``name`` at its archive path."""
        self.files[filenames.archive_path(name)] = bytes(data)

    def add_frames(self, shape=(64, 64), seed=0, products=("sciimg.fits", "mskimg.fits"),
                   catalog=None):
        """Simulate and serve the products of every science row (and its reference image).

        Each frame is centred (CRVAL) on the row's ``crval1``, ``crval2``; ``catalog``
        (``ra``, ``dec``, ``mag``) replaces the random stars (see
        :func:`ztfimg.simulate.simulate_quadrant`).

        Returns
        -------
        list of str
            The ``sciimg.fits`` names, in row order.
        """
        from ztfimg import simulate
        names = []
        with tempfile.TemporaryDirectory() as tmp:
            for i, row in enumerate(self.rows["sci"]):
                frame = simulate.simulate_quadrant(
                    shape=shape, seed=seed + i, ra=row["crval1"], dec=row["crval2"],
                    fieldid=row["field"], ccdid=row["ccdid"], qid=row["qid"],
                    filtername=row["filtercode"], obsjd=row["obsjd"], catalog=catalog)
                sci, msk = frame.write(os.path.join(tmp, str(i)))
                name = filenames.build_science_filename(
                    f"{row['filefracday']:014d}", row["field"], row["filtercode"], row["ccdid"],
                    row["qid"], "sciimg.fits", row["imgtypecode"])
                names.append(name)
                made = {"sciimg.fits": sci, "mskimg.fits": msk}
                for suffix in products:
                    if suffix in made:
                        with open(made[suffix], "rb") as fh:
                            self.add_file(filenames.sibling(name, suffix), fh.read())
                ref = simulate.simulate_reference(frame, seed=100 + seed + i).write(
                    os.path.join(tmp, f"{i}_ref"))
                with open(ref, "rb") as fh:
                    self.add_file(filenames.reference_filename(name), fh.read())
        return names

    def data(self, name):
        """The bytes served for the product ``name``."""
        return self.files[filenames.archive_path(name)]

    # -------------------------------------------------------------- faults and log
    def fail(self, name, kind, times=1):
        """Misbehave for the next ``times`` requests of ``name`` (None: for all of them).

        ``kind``: 404, 401, 403, 503, ``'stall'`` or ``'drop'``; ``name`` a product name,
        or ``'search:sci'`` / ``'search:ref'`` for the search.
        """
        with self._lock:
            self._faults.setdefault(name, []).append([kind, times])

    def _take_fault(self, key):
        with self._lock:
            queue = self._faults.get(key)
            while queue:
                kind, times = queue[0]
                if times is None:
                    return kind
                if times > 0:
                    queue[0][1] -= 1
                    if queue[0][1] == 0:
                        queue.pop(0)
                    return kind
                queue.pop(0)
        return None

    def hits(self, name, method="GET"):
        """Number of ``method`` requests received for the product ``name``."""
        with self._lock:
            return sum(1 for e in self.log if e["name"] == name and e["method"] == method)

    def ranges(self, name):
        """The ``Range`` headers of the GET requests for ``name`` (None for none), in order."""
        with self._lock:
            return [e["range"] for e in self.log if e["name"] == name and e["method"] == "GET"]

    def reset(self):
        """Forget the requests received so far and the pending faults."""
        with self._lock:
            self.log.clear()
            self.searches.clear()
            self._faults.clear()

    # -------------------------------------------------------------- requests
    def _handle(self, h, head):
        parts = urllib.parse.urlsplit(h.path)
        path = urllib.parse.unquote(parts.path)
        if path.startswith(_SEARCH):
            return self._search(h, path[len(_SEARCH):], urllib.parse.parse_qs(parts.query))
        rel = path[len(_DATA):] if path.startswith(_DATA) else None
        name = os.path.basename(path)
        entry = {"method": h.command, "path": path, "name": name,
                 "range": h.headers.get("Range"), "status": None}
        with self._lock:
            self.log.append(entry)
        fault = self._take_fault(name)
        if fault == "stall":
            self._stop.wait(self.stall_seconds)
            fault = None
        if isinstance(fault, int):
            entry["status"] = fault
            headers = {"Retry-After": "0"} if fault == 503 else {}
            return self._send(h, fault, b"<html><body>error %d</body></html>" % fault,
                              "text/html", headers, head)
        if rel is None or rel not in self.files:
            entry["status"] = 404
            return self._send(h, 404, b"<html><body>Not Found</body></html>", "text/html",
                              {}, head)
        data = self.files[rel]
        status, body, headers = 200, data, {"Accept-Ranges": "bytes"}
        rng = h.headers.get("Range")
        if rng:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", rng.strip())
            start = int(m[1]) if m else len(data)
            end = min(int(m[2]), len(data) - 1) if m and m[2] else len(data) - 1
            if start >= len(data) or start > end:
                entry["status"] = 416
                return self._send(h, 416, b"", "text/plain",
                                  {"Content-Range": f"bytes */{len(data)}"}, head)
            status, body = 206, data[start:end + 1]
            headers["Content-Range"] = f"bytes {start}-{end}/{len(data)}"
        entry["status"] = status
        self._send(h, status, body, "application/fits", headers, head,
                   drop=(fault == "drop"))

    def _search(self, h, table, query):
        q = {k: v[0] for k, v in query.items()}
        with self._lock:
            self.searches.append(dict(q, table=table))
            self.log.append({"method": h.command, "path": h.path, "name": f"search:{table}",
                             "range": None, "status": None})
        fault = self._take_fault(f"search:{table}")
        if fault == "stall":
            self._stop.wait(self.stall_seconds)
        elif isinstance(fault, int):
            return self._send(h, fault, b"error", "text/plain", {}, False)
        if table not in self.rows:
            return self._send(h, 404, b"no such table", "text/plain", {}, False)
        rows = self.rows[table]
        try:
            if "POS" in q:
                ra, dec = (float(v) for v in q["POS"].split(","))
                size = [float(v) for v in q.get("SIZE", "0").split(",")]
                w, hgt = (size[0], size[0]) if len(size) == 1 else size
                rows = [r for r in rows if _meets(r, ra, dec, w, hgt)]
            if q.get("where"):
                test = _where_test(q["where"])
                rows = [r for r in rows if test(r)]
        except ValueError as exc:
            return self._send(h, 400, f"[struct stat=\"ERROR\", msg=\"{exc}\"]".encode(),
                              "text/plain", {}, False)
        body = ipac_table(rows, self.columns[table]).encode()
        self._send(h, 200, body, "text/plain", {}, False)

    def _send(self, h, status, body, ctype, headers, head, drop=False):
        try:
            h.send_response(status)
            h.send_header("Content-Type", ctype)
            h.send_header("Content-Length", str(len(body)))
            for k, v in headers.items():
                h.send_header(k, v)
            if drop:
                h.send_header("Connection", "close")
            h.end_headers()
            if head:
                return
            if drop:
                h.wfile.write(body[: len(body) // 2])
                h.wfile.flush()
                h.close_connection = True
                h.connection.shutdown(socket.SHUT_RDWR)
                return
            for i in range(0, len(body), self.chunk_size):
                h.wfile.write(body[i:i + self.chunk_size])
                if self.chunk_delay and self._stop.wait(self.chunk_delay):
                    return
        except (BrokenPipeError, ConnectionResetError, OSError):
            h.close_connection = True
