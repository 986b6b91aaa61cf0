#!/usr/bin/env python3
"""Runs gen.py programs in CPython and prints their event logs.

    run.py FILE                      programs read from FILE
    run.py --seed S --count N [--profile P] [--save FILE]
                                     programs made by gen.py (and saved)

For each program: "program N", then one line per event, "K: EVENT", where K
is the operation's line number within the program (1 = first operation):

    fin ID            the finalizer (__del__) of node ID ran
    inner N           a finalizer's or callback's gc.collect() returned N (0
                      during a collection)
    cb ID             the callback of weak reference ID ran
    see H ID|none     what weak reference H returned, for every handle H
                      holding one, seen from each callback and from the
                      finalizers that only log (mode 1): in a collection,
                      every weak reference to its garbage is already clear
    death ID          node or leaf ID died (its references were dropped)
    get H ID|none     what weak reference H returned
    gc start G        a collection of generation G starts (gc.callbacks)
    gc stop G C U     it stops, having collected C and found U uncollectable
    collect G -> N    gc.collect(G) returned N
    count C0 C1 C2    gc.get_count()
    frozen N          gc.get_freeze_count(), less the run's own objects
    stats G N C U     gc.get_stats()[G]: collections, collected, uncollectable
    gen G N: IDS      gc.get_objects(G): how many, and the ids of its nodes
                      in its order (allocation order, as earlier collections
                      left it: rcgc keeps CPython's)
    garbage N N: IDS  len(gc.garbage) (twice: the driver's walk and count),
                      its nodes by id and weak references as wID, in order
    objects N: IDS    gc.get_objects(): the program's nodes and weak
                      references, in order
    referrers H N: IDS  gc.get_referrers(R[H]): the program's, in order
    wcount H N        weakref.getweakrefcount(R[H])
    line ID           DEBUG_COLLECTABLE wrote a line for ID ("log" profile:
                      sys.stderr is replaced, gen.py's logmode)
    lskip, lmax       a log action skipped: it could free the object being
                      written, or made too many objects already
    lines N           a collection wrote N lines (at its stop, "log" profile)

Order: the log is in the order things happened. Outside collections the
spec fixes it (finalizer, then callbacks newest first, then the death and
the deaths it causes, slot 0 first). Inside one collection it follows the
generation lists (allocation order, moved about by earlier collections:
survivors in CPython's scan order), which rcgc keeps as CPython does, so
the events of a collection compare in their order too: which weak
reference is cleared and which callback and finalizer runs first, and the
order of the deaths. That holds for automatic collections too, which run
right after the allocation of a node or weak reference.

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
The collector is off (gc.disable()) unless a program turns it on.

Exact counts. A program using an operation of gen.py's "auto" or "sched"
profiles (enable, thresh, count, freeze, unfreeze, fcount, stats, gens, tree,
cbmode) needs CPython's gc
state to be what rcgc's is, a fresh heap holding only the program's nodes and
weak references: the same counts, so that automatic collections start at
the same allocations; the same generation lists and long-lived figures, so
that they choose the same generation. This needs CPython 3.12, whose timing
rcgc has: the allocation counts and schedules the collection, which runs at
the next bytecode boundary (the end of the call that made the node or weak
reference), with the new object in it; 3.11 runs it inside the allocation,
before the object is tracked. It reaches into the gc state with ctypes
(GCState below):

  - The runner's own work between operations (making tags, formatting the
    log, calling gc functions that take a tuple of arguments) runs "hushed":
    with the collector off, and count 0 put back afterwards to what it was,
    whatever that work allocated. Only the part of an operation rcgc also
    does runs "live": the node or weak reference allocation, slot stores,
    drops, collections. Live code, and the finalizers and callbacks it runs,
    allocates no container besides the program's objects: no tuple (a call
    of str() or of a class with arguments builds one: format with "%d" % x,
    call classes with a prebuilt argument tuple), no enumerate, no list
    slice. Even a short-lived one counts: a tuple, list or dict goes to
    CPython's free list when it dies, not through PyObject_GC_Del, so a
    fresh one (taken when its free list is empty) adds 1 to count 0 that
    its death never takes back, and one from the free list adds nothing.
  - Tags' Death weak references and prebuilt argument tuples are untracked,
    so that the generation lists hold nothing rcgc's do not.
  - CPython allocates two such containers itself. An object dying with n > 1
    weak references with callbacks has PyObject_ClearWeakRefs hold them in
    a tuple of 2n items: live() leaves a tuple in the free list of each such
    size (gen.py allows at most 10 callbacks, 20 items, the largest size
    with a free list), and a callback that collects first untracks the
    tuple, which would otherwise be one more survivor of that collection
    (and of long_lived_total) than rcgc, holding its weak references in C,
    has. The collector hands gc.callbacks a dict, which comes
    from the free list, where the previous collection's went, except at
    the "stop" of a full collection: that collection has just emptied the
    free lists (clear_freelists), so the dict is fresh and counted, and
    on_gc takes that count back, and fills the tuple free lists again.
    Without it, count 0 would stay one above rcgc's (which has no free
    lists) after every full collection. The same clear_freelists frees the
    lists' objects through PyObject_GC_Del, which lowers count 0 if it is
    above 0: it is 0 there (reset when the collection started) unless
    something the collection ran allocated a tracked object, so the "sched"
    profile's finalizers that allocate (modes 9-11) do not in a full
    collection (they log "fskip" on both sides).
  - Each program starts from counts, statistics and long-lived figures of
    0 (written), thresholds 700, 10, 10 and the collector off. The objects
    the runner froze at the start stay frozen: "frozen" leaves them out, and
    unfreeze moves only what the program froze (the part of the permanent
    list after them) back to generation 2, as gc.unfreeze() would.
  - With another python3, run.py exits with status 77 (also for programs
    of the "log" profile, whose DEBUG_COLLECTABLE lines and the user code
    they run are written where 3.12 writes them), and the test compares
    with CPython 3.12's recorded log of the same programs, or says it could
    not compare (test_gc_diff.c).
"""
import ctypes
import gc
import os
import struct
import sys
import weakref

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gen  # noqa: E402

LOG = []
LOGGING = [True]
EXACT = [False]  # the current program needs exact counts


class Death(weakref.ref):
    """Watches a tag; its callback logs the death of node or leaf nid."""
    __slots__ = ("nid",)


def on_death(ref):
    if LOGGING[0]:
        LOG.append("death %d" % ref.nid)
        if ref.nid in TOGGLERS:  # mode 7: its death flips SAVEALL
            gc.set_debug(gc.get_debug() ^ gc.DEBUG_SAVEALL)


TOGGLERS = set()  # the nodes of mode 7
WNAME = {}  # id(weak reference) -> its name: the newest at an address wins
# id(node) -> its nid, the newest at an address winning: the collector's
# tp_clear empties every slot, nid too, of garbage that stays alive (kept by
# objects SAVEALL saved after a death turned it on); the driver's clear
# leaves nid
NID = {}


TAG_CODE = compile("0", "<tag>", "eval")
# replace()'s first call makes the tuple of its keyword names, a tracked
# object kept for good: made now, it is frozen with the rest of the runner.
TAG_CODE.replace(co_name="tag")
DEATHS = []  # the Death weak references of the current program


def mortal(nid):
    """A new untracked object whose death is logged as nid's."""
    tag = TAG_CODE.replace(co_name="tag%d" % nid)
    ref = Death(tag, on_death)
    ref.nid = nid
    NID[id(tag)] = nid  # a leaf's name, where a weak reference shows it
    DEATHS.append(untracked(ref))
    return tag


class Node:
    # sorted by CPython: _tag, fm, nid, s0..s3 is the order slots are cleared
    __slots__ = ("__weakref__", "_tag", "fm", "nid", "s0", "s1", "s2", "s3")


def log_view():
    """Logs what each weak reference held in a handle returns now."""
    for h in range(gen.HANDLES):  # range and its iterator are not containers
        ref = R[h]
        if isinstance(ref, weakref.ref):
            target = ref()
            LOG.append("see %d " % h + ("none" if target is None else "%d" % NID[id(target)]))
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
            LOG.append("inner %d" % gc.collect())
        elif self.fm == 8:
            if EXACT[0]:
                LOG.append("fcnt %d" % GEN[0].count + " %d" % GEN[1].count
                           + " %d" % GEN[2].count)
        elif not LOGGING[0]:
            return  # clean_up: as the driver, whose heap is going
        elif self.fm >= 20:
            run_script(self.fm - 20, self)
        elif self.fm == 5:  # a weak reference to itself into handle 7
            put(7, new_wr(self, self.nid + 1000, 1, 0, 7))
        elif self.fm == 6:
            gc.set_debug(gc.get_debug() ^ gc.DEBUG_SAVEALL)
        elif self.fm == 12:
            gc.freeze()
        elif self.fm == 13:
            quiet_unfreeze()
        elif self.fm >= 9 and CURGEN[0] == 2:
            # CPython's clear_freelists, at the end of a full collection,
            # lowers a count 0 that allocations inside it raised
            LOG.append("fskip")
        elif self.fm == 9:  # a new node, dropped
            x = fin_node(self.nid + 3000)
            del x
        elif self.fm == 10:  # a new node, into handle 6
            put(6, fin_node(self.nid + 3000))
        elif self.fm == 11:  # a new cycle, dropped
            x = fin_node(self.nid + 3000)
            y = fin_node(self.nid + 3001)
            x.s0 = y
            y.s0 = x
            del x, y


def quiet_unfreeze():
    """unfreeze() from live code: what ctypes allocates does not count."""
    was = gc.isenabled()
    gc.disable()
    c = GEN[0].count
    unfreeze()
    GEN[0].count = c
    if was:
        gc.enable()


def fin_node(nid):
    """A new node made by a finalizer: its tag made hushed."""
    gc.disable()
    c = GEN[0].count
    tag = mortal(nid)
    GEN[0].count = c
    if ENABLED[0]:
        gc.enable()
    return new_node(nid, 0, tag)


class WR(weakref.ref):
    # handle: the one to empty, or -1; script: the "active" profile's, or 0
    __slots__ = ("wid", "handle", "collects", "act", "p", "script")


def set_wr(ref, wid, handle, collects, script):
    """The wref operation's settings of a WR, without an action (called
    with its arguments one by one: a call with *args builds a tuple)."""
    ref.wid, ref.handle, ref.collects = wid, handle, collects
    ref.act = ref.p = 0
    ref.script = script


# The wref operation's settings of the WR it is making: the collection its
# allocation sets off runs before the next line (CPython 3.12's timing), and
# its finalizers or callbacks may kill the target (finalizer mode 10 stores
# into a handle), whose callback then finds the WR without them; in rcgc the
# weak reference has them from the start.
MAKING_WR = [0, -1, False, 0]
WR_ARGS = []


OBJNAME = {}  # id(node or weak reference) -> its name in "line" events (newest wins)


def new_wr(target, wid, cb, p, h):
    """A weak reference named wid to target with callback kind cb (gen.py),
    its operand p, made for handle h."""
    if cb:
        ref = WR(target, on_callback)
        ref.wid, ref.handle = wid, h if cb == 2 else -1
        ref.collects = cb == 3
        ref.act, ref.p = (cb if 4 <= cb < 20 else 0), p
        ref.script = cb - 20 if cb >= 20 else 0
    else:
        ref = weakref.ref(target)
    WNAME[id(ref)] = wid
    OBJNAME[id(ref)] = "w%d" % wid
    return ref


def name_of(o):
    if isinstance(o, Node):
        return " %d" % NID[id(o)]
    if isinstance(o, weakref.ref) and type(o) is not Death:
        return " w%d" % WNAME.get(id(o), -1)
    return " ?"


def is_program(o):
    return isinstance(o, Node) or type(o) is WR or (type(o) is weakref.ref and id(o) in WNAME)


def on_callback(ref):
    try:
        ref.wid
    except AttributeError:  # the wref operation's own, whose collection runs now
        set_wr(ref, MAKING_WR[0], MAKING_WR[1], MAKING_WR[2], MAKING_WR[3])
    LOG.append("cb %d" % ref.wid)
    log_view()
    if ref.handle >= 0 and R[ref.handle] is ref:
        R[ref.handle] = None
    if ref.collects:
        hide_weakref_tuple(ref)
        LOG.append("inner %d" % gc.collect())
    act = ref.act
    if not LOGGING[0]:
        return
    if act:  # the stores below may run a finalizer that collects
        hide_weakref_tuple(ref)
    if act == 4:
        if isinstance(R[ref.p], Node):
            put((ref.p + 1) % gen.HANDLES, new_wr(R[ref.p], ref.wid + 500, 1, 0, -1))
    elif act == 5:
        put(ref.p, new_cycle(ref.wid + 1500))  # no local holds it
    elif act == 6:
        R[ref.p] = None
    if ref.script:
        hide_weakref_tuple(ref)  # its actions may collect
        run_script(ref.script, ref)


def on_gc(phase, info):
    """gc.callbacks: logs each collection's start and stop."""
    CURGEN[0] = info["generation"] if phase == "start" else -1
    if not LOGGING[0]:
        return
    if phase == "start":
        LOG.append("gc start %d" % info["generation"])
        LINES[0] = 0
    else:
        LOG.append("gc stop %d" % info["generation"] + " %d" % info["collected"]
                   + " %d" % info["uncollectable"])
        if LOGACT:
            LOG.append("lines %d" % LINES[0])
        if EXACT[0] and info["generation"] == 2:
            GEN[0].count -= 1  # info was a fresh dict (see the docstring)
            # clear_freelists emptied the tuple free lists live() filled: an
            # object dying later in this operation with several callbacks
            # would take a fresh (counted) tuple
            c = GEN[0].count
            fill_tuple_free_lists()
            GEN[0].count = c
    m = CBMODE[0]
    if m & 1:
        LOG.append("gcount %d" % GEN[0].count + " %d" % GEN[1].count + " %d" % GEN[2].count)
    if m & 2:
        LOG.append("inner %d" % gc.collect())
    if m & 64:
        for g in range(3):
            st = STATS[g]
            LOG.append("gstats %d" % g + " %d" % st.collections + " %d" % st.collected
                       + " %d" % st.uncollectable)
        del st
    if m & 16 and phase == "start":
        gc.freeze()
    if m & 32 and phase != "start":
        quiet_unfreeze()
    if (m & 4 and phase == "start") or (m & 8 and phase != "start"):
        c = GEN[0].count
        nid = CBID[0]
        CBID[0] = nid + 2
        t1 = mortal(nid)
        t2 = mortal(nid + 1)
        GEN[0].count = c
        x = new_node(nid, 0, t1)
        y = new_node(nid + 1, 0, t2)
        del t1, t2
        x.s0 = y
        y.s0 = x
        del x, y


CBMODE = [0]
CURGEN = [-1]
CBID = [20000]
TREE = [None] * 1300
TAGBUF = [None] * 1300


SLOT_NAMES = ("s0", "s1", "s2", "s3")
R = [None] * gen.HANDLES  # the handles
TAGS = []  # a new node's tag, on its way


def put(h, v):
    """R[h] = v, then the old value dropped, v held by R[h] alone, as the
    driver's RC_SET: `R[h] = f()` holds f()'s value on the stack while the
    old one dies, or not, as CPython 3.12 has specialized the store
    (STORE_SUBSCR_LIST_INT steals it), and user code that death runs may
    store into the same handle. put's callers pass the value straight (a
    call moves its arguments into the frame)."""
    old = R[h]
    R[h] = v
    del v
    del old
G = []                    # objects finalizers resurrected

# ----------------------------------------------- DEBUG_COLLECTABLE's lines

LOGACT = []     # the last logmode's operands (A P Q X K), empty without one
LINES = [0]     # lines written in the current collection
LMADE = [0, 0]  # new nodes and weak references log actions made
LMAX = 6
LBUF = [""]     # what the writer has of a line


class Writer:
    """sys.stderr: the gc module writes each "gc: collectable <T ADDR>" line
    through write, in one or several calls; other text goes to stderr."""

    def write(self, s):
        LBUF[0] += s
        while "\n" in LBUF[0]:
            line, _, rest = LBUF[0].partition("\n")
            LBUF[0] = rest
            if "collectable" in line and LOGGING[0] and LOGACT:
                on_line(int(line.rsplit(" ", 1)[1].rstrip(">"), 16))
            else:
                sys.__stderr__.write(line + "\n")
        return len(s)

    def flush(self):
        sys.__stderr__.flush()


def reaches(v, c):
    """Whether the object at address c is v or reachable from v through
    slots: only then can dropping v free it (see gen.py)."""
    seen = set()
    todo = [v]
    while todo:
        o = todo.pop()
        if id(o) == c:
            return True
        if isinstance(o, Node) and id(o) not in seen:
            seen.add(id(o))
            for name in SLOT_NAMES:
                todo.append(getattr(o, name, None))
    return False


def droppable(v, c):
    if reaches(v, c):
        LOG.append("lskip")
        return False
    return True


def on_line(c):
    """The log function: one line, for the garbage object at address c."""
    LINES[0] += 1
    LOG.append("line " + OBJNAME.get(c, "?"))
    a, p, q, x, k = LOGACT
    if k and LINES[0] != k:
        return
    if a == 9:
        a = (LINES[0] - 1) % 9
    if a == 1:
        if isinstance(R[p], weakref.ref) and droppable(R[q], c):
            put(q, R[p]())
    elif a == 2:
        if isinstance(R[p], weakref.ref) and R[p]() is not None:
            G.append(R[p]())
    elif a == 3:
        if isinstance(R[p], weakref.ref) and R[p]() is not None \
                and droppable(getattr(R[p](), SLOT_NAMES[x], None), c):
            if LMADE[0] == LMAX:
                LOG.append("lmax")
                return
            LMADE[0] += 1
            TAGS.append(mortal(4000 + LMADE[0]))
            setattr(R[p](), SLOT_NAMES[x], new_node(4000 + LMADE[0], q % 4, TAGS.pop()))
    elif a == 4:
        if isinstance(R[p], weakref.ref) and R[p]() is not None and droppable(R[q], c):
            if LMADE[1] == LMAX:
                LOG.append("lmax")
                return
            LMADE[1] += 1
            put(q, new_wr(R[p](), 1600 + LMADE[1], x % 3, 0, q))
    elif a == 5:  # X odd: handle Q (where action 1 resurrects), else P
        h = q if x & 1 else p
        if droppable(R[h], c):
            R[h] = None
    elif a == 6:
        if isinstance(R[p], weakref.ref) and R[p]() is not None \
                and droppable(getattr(R[p](), SLOT_NAMES[x], None), c):
            setattr(R[p](), SLOT_NAMES[x], None)
    elif a == 7:
        LOG.append("inner %d" % gc.collect())
    elif a == 8:
        gc.set_debug(gc.get_debug() ^ gc.DEBUG_SAVEALL)

# ------------------------------------------- the "active" profile's scripts

SCRIPTS = [[] for _ in range(16)]  # script S: its act lines' operands (S A X Y Z)
AMADE = [0, 0]  # objects actions made, and weak references with callbacks among them
AMAX = 24
ACBMAX = 4


def run_script(s, me):
    """Runs script s; me: the node being finalized or the weak reference
    whose callback runs. Live code: no container is made (run.py's
    docstring), every local is dropped where the driver drops its
    reference."""
    script = SCRIPTS[s]
    for i in range(len(script)):  # a list iterator is a container
        act(script[i], me)
    del script


def target(k, me):
    """An action's object K (gen.py)."""
    if k < gen.HANDLES:
        return R[k]
    if k == 8:
        return me
    if k == 9:
        return G[-1] if G else None
    return getattr(me, SLOT_NAMES[k - 10], None) if isinstance(me, Node) else None


def place(d, z, v, me):
    """Stores v (which the caller keeps holding) at destination d (gen.py)."""
    if d < gen.HANDLES:
        put(d, v)
    elif d == 8:
        G.append(v)
    elif d == 9 and isinstance(me, Node):
        setattr(me, SLOT_NAMES[z], v)


def can_make(n, cb):
    """Whether an action may make n more objects (cb: one is a weak
    reference with a callback); logs why not."""
    if EXACT[0] and CURGEN[0] == 2:
        LOG.append("askip")  # clear_freelists would lower count 0 (gen.py)
        return False
    if AMADE[0] + n > AMAX or (cb and AMADE[1] == ACBMAX):
        LOG.append("amax")
        return False
    AMADE[0] += n
    if cb:
        AMADE[1] += 1
    return True


def act_node(nid, mode):
    """A new node made by an action: its tag made hushed."""
    c = GEN[0].count if EXACT[0] else 0
    gc.disable()
    tag = mortal(nid)
    if EXACT[0]:
        GEN[0].count = c
    if ENABLED[0]:
        gc.enable()
    return new_node(nid, mode, tag)


def act_wr(t, wid, cb, h):
    """A new weak reference made by an action (cb: gen.py's kinds 0, 1, 2,
    20 + S; h: the handle it goes to, or -1), made as the wref operation
    makes one (MAKING_WR, kept for the weak reference being made meanwhile)."""
    c = GEN[0].count if EXACT[0] else 0
    gc.disable()
    args = untracked((t, on_callback) if cb else (t,))
    if EXACT[0]:
        GEN[0].count = c
    if ENABLED[0]:
        gc.enable()
    m0 = MAKING_WR[0]
    m1 = MAKING_WR[1]
    m2 = MAKING_WR[2]
    m3 = MAKING_WR[3]
    MAKING_WR[0] = wid
    MAKING_WR[1] = h if cb == 2 else -1
    MAKING_WR[2] = False
    MAKING_WR[3] = cb - 20 if cb >= 20 else 0
    ref = WR(*args) if cb else weakref.ref(*args)
    if cb:
        set_wr(ref, wid, h if cb == 2 else -1, False, cb - 20 if cb >= 20 else 0)
    MAKING_WR[0] = m0
    MAKING_WR[1] = m1
    MAKING_WR[2] = m2
    MAKING_WR[3] = m3
    del args
    WNAME[id(ref)] = wid
    OBJNAME[id(ref)] = "w%d" % wid
    return ref


def act(a, me):
    """One action, a: (S, A, X, Y, Z) (gen.py)."""
    op = a[1]
    x = a[2]
    y = a[3]
    z = a[4]
    if op == 0 or op == 1:
        if can_make(op + 1, False):
            nid = 5001 + AMADE[0] - op - 1
            n = act_node(nid, x)
            if op == 1:
                m = act_node(nid + 1, 0)
                n.s0 = m
                m.s0 = n
                del m
            place(y, z, n, me)
            del n
    elif op == 2:
        o = target(x, me)
        v = target(y, me)
        if isinstance(o, Node) and v is not None:
            setattr(o, SLOT_NAMES[z], v)
        del o
        del v
    elif op == 3:
        o = target(x, me)
        if isinstance(o, Node):
            setattr(o, SLOT_NAMES[z], None)
        del o
    elif op == 4:
        R[x] = None
    elif op == 5:
        if G:
            G.pop()
    elif op == 6:
        t = target(x, me)
        if (isinstance(t, Node) or type(t) is type(TAG_CODE)) and can_make(1, y != 0):
            r = act_wr(t, 5000 + AMADE[0], y, z if z < gen.HANDLES else -1)
            place(z, 0, r, me)
            del r
        del t
    elif op == 7:
        LOG.append("inner %d" % gc.collect(x))
    elif op == 8:
        G.append(me)
    elif op == 9:
        log_view()
    elif op == 10:
        o = target(x, me)
        if isinstance(o, Node):
            put(y, getattr(o, SLOT_NAMES[z], None))
        del o
    elif op == 11:
        w = R[x]
        if isinstance(w, weakref.ref):
            put(y, w())
        del w
    elif op == 12:
        if x < 2:
            ENABLED[0] = x == 1
        if x == 0:
            gc.disable()
        elif x == 1:
            gc.enable()
        elif x == 2:
            gc.freeze()
        else:
            quiet_unfreeze()

# ------------------------------------------------------------ exact counts

EXACT_OPS = {"tree", "cbmode", "enable", "thresh", "count", "freeze", "unfreeze", "fcount",
             "stats", "gens"}


class GCHead(ctypes.Structure):  # PyGC_Head; prev's 2 low bits are flags
    _fields_ = [("next", ctypes.c_size_t), ("prev", ctypes.c_size_t)]


class Generation(ctypes.Structure):
    _fields_ = [("head", GCHead), ("threshold", ctypes.c_int), ("count", ctypes.c_int)]


class GenerationStats(ctypes.Structure):
    _fields_ = [("collections", ctypes.c_ssize_t), ("collected", ctypes.c_ssize_t),
                ("uncollectable", ctypes.c_ssize_t)]


class GCState(ctypes.Structure):
    """struct _gc_runtime_state, Include/internal/pycore_gc.h in 3.12."""
    _fields_ = [("trash_delete_later", ctypes.c_void_p),
                ("trash_delete_nesting", ctypes.c_int), ("enabled", ctypes.c_int),
                ("debug", ctypes.c_int), ("generations", Generation * 3),
                ("generation0", ctypes.c_void_p), ("permanent", Generation),
                ("stats", GenerationStats * 3), ("collecting", ctypes.c_int),
                ("garbage", ctypes.c_void_p), ("callbacks", ctypes.c_void_p),
                ("long_lived_total", ctypes.c_ssize_t),
                ("long_lived_pending", ctypes.c_ssize_t)]


# Views made once, before anything is frozen, as reading or writing through
# them allocates nothing tracked.
STATE = []         # the gc state
GEN = []           # the three generations, then the permanent one
STATS = []         # the three generations' statistics
SAVED = [0]        # count 0 when the runner last hushed
ENABLED = [False]  # the program's gc.enable()/gc.disable()
BOUNDARY = [0, None]  # the last object the runner froze: its gc head, itself
BASE_FROZEN = [0]  # how many objects the runner froze
UNTRACK = ctypes.pythonapi.PyObject_GC_UnTrack
UNTRACK.argtypes, UNTRACK.restype = [ctypes.py_object], None


def exact_setup():
    """Finds CPython 3.12's gc state inside the interpreter's, by the two
    lists it points to, and makes the views."""
    if STATE:
        return
    if sys.version_info[:2] != (3, 12):
        sys.stderr.write("run.py: automatic collections need CPython 3.12, not %s\n"
                         % sys.version.split()[0])
        sys.exit(77)  # test_gc_diff.c's PYTHON_UNSUITED
    get = ctypes.pythonapi.PyInterpreterState_Get
    get.restype = ctypes.c_void_p
    interp = get()
    at = ctypes.string_at(interp, 1 << 14).find(struct.pack("@PP", id(gc.garbage),
                                                            id(gc.callbacks)))
    state = GCState.from_address(interp + at - GCState.garbage.offset) if at >= 0 else None
    if state is None or state.generation0 != ctypes.addressof(state.generations[0]) \
            or [g.threshold for g in state.generations] != list(gc.get_threshold()):
        sys.exit("run.py: CPython's gc state is not where expected")
    STATE.append(state)
    GEN[:] = [state.generations[i] for i in range(3)] + [state.permanent]
    STATS[:] = [state.stats[i] for i in range(3)]


def untracked(obj):
    """obj, out of the generation lists in an exact program."""
    if EXACT[0]:
        UNTRACK(obj)
    return obj


def hush():
    """The runner's own work follows: the collector off, count 0 saved."""
    if EXACT[0]:
        SAVED[0] = GEN[0].count
        gc.disable()


def live():
    """The program's work follows: count 0 as saved, the collector as the
    program set it, and a tuple in each free list PyObject_ClearWeakRefs may
    take from (see the docstring)."""
    if EXACT[0]:
        fill_tuple_free_lists()
        GEN[0].count = SAVED[0]
        if ENABLED[0]:
            gc.enable()


def fill_tuple_free_lists():
    """Three tuples into each free list PyObject_ClearWeakRefs may take
    from: objects dying with several callbacks may nest (the "active"
    profile's callbacks drop references)."""
    for size in range(2, 2 * gen.MAX_CALLBACKS + 1, 2):
        a = (None,) * size
        b = (None,) * size
        c = (None,) * size
        del a, b, c  # freed at once, into the free list


def hide_weakref_tuple(ref):
    """Untracks the tuple in which PyObject_ClearWeakRefs holds ref and the
    other weak references of an object dying with several callbacks, before
    ref's callback collects (see the docstring): rcgc holds them from C, a
    reference from outside, where the tracked tuple's are inside young and
    let a scan move them about (the "saveall" profile's order of objects)."""
    hush()
    for o in gc.get_objects():
        if type(o) is tuple and ref in o:
            UNTRACK(o)
    live()


def exact_start():
    """The gc state of a fresh rcgc heap, right after the program start's
    gc.freeze(); the program starts hushed."""
    BOUNDARY[0] = GEN[3].head.prev
    BOUNDARY[1] = ctypes.cast(BOUNDARY[0] + ctypes.sizeof(GCHead), ctypes.py_object).value
    BASE_FROZEN[0] = gc.get_freeze_count()
    gc.set_threshold(700, 10, 10)
    for s in STATS:
        s.collections = s.collected = s.uncollectable = 0
    STATE[0].long_lived_total = STATE[0].long_lived_pending = 0
    ENABLED[0] = False
    for g in GEN[:3]:
        g.count = 0
    hush()


def unfreeze():
    """gc.unfreeze() for what the program froze: the permanent list's part
    after BOUNDARY goes to the end of generation 2, as gc_list_merge does."""
    perm, old = GEN[3].head, GEN[2].head
    boundary = GCHead.from_address(BOUNDARY[0])
    if boundary.next == ctypes.addressof(perm):
        return
    first_at, last_at, tail_at = boundary.next, perm.prev, old.prev
    first, last, tail = (GCHead.from_address(a) for a in (first_at, last_at, tail_at))
    boundary.next, perm.prev = ctypes.addressof(perm), BOUNDARY[0]
    tail.next, first.prev = first_at, (first.prev & 3) | tail_at
    last.next, old.prev = ctypes.addressof(old), last_at


# ------------------------------------------------------------- operations

def new_cycle(nid):
    """Node nid, in a cycle with node nid + 1 (both without finalizers)."""
    a = new_node(nid, 0, mortal(nid))
    b = new_node(nid + 1, 0, mortal(nid + 1))
    a.s0, b.s0 = b, a
    return a


def new_plain(nid):
    """A node without tag or finalizer: its death is not seen (the driver's
    PNode has no clear, finalizer or release, so rcgc may sweep it)."""
    n = Node()
    n.nid, n.fm, n._tag = nid, 0, None
    NID[id(n)] = nid
    OBJNAME[id(n)] = "%d" % nid
    n.s0 = n.s1 = n.s2 = n.s3 = None
    return n


def new_node(nid, mode, tag):
    if mode == 7:
        TOGGLERS.add(nid)
    n = FNode() if mode and mode != 7 else Node()
    n.nid, n.fm = nid, mode
    NID[id(n)] = nid
    OBJNAME[id(n)] = "%d" % nid
    n.s0 = n.s1 = n.s2 = n.s3 = None
    n._tag = tag
    return n


def step(op, a):
    """Runs one operation, called hushed and returning hushed; its events go
    to LOG."""
    if op == "new":
        TAGS.append(mortal(a[1]))  # no local holds it: the node alone does
        live()
        put(a[0], new_node(a[1], a[2], TAGS.pop()))
        hush()
    elif op == "leaf":
        TAGS.append(mortal(a[1]))
        live()
        put(a[0], TAGS.pop())
        hush()
    elif op == "wref":
        if isinstance(R[a[1]], Node):
            if len(a) > 4:  # the "saveall" profile's
                live()
                put(a[0], new_wr(R[a[1]], a[2], a[3], a[4], a[0]))
                hush()
                return
            WR_ARGS.append(untracked((R[a[1]], on_callback) if a[3] else (R[a[1]],)))
            MAKING_WR[:] = a[2], a[0] if a[3] == 2 else -1, a[3] == 3, max(a[3] - 20, 0)
            live()
            # the call holds the only reference to its arguments: when the
            # collection runs, the target has only the program's, as in rcgc
            ref = WR(*WR_ARGS.pop()) if a[3] else weakref.ref(*WR_ARGS.pop())
            if a[3]:
                set_wr(ref, MAKING_WR[0], MAKING_WR[1], MAKING_WR[2], MAKING_WR[3])
            OBJNAME[id(ref)] = "w%d" % a[2]
            WNAME[id(ref)] = a[2]  # for gdump (the "active" profile)
            old = R[a[0]]  # as put: the handle alone holds ref when old dies
            R[a[0]] = ref
            del ref
            del old
            hush()
    elif op == "act":
        SCRIPTS[a[0]].append(a)  # a tuple of the parse, frozen with the runner
    elif op == "pnew":
        put(a[0], new_plain(a[1]))  # no local holds it
    elif op == "gdump":
        LOG.append("garbage %d %d:" % (len(gc.garbage), len(gc.garbage))
                   + "".join(name_of(o) for o in gc.garbage))
    elif op == "gload":
        if a[1] < len(gc.garbage):
            put(a[0], gc.garbage[a[1]])
    elif op == "objs":
        names = [name_of(o) for o in gc.get_objects() if is_program(o)]
        LOG.append("objects %d:" % len(names) + "".join(names))
        del names
    elif op == "refs":
        if R[a[0]] is not None:
            names = [name_of(o) for o in gc.get_referrers(R[a[0]]) if is_program(o)]
            LOG.append("referrers %d %d:" % (a[0], len(names)) + "".join(names))
            del names
    elif op == "wcount":
        if isinstance(R[a[0]], Node):
            LOG.append("wcount %d %d" % (a[0], weakref.getweakrefcount(R[a[0]])))
    elif op == "wget":
        if isinstance(R[a[0]], weakref.ref):
            target = R[a[0]]()
            LOG.append("get %d %s" % (a[0], "none" if target is None else NID[id(target)]))
    elif op == "collect":
        live()
        n = gc.collect(a[0])
        hush()
        LOG.append("collect %d -> %d" % (a[0], n))
    elif op == "saveall":
        # the other flags stay (the "log" profile's DEBUG_COLLECTABLE)
        gc.set_debug((gc.get_debug() & ~gc.DEBUG_SAVEALL) | (gc.DEBUG_SAVEALL if a[0] else 0))
    elif op == "logmode":
        LOGACT[:] = a
        gc.set_debug(gc.get_debug() | gc.DEBUG_COLLECTABLE)
    elif op == "enable":
        ENABLED[0] = bool(a[0])
    elif op == "cbmode":
        CBMODE[0] = a[0]
    elif op == "tree":
        h, n, base = a
        for i in range(n):
            TAGBUF[i] = mortal(base + i)
        live()
        for i in range(n):
            node = new_node(base + i, 0, TAGBUF[i])
            TAGBUF[i] = None
            TREE[i] = node
            if i:
                setattr(TREE[(i - 1) // 4], SLOT_NAMES[(i - 1) % 4], node)
            del node
        put(h, TREE[0])
        for i in range(n):
            TREE[i] = None
        hush()
    elif op == "thresh":
        gc.set_threshold(*a)
    elif op == "count":
        LOG.append("count %d %d %d" % (SAVED[0], GEN[1].count, GEN[2].count))
    elif op == "unfreeze":
        unfreeze()
    elif op == "fcount":
        LOG.append("frozen %d" % (gc.get_freeze_count() - BASE_FROZEN[0]))
    elif op == "stats":
        for g, s in enumerate(STATS):
            LOG.append("stats %d %d %d %d" % (g, s.collections, s.collected, s.uncollectable))
    elif op == "gens":
        for g in range(3):
            objects = gc.get_objects(g)
            nids = [NID[id(o)] for o in objects if isinstance(o, Node)]  # cleared too
            LOG.append("gen %d %d:" % (g, len(objects)) + "".join(" %d" % n for n in nids))
    else:
        live()
        live_step(op, a)
        hush()


def live_step(op, a):
    """The operations that are all the program's work."""
    if op == "set":
        if isinstance(R[a[0]], Node) and R[a[2]] is not None:
            setattr(R[a[0]], SLOT_NAMES[a[1]], R[a[2]])
    elif op == "clr":
        if isinstance(R[a[0]], Node):
            setattr(R[a[0]], SLOT_NAMES[a[1]], None)
    elif op == "load":
        if isinstance(R[a[0]], Node):
            # a node the collector cleared has no slots: one that dies in
            # its clear (or a finalizer it runs) held it, and a weak
            # reference made by a finalizer gave it back
            put(a[2], getattr(R[a[0]], SLOT_NAMES[a[1]], None))
    elif op == "drop":
        R[a[0]] = None
    elif op == "gpop":
        if G:
            put(a[0], G.pop())
    elif op == "gclear":
        while G:
            G.pop()
    elif op == "gfree":
        gc.garbage.clear()
    elif op == "freeze":
        gc.freeze()
    else:
        raise ValueError("unknown operation " + op)


def clean_up():
    """Frees whatever a program left, silently, so the next starts empty."""
    LOGGING[0] = False
    gc.set_debug(0)
    del gc.garbage[:]
    R[:] = [None] * gen.HANDLES
    for _ in range(100):
        G.clear()
        gc.set_debug(0)
        del gc.garbage[:]
        if gc.collect() == 0 and not G and not gc.garbage:
            break
    LOG.clear()
    for s in SCRIPTS:
        s.clear()
    AMADE[:] = [0, 0]
    DEATHS.clear()
    TOGGLERS.clear()
    WNAME.clear()
    NID.clear()
    OBJNAME.clear()
    BOUNDARY[1] = None
    LOGGING[0] = True


def flush(k, out):
    """Prints the events of operation k."""
    out.extend("%d: %s" % (k, e) for e in LOG)
    LOG.clear()


def parse(text):
    """The programs of text: (number, [(op, operands)], exact)."""
    programs = []
    for line in text.splitlines():
        words = line.split()
        if not words or words[0] == "end":
            continue
        if words[0] == "program":
            programs.append((words[1], [], False))
            continue
        number, ops, exact = programs[-1]
        ops.append((words[0], tuple(int(w) for w in words[1:])))
        programs[-1] = (number, ops, exact or words[0] in EXACT_OPS)
    return programs


def run(text, out):
    programs = parse(text)
    if any(exact for _, _, exact in programs):
        exact_setup()
    if any(op == "logmode" for _, ops, _ in programs for op, _ in ops):
        # CPython 3.12's order: the lines after young is merged into old
        if sys.version_info[:2] != (3, 12):
            sys.stderr.write("run.py: the log profile needs CPython 3.12, not %s\n"
                             % sys.version.split()[0])
            sys.exit(77)  # test_gc_diff.c's PYTHON_UNSUITED
        sys.stderr = Writer()
    for number, ops, exact in programs:
        clean_up()
        CBMODE[0] = 0
        CBID[0] = 20000
        LOGACT.clear()
        LMADE[:] = [0, 0]
        EXACT[0] = False
        ENABLED[0] = False  # an exact program before may have left it on
        gc.freeze()
        out.append("program " + number)
        if exact:
            EXACT[0] = True
            exact_start()
        for k in range(len(ops)):
            step(*ops[k])
            flush(k + 1, out)
        EXACT[0] = False
        gc.disable()


def main():
    # PEP 442 finalizers and gc.collect() counting only what finalizers did
    # not resurrect: 3.9; three generations: up to 3.13 (3.14's incremental
    # collector gives collect(1) another meaning).
    if sys.implementation.name != "cpython" or not (3, 9) <= sys.version_info[:2] <= (3, 13):
        sys.exit("run.py needs CPython 3.9 to 3.13, not %s %s"
                 % (sys.implementation.name, sys.version.split()[0]))
    gc.disable()
    gc.callbacks.append(on_gc)
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
