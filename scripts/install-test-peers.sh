#!/usr/bin/env bash
# Installs the npm packages muster's tests run against (tests/peers/package.json,
# pinned by its package-lock.json) into DEST/node_modules.
#
# Usage: scripts/install-test-peers.sh DEST
#
# Idempotent and safe to run from several test runs at once: it holds a lock
# on DEST, and when DEST already holds exactly the locked versions it returns
# without touching npm. aws-lambda-ric compiles AWS's C++ runtime (about 80 s);
# --nodedir=/usr keeps node-gyp from downloading Node's headers.
set -euo pipefail

dest=${1:?usage: install-test-peers.sh DEST}
source_dir=$(cd "$(dirname "$0")/../tests/peers" && pwd)

mkdir -p "$dest"
exec 9>"$dest/.install.lock"
flock 9

stamp="$dest/.installed-lock"
if [[ -d "$dest/node_modules" ]] && cmp -s "$source_dir/package-lock.json" "$stamp"; then
    echo "install-test-peers: up to date in $dest"
    exit 0
fi

cp "$source_dir/package.json" "$source_dir/package-lock.json" "$dest/"
# No test peer may reach AWS: drop every AWS_* variable for the install too.
for var in $(compgen -e | grep '^AWS_' || true); do unset "$var"; done
(cd "$dest" && npm ci --nodedir=/usr --no-audit --no-fund --loglevel=error)
cp "$source_dir/package-lock.json" "$stamp"
echo "install-test-peers: installed into $dest"
