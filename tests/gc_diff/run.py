#!/usr/bin/env python3
"""Runs gen.py programs in CPython and prints their event logs.

    run.py FILE                      programs read from FILE
    run.py --seed S --count N [--profile P] [--save FILE]
                                     programs made by gen.py (and saved)

For each program: "program N", then one line per event, "K: EVENT", where K
is the operation's line number within the program (1 = first operation):

    fin ID            the finalizer (__del__) of node ID ran
    inner N           a finalizer's gc.collect() returned N; the events of
                      that collection come just before, sorted
    cb ID             the callback of weak reference ID ran
    see H ID|none     what weak reference H returned, for every handle H
                      holding one, seen from each callback and from the
                      finalizers that only log (mode 1): in a collection,
                      every weak reference to its garbage is already clear
    death ID          node or leaf ID died (its references were dropped)
    get H ID|none     what weak reference H returned
    collect G -> N    gc.collect(G) returned N

Order: outside collections the log is in the order things happened, which
the spec fixes (finalizer, then callbacks newest first, then the death and
the deaths it causes, slot 0 first). Inside one gc.collect() CPython's order
across objects follows its generation lists (allocation order, shuffled by
earlier collections), an implementation detail: the events of one collect
operation are printed sorted, so the two logs compare as sets there.

How the events are observed: finalizers are __del__ of FNode; weak reference
callbacks are one global function; deaths come from a tag that only the
node holds, in its first slot in CPython's clearing order (slot names are
sorted), so the tag dies exactly when the node's references are dropped: in
its dealloc, or in the collector's tp_clear; driver.c logs deaths at the same
point (its clear function). The tag must be invisible to the collector, or
gc.collect() would count it: instances of Python classes are all tracked
(their type is a heap type), so a tag is a code object (untracked, weakly
referenceable) watched by a weak reference held in the global DEATHS list,
whose callback logs the death. A leaf is such a tag alone. Only these
objects enter a program: no interned strings or small ints, and each
program starts with gc.freeze() so nothing else is ever examined.
gc.disable(): only explicit collections run.
"""
import gc
import os
import sys
import weakref

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

LOG = []
LOGGING = [True]


class Death(weakref.ref):
    """Watches a tag; its callback logs the death of node or leaf nid."""
    __slots__ = ("nid",)


def on_death(ref):
    if LOGGING[0]:
        LOG.append("death %d" % ref.nid)


TAG_CODE = compile("0", "<tag>", "eval")
DEATHS = []  # the Death weak references of the current program


def mortal(nid):
    """A new untracked object whose death is logged as nid's."""
    tag = TAG_CODE.replace(co_name="tag%d" % nid)
    ref = Death(tag, on_death)
    ref.nid = nid
    DEATHS.append(ref)
    return tag


class Node:
    # sorted by CPython: _tag, fm, nid, s0..s3 is the order slots are cleared
    __slots__ = ("__weakref__", "_tag", "fm", "nid", "s0", "s1", "s2", "s3")


def log_view():
    """Logs what each weak reference held in a handle returns now."""
    for h, ref in enumerate(R):
        if isinstance(ref, weakref.ref):
            target = ref()
            LOG.append("see %d %s" % (h, "none" if target is None else target.nid))
            del target


class FNode(Node):
    __slots__ = ()

    def __del__(self):
        LOG.append("fin %d" % self.nid)
        if self.fm == 1:
            log_view()
        elif self.fm == 2:
            G.append(self)
        elif self.fm == 3:
            self.s0 = None
        elif self.fm == 4:
            mark = len(LOG)
            n = gc.collect()
            LOG[mark:] = sorted(LOG[mark:])
            LOG.append("inner %d" % n)


class WR(weakref.ref):
    __slots__ = ("wid", "handle")  # handle: the one to empty, or -1


def on_callback(ref):
    LOG.append("cb %d" % ref.wid)
    log_view()
    if ref.handle >= 0 and R[ref.handle] is ref:
        R[ref.handle] = None


SLOT_NAMES = ("s0", "s1", "s2", "s3")
R = [None] * gen.HANDLES  # the handles
G = []                    # objects finalizers resurrected


def new_node(nid, mode):
    n = FNode() if mode else Node()
    n.nid, n.fm = nid, mode
    n.s0 = n.s1 = n.s2 = n.s3 = None
    n._tag = mortal(nid)
    return n


def step(op, a):
    """Runs one operation; returns the collect count or None."""
    if op == "new":
        R[a[0]] = new_node(a[1], a[2])
    elif op == "leaf":
        R[a[0]] = mortal(a[1])
    elif op == "set":
        if isinstance(R[a[0]], Node) and R[a[2]] is not None:
            setattr(R[a[0]], SLOT_NAMES[a[1]], R[a[2]])
    elif op == "clr":
        if isinstance(R[a[0]], Node):
            setattr(R[a[0]], SLOT_NAMES[a[1]], None)
    elif op == "load":
        if isinstance(R[a[0]], Node):
            R[a[2]] = getattr(R[a[0]], SLOT_NAMES[a[1]])
    elif op == "drop":
        R[a[0]] = None
    elif op == "wref":
        if isinstance(R[a[1]], Node):
            if a[3]:
                ref = WR(R[a[1]], on_callback)
                ref.wid, ref.handle = a[2], a[0] if a[3] == 2 else -1
                R[a[0]] = ref
            else:
                R[a[0]] = weakref.ref(R[a[1]])
    elif op == "wget":
        if isinstance(R[a[0]], weakref.ref):
            target = R[a[0]]()
            LOG.append("get %d %s" % (a[0], "none" if target is None else target.nid))
    elif op == "collect":
        return gc.collect(a[0])
    elif op == "gpop":
        if G:
            R[a[0]] = G.pop()
    elif op == "gclear":
        while G:
            G.pop()
    elif op == "saveall":
        gc.set_debug(gc.DEBUG_SAVEALL if a[0] else 0)
    elif op == "gfree":
        del gc.garbage[:]
    else:
        raise ValueError("unknown operation " + op)
    return None


def clean_up():
    """Frees whatever a program left, silently, so the next starts empty."""
    LOGGING[0] = False
    gc.set_debug(0)
    del gc.garbage[:]
    R[:] = [None] * gen.HANDLES
    for _ in range(100):
        G.clear()
        if gc.collect() == 0 and not G:
            break
    LOG.clear()
    DEATHS.clear()
    LOGGING[0] = True


def run(text, out):
    number, k = None, 0
    for line in text.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "program":
            number, k = words[1], 0
            clean_up()
            gc.freeze()
            out.append("program " + number)
            continue
        if words[0] == "end":
            continue
        k += 1
        LOG.clear()
        n = step(words[0], [int(w) for w in words[1:]])
        if n is not None:
            out.append("%d: collect %s -> %d" % (k, words[1], n))
            LOG.sort()
        out.extend("%d: %s" % (k, e) for e in LOG)
        LOG.clear()


def main():
    # PEP 442 finalizers and gc.collect() counting only what finalizers did
    # not resurrect: 3.9; three generations: up to 3.13 (3.14's incremental
    # collector gives collect(1) another meaning).
    if sys.implementation.name != "cpython" or not (3, 9) <= sys.version_info[:2] <= (3, 13):
        sys.exit("run.py needs CPython 3.9 to 3.13, not %s %s"
                 % (sys.implementation.name, sys.version.split()[0]))
    gc.disable()
    args = sys.argv[1:]
    if args and not args[0].startswith("--"):
        with open(args[0]) as f:
            text = f.read()
    else:
        import argparse
        ap = argparse.ArgumentParser()
        ap.add_argument("--seed", type=int, default=1)
        ap.add_argument("--count", type=int, default=100)
        ap.add_argument("--profile", default="mixed")
        ap.add_argument("--save")
        opts = ap.parse_args(args)
        text = gen.programs(opts.seed, opts.count, opts.profile)
        if opts.save:
            with open(opts.save, "w") as f:
                f.write(text)
    out = []
    run(text, out)
    sys.stdout.write("\n".join(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # no interpreter teardown: nothing more may run


if __name__ == "__main__":
    main()
