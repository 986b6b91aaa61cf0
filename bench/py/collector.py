"""gc.collect() on the shapes of bench/collector.c, built identically from
the shared seeded sequence: 1M nodes of a class with two __slots__ as
two-node cycles, one ring, or a random graph of out-degree 2, held by a
list. The interpreter's own objects are frozen (gc.freeze) so that only the
shape is examined; the collector is disabled while building.

`again` times the collection after an untimed first, as bench/collector.c.

    collector.py live|again|dead pairs|ring|random [--count N] [--reps N]"""
import gc
import sys

from common import Rng, arg, info, now, result, version


class Node:
    __slots__ = ("a", "b")

    def __init__(self):
        self.a = None
        self.b = None


def build(shape, count):
    nodes = [Node() for _ in range(count)]
    if shape == "pairs":
        holder = []
        for i in range(0, count - 1, 2):
            nodes[i].a = nodes[i + 1]
            nodes[i + 1].a = nodes[i]
            holder.append(nodes[i])
    elif shape == "ring":
        for i in range(count):
            nodes[i].a = nodes[(i + 1) % count]
        holder = [nodes[0]]
    elif shape == "random":
        rng = Rng(7)
        for n in nodes:
            n.a = nodes[rng.below(count)]
            n.b = nodes[rng.below(count)]
        holder = nodes
    else:
        sys.exit("shape must be pairs, ring or random")
    return holder


def main():
    state, shape = sys.argv[1], sys.argv[2]
    count = arg("--count", 1_000_000)
    info("version", version())
    gc.freeze()
    gc.disable()
    for _ in range(arg("--reps", 1)):
        holder = build(shape, count)
        if state == "dead":
            del holder
        elif state == "again" and gc.collect() != 0:
            sys.exit("the first collection found garbage")
        t0 = now()
        found = gc.collect()
        t = now() - t0
        holder = None
        info("found", str(found))
        workload = f"live heap collected again, {shape}" if state == "again" else f"{state} heap, {shape}"
        result(workload, t / count * 1e9, "ns/object")
        gc.collect()


main()
