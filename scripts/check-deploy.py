#!/usr/bin/env python3
"""Checks the container build file and the Kubernetes example offline.

1. Every manifest under deploy/kubernetes/ (and the ConfigMap kustomize
   generates from gateway.toml) validates against the Kubernetes JSON schemas,
   strictly (unknown fields are errors), for the oldest and newest versions we
   claim. The schemas ship inside the kubernetes-validate package: no network.
2. The manifests agree with polyauth's config and image: ports, probe paths,
   mounts of the config and TLS files, Secret references, shutdown timing.
3. The Cluster overlay (deploy/kubernetes/cluster/): its resources validate,
   the Deployment as its patches render it validates, its deletions name
   base resources, and the store URL names pods of the Redis Cluster
   StatefulSet that the create Job joins (3+ masters).
4. The Dockerfile is multi-stage, ends on a non-root user without a shell,
   and copies only paths that exist.

Run from anywhere: `python3 scripts/check-deploy.py` (needs kubernetes-validate,
which brings PyYAML; .ci/run installs it). Exits non-zero on the first list of
problems, printing each.
"""

import pathlib
import re
import sys

try:
    import tomllib
except ModuleNotFoundError:  # Python < 3.11
    import tomli as tomllib

import yaml
from kubernetes_validate import utils as kv

ROOT = pathlib.Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "kubernetes"
VERSIONS = ["1.29.0", "1.37.0"]
problems = []


def check(ok, message):
    if not ok:
        problems.append(message)


def load_all(path):
    return [d for d in yaml.safe_load_all(path.read_text()) if d]


# ---- 1. schemas -------------------------------------------------------------
kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
resources = {}
for path in sorted(K8S.glob("*.yaml")):
    if path.name == "kustomization.yaml":
        continue
    for doc in load_all(path):
        resources[(doc["kind"], doc["metadata"]["name"])] = (path.name, doc)
for gen in kustomization.get("configMapGenerator", []):
    data = {}
    for f in gen["files"]:
        check((K8S / f).is_file(), f"kustomization: generator file {f} missing")
        data[pathlib.Path(f).name] = (K8S / f).read_text()
    doc = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": gen["name"]}, "data": data}
    resources[("ConfigMap", gen["name"])] = ("kustomization.yaml (generated)", doc)
for r in kustomization["resources"]:
    check((K8S / r).is_file(), f"kustomization: resource {r} missing")

for (kind, name), (file, doc) in resources.items():
    for version in VERSIONS:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            problems.append(f"{file}: {kind}/{name} invalid for Kubernetes {version} at {path}: {e.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as e:
            problems.append(f"{file}: {kind}/{name}: {e}")


def report_and_exit_if_problems():
    if problems:
        print("deploy check failed:", *problems, sep="\n  ")
        sys.exit(1)


# The cross-checks below assume well-typed manifests.
report_and_exit_if_problems()

# ---- 2. manifests against polyauth ------------------------------------------
config = tomllib.loads((K8S / "gateway.toml").read_text())
deployment = resources[("Deployment", "legacy-app")][1]
pod = deployment["spec"]["template"]["spec"]
containers = {c["name"]: c for c in pod["containers"]}
polyauth = containers["polyauth"]
ports = {p["name"]: p["containerPort"] for c in pod["containers"] for p in c.get("ports", [])}
volumes = {v["name"]: v for v in pod["volumes"]}
mounts = polyauth.get("volumeMounts", [])


def port_of(listen):
    return int(listen.rsplit(":", 1)[1])


def mount_for(file):
    """The volumeMount holding an absolute file path in the polyauth container."""
    hits = [m for m in mounts if file.startswith(m["mountPath"].rstrip("/") + "/")]
    return hits[0] if hits else None


check(ports.get("admin") == port_of(config["admin"]["listen"]), "admin port differs from [admin] listen")
for probe, path in [("startupProbe", "/healthz"), ("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")]:
    get = polyauth.get(probe, {}).get("httpGet", {})
    check(get.get("path") == path and get.get("port") == "admin", f"{probe} must GET {path} on the admin port")
for m in config["mount"]:
    check(port_of(m["listen"]) in ports.values(), f"mount {m['dialect']}: port not declared by a container")
    check(m["listen"].startswith("0.0.0.0:"), f"mount {m['dialect']}: must listen on all interfaces in a pod")
    for key in ("cert", "key"):
        file = m.get("tls", {}).get(key)
        if file:
            vm = mount_for(file)
            check(vm is not None, f"tls {key} {file} is on no volume")
            if vm:
                check("subPath" not in vm, f"tls volume {vm['name']} uses subPath: rotations would not arrive")
                check("secret" in volumes[vm["name"]], f"tls volume {vm['name']} is not a Secret")
config_arg = polyauth["args"][polyauth["args"].index("--config") + 1]
vm = mount_for(config_arg)
check(vm is not None and volumes[vm["name"]].get("configMap", {}).get("name") == "polyauth-config",
      "--config must point into the polyauth-config ConfigMap volume")
check(not config_arg.startswith("/etc/polyauth/dialects"), "config volume must not hide the image's dialects")
for name, spec in [(c["name"], c) for c in resources[("Service", "legacy-app")][1]["spec"]["ports"]]:
    check(spec["targetPort"] in ports, f"Service port {name}: no container port named {spec['targetPort']}")
check("admin" not in {p["targetPort"] for p in resources[("Service", "legacy-app")][1]["spec"]["ports"]},
      "the Service must not expose the admin port")
server = config.get("server", {})
check(server.get("shutdown_delay_secs", 0) > 0, "shutdown_delay_secs must be set for Kubernetes")
check(pod.get("terminationGracePeriodSeconds", 30) > server.get("shutdown_timeout_secs", 30),
      "terminationGracePeriodSeconds must exceed shutdown_timeout_secs")
check("signing_key" not in config.get("jwt", {}) and "token" not in config.get("admin", {}),
      "secrets belong in a Secret, not in gateway.toml")
example_secrets = {name: doc for (kind, name), (_, doc) in resources.items() if kind == "Secret"}
for env in polyauth.get("env", []):
    check(re.fullmatch(r"POLYAUTH_[A-Z_]+", env["name"]) is not None, f"env {env['name']}: not a POLYAUTH_ variable")
    ref = env.get("valueFrom", {}).get("secretKeyRef")
    if ref:
        secret = example_secrets.get(ref["name"], {})
        check(ref["key"] in secret.get("stringData", {}), f"env {env['name']}: {ref['name']}/{ref['key']} not in secret.example.yaml")
check(pod.get("securityContext", {}).get("runAsNonRoot") is True, "pod must set runAsNonRoot")
check(polyauth.get("securityContext", {}).get("readOnlyRootFilesystem") is True, "polyauth needs no writable root")

# ---- 3. the Cluster overlay -------------------------------------------------
OVERLAY = K8S / "cluster"
over = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
check("../" in over["resources"] or ".." in over["resources"], "cluster overlay: must build on the base (../)")
over_resources = {}
for r in over["resources"]:
    if r.strip("/") == "..":
        continue
    check((OVERLAY / r).is_file(), f"cluster overlay: resource {r} missing")
    for doc in load_all(OVERLAY / r):
        over_resources[(doc["kind"], doc["metadata"]["name"])] = (f"cluster/{r}", doc)


def merge(base, patch):
    """A strategic merge patch as kustomize applies ours: maps merge, lists of named items merge by name."""
    if isinstance(base, dict) and isinstance(patch, dict):
        out = dict(base)
        for k, v in patch.items():
            out[k] = merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(patch, list) and all(isinstance(x, dict) and "name" in x for x in base + patch):
        out = [dict(x) for x in base]
        for item in patch:
            hit = [i for i, x in enumerate(out) if x["name"] == item["name"]]
            if hit:
                out[hit[0]] = merge(out[hit[0]], item)
            else:
                out.append(item)
        return out
    return patch


rendered = {}
for p in over.get("patches", []):
    check((OVERLAY / p["path"]).is_file(), f"cluster overlay: patch {p['path']} missing")
    for doc in load_all(OVERLAY / p["path"]):
        key = (doc["kind"], doc["metadata"]["name"])
        check(key in resources, f"cluster/{p['path']}: patches {key}, which the base does not have")
        if doc.get("$patch") == "delete" or key not in resources:
            continue
        body = {k: v for k, v in doc.items() if k not in ("apiVersion", "kind", "metadata")}
        rendered[key] = (f"cluster/{p['path']} on {resources[key][0]}", merge(resources[key][1], body))
for (kind, name), (file, doc) in {**over_resources, **rendered}.items():
    for version in VERSIONS:
        try:
            kv.validate(doc, version, strict=True)
        except kv.ValidationError as e:
            path = "/".join(str(p) for p in e.path)
            problems.append(f"{file}: {kind}/{name} invalid for Kubernetes {version} at {path}: {e.message}")
        except (kv.SchemaNotFoundError, kv.InvalidSchemaError) as e:
            problems.append(f"{file}: {kind}/{name}: {e}")
report_and_exit_if_problems()

app = rendered[("Deployment", "legacy-app")][1]
sidecar = {c["name"]: c for c in app["spec"]["template"]["spec"]["containers"]}["polyauth"]
env = {e["name"]: e.get("value") for e in sidecar.get("env", [])}
url = env.get("POLYAUTH_STORE__URL") or ""
check(url.startswith(("redis+cluster://", "rediss+cluster://")), f"cluster overlay: store URL {url!r} is not a Cluster URL")
check(app["spec"].get("replicas", 1) >= 2, "cluster overlay: the point is several replicas")
sts = [doc for (kind, _), (_, doc) in over_resources.items() if kind == "StatefulSet"]
check(len(sts) == 1, "cluster overlay: one StatefulSet of Redis nodes expected")
if sts and url:
    sts = sts[0]
    n, svc = sts["spec"]["replicas"], sts["spec"]["serviceName"]
    redis_port = {p["name"]: p["containerPort"] for p in sts["spec"]["template"]["spec"]["containers"][0]["ports"]}
    check(redis_port.get("bus") == redis_port.get("redis", 0) + 10000, "cluster overlay: the bus port is the port + 10000")
    headless = over_resources.get(("Service", svc), (None, {}))[1]
    check(headless.get("spec", {}).get("clusterIP") == "None", f"cluster overlay: Service {svc} must be headless")
    pods = {f"{sts['metadata']['name']}-{i}.{svc}:{redis_port.get('redis')}" for i in range(n)}
    hosts = url.split("://", 1)[1].rsplit("@", 1)[-1].split(",")
    for h in hosts:
        check(h in pods, f"cluster overlay: store URL names {h}, not a node of StatefulSet {sts['metadata']['name']}")
    job = [doc for (kind, _), (_, doc) in over_resources.items() if kind == "Job"]
    script = job[0]["spec"]["template"]["spec"]["containers"][0]["args"][0] if job else ""
    m = re.search(r"--cluster-replicas (\d+)", script)
    check(m is not None, "cluster overlay: the create Job must run redis-cli --cluster create --cluster-replicas R")
    if m:
        per = 1 + int(m.group(1))
        check(n % per == 0 and n // per >= 3, f"cluster overlay: {n} nodes do not make 3+ masters with {per - 1} replica(s) each")
    for pod in pods:
        check(pod in script, f"cluster overlay: the create Job does not join {pod}")
report_and_exit_if_problems()

# ---- 4. Dockerfile ----------------------------------------------------------
lines = [l.strip() for l in (ROOT / "Dockerfile").read_text().splitlines() if l.strip() and not l.startswith("#")]
stages = [i for i, l in enumerate(lines) if l.upper().startswith("FROM ")]
check(len(stages) >= 2, "Dockerfile must be multi-stage")
final = lines[stages[-1]:]
check("distroless" in final[0], "final stage must be distroless (no shell)")
user = [l.split()[1] for l in final if l.upper().startswith("USER ")]
check(bool(user) and user[-1].split(":")[0].isdigit() and user[-1].split(":")[0] != "0",
      "final stage must run as a numeric non-root USER")
if user:
    check(str(polyauth.get("securityContext", {}).get("runAsUser")) == user[-1].split(":")[0],
          "runAsUser must match the image's USER")
for l in final:
    if l.upper().startswith(("ENTRYPOINT ", "CMD ")):
        check(l.split(None, 1)[1].startswith("["), f"exec form needed without a shell: {l}")
for l in lines:
    if l.upper().startswith("COPY ") and "--from" not in l:
        for src in l.split()[1:-1]:
            check((ROOT / src).exists(), f"Dockerfile copies {src}, which does not exist")

report_and_exit_if_problems()
print(f"deploy check: {len(resources)} resources (+{len(over_resources) + len(rendered)} in the Cluster overlay) "
      f"valid for Kubernetes {', '.join(VERSIONS)}; manifests, config and Dockerfile agree")
