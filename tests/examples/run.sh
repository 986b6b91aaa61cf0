#!/bin/bash
# run.sh EXE EXPECTED SOURCE_DIR [INPUT]: runs an example (stdin from INPUT
# if given, else /dev/null) and fails unless it exits 0 and its standard
# output, with SOURCE_DIR written as @SRC@, is EXPECTED byte for byte.
set -u
exe=$1 expected=$2 src=$3 input=${4:-/dev/null}
out=$("$exe" <"$input") || { echo "$exe exited with status $?"; exit 1; }
out=${out//"$src"/@SRC@}
if ! diff -u "$expected" <(printf '%s\n' "$out"); then
    echo "the output of $exe differs from $expected (above: - expected, + got)"
    exit 1
fi
