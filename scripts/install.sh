#!/usr/bin/env bash
# Installs everything the demo and the tests need, on a fresh machine or a laptop; idempotent.
#   - Node.js: the machine's own if it is 24 or newer, else Node 24 LTS from the npm registry
#     (its node-<os>-<arch> packages carry the official binaries) into .tools/node.
#   - Redis: Debian's redis-server when it is missing (apt-get, as root or through sudo).
#   - Chromium: Debian's chromium when it is missing (the browser test of the chat WebSocket).
#   - Kafka 3.9 (KRaft, run by scripts/lib/kafka.ts): its jars from Maven Central into .tools/kafka/libs,
#     only when scripts/kafka/pom.xml changed.
#   - Jaeger v1.76.0 all-in-one (the tracing tests and the demo's trace viewer): built once from the Go
#     module proxy into ~/.cache/omnigate/jaeger/<version>/ (scripts/install-jaeger.sh), outside the clone.
#   - npm dependencies (npm ci, only when the lock file changed), the Java orders backend, the seed data.
# Needs: bash, npm, java 17+, mvn 3.6+, python 3.10+, go 1.24+ (for Jaeger, once). Then `source scripts/env.sh` puts that Node on PATH.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
NODE_VERSION="${OMNIGATE_NODE_VERSION:-24.21.0}"

node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 24 ? 0 : 1)'
}

fetch_node() {
  local os arch tmp
  case "$(uname -s)" in Linux) os=linux ;; Darwin) os=darwin ;; *) echo "install: unsupported OS $(uname -s)" >&2; exit 1 ;; esac
  case "$(uname -m)" in x86_64|amd64) arch=x64 ;; aarch64|arm64) arch=arm64 ;; *) echo "install: unsupported CPU $(uname -m)" >&2; exit 1 ;; esac
  echo "install: fetching Node $NODE_VERSION (node-$os-$arch) from the npm registry" >&2
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack --silent "node-$os-$arch@$NODE_VERSION" >/dev/null)
  rm -rf .tools/node && mkdir -p .tools/node
  tar -xzf "$tmp"/*.tgz -C .tools/node --strip-components=1
  rm -rf "$tmp"
}

source scripts/env.sh
if ! node_ok; then
  fetch_node
  source scripts/env.sh
fi
echo "install: node $(node --version) at $(command -v node)" >&2
command -v java >/dev/null || { echo "install: java 17+ is needed for the orders backend" >&2; exit 1; }
command -v python3 >/dev/null || { echo "install: python3 is needed for the crm backend" >&2; exit 1; }
if ! command -v redis-server >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    echo "install: installing redis-server (Debian package)" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
  else
    echo "install: redis-server 6.2+ is needed (e.g. brew install redis); put it on PATH and run again" >&2
    exit 1
  fi
fi
# Headless Chromium: the test that opens the chat WebSocket from a real browser page (Origin, subprotocol token).
if ! command -v chromium >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null; then
    echo "install: installing chromium (Debian package)" >&2
    $sudo apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium >/dev/null
  else
    echo "install: chromium is needed for the browser test (e.g. brew install --cask chromium); put it on PATH and run again" >&2
    exit 1
  fi
fi
kafka_pom=scripts/kafka/pom.xml kafka_libs=.tools/kafka/libs
if ! cmp -s "$kafka_pom" "$kafka_libs/.pom.xml"; then
  command -v mvn >/dev/null || { echo "install: mvn (Maven 3.6+) is needed to fetch the Kafka broker's jars" >&2; exit 1; }
  echo "install: fetching the Kafka broker's jars from Maven Central into $kafka_libs" >&2
  rm -rf "$kafka_libs.next"
  mvn -q -B -Dstyle.color=never -f "$kafka_pom" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$root/$kafka_libs.next"
  # the copied pom is the stamp, written last, so an interrupted fetch is redone
  cp "$kafka_pom" "$kafka_libs.next/.pom.xml"
  rm -rf "$kafka_libs" && mv "$kafka_libs.next" "$kafka_libs"
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# connectors import the SDK as omnigate/sdk: the root links itself in (its postinstall does too,
# but an `npm install <pkg>` since then prunes the link)
node scripts/link-self.mjs
bash scripts/install-jaeger.sh >/dev/null
bash backends/orders-java/build.sh
[ .data/seed/tickets.json -nt scripts/seed.mjs ] || node scripts/seed.mjs
