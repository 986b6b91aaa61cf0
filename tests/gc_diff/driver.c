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
 * every collection's start and stop, automatic ones included.
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
#define MAX_EVENTS 4096
#define MAX_RESURRECTED 1024
#define MAX_NODES 256 /* more than a gen.py program makes */

typedef struct node {
    long nid;
    int mode;   /* 0 none; finalizer 1 logs the view, 2 resurrects, 3 clears slot 0, 4 collects */
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
    }
    for (int s = 0; s < SLOTS; s++)
        RC_CLEAR(n->slot[s]);
}

static void node_finalize(void *self) {
    node *n = self;
    logf_event("fin %ld", n->nid);
    if (n->mode == 1) {
        log_view();
    } else if (n->mode == 2) {
        if (nresurrected == MAX_RESURRECTED) {
            fprintf(stderr, "driver: G is full\n");
            exit(2);
        }
        resurrected[nresurrected++] = rc_incref(n);
    } else if (n->mode == 3) {
        RC_CLEAR(n->slot[0]);
    } else if (n->mode == 4) {
        logf_event("inner %ld", rc_gc_collect(heap, 2));
    }
}

/* Logs a collection's start and stop. */
static void on_gc(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (!logging)
        return;
    if (strcmp(phase, "start") == 0)
        logf_event("gc start %d", info->generation);
    else
        logf_event("gc stop %d %zu %zu", info->generation, info->collected,
                   info->uncollectable);
}

static void leaf_release(void *self) { logf_event("death %ld", ((leaf *)self)->nid); }

static const rc_type node_type = {"Node", sizeof(node), node_traverse, node_clear, NULL, NULL};
static const rc_type fnode_type = {"FNode", sizeof(node), node_traverse, node_clear,
                                   node_finalize, NULL};
static const rc_type leaf_type = {"leaf", sizeof(leaf), NULL, NULL, NULL, leaf_release};

/* A node, a leaf, or else a weak reference: the three kinds a handle holds. */
static bool is_node(const void *p) {
    return p && (rc_type_of(p) == &node_type || rc_type_of(p) == &fnode_type);
}
static bool is_weakref(const void *p) {
    return p && !is_node(p) && rc_type_of(p) != &leaf_type;
}

/* arg: (the weak reference's id * 2 + whether it collects) * 16 + the
 * handle to empty, or + 15. */
static void on_callback(rc_weakref *ref, void *arg) {
    long code = (long)(intptr_t)arg, h = code % 16;
    logf_event("cb %ld", code / 32);
    log_view();
    if (h < HANDLES && handle[h] == ref)
        RC_CLEAR(handle[h]);
    if (code / 16 % 2)
        logf_event("inner %ld", rc_gc_collect(heap, 2));
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
};

/* Whether op has its operands, each in range. */
static bool well_formed(const char *op, int n, const long *a) {
    for (size_t i = 0; i < sizeof operations / sizeof operations[0]; i++) {
        if (strcmp(op, operations[i].name) != 0)
            continue;
        const char *k = operations[i].operands;
        if ((int)strlen(k) != n)
            return false;
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
        census c = {0, 0, {0}};
        rc_gc_get_objects(heap, g, count_object, &c);
        char line[32 + 12 * MAX_NODES]; /* every id fits */
        size_t len = (size_t)snprintf(line, sizeof line, "gen %d %zu:", g, c.objects);
        for (size_t i = 0; i < c.nodes && len < sizeof line; i++)
            len += (size_t)snprintf(line + len, sizeof line - len, " %ld", c.nid[i]);
        logf_event("%s", line);
    }
}

/* Runs one well-formed operation, its events into the log. */
static void step(const char *op, const long *a) {
    if (strcmp(op, "new") == 0) {
        node *n = must(rc_new(heap, a[2] ? &fnode_type : &node_type));
        n->nid = a[1];
        n->mode = (int)a[2];
        RC_SET(handle[a[0]], n);
    } else if (strcmp(op, "leaf") == 0) {
        leaf *l = must(rc_new(heap, &leaf_type));
        l->nid = a[1];
        RC_SET(handle[a[0]], l);
    } else if (strcmp(op, "set") == 0) {
        if (is_node(handle[a[0]]) && handle[a[2]])
            RC_SET(((node *)handle[a[0]])->slot[a[1]], rc_incref(handle[a[2]]));
    } else if (strcmp(op, "clr") == 0) {
        if (is_node(handle[a[0]]))
            RC_CLEAR(((node *)handle[a[0]])->slot[a[1]]);
    } else if (strcmp(op, "load") == 0) {
        if (is_node(handle[a[0]]))
            RC_SET(handle[a[2]], rc_incref(((node *)handle[a[0]])->slot[a[1]]));
    } else if (strcmp(op, "drop") == 0) {
        RC_CLEAR(handle[a[0]]);
    } else if (strcmp(op, "wref") == 0) {
        if (is_node(handle[a[1]])) {
            intptr_t code = ((intptr_t)a[2] * 2 + (a[3] == 3)) * 16 + (a[3] == 2 ? a[0] : 15);
            rc_weakref *ref = a[3] ? rc_weakref_new(handle[a[1]], on_callback, (void *)code)
                                   : rc_weakref_new(handle[a[1]], NULL, NULL);
            RC_SET(handle[a[0]], must(ref));
        }
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
            RC_SET(handle[a[0]], resurrected[--nresurrected]);
    } else if (strcmp(op, "saveall") == 0) {
        rc_gc_set_debug(heap, a[0] ? RC_GC_DEBUG_SAVEALL : 0);
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
    for (int i = 0; i < HANDLES; i++)
        RC_CLEAR(handle[i]);
    rc_heap_free(heap); /* also frees what G held */
    heap = NULL;
    nresurrected = 0;
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
        long a[4] = {0, 0, 0, 0};
        int n = sscanf(line, "%15s %ld %ld %ld %ld", op, &a[0], &a[1], &a[2], &a[3]);
        if (n < 1)
            continue;
        if (strcmp(op, "program") == 0) {
            heap = must(rc_heap_new());
            rc_gc_disable(heap);
            if (rc_gc_callback_add(heap, on_gc, NULL) != 0) {
                perror("driver: rc_gc_callback_add");
                return 2;
            }
            logging = true;
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
