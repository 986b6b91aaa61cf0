#!/usr/bin/env bash
# run.sh BUILD_DIR [CC] — the install smoke test: installs BUILD_DIR into a
# fresh prefix with `cmake --install`, then builds consumer.c against it the
# two ways users do, pkg-config (shared, static, fully static) and
# find_package(rcgc) (the same three), and runs each program; consumer.cpp,
# the header used from C++ (c++, pkg-config, shared); and consumer.c in a
# project that takes rcgc's sources in with add_subdirectory. The static
# programs must not need librcgc.so, the fully static ones nothing at all.
set -euo pipefail
build=$(cd "$1" && pwd)
cc=${2:-cc}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
prefix=$work/prefix

step() { echo "== $*"; }
needs_no_shared_rcgc() {
    if readelf -d "$1" | grep -q 'NEEDED.*librcgc'; then
        echo "$1 links librcgc.so but was meant to be static" >&2
        exit 1
    fi
}
needs_nothing() {
    if readelf -d "$1" | grep -q 'NEEDED'; then
        echo "$1 needs shared libraries but was meant to be fully static" >&2
        exit 1
    fi
}
# Runs a link, showing its output only when it fails (a static link with
# libdw warns about dlopen in static programs).
quiet_link() {
    local out
    if ! out=$("$@" 2>&1); then
        echo "$out" >&2
        exit 1
    fi
}

step "cmake --install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(dirname "$(find "$prefix" -name rcgc.pc -path '*/pkgconfig/*' | head -1)")
libdir=${libdir%/pkgconfig}
test -f "$prefix/include/rcgc.h"
test -f "$libdir/librcgc.a"
test -f "$libdir/librcgc.so"

step "pkg-config, shared"
export PKG_CONFIG_PATH=$libdir/pkgconfig
# shellcheck disable=SC2046  # word splitting of pkg-config's flags is wanted
"$cc" -o "$work/pc_shared" "$here/consumer.c" $(pkg-config --cflags --libs rcgc)
LD_LIBRARY_PATH=$libdir "$work/pc_shared"

step "pkg-config, static"
libs=$(pkg-config --static --libs rcgc)
libs=${libs/-lrcgc/-Wl,-Bstatic -lrcgc -Wl,-Bdynamic}
# shellcheck disable=SC2046,SC2086
"$cc" -o "$work/pc_static" "$here/consumer.c" $(pkg-config --cflags rcgc) $libs
needs_no_shared_rcgc "$work/pc_static"
"$work/pc_static"

step "pkg-config, fully static"
# shellcheck disable=SC2046
quiet_link "$cc" -static -o "$work/pc_full_static" "$here/consumer.c" \
    $(pkg-config --cflags --static --libs rcgc)
needs_nothing "$work/pc_full_static"
"$work/pc_full_static"

step "C++, pkg-config, shared"
cxx=${CXX:-$(command -v c++ || command -v g++ || command -v clang++ || true)}
if [[ -z "$cxx" ]]; then
    echo "no C++ compiler (scripts/deps.sh installs g++)" >&2
    exit 1
fi
# shellcheck disable=SC2046
"$cxx" -std=c++11 -Wall -Wextra -pedantic -Wold-style-cast -Wcast-qual -Werror -o "$work/pc_cxx" "$here/consumer.cpp" \
    $(pkg-config --cflags --libs rcgc)
LD_LIBRARY_PATH=$libdir "$work/pc_cxx"

step "find_package(rcgc)"
cmake -S "$here" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$prefix" \
      -DCMAKE_C_COMPILER="$cc" >/dev/null
quiet_link cmake --build "$work/consumer"
"$work/consumer/consumer_shared"
needs_no_shared_rcgc "$work/consumer/consumer_static"
"$work/consumer/consumer_static"
needs_nothing "$work/consumer/consumer_full_static"
"$work/consumer/consumer_full_static"

step "add_subdirectory(rcgc)"
cmake -S "$here" -B "$work/sub" -DRCGC_SOURCE="$here/../.." \
      -DCMAKE_C_COMPILER="$cc" >/dev/null
quiet_link cmake --build "$work/sub" -j2
"$work/sub/consumer_sub"
echo "install test: pkg-config (shared, static, fully static, C++), find_package" \
     "(shared, static, fully static) and add_subdirectory all ran"
