#!/usr/bin/env python3
"""Checks the deployment files that cannot run here: every deploy/k8s/*.yaml parses (python3-yaml)
and holds what docs/DEPLOY.md promises (probes on /ready and /health, resources, a Service, an HPA
on onnx_chat_queue_depth, the adapter rule for it); the Containerfile builds on Debian 12 with the
project's scripts; the nginx template has the fields scripts/replicas.sh fills."""
import pathlib
import sys

import yaml


def main(root: pathlib.Path) -> int:
    problems = []

    def check(ok, what):
        if not ok:
            problems.append(what)

    k8s = root / "deploy" / "k8s"
    docs = {}
    for path in sorted(k8s.glob("*.yaml")):
        try:
            for d in yaml.safe_load_all(path.read_text()):
                docs.setdefault(d["kind"], []).append(d)
        except (yaml.YAMLError, KeyError, TypeError) as e:
            problems.append(f"{path.name}: {e}")
    dep = docs.get("Deployment", [{}])[0]
    c = (dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers") or [{}])[0]
    check(c.get("readinessProbe", {}).get("httpGet", {}).get("path") == "/ready", "Deployment: readiness probe on /ready")
    check(c.get("livenessProbe", {}).get("httpGet", {}).get("path") == "/health", "Deployment: liveness probe on /health")
    check("requests" in c.get("resources", {}) and "limits" in c.get("resources", {}), "Deployment: resources")
    svc = docs.get("Service", [{}])[0]
    check(svc.get("spec", {}).get("selector") == dep.get("spec", {}).get("selector", {}).get("matchLabels"),
          "Service selects the Deployment's pods")
    hpa = docs.get("HorizontalPodAutoscaler", [{}])[0]
    metrics = hpa.get("spec", {}).get("metrics", [])
    check(any(m.get("pods", {}).get("metric", {}).get("name") == "onnx_chat_queue_depth" for m in metrics),
          "HPA on onnx_chat_queue_depth")
    check(hpa.get("spec", {}).get("scaleTargetRef", {}).get("name") == dep.get("metadata", {}).get("name"),
          "HPA targets the Deployment")
    adapter = docs.get("ConfigMap", [{}])[0]
    rules = yaml.safe_load(adapter.get("data", {}).get("config.yaml", "{}")) or {}
    check(any(r.get("name", {}).get("as") == "onnx_chat_queue_depth" for r in rules.get("rules", [])),
          "prometheus-adapter rule for onnx_chat_queue_depth")
    kust = docs.get("Kustomization", [{}])[0]
    for res in kust.get("resources", []):
        check((k8s / res).exists(), f"kustomization lists a missing file {res}")

    containerfile = (root / "deploy" / "Containerfile").read_text()
    check("FROM docker.io/library/debian:12" in containerfile, "Containerfile builds on Debian 12")
    check("scripts/setup.sh" in containerfile, "Containerfile uses scripts/setup.sh")
    template = (root / "deploy" / "nginx" / "onnx-chat.conf.in").read_text()
    for field in ("@PREFIX@", "@LISTEN@", "@SERVERS@", "@USER@"):
        check(field in template, f"nginx template lacks {field}")
    for p in problems:
        print(p)
    print(f"deploy files: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else ".")))
