"""Bantin's rules for its rendered manifests, beyond what the Kubernetes schemas say.

Usage: check.py NAME RENDERED.yaml — prints each broken rule and exits 1 if there is one.
"""
import os
import sys

import yaml

name, path = sys.argv[1], sys.argv[2]
with open(path) as f:
    objects = [o for o in yaml.safe_load_all(f) if o]
problems = []


def fail(obj, why):
    problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {why}")


def of_kind(*kinds):
    return [o for o in objects if o["kind"] in kinds]


workloads = of_kind("Deployment", "StatefulSet", "Job")
services = of_kind("Service")
namespace = next((o["metadata"].get("namespace") for o in objects if o["metadata"].get("namespace")), "bantin")

for obj in workloads:
    pod = obj["spec"]["template"]["spec"]
    security = pod.get("securityContext", {})
    if not security.get("runAsNonRoot") or security.get("runAsUser", 0) == 0:
        fail(obj, "pod must run as a non-root user")
    if security.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail(obj, "pod needs seccompProfile RuntimeDefault")
    if pod.get("automountServiceAccountToken") is not False:
        fail(obj, "Bantin never calls the Kubernetes API: automountServiceAccountToken must be false")
    for container in pod["containers"]:
        c = container.get("securityContext", {})
        if c.get("readOnlyRootFilesystem") is not True:
            fail(obj, f"container {container['name']}: root filesystem must be read-only")
        if c.get("allowPrivilegeEscalation") is not False:
            fail(obj, f"container {container['name']}: allowPrivilegeEscalation must be false")
        if c.get("capabilities", {}).get("drop") != ["ALL"]:
            fail(obj, f"container {container['name']}: must drop ALL capabilities")
        resources = container.get("resources", {})
        for kind in ("requests", "limits"):
            for resource in ("cpu", "memory"):
                if resource not in resources.get(kind, {}):
                    fail(obj, f"container {container['name']}: {kind}.{resource} missing")
        if obj["kind"] != "Job":
            for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
                got = container.get(probe, {}).get("httpGet", {})
                if got.get("path") != path or got.get("port") != "ops":
                    fail(obj, f"container {container['name']}: {probe} must GET {path} on the ops port")
    if obj["kind"] != "Job" and pod.get("terminationGracePeriodSeconds", 30) <= 20:
        fail(obj, "terminationGracePeriodSeconds must exceed BANTIN_DRAIN_TIMEOUT (20 s)")
    # Every Secret a pod mounts must be in the render, unless the overlay says it comes from outside (prod).
    rendered_secrets = {o["metadata"]["name"] for o in of_kind("Secret")}
    certificate_secrets = {o["spec"]["secretName"] for o in of_kind("Certificate")}
    for volume in pod.get("volumes", []):
        for source in volume.get("projected", {}).get("sources", []):
            secret = source.get("secret", {}).get("name")
            if secret and name in ("overlays/dev", "overlays/cert-manager") and secret not in rendered_secrets | certificate_secrets:
                fail(obj, f"mounts Secret {secret}, which this overlay does not provide")

for obj in services:
    if obj["spec"].get("clusterIP") != "None":
        fail(obj, "Services are headless so that clients round-robin over the replicas themselves")

for obj in of_kind("Deployment"):
    target = obj["metadata"]["name"]
    if not any(h["spec"]["scaleTargetRef"]["name"] == target for h in of_kind("HorizontalPodAutoscaler")):
        fail(obj, "has no HorizontalPodAutoscaler")
    labels = obj["spec"]["selector"]["matchLabels"]
    if not any(p["spec"]["selector"].get("matchLabels") == labels for p in of_kind("PodDisruptionBudget")):
        fail(obj, "has no PodDisruptionBudget")

if workloads and name != "load-test":
    policies = of_kind("NetworkPolicy")
    if not any(p["spec"]["podSelector"] == {} and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"} for p in policies):
        problems.append("NetworkPolicy: no default deny for ingress and egress")

# The server certificate cert-manager issues must name every Service as clients dial it.
for obj in of_kind("Certificate"):
    spec = obj["spec"]
    if "secretName" not in spec or "name" not in spec.get("issuerRef", {}):
        fail(obj, "needs secretName and issuerRef.name")
    if spec.get("secretName") == "bantin-server-tls":
        for service in services:
            short = service["metadata"]["name"]
            for dns in (short, f"{short}.{namespace}", f"{short}.{namespace}.svc", f"{short}.{namespace}.svc.cluster.local"):
                if dns not in spec.get("dnsNames", []):
                    fail(obj, f"server certificate lacks {dns}")

# Likewise the development PKI's server certificate (`bantin certs init`), which the dev overlay mounts.
dev_sans = os.environ.get("BANTIN_DEV_SANS", "")
if name == "overlays/dev":
    names = {part.strip().removeprefix("DNS:") for part in dev_sans.split(",")}
    for service in services:
        short = service["metadata"]["name"]
        for dns in (short, f"{short}.{namespace}", f"{short}.{namespace}.svc", f"{short}.{namespace}.svc.cluster.local"):
            if dns not in names:
                fail(service, f"the development server certificate lacks {dns}")

for problem in problems:
    print(f"FAIL {name}: {problem}")
sys.exit(1 if problems else 0)
