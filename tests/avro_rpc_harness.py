"""Apache Avro's Python library (python3-avro 1.11, `avro.ipc`) speaking Flume's Avro RPC over
Netty's framing, for tests against our avro source and sink (flume-components.md §8.6):

- NettyTransceiver: a client transport (`remote_name`, `transceive`), optional zlib deflate
  (one stream per direction, each write sync-flushed, as Netty's ZlibEncoder).
- ConnectionRequestor: avro.ipc's Requestor that, like Java's, sends the handshake only until the
  connection completed one (Python's own Requestor sends it with every call).
- FlumeServer: a TCP server whose connections are answered by avro.ipc.Responder, the handshake
  only on a connection's first call (as Java's Responder); records every event it was sent.

Needs python3-avro (Debian); INGESTOR_PYTHON must be a Python that can import `avro`.
"""
import io
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import zlib

try:
    import avro.ipc  # noqa: F401
except ImportError:
    # The tests' Python may be another 3.11 (pyenv, with boto3); Debian's python3-avro is pure
    # Python and is used from its dist-packages then.
    sys.path.append("/usr/lib/python3/dist-packages")
import avro.io
import avro.ipc
import avro.protocol

FLUME_PROTOCOL_DOC = (
    "* Licensed to the Apache Software Foundation (ASF) under one\n"
    " * or more contributor license agreements.  See the NOTICE file\n"
    " * distributed with this work for additional information\n"
    " * regarding copyright ownership.  The ASF licenses this file\n"
    " * to you under the Apache License, Version 2.0 (the\n"
    " * \"License\"); you may not use this file except in compliance\n"
    " * with the License.  You may obtain a copy of the License at\n"
    " *\n"
    " * http://www.apache.org/licenses/LICENSE-2.0\n"
    " *\n"
    " * Unless required by applicable law or agreed to in writing,\n"
    " * software distributed under the License is distributed on an\n"
    " * \"AS IS\" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY\n"
    " * KIND, either express or implied.  See the License for the\n"
    " * specific language governing permissions and limitations\n"
    " * under the License.")

PROTOCOL_JSON = """{
  "protocol": "AvroSourceProtocol", "namespace": "org.apache.flume.source.avro",
  "types": [
    {"type": "enum", "name": "Status", "symbols": ["OK", "FAILED", "UNKNOWN"]},
    {"type": "record", "name": "AvroFlumeEvent", "fields": [
      {"name": "headers", "type": {"type": "map", "values": "string"}},
      {"name": "body", "type": "bytes"}]}],
  "messages": {
    "append": {"request": [{"name": "event", "type": "AvroFlumeEvent"}], "response": "Status"},
    "appendBatch": {"request": [{"name": "events",
                                 "type": {"type": "array", "items": "AvroFlumeEvent"}}],
                    "response": "Status"}}}"""

PROTOCOL = avro.protocol.parse(PROTOCOL_JSON)
# The MD5 of Java Flume 1.11's Protocol.toString() (with the license as doc).
JAVA_FLUME_MD5 = bytes.fromhex("86aadae2c45474c0fe93ffd0f2350a65")
EVENT_SCHEMA = PROTOCOL.types_dict["AvroFlumeEvent"]


def event_datum_bytes(event):
    """The Avro binary datum of one AvroFlumeEvent, as python3-avro writes it."""
    buf = io.BytesIO()
    avro.io.DatumWriter(EVENT_SCHEMA).write(event, avro.io.BinaryEncoder(buf))
    return buf.getvalue()


class _Stream:
    """A socket with optional zlib on both directions (Netty's ZlibEncoder/Decoder)."""

    def __init__(self, sock, deflate=False, level=6):
        self.sock = sock
        self.deflate = deflate
        self.comp = zlib.compressobj(level) if deflate else None
        self.decomp = zlib.decompressobj() if deflate else None
        self.buf = b""

    def send(self, data):
        if self.deflate:
            data = self.comp.compress(data) + self.comp.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def recv_exact(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += self.decomp.decompress(chunk) if self.deflate else chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def write_pack(self, serial, payload):
        self.send(struct.pack(">iii", serial, 1, len(payload)) + payload)

    def read_pack(self):
        serial, count = struct.unpack(">ii", self.recv_exact(8))
        parts = []
        for _ in range(count):
            (n,) = struct.unpack(">i", self.recv_exact(4))
            parts.append(self.recv_exact(n))
        return serial, b"".join(parts)


class NettyTransceiver:
    """avro.ipc transceiver over Netty's framing (serial, buffer count, length-prefixed buffers)."""

    def __init__(self, host, port, deflate=False, level=6, timeout=10.0, cafile=None):
        self.remote_name = f"{host}:{port}"
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if cafile:  # TLS, the server's certificate checked against cafile (no host name check)
            ctx = ssl.create_default_context(cafile=cafile)
            ctx.check_hostname = False
            self.sock = ctx.wrap_socket(self.sock)
        self.stream = _Stream(self.sock, deflate, level)
        self.serial = 0

    def transceive(self, request):
        self.serial += 1
        self.stream.write_pack(self.serial, request)
        serial, payload = self.stream.read_pack()
        if serial != self.serial:
            raise AssertionError(f"response serial {serial} to request {self.serial}")
        return payload

    def close(self):
        self.sock.close()


class ConnectionRequestor(avro.ipc.BaseRequestor):
    """A Requestor that sends the handshake only until its connection completed one."""

    def __init__(self, transceiver):
        super().__init__(PROTOCOL, transceiver)
        # python3-avro 1.11.1 leaves remote_protocol unset when it already knows the remote's
        # hash (a second Requestor for the same host:port), then fails in read_call_response.
        self._remote_protocol = avro.ipc.REMOTE_PROTOCOLS.get(transceiver.remote_name)
        self.handshaken = False
        self.handshakes = 0  # requests that carried a handshake

    def request(self, message_name, request_datum):
        w = io.BytesIO()
        enc = avro.io.BinaryEncoder(w)
        sent_handshake = not self.handshaken
        if sent_handshake:
            self.handshakes += 1
            self.write_handshake_request(enc)
        self.write_call_request(message_name, request_datum, enc)
        response = self.transceiver.transceive(w.getvalue())
        dec = avro.io.BinaryDecoder(io.BytesIO(response))
        if sent_handshake:
            if not self.read_handshake_response(dec):
                return self.request(message_name, request_datum)  # NONE: again with the protocol
            self.handshaken = True
        return self.read_call_response(message_name, dec)


def append_batch(port, events, deflate=False, level=6, cafile=None):
    """One appendBatch on a new connection; returns the Status symbol."""
    t = NettyTransceiver("127.0.0.1", port, deflate, level, cafile=cafile)
    try:
        return ConnectionRequestor(t).request("appendBatch", {"events": events})
    finally:
        t.close()


class FlumeResponder(avro.ipc.Responder):
    """avro.ipc.Responder for AvroSourceProtocol that records appendBatch/append events and
    answers `status` (a callable, so tests can change it while running). With java_hash it
    pretends to be Java Flume (its MD5 is Java's and is in its protocol cache)."""

    def __init__(self, status, java_hash=True):
        super().__init__(PROTOCOL)
        if java_hash:
            self._local_hash = JAVA_FLUME_MD5
            self.set_protocol_cache(JAVA_FLUME_MD5, PROTOCOL)
        self.status = status
        self.lock = threading.Lock()
        self.events = []
        self.calls = 0

    def invoke(self, local_message, request):
        st = self.status()
        with self.lock:
            self.calls += 1
            if st == "OK":
                if local_message.name == "appendBatch":
                    self.events.extend(request["events"])
                else:
                    self.events.append(request["event"])
        return st

    def respond_connected(self, call_request):
        """A call on a connection that completed its handshake: no handshake in or out."""
        dec = avro.io.BinaryDecoder(io.BytesIO(call_request))
        w = io.BytesIO()
        enc = avro.io.BinaryEncoder(w)
        avro.ipc.META_READER.read(dec)
        message = self.local_protocol.messages[dec.read_utf8()]
        request = self.read_request(message.request, message.request, dec)
        response = self.invoke(message, request)
        avro.ipc.META_WRITER.write({}, enc)
        enc.write_boolean(False)
        self.write_response(message.response, response, enc)
        return w.getvalue()


class FlumeServer:
    """A threaded TCP server on 127.0.0.1 (port 0) answering with a FlumeResponder."""

    def __init__(self, status="OK", deflate=False, java_hash=True, port=0, tls=None):
        """tls: (certfile, keyfile) to serve TLS."""
        self.status_value = status
        self.responder = FlumeResponder(lambda: self.status_value, java_hash)
        self.matches = []  # the first byte of each handshake response: 0 BOTH, 2 CLIENT, 4 NONE
        self.conns = set()
        self.conns_lock = threading.Lock()
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                with outer.conns_lock:
                    outer.conns.add(self.request)
                sock = self.request
                if tls:
                    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                    ctx.load_cert_chain(*tls)
                    try:
                        sock = ctx.wrap_socket(sock, server_side=True)
                    except (ssl.SSLError, OSError):
                        return
                stream = _Stream(sock, deflate)
                handshaken = False
                while True:
                    try:
                        serial, payload = stream.read_pack()
                    except (EOFError, OSError):
                        sock.close()
                        return
                    if handshaken:
                        resp = outer.responder.respond_connected(payload)
                    else:
                        resp = outer.responder.respond(payload)
                        outer.matches.append(resp[0])
                        handshaken = resp[0] in (0, 2)  # BOTH or CLIENT
                    stream.write_pack(serial, resp)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server(("127.0.0.1", port), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def events(self):
        with self.responder.lock:
            return list(self.responder.events)

    def close(self):
        """Stops listening and closes every open connection (a collector going down)."""
        self.server.shutdown()
        self.server.server_close()
        with self.conns_lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def make_certs(d, cn="localhost"):
    """A self-signed certificate in `d`: returns {cert, key, pem (cert + key), p12 (password
    'secret')} paths, made with the openssl command."""
    os_path = __import__("os").path
    cert, key = os_path.join(d, f"{cn}-cert.pem"), os_path.join(d, f"{cn}-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", f"/CN={cn}"], check=True,
                   capture_output=True)
    pem = os_path.join(d, f"{cn}-keystore.pem")
    with open(pem, "wb") as out:
        for part in (cert, key):
            with open(part, "rb") as f:
                out.write(f.read())
    p12 = os_path.join(d, f"{cn}.p12")
    subprocess.run(["openssl", "pkcs12", "-export", "-in", cert, "-inkey", key, "-out", p12,
                    "-passout", "pass:secret"], check=True, capture_output=True)
    return {"cert": cert, "key": key, "pem": pem, "p12": p12}
