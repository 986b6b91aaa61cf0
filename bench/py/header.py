"""Bytes per object: resident-set growth over 1M live instances of a class
with two __slots__ (the counterpart of bench/header.c). The list holding
them exists, at full length, before the first reading."""
from common import arg, info, result, rss, version


class Node:
    __slots__ = ("first", "second")


def main():
    count = arg("--count", 1_000_000)
    info("version", version())
    objs = [None] * count
    before = rss()
    for i in range(count):
        objs[i] = Node()
    after = rss()
    result("bytes per 2-pointer node (RSS / 1M)", (after - before) / count, "B")


main()
