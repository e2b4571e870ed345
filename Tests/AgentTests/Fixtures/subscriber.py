#!/usr/bin/env python3
"""A WBEM-listener stand-in for the subscription tests: stores the body of every POST it
receives as DIR/NNNN.xml (in arrival order) with its CIMExport header, and answers 200.

Usage: subscriber.py PORT DIR
"""
import http.server
import os
import sys

port, directory = int(sys.argv[1]), sys.argv[2]
os.makedirs(directory, exist_ok=True)


class Handler(http.server.BaseHTTPRequestHandler):
    count = 0

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        Handler.count += 1
        name = os.path.join(directory, "%04d.xml" % Handler.count)
        with open(name + ".tmp", "wb") as f:
            f.write(body)
        os.rename(name + ".tmp", name)
        with open(name + ".header", "w") as f:
            f.write(self.headers.get("CIMExport", ""))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
