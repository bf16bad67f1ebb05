#!/usr/bin/env python3
"""Writes seed inputs for every fuzz target into OUT/<target>/ (docs/fuzzing.md).

    python3 fuzz/make_seeds.py OUT

Sources: the golden RFB transcripts (tests/data/rfb/*.hex), written-out
transcripts of the security types TigerVNC does not offer (mirroring
tests/unit/rfb/*_test.cpp), YAML from examples/, packaging/, the docs and the
conf tests, control-socket requests, ban state files, small recordings, PROXY protocol
headers and the browser front end's texts. The seeds are raw
material: `scripts/fuzz.sh --update-corpus` merges them (-merge=1) into the
minimized corpus kept in fuzz/corpus/.
"""
import json
import pathlib
import re
import sys
import zlib

ROOT = pathlib.Path(__file__).resolve().parent.parent
S, C = "S", "C"

# --- RFB: the input format of fuzz/support/rfb_feed.hpp ----------------------


def chunks(segments):
    """Segments [(direction, bytes)] as chunk headers + bytes (at most 128 per chunk)."""
    out = bytearray()
    for direction, data in segments:
        for i in range(0, len(data), 128):
            piece = data[i:i + 128]
            out.append((0x80 if direction == C else 0) | (len(piece) - 1))
            out += piece
    return bytes(out)


def flags(version=8, tls_terminated=False):
    return (1 if tls_terminated else 0) | ({8: 0, 7: 1, 3: 2}[version] << 2)


def read_hex(path):
    segments = []
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            direction, hexdata = line.split(" ", 1)
            segments.append((direction, bytes.fromhex(hexdata.replace(" ", ""))))
    return segments


def drop(segments, server_bytes, client_bytes):
    """The segments after the first server_bytes / client_bytes of each direction."""
    left = {S: server_bytes, C: client_bytes}
    out = []
    for direction, data in segments:
        cut = min(left[direction], len(data))
        left[direction] -= cut
        if data[cut:]:
            out.append((direction, data[cut:]))
    return out


def streams(segments):
    out = {S: b"", C: b""}
    for direction, data in segments:
        out[direction] += data
    return out


def split_prefix(segments):
    """(version, security type, segments after the prefix the step targets feed themselves)."""
    s = streams(segments)
    if len(s[S]) < 13 or len(s[C]) < 12:
        return None
    minor = min(int(s[S][8:11]), int(s[C][8:11]))
    version = 3 if minor < 7 else (7 if minor == 7 else 8)
    if version == 3:
        if len(s[S]) < 16:
            return None
        return version, int.from_bytes(s[S][12:16], "big"), drop(segments, 16, 12)
    count = s[S][12]
    if count == 0 or len(s[C]) < 13:
        return None
    return version, s[C][12], drop(segments, 13 + count, 13)


def u8(n): return bytes([n])
def u16(n): return n.to_bytes(2, "big")
def u32(n): return (n & 0xFFFFFFFF).to_bytes(4, "big")
def rfb_string(t): return u32(len(t)) + t.encode()
def filled(n, c): return c.encode() * n
def capability(code, vendor, signature): return u32(code) + vendor.encode() + signature.encode()


def server_init(width, height, name):
    return u16(width) + u16(height) + bytes([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]) + rfb_string(name)


CHALLENGE, RESPONSE = filled(16, "X"), filled(16, "Y")


def credentials(user, password): return u32(len(user)) + u32(len(password)) + user.encode() + password.encode()


def ending(name="desk"):
    return [(S, u32(0)), (C, u8(1)), (S, server_init(1024, 768, name))]


def vnc_auth_ending(): return [(S, CHALLENGE), (C, RESPONSE)] + ending()


# After the prefix (types offered, the type chosen), per security type; each
# entry: (name, version, tls_terminated, segments).
TIGHT_CAPS = [(S, u16(1) + u16(1) + u16(1) + u16(0) + capability(150, "TGHT", "CUS_EOCU") +
               capability(151, "TGHT", "VRECTSEL") + capability(7, "TGHT", "TIGHT___"))]
AFTER = {
    16: [
        ("vncauth", 8, False, [(S, u32(0) + u32(1) + capability(2, "STDV", "VNCAUTH_")), (C, u32(2))] +
         vnc_auth_ending() + TIGHT_CAPS),
        ("unix_login_fail", 8, False, [(S, u32(1) + capability(0, "TGHT", "NOTUNNEL")), (C, u32(0)),
                                       (S, u32(2) + capability(1, "STDV", "NOAUTH__") + capability(129, "TGHT", "ULGNAUTH")),
                                       (C, u32(129) + credentials("alice", "hunter2")), (S, u32(1) + rfb_string("Login failed"))]),
        ("vencrypt_plain", 8, False, [(S, u32(0) + u32(1) + capability(19, "VENC", "VENCRYPT")), (C, u32(19)),
                                      (S, u8(0) + u8(2)), (C, u8(0) + u8(2)), (S, u8(0) + u8(1) + u32(256)),
                                      (C, u32(256) + credentials("bob", "pw"))] + ending() +
         [(S, u16(0) * 4)]),
        ("no_auth_37", 7, False, [(S, u32(0) + u32(0)), (C, u8(0)), (S, server_init(640, 480, "t") + u16(0) * 4)]),
    ],
    22: [
        ("ok", 8, False, [(C, u8(5) + u8(3) + b"alice" + b"vm1")] + vnc_auth_ending()),
        ("fail", 8, False, [(C, u8(0) + u8(0)), (S, CHALLENGE), (C, RESPONSE), (S, u32(1) + rfb_string("bad"))]),
    ],
    6: [
        ("ok", 8, False, [(S, u32(1024) + filled(256, "N")), (C, u32(1024) + filled(256, "n")),
                          (S, u16(128) + filled(128, "R")), (C, u16(128) + filled(128, "r")),
                          (S, u16(20) + filled(36, "H")), (C, u16(20) + filled(36, "h")),
                          (S, u16(1) + filled(17, "T")), (C, u16(15) + filled(31, "K"))] + ending()),
        ("hidden", 8, False, [(S, u32(512) + filled(128, "N"))]),
    ],
    30: [
        ("ok", 8, False, [(S, u16(2) + u16(128) + filled(256, "P")), (C, filled(128, "E") + filled(128, "C"))] + ending()),
        ("fail", 8, False, [(S, u16(2) + u16(64) + filled(128, "P")), (C, filled(128, "E") + filled(64, "C")),
                            (S, u32(1) + rfb_string("Authentication failed"))]),
    ],
    113: [
        ("ok", 8, False, [(S, filled(24, "G")), (C, filled(8, "C") + filled(320, "U"))] + ending()),
        ("fail_37", 7, False, [(S, filled(24, "G")), (C, filled(328, "U")), (S, u32(1))]),
    ],
    19: [
        ("plain_ok", 8, False, [(S, u8(0) + u8(2)), (C, u8(0) + u8(2)), (S, u8(0) + u8(2) + u32(256) + u32(259)),
                                (C, u32(256) + credentials("alice", "secret"))] + ending()),
        ("ident", 8, False, [(S, u8(0) + u8(2)), (C, u8(0) + u8(2)), (S, u8(0) + u8(1) + u32(265)),
                             (C, u32(265) + u32(5) + b"alice")] + ending()),
        ("x509plain_inner", 8, True, [(S, u8(0) + u8(2)), (C, u8(0) + u8(2)), (S, u8(0) + u8(1) + u32(262)),
                                      (C, u32(262)), (S, u8(1)), (C, credentials("carol", "pw"))] + ending()),
        ("tlsnone_inner_37", 7, True, [(S, u8(0) + u8(2)), (C, u8(0) + u8(2)), (S, u8(0) + u8(1) + u32(257)),
                                       (C, u32(257)), (S, u8(1))] + ending()),
    ],
}
STEP_TARGETS = {"rfb_vencrypt": 19, "rfb_tight": 16, "rfb_xvp": 22, "rfb_ra2ne": 6, "rfb_apple_dh": 30, "rfb_mslogon": 113}


def prefix(version, type_):
    v = b"RFB 003.00%d\n" % version
    if version == 3:
        return [(S, v), (C, v), (S, u32(type_))]
    return [(S, v), (C, v), (S, u8(1) + u8(type_)), (C, u8(type_))]


def rfb_seeds():
    seeds = {name: {} for name in ["rfb_handshake", *STEP_TARGETS]}
    for path in sorted((ROOT / "tests/data/rfb").glob("*.hex")):
        segments = read_hex(path)
        tls = "_inner" in path.stem
        seeds["rfb_handshake"][path.stem] = u8(flags(8, tls)) + chunks(segments)
        split = split_prefix(segments)
        for target, type_ in STEP_TARGETS.items():
            if split and split[1] == type_:
                seeds[target][path.stem] = u8(flags(split[0], tls)) + chunks(split[2])
    for target, type_ in STEP_TARGETS.items():
        for name, version, tls, after in AFTER[type_]:
            seeds[target][name] = u8(flags(version, tls)) + chunks(after)
            seeds["rfb_handshake"][target + "_" + name] = u8(flags(8, tls)) + chunks(prefix(version, type_) + after)
    # Small limits (flag bit 1) on a full handshake.
    seeds["rfb_handshake"]["small_limits"] = u8(2) + chunks(read_hex(ROOT / "tests/data/rfb/tigervnc_vencrypt_plain_fail.hex"))
    return seeds


def other_rfb_seeds():
    versions = {f"v{v.replace('.', '_')}": b"RFB %s\n" % v.encode()
                for v in ["003.003", "003.007", "003.008", "003.889", "004.001", "000.000", "003.002", "010.000"]}
    versions["short_line"] = b"RFB 3.8\n"
    messages = {"types_with_vnc_auth": bytes([19, 2, 16, 1]), "types_without": bytes([1, 16]),
                "subtypes": u32(258) + u32(2) + u32(256), "x509": u32(261) + u32(262)}
    return {"rfb_version": versions, "rfb_vencrypt_messages": messages}

# --- text targets -------------------------------------------------------------


def raw_literals(paths):
    """The bodies of C++ raw string literals R"(...)" in the files."""
    out = []
    for path in paths:
        out += re.findall(r'R"\((.*?)\)"', path.read_text(), re.S)
    return out


def yaml_seeds():
    texts = {}
    for path in [*sorted((ROOT / "examples").glob("*.yaml")), ROOT / "packaging/etc/config.yaml.in"]:
        texts[path.name] = path.read_text()
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for i, block in enumerate(re.findall(r"```yaml\n(.*?)```", path.read_text(), re.S)):
            texts[f"{path.stem}_{i}"] = block
    tests = [*sorted((ROOT / "tests/unit/conf").glob("*.cpp")), *sorted((ROOT / "tests/unit/tls").glob("*.cpp"))]
    for i, body in enumerate(raw_literals(tests)):
        texts[f"test_{i}"] = body
    return {name: text.encode() for name, text in texts.items()}


def control_seeds():
    lines = raw_literals([ROOT / "tests/unit/control/protocol_test.cpp"])
    lines += ['{"command":"sessions"}', '{"command":"bans"}', '{"command":"unban","address":"2001:db8::/64"}',
              '{"command":"kill","session_id":"3f9c0a1b2d4e5f60"}\r\n', ' ', '{"command":"unban","address":"\\u00e9"}']
    return {f"request_{i}": line.encode() for i, line in enumerate(lines)}


def ban_seeds():
    entry = '{"key":"%s","until_ms":%d,"failures":5,"duration":3600,"level":%d}'
    later, earlier = 1795436682000, 1700000000000
    files = {
        "one": '{"version":1,"bans":[%s]}' % (entry % ("192.0.2.7", later, 1)),
        "several": '{"version":1,"bans":[%s,%s,%s]}' % (entry % ("192.0.2.0/24", later, 2),
                                                      entry % ("2001:db8::/64", later, 3), entry % ("10.0.0.1", earlier, 1)),
        "empty": '{"version":1,"bans":[]}\n',
        "wrong_version": '{"version":2,"bans":[]}',
        "bad_key": '{"version":1,"bans":[%s]}' % (entry % ("192.0.2.7/8", later, 1)),
    }
    return {name: text.encode() for name, text in files.items()}


def admin_seeds():
    """HTTP requests to the admin API (fuzz/admin_request.cpp; its token and limits)."""
    auth = "Authorization: Bearer fuzz-token-0123456789\r\n"
    host = "Host: 127.0.0.1:9810\r\n"
    requests = {
        "get_sessions": f"GET /sessions HTTP/1.1\r\n{host}{auth}\r\n",
        "get_metrics_http10": "GET /metrics HTTP/1.0\r\n\r\n",
        "head_bans": f"HEAD /bans HTTP/1.1\r\n{host}{auth}Connection: close\r\n\r\n",
        "kill": f"DELETE /sessions/0123456789abcdef HTTP/1.1\r\n{host}{auth}\r\n",
        "unban_ipv6": f"DELETE /bans/2001%3Adb8%3A%3A1 HTTP/1.1\r\n{host}{auth}\r\n",
        "wrong_token": f"GET /bans HTTP/1.1\r\n{host}Authorization: Bearer fuzz-token-012345678\r\n\r\n",
        "huge_header": f"GET /healthz HTTP/1.1\r\n{host}X-Pad: {'a' * 1100}\r\n\r\n",
        "bad_method": f"BREW /readyz HTTP/1.1\r\n{host}\r\n",
        "bad_percent": f"DELETE /bans/%zz%2 HTTP/1.1\r\n{host}{auth}\r\n",
        "chunked_body": f"POST /sessions HTTP/1.1\r\n{host}{auth}Transfer-Encoding: chunked\r\n\r\n"
                        "5\r\nhello\r\n0\r\n\r\n",
        "body_too_big": f"DELETE /bans/192.0.2.1 HTTP/1.1\r\n{host}{auth}Content-Length: 300\r\n\r\n" + "x" * 300,
        "garbage_line": "hello there\r\n\r\n",
        "pipelined": f"GET /healthz HTTP/1.1\r\n{host}\r\nGET /readyz HTTP/1.1\r\n{host}\r\n",
    }
    return {name: text.encode() for name, text in requests.items()}


# --- browser front end: fuzz/proxy_header.cpp and fuzz/frontend_text.cpp ------

PROXY_V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def proxy_v2(command, family, block):
    return PROXY_V2_SIGNATURE + bytes([0x20 | command, family]) + len(block).to_bytes(2, "big") + block


def proxy_header_seeds():
    """haproxy's proxy-protocol.txt examples, each followed by the RFB bytes that come after."""
    ffff = ":".join(["ffff"] * 8)
    v4 = bytes([192, 0, 2, 7, 198, 51, 100, 1]) + (56324).to_bytes(2, "big") + (5900).to_bytes(2, "big")
    v6 = bytes.fromhex("20010db8" + "00" * 11 + "07" + "20010db8" + "00" * 11 + "01") + bytes([0x01, 0xBB, 0x17, 0x0C])
    alpn_tlv = bytes([0x01, 0x00, 0x02]) + b"h2"
    headers = {
        "v1_tcp4": b"PROXY TCP4 192.0.2.7 198.51.100.1 56324 5900\r\n",
        "v1_tcp6": f"PROXY TCP6 {ffff} {ffff} 65535 65535\r\n".encode(),
        "v1_unknown": f"PROXY UNKNOWN {ffff} {ffff} 65535 65535\r\n".encode(),
        "v1_bad_port": b"PROXY TCP4 192.0.2.7 198.51.100.1 056 5900\r\n",
        "v2_tcp4_tlv": proxy_v2(1, 0x11, v4 + alpn_tlv),
        "v2_tcp6": proxy_v2(1, 0x21, v6),
        "v2_local": proxy_v2(0, 0x00, b""),
        "v2_unix": proxy_v2(1, 0x31, b"/run/a.sock".ljust(216, b"\x00")),
        "v2_short_block": proxy_v2(1, 0x11, v4[:11]),
    }
    return {name: data + b"RFB 003.008\n" for name, data in headers.items()}


def frontend_text_seeds():
    """One seed per mode (the first byte, see fuzz/frontend_text.cpp)."""
    bcrypt = "$2y$05$Nzxlfrlt4Yu4seTDPqtySec5w6TbyTb2onzgNh3yKmTUrSln6S7He"  # alice-pw
    sha512 = ("$6$Yo22f3MoWPDuDiNF$tOL.Ug3zGSOLnJHwvDjW3wN3qMGQ.vx8sq6MCegXC8cZ4LoqJaP1VCKwuxVckPLyX2VVZXA5F/"
              "eNEYzWyf4NP/")  # bob-pw
    texts = {
        "tokens": (0, "# targets\nalpha: 127.0.0.1:5901\n  beta:\t[::1]:5902\r\nbad line\nx: unix_socket:/s\n"),
        "htpasswd": (1, f"# users\nalice:{bcrypt}\nbob:{sha512}\n"),
        "htpasswd_apr1": (1, "carol:$apr1$r31.....$HqJZimcKQFAMYayBlzkrA/\n"),
        "basic": (2, "Basic YWxpY2U6cDp3"),
        "forwarded": (3, 'for=192.0.2.60;proto=http, For="[2001:db8:cafe::17]:4711", for=_hidden\n'
                         "203.0.113.66, 192.0.2.7:443, 10.1.2.3"),
        "x_forwarded_for": (3, "\n198.51.100.9, [2001:db8::5]:80, 10.0.0.2"),
        "token_query": (4, "/websockify?x=1&token=a%20b+c\ndesk.example:6080"),
        "token_host": (4 | 0x80, "/websockify\n[::1]:6080"),
        "static_304": (5, '/app/ui.js?v=1\nW/"abc", *\nSun, 06 Nov 1994 08:49:37 GMT'),
        "static_escape": (5, "/%2e%2e/secret\n\n"),
        "static_link": (5, "/out\n\n"),
        "sniff_tls": (6, "\x16\x03\x01\x02\x00\x01"),
        "sniff_get": (6, "GET /websockify HTTP/1.1\r\n"),
    }
    return {name: bytes([mode]) + text.encode("latin-1") for name, (mode, text) in texts.items()}


# --- recordings: docs/recording-format.md, written independently of record/ ----


def rec_block(type_, time_us, payload):
    head = bytes([type_]) + time_us.to_bytes(8, "big") + u32(len(payload)) + payload
    return head + u32(zlib.crc32(head))


def rec_header(compression, **extra):
    header = {"writer": "make_seeds.py", "compression": ["none", "zstd"][compression],
              "start_unix_us": 1795987800000000, "session": {"session_id": "s-1", "client_ip": "192.0.2.7"},
              "rfb_version": "3.8", "security_type": "VncAuth", "content_visible": True, "not_visible_reason": "",
              "include_input": False, "server_init": {"width": 1024, "height": 768,
                                                      "pixel_format": "2018000100ff00ff00ff100800000000",
                                                      "desktop_name": "desk"}}
    header.update(extra)
    text = json.dumps(header, separators=(",", ":")).encode()
    preamble = b"VHM-REC\n" + u16(1) + u16(0) + bytes([compression, 0, 0, 0]) + u32(len(text)) + text
    return preamble + u32(zlib.crc32(preamble))


def zstd_stored_frame(content):
    """A zstd frame of raw (stored) blocks: valid zstd without a compressor."""
    out = (0xFD2FB528).to_bytes(4, "little") + bytes([0x00, 0x38])  # no content size, no checksum; 128 KiB window
    pieces = [content[i:i + 131072] for i in range(0, len(content), 131072)]
    for i, piece in enumerate(pieces):
        out += ((1 if i == len(pieces) - 1 else 0) | len(piece) << 3).to_bytes(3, "little") + piece
    return out


def recording_seeds():
    trailer = rec_block(4, 900000, json.dumps({"duration_us": 900000, "server_bytes": 30, "viewer_bytes": 10,
                                               "recorded_server_bytes": 30, "recorded_viewer_bytes": 10,
                                               "dropped_bytes": 0, "end_reason": "viewer closed"}).encode())
    blocks = [rec_block(1, 0, b"\x00\x00\x00\x01" + b"\x00" * 12), rec_block(2, 1500, b"\x03\x01" + b"\x00" * 8),
              rec_block(3, 2000, b"viewer stream not followed: seed"), rec_block(1, 250000, b"x" * 14)]
    body = b"".join(blocks)
    rich = rec_header(0, viewer_pixel_format="10100101001f003f001f0b0500000000",
                      viewer_encodings=[16, 7, -223, -308], include_input=True,
                      server_init={"width": 800, "height": 600, "pixel_format": "08080001000700070003000306000000",
                                   "desktop_name": "B\ufffdro", "desktop_name_hex": "42fc726f"})
    return {
        "none": rec_header(0) + body + trailer,
        "zstd": rec_header(1) + zstd_stored_frame(blocks[0] + blocks[1]) + zstd_stored_frame(blocks[2] + blocks[3] + trailer),
        "none_truncated": (rec_header(0) + body)[:-7],
        "zstd_truncated": rec_header(1) + zstd_stored_frame(body) + zstd_stored_frame(trailer)[:-5],
        "unknown_type": rec_header(0) + blocks[0] + rec_block(9, 10, b"later minor") + trailer,
        "rich_header": rich + body + trailer,
        "not_visible": rec_header(0, content_visible=False, not_visible_reason="TLS not terminated") + trailer,
    }


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = pathlib.Path(sys.argv[1])
    seeds = {**rfb_seeds(), **other_rfb_seeds(), "config": yaml_seeds(), "control_request": control_seeds(),
             "ban_state": ban_seeds(), "record_reader": recording_seeds(), "admin_request": admin_seeds(),
             "proxy_header": proxy_header_seeds(), "frontend_text": frontend_text_seeds()}
    for target, files in seeds.items():
        (out / target).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (out / target / name).write_bytes(data)
        print(f"{target}: {len(files)} seeds")


if __name__ == "__main__":
    main()
