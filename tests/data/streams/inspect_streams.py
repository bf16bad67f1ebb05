#!/usr/bin/env python3
"""Summarise the *.rfbs captures: handshake, message counts, rectangle
encodings, pixel formats. An independent, simple reader of the same streams
the C++ framers are tested on (security type None only, which all the
captures use), and what README.md's table was made with.

Usage: python3 inspect_streams.py [file.rfbs ...]   (default: all here)
       python3 inspect_streams.py --messages FILE    (every message, with its offset)
"""
from __future__ import annotations

import struct
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAGIC = b"VHM-RFB-STREAMS 1\n"

ENCODINGS = {0: "Raw", 1: "CopyRect", 2: "RRE", 4: "CoRRE", 5: "Hextile", 6: "Zlib", 7: "Tight", 16: "ZRLE",
             -223: "DesktopSize", -224: "LastRect", -232: "PointerPos", -239: "Cursor", -240: "XCursor",
             -258: "QEMUExtendedKeyEvent", -259: "QEMUAudio", -261: "QEMULedState", -307: "DesktopName",
             -308: "ExtendedDesktopSize", -312: "Fence", -313: "ContinuousUpdates", -314: "CursorWithAlpha",
             0x574d5664: "VMwareCursor", 0x574d5668: "VMwareLEDState"}
SERVER_TYPES = {0: "FramebufferUpdate", 1: "SetColourMapEntries", 2: "Bell", 3: "ServerCutText",
                150: "EndOfContinuousUpdates", 248: "Fence", 250: "xvp", 255: "QEMU"}
CLIENT_TYPES = {0: "SetPixelFormat", 2: "SetEncodings", 3: "FramebufferUpdateRequest", 4: "KeyEvent",
                5: "PointerEvent", 6: "ClientCutText", 150: "EnableContinuousUpdates", 248: "Fence",
                250: "xvp", 251: "SetDesktopSize", 255: "QEMU"}


def enc_name(e):
    return ENCODINGS.get(e, str(e))


def load(path):
    data = Path(path).read_bytes()
    assert data.startswith(MAGIC), path
    end = data.index(b"\n\n", len(MAGIC) - 1)
    header = dict(line.split(": ", 1) for line in data[len(MAGIC):end].decode().splitlines())
    pos, chunks = end + 2, []
    while pos < len(data):
        d = chr(data[pos])
        ms, n = struct.unpack_from(">II", data, pos + 1)
        chunks.append((d, ms, data[pos + 9:pos + 9 + n]))
        pos += 9 + n
    return header, chunks


class Truncated(Exception):
    pass


class Reader:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, n):
        if self.pos + n > len(self.buf):
            raise Truncated()
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack(">H", self.take(2))[0]

    def u32(self):
        return struct.unpack(">I", self.take(4))[0]

    def s32(self):
        return struct.unpack(">i", self.take(4))[0]


def pf_from(b):
    bpp, depth, be, tc, rm, gm, bm, rs, gs, bs = struct.unpack(">BBBBHHHBBB", b[:13])
    return dict(bpp=bpp, depth=depth, be=be, tc=tc, rmax=rm, gmax=gm, bmax=bm, rs=rs, gs=gs, bs=bs)


def pf_text(pf):
    return f"{pf['bpp']}bpp/d{pf['depth']}" + ("" if pf["tc"] else "/cmap")


def tpixel(pf):
    is888 = (pf["tc"] and pf["bpp"] == 32 and pf["depth"] == 24 and pf["rmax"] == pf["gmax"] == pf["bmax"] == 255)
    return 3 if is888 else pf["bpp"] // 8


def handshake(server: bytes, client: bytes):
    """Security None only. Returns (server offset, client offset, ServerInit pixel format, info)."""
    s, c = Reader(server), Reader(client)
    sv, cv = s.take(12), c.take(12)
    minor = min(int(sv[8:11]), int(cv[8:11]))
    if minor < 7:
        assert s.u32() == 1, "security type is not None"
    else:
        types = s.take(s.u8())
        assert c.u8() == 1 and 1 in types, "security type is not None"
        if minor >= 8:
            assert s.u32() == 0
    c.u8()  # ClientInit
    w, h = s.u16(), s.u16()
    pf = pf_from(s.take(16))
    name = s.take(s.u32()).decode(errors="replace")
    return s.pos, c.pos, pf, dict(version=f"3.{minor}" if minor in (3, 7, 8) else sv.decode().strip(),
                                   size=f"{w}x{h}", name=name, server_version=sv.decode().strip())


def client_message(r: Reader):
    t = r.u8()
    if t == 0:
        r.take(3)
        return t, dict(pf=pf_from(r.take(16)))
    if t == 2:
        r.take(1)
        return t, dict(encodings=[r.s32() for _ in range(r.u16())])
    if t == 3:
        r.take(9)
    elif t == 4:
        r.take(7)
    elif t == 5:
        r.take(5)
    elif t == 6:
        r.take(3)
        n = r.s32()
        r.take(abs(n))
        return t, dict(extended=n < 0)
    elif t == 150:
        enable = r.u8()
        r.take(8)
        return t, dict(enable=enable)
    elif t == 248:
        r.take(7)
        r.take(r.u8())
    elif t == 250:
        r.take(3)
    elif t == 251:
        r.take(5)
        n = r.u8()
        r.take(1 + 16 * n)
    elif t == 255:
        sub = r.u8()
        if sub == 0:
            r.take(10)
        elif sub == 1:
            op = r.u16()
            if op == 2:
                r.take(6)
        else:
            raise ValueError(f"QEMU client sub-type {sub}")
    else:
        raise ValueError(f"client message type {t}")
    return t, {}


def skip_tight(r: Reader, w, h, pf):
    ctl = r.u8()
    kind = ctl >> 4
    tp = tpixel(pf)

    def compact():
        n, shift = 0, 0
        for _ in range(3):
            b = r.u8()
            n |= (b & 0x7F if shift < 14 else b) << shift
            if b & 0x80 == 0 or shift == 14:
                break
            shift += 7
        return n
    if kind == 8:
        r.take(tp)
        return "fill"
    if kind == 9:
        r.take(compact())
        return "jpeg"
    if kind > 9:
        raise ValueError(f"Tight control {ctl:#x}")
    flt = r.u8() if ctl & 0x40 else 0
    if flt == 1:
        colours = r.u8() + 1
        r.take(colours * tp)
        row = (w + 7) // 8 if colours == 2 else w
        size = row * h
        what = "palette"
    elif flt in (0, 2):
        size = w * h * tp
        what = "copy" if flt == 0 else "gradient"
    else:
        raise ValueError(f"Tight filter {flt}")
    if size < 12:
        r.take(size)
    else:
        r.take(compact())
    return what


def skip_hextile(r: Reader, w, h, bpp):
    for ty in range(0, h, 16):
        for tx in range(0, w, 16):
            tw, th = min(16, w - tx), min(16, h - ty)
            sub = r.u8()
            if sub & 1:
                r.take(tw * th * bpp)
                continue
            if sub & 2:
                r.take(bpp)
            if sub & 4:
                r.take(bpp)
            if sub & 8:
                n = r.u8()
                r.take(n * ((bpp if sub & 16 else 0) + 2))


def server_message(r: Reader, pf, rects: Counter, notes: list):
    t = r.u8()
    if t == 0:
        r.take(1)
        n = r.u16()
        i = 0
        while i < n:
            x, y, w, h, e = struct.unpack(">HHHHi", r.take(12))
            rects[enc_name(e)] += 1
            bpp = pf["bpp"] // 8
            if e == 0:
                r.take(w * h * bpp)
            elif e == 1:
                r.take(4)
            elif e == 2:
                k = r.u32()
                r.take(bpp + k * (bpp + 8))
            elif e == 4:
                k = r.u32()
                r.take(bpp + k * (bpp + 4))
            elif e == 5:
                skip_hextile(r, w, h, bpp)
            elif e in (6, 16):
                r.take(r.u32())
            elif e == 7:
                rects["Tight/" + skip_tight(r, w, h, pf)] += 1
            elif e == -239:
                r.take(w * h * bpp + (w + 7) // 8 * h)
            elif e == -240:
                if w * h:
                    r.take(6 + 2 * ((w + 7) // 8) * h)
            elif e == -314:
                sub = r.s32()
                assert sub == 0, f"CursorWithAlpha in encoding {sub}"
                r.take(w * h * 4)
            elif e == 0x574d5664:
                kind = r.u8()
                r.take(1)
                r.take(w * h * bpp * 2 if kind == 0 else w * h * 4)
            elif e == 0x574d5668:
                r.take(4)
            elif e == -261:
                r.take(1)
            elif e == -307:
                name = r.take(r.u32())
                notes.append(f"DesktopName {name!r}")
            elif e == -308:
                k = r.u8()
                r.take(3 + 16 * k)
                notes.append(f"ExtendedDesktopSize reason {x} status {y} {w}x{h}")
            elif e == -223:
                notes.append(f"DesktopSize {w}x{h}")
            elif e == -224:
                break
            elif e in (-232, -258, -259, -312, -313):
                pass
            else:
                raise ValueError(f"rect encoding {e}")
            i += 1
    elif t == 1:
        r.take(1)
        r.u16()
        r.take(6 * r.u16())
    elif t == 2:
        pass
    elif t == 3:
        r.take(3)
        r.take(abs(r.s32()))
    elif t == 150:
        pass
    elif t == 248:
        r.take(7)
        r.take(r.u8())
    elif t == 250:
        r.take(3)
    elif t == 255:
        sub = r.u8()
        if sub != 1:
            raise ValueError(f"QEMU server sub-type {sub}")
        if r.u16() == 2:
            r.take(r.u32())
    else:
        raise ValueError(f"server message type {t}")
    return t


def analyse(path, messages=False):
    header, chunks = load(path)
    server = b"".join(d for k, _, d in chunks if k == "S")
    client = b"".join(d for k, _, d in chunks if k == "C")
    s_at, c_at, pf, info = handshake(server, client)
    # Capture order: where each direction's byte count stood when the other's chunk came.
    order, fed = [], {"C": 0, "S": 0}
    for k, _, d in chunks:
        fed[k] += len(d)
        order.append((k, fed[k]))
    sr, cr = Reader(server, s_at), Reader(client, c_at)
    s_types, c_types, rects, notes, formats = Counter(), Counter(), Counter(), [], [pf_text(pf)]
    pending, cu_on, apply_at_end_cu, encodings_lists = None, False, False, []
    state = {"S": "ok", "C": "ok"}
    # Replay in capture order: a direction's messages are read while its
    # captured bytes reach them; the viewer's format switches the server's
    # like the C++ framer does (next update, or EndOfContinuousUpdates).
    for k, limit in order:
        r = cr if k == "C" else sr
        while state[k] == "ok" and r.pos < limit:
            start = r.pos
            try:
                if k == "C":
                    t, extra = client_message(r)
                    c_types[CLIENT_TYPES.get(t, t)] += 1
                    if t == 0:
                        pending = extra["pf"]
                        apply_at_end_cu = not cu_on and apply_at_end_cu
                    elif t == 2:
                        encodings_lists.append([enc_name(e) for e in extra["encodings"]])
                    elif t == 150:
                        if cu_on and not extra["enable"]:
                            apply_at_end_cu = True
                        cu_on = bool(extra["enable"])
                    if messages:
                        print(f"C {start:8d} {CLIENT_TYPES.get(t, t)} {extra}")
                else:
                    peek = server[start]
                    if peek == 0 and pending is not None and not apply_at_end_cu:
                        pf, pending = pending, None
                        formats.append(pf_text(pf))
                    t = server_message(r, pf, rects, notes)  # may end in a later chunk
                    s_types[SERVER_TYPES.get(t, t)] += 1
                    if t == 150 and apply_at_end_cu:
                        apply_at_end_cu = False
                        if pending is not None:
                            pf, pending = pending, None
                            formats.append(pf_text(pf))
                    if messages:
                        print(f"S {start:8d} {SERVER_TYPES.get(t, t)} {pf_text(pf)}")
            except Truncated:  # the reader sees the whole direction: only at its very end
                r.pos = start
                state[k] = f"ends mid-message at {start}"
            except (ValueError, AssertionError) as e:
                state[k] = f"error at {start}: {e}"
    return dict(header=header, info=info, server_bytes=len(server), client_bytes=len(client),
                s_types=s_types, c_types=c_types, rects=rects, notes=notes, formats=formats,
                encodings=encodings_lists, s_end=sr.pos, c_end=cr.pos, state=state, hs=(s_at, c_at))


def main(argv):
    if argv and argv[0] == "--messages":
        analyse(argv[1], messages=True)
        return
    files = argv or sorted(str(p) for p in HERE.glob("*.rfbs"))
    for f in files:
        a = analyse(f)
        print(f"== {Path(f).name}: {a['header'].get('ended')}, server {a['server_bytes']} B "
              f"(handshake {a['hs'][0]}, framed to {a['s_end']}, {a['state']['S']}), "
              f"client {a['client_bytes']} B (handshake {a['hs'][1]}, framed to {a['c_end']}, {a['state']['C']})")
        print(f"   {a['info']}")
        print(f"   formats: {' -> '.join(a['formats'])}")
        print(f"   server: {dict(a['s_types'])}")
        print(f"   rects: {dict(a['rects'])}")
        print(f"   client: {dict(a['c_types'])}")
        for e in a["encodings"]:
            print(f"   SetEncodings: {', '.join(e)}")
        for n in sorted(set(a["notes"])):
            print(f"   {n}")


if __name__ == "__main__":
    main(sys.argv[1:])
