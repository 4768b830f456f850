"""An explicit store for the derived products of one frame (level 2).

A frame object keeps two kinds of things apart:

* **user state**: what the user chose (the current background, the last sources, the
  attached PSF and catalogues), held by the frame itself;
* **products**: what can be recomputed from the pixels and parameters (boolean masks, sep
  backgrounds, the background-subtracted compute array, the WCS), held here.

Every product is memoised under a key made of its name and *all* the parameters that change
it (never ``id()`` of an object, which Python reuses after garbage collection).  Products
that depend on the current background are keyed on the frame's background version, a
counter bumped whenever the user changes the background, and the stale ones are dropped.
Full-frame arrays handed out are read-only views; :meth:`ProductStore.drop` frees memory.

Examples
--------
>>> store = ProductStore()
>>> store.get("answer", (6, 7), lambda: 6 * 7)
42
>>> ("answer", (6, 7)) in store
True
>>> store.drop("answer"); len(store)
0
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["ProductStore", "content_key"]


def content_key(*arrays) -> str:
    """A digest of the contents of arrays: a cache key that changes when any value changes.

    Parameters
    ----------
    *arrays : array_like
        Arrays (or scalars); their dtype, shape and bytes enter the digest.

    Returns
    -------
    str
        A hex SHA-1 digest.
    """
    h = hashlib.sha1()
    for a in arrays:
        arr = np.ascontiguousarray(np.asarray(a))
        h.update(str(arr.dtype).encode())
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    return h.hexdigest()


def _nbytes(value) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if hasattr(value, "memory_usage"):
        try:
            return int(value.memory_usage(deep=True).sum())
        except TypeError:
            return 0
    if hasattr(value, "nbytes_held"):
        return int(value.nbytes_held)
    return 0


class ProductStore:
    """Memoised products of one frame, keyed by name and every parameter.

    Parameters
    ----------
    None

    Notes
    -----
    Keys are ``(name, params)`` where ``params`` is any hashable tuple. :meth:`get`
    computes a missing product with the factory given and keeps it. Nothing is evicted
    automatically; :meth:`drop` (one name, one key or everything) releases memory, and
    :meth:`drop_other` keeps one parameter set of a name (used for products that follow
    the current background).
    """

    def __init__(self):
        self._items = {}

    def __contains__(self, key):
        return key in self._items

    def __len__(self):
        return len(self._items)

    def get(self, name, params, factory):
        """The product ``name`` for ``params``, computed by ``factory()`` when missing.

        Parameters
        ----------
        name : str
            Product name (``'mask'``, ``'background'``, ``'compute'`` ...).
        params : hashable
            Every parameter that changes the product.
        factory : callable
            Called without arguments to compute it.

        Returns
        -------
        object
            The stored product (callers hand out read-only views or copies of it).
        """
        key = (name, params)
        try:
            return self._items[key]
        except KeyError:
            value = factory()
            self._items[key] = value
            return value

    def peek(self, name, params, default=None):
        """The stored product, or ``default`` when it has not been computed."""
        return self._items.get((name, params), default)

    def drop(self, name=None, params=None):
        """Forget products: all (no argument), every one of ``name``, or one key.

        Parameters
        ----------
        name : str, optional
        params : hashable, optional
        """
        if name is None:
            self._items.clear()
        elif params is None:
            for key in [k for k in self._items if k[0] == name]:
                del self._items[key]
        else:
            self._items.pop((name, params), None)

    def drop_other(self, name, params):
        """Forget every product ``name`` whose parameters are not ``params``."""
        for key in [k for k in self._items if k[0] == name and k[1] != params]:
            del self._items[key]

    def keys(self):
        """The ``(name, params)`` keys held, as a list."""
        return list(self._items)

    @property
    def nbytes(self) -> int:
        """Bytes held in arrays and tables (each array counted once)."""
        seen, total = set(), 0
        for value in self._items.values():
            if isinstance(value, np.ndarray):
                base = value if value.base is None else value.base
                if id(base) in seen:
                    continue
                seen.add(id(base))
            total += _nbytes(value)
        return total

    def summary(self):
        """A list of ``(name, params, MB)`` rows: what is held and its size."""
        return [(k[0], k[1], _nbytes(v) / 1e6) for k, v in self._items.items()]

    def __repr__(self):
        return f"<ProductStore {len(self)} products, {self.nbytes / 1e6:.1f} MB>"
