# Sourced by ./dev and .ci/run: puts a Node.js >= 22.19 on PATH (Node 24 LTS from the npm registry when
# the machine's is older) and installs the npm packages when package-lock.json changed.
# Everything fetched is cached under ${ARGUS_CACHE_DIR:-~/.cache/argus}, outside the repository.

ARGUS_NODE_VERSION=24.21.0
ARGUS_CACHE_DIR="${ARGUS_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/argus}"
export ARGUS_CACHE_DIR

argus_fail() { echo "argus: $*" >&2; exit 1; }

argus_node_ok() {
  command -v node >/dev/null 2>&1 &&
    node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=19)?0:1)' 2>/dev/null
}

if ! argus_node_ok; then
  case "$(uname -m)" in
    x86_64) arch=x64 ;;
    aarch64 | arm64) arch=arm64 ;;
    *) argus_fail "no Node.js build for $(uname -m); install Node.js >= 22.19 yourself" ;;
  esac
  node_home="$ARGUS_CACHE_DIR/node-v$ARGUS_NODE_VERSION"
  node_bin="$node_home/node_modules/node-linux-$arch/bin"
  if [ ! -x "$node_bin/node" ]; then
    command -v npm >/dev/null 2>&1 ||
      argus_fail "Node.js >= 22.19 is needed and npm (to fetch it) was not found: install Node.js with npm from https://nodejs.org/ or your package manager"
    echo "argus: fetching Node.js $ARGUS_NODE_VERSION from the npm registry (machine has $(node --version 2>/dev/null || echo none))" >&2
    rm -rf "$node_home.tmp"
    npm install --prefix "$node_home.tmp" --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
      "node-linux-$arch@$ARGUS_NODE_VERSION" >&2 ||
      argus_fail "could not download node-linux-$arch@$ARGUS_NODE_VERSION from the npm registry; check network access to it (npm config get registry)"
    rm -rf "$node_home" && mv "$node_home.tmp" "$node_home"
  fi
  PATH="$node_bin:$PATH"
  export PATH
fi
# Native addons compile against the headers of the Node that runs them.
npm_config_nodedir="$(dirname "$(dirname "$(command -v node)")")"
export npm_config_nodedir

lock_sum="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ ! -f node_modules/.argus-lock-sum ] || [ "$(cat node_modules/.argus-lock-sum)" != "$lock_sum" ]; then
  echo "argus: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2 || argus_fail "npm ci failed (see above)"
  echo "$lock_sum" > node_modules/.argus-lock-sum
fi
