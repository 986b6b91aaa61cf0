"""What the CPython peers share with bench.h: the output format read by
bench/bench.py, the seeded sequence (the same LCG, so C and Python build
identical graphs and replay identical churn), resident memory, arguments."""
import os
import sys
import time

MASK = (1 << 64) - 1

# The benchmark clock (bench.h's bench_now): wall-clock seconds, or the CPU
# time of the process when RCGC_BENCH_CPUTIME is set.
now = time.process_time if os.environ.get("RCGC_BENCH_CPUTIME") else time.perf_counter


def result(workload, value, unit):
    print(f"result\t{workload}\t{value:.6g}\t{unit}", flush=True)


def info(key, text):
    print(f"info\t{key}\t{text}", flush=True)


class Rng:
    """bench_rng: a 64-bit LCG with Knuth's MMIX constants, high bits used."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state * 6364136223846793005 + 1442695040888963407) & MASK
        return self.state >> 33

    def below(self, n):
        return self.next() % n


def rss():
    """Resident set size in bytes, from /proc/self/statm."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGESIZE")


def arg(name, default):
    """The value of "--name N" on the command line, or default."""
    argv = sys.argv
    for i in range(1, len(argv) - 1):
        if argv[i] == name:
            return int(argv[i + 1])
    return default


def version():
    return "CPython " + sys.version.split()[0]
