"""A local HTTP endpoint that records the JSON bodies posted to it (a Slack incoming webhook)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def webhook() -> Iterator[tuple[str, list[dict]]]:
    """Yield (url, received): every JSON body posted to `url` lands in `received`."""
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hook/SECRET-TOKEN", received
    finally:
        server.shutdown()
        server.server_close()
