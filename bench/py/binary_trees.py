"""binary-trees (the Benchmarks Game's shape, as bench/binary_trees.c) with
nodes of a class with __slots__; CPython's collector left on, as it ships.
Nodes are made parents first, or children first with `bottom-up` (the
Benchmarks Game's order). Prints how many collections of each generation a
run made."""
import gc
import sys

from common import arg, info, now, result, version

MIN_DEPTH = 4


class Node:
    __slots__ = ("left", "right")

    def __init__(self, left, right):
        self.left = left
        self.right = right


def make(depth):
    """Children first, as the Benchmarks Game's programs (`bottom-up`)."""
    if depth == 0:
        return Node(None, None)
    return Node(make(depth - 1), make(depth - 1))


def make_parents_first(depth):
    """Each node before its children, as bench/binary_trees.c by default."""
    node = Node(None, None)
    if depth > 0:
        node.left = make_parents_first(depth - 1)
        node.right = make_parents_first(depth - 1)
    return node


def check(node):
    if node.left is None:
        return 1
    return 1 + check(node.left) + check(node.right)


def binary_trees(max_depth, make):
    total = check(make(max_depth + 1))
    long_lived = make(max_depth)
    for d in range(MIN_DEPTH, max_depth + 1, 2):
        for _ in range(1 << (max_depth - d + MIN_DEPTH)):
            total += check(make(d))
    return total + check(long_lived)


def main():
    depth = max(arg("--depth", 16), MIN_DEPTH + 2)
    bottom_up = "bottom-up" in sys.argv[1:]
    info("version", version())
    info("order", "bottom-up" if bottom_up else "parents first")
    for _ in range(arg("--reps", 1)):
        before = [g["collections"] for g in gc.get_stats()]
        t0 = now()
        total = binary_trees(depth, make if bottom_up else make_parents_first)
        t = now() - t0
        made = [g["collections"] - b for g, b in zip(gc.get_stats(), before)]
        info("check", str(total))
        info("collections", "gen0 {}, gen1 {}, gen2 {}".format(*made))
        result(f"binary-trees depth {depth}", t, "s")


main()
