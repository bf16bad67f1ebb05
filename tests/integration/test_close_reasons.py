"""Who closed first decides the disconnect reason: a client half-close is
relayed as a half-close (the server can still answer) and ends as
client_closed; a server that closes first ends as server_closed."""
import socket
import unittest

from vhm_harness import (IntegrationTest, client_handshake_none, record_hooks, recv_until_eof,
                         serve_handshake_none, wait_session_done)

FAREWELL = b"server-farewell-after-client-eof"


def serve_none_handshake(conn):
    serve_handshake_none(conn, 320, 240, b"vhm-it fake desk")


class CloseReasons(IntegrationTest):
    def start(self, handler):
        server = self.fake_server(handler)
        listener = {"listen": "127.0.0.1:0", "target": server.target}
        proxy = self.start_proxy(self.config([listener], record_hooks(self.events_file)))
        client = self.client(proxy.port())
        self.assertEqual(client_handshake_none(client), (320, 240, b"vhm-it fake desk"))
        return server, proxy, client

    def only_disconnect(self):
        (records,) = wait_session_done(self.events_file).values()
        self.assertEqual([r.event for r in records], ["connect", "auth_success", "disconnect"])
        return records[-1]

    def test_client_half_close_is_relayed_and_reason_is_client_closed(self):
        received = []

        def handler(conn, _index):
            serve_none_handshake(conn)
            conn.settimeout(10)
            while True:  # read until the client's half-close arrives as EOF
                data = conn.recv(65536)
                if not data:
                    break
                received.append(data)
            conn.sendall(FAREWELL)  # the server may still talk after client EOF
            conn.close()

        _, proxy, client = self.start(handler)
        client.sendall(b"\x03\x00\x00\x00\x00\x00\x01\x00\x01\x00")  # FramebufferUpdateRequest
        client.shutdown(socket.SHUT_WR)
        self.assertEqual(recv_until_eof(client, timeout=10), FAREWELL,
                         "the half-close was not relayed (or the proxy closed too early)")
        self.assertEqual(b"".join(received), b"\x03\x00\x00\x00\x00\x00\x01\x00\x01\x00")
        disconnect = self.only_disconnect()
        self.assertEqual(disconnect["reason"], "client_closed")
        self.assertEqual(disconnect["bytes_in"], str(12 + 1 + 1 + 10))
        self.assertEqual(disconnect["bytes_out"],
                         str(12 + 2 + 4 + 24 + len(b"vhm-it fake desk") + len(FAREWELL)))
        self.assert_closed_logged(proxy, disconnect.session_id, "client_closed")

    def test_server_closing_first_gives_server_closed_and_the_client_sees_eof(self):
        def handler(conn, _index):
            serve_none_handshake(conn)
            conn.close()

        _, proxy, client = self.start(handler)
        self.assertEqual(recv_until_eof(client, timeout=10), b"")
        client.close()  # as a viewer does when its server goes away
        disconnect = self.only_disconnect()
        self.assertEqual(disconnect["reason"], "server_closed")
        self.assert_closed_logged(proxy, disconnect.session_id, "server_closed")


if __name__ == "__main__":
    unittest.main()
