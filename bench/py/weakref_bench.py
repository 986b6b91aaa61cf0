"""Weak references to many objects (the counterpart of bench/weakref.c):
N instances of a class with two __slots__ (and __weakref__) are made first,
then one weakref.ref to each, in the order they were made or in the same
seeded shuffled order as the C program; then the objects are dropped in that
order, each death clearing its weak reference. gc.disable(): no collection
runs.

    weakref_bench.py [--count N] [in-order|shuffled]"""
import gc
import sys
import weakref

from common import Rng, arg, info, now, result, version


class Node:
    __slots__ = ("first", "second", "__weakref__")


def main():
    count = arg("--count", 1_000_000)
    order = "shuffled" if sys.argv[-1] == "shuffled" else "in-order"
    info("version", version())
    gc.disable()
    objs = [Node() for _ in range(count)]
    idx = list(range(count))
    if order == "shuffled":  # Fisher-Yates, as bench/weakref.c
        rng = Rng(12345)
        for i in range(count - 1, 0, -1):
            j = rng.below(i + 1)
            idx[i], idx[j] = idx[j], idx[i]
    targets = [objs[i] for i in idx]
    del objs
    refs = [None] * count
    ref = weakref.ref
    t0 = now()
    for i in range(count):
        refs[i] = ref(targets[i])
    t1 = now()
    for i in range(count):
        targets[i] = None
    t2 = now()
    cleared = sum(1 for r in refs if r() is None)
    result(f"weak reference made ({order})", (t1 - t0) * 1e9 / count, "ns")
    result(f"target's death clearing it ({order})", (t2 - t1) * 1e9 / count, "ns")
    info("cleared", f"{cleared} of {count}")


main()
