#!/bin/sh
# bench/run.sh BUILD_DIR [--quick] [--cputime] [--only N,...] [--markdown FILE]
#
# Runs every benchmark built in BUILD_DIR (configured with -DRCGC_BENCH=ON
# -DCMAKE_BUILD_TYPE=Release and built; this script builds nothing) beside
# its peers, and prints one table per benchmark: medians, ratios to rcgc,
# targets met or not. Informative: it fails only when it cannot run at all.
# The tables are also written as Markdown to BUILD_DIR/bench-results.md.
# About 10 minutes on a 2-core machine; --quick runs one round of each;
# --cputime times in CPU time instead of wall-clock time (see bench.py).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
if [ $# -lt 1 ] || [ ! -d "$1/bench" ]; then
    echo "usage: $0 BUILD_DIR [--quick] [--cputime] [--only N,...] [--markdown FILE]" >&2
    echo "  (BUILD_DIR configured with -DRCGC_BENCH=ON and built)" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "run.sh: python3 is needed (the CPython peers)" >&2; exit 2; }
build=$(cd "$1" && pwd)
shift
case " $* " in
*" --markdown "*) exec python3 "$here/bench.py" "$build" "$@" ;;
*) exec python3 "$here/bench.py" "$build" --markdown "$build/bench-results.md" "$@" ;;
esac
