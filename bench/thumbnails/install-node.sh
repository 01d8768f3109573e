#!/usr/bin/env bash
# Installs the Node + sharp peer of the thumbnail benchmark (bench/thumbnails/package.json:
# sharp with its prebuilt libvips, better-sqlite3 built from source against Debian's Node
# headers) into DEST/node_modules, and copies the handler beside it. Never into the source tree.
#
# Usage: bench/thumbnails/install-node.sh DEST
#
# Idempotent: when DEST already holds this package.json's install it only refreshes the handler.
set -euo pipefail

dest=${1:?usage: install-node.sh DEST}
source_dir=$(cd "$(dirname "$0")" && pwd)

mkdir -p "$dest"
exec 9>"$dest/.install.lock"
flock 9

cp "$source_dir/index.mjs" "$dest/"
stamp="$dest/.installed-package.json"
if [[ -d "$dest/node_modules" ]] && cmp -s "$source_dir/package.json" "$stamp"; then
    echo "install-node: up to date in $dest"
    exit 0
fi
cp "$source_dir/package.json" "$dest/"
# Nothing of this install may reach AWS; better-sqlite3 compiles its SQLite (about a minute)
# rather than downloading a prebuilt binary, and node-gyp uses Debian's headers (--nodedir).
for var in $(compgen -e | grep '^AWS_' || true); do unset "$var"; done
# (sharp takes any npm_config_build_from_source as its own, hence the rebuild on its own.)
(cd "$dest" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error &&
    npm_config_build_from_source=true npm rebuild better-sqlite3 --nodedir=/usr --loglevel=error)
cp "$source_dir/package.json" "$stamp"
echo "install-node: installed into $dest"
