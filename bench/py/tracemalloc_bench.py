"""CPython's tracemalloc beside bench/churn.c and bench/tracemalloc.c.

    tracemalloc_bench.py slowdown  the churn of churn.c with bytes objects
                                   (precomputed sequence), untraced and then
                                   traced at nframe 1: ns per replacement
    tracemalloc_bench.py memory    get_tracemalloc_memory() growth per live
                                   trace over 1M bytes objects
    tracemalloc_bench.py snapshot  take_snapshot() + statistics('lineno')
                                   with 1M live traces

    [--ops N] [--live N] [--count N] [--reps N]"""
import sys
import tracemalloc

from common import Rng, arg, info, now, result, version

MIN_SIZE, MAX_SIZE = 16, 256


def churn(live_sizes, op_slots, op_sizes):
    """Fills the live set, then replaces op_slots[k] with bytes of
    op_sizes[k] for every k; returns the seconds the replacements took."""
    slots = [bytes(n) for n in live_sizes]
    t0 = now()
    for j, n in zip(op_slots, op_sizes):
        slots[j] = bytes(n)
    return now() - t0


def slowdown():
    live, ops = arg("--live", 100_000), arg("--ops", 2_000_000)
    rng = Rng(42)
    live_sizes = [MIN_SIZE + rng.below(MAX_SIZE - MIN_SIZE + 1) for _ in range(live)]
    op_slots, op_sizes = [], []
    for _ in range(ops):
        op_slots.append(rng.below(live))
        op_sizes.append(MIN_SIZE + rng.below(MAX_SIZE - MIN_SIZE + 1))
    for _ in range(arg("--reps", 1)):
        t = churn(live_sizes, op_slots, op_sizes)
        result("bytes() churn, untraced", t / ops * 1e9, "ns/pair")
        tracemalloc.start(1)
        t = churn(live_sizes, op_slots, op_sizes)
        tracemalloc.stop()
        result("bytes() churn, traced nframe 1", t / ops * 1e9, "ns/pair")


def memory():
    count = arg("--count", 1_000_000)
    for _ in range(arg("--reps", 1)):
        objs = [None] * count
        tracemalloc.start(1)
        before = tracemalloc.get_tracemalloc_memory()
        for i in range(count):
            objs[i] = bytes(40)
        after = tracemalloc.get_tracemalloc_memory()
        tracemalloc.stop()
        result("memory per live trace", (after - before) / count, "B")
        del objs


def snapshot():
    count = arg("--count", 1_000_000)
    for _ in range(arg("--reps", 1)):
        objs = [None] * count
        tracemalloc.start(1)
        for i in range(count):
            objs[i] = bytes(40)
        t0 = now()
        snap = tracemalloc.take_snapshot()
        t1 = now()
        stats = snap.statistics("lineno")
        t2 = now()
        info("split", f"take_snapshot {t1 - t0:.3f} s, statistics {t2 - t1:.3f} s")
        info("traces", f"{len(snap.traces)} traces, {len(stats)} statistics, "
                       f"top count {stats[0].count}")
        result("snapshot + statistics(lineno)", t2 - t0, "s")
        tracemalloc.stop()
        del snap, stats, objs


def main():
    info("version", version())
    {"slowdown": slowdown, "memory": memory, "snapshot": snapshot}[sys.argv[1]]()


main()
