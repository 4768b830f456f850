"""One writer per file: an inter-process lock file beside each download target.

Two processes (or threads) that download the same product at once must not write the same
partial file. :class:`FileLock` takes an exclusive ``fcntl.flock`` on a hidden lock file
(``.<name>.lock``) beside the target: the kernel releases it when its holder exits, even
when killed, so a crash never leaves a stale lock.  The loser waits (polling, up to a
timeout), then finds the target complete and downloads nothing.

Where ``fcntl`` is missing (Windows) or the file system refuses ``flock``, the lock is the
exclusive creation of the lock file (``os.open(..., O_CREAT | O_EXCL)``), removed on
release; a lock file left by a killed process must then be deleted by hand (the timeout
message says so).
"""

from __future__ import annotations

import os
import time

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

from .errors import DownloadError

__all__ = ["FileLock", "lock_path", "hidden_path"]


def hidden_path(target: str, ext: str) -> str:
    """Path of a hidden working file beside a download target: ``<dir>/.<name>.<ext>``.

    The one rule for the files a download keeps next to its target (the lock,
    :func:`lock_path`, and the partial file, :func:`ztfimg.archive.transfer.part_path`):
    the leading dot hides them and keeps them from matching ZTF name patterns.

    Parameters
    ----------
    target : str
        The final path of the file.
    ext : str
        What the working file is, e.g. ``'lock'`` or ``'part'``.

    Returns
    -------
    str
    """
    head, tail = os.path.split(target)
    return os.path.join(head, f".{tail}.{ext}")


def lock_path(target: str) -> str:
    """Path of the lock file of a download target: ``<dir>/.<name>.lock``.

    Parameters
    ----------
    target : str
        The final path of the file.

    Returns
    -------
    str
    """
    return hidden_path(target, "lock")


class FileLock:
    """Exclusive lock on a download target, across processes and threads.

    Parameters
    ----------
    target : str
        The file being protected; the lock file is :func:`lock_path` of it (its directory
        must exist).
    timeout : float, default 600
        Seconds to wait for another holder before giving up.
    poll : float, default 0.05
        Seconds between attempts while waiting.

    Attributes
    ----------
    waited : bool
        True when another holder had the lock when :meth:`acquire` was called.

    Raises
    ------
    DownloadError
        From :meth:`acquire`, when the lock stays taken for ``timeout`` seconds.

    Examples
    --------
    >>> with FileLock("/data/ztf/sci/2020/0924/431759/ztf_..._sciimg.fits") as lock:
    ...     pass                                                  # doctest: +SKIP
    """

    def __init__(self, target: str, timeout: float = 600.0, poll: float = 0.05):
        self.path = lock_path(target)
        self.timeout = float(timeout)
        self.poll = float(poll)
        self.waited = False
        self._fd = None
        self._excl = fcntl is None

    def _try_flock(self):
        """The locked fd, None when another holder has it, False when flock is unusable."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except OSError:   # e.g. ENOLCK on a file system without flock
            os.close(fd)
            return False
        try:              # the lock file may have been removed by its last holder
            same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
            return None
        return fd

    def _try_excl(self):
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return None
        os.write(fd, f"{os.getpid()}\n".encode())
        return fd

    def acquire(self) -> bool:
        """Take the lock, waiting for another holder if needed.

        Returns
        -------
        bool
            Whether the call had to wait (another process or thread held the lock).

        Raises
        ------
        DownloadError
            The lock is still held after ``timeout`` seconds.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            fd = self._try_excl() if self._excl else self._try_flock()
            if fd is False:          # flock unusable here: exclusive creation instead
                self._excl = True
                try:
                    if os.path.getsize(self.path) == 0:   # the empty file just opened
                        os.remove(self.path)
                except OSError:
                    pass
                continue
            if fd is not None:
                self._fd = fd
                return self.waited
            self.waited = True
            if time.monotonic() > deadline:
                stale = (" If no other download is running, delete it (a process killed "
                         "while holding it leaves it behind)." if self._excl else "")
                raise DownloadError(
                    f"waited {self.timeout:g} s for the lock {self.path!r}, held by another "
                    f"download of the same file; try again later or raise lock_timeout."
                    + stale)
            time.sleep(self.poll)

    def release(self) -> None:
        """Release the lock and remove the lock file (no-op when not held)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.remove(self.path)
        except FileNotFoundError:
            pass
        if not self._excl:
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
        return False
