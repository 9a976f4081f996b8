"""The CSV file exchange many 3PLs run beside (or instead of) an API: a folder the warehouse drops
order status, despatch, stock and adjustment files into (outbound), and one Parity writes orders
into (inbound). On an SFTP server (paramiko), or a local folder where the files arrive by other
means.

Files are read, never moved or deleted: the warehouse's retention clears them, and a sync task
delivered twice reads the same files twice with the same result. A file still being written is
not read: names ending `.part` or `.tmp` are skipped, and so is a file changed in the last
`settle_seconds`. Files Parity writes appear whole: written under a `.part` name, then renamed.
"""

from __future__ import annotations

import base64
import csv
import fnmatch
import io
import socket
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from connectors.base import ConnectorError

if TYPE_CHECKING:
    import paramiko

PARTIAL = (".part", ".tmp")


@dataclass(frozen=True)
class FileInfo:
    name: str
    modified: datetime
    size: int


class Folder(Protocol):
    def listing(self) -> list[FileInfo]: ...

    def read(self, name: str) -> bytes: ...

    def put(self, name: str, data: bytes) -> bool: ...

    def close(self) -> None: ...


def settled(
    files: Iterable[FileInfo], pattern: str, *, settle_seconds: float, now: datetime | None = None
) -> list[FileInfo]:
    """The files matching `pattern` that are complete, in name order (names carry a timestamp)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(seconds=settle_seconds)
    return sorted(
        (
            f
            for f in files
            if fnmatch.fnmatch(f.name, pattern)
            and not f.name.endswith(PARTIAL)
            and f.modified <= cutoff
        ),
        key=lambda f: f.name,
    )


def read_csv(data: bytes, name: str) -> list[dict[str, str]]:
    """A CSV file's records as dicts by header (UTF-8, a BOM tolerated)."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConnectorError(f"{name} is not UTF-8 ({exc.reason})", permanent=True) from None
    reader = csv.DictReader(io.StringIO(content, newline=""))
    try:
        return [{(k or "").strip(): (v or "") for k, v in row.items()} for row in reader]
    except csv.Error as exc:  # a field over csv's 128 KB limit, a NUL byte …
        raise ConnectorError(f"{name} line {reader.line_num}: {exc}", permanent=True) from None


def write_csv(rows: list[Mapping[str, str]]) -> bytes:
    headers: list[str] = []
    for row in rows:
        headers.extend(h for h in row if h not in headers)
    out = io.StringIO(newline="")
    writer = csv.DictWriter(out, fieldnames=headers, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


class LocalFolder:
    """A folder on this machine (a mounted share, or files copied in by another job)."""

    def __init__(self, outbound: Path, inbound: Path | None = None) -> None:
        self.outbound = outbound
        self.inbound = inbound or outbound
        if not outbound.is_dir():
            raise ConnectorError(f"folder {outbound} does not exist", permanent=True)

    def listing(self) -> list[FileInfo]:
        return [
            FileInfo(p.name, datetime.fromtimestamp(p.stat().st_mtime, UTC), p.stat().st_size)
            for p in self.outbound.iterdir()
            if p.is_file()
        ]

    def read(self, name: str) -> bytes:
        return (self.outbound / name).read_bytes()

    def put(self, name: str, data: bytes) -> bool:
        target = self.inbound / name
        if target.exists():
            return False
        partial = target.with_name(name + ".part")
        partial.write_bytes(data)
        partial.replace(target)
        return True

    def close(self) -> None:
        pass


def host_key(line: str) -> paramiko.PKey:
    """A server's public key from its known_hosts form: `ssh-ed25519 AAAA…`."""
    import paramiko

    try:
        kind, data = line.split()[:2]
        return paramiko.PKey.from_type_string(kind, base64.b64decode(data))
    except (ValueError, paramiko.SSHException) as exc:
        raise ConnectorError(f"the SFTP host key is not readable ({exc})", permanent=True) from None


def private_key(text: str) -> paramiko.PKey:
    import paramiko

    for kind in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return kind.from_private_key(io.StringIO(text))
        except (paramiko.SSHException, ValueError):
            continue
    raise ConnectorError("the SFTP private key is not a readable OpenSSH/PEM key", permanent=True)


class SftpFolder:
    """The exchange folders on the warehouse's SFTP server.

    The server must present the host key the deployer configured (no trust on first use: a
    connection to anything else is refused). Refused logins and unknown keys are permanent
    failures; network trouble and timeouts are transient.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        username: str,
        server_key: str,
        password: str | None = None,
        key: str | None = None,
        outbound: str = "/outbound",
        inbound: str = "/inbound",
        timeout: float = 30.0,
    ) -> None:
        # Imported here: only SFTP connections need paramiko, the rest of Parity does not.
        import paramiko

        self.outbound = outbound.rstrip("/") or "/"
        self.inbound = inbound.rstrip("/") or "/"
        where = f"sftp://{host}:{port}"
        try:
            sock = socket.create_connection((host, port), timeout=timeout)
        except OSError as exc:
            raise ConnectorError(f"{where}: cannot connect ({exc})") from None
        self._transport = paramiko.Transport(sock)
        self._transport.banner_timeout = timeout
        self._transport.auth_timeout = timeout
        try:
            self._transport.connect(
                hostkey=host_key(server_key),
                username=username,
                password=password or None,
                pkey=private_key(key) if key else None,
            )
            self._sftp = paramiko.SFTPClient.from_transport(self._transport)
            self._sftp.get_channel().settimeout(timeout)
        except paramiko.AuthenticationException:
            self.close()
            raise ConnectorError(f"{where}: login refused", permanent=True) from None
        except paramiko.BadHostKeyException:
            self.close()
            raise ConnectorError(
                f"{where}: the server's host key is not the configured one", permanent=True
            ) from None
        except ConnectorError:
            self.close()
            raise
        except (paramiko.SSHException, OSError) as exc:
            self.close()
            # paramiko reports a host key mismatch as a plain SSHException when it checks it.
            permanent = "host key" in str(exc).lower()
            raise ConnectorError(f"{where}: {exc}", permanent=permanent) from None

    def listing(self) -> list[FileInfo]:
        try:
            entries = self._sftp.listdir_attr(self.outbound)
        except OSError as exc:
            raise ConnectorError(f"cannot list {self.outbound}: {exc}") from None
        return [
            FileInfo(e.filename, datetime.fromtimestamp(e.st_mtime or 0, UTC), e.st_size or 0)
            for e in entries
            if stat.S_ISREG(e.st_mode or 0)
        ]

    def read(self, name: str) -> bytes:
        try:
            with self._sftp.open(f"{self.outbound}/{name}", "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise ConnectorError(f"cannot read {name}: {exc}") from None

    def put(self, name: str, data: bytes) -> bool:
        target = f"{self.inbound}/{name}"
        try:
            self._sftp.stat(target)
            return False  # already sent: the same key never makes a second file
        except FileNotFoundError:
            pass
        partial = f"{target}.part"
        try:
            with self._sftp.open(partial, "wb") as handle:
                handle.write(data)
            try:
                self._sftp.posix_rename(partial, target)
            except OSError:
                self._sftp.rename(partial, target)  # servers without the OpenSSH extension
        except OSError as exc:
            raise ConnectorError(f"cannot write {name}: {exc}") from None
        return True

    def close(self) -> None:
        sftp: Any = getattr(self, "_sftp", None)
        if sftp is not None:
            sftp.close()
        self._transport.close()
