"""Run a WSGI app on a loopback port in a background thread (tests and sandbox mode)."""

from __future__ import annotations

import threading
from types import TracebackType
from typing import TYPE_CHECKING, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

# serve_forever only notices shutdown() between polls; the default 0.5 s would make
# every test that stops a server half a second slower.
_POLL_INTERVAL = 0.05


class _QuietHandler(WSGIRequestHandler):
    """Request handler that does not print an access-log line per request.

    The fakes serve hundreds of calls per test run; errors are still logged.
    """

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


class RunningServer:
    """A WSGI server running in a daemon thread; stop it with `stop()` or a `with` block."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread
        self._stopped = False

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self._server.server_port)

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:54321``."""
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        """Shut the server down and wait for its thread; calling it twice is harmless."""
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._thread.join(timeout=5)
        self._server.server_close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningServer(url={self.url!r})"


def serve_in_thread(wsgi_app: WSGIApplication) -> RunningServer:
    """Serve `wsgi_app` on 127.0.0.1 at a free port from a daemon thread.

    Threaded, so a long-polling getUpdates does not block other requests.
    """
    server = make_server(
        "127.0.0.1", 0, wsgi_app, threaded=True, request_handler=_QuietHandler
    )
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": _POLL_INTERVAL},
        name=f"fake-server-{server.server_port}",
        daemon=True,
    )
    thread.start()
    return RunningServer(server, thread)
