#!/usr/bin/env bash
# fresh-debian.sh — checks the README's promise: on a fresh Debian 12 with only
# the base toolchain (build-essential, git), `make demo` and `make test` install
# what they lack and pass. A CI run on a developer's machine cannot show a
# missing install step; this can.
#
#   sudo scripts/fresh-debian.sh [DIR] [TARGET...]
#
# Makes a minimal Debian 12 in DIR (default: a new directory under /var/tmp)
# with debootstrap, clones this repository's HEAD into it, and runs each
# TARGET (default: demo test) there as root, logging to DIR/work/TARGET.log.
# Needs root, debootstrap and a Debian mirror. Leaves DIR for a look
# afterwards; `umount DIR/proc DIR/dev/pts DIR/dev && rm -rf DIR` removes it.
set -euo pipefail

[[ $(id -u) -eq 0 ]] || { echo "fresh-debian.sh: needs root (chroot)" >&2; exit 1; }
command -v debootstrap >/dev/null || { echo "fresh-debian.sh: needs debootstrap" >&2; exit 1; }
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$(mktemp -d /var/tmp/rcgc-fresh.XXXXXX)}
shift || true
targets=(demo test)
[[ $# -eq 0 ]] || targets=("$@")

if [[ ! -x $dir/bin/bash ]]; then
    echo "== debootstrap into $dir"
    debootstrap --variant=minbase --include=build-essential,git,ca-certificates bookworm \
        "$dir" http://deb.debian.org/debian >"$dir.debootstrap.log" 2>&1 ||
        { tail -20 "$dir.debootstrap.log" >&2; exit 1; }
fi
cp /etc/resolv.conf "$dir/etc/"
mountpoint -q "$dir/proc" || mount -t proc proc "$dir/proc"
mountpoint -q "$dir/dev" || mount --bind /dev "$dir/dev"
mountpoint -q "$dir/dev/pts" || mount --bind /dev/pts "$dir/dev/pts"
rm -rf "$dir/work/rcgc"
mkdir -p "$dir/work"
git clone -q "$top" "$dir/work/rcgc"
# the contract beside the clone, as on a developer's machine (../shared)
[[ -d $top/../shared ]] && cp -r "$top/../shared" "$dir/work/"

status=0
for t in "${targets[@]}"; do
    echo "== make $t (log: $dir/work/$t.log)"
    if chroot "$dir" /bin/bash -c "cd /work/rcgc && CI=true make $t" >"$dir/work/$t.log" 2>&1; then
        echo "   passed"
    else
        echo "   FAILED:"
        # || true: no match (grep's 1), or head gone before grep's last
        # write (SIGPIPE), would end the script here (-e, pipefail)
        grep -E "Failed|\*\*\*|error" "$dir/work/$t.log" | head -20 || true
        status=1
    fi
done
exit $status
