#!/usr/bin/env python3
"""Random operation programs for the differential test of the collector.

A program is a list of lines, one operation each, run by run.py in CPython
and by driver.c on rcgc. Handles 0..HANDLES-1 are the program's variables
(its roots); ids name objects in the event log. Operations:

    new H ID MODE     H = a new node (4 slots); MODE 0: no finalizer, 1: a
                      finalizer that logs, with what the weak references in
                      handles return, 2: one that logs and resurrects the
                      node into the global list G, 3: one that also clears
                      the node's slot 0, 4: one that also runs a full
                      collection and logs "inner N" (0 during a collection)
    leaf H ID         H = a new untracked object without references
    set H S H2        slot S of node H = H2 (a node, leaf or weak reference)
    clr H S           slot S of node H = nothing
    load H S H2       H2 = slot S of node H (possibly nothing)
    drop H            H = nothing
    wref H H2 ID CB   H = a weak reference to node H2, named ID, with a
                      callback that logs (CB 1), one that also empties
                      handle H if it still holds this weak reference (CB 2:
                      the collector then frees a weak reference it did not
                      find unreachable, and counts it), one that also runs a
                      full collection and logs "inner N" (CB 3, "auto"
                      profile), or none (CB 0)
    wget H            log what weak reference H returns
    collect G         collect generations 0..G, log the count
    gpop H            H = the last of G, popped (if G is not empty)
    gclear            pop every object of G and drop it
    saveall F         debug flag SAVEALL on (F 1) or off (F 0): collections keep
                      their garbage in the garbage list instead of freeing it
    gfree             clear the garbage list (the objects stay cyclic garbage)

The "auto" profile adds operations on the collector itself; a program using
any of them runs in CPython with its gc counts kept exact (run.py):

    enable F          automatic collection on (F 1) or off (F 0); every
                      program starts with it off
    thresh T0 T1 T2   the three thresholds (T0 0: no automatic collection)
    count             log the three generations' counts
    freeze            move every tracked object to the permanent generation
    unfreeze          move the permanent generation back into generation 2
    fcount            log how many objects are frozen
    gens              log, for each generation, how many objects it holds
                      and which nodes (by id), in the generation's order
    stats             log each generation's collections, collected and
                      uncollectable

It also writes, in the operations above, pairs of new nodes linked in a
cycle and dropped at once: garbage that only a collection frees.

The "saveall" profile (RC_GC_DEBUG_SAVEALL with weak references; cycles
too) adds to those of the first list:

    new H ID MODE     MODE 5: a finalizer that also stores a new weak
                      reference to the node (named ID + 1000, callback CB 1)
                      in handle 7; 6: one that flips SAVEALL; 7: no
                      finalizer, but the node's death (its references
                      dropped, by the collector's clear or its dealloc)
                      flips SAVEALL
    pnew H ID         H = a new plain node: no finalizer, its death not seen
                      (the driver's type has no clear, finalizer or release)
    wref H H2 ID CB P as wref, and CB 4: the callback also stores a new weak
                      reference (ID + 500, CB 1) to the node in handle P in
                      handle P + 1; 5: it stores a new cycle of two nodes
                      (ID + 1500, ID + 1501) in handle P; 6: it empties
                      handle P
    gdump             log the garbage list: its length, and its objects in
                      order (nodes by id, weak references as wID)
    gload H I         H = item I of the garbage list (if there is one)
    objs              log the program's objects of every generation, in order
    refs H            log the program's objects that refer to H's, in order
    wcount H          log how many weak references point to H's node

The "log" profile (RC_GC_DEBUG_COLLECTABLE with a log function that runs
user code: in CPython, sys.stderr replaced by an object whose write acts
once per "gc: collectable" line) adds to those of the first list:

    logmode A P Q X K DEBUG_COLLECTABLE on; each line of a collection logs
                      "line ID" (the object written, by id, wID for a weak
                      reference, ? otherwise) and then, if K is 0 or the
                      line is the collection's K-th, acts (A 9: action
                      (line number - 1) % 9): 0 nothing; 1 handle Q = what
                      weak reference P returns (resurrection); 2 the same
                      appended to G; 3 a new node (id 4000 + n, mode Q % 4)
                      into slot X of P's target; 4 handle Q = a new weak
                      reference (id 1600 + n, callback X % 3) to P's target;
                      5 drop handle Q (X odd) or P; 6 clear slot X of P's
                      target; 7 a full collection (0, logged "inner 0"); 8
                      flip SAVEALL.
                      A collection's stop also logs "lines N".
                      Safety: CPython walks its garbage list reading the
                      written object's next link after the write, so no
                      action may free that object: a reference is dropped
                      (the old value of a handle or slot) only if the
                      written object is not reachable from it through slots
                      (then neither its death, nor that of an object only
                      it held (reachable from it too), nor the finalizers
                      it runs, modes 1-4, nor the callbacks, CB 0-3, can
                      free the written object);
                      otherwise the action is skipped, logged "lskip". At
                      most 6 new nodes and 6 new weak references a program
                      ("lmax" after that). saveall keeps the flag.

The "active" profile (finalizers and callbacks that act, not only log)
adds to those of the first list:

    act S A X Y Z     append action A (operands X Y Z) to script S (1-15);
                      all of a program's act lines come first
    new H ID MODE     MODE 20 + S: a finalizer that logs and runs script S,
                      with "self" the node
    wref H H2 ID CB   CB 20 + S: a callback that logs, logs the view (as CB
                      1) and runs script S, with "self" the weak reference

An action's object K is handle K (0-7), self (8), the last of G (9), slot
K - 10 of self (10-13, when self is a node: another object of the garbage
when self is finalized by a collection), or nothing. A destination D is
handle D (0-7), G (8, appended), self's slot Z (9, when self is a node) or
nowhere (10: the new object is dropped at once). Programs with exact counts
(automatic collection on, CPython 3.12) are a third; the others may use
SAVEALL and the garbage list. Actions:

    0 X D Z   a new node (id 5001 + n), MODE X (0-3 or 20 + S), into D
    1 X D Z   the same and a second new node (mode 0) in a cycle with it
    2 K K2 S  slot S of node K = object K2 (if there is one)
    3 K _ S   slot S of node K = nothing
    4 H       handle H = nothing
    5         drop the last of G (if any)
    6 K CB D  a new weak reference to node or leaf K (id as a node's),
              callback CB (0 none, 1 logs, 2 also empties handle D, 20 + S
              scripted), into D (0-8)
    7 G       collect generations 0..G, log "inner N" (0 in a collection)
    8         append self to G (resurrection, or a weak reference kept)
    9         log the view (what the weak references in handles return)
    10 K H S  handle H = slot S of node K (possibly nothing)
    11 H H2   handle H2 = what weak reference H returns (possibly a dead
              object's: garbage the collector already cleared)
    12 X      (programs with exact counts only) automatic collection off
              (X 0) or on (1), freeze (2), unfreeze (3)

Limits, logged: at most AMAX objects made by actions a program, ACBMAX of
them weak references with callbacks ("amax"); no allocation in a full
collection of a program with exact counts ("askip": CPython's
clear_freelists lowers count 0 then, run.py).

A store into a handle drops the old value after the new one is in place,
the new value held by the handle alone (run.py's put), as a callback or
finalizer may store into the same handle meanwhile.

An operation naming an empty handle, or the wrong kind of object, does
nothing in both runners. Every collection, explicit or automatic, logs its
start and its stop (gc.callbacks, rc_gc_callback_add). A file holds several
programs, each introduced by "program N" and closed by "end".
"""
import argparse
import random
import sys

HANDLES = 8
SLOTS = 4
# At most this many objects per program, so that no death nests 50 deep.
# CPython's trashcan and rcgc's deferred destruction both start there and
# keep the same order (test_object.deep_death_order), but a __del__ run that
# deep which calls weakref.ref() makes an argument tuple whose free the
# trashcan postpones too, and with it the callbacks that tuple's death
# would run: Python's own objects, which a C program does not have.
MAX_OBJECTS = 44
# At most this many weak references with callbacks in an "auto" program: an
# object dying with several has CPython hold them in a tuple meanwhile, which
# must come from the tuple free lists (run.py), as those of up to 20 items do.
MAX_CALLBACKS = 10
# The "active" profile's limits: objects a program's operations make (its
# actions make up to run.py's AMAX more), callbacks of its wref lines in a
# program with exact counts (its actions add up to ACBMAX more)
ACTIVE_OBJECTS = 28
ACTIVE_CALLBACKS = 6

PROFILES = {
    # operation: weight
    "mixed": {"new": 20, "leaf": 3, "set": 26, "clr": 5, "load": 5, "drop": 10,
              "wref": 6, "wget": 4, "collect": 9, "gpop": 3, "gclear": 1,
              "saveall": 1, "gfree": 1},
    "finalizers": {"new": 22, "leaf": 2, "set": 28, "clr": 3, "load": 4, "drop": 12,
                   "wref": 8, "wget": 3, "collect": 10, "gpop": 5, "gclear": 2,
                   "saveall": 1, "gfree": 1},
    # Automatic collections: the collector mostly on, small thresholds so
    # that allocations set off collections of every generation, and reads of
    # the collector's state between operations. Programs are longer, and
    # full collections that reset the counts (collect, finalizer mode 4) and
    # freezes rarer, so that the counts climb to generation 2's turn.
    "auto": {"new": 52, "leaf": 4, "set": 48, "clr": 8, "load": 8, "drop": 16,
             "wref": 16, "wget": 4, "collect": 2, "gpop": 8, "gclear": 2,
             "saveall": 2, "gfree": 2, "enable": 4, "thresh": 6, "count": 12,
             "freeze": 1, "unfreeze": 1, "fcount": 2, "stats": 2, "gens": 3,
             "cycle": 8},
    # RC_GC_DEBUG_SAVEALL with weak references and finalizers: garbage kept
    # in the garbage list, read back (gdump, gload), walked (objs, refs),
    # freed (gfree); finalizers and deaths that flip SAVEALL; callbacks that
    # make weak references or cycles or drop handles.
    "saveall": {"new": 20, "pnew": 4, "leaf": 2, "set": 26, "clr": 4, "load": 4, "drop": 10,
                "wref": 10, "wget": 3, "collect": 10, "gpop": 3, "gclear": 1,
                "saveall": 5, "gfree": 4, "gdump": 4, "gload": 6, "objs": 2, "refs": 2,
                "wcount": 2, "cycle": 3},
    # the same, centred on the garbage list: SAVEALL mostly on, saved
    # objects loaded back, unlinked, weakly referenced, then freed by
    # clearing the list (deaths by counting, callbacks, no second finalizer)
    "garbage": {"new": 16, "pnew": 4, "set": 20, "clr": 10, "drop": 10, "wref": 12,
                "wget": 3, "collect": 12, "saveall": 3, "gfree": 6, "gdump": 3,
                "gload": 14, "objs": 1, "refs": 1, "wcount": 3, "cycle": 4, "gpop": 2},
    # The automatic schedule and its bookkeeping: the counts after every
    # operation, odd thresholds (negative, 0, 699/701, 2**31 - 1), trees of
    # up to 1200 nodes (the default thresholds reached), finalizers that
    # read the counts, allocate (collections inside finalizers), freeze or
    # unfreeze, and gc callbacks (cbmode) that read the counts and
    # statistics, collect, freeze, unfreeze or make garbage cycles.
    "sched": {"new": 40, "leaf": 4, "set": 40, "clr": 8, "load": 6, "drop": 16,
              "wref": 10, "wget": 2, "collect": 8, "gpop": 6, "gclear": 2,
              "enable": 4, "thresh": 8, "count": 4, "freeze": 3, "unfreeze": 3,
              "fcount": 2, "stats": 6, "gens": 3, "cycle": 10, "tree": 4, "cbmode": 4},
    # finalizers and callbacks that run scripts of actions: allocate, link,
    # unlink, drop, make cycles and weak references, resurrect, collect;
    # with automatic collections (exact counts) or with SAVEALL
    "active": {"new": 22, "leaf": 2, "set": 26, "clr": 4, "load": 4, "drop": 12,
               "wref": 10, "wget": 3, "collect": 12, "gpop": 4, "gclear": 2, "cycle": 4,
               "count": 2, "enable": 1, "gens": 1, "stats": 1,
               "saveall": 2, "gfree": 2, "gdump": 2, "gload": 3},
    # RC_GC_DEBUG_COLLECTABLE with a log function running user code: weak
    # references to follow into garbage, collections often, logmode changes
    "log": {"new": 20, "leaf": 2, "set": 26, "clr": 4, "load": 4, "drop": 10,
            "wref": 14, "wget": 3, "collect": 12, "gpop": 3, "gclear": 1,
            "saveall": 2, "gfree": 2, "cycle": 4, "logmode": 5},
}


def logmode(rng, p):
    """A logmode line (the "log" profile); p: a handle, mostly one holding
    a weak reference."""
    a = rng.choices(range(10), (2, 4, 2, 3, 3, 3, 3, 1, 1, 4))[0]
    return "logmode %d %d %d %d %d" % (a, p, rng.randrange(HANDLES),
                                       rng.randrange(SLOTS),
                                       rng.choices((0, 1, 2, 3), (6, 2, 1, 1))[0])


def thresholds(rng):
    """Random thresholds between (1, 1, 1) and the defaults (700, 10, 10),
    mostly small so that a program's few dozen allocations set off
    collections of every generation; now and then a 0."""
    t0 = rng.choices((1, 2, 3, 4, rng.randint(5, 30), rng.randint(31, 700), 0),
                     (30, 20, 10, 5, 20, 12, 3))[0]
    return [t0] + rng.choices((0, 1, 2, 3, 4, 6, 10), (4, 12, 6, 3, 1, 1, 1), k=2)


def odd_thresholds(rng):
    """thresholds(), some made negative, huge, 699/701, or threshold0 0."""
    t = thresholds(rng)
    for i in range(3):
        r = rng.random()
        if r < 0.08:
            t[i] = -rng.choice((1, 2, 5, 100))
        elif r < 0.12:
            t[i] = rng.choice((2**31 - 1, 100000, 699, 701))
        elif r < 0.2 and i == 0:
            t[i] = 0
    return t


def action(rng, scripts, exact):
    """One action of a script (the "active" profile): "A X Y Z"."""
    a = rng.choices(range(13), (5, 2, 4, 2, 3, 2, 3, 2, 1, 1, 2, 2, 2 if exact else 0))[0]
    obj = rng.choices(range(14), (2,) * 8 + (4, 2) + (1,) * 4)[0]
    dest = rng.choices(range(11), (1,) * 8 + (3, 3, 3))[0]
    mode = rng.choice((0, 1, 2, 3) + tuple(20 + s for s in range(1, scripts + 1)))
    cb = rng.choice((0, 1, 2) + tuple(20 + s for s in range(1, scripts + 1)))
    x, y, z = {0: (mode, dest, rng.randrange(SLOTS)),
               1: (mode, dest, rng.randrange(SLOTS)),
               2: (obj, rng.choices(range(14), (2,) * 8 + (3, 2) + (1,) * 4)[0],
                   rng.randrange(SLOTS)),
               3: (obj, 0, rng.randrange(SLOTS)),
               4: (rng.randrange(HANDLES), 0, 0),
               6: (obj, cb, rng.randrange(HANDLES + 1)),
               7: (rng.choices((0, 1, 2), (2, 1, 3))[0], 0, 0),
               10: (obj, rng.randrange(HANDLES), rng.randrange(SLOTS)),
               11: (rng.randrange(HANDLES), rng.randrange(HANDLES), 0),
               12: (rng.choices(range(4), (2, 3, 1, 1))[0], 0, 0)}.get(a, (0, 0, 0))
    return "%d %d %d %d" % (a, x, y, z)


def program(rng, profile):
    """One program as a list of lines."""
    weights = PROFILES[profile]
    ops, w = zip(*weights.items())
    kinds = [None] * HANDLES  # what the generator believes each handle holds
    lines, next_id, objects, callbacks = [], 1, 0, 0
    fin_share = {"active": 0.7, "mixed": 0.35, "finalizers": 0.6, "auto": 0.45, "saveall": 0.5,
                 "garbage": 0.5, "sched": 0.45, "log": 0.5}[profile]
    if profile == "auto":
        lines += ["enable 1", "thresh %d %d %d" % tuple(thresholds(rng))]
    if profile == "sched":
        t = odd_thresholds(rng) if rng.random() < 0.7 else (700, 10, 10)
        lines += ["enable 1", "thresh %d %d %d" % tuple(t)]
        if rng.random() < 0.5:
            lines.append("cbmode %d" % rng.randrange(128 if rng.random() < 0.3 else 16))
    trees = 0
    if profile == "garbage":
        lines.append("saveall 1")
    if profile == "log":
        lines.append(logmode(rng, rng.randrange(HANDLES)))
    scripts, exact, max_objects = 0, profile in ("auto", "sched"), MAX_OBJECTS
    if profile == "active":
        scripts, max_objects = rng.randint(1, 6), ACTIVE_OBJECTS
        exact = rng.random() < 0.3  # automatic collections, exact counts
        for s in range(1, scripts + 1):
            for _ in range(rng.choices((1, 2, 3, 4), (3, 3, 2, 1))[0]):
                lines.append(f"act {s} {action(rng, scripts, exact)}")
        if exact:
            lines += ["enable 1", "thresh %d %d %d" % tuple(thresholds(rng))]

    def handle(want=None):
        held = [h for h in range(HANDLES) if kinds[h] == want or (want is None and kinds[h])]
        if held and rng.random() < 0.9:
            return rng.choice(held)
        return rng.randrange(HANDLES)

    for _ in range(rng.randint(40, 200) if profile == "auto" else rng.randint(20, 110)):
        op = rng.choices(ops, w)[0]
        if op in ("new", "leaf", "wref", "cycle") and objects + (op == "cycle") >= max_objects:
            op = "drop"
        if op in ("count", "enable", "gens", "stats") and not exact:
            op = "collect"
        if op in ("saveall", "gfree", "gdump", "gload") and exact and profile == "active":
            op = "collect"  # run.py runs them hushed
        if op == "new":
            h = rng.randrange(HANDLES)
            if profile in ("auto", "sched") and None in kinds and rng.random() < 0.6:
                h = kinds.index(None)  # keep more alive, for older generations
            modes = (1, 2, 3) * 12 + (4,) if profile == "auto" else (1, 2, 2, 3, 3, 4)
            if profile == "sched":
                modes = (1, 2, 3, 8, 8, 8, 9, 10, 11, 12, 13) * 6 + (4,)
            if profile in ("saveall", "garbage"):
                modes = (1, 2, 2, 3, 3, 4, 5, 5, 6, 7)
            if profile == "active":
                modes = (1, 2, 3) + tuple(20 + s for s in range(1, scripts + 1)) * 3
            mode = rng.choice(modes) if rng.random() < fin_share else 0
            lines.append(f"new {h} {next_id} {mode}")
            kinds[h], next_id, objects = "node", next_id + 1, objects + 1 + (mode == 5)
        elif op == "cycle":
            # two new nodes in a cycle, dropped: garbage that keeps its
            # count until a collection, whose survivors it does not add to
            # (generation 2's turn then hangs on long_lived_pending)
            a, b = rng.sample(range(HANDLES), 2)
            lines += [f"new {a} {next_id} 0", f"new {b} {next_id + 1} 0", f"set {a} 0 {b}",
                      f"set {b} 0 {a}", f"drop {a}", f"drop {b}"]
            kinds[a] = kinds[b] = None
            next_id, objects = next_id + 2, objects + 2
        elif op == "tree":
            if trees < 3:
                h = rng.randrange(HANDLES)
                n = rng.choice((rng.randint(2, 40), rng.randint(40, 400), rng.randint(400, 1200)))
                lines.append(f"tree {h} {n} {10000 + 2000 * trees}")
                kinds[h] = "node"
                trees += 1
        elif op == "logmode":
            lines.append(logmode(rng, handle("weakref")))
        elif op == "cbmode":
            lines.append(f"cbmode {rng.randrange(128 if rng.random() < 0.3 else 16)}")
        elif op == "pnew":
            h = rng.randrange(HANDLES)
            lines.append(f"pnew {h} {next_id}")
            kinds[h], next_id, objects = "node", next_id + 1, objects + 1
        elif op == "gload":
            h = rng.randrange(HANDLES)
            lines.append(f"gload {h} {rng.randrange(6)}")
            kinds[h] = "node"  # mostly: so that it is linked, unlinked, weakly referenced
        elif op in ("refs", "wcount"):
            lines.append(f"{op} {handle('node')}")
        elif op in ("gdump", "objs"):
            lines.append(op)
        elif op == "leaf":
            h = rng.randrange(HANDLES)
            lines.append(f"leaf {h} {next_id}")
            kinds[h], next_id, objects = "leaf", next_id + 1, objects + 1
        elif op == "set":
            lines.append(f"set {handle('node')} {rng.randrange(SLOTS)} {handle()}")
        elif op == "clr":
            lines.append(f"clr {handle('node')} {rng.randrange(SLOTS)}")
        elif op == "load":
            h2 = rng.randrange(HANDLES)
            lines.append(f"load {handle('node')} {rng.randrange(SLOTS)} {h2}")
            kinds[h2] = "unknown"
        elif op == "drop":
            h = handle()
            lines.append(f"drop {h}")
            kinds[h] = None
        elif op == "wref":
            h, target = rng.randrange(HANDLES), handle("node")
            if profile in ("auto", "sched"):
                cb = rng.choices((0, 1, 2, 3), (2, 5, 3, 2))[0] if callbacks < MAX_CALLBACKS else 0
            elif profile in ("saveall", "garbage"):
                cb = rng.choices((0, 1, 2, 3, 4, 5, 6), (2, 4, 3, 1, 2, 2, 2))[0]
            elif profile == "log":
                cb = rng.choices((0, 1, 2, 3), (2, 5, 3, 1))[0]
            elif profile == "active":
                cb = rng.choice((0, 1, 2) + tuple(20 + s for s in range(1, scripts + 1)) * 2)
                if exact and callbacks >= ACTIVE_CALLBACKS:
                    cb = 0
            else:
                cb = rng.choices((0, 1, 2), (2, 5, 3))[0]
            if profile in ("saveall", "garbage"):
                lines.append(f"wref {h} {target} {next_id} {cb} {rng.randrange(HANDLES)}")
            else:
                lines.append(f"wref {h} {target} {next_id} {cb}")
            kinds[h], next_id = "weakref", next_id + 1
            objects += 1 + (cb in (4, 5)) + (cb == 5)
            callbacks += cb != 0
        elif op == "wget":
            lines.append(f"wget {handle('weakref')}")
        elif op == "collect":
            lines.append(f"collect {rng.choices((0, 1, 2), (4, 3, 3))[0]}")
        elif op == "gpop":
            h = rng.randrange(HANDLES)
            lines.append(f"gpop {h}")
            kinds[h] = "unknown"
        elif op == "saveall":
            lines.append(f"saveall {rng.randrange(2)}")
        elif op == "gfree":
            lines.append("gfree")
        elif op == "enable":
            lines.append(f"enable {rng.choices((0, 1), (1, 3))[0]}")
        elif op == "thresh":
            t = odd_thresholds(rng) if profile == "sched" else thresholds(rng)
            lines.append("thresh %d %d %d" % tuple(t))
        elif op in ("count", "freeze", "unfreeze", "fcount", "stats", "gens"):
            lines.append(op)
        else:
            lines.append("gclear")
    # The end: drop everything, collect what is left, including what
    # finalizers resurrected (and froze, in the auto profile).
    if profile in ("saveall", "garbage"):
        lines += ["gdump", "objs", "collect 2", "gdump"]
    lines += ["saveall 0", "gfree"] + [f"drop {h}" for h in range(HANDLES)]
    if profile in ("auto", "sched") or (profile == "active" and exact):
        lines.append("unfreeze")
    lines += ["collect 2", "gclear", "collect 2", "gclear", "collect 2"]
    if profile in ("auto", "sched"):
        lines += ["count", "fcount", "stats", "gens"]
    if profile == "sched":  # the counts after every operation
        out = []
        for l in lines:
            out.append(l)
            if l.split()[0] not in ("count", "enable", "cbmode"):
                out.append("count")
        lines = out
    return lines


def programs(seed, count, profile):
    """count programs from seed, as text."""
    out = []
    for n in range(count):
        rng = random.Random(seed * 1000003 + n)
        out.append(f"program {n}")
        out.extend(program(rng, profile))
        out.append("end")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--profile", choices=sorted(PROFILES), default="mixed")
    args = ap.parse_args()
    sys.stdout.write(programs(args.seed, args.count, args.profile))


if __name__ == "__main__":
    main()
