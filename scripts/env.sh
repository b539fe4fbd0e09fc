# Source me: puts the project's Node (from scripts/install.sh) first on PATH, if it fetched one.
_og_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
if [ -x "$_og_root/.tools/node/bin/node" ]; then
  case ":$PATH:" in *":$_og_root/.tools/node/bin:"*) ;; *) export PATH="$_og_root/.tools/node/bin:$PATH" ;; esac
fi
unset _og_root
