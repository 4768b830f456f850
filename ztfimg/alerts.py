"""ZTF alert packets: the candidate and its three cutouts as stamps (level 2).

A ZTF alert (Avro, read with ``fastavro``) holds IPAC's measurements of one detection on a
difference image (``candidate``: ``xpos``, ``ypos``, ``magpsf``, ``magap``, ``magapbig`` ...),
the object's earlier detections (``prv_candidates``) and three 63 x 63 cutouts (science,
template, difference) as gzip-compressed FITS.  :func:`read_alerts` turns each record into an
:class:`Alert` whose cutouts are :class:`ztfimg.stamps.Stamp` objects carrying the
candidate's position.

Where the candidate falls in a cutout (measured on 40 real packets of 2018-07-13, schema
1.8, by fitting a Gaussian to each difference cutout; see ``tests/test_alerts.py``):

* the cutout is centred on the candidate's pixel: the pixel that holds IPAC's 1-based
  ``(xpos, ypos)`` is the central pixel ``(31, 31)`` of the 63 x 63 cutout (0-based);
* the fractional part carries over: the candidate lies at
  ``(31 + xpos - round(xpos), 31 + ypos - round(ypos))`` in cutout coordinates (the fitted
  centres follow the fraction with Theil-Sen slopes of 1.02 in x and 1.05 in y and miss
  that position by a median 0.085 pixel; without the fraction they miss by 0.40 pixel,
  one pixel off by 1.4);
* so the cutout's pixel ``(0, 0)`` is the 0-based frame pixel
  ``(round(xpos) - 32, round(ypos) - 32)``: the ztfimg stamp convention
  (:func:`ztfimg.stamps.stamp_origin`) at the 0-based position ``(xpos - 1, ypos - 1)``.

:attr:`Stamp.x`, :attr:`Stamp.y` of each cutout hold that position and
:attr:`Stamp.origin` the frame pixel of cutout pixel (0, 0), so ``stamp.to_frame`` gives
0-based frame coordinates.  The cutouts' FITS headers are minimal (no WCS, no zero point)
and their SIMPLE card does not follow the standard: the VerifyWarning astropy gives for it,
and only that one, is silenced.

Examples
--------
>>> from ztfimg import alerts                                            # doctest: +SKIP
>>> alert = alerts.read_alert("558192074015015009.avro")  # doctest: +SKIP
>>> alert.candidate["magap"], alert.difference.x, alert.difference.y  # doctest: +SKIP
>>> alert.aperture_photometry(radius=[7, 9], bkgann=(15, 25))  # doctest: +SKIP
>>> axes = alert.show()  # doctest: +SKIP
"""

from __future__ import annotations

import gzip
import io
import os
import warnings

import numpy as np
import pandas as pd
from astropy.io import fits

from .errors import FileFormatError, InvalidParameterError, MissingFileError
from .stamps import Stamp, stamp_origin

__all__ = ["Alert", "read_alerts", "read_alert", "read_cutout", "CUTOUT_KINDS",
           "CUTOUT_SIZE", "cutout_position"]

#: The cutouts of a packet: attribute name -> packet field.
CUTOUT_KINDS = {"science": "cutoutScience", "template": "cutoutTemplate",
                "difference": "cutoutDifference"}
#: Side of a standard ZTF alert cutout, pixels.
CUTOUT_SIZE = 63
#: The one warning silenced when reading cutouts (their SIMPLE card is non-standard).
_SIMPLE_WARNING = "Found a SIMPLE card but its format doesn't respect the FITS Standard"


def read_cutout(blob):
    """Decode one cutout: gzip-compressed (or plain) FITS bytes to a float32 image.

    Parameters
    ----------
    blob : bytes
        ``stampData`` of a packet's cutout.

    Returns
    -------
    data : numpy.ndarray
        Native float32, 2-D (non-finite pixels kept).
    header : astropy.io.fits.Header

    Raises
    ------
    FileFormatError
        Not (gzip-compressed) FITS, or no 2-D image in it.

    Examples
    --------
    >>> data, header = read_cutout(record["cutoutDifference"]["stampData"])  # doctest: +SKIP
    """
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise FileFormatError(f"a cutout's stampData must be bytes; got {type(blob).__name__}")
    raw = bytes(blob)
    try:
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=_SIMPLE_WARNING,
                                    category=fits.verify.VerifyWarning)
            with fits.open(io.BytesIO(raw)) as hdul:
                hdu = next((h for h in hdul if h.is_image and h.header.get("NAXIS", 0) == 2),
                           None)
                if hdu is None:
                    raise FileFormatError("the cutout holds no 2-D image")
                data = np.array(hdu.data, dtype=np.float32)
                header = hdu.header.copy()
    except FileFormatError:
        raise
    except (OSError, EOFError, ValueError, TypeError, IndexError) as exc:
        raise FileFormatError(f"cannot decode a cutout as (gzip-compressed) FITS: "
                              f"{str(exc)[:120]}") from exc
    return data, header


def cutout_position(xpos, ypos, shape=(CUTOUT_SIZE, CUTOUT_SIZE)):
    """Where IPAC's candidate position falls in an alert cutout (see the module doc).

    Parameters
    ----------
    xpos, ypos : float
        The candidate's ``xpos``, ``ypos`` (IPAC, 1-based frame pixels).
    shape : (int, int), default (63, 63)
        ``(ny, nx)`` of the cutout.

    Returns
    -------
    x, y : float
        0-based position in the cutout (``31 + xpos - round(xpos)`` for 63 pixels).
    x0, y0 : int
        0-based frame pixel of cutout pixel (0, 0).

    Raises
    ------
    InvalidParameterError
        Non-finite ``xpos``/``ypos``.

    Examples
    --------
    >>> [round(v, 3) for v in cutout_position(1331.206, 2511.447)]
    [31.206, 31.447, 1299, 2479]
    """
    fx, fy = float(xpos) - 1.0, float(ypos) - 1.0        # 0-based frame position
    if not (np.isfinite(fx) and np.isfinite(fy)):
        raise InvalidParameterError(f"xpos, ypos must be finite; got {xpos!r}, {ypos!r}")
    x0 = int(stamp_origin(fx, int(shape[1])))
    y0 = int(stamp_origin(fy, int(shape[0])))
    return fx - x0, fy - y0, x0, y0


class Alert:
    """One ZTF alert: the candidate's values, its history and three cutout stamps.

    Build it with :func:`read_alerts` / :func:`read_alert` (or from a packet record).

    Parameters
    ----------
    record : dict
        One Avro record (``objectId``, ``candid``, ``candidate``, ``prv_candidates``,
        ``cutoutScience``, ``cutoutTemplate``, ``cutoutDifference``).

    Attributes
    ----------
    objectId : str or int
    candid : int
    candidate : pandas.Series
        The candidate's values (a copy).
    prv_candidates : pandas.DataFrame
        Earlier detections and upper limits (empty when none).
    science, template, difference : ztfimg.stamps.Stamp or None
        The cutouts (None when the packet has none): ``data`` (float32 DN), ``mask``
        (non-finite pixels), ``x``, ``y`` (the candidate in cutout coordinates),
        ``origin`` (0-based frame pixel of cutout pixel (0, 0)). Their FITS headers are
        in :attr:`headers`.
    headers : dict
        Cutout kind -> its FITS header.

    Raises
    ------
    FileFormatError
        The record lacks ``candidate`` (or its ``xpos``/``ypos``), or a cutout cannot be
        decoded.
    """

    def __init__(self, record):
        if not isinstance(record, dict) or not isinstance(record.get("candidate"), dict):
            raise FileFormatError("not a ZTF alert record: expected a dict with a 'candidate' "
                                  "record (schema ztf.alert)")
        cand = record["candidate"]
        if cand.get("xpos") is None or cand.get("ypos") is None:
            raise FileFormatError("the alert's candidate has no xpos/ypos")
        self.objectId = record.get("objectId")
        self.candid = record.get("candid", cand.get("candid"))
        self.candidate = pd.Series(dict(cand))
        prv = record.get("prv_candidates") or []
        self.prv_candidates = pd.DataFrame([dict(p) for p in prv])
        self.headers = {}
        for kind, key in CUTOUT_KINDS.items():
            stamp = None
            cut = record.get(key)
            if cut is not None and cut.get("stampData") is not None:
                data, header = read_cutout(cut["stampData"])
                x, y, x0, y0 = cutout_position(cand["xpos"], cand["ypos"], data.shape)
                stamp = Stamp(data, mask=~np.isfinite(data), x=x, y=y, origin=(x0, y0))
                self.headers[kind] = header
            setattr(self, kind, stamp)

    def __repr__(self):
        c = self.candidate
        mag = c.get("magpsf")
        return (f"<Alert {self.objectId} candid={self.candid} jd={c.get('jd', np.nan):.5f} "
                f"fid={c.get('fid')} magpsf={mag if mag is None else f'{mag:.3f}'} "
                f"cutouts={[k for k in CUTOUT_KINDS if getattr(self, k) is not None]}>")

    @property
    def magzp(self):
        """The science zero point ``magzpsci`` (mag; schema >= 3.x), or None when absent.

        Packets of schema 1.8 have none: compare their magnitudes as differences.
        """
        value = self.candidate.get("magzpsci")
        return None if value is None or not np.isfinite(value) else float(value)

    @property
    def isdiffpos(self) -> bool:
        """True when the candidate comes from the positive (science minus reference)
        subtraction; a negative one is a dip in the difference cutout."""
        return str(self.candidate.get("isdiffpos", "t")).lower() in ("t", "1", "true")

    @property
    def frame_position(self):
        """The candidate's 0-based frame position ``(xpos - 1, ypos - 1)``."""
        return float(self.candidate["xpos"]) - 1.0, float(self.candidate["ypos"]) - 1.0

    def get_cutout(self, which="difference"):
        """One cutout stamp.

        Parameters
        ----------
        which : {'difference', 'science', 'template'}, default 'difference'

        Returns
        -------
        ztfimg.stamps.Stamp

        Raises
        ------
        InvalidParameterError
            Unknown ``which``, or the packet has no such cutout.

        Examples
        --------
        >>> alert.get_cutout("science").show()                           # doctest: +SKIP
        """
        if which not in CUTOUT_KINDS:
            raise InvalidParameterError(f"which must be one of {tuple(CUTOUT_KINDS)}; got "
                                        f"{which!r}")
        stamp = getattr(self, which)
        if stamp is None:
            raise InvalidParameterError(f"alert {self.candid} has no {which} cutout")
        return stamp

    def aperture_photometry(self, radius=(7.0, 9.0), *, which="difference", bkgann=(15.0, 25.0),
                            sky_estimator="median", **kwargs):
        """Aperture sums on a cutout at the candidate's position.

        Parameters
        ----------
        radius : float or sequence of float, default (7, 9)
            Radii, pixels: IPAC's ``magap`` and ``magapbig`` use 14 and 18 pixel diameters.
        which : {'difference', 'science', 'template'}, default 'difference'
        bkgann : (float, float) or None, default (15, 25)
            Local sky annulus (pixels); None: no sky subtraction.
        sky_estimator : {'median', 'mean', 'sigclip'}, default 'median'
        **kwargs
            Passed to :func:`ztfimg.aperture.aperture_photometry` (``rms``, ``gain`` ...).

        Returns
        -------
        pandas.DataFrame
            One row, the columns of :func:`ztfimg.aperture.aperture_photometry` (``sum_0``,
            ``sum_1`` ... for several radii), in cutout coordinates.

        Raises
        ------
        InvalidParameterError
            No such cutout, bad radii or annulus.

        Examples
        --------
        >>> ph = alert.aperture_photometry()                             # doctest: +SKIP
        >>> -2.5 * np.log10(ph.sum_0 / ph.sum_1)       # ~ magap - magapbig  # doctest: +SKIP
        """
        from .aperture import aperture_photometry
        st = self.get_cutout(which)
        return aperture_photometry(st.data, st.x, st.y, radius, mask=st.mask, bkgann=bkgann,
                                   sky_estimator=sky_estimator, **kwargs)

    def show(self, axes=None, *, scale="zscale", marker=True, **kwargs):
        """Science, template and difference cutouts side by side.

        Parameters
        ----------
        axes : sequence of 3 matplotlib.axes.Axes, optional
            Where to draw; default a new 1 x 3 figure.
        scale : str, default 'zscale'
            Display scale of :func:`ztfimg.plotting.show_image`.
        marker : bool, default True
            Mark the candidate's position.
        **kwargs
            Passed to :func:`ztfimg.plotting.show_image`.

        Returns
        -------
        numpy.ndarray of matplotlib.axes.Axes
            The three Axes (a panel without cutout says so).

        Raises
        ------
        InvalidParameterError
            ``axes`` does not hold 3 Axes.

        Examples
        --------
        >>> axes = alert.show()                                          # doctest: +SKIP
        """
        import matplotlib.pyplot as plt
        if axes is None:
            fig, axes = plt.subplots(1, 3, figsize=(10, 3.6))
        axes = np.asarray(axes, dtype=object).ravel()
        if axes.size != 3:
            raise InvalidParameterError(f"axes must hold 3 Axes; got {axes.size}")
        kwargs.setdefault("colorbar", False)
        for ax, kind in zip(axes, CUTOUT_KINDS):
            st = getattr(self, kind)
            if st is None:
                ax.text(0.5, 0.5, f"no {kind} cutout", ha="center", va="center",
                        transform=ax.transAxes)
                ax.set_axis_off()
                continue
            st.show(ax=ax, marker=marker, scale=scale, title=kind, **kwargs)
        return axes


def _records(source):
    """Avro records of a path, bytes or binary file object."""
    import fastavro
    if isinstance(source, (bytes, bytearray)):
        fh, close = io.BytesIO(source), True
    elif isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if not os.path.exists(path):
            raise MissingFileError(f"no such alert file: {path!r}")
        if os.path.isdir(path):
            raise MissingFileError(f"{path!r} is a directory, expected an .avro alert packet")
        fh, close = open(path, "rb"), True
    elif hasattr(source, "read"):
        fh, close = source, False
    else:
        raise InvalidParameterError(f"expected the path of an .avro alert packet, its bytes or "
                                    f"a binary file object; got {type(source).__name__}")
    try:
        return list(fastavro.reader(fh))
    except (ValueError, EOFError, OSError, TypeError, IndexError, StopIteration) as exc:
        raise FileFormatError(f"cannot read {getattr(fh, 'name', 'the data')!r} as an Avro "
                              f"alert packet: {str(exc)[:120]}") from exc
    finally:
        if close:
            fh.close()


def read_alerts(source):
    """Read every alert of an Avro packet file.

    Parameters
    ----------
    source : str, path-like, bytes or binary file object
        A ZTF ``.avro`` packet (one or more records).

    Returns
    -------
    list of Alert

    Raises
    ------
    MissingFileError
        No such file.
    FileFormatError
        Not Avro, or a record that is not a ZTF alert.

    Examples
    --------
    >>> alerts = read_alerts("558192074015015009.avro")                 # doctest: +SKIP
    """
    return [Alert(r) for r in _records(source)]


def read_alert(source):
    """Read the one alert of a packet (the first if it holds several).

    Parameters
    ----------
    source : str, path-like, bytes or binary file object

    Returns
    -------
    Alert

    Raises
    ------
    MissingFileError, FileFormatError
        As :func:`read_alerts`; also for a packet with no record.

    Examples
    --------
    >>> alert = read_alert("558192074015015009.avro")                   # doctest: +SKIP
    >>> alert.difference.x, alert.candidate["magpsf"]                    # doctest: +SKIP
    """
    recs = _records(source)
    if not recs:
        raise FileFormatError("the Avro packet holds no record")
    return Alert(recs[0])
