#!/usr/bin/env bash
# Renders every kustomization under deploy/ and checks what comes out:
#   1. each object against the Kubernetes $K8S_VERSION OpenAPI schemas, strictly (unknown fields are errors), with
#      kubernetes-validate; a kind with no schema is an error too, except cert-manager's (a CRD, checked in step 2);
#   2. Bantin's own rules with check.py (security context, probes, resources, autoscaling, certificate names).
# Usage: deploy/validate.sh [path/to/bantin]   (the binary makes the dev overlay's PKI)
set -euo pipefail
cd "$(dirname "$0")/.."
K8S_VERSION=${K8S_VERSION:-1.33.0}
BANTIN=${1:-.build/debug/bantin}
command -v kubectl >/dev/null || { echo "deploy/validate.sh: kubectl (with its built-in kustomize) is missing; install kubectl 1.27 or later" >&2; exit 1; }
python3 -c "import kubernetes_validate, yaml" 2>/dev/null || { echo "deploy/validate.sh: the Python package kubernetes-validate is missing; run 'make deploy-tools'" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r deploy "$work/"
rm -rf "$work/deploy/overlays/dev/pki"
"$BANTIN" certs init "$work/deploy/overlays/dev/pki" >/dev/null
# check.py verifies that the development server certificate names every Service.
BANTIN_DEV_SANS=$(openssl x509 -in "$work/deploy/overlays/dev/pki/server.pem" -noout -ext subjectAltName | tail -n 1)
export BANTIN_DEV_SANS

passed=0
failed=0
for kustomization in base overlays/dev overlays/prod overlays/cert-manager load-test; do
  rendered="$work/$(echo "$kustomization" | tr / -).yaml"
  if ! kubectl kustomize "$work/deploy/$kustomization" >"$rendered" 2>"$work/kustomize.err"; then
    echo "FAIL $kustomization: kustomize could not render it:"; cat "$work/kustomize.err"; failed=$((failed + 1)); continue
  fi
  objects=$(grep -c '^kind:' "$rendered")
  report=$(python3 -m kubernetes_validate --strict -k "$K8S_VERSION" "$rendered" 2>&1) && status=0 || status=$?
  problems=$(echo "$report" | grep -v '^INFO' | grep -v "Couldn't find schema for kind .* cert-manager.io/v1" || true)
  if [ "$status" -ne 0 ] || [ -n "$problems" ]; then
    echo "FAIL $kustomization: schema validation against Kubernetes $K8S_VERSION:"; echo "$problems"; failed=$((failed + 1)); continue
  fi
  if ! python3 deploy/check.py "$kustomization" "$rendered"; then
    failed=$((failed + 1)); continue
  fi
  echo "ok   $kustomization: $objects objects valid for Kubernetes $K8S_VERSION"
  passed=$((passed + 1))
done
echo "deploy: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
