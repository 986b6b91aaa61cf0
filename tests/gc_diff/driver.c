/*
 * driver.c — runs tests/gc_diff programs (see gen.py) on rcgc and prints the
 * event log run.py prints for CPython, line for line: "program N", then
 * "K: EVENT" (fin, inner, cb, see, death, get, gc start, gc stop, collect,
 * count, frozen, stats, gen: run.py's docstring lists them), in the order
 * they happened, inside collections too (CPython's order: run.py).
 *
 * The objects mirror run.py's classes: a node is a tracked object with four
 * slots whose clear logs its death before dropping the slots in order (as
 * CPython's clear_slots meets the node's tag first); a finalizer logs
 * and, by mode, logs what the weak references in handles return, resurrects
 * the node into G, clears its slot 0 or runs a full collection; a leaf is an
 * untracked object whose release logs its death; weak references are rcgc's,
 * with a callback that logs the weak reference's id and what the weak
 * references in handles return, and may empty the handle holding it or run
 * a full collection (its argument encodes all three). A collector callback (rc_gc_callback_add) logs
 * every collection's start and stop, automatic ones included. In the
 * "active" profile, finalizers and callbacks run scripts of actions (gen.py)
 * that take and drop their references in the order run.py's act does.
 *
 * Usage: driver FILE. Each program runs on a fresh heap with automatic
 * collection off until an enable operation turns it on; what a program
 * leaves is freed silently by rc_heap_free.
 */
#define _GNU_SOURCE /* vasprintf */
#include "rcgc.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HANDLES 8
#define SLOTS 4
#define MAX_EVENTS (1 << 20)
#define MAX_RESURRECTED 1024
#define MAX_NODES 65536 /* more than a gen.py program makes */
#define MAX_IDS 8192    /* ids: a program's, and those its callbacks and finalizers add */

/* What the callback of weak reference id does (gen.py's CB): empty handle
 * (or -1), collect, act (4: a weak reference to handle p's node into
 * handle p+1, 5: a new cycle into handle p, 6: drop handle p), p, and the
 * script it runs (the "active" profile's, or 0). */
typedef struct cbinfo { int empty, collects, act, p, script; } cbinfo;
static cbinfo cbs[MAX_IDS];

/* The ids of the weak references made, by address (the newest at an
 * address wins: a live one is always the newest). */
#define MAX_WNAMES 4096
static struct { const void *ref; long id; } wnames[MAX_WNAMES];
static size_t nwnames;

typedef struct node {
    long nid;
    int mode;   /* 0 none; finalizer 1 logs the view, 2 resurrects, 3 clears slot 0, 4 collects,
                 * 20 + S runs script S (gen.py lists them all) */
    bool died;  /* its death was logged (clear may run twice) */
    void *slot[SLOTS];
} node;

typedef struct leaf { long nid; } leaf;

/* The event log of the current operation. */
static char *events[MAX_EVENTS];
static size_t nevents;
static bool logging;

static void logf_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_event(const char *fmt, ...) {
    if (!logging)
        return;
    if (nevents == MAX_EVENTS) {
        fprintf(stderr, "driver: too many events\n");
        exit(2);
    }
    char *buf;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&buf, fmt, ap); /* a "gen" line can exceed 256 bytes */
    va_end(ap);
    if (n < 0) {
        fprintf(stderr, "driver: out of memory\n");
        exit(2);
    }
    events[nevents++] = buf;
}

static rc_heap *heap;              /* the current program's */
static void *handle[HANDLES];       /* the program's variables: strong references */
static void *resurrected[MAX_RESURRECTED]; /* G: strong references */
static size_t nresurrected;

static bool is_node(const void *p);
static bool is_weakref(const void *p);

/* Appends obj (a reference, stolen) to G. */
static void push_g(void *obj) {
    if (nresurrected == MAX_RESURRECTED) {
        fprintf(stderr, "driver: G is full\n");
        exit(2);
    }
    resurrected[nresurrected++] = obj;
}

/* *slot = v (a new reference, stolen), then the old value dropped: RC_SET,
 * as run.py's put (user code the old value's death runs may store into the
 * same handle). */
static void store(void **slot, void *v) {
    void *old = *slot;
    *slot = v;
    rc_decref(old);
}

/* Logs what each weak reference held in a handle returns now. */
static void log_view(void) {
    for (int h = 0; h < HANDLES; h++) {
        if (!is_weakref(handle[h]))
            continue;
        node *target = rc_weakref_get(handle[h]);
        if (target)
            logf_event("see %d %ld", h, target->nid);
        else
            logf_event("see %d none", h);
        rc_decref(target);
    }
}

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    for (int s = 0; s < SLOTS; s++)
        visit(&n->slot[s], arg);
}

static void node_clear(void *self) {
    node *n = self;
    if (!n->died) {
        n->died = true;
        logf_event("death %ld", n->nid);
        if (n->mode == 7) /* its death flips SAVEALL */
            rc_gc_set_debug(heap, rc_gc_get_debug(heap) ^ RC_GC_DEBUG_SAVEALL);
    }
    for (int s = 0; s < SLOTS; s++)
        RC_CLEAR(n->slot[s]);
}

static void *must(void *p);
static const rc_type node_type;
static int curgen = -1; /* the generation being collected, or -1 */
static rc_weakref *new_weakref(void *target, long id, int cb, int p, int empty);
static void run_script(long s, void *me);

static void node_finalize(void *self) {
    node *n = self;
    logf_event("fin %ld", n->nid);
    if (n->mode == 1) {
        log_view();
    } else if (n->mode == 2) {
        push_g(rc_incref(n));
    } else if (n->mode == 3) {
        RC_CLEAR(n->slot[0]);
    } else if (n->mode == 4) {
        logf_event("inner %ld", rc_gc_collect(heap, 2));
    } else if (n->mode == 8) {
        long c[3];
        rc_gc_get_count(heap, c);
        logf_event("fcnt %ld %ld %ld", c[0], c[1], c[2]);
    } else if (!logging) {
        return; /* the heap is going: the modes below would outlive it */
    } else if (n->mode == 5) { /* a weak reference to itself into handle 7 */
        store(&handle[7], new_weakref(n, n->nid + 1000, 1, 0, -1));
    } else if (n->mode >= 20) {
        run_script(n->mode - 20, n);
    } else if (n->mode == 6) {
        rc_gc_set_debug(heap, rc_gc_get_debug(heap) ^ RC_GC_DEBUG_SAVEALL);
    } else if (n->mode == 12) {
        rc_gc_freeze(heap);
    } else if (n->mode == 13) {
        rc_gc_unfreeze(heap);
    } else if (n->mode >= 9 && n->mode <= 11 && curgen == 2) {
        logf_event("fskip");
    } else if (n->mode >= 9 && n->mode <= 11) {
        node *x = must(rc_new(heap, &node_type));
        x->nid = n->nid + 3000;
        if (n->mode == 10) {
            store(&handle[6], x);
        } else if (n->mode == 11) {
            node *y = must(rc_new(heap, &node_type));
            y->nid = n->nid + 3001;
            x->slot[0] = rc_incref(y);
            y->slot[0] = rc_incref(x);
            rc_decref(x);
            rc_decref(y);
        } else {
            rc_decref(x);
        }
    }
}

/* The "log" profile (gen.py's logmode): the last logmode's operands A P Q X
 * K (logact[0] < 0: none yet), the lines written in the current collection,
 * the new nodes and weak references log actions made. */
static long logact[5] = {-1, 0, 0, 0, 0};
static long lines;
static int lmade[2];
#define LMAX 6

static int cbmode;   /* the "cbmode" operation's bits */
static long cbid;    /* the next id of a cycle a gc callback makes */

/* Logs a collection's start and stop. */
static void on_gc(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    curgen = strcmp(phase, "start") == 0 ? info->generation : -1;
    if (!logging)
        return;
    if (strcmp(phase, "start") == 0) {
        logf_event("gc start %d", info->generation);
        lines = 0;
    } else {
        logf_event("gc stop %d %zu %zu", info->generation, info->collected,
                   info->uncollectable);
        if (logact[0] >= 0)
            logf_event("lines %ld", lines);
    }
    if (cbmode & 1) {
        long c[3];
        rc_gc_get_count(heap, c);
        logf_event("gcount %ld %ld %ld", c[0], c[1], c[2]);
    }
    if (cbmode & 2)
        logf_event("inner %ld", rc_gc_collect(heap, 2));
    if (cbmode & 64) {
        rc_gc_stats st[3];
        rc_gc_get_stats(heap, st);
        for (int g = 0; g < 3; g++)
            logf_event("gstats %d %zu %zu %zu", g, st[g].collections, st[g].collected,
                       st[g].uncollectable);
    }
    if ((cbmode & 16) && strcmp(phase, "start") == 0)
        rc_gc_freeze(heap);
    if ((cbmode & 32) && strcmp(phase, "start") != 0)
        rc_gc_unfreeze(heap);
    if (((cbmode & 4) && strcmp(phase, "start") == 0) ||
        ((cbmode & 8) && strcmp(phase, "start") != 0)) {
        node *x = must(rc_new(heap, &node_type)), *y = must(rc_new(heap, &node_type));
        x->nid = cbid;
        y->nid = cbid + 1;
        cbid += 2;
        x->slot[0] = rc_incref(y);
        y->slot[0] = rc_incref(x);
        rc_decref(x);
        rc_decref(y);
    }
}

static void leaf_release(void *self) { logf_event("death %ld", ((leaf *)self)->nid); }

static const rc_type node_type = {"Node", sizeof(node), node_traverse, node_clear, NULL, NULL};
static const rc_type fnode_type = {"FNode", sizeof(node), node_traverse, node_clear,
                                   node_finalize, NULL};
static const rc_type leaf_type = {"leaf", sizeof(leaf), NULL, NULL, NULL, leaf_release};
/* a plain node: no clear, finalizer or release (its death is not seen) */
static const rc_type pnode_type = {"PNode", sizeof(node), node_traverse, NULL, NULL, NULL};

/* A node, a leaf, or else a weak reference: the three kinds a handle holds. */
static bool is_node(const void *p) {
    return p && (rc_type_of(p) == &node_type || rc_type_of(p) == &fnode_type ||
                 rc_type_of(p) == &pnode_type);
}
static bool is_leaf(const void *p) { return p && rc_type_of(p) == &leaf_type; }
static bool is_weakref(const void *p) { return p && !is_node(p) && !is_leaf(p); }

/* arg: the weak reference's id; cbs[id] says what it does. */
static void on_callback(rc_weakref *ref, void *arg) {
    long id = (long)(intptr_t)arg;
    cbinfo c = cbs[id];
    logf_event("cb %ld", id);
    log_view();
    if (c.empty >= 0 && handle[c.empty] == ref)
        RC_CLEAR(handle[c.empty]);
    if (c.collects)
        logf_event("inner %ld", rc_gc_collect(heap, 2));
    if (!logging) {
        return; /* the heap is going: the actions below would outlive it */
    } else if (c.act == 4) {
        if (is_node(handle[c.p]))
            store(&handle[(c.p + 1) % HANDLES], new_weakref(handle[c.p], id + 500, 1, 0, -1));
    } else if (c.act == 5) {
        node *a = must(rc_new(heap, &node_type)), *b = must(rc_new(heap, &node_type));
        a->nid = id + 1500;
        b->nid = id + 1501;
        a->slot[0] = rc_incref(b);
        b->slot[0] = rc_incref(a);
        rc_decref(b);
        store(&handle[c.p], a);
    } else if (c.act == 6) {
        RC_CLEAR(handle[c.p]);
    }
    if (c.script)
        run_script(c.script, ref);
}

static void name_weakref(const void *ref, long id) {
    for (size_t i = 0; i < nwnames; i++)
        if (wnames[i].ref == ref) {
            wnames[i].id = id;
            return;
        }
    if (nwnames == MAX_WNAMES) {
        fprintf(stderr, "driver: too many weak references\n");
        exit(2);
    }
    wnames[nwnames].ref = ref;
    wnames[nwnames++].id = id;
}

static long weakref_name(const void *ref) {
    for (size_t i = 0; i < nwnames; i++)
        if (wnames[i].ref == ref)
            return wnames[i].id;
    return -1;
}

/* A new weak reference (new reference) to target named id, with callback
 * kind cb (gen.py's CB) and its operand p. */
static rc_weakref *new_weakref(void *target, long id, int cb, int p, int empty) {
    if (id < 0 || id >= MAX_IDS) {
        fprintf(stderr, "driver: id %ld out of range\n", id);
        exit(2);
    }
    rc_weakref *ref;
    if (cb) {
        cbs[id] = (cbinfo){empty, cb == 3, cb >= 4 && cb < 20 ? cb : 0, p, cb >= 20 ? cb - 20 : 0};
        ref = must(rc_weakref_new(target, on_callback, (void *)(intptr_t)id));
    } else {
        ref = must(rc_weakref_new(target, NULL, NULL));
    }
    name_weakref(ref, id);
    return ref;
}

/* ------------------------------------------ the "active" profile's scripts */

/* Script s: its actions (A X Y Z), from the program's act lines (gen.py). */
#define MAX_SCRIPTS 16
#define MAX_ACTIONS 16
static long scripts[MAX_SCRIPTS][MAX_ACTIONS][4];
static int nactions[MAX_SCRIPTS];
static int amade[2]; /* objects actions made, weak references with callbacks among them */
#define AMAX 24
#define ACBMAX 4
static bool exact; /* the program needs exact counts (run.py's EXACT) */

/* An action's object k: a handle, me (8), the last of G (9), slot k - 10
 * of me (10-13); borrowed. */
static void *target(long k, void *me) {
    if (k < HANDLES)
        return handle[k];
    if (k == 8)
        return me;
    if (k == 9)
        return nresurrected ? resurrected[nresurrected - 1] : NULL;
    return is_node(me) ? ((node *)me)->slot[k - 10] : NULL;
}

/* Stores v (borrowed: the caller keeps its reference) at destination d. */
static void place(long d, long z, void *v, void *me) {
    if (d < HANDLES)
        store(&handle[d], rc_incref(v));
    else if (d == 8)
        push_g(rc_incref(v));
    else if (d == 9 && is_node(me))
        RC_SET(((node *)me)->slot[z], rc_incref(v));
}

/* Whether an action may make n more objects (cb: one is a weak reference
 * with a callback); logs why not (run.py's can_make). */
static bool can_make(int n, bool cb) {
    if (exact && curgen == 2) {
        logf_event("askip");
        return false;
    }
    if (amade[0] + n > AMAX || (cb && amade[1] == ACBMAX)) {
        logf_event("amax");
        return false;
    }
    amade[0] += n;
    amade[1] += cb;
    return true;
}

/* A new node made by an action (new reference): run.py's act_node. */
static node *act_node(long nid, long mode) {
    node *n = must(rc_new(heap, mode && mode != 7 ? &fnode_type : &node_type));
    n->nid = nid;
    n->mode = (int)mode;
    return n;
}

/* Actions 0 and 1: a new node of mode x (and a second one in a cycle with
 * it) into destination y. */
static void act_new(long op, long x, long y, long z, void *me) {
    if (!can_make((int)op + 1, false))
        return;
    long nid = 5001 + amade[0] - op - 1;
    node *n = act_node(nid, x);
    if (op == 1) {
        node *m = act_node(nid + 1, 0);
        RC_SET(n->slot[0], rc_incref(m));
        RC_SET(m->slot[0], rc_incref(n));
        rc_decref(m);
    }
    place(y, z, n, me);
    rc_decref(n);
}

/* Action 6: a new weak reference to object x (a node or a leaf: untracked,
 * it dies by counting, in a collection too) with callback kind y into
 * destination z. */
static void act_weakref(long x, long y, long z, void *me) {
    void *t = rc_incref(target(x, me));
    if ((is_node(t) || is_leaf(t)) && can_make(1, y != 0)) {
        int empty = y == 2 && z < HANDLES ? (int)z : -1;
        rc_weakref *r = new_weakref(t, 5000 + amade[0], (int)y, 0, empty);
        place(z, 0, r, me);
        rc_decref(r);
    }
    rc_decref(t);
}

/* One action (gen.py), as run.py's act: references held and dropped in
 * its order. */
static void act(const long *a, void *me) {
    long op = a[0], x = a[1], y = a[2], z = a[3];
    if (op == 0 || op == 1) {
        act_new(op, x, y, z, me);
    } else if (op == 2 || op == 3 || op == 10) {
        node *o = rc_incref(target(x, me));
        void *v = op == 2 ? rc_incref(target(y, me)) : NULL;
        if (op == 2 && is_node(o) && v)
            RC_SET(o->slot[z], rc_incref(v));
        else if (op == 3 && is_node(o))
            RC_CLEAR(o->slot[z]);
        else if (op == 10 && is_node(o))
            store(&handle[y], rc_incref(o->slot[z]));
        rc_decref(o);
        rc_decref(v);
    } else if (op == 4) {
        RC_CLEAR(handle[x]);
    } else if (op == 5) {
        if (nresurrected)
            rc_decref(resurrected[--nresurrected]);
    } else if (op == 6) {
        act_weakref(x, y, z, me);
    } else if (op == 7) {
        logf_event("inner %ld", rc_gc_collect(heap, (int)x));
    } else if (op == 8) {
        push_g(rc_incref(me));
    } else if (op == 9) {
        log_view();
    } else if (op == 11) {
        void *w = rc_incref(handle[x]);
        if (is_weakref(w))
            store(&handle[y], rc_weakref_get(w));
        rc_decref(w);
    } else if (op == 12) {
        void (*const control[])(rc_heap *) = {rc_gc_disable, rc_gc_enable, rc_gc_freeze,
                                              rc_gc_unfreeze};
        control[x % 4](heap);
    }
}

/* Runs script s; me: the node being finalized, or the weak reference whose
 * callback runs. */
static void run_script(long s, void *me) {
    for (int i = 0; i < nactions[s]; i++)
        act(scripts[s][i], me);
}

/* An object's name in the logs: a node's id, "wID" for a weak reference. */
static void name_of(void *obj, char *buf, size_t len) {
    if (is_node(obj))
        snprintf(buf, len, " %ld", ((node *)obj)->nid);
    else if (is_weakref(obj))
        snprintf(buf, len, " w%ld", weakref_name(obj));
    else
        snprintf(buf, len, " ?");
}

/* Whether c is v or reachable from v through slots: only then can dropping
 * v free it (gen.py's logmode). */
static bool reaches(void *v, const void *c) {
    static void *seen[MAX_NODES], *todo[4 * MAX_NODES + 1];
    size_t nseen = 0, ntodo = 0;
    todo[ntodo++] = v;
    while (ntodo) {
        void *o = todo[--ntodo];
        if (o == c)
            return true;
        if (!is_node(o))
            continue;
        bool was = false;
        for (size_t i = 0; i < nseen && !was; i++)
            was = seen[i] == o;
        if (was || nseen == MAX_NODES)
            continue;
        seen[nseen++] = o;
        node *n = o;
        for (int s = 0; s < SLOTS; s++)
            todo[ntodo++] = n->slot[s];
    }
    return false;
}

static bool droppable(void *v, const void *c) {
    if (reaches(v, c)) {
        logf_event("lskip");
        return false;
    }
    return true;
}

/* The log function (rc_gc_set_log): a "gc: collectable <T ADDR>" line
 * logs "line ID" and acts as the last logmode says (gen.py). */
static void on_log(const char *text, void *arg) {
    (void)arg;
    const char *sp = strrchr(text, ' ');
    void *c = NULL;
    if (!strstr(text, "collectable") || !sp || sscanf(sp + 1, "%p", &c) != 1 || !logging ||
        logact[0] < 0) {
        fprintf(stderr, "%s\n", text);
        return;
    }
    char name[32];
    name_of(c, name, sizeof name);
    lines++;
    logf_event("line %s", name + 1);
    long a = logact[0], p = logact[1], q = logact[2], x = logact[3], k = logact[4];
    if (k && lines != k)
        return;
    if (a == 9)
        a = (lines - 1) % 9;
    bool wr = is_weakref(handle[p]);
    if (a == 1) {
        if (wr && droppable(handle[q], c))
            store(&handle[q], rc_weakref_get(handle[p]));
    } else if (a == 2) {
        void *t = wr ? rc_weakref_get(handle[p]) : NULL;
        if (t)
            push_g(t);
    } else if (a == 3 || a == 6) {
        node *t = wr ? rc_weakref_get(handle[p]) : NULL;
        if (t && droppable(t->slot[x], c)) {
            if (a == 6) {
                RC_CLEAR(t->slot[x]);
            } else if (lmade[0] == LMAX) {
                logf_event("lmax");
            } else {
                lmade[0]++;
                node *n = must(rc_new(heap, q % 4 ? &fnode_type : &node_type));
                n->nid = 4000 + lmade[0];
                n->mode = (int)(q % 4);
                /* setattr(target, slot, node): the call drops its
                 * arguments in order, the target (which may die now) first */
                RC_SET(t->slot[x], rc_incref(n));
                rc_decref(t);
                rc_decref(n);
                return;
            }
        }
        rc_decref(t);
    } else if (a == 4) {
        node *t = wr ? rc_weakref_get(handle[p]) : NULL;
        if (t && droppable(handle[q], c)) {
            if (lmade[1] == LMAX) {
                logf_event("lmax");
                rc_decref(t);
            } else {
                lmade[1]++;
                rc_weakref *ref = new_weakref(t, 1600 + lmade[1], (int)(x % 3), 0,
                                              x % 3 == 2 ? (int)q : -1);
                rc_decref(t);
                store(&handle[q], ref);
            }
        } else {
            rc_decref(t);
        }
    } else if (a == 5) { /* x odd: handle q (where action 1 resurrects), else p */
        long h = x & 1 ? q : p;
        if (droppable(handle[h], c))
            RC_CLEAR(handle[h]);
    } else if (a == 7) {
        logf_event("inner %ld", rc_gc_collect(heap, 2));
    } else if (a == 8) {
        rc_gc_set_debug(heap, rc_gc_get_debug(heap) ^ RC_GC_DEBUG_SAVEALL);
    }
}

typedef struct namelist { size_t n; char line[16384]; size_t len; } namelist;

static int add_name(void *obj, void *arg) {
    namelist *l = arg;
    char b[32];
    name_of(obj, b, sizeof b);
    l->n++;
    if (l->len + strlen(b) + 1 < sizeof l->line) {
        strcpy(l->line + l->len, b);
        l->len += strlen(b);
    }
    return 0;
}

static int add_program_name(void *obj, void *arg) {
    if (is_node(obj) || is_weakref(obj))
        return add_name(obj, arg);
    return 0;
}

typedef struct nth { size_t i; void *obj; } nth;
static int find_nth(void *obj, void *arg) {
    nth *x = arg;
    if (x->i-- == 0) {
        x->obj = obj;
        return 1;
    }
    return 0;
}

static void *must(void *p) {
    if (p == NULL) {
        perror("driver: allocation failed");
        exit(2);
    }
    return p;
}

/* Operations and their operands: h a handle, s a slot, g a generation, f a
 * flag (0 or 1), n a number. */
static const struct operation { const char *name, *operands; } operations[] = {
    {"new", "hnn"},  {"leaf", "hn"}, {"set", "hsh"}, {"clr", "hs"},  {"load", "hsh"},
    {"drop", "h"},   {"wref", "hhnn"}, {"wget", "h"}, {"collect", "g"}, {"gpop", "h"},
    {"gclear", ""},  {"saveall", "f"}, {"gfree", ""},
    /* the "auto" profile's */
    {"enable", "f"}, {"thresh", "nnn"}, {"count", ""}, {"freeze", ""}, {"unfreeze", ""},
    {"fcount", ""},  {"stats", ""},    {"gens", ""},
    /* the "saveall" profile's */
    {"pnew", "hn"},  {"wref", "hhnnh"}, {"gdump", ""}, {"gload", "hn"}, {"objs", ""},
    {"refs", "h"},   {"wcount", "h"},
    /* the "sched" profile's */
    {"tree", "hnn"}, {"cbmode", "n"},
    /* the "log" profile's */
    {"logmode", "nhhsn"},
    /* the "active" profile's */
    {"act", "nnnnn"},
};

/* Whether op has its operands, each in range. */
static bool well_formed(const char *op, int n, const long *a) {
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
        if (strcmp(op, operations[i].name) != 0)
            continue;
        const char *k = operations[i].operands;
        if ((int)strlen(k) != n)
            continue;
        if (strcmp(op, "thresh") == 0)
            return true; /* any int, negative too */
        for (int j = 0; j < n; j++) {
            long limit = k[j] == 'h'   ? HANDLES
                         : k[j] == 's' ? SLOTS
                         : k[j] == 'g' ? 3
                         : k[j] == 'f' ? 2
                                       : 1L << 30;
            if (a[j] < 0 || a[j] >= limit)
                return false;
        }
        return true;
    }
    return false;
}

/* rc_gc_get_objects' callback for the gens operation: counts the objects,
 * collects the nodes' ids. */
typedef struct census { size_t objects, nodes; long nid[MAX_NODES]; } census;

static int count_object(void *obj, void *arg) {
    census *c = arg;
    c->objects++;
    if (is_node(obj) && c->nodes < MAX_NODES)
        c->nid[c->nodes++] = ((node *)obj)->nid;
    return 0;
}

/* Logs "gen G N: IDS" for each generation, as run.py does: the nodes in
 * the generation's order. */
static void log_generations(void) {
    for (int g = 0; g < 3; g++) {
        static census c;
        c.objects = c.nodes = 0;
        rc_gc_get_objects(heap, g, count_object, &c);
        static char line[32 + 12 * MAX_NODES]; /* every id fits */
        size_t len = (size_t)snprintf(line, sizeof line, "gen %d %zu:", g, c.objects);
        for (size_t i = 0; i < c.nodes && len < sizeof line; i++)
            len += (size_t)snprintf(line + len, sizeof line - len, " %ld", c.nid[i]);
        logf_event("%s", line);
    }
}

/* Runs one well-formed operation, its events into the log. */
static void step(const char *op, const long *a) {
    if (strcmp(op, "new") == 0) {
        node *n = must(rc_new(heap, a[2] && a[2] != 7 ? &fnode_type : &node_type));
        n->nid = a[1];
        n->mode = (int)a[2];
        store(&handle[a[0]], n);
    } else if (strcmp(op, "leaf") == 0) {
        leaf *l = must(rc_new(heap, &leaf_type));
        l->nid = a[1];
        store(&handle[a[0]], l);
    } else if (strcmp(op, "set") == 0) {
        if (is_node(handle[a[0]]) && handle[a[2]]) {
            /* setattr(R[a0], s, R[a2]): both held by Python's stack, and
             * dropped in the order of the arguments, the node first (its
             * death may drop the value's last other reference) */
            node *n = rc_incref(handle[a[0]]);
            void *v = rc_incref(handle[a[2]]);
            RC_SET(n->slot[a[1]], rc_incref(v));
            rc_decref(n);
            rc_decref(v);
        }
    } else if (strcmp(op, "clr") == 0) {
        if (is_node(handle[a[0]])) {
            node *n = rc_incref(handle[a[0]]);
            RC_CLEAR(n->slot[a[1]]);
            rc_decref(n);
        }
    } else if (strcmp(op, "load") == 0) {
        if (is_node(handle[a[0]]))
            store(&handle[a[2]], rc_incref(((node *)handle[a[0]])->slot[a[1]]));
    } else if (strcmp(op, "drop") == 0) {
        RC_CLEAR(handle[a[0]]);
    } else if (strcmp(op, "wref") == 0) {
        if (is_node(handle[a[1]])) {
            rc_weakref *ref = new_weakref(handle[a[1]], a[2], (int)a[3], (int)a[4],
                                          a[3] == 2 ? (int)a[0] : -1);
            store(&handle[a[0]], ref);
        }
    } else if (strcmp(op, "act") == 0) {
        if (a[0] >= MAX_SCRIPTS || nactions[a[0]] == MAX_ACTIONS) {
            fprintf(stderr, "driver: script %ld out of range or too long\n", a[0]);
            exit(2);
        }
        memcpy(scripts[a[0]][nactions[a[0]]++], a + 1, sizeof scripts[0][0]);
    } else if (strcmp(op, "cbmode") == 0) {
        cbmode = (int)a[0];
    } else if (strcmp(op, "tree") == 0) {
        long n = a[1];
        node **t = must(calloc((size_t)n, sizeof *t));
        for (long i = 0; i < n; i++) {
            t[i] = must(rc_new(heap, &node_type));
            t[i]->nid = a[2] + i;
            if (i)
                RC_SET(t[(i - 1) / 4]->slot[(i - 1) % 4], rc_incref(t[i]));
        }
        store(&handle[a[0]], rc_incref(t[0]));
        for (long i = 0; i < n; i++)
            rc_decref(t[i]);
        free(t);
    } else if (strcmp(op, "pnew") == 0) {
        node *n = must(rc_new(heap, &pnode_type));
        n->nid = a[1];
        store(&handle[a[0]], n);
    } else if (strcmp(op, "gdump") == 0) {
        namelist l = {0, "", 0};
        rc_gc_garbage(heap, add_name, &l);
        logf_event("garbage %zu %zu:%s", l.n, rc_gc_garbage_count(heap), l.line);
    } else if (strcmp(op, "gload") == 0) {
        nth x = {(size_t)a[1], NULL};
        rc_gc_garbage(heap, find_nth, &x);
        if (x.obj)
            store(&handle[a[0]], rc_incref(x.obj));
    } else if (strcmp(op, "objs") == 0) {
        namelist l = {0, "", 0};
        rc_gc_get_objects(heap, -1, add_program_name, &l);
        logf_event("objects %zu:%s", l.n, l.line);
    } else if (strcmp(op, "refs") == 0) {
        if (handle[a[0]]) {
            namelist l = {0, "", 0};
            rc_gc_get_referrers(heap, handle[a[0]], add_program_name, &l);
            logf_event("referrers %ld %zu:%s", a[0], l.n, l.line);
        }
    } else if (strcmp(op, "wcount") == 0) {
        if (is_node(handle[a[0]]))
            logf_event("wcount %ld %zu", a[0], rc_weakref_count(handle[a[0]]));
    } else if (strcmp(op, "wget") == 0) {
        if (is_weakref(handle[a[0]])) {
            node *target = rc_weakref_get(handle[a[0]]);
            if (target)
                logf_event("get %ld %ld", a[0], target->nid);
            else
                logf_event("get %ld none", a[0]);
            rc_decref(target);
        }
    } else if (strcmp(op, "collect") == 0) {
        logf_event("collect %ld -> %ld", a[0], rc_gc_collect(heap, (int)a[0]));
    } else if (strcmp(op, "gpop") == 0) {
        if (nresurrected)
            store(&handle[a[0]], resurrected[--nresurrected]);
    } else if (strcmp(op, "saveall") == 0) { /* the other flags stay */
        rc_gc_set_debug(heap, (rc_gc_get_debug(heap) & ~(unsigned)RC_GC_DEBUG_SAVEALL) |
                                  (a[0] ? RC_GC_DEBUG_SAVEALL : 0));
    } else if (strcmp(op, "logmode") == 0) {
        memcpy(logact, a, sizeof logact);
        rc_gc_set_debug(heap, rc_gc_get_debug(heap) | RC_GC_DEBUG_COLLECTABLE);
    } else if (strcmp(op, "gfree") == 0) {
        rc_gc_garbage_clear(heap);
    } else if (strcmp(op, "enable") == 0) {
        if (a[0])
            rc_gc_enable(heap);
        else
            rc_gc_disable(heap);
    } else if (strcmp(op, "thresh") == 0) {
        rc_gc_set_threshold(heap, a[0], a[1], a[2]);
    } else if (strcmp(op, "count") == 0) {
        long c[3];
        rc_gc_get_count(heap, c);
        logf_event("count %ld %ld %ld", c[0], c[1], c[2]);
    } else if (strcmp(op, "freeze") == 0) {
        rc_gc_freeze(heap);
    } else if (strcmp(op, "unfreeze") == 0) {
        rc_gc_unfreeze(heap);
    } else if (strcmp(op, "fcount") == 0) {
        logf_event("frozen %zu", rc_gc_get_freeze_count(heap));
    } else if (strcmp(op, "stats") == 0) {
        rc_gc_stats st[3];
        rc_gc_get_stats(heap, st);
        for (int g = 0; g < 3; g++)
            logf_event("stats %d %zu %zu %zu", g, st[g].collections, st[g].collected,
                       st[g].uncollectable);
    } else if (strcmp(op, "gens") == 0) {
        log_generations();
    } else { /* gclear */
        while (nresurrected)
            rc_decref(resurrected[--nresurrected]);
    }
}

/* Prints the events of operation k. */
static void print_events(long k) {
    for (size_t i = 0; i < nevents; i++) {
        printf("%ld: %s\n", k, events[i]);
        free(events[i]);
    }
    nevents = 0;
}

/* Ends a program: its leftovers go silently with the heap. */
static void finish(void) {
    logging = false;
    /* no lines while the heap goes (run.py's clean_up sets no flag) */
    rc_gc_set_debug(heap, rc_gc_get_debug(heap) & ~(unsigned)RC_GC_DEBUG_COLLECTABLE);
    for (int i = 0; i < HANDLES; i++)
        RC_CLEAR(handle[i]);
    rc_heap_free(heap); /* also frees what G held */
    heap = NULL;
    nresurrected = 0;
    nwnames = 0;
}

/* Whether the program starting at f's position uses an operation that
 * needs exact counts in CPython (run.py's EXACT_OPS); f's position stays. */
static bool needs_exact(FILE *f) {
    static const char *const ops[] = {"tree",   "cbmode", "enable", "thresh", "count",
                                      "freeze", "unfreeze", "fcount", "stats", "gens"};
    long pos = ftell(f);
    char line[256], op[16];
    bool found = false;
    while (!found && fgets(line, sizeof line, f) && sscanf(line, "%15s", op) == 1 &&
           strcmp(op, "end") != 0)
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
            found |= strcmp(op, ops[i]) == 0;
    fseek(f, pos, SEEK_SET);
    return found;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s PROGRAMS\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "r");
    if (f == NULL) {
        perror(argv[1]);
        return 2;
    }
    char line[256];
    long k = 0;
    while (fgets(line, sizeof line, f)) {
        char op[16];
        long a[5] = {0, 0, 0, 0, 0};
        int n = sscanf(line, "%15s %ld %ld %ld %ld %ld", op, &a[0], &a[1], &a[2], &a[3], &a[4]);
        if (n < 1)
            continue;
        if (strcmp(op, "program") == 0) {
            heap = must(rc_heap_new());
            rc_gc_disable(heap);
            if (rc_gc_callback_add(heap, on_gc, NULL) != 0) {
                perror("driver: rc_gc_callback_add");
                return 2;
            }
            rc_gc_set_log(heap, on_log, NULL);
            logging = true;
            logact[0] = -1;
            lmade[0] = lmade[1] = 0;
            cbmode = 0;
            cbid = 20000;
            memset(nactions, 0, sizeof nactions);
            amade[0] = amade[1] = 0;
            exact = needs_exact(f);
            k = 0;
            printf("program %ld\n", a[0]);
        } else if (strcmp(op, "end") == 0) {
            finish();
        } else {
            if (heap == NULL || !well_formed(op, n - 1, a)) {
                fprintf(stderr, "driver: bad line: %s", line);
                return 2;
            }
            step(op, a);
            print_events(++k);
        }
    }
    fclose(f);
    return 0;
}
