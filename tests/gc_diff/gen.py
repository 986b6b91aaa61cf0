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
                      find unreachable, and counts it), or none (CB 0)
    wget H            log what weak reference H returns
    collect G         collect generations 0..G, log the count
    gpop H            H = the last of G, popped (if G is not empty)
    gclear            pop every object of G and drop it
    saveall F         debug flag SAVEALL on (F 1) or off (F 0): collections keep
                      their garbage in the garbage list instead of freeing it
    gfree             clear the garbage list (the objects stay cyclic garbage)

An operation naming an empty handle, or the wrong kind of object, does
nothing in both runners. A file holds several programs, each introduced by
"program N" and closed by "end".
"""
import argparse
import random
import sys

HANDLES = 8
SLOTS = 4
# At most this many objects per program, so that no death nests 50 deep:
# CPython's trashcan and rcgc's deferred destruction both start there, in
# different orders.
MAX_OBJECTS = 44

PROFILES = {
    # operation: weight
    "mixed": {"new": 20, "leaf": 3, "set": 26, "clr": 5, "load": 5, "drop": 10,
              "wref": 6, "wget": 4, "collect": 9, "gpop": 3, "gclear": 1,
              "saveall": 1, "gfree": 1},
    "finalizers": {"new": 22, "leaf": 2, "set": 28, "clr": 3, "load": 4, "drop": 12,
                   "wref": 8, "wget": 3, "collect": 10, "gpop": 5, "gclear": 2,
                   "saveall": 1, "gfree": 1},
}


def program(rng, profile):
    """One program as a list of lines."""
    weights = PROFILES[profile]
    ops, w = zip(*weights.items())
    kinds = [None] * HANDLES  # what the generator believes each handle holds
    lines, next_id, objects = [], 1, 0
    fin_share = 0.35 if profile == "mixed" else 0.6

    def handle(want=None):
        held = [h for h in range(HANDLES) if kinds[h] == want or (want is None and kinds[h])]
        if held and rng.random() < 0.9:
            return rng.choice(held)
        return rng.randrange(HANDLES)

    for _ in range(rng.randint(20, 110)):
        op = rng.choices(ops, w)[0]
        if op in ("new", "leaf", "wref") and objects >= MAX_OBJECTS:
            op = "drop"
        if op == "new":
            h = rng.randrange(HANDLES)
            mode = rng.choice((1, 2, 2, 3, 3, 4)) if rng.random() < fin_share else 0
            lines.append(f"new {h} {next_id} {mode}")
            kinds[h], next_id, objects = "node", next_id + 1, objects + 1
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
            lines.append(f"wref {h} {target} {next_id} {rng.choices((0, 1, 2), (2, 5, 3))[0]}")
            kinds[h], next_id, objects = "weakref", next_id + 1, objects + 1
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
        else:
            lines.append("gclear")
    # The end: drop everything, collect what is left, including what
    # finalizers resurrected.
    lines += ["saveall 0", "gfree"] + [f"drop {h}" for h in range(HANDLES)]
    lines += ["collect 2", "gclear", "collect 2", "gclear", "collect 2"]
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
