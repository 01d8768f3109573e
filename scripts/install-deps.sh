#!/usr/bin/env bash
# Installs every Debian package muster needs to build, test and benchmark.
# Idempotent: when everything is already installed, apt is never touched.
set -euo pipefail

# The one list of packages. Add new dependencies here, one per line.
packages=(
    build-essential
    cmake
    ninja-build
    g++
    # The sanitizer presets (dev, tsan) compile with Clang 16, about twice as
    # fast as GCC 12 on muster's coroutine-heavy code, and link with mold
    # (clang 14, Debian's default, cannot compile libstdc++ 12's <ranges>).
    clang-16
    libclang-rt-16-dev
    mold
    libboost1.81-dev
    libboost-json1.81-dev
    # muster::http parses URLs and resolves redirects with Boost.URL.
    libboost-url1.81-dev
    libssl-dev
    zlib1g-dev
    libgtest-dev
    libgmock-dev
    libbenchmark-dev
    libmimalloc-dev
    libcli11-dev
    curl
    python3
    python3-aiohttp
    clang-format
    clang-tidy
    # muster::http's tests serve files over HTTP and HTTPS with nginx and
    # make their certificates with openssl.
    nginx
    openssl
    # aws-lambda-ric (a test peer from npm) compiles AWS's C++ runtime and curl.
    autoconf
    automake
    libtool
    make
    libcurl4-openssl-dev
    # The HTTP client benchmark's floor: wrk against the same local server.
    wrk
    # The thumbnail example: libjpeg-turbo, libpng and libwebp decode and
    # encode, linked from their static archives into the deployed function;
    # SQLite holds the metadata. libvips (found through pkg-config) makes the
    # demo's sample images and the tests' images, and is the codec benchmark's
    # baseline; the deployed function does not use it. Pillow is the peer of
    # both thumbnail benchmarks (bench/thumbnails/codec_compare.py and
    # handler.py, run with /usr/bin/python3).
    libjpeg62-turbo-dev
    libpng-dev
    libwebp-dev
    libvips-dev
    libsqlite3-dev
    pkg-config
    python3-pil
    # The trace timeline's test opens the HTML in headless Chromium and
    # checks the screenshot (tests/core/trace_page_test.py).
    chromium
    # The thumbnail example's SAM template is read as YAML by its check
    # (examples/thumbnails/check_template.py, run with /usr/bin/python3).
    python3-yaml
)

# Node may come from somewhere other than Debian (and bring its own npm);
# only ask Debian for what the machine lacks.
# Debian's Node keeps its headers in libnode-dev, which aws-lambda-ric's
# native build (npm install --nodedir=/usr) needs.
command -v node >/dev/null 2>&1 || packages+=(nodejs libnode-dev)
command -v npm >/dev/null 2>&1 || packages+=(npm)

# One dpkg-query for the whole list; a package dpkg has never heard of is
# simply absent from its output.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for package in "${packages[@]}"; do
    grep -qxF "$package installed" <<<"$installed" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    echo "install-deps: all ${#packages[@]} packages are installed"
    exit 0
fi

echo "install-deps: installing ${missing[*]}"
as_root() {
    # sudo drops the environment, so the frontend is passed through env.
    if ((EUID == 0)); then
        env DEBIAN_FRONTEND=noninteractive "$@"
    else
        sudo env DEBIAN_FRONTEND=noninteractive "$@"
    fi
}
as_root apt-get update
as_root apt-get install -y --no-install-recommends "${missing[@]}"
