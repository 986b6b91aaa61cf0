#!/usr/bin/env bash
# deps.sh — installs the Debian packages rcgc needs that are missing, and
# nothing else. Quiet when there is nothing to do or the install succeeds.
#
#   scripts/deps.sh          what the library, its tests and the demo need
#   scripts/deps.sh lib      what building the library alone needs (install)
#   scripts/deps.sh bench    the first list, plus the allocators the benchmarks
#                            compare and CPython's headers (the PyMem peer)
#
# Runs apt-get as root, or through sudo otherwise. On a system without dpkg it
# says so and leaves the checks to CMake.
set -euo pipefail

# libbz2-dev: libdw.pc names -lbz2 for a static link, and libdw-dev does not
# bring it (the install test links a consumer statically)
packages=(cmake pkg-config libdw-dev libbz2-dev)
# locales: the de_DE definition a test compiles with localedef (numbers in
# a program's decimal-comma locale); clang and its sanitizers' runtimes
# (libclang-rt-dev, which clang does not bring): make test's third run;
# jemalloc and mimalloc: the suites run again with each preloaded
if [[ "${1:-}" != lib ]]; then
    packages+=(check valgrind python3 g++ locales clang libclang-rt-dev libjemalloc2 libmimalloc2.0)
fi
if [[ "${1:-}" == bench ]]; then
    packages+=(libmimalloc-dev libjemalloc-dev libgc-dev python3-dev heaptrack)
elif [[ $# -gt 0 && "$1" != lib ]]; then
    echo "usage: $0 [lib|bench]" >&2
    exit 2
fi

if ! command -v dpkg-query >/dev/null; then
    echo "deps.sh: not a Debian system; install by hand: ${packages[*]}" >&2
    exit 0
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
elif command -v sudo >/dev/null; then
    as_root=(sudo)
else
    echo "deps.sh: missing ${missing[*]}; run as root or install sudo" >&2
    exit 1
fi

echo "deps.sh: installing ${missing[*]}" >&2
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${as_root[@]}" apt-get update -q &&
       "${as_root[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"; } \
       >"$log" 2>&1; then
    cat "$log" >&2
    echo "deps.sh: apt-get failed" >&2
    exit 1
fi
