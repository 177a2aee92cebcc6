#!/usr/bin/env python3
"""A local stand-in for the Hugging Face hub, for tests (python3 standard library only).

Serves folders as model repos with the hub's API shapes:
  GET  /api/models/{repo}[/revision/{rev}][?blobs=true]  model info: sha, siblings (size, blobId, lfs)
  HEAD|GET /{repo}/resolve/{rev}/{path}                   small files: 200 with ETag (git blob id);
                                                          LFS files: 302 to /_cdn/{sha256} with
                                                          X-Linked-Etag / X-Linked-Size
  HEAD|GET /_cdn/{sha256}                                 LFS content, with Range support
Every answer carries X-Repo-Commit where the hub sends it; errors carry X-Error-Code
(RepoNotFound 401, GatedRepo 401/403, RevisionNotFound 404, EntryNotFound 404).

Failure injection, set at start (--control JSON) or at run time (POST /_mock/control, merged):
  {"fail_after": {"PATH": {"bytes": N, "times": K}}}  close the connection after N body bytes, K times
  {"slow_bps": N}                                      throttle every body to N bytes per second
  {"corrupt": ["PATH"]}                                serve PATH with one byte flipped (same size)
  {"status": {"PATH": 404}}                            answer PATH's resolve URL with this status
  {"fake_size": {"PATH": N}}                           report size N for PATH in the model info
  {"ignore_range": true}                               answer Range requests with the whole body
  {"cdn_host": "localhost"}                            redirect LFS files to this host (another origin)
POST /_mock/reset clears it; GET /_mock/log lists the requests seen (method, path, range, status).

  usage: mockhub.py --repo ORG/NAME[@REV]=DIR [--repo ...] [--port 0] [--token T] [--gated ORG/NAME]
Prints "mockhub listening on http://127.0.0.1:PORT" once ready.
"""
import argparse
import hashlib
import json
import os
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LFS_SUFFIXES = (".onnx", ".bin", ".model", ".data", ".safetensors")


def is_lfs(path, size):
    base = os.path.basename(path)
    if base.endswith(LFS_SUFFIXES) or ".onnx_data" in base:
        return True
    return size > 1_000_000


class RepoFile:
    def __init__(self, path, data):
        self.path = path
        self.data = data
        self.size = len(data)
        self.sha256 = hashlib.sha256(data).hexdigest()
        self.blob_id = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
        self.lfs = is_lfs(path, len(data))


class Revision:
    def __init__(self, repo_id, folder):
        self.files = {}
        for root, dirs, names in os.walk(folder):
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            for name in names:
                full = os.path.join(root, name)
                rel = os.path.relpath(full, folder).replace(os.sep, "/")
                with open(full, "rb") as f:
                    self.files[rel] = RepoFile(rel, f.read())
        h = hashlib.sha1(repo_id.encode())
        for rel in sorted(self.files):
            h.update(rel.encode() + b"\0" + self.files[rel].blob_id.encode())
        self.commit = h.hexdigest()


class Hub:
    def __init__(self, token=None, gated=()):
        self.repos = {}  # repo_id -> {rev name -> Revision}
        self.token = token
        self.gated = set(gated)
        self.lock = threading.Lock()
        self.control = {}
        self.fail_counts = {}
        self.log = []

    def add(self, spec):
        name, folder = spec.split("=", 1)
        repo_id, _, rev = name.partition("@")
        self.repos.setdefault(repo_id, {})[rev or "main"] = Revision(repo_id, folder)

    def revision(self, repo_id, rev):
        revs = self.repos.get(repo_id)
        if revs is None:
            return None, None
        if rev in revs:
            return revs, revs[rev]
        for r in revs.values():
            if r.commit == rev:
                return revs, r
        return revs, None

    def by_sha(self, sha):
        for revs in self.repos.values():
            for r in revs.values():
                for f in r.files.values():
                    if f.sha256 == sha:
                        return r, f
        return None, None

    def ctl(self, key, default=None):
        with self.lock:
            return self.control.get(key, default)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mockhub/1"

    def log_message(self, fmt, *args):  # quiet
        pass

    @property
    def hub(self):
        return self.server.hub

    # ---- plumbing
    def record(self, status):
        if self.path.startswith("/_mock/"):
            return
        with self.hub.lock:
            self.hub.log.append({
                "method": self.command,
                "path": urllib.parse.urlsplit(self.path).path,
                "range": self.headers.get("Range"),
                "auth": self.headers.get("Authorization"),
                "status": status,
            })

    def reply(self, status, body=b"", headers=None, content_type="application/json"):
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        elif isinstance(body, str):
            body = body.encode()
        self.record(status)
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, status, code, message, extra=None):
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        headers.update(extra or {})
        self.reply(status, {"error": message}, headers)

    def authorized(self, repo_id):
        if not self.hub.token:
            return True
        return self.headers.get("Authorization") == "Bearer " + self.hub.token

    def split_repo(self, parts):
        """parts: path segments after the prefix; returns (repo_id, rest) for a known repo."""
        for n in (2, 1):
            if len(parts) >= n and "/".join(parts[:n]) in self.hub.repos:
                return "/".join(parts[:n]), parts[n:]
        return "/".join(parts[:2]), parts[2:]

    def send_content(self, f, extra_headers):
        data = f.data
        if f.path in set(self.hub.ctl("corrupt", [])):
            data = bytes([data[0] ^ 0xFF]) + data[1:] if data else data
        total = len(data)
        start, end = 0, total - 1
        status = 200
        rng = self.headers.get("Range")
        headers = dict(extra_headers)
        headers["Accept-Ranges"] = "bytes"
        if rng and not self.hub.ctl("ignore_range", False):
            try:
                unit, _, spec = rng.partition("=")
                a, _, b = spec.partition("-")
                start = int(a) if a else 0
                end = int(b) if b else total - 1
                assert unit.strip() == "bytes"
            except Exception:
                return self.error(400, "BadRange", "bad range " + rng)
            if start >= total:
                self.record(416)
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % total)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            end = min(end, total - 1)
            status = 206
            headers["Content-Range"] = "bytes %d-%d/%d" % (start, end, total)
        body = data[start:end + 1]
        self.record(status)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        # failure injection: cut the connection after N bytes, K times
        cut = None
        rule = self.hub.ctl("fail_after", {}).get(f.path)
        if rule:
            with self.hub.lock:
                used = self.hub.fail_counts.get(f.path, 0)
                if used < rule.get("times", 1):
                    self.hub.fail_counts[f.path] = used + 1
                    cut = rule.get("bytes", 0)
        bps = self.hub.ctl("slow_bps", 0)
        sent = 0
        chunk = 16384
        t0 = time.monotonic()
        while sent < len(body):
            n = min(chunk, len(body) - sent)
            if cut is not None and sent + n > cut:
                n = cut - sent
                if n > 0:
                    self.wfile.write(body[sent:sent + n])
                self.wfile.flush()
                self.close_connection = True
                try:
                    import socket
                    self.connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                return
            self.wfile.write(body[sent:sent + n])
            sent += n
            if bps:
                ahead = sent / bps - (time.monotonic() - t0)
                if ahead > 0:
                    time.sleep(ahead)
        self.wfile.flush()

    # ---- routes
    def do_HEAD(self):
        self.route()

    def do_GET(self):
        self.route()

    def do_POST(self):
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/_mock/control":
            try:
                update = json.loads(body or b"{}")
            except ValueError:
                return self.reply(400, {"error": "bad json"})
            with self.hub.lock:
                self.hub.control.update(update)
                self.hub.fail_counts.clear()
            return self.reply(200, {"ok": True})
        if url.path == "/_mock/reset":
            with self.hub.lock:
                self.hub.control = {}
                self.hub.fail_counts.clear()
                self.hub.log.clear()
            return self.reply(200, {"ok": True})
        self.reply(404, {"error": "not found"})

    def route(self):
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/_mock/log":
            with self.hub.lock:
                log = list(self.hub.log)
            body = json.dumps(log).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        if len(parts) >= 3 and parts[0] == "api" and parts[1] == "models":
            return self.model_info(parts[2:], query)
        if len(parts) >= 2 and parts[0] == "_cdn":
            rev, f = self.hub.by_sha(parts[1])
            if f is None:
                return self.error(404, "EntryNotFound", "no such object")
            return self.send_content(f, {"ETag": '"%s"' % f.sha256})
        if "resolve" in parts:
            i = parts.index("resolve")
            repo_id, _ = self.split_repo(parts[:i])
            if i + 2 > len(parts):
                return self.error(404, "EntryNotFound", "no file given")
            # The revision is one segment (url-encoded when it holds a slash).
            return self.resolve(repo_id, parts[i + 1], "/".join(parts[i + 2:]))
        self.error(404, "RepoNotFound", "not found")

    def model_info(self, parts, query):
        rev = "main"
        if "revision" in parts:
            i = parts.index("revision")
            rev = "/".join(parts[i + 1:])
            parts = parts[:i]
        repo_id = "/".join(parts)
        revs, r = self.hub.revision(repo_id, rev)
        if revs is None or not self.authorized(repo_id):
            return self.error(401, "RepoNotFound", "Repository not found")
        if r is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        fake = self.hub.ctl("fake_size", {})
        siblings = []
        for path in sorted(r.files):
            f = r.files[path]
            s = {"rfilename": path}
            if blobs:
                size = fake.get(path, f.size)
                s["size"] = size
                s["blobId"] = f.blob_id
                if f.lfs:
                    s["lfs"] = {"sha256": f.sha256, "size": size, "pointerSize": 134}
            siblings.append(s)
        self.reply(200, {
            "_id": hashlib.md5(repo_id.encode()).hexdigest()[:24],
            "id": repo_id,
            "modelId": repo_id,
            "sha": r.commit,
            "private": bool(self.hub.token),
            "gated": "manual" if repo_id in self.hub.gated else False,
            "disabled": False,
            "library_name": "transformers.js",
            "tags": ["onnx"],
            "lastModified": "2025-01-01T00:00:00.000Z",
            "siblings": siblings,
        })

    def resolve(self, repo_id, rev, path):
        revs, r = self.hub.revision(repo_id, rev)
        if revs is None or not self.authorized(repo_id):
            return self.error(401, "RepoNotFound", "Repository not found")
        if repo_id in self.hub.gated and not self.headers.get("Authorization"):
            return self.error(401, "GatedRepo", "Access to model %s is restricted. You must be authenticated." % repo_id)
        if r is None:
            return self.error(404, "RevisionNotFound", "Invalid rev id: " + rev)
        forced = self.hub.ctl("status", {}).get(path)
        if forced:
            code = {401: "RepoNotFound", 403: "GatedRepo", 404: "EntryNotFound"}.get(forced, "ServerError")
            return self.error(forced, code, "forced status %d" % forced, {"X-Repo-Commit": r.commit})
        f = r.files.get(path)
        if f is None:
            return self.error(404, "EntryNotFound", "%s does not exist on %s" % (path, rev), {"X-Repo-Commit": r.commit})
        if f.lfs:
            host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
            if self.hub.ctl("cdn_host"):  # another origin for the CDN, on the same port
                host = "%s:%d" % (self.hub.ctl("cdn_host"), self.server.server_address[1])
            location = "http://%s/_cdn/%s?repo=%s" % (host, f.sha256, urllib.parse.quote(repo_id, safe=""))
            return self.reply(302, "Found. Redirecting to " + location, {
                "Location": location,
                "X-Repo-Commit": r.commit,
                "X-Linked-Etag": '"%s"' % f.sha256,
                "X-Linked-Size": str(f.size),
                "ETag": '"%s"' % f.blob_id,
            }, content_type="text/plain")
        return self.send_content(f, {"ETag": '"%s"' % f.blob_id, "X-Repo-Commit": r.commit})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repo", action="append", default=[], help="ORG/NAME[@REV]=DIR (repeatable)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--token", help="require 'Authorization: Bearer TOKEN' (private repos)")
    ap.add_argument("--gated", action="append", default=[], help="repo that needs any token to download")
    ap.add_argument("--control", help="initial failure-injection JSON")
    args = ap.parse_args()
    hub = Hub(token=args.token, gated=args.gated)
    for spec in args.repo:
        hub.add(spec)
    if args.control:
        hub.control = json.loads(args.control)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    server.hub = hub
    print("mockhub listening on http://%s:%d" % server.server_address[:2], flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
