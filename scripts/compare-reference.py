#!/usr/bin/env python3
r"""Replay request sequences against the Django reference server and polyauth; diff the answers.

    python3 scripts/compare-reference.py --dialect simplejwt \
        --reference http://127.0.0.1:18001/simplejwt --target http://127.0.0.1:8003 \
        [--admin-url http://127.0.0.1:9100 --admin-token T] [--target-secret KEY] [--record FILE]
    python3 scripts/compare-reference.py --dialect djoser --reference-only --record out.json
    python3 scripts/compare-reference.py --dialect djoser-activation \
        --reference http://127.0.0.1:18000/djoser --target http://127.0.0.1:8170 \
        --admin-url http://127.0.0.1:9170 --admin-token dev-admin-token-0123456789

`djoser-activation` needs the reference started with ORACLE_DJOSER_ACTIVATION=1 and polyauth
configured the same way (scripts/compare-djoser-activation.toml).

The sequences live in reference-sequences.json (next to this script). Each server keeps its own
captured variables (tokens, ids), so the two servers never share state; only the random
per-sequence suffixes ${run} (hex) and ${runnum} (integer) are common: unique usernames and emails,
so reruns against a long-lived server work. Stdlib only, so anyone with a python3 can run it.
"""
import argparse, base64, difflib, hashlib, hmac, http.client, json, os, re, secrets, sys, time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_REFERENCE = {"djoser": "http://127.0.0.1:18000/djoser",
                     "djoser-activation": "http://127.0.0.1:18000/djoser",
                     "simplejwt": "http://127.0.0.1:18001/simplejwt",
                     "jwt-email": "http://127.0.0.1:18002/jwtemail"}
ORACLE_SECRET = "oracle-insecure-secret-key-for-local-comparison-only"  # reference default SECRET_KEY
COMPARED_HEADERS = ["content-type", "allow", "www-authenticate", "location"]
# Added by Django middleware / DRF on (almost) every response; compared with --extra-headers.
EXTRA_HEADERS = ["vary", "x-frame-options", "x-content-type-options", "referrer-policy",
                 "cross-origin-opener-policy"]
NOT_RECORDED = {"date", "server", "connection"}  # differ per run / per deployment, never asserted
JWT_RE = re.compile(r"^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$")  # "alg: none" tokens have an empty signature
VAR_RE = re.compile(r"\$\{([^}]+)\}")
BOUNDARY = "polyauthcompareboundary"
# Djoser's links: .../activate/<uid>/<token>, .../reset/confirm/<uid>/<token> (the reference's
# outbox extracts only the second kind).
LINK_RE = re.compile(r"/(?:activate|reset/confirm)/(?P<uid>[^/\s]+)/(?P<token>[^/\s]+)")


class ReferenceDown(Exception):
    pass


class Skip(Exception):
    """A step cannot run on one side (no admin outbox, no secret, a capture that failed)."""

    def __init__(self, why, stateless=False):  # stateless: skipping it leaves both servers in step
        super().__init__(why)
        self.stateless = stateless


def b64url(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt_parts(token):
    """(header JSON text, payload dict) of a JWT, without verifying it."""
    def dec(seg):
        return base64.urlsafe_b64decode(seg + "=" * (-len(seg) % 4)).decode()
    h, p, _ = token.split(".")
    return dec(h), json.loads(dec(p))


class Server:
    """One side: base URL, own captured variables, own JWT secret, own outbox access."""

    def __init__(self, label, base, secret, outbox_url=None, outbox_headers=None):
        u = urllib.parse.urlsplit(base)
        self.label, self.scheme, self.netloc = label, u.scheme, u.netloc
        self.prefix = u.path.rstrip("/")
        self.origin = "%s://%s" % (u.scheme, u.netloc)
        self.secret, self.outbox_url, self.outbox_headers = secret, outbox_url, outbox_headers or {}
        self.vars = {}

    def raw(self, method, url_path, headers, body):
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.netloc, timeout=60)
        try:
            conn.request(method, url_path, body=body, headers=headers)
            r = conn.getresponse()
            data = r.read()
            hdrs = {}
            for k, v in r.getheaders():  # repeated headers joined, as HTTP allows
                k = k.lower()
                hdrs[k] = hdrs[k] + ", " + v if k in hdrs else v
            return {"status": r.status, "reason": r.reason, "headers": hdrs, "raw": data}
        finally:
            conn.close()

    def request(self, method, path, headers, body):
        return self.raw(method, self.prefix + "/" + path, headers, body)

    def outbox(self, to):
        """Mails sent to `to`, oldest first (both outboxes list newest last)."""
        if not self.outbox_url:
            raise Skip("no outbox for %s (give --admin-url/--admin-token)" % self.label)
        u = urllib.parse.urlsplit(self.outbox_url)
        srv = Server(self.label, "%s://%s" % (u.scheme, u.netloc), None)
        r = srv.raw("GET", u.path + "?" + urllib.parse.urlencode({"to": to}), self.outbox_headers, None)
        if r["status"] != 200:
            raise Skip("outbox of %s answered %s" % (self.label, r["status"]))
        mails = json.loads(r["raw"].decode())
        for m in mails:
            hit = LINK_RE.search(m.get("body", ""))
            if hit and not m.get("token"):
                m.update(hit.groupdict())
        return mails

    def mail_text(self, mail):
        """Subject and body with this server's host, uid and token replaced, to compare mails."""
        text = "Subject: %s\n\n%s" % (mail.get("subject", ""), mail.get("body", ""))
        for key in ("token", "uid"):
            if mail.get(key):
                text = text.replace(mail[key], "{%s}" % key)
        return text.replace(self.netloc, "{host}")


class Runner:
    def __init__(self, data, dialect, ref, tgt, args):
        self.mints, self.d = data.get("mints", {}), data["dialects"][dialect]
        self.ref, self.tgt, self.args = ref, tgt, args
        self.passed = self.failed = self.skipped = 0
        self.record = {"dialect": dialect, "reference": args.reference,
                       "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                       "note": "Exact reference answers (Date/Server/Connection headers omitted). "
                               "Usernames/emails carry each sequence's random run_suffix.",
                       "sequences": []}

    # ---- templating: ${name} from shared vars, then the server's captures; a lone ${x} keeps its type
    def lookup(self, name, srv):
        if name.startswith("rep:"):  # ${rep:a:151} -> "aaa...a" (151 chars), for max_length tests
            _, ch, n = name.split(":")
            return ch * int(n)
        if name.startswith("mint:"):
            return self.mint(self.mints[name[5:]], srv)
        for scope in (self.shared, srv.vars):
            if name in scope:
                return scope[name]
        raise Skip("${%s} was not captured on %s" % (name, srv.label))

    def expand(self, obj, srv):
        if isinstance(obj, str):
            m = VAR_RE.fullmatch(obj)
            if m:
                return self.lookup(m.group(1), srv)
            return VAR_RE.sub(lambda m: str(self.lookup(m.group(1), srv)), obj)
        if isinstance(obj, list):
            return [self.expand(x, srv) for x in obj]
        if isinstance(obj, dict):
            return {self.expand(k, srv): self.expand(v, srv) for k, v in obj.items()}
        return obj

    def mint(self, spec, srv):
        """Forge a JWT (expired, wrong type, unknown user...) signed with that server's key."""
        now, claims = int(time.time()), {}
        for k, v in spec["claims"].items():
            v = self.expand(v, srv)
            if isinstance(v, str) and v.startswith("@now"):
                v = now + int(v[4:] or 0)
            elif v == "@jti":
                v = secrets.token_hex(16)
            claims[k] = v
        header = spec.get("header", {"alg": "HS256", "typ": "JWT"})
        sep = (",", ":")
        signing = b64url(json.dumps(header, separators=sep).encode()) + "." + \
            b64url(json.dumps(claims, separators=sep).encode())
        if header.get("alg") == "none":
            return signing + "."
        key = "not-the-server-key" if spec.get("key") == "wrong" else srv.secret
        if key is None:
            raise Skip("forging a JWT for %s needs --target-secret" % srv.label, stateless=True)
        return signing + "." + b64url(hmac.new(key.encode(), signing.encode(), hashlib.sha256).digest())

    # ---- requests
    def build(self, step, srv):
        headers = {k: self.expand(v, srv) for k, v in step.get("headers", {}).items()}
        body, ctype = None, None
        if "json" in step:  # non-ASCII sent as UTF-8, like browsers/axios do
            body, ctype = json.dumps(self.expand(step["json"], srv), ensure_ascii=False).encode(), "application/json"
        elif "form" in step:
            body = urllib.parse.urlencode(self.expand(step["form"], srv)).encode()
            ctype = "application/x-www-form-urlencoded"
        elif "multipart" in step:
            parts = ["--%s\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (BOUNDARY, k, v)
                     for k, v in self.expand(step["multipart"], srv).items()]
            body = ("".join(parts) + "--%s--\r\n" % BOUNDARY).encode()
            ctype = "multipart/form-data; boundary=" + BOUNDARY
        elif "body" in step:
            body = self.expand(step["body"], srv).encode()
        elif "body_hex" in step:  # bytes that are not valid UTF-8
            body = bytes.fromhex(step["body_hex"])
        ctype = step.get("content_type", ctype)  # explicit null = send no Content-Type at all
        if ctype and not any(k.lower() == "content-type" for k in headers):
            headers["Content-Type"] = ctype
        return self.expand(step.get("method", "GET"), srv), self.expand(step["path"], srv), headers, body

    def send(self, step, srv):
        method, path, headers, body = self.build(step, srv)
        resp = srv.request(method, path, headers, body)
        resp["text"] = resp["raw"].decode("utf-8", "replace")
        resp["json"] = None
        if resp["raw"] and resp["headers"].get("content-type", "").startswith("application/json"):
            try:
                resp["json"] = json.loads(resp["text"])
            except ValueError:
                pass
        req = {"method": method, "path": path, "headers": headers,
               "body": None if body is None else body.decode("utf-8", "replace")}
        return req, resp

    def capture(self, spec, srv, resp=None, obj=None):
        """{"var": "key.path"} / "key#claim" (JWT payload claim) / "@header:Location"."""
        for var, path in (spec or {}).items():
            if path.startswith("@header:"):
                val = resp["headers"].get(path[8:].lower())
            else:
                path, _, claim = path.partition("#")
                val = walk(obj if obj is not None else resp["json"], path)
                if claim and isinstance(val, str) and JWT_RE.match(val):
                    val = jwt_parts(val)[1].get(claim)
            if val is not None:
                srv.vars[var] = val

    # ---- normalisation for comparison
    def mask(self, obj, path, volatile, srv):
        if isinstance(obj, dict):
            return {k: self.mask(v, path + [k], volatile, srv) for k, v in obj.items()}
        if isinstance(obj, list):
            return [self.mask(v, path + [str(i)], volatile, srv) for i, v in enumerate(obj)]
        is_vol = any(match(p.split("."), path) for p in volatile)
        for name, val in srv.vars.items():  # "same value as an earlier capture" is comparable
            if val == obj and type(val) is type(obj) and (is_vol or (isinstance(obj, str) and len(obj) >= 16)):
                return "<same as ${%s}>" % name
        if isinstance(obj, str) and JWT_RE.match(obj):
            return describe_jwt(obj)
        if isinstance(obj, str) and obj.startswith(srv.origin + srv.prefix + "/"):  # DRF API root links
            return "http://{host}{base}" + obj[len(srv.origin + srv.prefix):]
        if is_vol:
            return "<volatile %s%s>" % (type(obj).__name__, "[%d]" % len(obj) if isinstance(obj, str) else "")
        return obj

    def normalize(self, step, resp, srv):
        names = COMPARED_HEADERS + (EXTRA_HEADERS if self.args.extra_headers else [])
        hdrs = {h: resp["headers"].get(h) for h in names if h in resp["headers"]}
        loc = hdrs.get("location")
        if loc and srv.prefix and loc.startswith(srv.prefix + "/"):  # mount points differ
            hdrs["location"] = "{base}" + loc[len(srv.prefix):]
        elif loc and loc.startswith("/"):
            hdrs["location"] = "{base}" + loc
        for name, val in srv.vars.items():  # e.g. the reset token inside a redirect
            if loc and isinstance(val, str) and len(val) >= 16:
                hdrs["location"] = hdrs["location"].replace(val, "${%s}" % name)
        out = {"status": resp["status"], "headers": hdrs}
        mode = step.get("compare", "full")
        if mode == "full":
            if resp["json"] is not None:
                vol = self.d.get("volatile", []) + step.get("volatile", [])
                out["json"] = self.mask(resp["json"], [], vol, srv)
                out["json formatting"] = json_style(resp["text"], resp["json"])
            else:
                out["body"] = resp["text"]
        return out

    # ---- main loop
    def run_all(self, only):
        for seq in self.d["sequences"]:
            if only and not any(o in seq["name"] for o in only):
                continue
            # fresh suffix per sequence: sequences reuse names, reruns hit long-lived servers
            self.shared = {"run": secrets.token_hex(4), "runnum": 10 ** 8 + secrets.randbelow(9 * 10 ** 8)}
            for k, v in seq.get("vars", {}).items():
                self.shared[k] = self.expand(v, self.ref)
            self.ref.vars, rec = {}, {"name": seq["name"], "run_suffix": self.shared["run"],
                                      "description": seq.get("description", ""), "steps": []}
            if self.tgt:
                self.tgt.vars, self.tainted = {}, False
            print("== %s" % seq["name"])
            for step in seq["steps"]:
                self.run_step(step, rec)
            self.record["sequences"].append(rec)

    def run_step(self, step, rec):
        label = step["name"]
        if "outbox" in step:
            return self.outbox_step(step, rec)
        try:
            req, r = self.send(step, self.ref)
        except (OSError, http.client.HTTPException) as e:
            raise ReferenceDown("%s: %s" % (type(e).__name__, e))
        except Skip as e:
            self.skipped += 1
            print("SKIP %s: %s" % (label, e))
            return
        self.capture(step.get("capture"), self.ref, r)
        rec["steps"].append({"name": label, "request": req, "response": recorded(r)})
        warn = "status" in step and step["status"] != r["status"]
        if warn:  # the data file's expectation about the reference is wrong: fix the data file
            print("WARN %s: reference answered %s, the data file expects %s" % (label, r["status"], step["status"]))
        if not self.tgt:
            self.tally(not warn, label, [] if not warn else ["  " + r["text"][:300]])
            return
        try:
            _, t = self.send(step, self.tgt)
        except Skip as e:
            self.skip(label, e)
            return
        except (OSError, http.client.HTTPException) as e:  # target down or broke the connection
            self.tally(False, label, ["  target: %s: %s" % (type(e).__name__, e)])
            return
        self.capture(step.get("capture"), self.tgt, t)
        lines = diff_lines(self.normalize(step, r, self.ref), self.normalize(step, t, self.tgt))
        if lines and self.tainted:  # e.g. no reset confirm on the target, so its old password still works
            self.skipped += 1
            print("SKIP %s: differs, but an earlier step of this sequence was skipped on the target" % label)
            return
        self.tally(not lines, label, lines)  # not a == b: dict equality ignores key order

    def outbox_step(self, step, rec):
        """Read the newest mail to an address on each side; compare only the count of mails."""
        label, counts, texts = step["name"], [], []
        for srv in filter(None, (self.ref, self.tgt)):
            try:
                mails = srv.outbox(self.expand(step["outbox"], srv))
            except Skip as e:
                self.skip(label, e)
                return
            counts.append(len(mails))
            if srv is self.ref:
                rec["steps"].append({"name": label, "outbox_to": self.expand(step["outbox"], srv), "mails": mails})
            if mails:
                self.capture(step.get("capture"), srv, obj=mails[-1])
                texts.append(srv.mail_text(mails[-1]))
        ok = ("count" not in step or counts[0] == step["count"]) and len(set(counts)) == 1
        lines = [] if ok else ["  mails to the address: reference %s, target %s, data file expects %s"
                               % (counts[0], counts[1:] or "-", step.get("count", "any"))]
        if step.get("compare_mail") and len(texts) == 2 and texts[0] != texts[1]:  # "mail contents as real Djoser"
            lines.extend("  " + l for l in list(difflib.unified_diff(
                texts[0].splitlines(), texts[1].splitlines(), "reference", "target", n=0, lineterm=""))[2:12])
        self.tally(not lines, label, lines)

    def skip(self, label, why):
        self.skipped += 1
        self.tainted |= not why.stateless  # the target's state may now lag the reference's
        print("SKIP %s: %s" % (label, why))

    def tally(self, ok, label, lines):
        if ok:
            self.passed += 1
            print("PASS %s" % label)
        else:
            self.failed += 1
            print("DIFF %s" % label)
            for line in lines[:12]:
                print(line)


def recorded(r):
    out = {"status": r["status"], "reason": r["reason"],
           "headers": {k: v for k, v in r["headers"].items() if k not in NOT_RECORDED}, "body": r["text"]}
    if isinstance(r["json"], dict):  # decoded JWTs, so readers see claims without a decoder
        jwts = {k: dict(zip(("header", "payload"), jwt_parts(v))) for k, v in r["json"].items()
                if isinstance(v, str) and JWT_RE.match(v)}
        if jwts:
            out["jwts_decoded"] = jwts
    return out


def match(pattern, path):
    return len(pattern) == len(path) and all(p in ("*", q) for p, q in zip(pattern, path))


def walk(obj, path):
    for part in filter(None, path.split(".")):
        if isinstance(obj, list) and part.lstrip("-").isdigit() and obj:
            obj = obj[int(part)]
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def describe_jwt(tok):
    """A JWT's comparable shape: exact header text, claim order, token_type, user_id type, lifetime."""
    try:
        header, p = jwt_parts(tok)
    except ValueError:
        return "<unparseable JWT>"
    claims = ",".join("%s=%s" % (k, p[k]) if k == "token_type" else
                      "%s:%s" % (k, type(p[k]).__name__) for k in p)
    # SimpleJWT takes exp from the refresh token's clock and iat from the access token's, so an access
    # lifetime is 300 or, across a second boundary, 299: compare lifetimes to the nearest 10 s.
    life = "?"
    if isinstance(p.get("exp"), int) and isinstance(p.get("iat"), int):
        life = "~%d" % round(p["exp"] - p["iat"], -1)
    jti = p.get("jti")
    return "<JWT %s {%s} lifetime=%s jti=%s sig=%d>" % (
        header, claims, life, "hex%d" % len(jti) if isinstance(jti, str) and re.fullmatch("[0-9a-f]+", jti) else jti,
        len(tok.split(".")[2]))


def json_style(text, obj):
    """DRF renders compact JSON with raw UTF-8; the bytes matter, not only the structure."""
    if text == json.dumps(obj, ensure_ascii=False, separators=(",", ":")):
        return "compact, raw UTF-8"
    if text == json.dumps(obj, separators=(",", ":")):
        return "compact, \\u-escaped"
    return "not compact"


def diff_lines(a, b):
    out = []
    for key in ("status", "headers"):
        if a[key] != b[key]:
            if key == "status":
                out.append("  status: reference %s, target %s" % (a[key], b[key]))
            else:
                for h in sorted(set(a[key]) | set(b[key])):
                    if a[key].get(h) != b[key].get(h):
                        out.append("  %s: reference %r, target %r" % (h, a[key].get(h), b[key].get(h)))
    if ("json" in a) != ("json" in b):
        out.append("  body: reference %s, target %s" % (short(a.get("json", a.get("body"))),
                                                       short(b.get("json", b.get("body")))))
    elif "json" in a:
        tree_diff(a["json"], b["json"], "$", out)
        if a["json formatting"] != b["json formatting"]:
            out.append("  JSON bytes: reference %s, target %s" % (a["json formatting"], b["json formatting"]))
    elif a.get("body") != b.get("body"):
        out.extend("  " + l for l in list(difflib.unified_diff(
            a.get("body", "").splitlines(), b.get("body", "").splitlines(), "reference", "target", n=0,
            lineterm=""))[2:10])
        if not out:
            out.append("  body differs in whitespace/newlines: %r vs %r" % (a["body"][:60], b["body"][:60]))
    return out


def tree_diff(a, b, path, out):
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            out.append("  %s keys: reference %s, target %s" % (path, list(a), list(b)))
        for k in a:
            if k in b:
                tree_diff(a[k], b[k], "%s.%s" % (path, k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            tree_diff(x, y, "%s[%d]" % (path, i), out)
    elif a != b or type(a) is not type(b):  # 1 vs true, "1" vs 1 are differences
        out.append("  %s: reference %s, target %s" % (path, short(a), short(b)))


def short(v):
    s = json.dumps(v, ensure_ascii=False) if not isinstance(v, str) or not v.startswith("<") else v
    return s if len(s) < 160 else s[:157] + "..."


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dialect", required=True, choices=sorted(DEFAULT_REFERENCE),
                    help="djoser-activation: the djoser sequences that need ORACLE_DJOSER_ACTIVATION=1")
    ap.add_argument("--reference", help="reference base URL incl. prefix (default per dialect, ports 18000-18002)")
    ap.add_argument("--target", help="polyauth base URL for the same dialect (root or prefix)")
    ap.add_argument("--reference-only", action="store_true", help="only query the reference (use with --record)")
    ap.add_argument("--admin-url", help="polyauth admin base URL (for GET /outbox)")
    ap.add_argument("--admin-token", default="", help="Bearer token for the admin API")
    ap.add_argument("--reference-secret", default=ORACLE_SECRET, help="reference SECRET_KEY (forged JWTs)")
    ap.add_argument("--target-secret", help="polyauth HS256 key; without it forged-JWT steps are skipped")
    ap.add_argument("--extra-headers", action="store_true", help="also compare Vary/X-Frame-Options/... headers")
    ap.add_argument("--record", help="write the reference's answers to this JSON file")
    ap.add_argument("--sequences", default=os.path.join(HERE, "reference-sequences.json"))
    ap.add_argument("--only", action="append", help="run only sequences whose name contains this (repeatable)")
    args = ap.parse_args()
    if not args.target and not args.reference_only:
        ap.error("give --target URL, or --reference-only")
    args.reference = (args.reference or DEFAULT_REFERENCE[args.dialect]).rstrip("/")
    with open(args.sequences, encoding="utf-8") as fh:
        data = json.load(fh)
    u = urllib.parse.urlsplit(args.reference)
    ref = Server("reference", args.reference, args.reference_secret,
                 "%s://%s/_oracle/outbox/" % (u.scheme, u.netloc))
    tgt = None
    if args.target and not args.reference_only:
        tgt = Server("target", args.target.rstrip("/"), args.target_secret,
                     args.admin_url and args.admin_url.rstrip("/") + "/outbox",
                     {"Authorization": "Bearer " + args.admin_token})
    runner = Runner(data, args.dialect, ref, tgt, args)
    try:
        runner.run_all(args.only)
    except ReferenceDown as e:
        sys.exit("reference %s: %s (start it with /work/shared/reference-server/run.sh 18000)" % (args.reference, e))
    if args.record:
        with open(args.record, "w", encoding="utf-8") as fh:
            json.dump(runner.record, fh, ensure_ascii=False, indent=1)
            fh.write("\n")
    print("%d passed, %d failed%s" % (runner.passed, runner.failed,
                                      ", %d skipped" % runner.skipped if runner.skipped else ""))
    sys.exit(1 if runner.failed else 0)


if __name__ == "__main__":
    main()
