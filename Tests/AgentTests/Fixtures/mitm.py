#!/usr/bin/env python3
"""A man in the middle on the agents' plain-HTTP link (TrustTests; issue "Trust and durability",
findings 1 and 2): listens on 127.0.0.1:PORT, forwards to UPSTREAM and rewrites what comes back,
keeping the real answer's signature headers, or replaying those of an earlier answer, as an
attacker without the site key would. A process of its own, so that it answers however busy the
test process is. Prints one line per request rewritten to stdout (flushed).

usage: mitm.py PORT UPSTREAM ATTACK [SCRIPT_FILE]
  ATTACK: rewrite-assignments SCRIPT_FILE | rewrite-scripts SCRIPT_FILE | forge-acks | forge-enrollment
"""
import hashlib
import http.server
import sys
import urllib.error
import urllib.request

port, upstream, attack = int(sys.argv[1]), sys.argv[2].rstrip("/"), sys.argv[3]
script = open(sys.argv[4], "rb").read() if len(sys.argv) > 4 else b""
script_hash = hashlib.sha256(script).hexdigest()
signed_headers = ["X-Cimdb-Site-Key", "X-Cimdb-Response-Signature", "X-Cimdb-Next-Site-Key"]
last_signed = {}


def rewritten(path):
    print("rewritten " + path, flush=True)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def forged(self, body):
        rewritten(self.path)
        headers = dict(last_signed)  # a replayed signature
        headers["Content-Type"] = "application/json"
        self.answer(200, headers, body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if attack == "forge-acks" and self.path == "/v1/results":
            count = body.count(b"\n") // 2 or 1
            outcomes = ",".join(['{"status":"applied"}'] * count)
            return self.forged(('{"outcomes":[%s],"assignmentsVersion":"forged"}' % outcomes).encode())
        if attack == "forge-enrollment" and self.path == "/v1/enroll":
            return self.forged(b'{"node":"forged"}')
        headers = {k: v for k, v in self.headers.items() if k.lower().startswith("x-cimdb") or k.lower() == "content-type"}
        request = urllib.request.Request(upstream + self.path, data=body if self.command == "POST" else None, headers=headers, method=self.command)
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                status, answer_headers, out = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, answer_headers, out = error.code, error.headers, error.read()
        kept = {k: answer_headers[k] for k in ["Content-Type", "Retry-After"] + signed_headers if answer_headers.get(k)}
        if answer_headers.get("X-Cimdb-Response-Signature"):
            last_signed.clear()
            last_signed.update({k: kept[k] for k in signed_headers if k in kept})
        if attack == "rewrite-assignments" and self.path == "/v1/assignments" and status == 200:
            out = ('{"discovery": [{"monitor": "evil", "periodMilliseconds": 1000, "timeoutMilliseconds": 10000, "settings": ['
                   '{"id": "Evil", "className": "CIM_ComputerSystem", "keyPropertyOrder": ["CreationClassName", "Name"],'
                   ' "discoveryScript": "%s", "createdSeverity": "info", "deletedSeverity": "info"}]}], "updates": []}' % script_hash).encode()
            rewritten(self.path)
        elif attack in ("rewrite-assignments", "rewrite-scripts") and self.path.startswith("/v1/scripts/"):
            status, out = 200, script
            rewritten(self.path)
        self.answer(status, kept, out)

    do_GET = handle_any
    do_POST = handle_any


http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
