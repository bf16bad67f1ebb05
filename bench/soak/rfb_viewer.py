"""The viewer side of the soak (bench/soak.sh) that the C++ load client does not
cover: VNC authentication with a right or a wrong password, from any loopback
source address (127.0.0.x), so some addresses can be banned while others are
not; and "scanners" that connect and then misbehave in the handshake.

asyncio streams, Python standard library only. DES for the VncAuth response
comes from the system's libcrypto (OpenSSL 3 still exports DES_ecb_encrypt).
Only RFB 3.8 is spoken, which is what Xvnc, the bench server and the proxy's
own refusals use.
"""
from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import os
import struct
from dataclasses import dataclass

HOST = "127.0.0.1"
MAX_REASON = 65536


class RfbError(Exception):
    """The peer did something a viewer cannot go on with."""


class Refused(RfbError):
    """Security type count 0: the server (or the proxy) refused, with a reason."""

    def __init__(self, reason: str):
        super().__init__(f"refused: {reason}")
        self.reason = reason


class AuthFailed(RfbError):
    """SecurityResult != 0, with the server's reason."""

    def __init__(self, reason: str):
        super().__init__(f"authentication failed: {reason}")
        self.reason = reason


# ---------------------------------------------------------------------------
# VncAuth: DES of the 16-byte challenge, key = password with bit-reversed bytes
# ---------------------------------------------------------------------------

_crypto = None


def _libcrypto():
    global _crypto
    if _crypto is None:
        names = ["libcrypto.so.3", ctypes.util.find_library("crypto") or "libcrypto.so"]
        for name in names:
            try:
                lib = ctypes.CDLL(name)
            except OSError:
                continue
            lib.DES_set_key_unchecked.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
            lib.DES_set_key_unchecked.restype = None
            lib.DES_ecb_encrypt.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int]
            lib.DES_ecb_encrypt.restype = None
            _crypto = lib
            break
        else:
            raise RuntimeError("libcrypto (OpenSSL) not found: needed for VNC authentication")
    return _crypto


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    key = password.encode("latin-1", errors="replace")[:8].ljust(8, b"\0")
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in key)
    lib = _libcrypto()
    schedule = ctypes.create_string_buffer(128)  # DES_key_schedule: 16 x 8 bytes
    key_buffer = ctypes.create_string_buffer(key, 8)
    lib.DES_set_key_unchecked(key_buffer, schedule)
    out = b""
    for i in (0, 8):
        block = ctypes.create_string_buffer(challenge[i:i + 8], 8)
        result = ctypes.create_string_buffer(8)
        lib.DES_ecb_encrypt(block, result, schedule, 1)  # DES_ENCRYPT
        out += result.raw
    return out


# ---------------------------------------------------------------------------
# Connections and the handshake
# ---------------------------------------------------------------------------

@dataclass
class ServerInit:
    width: int
    height: int
    bits_per_pixel: int
    name: bytes


class Connection:
    """One viewer connection; `local_port` identifies it in `ctl sessions`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.reader = reader
        self.writer = writer
        self.local_port = writer.get_extra_info("sockname")[1]
        self.bytes_read = 0

    @classmethod
    async def open(cls, port: int, source: str = HOST, timeout: float = 10) -> "Connection":
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(HOST, port, local_addr=(source, 0), limit=1 << 20), timeout)
        return cls(reader, writer)

    async def read(self, n: int) -> bytes:
        data = await self.reader.readexactly(n)
        self.bytes_read += n
        return data

    async def write(self, data: bytes):
        self.writer.write(data)
        await self.writer.drain()

    async def read_reason(self) -> str:
        (length,) = struct.unpack(">I", await self.read(4))
        if length > MAX_REASON:
            raise RfbError(f"reason of {length} bytes")
        return (await self.read(length)).decode("utf-8", errors="replace")

    async def wait_closed_by_peer(self, timeout: float) -> bool:
        """Reads and discards until EOF; True if the peer closed within timeout."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    chunk = await self.reader.read(65536)
                    if not chunk:
                        return True
                    self.bytes_read += len(chunk)
        except TimeoutError:
            return False
        except ConnectionError:
            return True

    def close(self):
        try:
            self.writer.close()
        except Exception:  # noqa: BLE001 - closing a broken socket is not news
            pass

    async def login(self, password: str | None, wrong: bool = False) -> ServerInit:
        """RFB 3.8 up to ServerInit. password None: security type None;
        wrong=True: VncAuth with a random (so wrong) response."""
        version = await self.read(12)
        if not version.startswith(b"RFB 003."):
            raise RfbError(f"not an RFB greeting: {version!r}")
        await self.write(b"RFB 003.008\n")
        (count,) = await self.read(1)
        if count == 0:
            raise Refused(await self.read_reason())
        types = await self.read(count)
        wanted = 1 if password is None and not wrong else 2
        if wanted not in types:
            raise RfbError(f"security type {wanted} not offered: {list(types)}")
        await self.write(bytes([wanted]))
        if wanted == 2:
            challenge = await self.read(16)
            await self.write(os.urandom(16) if wrong else vnc_auth_response(password, challenge))
        (result,) = struct.unpack(">I", await self.read(4))
        if result != 0:
            raise AuthFailed(await self.read_reason())
        await self.write(b"\x01")  # ClientInit: shared
        head = await self.read(24)
        width, height, bpp = struct.unpack(">HHB", head[:5])
        (name_length,) = struct.unpack(">I", head[20:24])
        if name_length > 4096:
            raise RfbError("desktop name too long")
        return ServerInit(width, height, bpp, await self.read(name_length))

    async def request_update(self, init: ServerInit, incremental: bool):
        message = b""
        if not incremental:
            message += struct.pack(">BxHi", 2, 1, 0)  # SetEncodings [raw]
        message += struct.pack(">BBHHHH", 3, int(incremental), 0, 0, init.width, init.height)
        await self.write(message)

    async def read_update(self, init: ServerInit) -> int:
        """Reads server messages until one FramebufferUpdate (raw rectangles
        only) was read whole; returns its pixel bytes."""
        pixel_size = max(1, init.bits_per_pixel // 8)
        while True:
            (kind,) = await self.read(1)
            if kind == 0:
                _, rects = struct.unpack(">BH", await self.read(3))
                pixels = 0
                for _ in range(rects):
                    _, _, w, h, encoding = struct.unpack(">HHHHi", await self.read(12))
                    if encoding != 0:
                        raise RfbError(f"unexpected encoding {encoding} (only raw was asked for)")
                    await self.read(w * h * pixel_size)
                    pixels += w * h * pixel_size
                return pixels
            if kind == 1:  # SetColourMapEntries
                _, _, n = struct.unpack(">BHH", await self.read(5))
                await self.read(6 * n)
            elif kind == 2:  # Bell
                pass
            elif kind == 3:  # ServerCutText
                (length,) = struct.unpack(">3xI", await self.read(7))
                if length > (1 << 20):
                    raise RfbError("cut text too long")
                await self.read(length)
            else:
                raise RfbError(f"unexpected server message type {kind}")
