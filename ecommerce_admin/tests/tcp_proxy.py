"""A TCP proxy for fault tests: put it between the app and MariaDB (or Redis), then cut and restore it."""

import contextlib
import socket
import threading


class TcpProxy:
    """Forward 127.0.0.1:<port> to an upstream address, with threads and plain sockets.

    `cut()` drops every open connection at once (as a server restart or a network failure would)
    and refuses new ones until `restore()`; the shared upstream server itself is never touched.
    """

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = threading.Event()
        self._stopped = threading.Event()
        self.connections_made = 0
        self._trigger: bytes | None = None
        self.triggered = threading.Event()
        self._acceptor = threading.Thread(target=self._accept, name="tcp-proxy-accept", daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._open = list(self._open), set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._cut.clear()

    def cut_on(self, pattern: bytes) -> None:
        """Cut everything the moment a client sends these bytes (a statement's text), before they are forwarded."""
        self.triggered.clear()
        self._trigger = pattern

    def stop(self) -> None:
        self._stopped.set()
        self.cut()
        _close(self.listener)
        self._acceptor.join(timeout=5)

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                _close(client)  # what a client sees of a server that is down: connected, then dropped
                continue
            try:
                upstream = socket.create_connection(self.upstream, timeout=5)
                upstream.settimeout(None)
            except OSError:
                _close(client)
                continue
            with self._lock:
                self._open.update((client, upstream))
                self.connections_made += 1
            for source, target, outbound in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(target=self._pipe, args=(source, target, outbound), daemon=True).start()

    def _pipe(self, source: socket.socket, target: socket.socket, outbound: bool) -> None:
        try:
            while data := source.recv(65536):
                trigger = self._trigger
                if outbound and trigger is not None and trigger in data:
                    self._trigger = None
                    self.cut()
                    self.triggered.set()
                    return
                target.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open.discard(source)
                self._open.discard(target)
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def free_port() -> int:
    """A local port with nothing listening on it (for a Redis that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
