"""The durable spool: batches that could not be delivered, kept on disk until they can be.

Layout: one file per batch in `spool_dir`, named `<time_ns>-<pid>-<seq>.spool` so a sorted listing
is the order they were written, across processes sharing the directory (gunicorn workers). Each
file holds one encoded message per line (JSON never contains a raw newline) and ends with a
trailer line `#end <count>`. A file is written to a temporary name, fsynced and renamed, so a
crash leaves either a whole file or a `.tmp` that is ignored.

Why it cannot duplicate events: messages keep their messageId from the moment they were built,
and the collector counts a (project, messageId) once. A file is deleted only after the collector
answered 200 for its batch, so a crash in between resends the same ids: harmless.

A file that is truncated or damaged anyway (disk trouble, someone editing it) is not a crash: its
complete, well-formed lines are still delivered, the rest is skipped with a warning, and the file
is renamed `.corrupt` for inspection. Replay takes an `flock` on `spool_dir/.lock`, so of several
processes sharing a spool only one resends at a time.
"""

from __future__ import annotations

import fcntl
import itertools
import logging
import os
import time
from contextlib import contextmanager
from typing import Iterator

import msgspec

from .errors import SpoolError

log = logging.getLogger("tenure.sdk")

SUFFIX = ".spool"
_TRAILER = b"#end "
_check = msgspec.json.Decoder(dict).decode


class Spool:
    """A directory of undelivered batches."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self._seq = itertools.count()
        try:
            os.makedirs(directory, exist_ok=True)
        except OSError as exc:
            raise SpoolError(f"cannot create spool directory {directory!r}: {exc}") from exc

    def write(self, messages: list[bytes]) -> str:
        """Persist one batch; returns its path. Raises SpoolError if the disk refuses."""
        name = f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):06d}{SUFFIX}"
        path = os.path.join(self.directory, name)
        tmp = path + ".tmp"
        body = b"\n".join(messages) + b"\n" + _TRAILER + str(len(messages)).encode() + b"\n"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.rename(tmp, path)
        except OSError as exc:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise SpoolError(f"cannot write spool file {path!r}: {exc}") from exc
        log.info("spooled %d message(s) to %s", len(messages), name)
        return path

    def pending(self) -> list[str]:
        """Spool files waiting to be resent, oldest first."""
        try:
            names = sorted(n for n in os.listdir(self.directory) if n.endswith(SUFFIX))
        except FileNotFoundError:
            return []
        return [os.path.join(self.directory, n) for n in names]

    def __bool__(self) -> bool:
        return bool(self.pending())

    def read(self, path: str) -> tuple[str, list[bytes]]:
        """The messages of one file, and the path to remove once they are delivered.

        A damaged file is set aside with a warning and its intact lines are rewritten to a fresh
        file, whose path is returned, so they survive a failed resend too.
        """
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return path, []  # another process took it
        except OSError as exc:
            log.warning("spool file %s unreadable, skipped: %s", path, exc)
            self.set_aside(path)
            return path, []
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]  # a last line without "\n" was cut short
        trailer_ok = bool(complete) and complete[-1].startswith(_TRAILER) and not tail
        body = complete[:-1] if trailer_ok else complete
        good: list[bytes] = []
        for line in body:
            if not line or line.startswith(_TRAILER):
                continue
            try:
                _check(line)
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue
            good.append(line)
        if not trailer_ok or complete[-1][len(_TRAILER):] != str(len(good)).encode():
            log.warning(
                "spool file %s is damaged (truncated or edited); resending its %d intact message(s)"
                " and setting it aside", os.path.basename(path), len(good),
            )
            self.set_aside(path)
            if good:
                try:
                    path = self.write(good)
                except SpoolError as exc:
                    log.warning("%s", exc)
        return path, good

    def remove(self, path: str) -> None:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass

    def set_aside(self, path: str) -> None:
        """Rename a file out of the replay set (`.corrupt`), keeping it for inspection."""
        try:
            os.rename(path, path + ".corrupt")
        except OSError:
            pass

    @contextmanager
    def replay_lock(self) -> Iterator[bool]:
        """Non-blocking exclusive right to resend; yields False if another process holds it."""
        try:
            fd = os.open(os.path.join(self.directory, ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            yield False
            return
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
