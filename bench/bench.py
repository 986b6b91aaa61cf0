#!/usr/bin/env python3
"""bench.py BUILD_DIR [--quick] [--cputime] [--only N,...] [--markdown FILE]

Runs every benchmark of bench/ against its peers and prints one table per
benchmark: for each workload and peer the median of the repetitions, the
ratio to rcgc's median (peer / rcgc: above 1 the peer costs more), and each
target with whether this run meets it. Benchmarks inform; they never fail.

Every program prints "result<TAB>workload<TAB>value<TAB>unit" per repetition
and "info<TAB>key<TAB>text" lines (bench.h, py/common.py). Repetitions of
peers are interleaved (round 1 of every peer, then round 2, ...) so that a
change in the machine's load falls on all peers alike. --quick runs one
round of everything (a smoke run); --cputime times every benchmark in CPU
time of its process instead of wall-clock time (RCGC_BENCH_CPUTIME; for a
machine that others keep busy: every peer is single-threaded); --only runs
the numbered benchmarks; --markdown also writes the tables as Markdown (what
bench/RESULTS.md is made from)."""
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = [sys.executable]
TIMEOUT = 900  # seconds for one program run


class Job:
    """One peer: the command that measures it, the label of its rows, at
    most how many rounds it takes part in (for the slowest peers), and
    whether it is always timed in CPU time."""

    def __init__(self, peer, argv, rounds=None, cputime=False):
        self.peer = peer
        self.argv = argv
        self.rounds = rounds
        self.cputime = cputime


class Section:
    """One benchmark: its jobs, how many interleaved rounds, its targets.

    A target is (text, a, b, factor): met when value(a) <= factor * value(b),
    where a is (workload, peer) and b is (workload, peer) or a number. A
    report is (text, a, b): the ratio value(a) / value(b), shown as is."""

    def __init__(self, number, title, rounds, jobs, targets=(), reports=(), notes=()):
        self.number, self.title, self.rounds = number, title, rounds
        self.jobs, self.targets, self.reports, self.notes = jobs, targets, reports, notes


def python312():
    """A CPython 3.12 to measure beside the one running this script (the
    contract's version; found as tests/gc_diff/CMakeLists.txt finds it), or
    None when there is none or this script already runs on 3.12."""
    if sys.version_info[:2] == (3, 12):
        return None
    home = os.path.expanduser("~/.pyenv/versions")
    pyenv = sorted(os.path.join(home, v, "bin", "python3.12") for v in
                   (os.listdir(home) if os.path.isdir(home) else ()) if v.startswith("3.12"))
    for cand in [shutil.which("python3.12")] + pyenv:
        if not cand:
            continue
        try:
            out = subprocess.run([cand, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
                                 capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.SubprocessError):
            continue
        if out.returncode == 0 and out.stdout.strip() == "True":
            return cand
    return None


def heaptrack_version(path):
    """What `heaptrack --version` says, or "version unknown"."""
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        return (out.stdout or out.stderr).strip().splitlines()[0]
    except (OSError, subprocess.SubprocessError, IndexError):
        return "version unknown"


def sections(build):
    b = os.path.join(build, "bench")

    def exe(name, *args):
        return [os.path.join(b, name), *args]

    def py(script, *args):
        return PY + [os.path.join(HERE, "py", script), *args]

    churn_peers = [("rcgc", "rc"), ("glibc malloc", "glibc"), ("mimalloc", "mimalloc"),
                   ("jemalloc", "jemalloc"), ("Boehm GC (GC_MALLOC + GC_FREE)", "boehm"),
                   ("CPython PyMem_Malloc (embedded)", "pymem")]
    tree_peers = [("glibc malloc, freed by hand", "glibc"), ("mimalloc, freed by hand", "mimalloc"),
                  ("jemalloc, freed by hand", "jemalloc"), ("Boehm GC (GC_MALLOC, no free)", "boehm")]
    churn = "malloc/free churn"
    deep = ["--ops", "2000000", "--depth", "20"]
    out = []

    out.append(Section(
        1, "Header bytes: RSS growth over 1M live 2-pointer nodes", 3,
        [Job("rcgc tracked (type with traverse)", exe("bench_header", "rc-tracked")),
         Job("rcgc untracked (no traverse)", exe("bench_header", "rc-untracked")),
         Job("CPython class with 2 __slots__", py("header.py")),
         Job("glibc malloc(16)", exe("bench_header", "malloc"))],
        targets=[
            ("untracked header <= 8 B", ("header (rc_sizeof - size, best fit)", "rcgc untracked (no traverse)"), 8, 1),
            ("tracked header <= 24 B", ("header (rc_sizeof - size, best fit)", "rcgc tracked (type with traverse)"), 24, 1),
            ("objects 16-byte aligned (tracked)", ("objects not 16-byte aligned", "rcgc tracked (type with traverse)"), 0, 1),
            ("objects 16-byte aligned (untracked)", ("objects not 16-byte aligned", "rcgc untracked (no traverse)"), 0, 1)],
        notes=["header = the smallest rc_sizeof(obj) - size over sizes 1..496 "
               "(the bytes an object costs beyond its payload when that fills its size class)."]))

    out.append(Section(
        2, "Allocation churn: 10M alloc+free of random sizes 16-256 B, ~100k live", 5,
        [Job(label, exe("bench_churn_" + peer)) for label, peer in churn_peers]
        + [Job("rcgc objects (rc_new_sized + rc_decref)", exe("bench_churn_rc", "objects"))],
        targets=[("rcgc no slower than mimalloc", (churn, "rcgc"), (churn, "mimalloc"), 1)],
        notes=["Same seeded sequence for every peer; each block is written when allocated "
               "and read before it is freed; only the steady-state churn is timed.",
               "CPython PyMem_Malloc runs in an embedded interpreter (Debian's libpython3.11): "
               "a Python-level proxy would time the interpreter, not the allocator."]))

    medium = ["--min", "513", "--max", "4096", "--live", "10000", "--ops", "4000000"]
    out.append(Section(
        2, "Medium allocation churn: 4M alloc+free of random sizes 513-4096 B, 10k live", 5,
        [Job(label, exe("bench_churn_" + peer, *medium)) for label, peer in churn_peers],
        targets=[("rcgc no slower than glibc malloc", (churn, "rcgc"), (churn, "glibc malloc"), 1)],
        notes=["The churn above with `--min 513 --max 4096`: rcgc's raw blocks up to "
               "RC_MEDIUM_MAX (4096) come from its pools; past it, from rc_alloc_fn."]))

    for lo, hi, what in ((4097, 262144, "random sizes 4097-262144 B"), (65536, 65536, "64 KiB blocks")):
        large = ["--min", str(lo), "--max", str(hi), "--live", "1024", "--ops", "2000000"]
        out.append(Section(
            2, f"Large allocation churn: 2M alloc+free of {what}, 1024 live", 3,
            [Job(label, exe("bench_churn_" + peer, *large)) for label, peer in churn_peers
             if peer != "boehm"],
            reports=[("rcgc / glibc malloc", (churn, "rcgc"), (churn, "glibc malloc")),
                     ("rcgc / mimalloc", (churn, "rcgc"), (churn, "mimalloc"))],
            notes=["rcgc's large blocks come from rc_alloc_fn (glibc malloc) with a 48-byte "
                   "header, in its map of large blocks; a freed one is held back (the last 16, "
                   "1 MiB in all) so that a second rc_free or rc_decref of it is named, and a "
                   "new block that fits one held takes it (docs/design.md).",
                   "Boehm GC is left out: its large GC_MALLOC ran 3-13 us a pair "
                   "(collections), a minute of the section."]))

    for order, depth, rounds, py_rounds in (("parents first", 16, 5, 3), ("parents first", 18, 3, 1),
                                            ("bottom-up", 16, 5, 3), ("bottom-up", 18, 3, 1)):
        wl = f"binary-trees depth {depth}"
        d = ["--depth", str(depth)] + (["bottom-up"] if order == "bottom-up" else [])
        out.append(Section(
            3, f"binary-trees, depth {depth}, {order}", rounds,
            [Job("rcgc, collector off", exe("bench_trees_rc", *d, "gc-off")),
             Job("rcgc, collector on", exe("bench_trees_rc", *d, "gc-on"))]
            + [Job(label, exe("bench_trees_" + peer, *d)) for label, peer in tree_peers]
            + [Job("CPython, __slots__ (gc on)", py("binary_trees.py", *d), py_rounds)],
            targets=[
                ("rcgc (collector off) no slower than glibc by hand", (wl, "rcgc, collector off"), (wl, "glibc malloc, freed by hand"), 1),
                ("rcgc (collector off) faster than Boehm GC", (wl, "rcgc, collector off"), (wl, "Boehm GC (GC_MALLOC, no free)"), 1),
                ("rcgc (collector on) no slower than glibc by hand", (wl, "rcgc, collector on"), (wl, "glibc malloc, freed by hand"), 1),
                ("rcgc (collector on) faster than Boehm GC", (wl, "rcgc, collector on"), (wl, "Boehm GC (GC_MALLOC, no free)"), 1)],
            notes=["collections: how many collections of each generation one run made (rcgc: "
                   "and the seconds they took); CPython takes part in fewer rounds (one run at "
                   "depth 18 takes 40 s to 2 min on the 2-core machine this was written on).",
                   "parents first: each node is made before its children; bottom-up: after "
                   "them, as in the Benchmarks Game's programs. The collector keeps CPython's "
                   "order of objects, so a tree made bottom-up is examined by both passes and "
                   "reordered (bench/RESULTS.md, session 34); malloc's peers barely notice."]))

    live_jobs, dead_jobs, live_targets, dead_targets = [], [], [], []
    live_reports, dead_reports = [], []
    py312 = python312()
    py312_peer = "CPython 3.12 gc.collect()"
    for shape, factor in (("pairs", 1 / 5), ("ring", 1 / 5), ("random", 1 / 3)):
        live_jobs += [Job("rcgc rc_gc_collect(h, 2)", exe("bench_collector", "live", shape)),
                      Job("CPython gc.collect()", py("collector.py", "live", shape)),
                      Job("Boehm GC_gcollect()", exe("bench_collector_boehm", shape))]
        dead_jobs += [Job("rcgc rc_gc_collect(h, 2)", exe("bench_collector", "dead", shape)),
                      Job("CPython gc.collect()", py("collector.py", "dead", shape))]
        if py312:  # the contract's CPython, reported beside the targets' one
            for state, jobs, reports in (("live", live_jobs, live_reports),
                                         ("dead", dead_jobs, dead_reports)):
                jobs.append(Job(py312_peer, [py312, os.path.join(HERE, "py", "collector.py"),
                                             state, shape]))
                wl = f"{state} heap, {shape}"
                reports.append((f"{shape}: rcgc / CPython 3.12", (wl, "rcgc rc_gc_collect(h, 2)"),
                                (wl, py312_peer)))
        wl = f"live heap, {shape}"
        live_targets += [
            (f"{shape}: rcgc <= {'1/5' if factor == 1 / 5 else '1/3'} of CPython",
             (wl, "rcgc rc_gc_collect(h, 2)"), (wl, "CPython gc.collect()"), factor),
            (f"{shape}: rcgc no slower than Boehm", (wl, "rcgc rc_gc_collect(h, 2)"), (wl, "Boehm GC_gcollect()"), 1)]
        wl = f"dead heap, {shape}"
        dead_targets.append((f"{shape}: rcgc <= 1/5 of CPython", (wl, "rcgc rc_gc_collect(h, 2)"),
                             (wl, "CPython gc.collect()"), 1 / 5))
    shapes_note = ("1M nodes of 2 slots: 500k two-node cycles; one ring; a random graph of "
                   "out-degree 2 (identical edges in C and Python); held by one container "
                   "(rc: a tracked holder object; Python: a list; Boehm: a GC_MALLOC'ed array). "
                   "CPython's own objects are frozen (gc.freeze) so only the shape is examined.")
    py_notes = ["\"CPython\" is the python3 running the benchmarks, which the targets use; "
                "\"CPython 3.12\", the contract's version, is reported beside it."] if py312 else []
    out.append(Section(4, "Collector, live heap (all reachable; a full collection frees nothing): ns per object", 3,
                       live_jobs, targets=live_targets, reports=live_reports,
                       notes=[shapes_note] + py_notes))
    again_jobs, again_reports = [], []
    rc_peer = "rcgc rc_gc_collect(h, 2)"
    for shape in ("pairs", "ring", "random"):
        wl = f"live heap collected again, {shape}"
        again_jobs += [Job(rc_peer, exe("bench_collector", "again", shape)),
                       Job("CPython gc.collect()", py("collector.py", "again", shape)),
                       Job("Boehm GC_gcollect()", exe("bench_collector_boehm", shape, "again"))]
        again_reports += [(f"{shape}: rcgc / CPython", (wl, rc_peer), (wl, "CPython gc.collect()")),
                          (f"{shape}: rcgc / Boehm", (wl, rc_peer), (wl, "Boehm GC_gcollect()"))]
    out.append(Section(4, "Collector, live heap collected again: ns per object", 3, again_jobs,
                       reports=again_reports,
                       notes=["The shapes above, each collected once untimed (nothing found), then "
                              "timed: a heap a collection has ordered, as a long-running "
                              "program's. rcgc then needs no scan (docs/design.md, roots)."]))
    out.append(Section(4, "Collector, dead heap (all unreachable): ns per object", 3, dead_jobs,
                       targets=dead_targets, reports=dead_reports,
                       notes=["The holder is dropped first (reference counting frees what it can, "
                              "untimed), then the collection that frees the rest is timed."]))
    young0 = "gen-0 pause, 700 young, 0M old"
    young10 = "gen-0 pause, 700 young, 10M old"
    out.append(Section(
        4, "Young collections stay young: generation-0 pause (700 new tracked objects)", 1,
        [Job("rcgc", exe("bench_collector", "young", "--old", "0", "--reps", "200")),
         Job("rcgc", exe("bench_collector", "young", "--old", "10000000", "--reps", "200"))],
        targets=[("pause with 10M old objects <= 2x the pause with none",
                  (young10, "rcgc"), (young0, "rcgc"), 2)],
        notes=["The old objects are a 10M-node chain moved to generation 2 by a full collection."]))

    ab = ["--blocks", "24", "--ops", "1000000"]
    ratio = "malloc/free churn: off / compiled out"
    obj_ratio = "rc_new/rc_decref churn: off / compiled out"
    out.append(Section(
        5, "tracemalloc off: allocation with tracing off vs compiled out", 6,
        [Job("rcgc", exe("bench_trace_ab", *ab), cputime=True),
         Job("rcgc", exe("bench_trace_ab", "objects", *ab), cputime=True)],
        targets=[("rc_malloc/rc_free: tracing off within 2% of compiled out",
                  (ratio, "rcgc"), 1.02, 1),
                 ("rc_new/rc_decref: tracing off within 2% of compiled out",
                  (obj_ratio, "rcgc"), 1.02, 1)],
        notes=["'compiled out' is the same library built from the same sources with every "
               "`h->tracer` test on the allocation paths (alloc.c, object.c) replaced by a null "
               "constant, so the compiler drops the tracing branches and calls "
               "(bench/strip_tracer.cmake), its symbols renamed nt_* so that both libraries run "
               "in one process (bench/trace_ab.c): they take turns in blocks of 1M churn steps "
               "(AB BA BA AB), each with its own heap and live set; the ratio is taken per "
               "four blocks, in which each side runs first and second equally often (the order "
               "alone moved single blocks by up to 40%). Each process also has a bias of its own (its "
               "two heaps' placement moved a whole run's median by up to 6% either way), so six "
               "processes take part and the median is over all their quads. "
               "Timed in CPU time of the process (other load on the machine is not counted)."]))
    # heaptrack (Debian's package) traces the glibc peer of the same churn:
    # every malloc and free with its whole native stack, as rcgc at nframe 16.
    heaptrack = shutil.which("heaptrack")
    ht_jobs, ht_reports, ht_notes = [], [], []
    if heaptrack:
        ht_out = os.path.join(build, "heaptrack-churn")
        ht_jobs = [Job("glibc malloc, untraced", exe("bench_churn_glibc", *deep)),
                   Job("glibc malloc under heaptrack",
                       [heaptrack, "-o", ht_out, *exe("bench_churn_glibc", *deep)])]
        ht_reports = [("heaptrack slowdown (glibc malloc, every stack)",
                       (churn, "glibc malloc under heaptrack"), (churn, "glibc malloc, untraced"))]
        ht_notes = ["heaptrack: `heaptrack -o FILE bench_churn_glibc ...` ("
                    + heaptrack_version(heaptrack) + "), the churn's own timing of its loop; "
                    "heaptrack writes its trace to a compressed file as it goes."]
    out.append(Section(
        5, "tracemalloc on: cost of a traced rc_malloc/rc_free pair (2M churn, 20 calls deep)", 5,
        [Job("tracing off", exe("bench_churn_rc", *deep)),
         Job("nframe 1", exe("bench_churn_rc", *deep, "--nframe", "1")),
         Job("nframe 16", exe("bench_churn_rc", *deep, "--nframe", "16")),
         *ht_jobs,
         Job("CPython", py("tracemalloc_bench.py", "slowdown"), 3)],
        targets=[("nframe 1 <= 2x untraced", (churn, "nframe 1"), (churn, "tracing off"), 2)],
        reports=[("rcgc slowdown, nframe 1", (churn, "nframe 1"), (churn, "tracing off")),
                 ("rcgc slowdown, nframe 16", (churn, "nframe 16"), (churn, "tracing off")),
                 *ht_reports,
                 ("CPython tracemalloc slowdown, nframe 1 (bytes() churn)",
                  ("bytes() churn, traced nframe 1", "CPython"), ("bytes() churn, untraced", "CPython"))],
        notes=ht_notes))
    out.append(Section(
        5, "tracemalloc memory per live trace (1M traces of one traceback)", 3,
        [Job("rcgc", exe("bench_tracemalloc", "memory")),
         Job("rcgc", exe("bench_tracemalloc", "memory-objects")),
         Job("CPython", py("tracemalloc_bench.py", "memory"))],
        targets=[("<= 32 B per trace beyond the traceback table (rc_malloc)",
                  ("memory per live trace (rc_malloc: prefix)", "rcgc"), 32, 1),
                 ("<= 32 B per trace beyond the traceback table (objects)",
                  ("memory per live trace (objects: table)", "rcgc"), 32, 1)],
        notes=["Growth of rc_tracemalloc_get_tracemalloc_memory() (CPython: "
               "tracemalloc.get_tracemalloc_memory()) over 1M live traces sharing one traceback. "
               "A small rc_malloc block keeps its trace in a 16-byte prefix (counted there); "
               "objects' traces are in the trace table."]))
    out.append(Section(
        5, "tracemalloc snapshot of 1M live traces + statistics(lineno)", 3,
        [Job("rcgc", exe("bench_tracemalloc", "snapshot")),
         Job("CPython", py("tracemalloc_bench.py", "snapshot"))],
        targets=[("< 0.3 s", ("snapshot + statistics(lineno)", "rcgc"), 0.3, 1)]))
    wr_jobs, wr_reports = [], []
    for order in ("in-order", "shuffled"):
        wr_jobs += [Job("rcgc", exe("bench_weakref", order)),
                    Job("CPython", py("weakref_bench.py", order))]
        for what in ("weak reference made", "target's death clearing it"):
            wl = f"{what} ({order})"
            wr_reports.append((f"{wl}: rcgc / CPython", (wl, "rcgc"), (wl, "CPython")))
    out.append(Section(
        6, "Weak references to 1M objects: making one, and the death that clears it", 3,
        wr_jobs, reports=wr_reports,
        notes=["1M tracked 2-slot objects (Python: a class with __slots__ and __weakref__) "
               "made first; one weak reference (no callback) to each, in the order they "
               "were made or in one seeded shuffled order; then the objects dropped in that "
               "order. Collector disabled in both. No target in the issues: a report."]))
    return out


# ------------------------------------------------------------------ running

def run(job, cputime):
    """Runs one job; returns (results, infos, error). results: list of
    (workload, value, unit); infos: list of (key, text)."""
    if not os.path.exists(job.argv[0]):
        return [], [], f"not built: {os.path.basename(job.argv[0])}"
    env = dict(os.environ)
    env.pop("RCGC_BENCH_CPUTIME", None)
    env.pop("PYTHONMALLOC", None)  # the CPython peers measure pymalloc
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ in the source tree
    if cputime or job.cputime:
        env["RCGC_BENCH_CPUTIME"] = "1"
    try:
        p = subprocess.run(job.argv, capture_output=True, text=True, timeout=TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        return [], [], f"timed out after {TIMEOUT} s"
    results, infos = [], []
    for line in p.stdout.splitlines():
        f = line.split("\t")
        if f[0] == "result" and len(f) == 4:
            results.append((f[1], float(f[2]), f[3]))
        elif f[0] == "info" and len(f) == 3:
            infos.append((f[1], f[2]))
    error = None
    if p.returncode != 0:
        last = (p.stderr.strip().splitlines() or [f"exit status {p.returncode}"])[-1]
        error = f"failed ({p.returncode}): {last}"
    return results, infos, error


class Measured:
    """Everything one section measured, keyed by (workload, peer)."""

    def __init__(self):
        self.values, self.units, self.infos, self.errors = {}, {}, {}, {}
        self.order = []  # (workload, peer) in the order first seen

    def add(self, job, results, infos, error):
        if error:
            self.errors.setdefault(job.peer, error)
        workloads = []
        for workload, value, unit in results:
            key = (workload, job.peer)
            if key not in self.values:
                self.values[key] = []
                self.order.append(key)
            self.values[key].append(value)
            self.units[key] = unit
            workloads.append(workload)
        for wl in dict.fromkeys(workloads):
            for k, text in infos:
                self.infos.setdefault((wl, job.peer), {}).setdefault(k, set()).add(text)

    def median(self, key):
        v = self.values.get(key)
        return statistics.median(v) if v else None


def measure(section, rounds, cputime, log):
    m = Measured()
    for r in range(rounds):
        for job in section.jobs:
            if job.rounds is not None and r >= job.rounds:
                continue
            log(f"  [{section.number}] round {r + 1}/{rounds}: {job.peer} ({' '.join(job.argv[1:]) or os.path.basename(job.argv[0])})")
            m.add(job, *run(job, cputime))
    return m


# ------------------------------------------------------------------ reporting

def fmt(value, unit):
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.3f}x"
    if unit == "s" and value < 1:
        return f"{value * 1000:.1f} ms"
    if unit == "B" or abs(value) >= 100:
        return f"{value:.1f} {unit}" if value % 1 else f"{value:.0f} {unit}"
    return f"{value:.3g} {unit}"


def notes_of(m, key):
    """The info worth a column: what a collection found, check sums."""
    infos = m.infos.get(key, {})
    parts = []
    if "found" in infos:
        parts.append("found " + "/".join(sorted(infos["found"])))
    for key in ("split", "collections"):
        if key in infos:
            parts.append(f"{key}: " + sorted(infos[key])[0])
    return ", ".join(parts)


def checks_agree(m, workload):
    sums = {}
    for (wl, peer), infos in m.infos.items():
        if wl == workload and "check" in infos:
            sums[peer] = infos["check"]
    if len(sums) < 2:
        return None
    distinct = set().union(*sums.values())
    return len(distinct) == 1 and all(len(s) == 1 for s in sums.values())


def value_of(m, ref):
    return ref if isinstance(ref, (int, float)) else m.median(ref)


def describe(m, ref):
    if isinstance(ref, (int, float)):
        return f"{ref:g}"
    return f"{ref[1]} {fmt(m.median(ref), m.units.get(ref, ''))}"


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def report(section, m, load, rounds, out_text, out_md):
    title = f"{section.number}. {section.title}"
    out_text.append(f"\n== {title}")
    out_md.append(f"\n### {title}\n")
    rows = []
    for workload in dict.fromkeys(wl for wl, _ in m.order):
        peers = [p for wl, p in m.order if wl == workload]
        base = next((p for p in peers if p.startswith("rcgc") or p.startswith("tracing")), peers[0])
        base_v = m.median((workload, base))
        agree = checks_agree(m, workload)
        label = workload + ("" if agree is None else " (check sums agree)" if agree else " (CHECK SUMS DIFFER)")
        for i, peer in enumerate(peers):
            key = (workload, peer)
            v = m.median(key)
            ratio = f"{v / base_v:.2f}" if base_v else "-"
            rows.append((label if i == 0 else "", peer, fmt(v, m.units[key]), ratio,
                         str(len(m.values[key])), notes_of(m, key)))
    for peer, error in m.errors.items():
        rows.append(("", peer, error, "", "", ""))
    head = ("workload", "peer", "median", "x base", "n", "notes")
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        out_text.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    out_md.append("| " + " | ".join(head) + " |")
    out_md.append("|" + "---|" * len(head))
    for r in rows:
        out_md.append("| " + " | ".join(c.replace("|", "/") for c in r) + " |")
    out_md.append("")
    out_text.append(f"  ('x base': median / the first rcgc row's median of the workload; "
                    f"n: repetitions; {rounds} interleaved round(s); load average {load} before)")
    out_md.append(f"- n: repetitions, {rounds} interleaved round(s); load average {load} before.")
    for text, a, b, factor in section.targets:
        va, vb = value_of(m, a), value_of(m, b)
        if va is None or vb is None:
            verdict = "not measured"
        else:
            verdict = "met" if va <= factor * vb else "NOT met"
        line = f"target: {text}: {verdict} ({describe(m, a)} vs {describe(m, b)})"
        out_text.append("  " + line)
        out_md.append(f"- {line}")
    for text, a, b in section.reports:
        va, vb = value_of(m, a), value_of(m, b)
        line = f"{text}: " + (f"{va / vb:.2f}x" if va and vb else "not measured")
        out_text.append("  " + line)
        out_md.append(f"- {line}")
    versions = sorted({t for infos in m.infos.values() for t in infos.get("version", ())})
    for note in section.notes:
        out_text.append("  note: " + note)
        out_md.append(f"- {note}")
    if versions:
        out_text.append("  versions: " + "; ".join(versions))
        out_md.append("- versions: " + "; ".join(versions))


def revision():
    """The commit measured, and whether the library's sources differ from it."""
    root = os.path.dirname(HERE)
    try:
        commit = subprocess.run(["git", "-C", root, "rev-parse", "--short", "HEAD"],
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", root, "diff", "--quiet", "HEAD", "--", "src", "include"]).returncode
    except (OSError, subprocess.CalledProcessError):
        return "not a git checkout"
    return f"commit {commit}" + (" with uncommitted changes to src/ or include/" if dirty else "")


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {revision()}; "
            f"nproc {os.cpu_count()}; {model}; load average {loadavg()} at start")


def main():
    args = sys.argv[1:]
    if not args or args[0].startswith("-"):
        sys.exit(__doc__)
    build = args[0]
    quick = "--quick" in args
    cputime = "--cputime" in args
    only = None
    if "--only" in args:
        only = {int(x) for x in args[args.index("--only") + 1].split(",")}
    md_path = args[args.index("--markdown") + 1] if "--markdown" in args else None
    clock = ("CPU time of each benchmark process" if cputime else
             "wall-clock time (CPU time where a table says so)")
    out_md = [f"Measured {machine()}. Clock: {clock}.", ""]
    print(f"rcgc benchmarks: {machine()}\nclock: {clock}", flush=True)
    start = time.time()
    for section in sections(build):
        if only and section.number not in only:
            continue
        load, rounds = loadavg(), 1 if quick else section.rounds
        m = measure(section, rounds, cputime, lambda s: print(s, file=sys.stderr, flush=True))
        text = []
        report(section, m, load, rounds, text, out_md)
        print("\n".join(text), flush=True)
    took = time.time() - start
    print(f"\nall benchmarks took {took:.0f} s", flush=True)
    out_md.append(f"\nThe whole run took {took:.0f} s; load average at the end {loadavg()}.")
    if md_path:
        with open(md_path, "w") as f:
            f.write("\n".join(out_md) + "\n")


main()
