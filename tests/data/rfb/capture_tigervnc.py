#!/usr/bin/env python3
"""Capture real RFB handshakes from TigerVNC's Xvnc as golden byte vectors.

Starts Xvnc on 127.0.0.1 with a free display number and a free port, plays a
scripted client against it, and writes each two-direction transcript to
<name>.hex next to this script. Every Xvnc started here is stopped by its
process id. Needs: Xvnc and vncpasswd (tigervnc-standalone-server,
tigervnc-tools) and the openssl command line (for VNC authentication's DES
and the throwaway X509 certificate).

For VeNCrypt TLS subtypes the client runs TLS itself and records the
DECRYPTED inner bytes after the server's TLS ack, i.e. what the parser sees
when the proxy terminates TLS (TlsVisibility::terminated).

The passwords used are "secret" (right) and "wrong": nothing worth keeping.

Usage: python3 capture_tigervnc.py [output-dir]
"""
import os
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RIGHT, WRONG = b"secret", b"wrong"
PASSWD_PLACEHOLDER = "PASSWD-FILE"  # the temporary -rfbauth path, in the saved comments
XVNC_COMMON = ["-geometry", "64x48", "-depth", "24", "-desktop", "vhm golden",
               "-interface", "127.0.0.1", "-nolisten", "tcp", "-AlwaysShared=0"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_display():
    for n in range(57, 200):
        if not os.path.exists(f"/tmp/.X{n}-lock") and not os.path.exists(f"/tmp/.X11-unix/X{n}"):
            return n
    raise RuntimeError("no free X display number")


def des_response(password, challenge):
    """VNC authentication: DES-ECB of the challenge, key = password with each byte's bits reversed."""
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in password[:8].ljust(8, b"\0"))
    out = subprocess.run(["openssl", "enc", "-des-ecb", "-nopad", "-K", key.hex(),
                          "-provider", "legacy", "-provider", "default"],
                         input=challenge, capture_output=True, check=True).stdout
    assert len(out) == 16
    return out


class Xvnc:
    """One Xvnc process; stopped by pid on exit."""

    def __init__(self, args, placeholders=None):
        self.display = free_display()
        self.port = free_port()
        self.argv = ["Xvnc", f":{self.display}", "-rfbport", str(self.port)] + XVNC_COMMON + args
        # Temporary paths, written to the saved comments as stable names.
        self.placeholders = dict(placeholders or {})
        if "-rfbauth" in args:
            self.placeholders[args[args.index("-rfbauth") + 1]] = PASSWD_PLACEHOLDER
        self.proc = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:  # poll for readiness, no fixed sleep
            if self.proc.poll() is not None:
                raise RuntimeError(f"Xvnc exited: {self.proc.stderr.read().decode(errors='replace')}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s:
                    # Wait for the version however busy the machine is: every probe
                    # that hangs up early counts towards Xvnc's blacklist.
                    s.settimeout(10)
                    s.recv(12)  # let it send its version, then hang up
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("Xvnc did not start listening")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Client:
    """A scripted RFB client that records every byte in both directions."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.segments = []  # [direction, bytearray]; consecutive same-direction bytes merged

    def _record(self, direction, data):
        if self.segments and self.segments[-1][0] == direction:
            self.segments[-1][1] += data
        else:
            self.segments.append([direction, bytearray(data)])

    def recv(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError(f"server closed after {len(data)} of {n} bytes")
            data += chunk
        self._record("S", data)
        return data

    def u8(self):
        return self.recv(1)[0]

    def u32(self):
        return struct.unpack(">I", self.recv(4))[0]

    def send(self, data):
        self.sock.sendall(data)
        self._record("C", data)

    def close(self):
        self.sock.close()

    def start_tls(self, anonymous):
        """After the VeNCrypt TLS ack: TLS 1.2 (anonymous suites need it, and
        SECLEVEL 0), no certificate check; from now on the inner bytes are recorded."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if anonymous:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
            ctx.set_ciphers("aNULL:@SECLEVEL=0")
        self.sock = ctx.wrap_socket(self.sock)

    # --- protocol pieces ---
    def versions(self, client_version):
        """Returns the negotiated minor version: the lower of the two (all 3.x here)."""
        server_minor = int(self.recv(12)[8:11])
        self.send(client_version)
        return min(server_minor, int(client_version[8:11]))

    def security(self, minor, choose):
        """Returns the security type in use (3.3: the server's; 3.7+: `choose`)."""
        if minor == 3:
            return self.u32()
        count = self.u8()
        types = self.recv(count)
        assert choose in types, (choose, types)
        self.send(bytes([choose]))
        return choose

    def result(self, minor):
        status = self.u32()
        if status != 0 and minor >= 8:
            self.recv(self.u32())
        return status

    def vnc_auth(self, password):
        self.send(des_response(password, self.recv(16)))

    def init(self):
        self.send(b"\x01")  # ClientInit, shared
        self.recv(20)
        self.recv(self.u32())

    def a_little_normal_traffic(self):
        """Bytes after the handshake: SetEncodings [raw], a 4x4 update request, the 80-byte reply."""
        self.send(struct.pack(">BBHi", 2, 0, 1, 0))
        self.send(struct.pack(">BBHHHH", 3, 0, 0, 0, 4, 4))
        self.recv(4 + 12 + 4 * 4 * 4)

    def vencrypt(self, subtype):
        assert self.recv(2) == b"\x00\x02"
        self.send(b"\x00\x02")
        assert self.u8() == 0
        count = self.u8()
        offered = struct.unpack(f">{count}I", self.recv(4 * count))
        assert subtype in offered, (subtype, offered)
        self.send(struct.pack(">I", subtype))


def save(out_dir, name, description, xvnc, client):
    path = os.path.join(out_dir, f"{name}.hex")
    with open(path, "w") as f:
        f.write(f"# {description}\n")
        args = [xvnc.placeholders.get(a, a) for a in xvnc.argv[4:]]
        f.write(f"# Xvnc args: {' '.join(args)}\n")
        for direction, data in client.segments:
            f.write(f"{direction} {data.hex()}\n")
    print("wrote", path)


def capture(out_dir):
    version = {3: b"RFB 003.003\n", 7: b"RFB 003.007\n", 8: b"RFB 003.008\n"}
    with tempfile.TemporaryDirectory() as tmp:
        passwd = os.path.join(tmp, "passwd")
        with open(passwd, "wb") as f:
            f.write(subprocess.run(["vncpasswd", "-f"], input=RIGHT + b"\n" + RIGHT + b"\n",
                                   capture_output=True, check=True).stdout)

        with Xvnc(["-SecurityTypes", "None"]) as x:
            for minor in (8, 7, 3):
                c = Client(x.port)
                assert c.versions(version[minor]) == minor
                assert c.security(minor, 1) == 1
                if minor >= 8:
                    assert c.result(minor) == 0
                c.init()
                c.a_little_normal_traffic()
                c.close()
                save(out_dir, f"tigervnc_none_3{minor}",
                     f"SecurityTypes None, client 3.{minor}, then a little normal traffic", x, c)

        with Xvnc(["-SecurityTypes", "VncAuth", "-rfbauth", passwd, "-UseBlacklist=0"]) as x:
            for minor in (8, 7, 3):
                for password, outcome in ((RIGHT, "ok"), (WRONG, "fail")):
                    c = Client(x.port)
                    assert c.versions(version[minor]) == minor
                    assert c.security(minor, 2) == 2
                    c.vnc_auth(password)
                    status = c.result(minor)
                    assert status == (0 if outcome == "ok" else 1), status
                    if status == 0:
                        c.init()
                    c.close()
                    save(out_dir, f"tigervnc_vncauth_3{minor}_{outcome}",
                         f"SecurityTypes VncAuth, client 3.{minor}, password {'right' if status == 0 else 'wrong'}",
                         x, c)

        # Default offering with a password file: [VeNCrypt, VncAuth], subtypes [TLSVnc, VncAuth].
        with Xvnc(["-rfbauth", passwd, "-UseBlacklist=0"]) as x:
            c = Client(x.port)
            c.versions(version[8])
            c.security(8, 19)
            c.vencrypt(258)
            assert c.u8() == 1  # TLS would start here
            c.close()
            save(out_dir, "tigervnc_vencrypt_tlsvnc", "default SecurityTypes, VeNCrypt/TLSVnc up to the TLS start", x, c)

            c = Client(x.port)
            c.versions(version[8])
            c.security(8, 19)
            c.vencrypt(2)
            c.vnc_auth(RIGHT)
            assert c.result(8) == 0
            c.init()
            c.close()
            save(out_dir, "tigervnc_vencrypt_vncauth", "default SecurityTypes, VeNCrypt subtype VncAuth, right password",
                 x, c)

            # Inside TLS (what a terminating proxy sees): TLSVnc, right and wrong password.
            for password, outcome in ((RIGHT, "ok"), (WRONG, "fail")):
                c = Client(x.port)
                c.versions(version[8])
                c.security(8, 19)
                c.vencrypt(258)
                assert c.u8() == 1
                c.start_tls(anonymous=True)
                c.vnc_auth(password)
                status = c.result(8)
                assert status == (0 if outcome == "ok" else 1), status
                if status == 0:
                    c.init()
                c.close()
                save(out_dir, f"tigervnc_tlsvnc_inner_{outcome}",
                     f"default SecurityTypes, VeNCrypt/TLSVnc, decrypted inner bytes, password "
                     f"{'right' if status == 0 else 'wrong'}", x, c)

        cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=vhm-golden",
                        "-days", "1", "-keyout", key, "-out", cert], capture_output=True, check=True)
        with Xvnc(["-SecurityTypes", "X509None,TLSPlain", "-PlainUsers=vhmtest", "-X509Cert", cert,
                   "-X509Key", key, "-UseBlacklist=0"], {cert: "CERT-FILE", key: "KEY-FILE"}) as x:
            c = Client(x.port)
            c.versions(version[8])
            c.security(8, 19)
            c.vencrypt(260)
            assert c.u8() == 1
            c.start_tls(anonymous=False)
            assert c.result(8) == 0
            c.init()
            c.close()
            save(out_dir, "tigervnc_x509none_inner", "VeNCrypt/X509None, decrypted inner bytes", x, c)

            c = Client(x.port)
            c.versions(version[8])
            c.security(8, 19)
            c.vencrypt(259)
            assert c.u8() == 1
            c.start_tls(anonymous=True)
            user = b"vhmtest"
            c.send(struct.pack(">II", len(user), len(WRONG)) + user + WRONG)
            assert c.result(8) == 1
            c.close()
            save(out_dir, "tigervnc_tlsplain_inner_fail",
                 "VeNCrypt/TLSPlain, decrypted inner bytes, user vhmtest, wrong password", x, c)

        with Xvnc(["-SecurityTypes", "Plain", "-PlainUsers=vhmtest", "-UseBlacklist=0"]) as x:
            c = Client(x.port)
            c.versions(version[8])
            c.security(8, 19)
            c.vencrypt(256)
            user = b"vhmtest"
            c.send(struct.pack(">II", len(user), len(WRONG)) + user + WRONG)
            assert c.result(8) == 1
            c.close()
            save(out_dir, "tigervnc_vencrypt_plain_fail", "SecurityTypes Plain, user vhmtest, wrong password", x, c)

        # Threshold 1: one connection that does not authenticate (the readiness
        # probe already is one; a wrong password surely is) blacklists 127.0.0.1,
        # and the next connections are refused before authentication, with a reason.
        with Xvnc(["-SecurityTypes", "VncAuth", "-rfbauth", passwd, "-BlacklistThreshold=1",
                   "-BlacklistTimeout=60"]) as x:
            c = Client(x.port)
            c.versions(version[8])
            if c.u8() != 0:  # not yet blacklisted: fail once
                c.recv(1)
                c.send(b"\x02")
                c.vnc_auth(WRONG)
                assert c.result(8) == 1
            c.close()
            for minor in (8, 7, 3):
                c = Client(x.port)
                negotiated = c.versions(version[minor])  # a blacklisting Xvnc speaks 3.3
                assert (c.u32() if negotiated == 3 else c.u8()) == 0
                c.recv(c.u32())
                c.close()
                save(out_dir, f"tigervnc_refused_3{minor}", f"blacklisted 127.0.0.1, client 3.{minor}", x, c)


if __name__ == "__main__":
    capture(sys.argv[1] if len(sys.argv) > 1 else HERE)
