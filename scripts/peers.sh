#!/usr/bin/env bash
# Builds the interop peers (pinned) once into a cache folder; a second run rebuilds nothing.
#   PEERS_DIR (default ~/.cache/kpm-peers): bin/ holds the tools, kcl-venv/ the KCL runtime from PyPI.
# A peer that does not build is reported on stderr and left out (its tests skip, or fail under CI=true).
# Prints the bin folder on its last line; tests find the tools through KPM_PEERS_BIN or that folder.
set -euo pipefail
PEERS_DIR="${PEERS_DIR:-${HOME}/.cache/kpm-peers}"
BIN="$PEERS_DIR/bin"
mkdir -p "$BIN"
export GOFLAGS="${GOFLAGS:--trimpath}" CGO_ENABLED="${CGO_ENABLED:-0}"

# True when $BIN/NAME exists and its stamp file records PIN (a new pin rebuilds).
built() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }

# build NAME PACKAGE@VERSION [MODULE]: `go install`; with MODULE (a module whose go.mod has replace directives,
# which `go install pkg@version` refuses), `go build` inside that module's own downloaded folder instead.
build() {
  local name="$1" target="$2" module="${3:-}"
  built "$name" "$target" && return 0
  echo "peers: building $name ($target)" >&2
  local tmp dir package="${target%@*}"
  tmp="$(mktemp -d)"
  if [ -z "$module" ]; then
    GOBIN="$tmp" go install "$target" && mv "$tmp"/* "$BIN/$name"
  else
    dir="$(go mod download -json "$module@${target##*@}" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')" &&
      (cd "$dir" && go build -o "$BIN/$name" "./${package#"$module"/}")
  fi && echo "$target" >"$BIN/.$name.version"
  local status=$?
  rm -rf "$tmp"
  [ $status -eq 0 ] || echo "peers: $name did not build" >&2
  return $status
}

failed=()
build oras oras.land/oras/cmd/oras@v1.3.6 || failed+=(oras)
build crane github.com/google/go-containerregistry/cmd/crane@v0.22.1 || failed+=(crane)
build helm helm.sh/helm/v3/cmd/helm@v3.22.0 || failed+=(helm)
build helm363 helm.sh/helm/v3/cmd/helm@v3.6.3 helm.sh/helm/v3 || failed+=(helm363)
build helm4 helm.sh/helm/v4/cmd/helm@v4.3.2 || echo "peers: helm v4 is optional" >&2
build cosign github.com/sigstore/cosign/v2/cmd/cosign@v2.6.5 || failed+=(cosign)

# The OCI distribution-spec conformance suite is a test binary (`go test -c` in a scratch module). Its module
# (the conformance/ folder) has no tags of its own, so it is pinned by a pseudo-version: the one of commit
# 97274622c111 (2026-08-31), the module's @latest and the only version the Go module proxy serves (the v1.1.1
# commit's pseudo-version, a139cc4, is refused with 403 "not available").
CONFORMANCE=github.com/opencontainers/distribution-spec/conformance@v0.0.0-20260831232431-97274622c111
if ! built conformance.test "$CONFORMANCE"; then
  echo "peers: building conformance.test ($CONFORMANCE)" >&2
  src="$PEERS_DIR/src/conformance"
  rm -rf "$src" && mkdir -p "$src"
  if (cd "$src" && go mod init kpm-peers/conformance >/dev/null 2>&1 && go get -t "$CONFORMANCE" &&
    go test -c -o "$BIN/conformance.test" "${CONFORMANCE%@*}"); then
    echo "$CONFORMANCE" >"$BIN/.conformance.test.version"
  else
    echo "peers: conformance.test did not build" >&2
    failed+=(conformance.test)
  fi
fi

# The KCL runtime: the KCL CLI module is refused by the Go module proxy here, so PyPI's kcl-lib stands in,
# behind tests/peers/kcl (a small `kcl run` adapter), which runs under bin/kcl-python (this venv's python).
KCL_LIB=kcl-lib==0.13.2
if ! built kcl-python "$KCL_LIB"; then
  echo "peers: installing $KCL_LIB" >&2
  rm -rf "$PEERS_DIR/kcl-venv"
  if python3 -m venv "$PEERS_DIR/kcl-venv" && "$PEERS_DIR/kcl-venv/bin/pip" install -q "$KCL_LIB"; then
    printf '#!/bin/sh\nexec "%s" "$@"\n' "$PEERS_DIR/kcl-venv/bin/python" >"$BIN/kcl-python"
    chmod +x "$BIN/kcl-python"
    echo "$KCL_LIB" >"$BIN/.kcl-python.version"
  else
    failed+=(kcl-python)
  fi
fi

if [ ${#failed[@]} -gt 0 ]; then echo "peers: not built: ${failed[*]}" >&2; fi
echo "$BIN"
