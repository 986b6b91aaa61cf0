#!/usr/bin/env python3
"""A document object model edited at random, CPython's side (tests/gc_diff/dom.c
is rcgc's): the same program, the same seeded generator, one event log.

    dom.py SEED OPS [DROP_WEIGHT [DESCEND [COLLECT_WEIGHT
                                    [THRESHOLD0 THRESHOLD1 [FREEZE_WEIGHT [INNER]]]]]]

Elements hold their children as a linked list (fc: first child, nx: next
sibling), a strong parent pointer (par), attributes (Attr, whose val may be
another element), listeners (Listener: a closure-like object holding its
element, and maybe a weak reference to another one). A weak-valued id index
(INDEX: a weak reference with a callback per element) finds elements. An
undo and a redo stack hold detached subtrees. Kinds 1-3 have finalizers:
1 logs what its index entry returns (and one in five keeps its first child
in POOL: in a collection, that resurrects it and all it reaches), 2
resurrects itself into POOL, 3 adds a new element to a document (it
allocates, in or out of a collection) or takes the first child off a
document's root. A listener's weak reference to another element may have
a callback, which takes the listener's element off its parent. Bulk
inserts add runs of leaves that a prune kills by counting, each death
nested in the one before (a Tag in each parent pointer logs after the rest
of the run: past 50 deaths, in the order CPython's trashcan gives). Checkpoints log the counts, statistics, the index's size,
and every thousand operations each generation's objects in their order
(a hash). DOM_TRACE in the environment logs count 0 after each operation.

Run it against rcgc's build: `dom.py ARGS > py.log; gc_diff_dom ARGS >
rc.log; cmp py.log rc.log` (test_gc_diff.c's dom_programs does, with
CPython 3.12's recorded logs when there is no python3.12).

Exact counts: only the objects rcgc's program has are made while the
program runs, all of them instances of __slots__ classes or weak
references (no list, dict or tuple: their free lists would skew count 0;
run.py's docstring), with the collector on at 700/10/10, after gc.freeze()
of everything else. weakref.ref(x, cb) takes a 2-tuple of arguments from
the free list and an object dying with n weak references a 2n-tuple:
the full collection that empties those free lists has them filled again
by the gc callback, which takes back the count of its fresh info dict
(as run.py's on_gc). That full collection also frees the free lists'
objects, each lowering count 0 while it is above 0, which rcgc (without
free lists) does not: kind 3's finalizer adds nothing during a full
collection ("fskip"), so that count 0 is 0 there on both sides (run.py's
"sched" profile does the same).
"""
import gc
import os
import sys
import weakref

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (the views of CPython 3.12's gc state)

MASK = (1 << 64) - 1
SEED = [0]
LOG = []
NDOCS = 3
STACK_CAP = 16
POOL_CAP = 12
MAX_WREFS = 8
TRACE = os.environ.get('DOM_TRACE') is not None
DUMP = os.environ.get('DOM_DUMP') is not None  # digests list the objects
EVERY = int(os.environ.get('DOM_EVERY', '1000'))  # operations between digests


def rnd(n):
    s = (SEED[0] * 6364136223846793005 + 1442695040888963407) & MASK
    SEED[0] = s
    return (s >> 33) % n


class Element:
    __slots__ = ("__weakref__", "attrs", "eid", "fc", "kind", "ls", "nx", "par")


class Attr:
    __slots__ = ("name", "nx", "val")


class Listener:
    __slots__ = ("el", "kind", "nx", "wr")


class Undo:
    __slots__ = ("a", "b", "op", "pa", "pb", "prev")


class Tag:
    """What a pruned child's parent pointer holds: its finalizer logs when
    the child's death drops it, after the child's next sibling's death (in
    order, or past 50 nested deaths as CPython's trashcan defers them)."""
    __slots__ = ("tid",)

    def __del__(self):
        LOG.append(f"fin T {self.tid}")


class Doc:
    __slots__ = ("did", "root")


def index_state(e):
    r = INDEX[e.eid]
    if r is None:
        return "gone"
    t = r()
    if t is None:
        return "dead"
    if t is e:
        return "self"
    return "other"


class LogEl(Element):
    __slots__ = ()

    def __del__(self):
        LOG.append(f"fin L {self.eid} {index_state(self)}")
        if INNER[0] and self.eid % INNER[0] == 3:
            if CBREFS:
                hide_weakref_tuples()
            LOG.append(f"  inner {gc.collect(self.eid // INNER[0] % 2)}")
        if self.eid % 5 == 0 and self.fc is not None and len(POOL) < POOL_CAP:
            POOL.append(self.fc)  # resurrects what the child reaches
            LOG.append(f"  keep {self.fc.eid}")


class ResEl(Element):
    __slots__ = ()

    def __del__(self):
        if len(POOL) < POOL_CAP:
            POOL.append(self)
            LOG.append(f"fin R {self.eid} res {len(POOL)}")
        else:
            LOG.append(f"fin R {self.eid} full")


class EditEl(Element):
    __slots__ = ()

    def __del__(self):
        d = DOCS[self.eid % NDOCS]
        if d is None:
            LOG.append(f"fin E {self.eid} nodoc")
            return
        if self.eid % 2 == 1:  # cuts the root's first child
            c = d.root.fc
            if movable(c):  # not while a prune retags it
                detach(c)
                LOG.append(f"fin E {self.eid} cut {c.eid}")
            c = None
            d = None
            return
        if CURGEN[0] == 2:  # see the docstring
            LOG.append(f"fin E {self.eid} fskip")
            d = None
            return
        if CBREFS:  # new_el may collect
            hide_weakref_tuples()
        t = new_el(0)
        r = d.root
        t.par = r
        t.nx = r.fc
        r.fc = t
        LOG.append(f"fin E {self.eid} add {t.eid}")
        if TRACE:
            LOG.append(f"c0 {R.GEN[0].count}")
        r = None
        t = None
        d = None


KINDS = [Element, LogEl, ResEl, EditEl]
INDEX = [None] * 200000
REFKEY = {}
POOL = []
DOCS = [None] * NDOCS
G = [0, 0, None, None, 0]  # next id, index size, undo top, redo top, next tag
CURGEN = [-1]  # the generation being collected
CBREFS = []  # the weak references of the obs_cb calls under way
INNER = [0]  # kind 1's finalizer of every INNER-th element collects (argv[9])


def idx_cb(r):
    k = REFKEY[id(r)]
    if INDEX[k] is r:
        INDEX[k] = None
        G[1] -= 1
        LOG.append(f"wcb {k}")
    else:
        LOG.append(f"wcb {k} stale")


def obs_cb(r):
    """The observed element died: one listener in three takes its own
    element off its parent (an edit from a callback, in a collection too)."""
    k = REFKEY[id(r)]
    LOG.append(f"obs {k}")
    if k % 3 == 0 and INDEX[k] is not None:
        CBREFS.append(r)
        e = INDEX[k]()
        if movable(e):
            detach(e)  # may free a parent whose finalizer collects
            LOG.append(f"  cut {k}")
        e = None
        CBREFS.pop()


def hide_weakref_tuples():
    """Before a collection from inside obs_cb (a finalizer of a death its
    edit caused, which collects or allocates): untracks the tuple in which PyObject_ClearWeakRefs holds
    the dying object's weak references (run.py's hide_weakref_tuple), which
    rcgc holds from C; tracked, it would let the scan move them about."""
    was = gc.isenabled()
    gc.disable()
    c = R.GEN[0].count
    for o in gc.get_objects(0):
        if type(o) is tuple:
            for x in o:
                for r in CBREFS:
                    if x is r:
                        R.UNTRACK(o)
    o = x = r = None
    R.GEN[0].count = c
    if was:
        gc.enable()


def fill_free_lists():
    """Stocks the free lists the program's CPython side takes from: tuples of
    1 to 20 items (weakref.ref's arguments, PyObject_ClearWeakRefs' 2n-tuple)
    and dicts (the gc callbacks' info), 50 of each, not 3 as run.py: deaths
    nested past 50 defer, with CPython's trashcan, the tuples and the info
    dict that die there, so that those do not reach their free list at once,
    and a fresh one (counted) would be taken."""
    keep = []
    size = 1
    while size <= 20:
        items = [None] * size
        k = 0
        while k < 50:
            keep.append(tuple(items))
            k += 1
        size += 1
    k = 0
    while k < 50:
        keep.append({})
        k += 1
    keep = None


def on_gc(phase, info):
    g = info["generation"]
    CURGEN[0] = g if phase == "start" else -1
    if phase == "start":
        LOG.append(f"gc start {g}")
        return
    LOG.append(f"gc stop {g} {info['collected']} {info['uncollectable']}")
    if TRACE:
        LOG.append(f"c0 {R.GEN[0].count - (g == 2)}")
    if g == 2:
        R.GEN[0].count -= 1
        c = R.GEN[0].count
        fill_free_lists()
        R.GEN[0].count = c


def new_el(kind):
    e = KINDS[kind]()
    e.attrs = e.fc = e.ls = e.nx = e.par = None
    k = G[0]
    G[0] = k + 1
    e.eid = k
    e.kind = kind
    r = weakref.ref(e, idx_cb)
    REFKEY[id(r)] = k
    INDEX[k] = r
    G[1] += 1
    r = None
    return e


def walk():
    """An element of a document: from its root, down a random path."""
    e = DOCS[rnd(NDOCS)].root
    while rnd(DESCEND[0]) != 0:
        c = e.fc
        if c is None:
            break
        k = rnd(4)
        while k > 0 and c.nx is not None:
            c = c.nx
            k -= 1
        e = c
        c = None
    return e


def pick():
    """An element: one the index finds (any live one: in a document, an
    undo entry, the pool, or garbage not collected yet), else walk()'s."""
    if rnd(2) == 0:
        tries = 0
        while tries < 6:
            r = INDEX[rnd(G[0])]
            if r is not None:
                e = r()
                if e is not None:
                    return e
            tries += 1
        r = None
    return walk()


def inside(t, x):
    """Whether t is x or below it (t's parent chain reaches x)."""
    while isinstance(t, Element):
        if t is x:
            return True
        t = t.par
    return False


def movable(e):
    return e is not None and isinstance(e.par, Element)


def attach(e, p):
    e.par = p
    e.nx = p.fc
    p.fc = e


def detach(e):
    p = e.par
    if p.fc is e:
        p.fc = e.nx
    else:
        c = p.fc
        while c.nx is not e:
            c = c.nx
        c.nx = e.nx
        c = None
    e.nx = None
    e.par = None
    p = None


def new_kind():
    k = rnd(10)
    return 0 if k < 5 else k - 6 if k > 6 else 1


def fill(e):
    """Attributes and listeners for a new element."""
    n = rnd(3)
    while n > 0:
        a = Attr()
        a.name = rnd(5)
        a.val = pick() if rnd(3) == 0 else None
        a.nx = e.attrs
        e.attrs = a
        a = None
        n -= 1
    n = rnd(3)
    while n > 0:
        li = Listener()
        li.el = e
        li.kind = rnd(3)
        li.wr = None
        t = pick()
        if t is not None:
            if rnd(2) == 0:
                li.wr = weakref.ref(t)
            elif weakref.getweakrefcount(t) < MAX_WREFS:
                w = weakref.ref(t, obs_cb)
                REFKEY[id(w)] = e.eid
                li.wr = w
                w = None
            t = None
        li.nx = e.ls
        e.ls = li
        li = None
        n -= 1


def push(u, which):
    """u onto the undo (2) or redo (3) stack, which keeps STACK_CAP entries."""
    u.prev = G[which]
    G[which] = u
    n = 1
    while u is not None and n < STACK_CAP:
        u = u.prev
        n += 1
    if u is not None:
        u.prev = None


def record(op, a, pa, b, pb):
    u = Undo()
    u.prev = None
    u.op = op
    u.a = a
    u.pa = pa
    u.b = b
    u.pb = pb
    push(u, 2)
    u = None
    G[3] = None


def op_insert():
    p = pick()
    if p is None:
        LOG.append("insert none")
        return
    e = new_el(new_kind())
    fill(e)
    attach(e, p)
    LOG.append(f"insert {e.eid} {p.eid}")
    e = None
    p = None


def op_remove():
    e = pick()
    if not movable(e):
        LOG.append("remove none")
        e = None
        return
    p = e.par
    detach(e)
    LOG.append(f"remove {e.eid}")
    record(0, e, p, None, None)
    e = None
    p = None


def op_move():
    e = pick()
    t = pick()
    if not movable(e) or t is None or inside(t, e):
        LOG.append("move none")
        e = None
        t = None
        return
    p = e.par
    detach(e)
    attach(e, t)
    LOG.append(f"move {e.eid} {t.eid}")
    record(1, e, p, e, t)
    e = None
    t = None
    p = None


def op_replace():
    e = pick()
    if not movable(e):
        LOG.append("replace none")
        e = None
        return
    n = new_el(new_kind())
    fill(n)
    if e.par is None:  # a finalizer moved it meanwhile
        LOG.append("replace gone")
        n = None
        e = None
        return
    p = e.par
    detach(e)
    attach(n, p)
    LOG.append(f"replace {e.eid} {n.eid}")
    record(2, e, p, n, p)
    e = None
    n = None
    p = None


def apply(u):
    """Detaches u.b, attaches u.a under u.pa (when still possible), then
    swaps the two halves: the entry now undoes what it did."""
    b = u.b
    if b is not None and movable(b):
        detach(b)
        LOG.append(f"  det {b.eid}")
    b = None
    a = u.a
    pa = u.pa
    if a is not None and a.par is None and not inside(pa, a):
        attach(a, pa)
        LOG.append(f"  att {a.eid} {pa.eid}")
    a = None
    pa = None
    t = u.a
    u.a = u.b
    u.b = t
    t = u.pa
    u.pa = u.pb
    u.pb = t
    t = None


def op_undo(src, dst):
    u = G[src]
    if u is None:
        LOG.append("undo none" if src == 2 else "redo none")
        return
    G[src] = u.prev
    u.prev = None
    LOG.append(f"{'undo' if src == 2 else 'redo'} {u.op}")
    apply(u)
    push(u, dst)
    u = None


def op_clear_undo():
    LOG.append("clear undo")
    G[2] = None


def op_drop_doc():
    drop_doc(rnd(NDOCS))


def drop_doc(d):
    doc = Doc()
    doc.did = d
    r = new_el(1)
    r.par = doc
    doc.root = r
    LOG.append(f"doc {d} {r.eid}")
    r = None
    DOCS[d] = doc
    doc = None


def op_event():
    e = pick()
    if e is None:
        LOG.append("event none")
        return
    LOG.append(f"event {e.eid}")
    c = e
    e = None
    while isinstance(c, Element):
        li = c.ls
        while li is not None:
            if li.kind == 1 and li.wr is not None:
                t = li.wr()
                LOG.append(f"  ev {c.eid} " + ("none" if t is None else f"{t.eid}"))
                t = None
            elif li.kind == 2:
                LOG.append(f"  ev {c.eid} off")
                c.ls = None
            li = li.nx
        c = c.par
    c = None


def op_attr():
    e = pick()
    if e is None:
        LOG.append("attr none")
        return
    a = Attr()
    a.name = 9
    a.val = pick()
    a.nx = e.attrs
    e.attrs = a
    LOG.append(f"attr {e.eid}")
    a = None
    e = None


def op_pool():
    if len(POOL) == 0:
        LOG.append("pool none")
        return
    e = POOL.pop()
    LOG.append(f"pool {e.eid}")
    p = pick()
    if p is not None and e.par is None and not inside(p, e):
        attach(e, p)
        LOG.append(f"  reuse {p.eid}")
    p = None
    e = None


def op_collect():
    g = rnd(3)
    n = gc.collect(g)
    LOG.append(f"collect {g} {n}")


def op_unlisten():
    e = pick()
    if e is None:
        LOG.append("unlisten none")
        return
    LOG.append(f"unlisten {e.eid}")
    e.ls = None
    e = None


def checkpoint(i):
    LOG.append(f"check {i} count {R.GEN[0].count} {R.GEN[1].count} {R.GEN[2].count}"
               f" index {G[1]} pool {len(POOL)} next {G[0]}")
    for g in range(3):
        s = R.STATS[g]
        LOG.append(f"  stats {g} {s.collections} {s.collected} {s.uncollectable}")
    s = None


def op_prune():
    """Drops an element's children: a run of leaves dies by counting, each
    death nested in the one before (past 50, CPython's trashcan)."""
    e = pick()
    LOG.append(f"prune {e.eid}")
    c = e.fc
    while c is not None:
        t = Tag()
        t.tid = G[4]
        G[4] += 1
        c.par = t
        t = None
        c = c.nx
    e.fc = None
    e = None


def op_bulk():
    """Many new leaves (kinds 0 and 1, no attributes or listeners) under one
    element: a prune then kills a long run."""
    p = pick()
    n = 40 + rnd(80)
    LOG.append(f"bulk {p.eid} {n}")
    while n > 0:
        e = new_el(rnd(2))
        attach(e, p)
        e = None
        n -= 1
    p = None


def op_freeze():
    gc.freeze()
    LOG.append(f"freeze {gc.get_freeze_count() - R.BASE_FROZEN[0]}")


def op_unfreeze():
    R.quiet_unfreeze()
    LOG.append(f"unfreeze {gc.get_freeze_count() - R.BASE_FROZEN[0]}")


def token(o):
    if isinstance(o, Element):
        return o.eid
    t = type(o)
    if t is Tag:
        return (-7 - 10 * o.tid) & MASK
    return (-1 if t is Attr else -2 if t is Listener else -3 if t is weakref.ref
            else -4 if t is Undo else -5 if t is Doc else -6) & MASK


def digest(g):
    """How many objects generation g holds, and an FNV-1a hash of them in
    their order (an element's id, the type of anything else); the runner's
    work is not counted (as run.py's hushed parts)."""
    was = gc.isenabled()
    gc.disable()
    c = R.GEN[0].count
    n = 0
    h = 14695981039346656037
    objs = gc.get_objects(g)
    toks = ":"  # the objects, with DOM_DUMP (a str: untracked)
    for o in objs:
        h = ((h ^ token(o)) * 1099511628211) & MASK
        n += 1
        if DUMP:
            toks += " %d" % (token(o) if token(o) < (1 << 63) else token(o) - (1 << 64))
    o = objs = None
    line = f"  gen {g} {n} {h:x}"  # format(h, "x") makes a bound method
    if DUMP:
        line += toks
    R.GEN[0].count = c
    if was:
        gc.enable()
    return line


# 4 and 5 are undo and redo (step); 7's, 11's, 13's and 14's weights may
# come from argv
OPS = [(op_insert, 30), (op_remove, 12), (op_move, 10), (op_replace, 8), (op_undo, 10),
       (None, 6), (op_clear_undo, 2), (op_drop_doc, 2), (op_event, 8),
       (op_attr, 5), (op_pool, 3), (op_collect, 2), (op_unlisten, 2),
       (op_freeze, 0), (op_unfreeze, 0), (op_prune, 1), (op_bulk, 1)]
WEIGHTS = [w for _, w in OPS]
TOTAL = [0]
DESCEND = [4]  # walk() goes down with probability 1 - 1 / DESCEND


def step():
    x = rnd(TOTAL[0])
    i = 0
    while x >= WEIGHTS[i]:
        x -= WEIGHTS[i]
        i += 1
    if i == 4:
        op_undo(2, 3)
    elif i == 5:
        op_undo(3, 2)
    else:
        OPS[i][0]()


def main():
    seed, nops = int(sys.argv[1]), int(sys.argv[2])
    if len(sys.argv) > 3:
        WEIGHTS[7] = int(sys.argv[3])
    if len(sys.argv) > 4:
        DESCEND[0] = int(sys.argv[4])
    if len(sys.argv) > 5:
        WEIGHTS[11] = int(sys.argv[5])
    R.exact_setup()
    SEED[0] = seed
    gc.disable()
    gc.collect()
    fill_free_lists()
    gc.callbacks.append(on_gc)
    gc.freeze()
    R.exact_start()
    if len(sys.argv) > 6:
        gc.set_threshold(int(sys.argv[6]), int(sys.argv[7]), int(sys.argv[7]))
    if len(sys.argv) > 8:
        WEIGHTS[13] = WEIGHTS[14] = int(sys.argv[8])
    if len(sys.argv) > 9:
        INNER[0] = int(sys.argv[9])
    TOTAL[0] = sum(WEIGHTS)
    gc.enable()
    R.live()
    d = 0
    while d < NDOCS:
        drop_doc(d)
        d += 1
    i = 0
    while i < nops:
        step()
        i += 1
        if TRACE:
            LOG.append(f"c0 {R.GEN[0].count}")
        if i % 100 == 0:
            checkpoint(i)
        if i % EVERY == 0:
            LOG.append(digest(0))
            LOG.append(digest(1))
            LOG.append(digest(2))
    LOG.append("end")
    d = 0
    while d < NDOCS:
        DOCS[d] = None
        d += 1
    G[2] = None
    G[3] = None
    while len(POOL) > 0:
        POOL.pop()
    R.quiet_unfreeze()
    LOG.append(f"final collect {gc.collect()}")
    checkpoint(nops)
    LOG.append(digest(2))
    gc.disable()
    sys.stdout.write("\n".join(LOG) + "\n")


main()
