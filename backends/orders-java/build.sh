#!/usr/bin/env bash
# Compiles the orders backend into $OUT (default <repo>/.build/orders-java).
# A no-op when the last build is newer than every source file.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="${OUT:-$root/.build/orders-java}"
src="$here/src"
stamp="$out/.built"

if [[ -f "$stamp" && -z "$(find "$src" "$here/build.sh" -newer "$stamp" -print -quit)" ]]; then
  exit 0
fi

mkdir -p "$out"
# stamp first, so an edit made while javac runs still triggers the next build
touch "$stamp.next"
rm -rf "$out/omnigate/orders"
mapfile -t sources < <(find "$src" -name '*.java' | sort)
javac --release 17 -Xlint:all -encoding UTF-8 -d "$out" "${sources[@]}"
mv "$stamp.next" "$stamp"
echo "orders-java: compiled ${#sources[@]} sources into $out"
