#!/usr/bin/env bash
# Builds Jaeger's all-in-one binary (OTLP/HTTP in, query API and UI out) from the Go module proxy,
# once per version, into a cache outside the clone, so fresh clones and CI on this machine reuse
# it: ${OMNIGATE_CACHE_DIR:-~/.cache/omnigate}/jaeger/<version>/jaeger. About 4 minutes the first
# time on 2 cores; then nothing. Prints the binary's path. Needs: go 1.24+.
set -euo pipefail
version="${OMNIGATE_JAEGER_VERSION:-v1.76.0}"
cache="${OMNIGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/omnigate}/jaeger/$version"
bin="$cache/jaeger"
if [ -x "$bin" ]; then echo "$bin"; exit 0; fi
command -v go >/dev/null || { echo "install: go is needed to build Jaeger $version (the Go module proxy serves it)" >&2; exit 1; }
echo "install: building Jaeger $version from the Go module proxy into $cache (about 4 minutes, once)" >&2
mkdir -p "$cache"
work="$(mktemp -d "$cache/build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
(
  cd "$work"
  go mod init omnigate.local/jaeger-build >/dev/null 2>&1
  go get -tool "github.com/jaegertracing/jaeger/cmd/jaeger@$version" >&2
  CGO_ENABLED=0 go build -trimpath -o "$work/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger >&2
)
# moved into place last, so an interrupted build is redone
mv "$work/jaeger" "$bin"
echo "$bin"
