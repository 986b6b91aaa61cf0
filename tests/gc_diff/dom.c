/*
 * dom.c — a document object model edited at random on rcgc; tests/gc_diff/dom.py
 * is the same program in CPython 3.12, and the two print the same event log
 * (finalizers, weak reference callbacks, each collection's start and stop,
 * gc.collect() results, counts, statistics and the id index's size at
 * checkpoints). dom.py explains the model; every reference the Python
 * program takes and drops is taken and dropped here at the same point, in
 * the same order (a Python local's reference is dropped when it is
 * reassigned or set to None, after the new value is stored).
 *
 * Usage: dom SEED OPS [DROP_WEIGHT [DESCEND [COLLECT_WEIGHT
 *                                  [THRESHOLD0 THRESHOLD1 [FREEZE_WEIGHT [INNER]]]]]]
 */
#include "rcgc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NDOCS 3
#define STACK_CAP 16
#define POOL_CAP 12
#define MAX_WREFS 8
#define MAX_IDS 200000

/* Fields in the order of dom.py's sorted __slots__ (CPython's clearing
 * and traversal order). */
typedef struct attr attr;
typedef struct lis lis;
typedef struct el {
    attr *attrs;
    long eid;
    struct el *fc;
    long kind;
    lis *ls;
    struct el *nx;
    void *par; /* an el, or the doc of a root */
} el;
struct attr { long name; attr *nx; el *val; };
struct lis { el *el; long kind; lis *nx; rc_weakref *wr; };
typedef struct undo {
    el *a, *b;
    long op;
    el *pa, *pb;
    struct undo *prev;
} undo;
typedef struct doc { long did; el *root; } doc;
typedef struct tag { long tid; } tag;

static rc_heap *h;
static uint64_t seed;
static rc_weakref *index_[MAX_IDS];
static long next_id, nidx, next_tag;
static undo *stacks[4]; /* [2] undo, [3] redo: dom.py's G */
static el *pool[POOL_CAP];
static int npool;
static doc *docs[NDOCS];
static int curgen = -1; /* the generation being collected */
static long inner;      /* dom.py's INNER */

static long rnd(long n) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return (long)((seed >> 33) % (uint64_t)n);
}

/* Visits fields in slot order. */
static void el_traverse(void *self, rc_visit_fn visit, void *arg) {
    el *e = self;
    visit((void **)&e->attrs, arg);
    visit((void **)&e->fc, arg);
    visit((void **)&e->ls, arg);
    visit((void **)&e->nx, arg);
    visit((void **)&e->par, arg);
}
static void attr_traverse(void *self, rc_visit_fn visit, void *arg) {
    attr *a = self;
    visit((void **)&a->nx, arg);
    visit((void **)&a->val, arg);
}
static void lis_traverse(void *self, rc_visit_fn visit, void *arg) {
    lis *l = self;
    visit((void **)&l->el, arg);
    visit((void **)&l->nx, arg);
    visit((void **)&l->wr, arg);
}
static void undo_traverse(void *self, rc_visit_fn visit, void *arg) {
    undo *u = self;
    visit((void **)&u->a, arg);
    visit((void **)&u->b, arg);
    visit((void **)&u->pa, arg);
    visit((void **)&u->pb, arg);
    visit((void **)&u->prev, arg);
}
static void doc_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((doc *)self)->root, arg);
}

static const char *index_state(el *e) {
    rc_weakref *r = index_[e->eid];
    if (r == NULL)
        return "gone";
    el *t = rc_weakref_get(r);
    const char *s = t == NULL ? "dead" : t == e ? "self" : "other";
    rc_decref(t);
    return s;
}

static void log_fin(void *self) {
    el *e = self;
    printf("fin L %ld %s\n", e->eid, index_state(e));
    if (inner && e->eid % inner == 3)
        printf("  inner %ld\n", rc_gc_collect(h, (int)(e->eid / inner % 2)));
    if (e->eid % 5 == 0 && e->fc != NULL && npool < POOL_CAP) {
        pool[npool++] = rc_incref(e->fc);
        printf("  keep %ld\n", e->fc->eid);
    }
}

static void res_fin(void *self) {
    el *e = self;
    if (npool < POOL_CAP) {
        pool[npool++] = rc_incref(e);
        printf("fin R %ld res %d\n", e->eid, npool);
    } else {
        printf("fin R %ld full\n", e->eid);
    }
}

static el *new_el(long kind);
static void detach(el *e);
static int movable(el *e);
static void trace_count(void);

/* Adds a new element to a document: allocates inside finalizers. */
static void edit_fin(void *self) {
    el *e = self;
    doc *d = rc_incref(docs[e->eid % NDOCS]);
    if (d == NULL) {
        printf("fin E %ld nodoc\n", e->eid);
        return;
    }
    if (e->eid % 2 == 1) { /* cuts the root's first child */
        el *c = rc_incref(d->root->fc);
        if (movable(c)) {
            detach(c);
            printf("fin E %ld cut %ld\n", e->eid, c->eid);
        }
        rc_decref(c);
        rc_decref(d);
        return;
    }
    if (curgen == 2) { /* dom.py's docstring */
        printf("fin E %ld fskip\n", e->eid);
        rc_decref(d);
        return;
    }
    el *t = new_el(0);
    el *r = rc_incref(d->root);
    RC_SET(t->par, rc_incref(r));
    RC_SET(t->nx, rc_incref(r->fc));
    RC_SET(r->fc, rc_incref(t));
    printf("fin E %ld add %ld\n", e->eid, t->eid);
    trace_count();
    rc_decref(r);
    rc_decref(t);
    rc_decref(d);
}

static const rc_type kinds[4] = {
    {"Element", sizeof(el), el_traverse, NULL, NULL, NULL},
    {"LogEl", sizeof(el), el_traverse, NULL, log_fin, NULL},
    {"ResEl", sizeof(el), el_traverse, NULL, res_fin, NULL},
    {"EditEl", sizeof(el), el_traverse, NULL, edit_fin, NULL},
};
static void tag_fin(void *self) { printf("fin T %ld\n", ((tag *)self)->tid); }

/* Visits nothing, but is tracked, as the instances of dom.py's Tag are. */
static void no_refs(void *self, rc_visit_fn visit, void *arg) { (void)self, (void)visit, (void)arg; }

static const rc_type tag_type = {"Tag", sizeof(tag), no_refs, NULL, tag_fin, NULL};
static const rc_type attr_type = {"Attr", sizeof(attr), attr_traverse, NULL, NULL, NULL};
static const rc_type lis_type = {"Listener", sizeof(lis), lis_traverse, NULL, NULL, NULL};
static const rc_type undo_type = {"Undo", sizeof(undo), undo_traverse, NULL, NULL, NULL};
static const rc_type doc_type = {"Doc", sizeof(doc), doc_traverse, NULL, NULL, NULL};

static void idx_cb(rc_weakref *r, void *arg) {
    long k = (long)(intptr_t)arg;
    if (index_[k] == r) {
        RC_CLEAR(index_[k]);
        nidx--;
        printf("wcb %ld\n", k);
    } else {
        printf("wcb %ld stale\n", k);
    }
}

/* dom.py's obs_cb. */
static void obs_cb(rc_weakref *r, void *arg) {
    (void)r;
    long k = (long)(intptr_t)arg;
    printf("obs %ld\n", k);
    if (k % 3 == 0 && index_[k] != NULL) {
        el *e = rc_weakref_get(index_[k]);
        if (movable(e)) {
            detach(e);
            printf("  cut %ld\n", k);
        }
        rc_decref(e);
    }
}

static void trace_count(void) {
    if (getenv("DOM_TRACE") != NULL) {
        long c[3];
        rc_gc_get_count(h, c);
        printf("c0 %ld\n", c[0]);
    }
}

static void on_gc(rc_heap *heap, const char *phase, const rc_gc_info *info, void *arg) {
    (void)heap, (void)arg;
    curgen = strcmp(phase, "start") == 0 ? info->generation : -1;
    if (strcmp(phase, "start") == 0)
        printf("gc start %d\n", info->generation);
    else
    {
        printf("gc stop %d %zu %zu\n", info->generation, info->collected, info->uncollectable);
        trace_count();
    }
}

static el *new_el(long kind) {
    el *e = rc_new(h, &kinds[kind]);
    long k = next_id++;
    e->eid = k;
    e->kind = kind;
    rc_weakref *r = rc_weakref_new(e, idx_cb, (void *)(intptr_t)k);
    index_[k] = r;
    nidx++;
    return e;
}

static long descend = 4;

/* An element of a document, down a random path from its root. */
static el *walk(void) {
    el *e = docs[rnd(NDOCS)]->root;
    while (rnd(descend) != 0) {
        el *c = e->fc;
        if (c == NULL)
            break;
        for (long k = rnd(4); k > 0 && c->nx != NULL; k--)
            c = c->nx;
        e = c;
    }
    return rc_incref(e);
}

/* dom.py's pick. */
static el *pick(void) {
    if (rnd(2) == 0) {
        for (int tries = 0; tries < 6; tries++) {
            rc_weakref *r = index_[rnd(next_id)];
            if (r != NULL) {
                el *e = rc_weakref_get(r);
                if (e != NULL)
                    return e;
            }
        }
    }
    return walk();
}

static int is_el(const void *p) {
    return p != NULL && rc_type_of(p) >= kinds && rc_type_of(p) < kinds + 4;
}

/* Whether t is x or below it. */
static int inside(void *t, el *x) {
    while (is_el(t)) {
        if (t == x)
            return 1;
        t = ((el *)t)->par;
    }
    return 0;
}

static int movable(el *e) { return e != NULL && is_el(e->par); }

static void attach(el *e, el *p) {
    RC_SET(e->par, rc_incref(p));
    RC_SET(e->nx, rc_incref(p->fc));
    RC_SET(p->fc, rc_incref(e));
}

static void detach(el *e) {
    el *p = rc_incref(e->par);
    if (p->fc == e) {
        RC_SET(p->fc, rc_incref(e->nx));
    } else {
        el *c = p->fc;
        while (c->nx != e)
            c = c->nx;
        RC_SET(c->nx, rc_incref(e->nx));
    }
    RC_CLEAR(e->nx);
    RC_CLEAR(e->par);
    rc_decref(p);
}

static long new_kind(void) {
    long k = rnd(10);
    return k < 5 ? 0 : k > 6 ? k - 6 : 1;
}

static void fill(el *e) {
    for (long n = rnd(3); n > 0; n--) {
        attr *a = rc_new(h, &attr_type);
        a->name = rnd(5);
        a->val = rnd(3) == 0 ? pick() : NULL;
        a->nx = rc_incref(e->attrs);
        RC_SET(e->attrs, a);
    }
    for (long n = rnd(3); n > 0; n--) {
        lis *li = rc_new(h, &lis_type);
        li->el = rc_incref(e);
        li->kind = rnd(3);
        el *t = pick();
        if (t != NULL) {
            if (rnd(2) == 0) {
                RC_SET(li->wr, rc_weakref_new(t, NULL, NULL));
            } else if (rc_weakref_count(t) < MAX_WREFS) {
                rc_weakref *w = rc_weakref_new(t, obs_cb, (void *)(intptr_t)e->eid);
                RC_SET(li->wr, w);
            }
            rc_decref(t);
        }
        li->nx = rc_incref(e->ls);
        RC_SET(e->ls, li);
    }
}

/* u (borrowed) onto stack which, cut to STACK_CAP entries. The walk holds
 * a reference to the entry it is at, as dom.py's local u does: the cut
 * may run a finalizer that collects, where that reference keeps the entry
 * reachable from outside (in place in its generation). */
static void push(undo *u, int which) {
    RC_SET(u->prev, stacks[which]);
    stacks[which] = rc_incref(u);
    rc_incref(u);
    int n = 1;
    while (u != NULL && n < STACK_CAP) {
        undo *prev = rc_incref(u->prev);
        rc_decref(u);
        u = prev;
        n++;
    }
    if (u != NULL)
        RC_CLEAR(u->prev);
    rc_decref(u);
}

static void record(long op, el *a, el *pa, el *b, el *pb) {
    undo *u = rc_new(h, &undo_type);
    u->op = op;
    u->a = rc_incref(a);
    u->pa = rc_incref(pa);
    u->b = rc_incref(b);
    u->pb = rc_incref(pb);
    push(u, 2);
    rc_decref(u);
    RC_CLEAR(stacks[3]);
}

static void op_insert(void) {
    el *p = pick();
    if (p == NULL) {
        printf("insert none\n");
        return;
    }
    el *e = new_el(new_kind());
    fill(e);
    attach(e, p);
    printf("insert %ld %ld\n", e->eid, p->eid);
    rc_decref(e);
    rc_decref(p);
}

static void op_remove(void) {
    el *e = pick();
    if (!movable(e)) {
        printf("remove none\n");
        rc_decref(e);
        return;
    }
    el *p = rc_incref(e->par);
    detach(e);
    printf("remove %ld\n", e->eid);
    record(0, e, p, NULL, NULL);
    rc_decref(e);
    rc_decref(p);
}

static void op_move(void) {
    el *e = pick();
    el *t = pick();
    if (!movable(e) || t == NULL || inside(t, e)) {
        printf("move none\n");
        rc_decref(e);
        rc_decref(t);
        return;
    }
    el *p = rc_incref(e->par);
    detach(e);
    attach(e, t);
    printf("move %ld %ld\n", e->eid, t->eid);
    record(1, e, p, e, t);
    rc_decref(e);
    rc_decref(t);
    rc_decref(p);
}

static void op_replace(void) {
    el *e = pick();
    if (!movable(e)) {
        printf("replace none\n");
        rc_decref(e);
        return;
    }
    el *n = new_el(new_kind());
    fill(n);
    if (e->par == NULL) {
        printf("replace gone\n");
        rc_decref(n);
        rc_decref(e);
        return;
    }
    el *p = rc_incref(e->par);
    detach(e);
    attach(n, p);
    printf("replace %ld %ld\n", e->eid, n->eid);
    record(2, e, p, n, p);
    rc_decref(e);
    rc_decref(n);
    rc_decref(p);
}

/* dom.py's apply. */
static void apply(undo *u) {
    el *b = rc_incref(u->b);
    if (b != NULL && movable(b)) {
        detach(b);
        printf("  det %ld\n", b->eid);
    }
    rc_decref(b);
    el *a = rc_incref(u->a);
    el *pa = rc_incref(u->pa);
    if (a != NULL && a->par == NULL && !inside(pa, a)) {
        attach(a, pa);
        printf("  att %ld %ld\n", a->eid, pa->eid);
    }
    rc_decref(a);
    rc_decref(pa);
    el *t = rc_incref(u->a);
    RC_SET(u->a, rc_incref(u->b));
    RC_SET(u->b, t);
    t = rc_incref(u->pa);
    RC_SET(u->pa, rc_incref(u->pb));
    RC_SET(u->pb, t);
}

static void op_undo(int src, int dst) {
    undo *u = rc_incref(stacks[src]);
    if (u == NULL) {
        printf(src == 2 ? "undo none\n" : "redo none\n");
        return;
    }
    RC_SET(stacks[src], rc_incref(u->prev));
    RC_CLEAR(u->prev);
    printf("%s %ld\n", src == 2 ? "undo" : "redo", u->op);
    apply(u);
    push(u, dst);
    rc_decref(u);
}

static void op_clear_undo(void) {
    printf("clear undo\n");
    RC_CLEAR(stacks[2]);
}

static void drop_doc(long d) {
    doc *dc = rc_new(h, &doc_type);
    dc->did = d;
    el *r = new_el(1);
    RC_SET(r->par, rc_incref(dc));
    RC_SET(dc->root, rc_incref(r));
    printf("doc %ld %ld\n", d, r->eid);
    rc_decref(r);
    RC_SET(docs[d], dc);
}

static void op_drop_doc(void) { drop_doc(rnd(NDOCS)); }

static void op_event(void) {
    el *e = pick();
    if (e == NULL) {
        printf("event none\n");
        return;
    }
    printf("event %ld\n", e->eid);
    void *c = e;
    while (is_el(c)) {
        el *ce = c;
        lis *li = rc_incref(ce->ls);
        while (li != NULL) {
            if (li->kind == 1 && li->wr != NULL) {
                el *t = rc_weakref_get(li->wr);
                if (t == NULL)
                    printf("  ev %ld none\n", ce->eid);
                else
                    printf("  ev %ld %ld\n", ce->eid, t->eid);
                rc_decref(t);
            } else if (li->kind == 2) {
                printf("  ev %ld off\n", ce->eid);
                RC_CLEAR(ce->ls);
            }
            lis *nx = rc_incref(li->nx);
            rc_decref(li);
            li = nx;
        }
        void *up = rc_incref(ce->par);
        rc_decref(c);
        c = up;
    }
    rc_decref(c);
}

static void op_attr(void) {
    el *e = pick();
    if (e == NULL) {
        printf("attr none\n");
        return;
    }
    attr *a = rc_new(h, &attr_type);
    a->name = 9;
    a->val = pick();
    a->nx = rc_incref(e->attrs);
    RC_SET(e->attrs, rc_incref(a));
    printf("attr %ld\n", e->eid);
    rc_decref(a);
    rc_decref(e);
}

static void op_pool(void) {
    if (npool == 0) {
        printf("pool none\n");
        return;
    }
    el *e = pool[--npool];
    printf("pool %ld\n", e->eid);
    el *p = pick();
    if (p != NULL && e->par == NULL && !inside(p, e)) {
        attach(e, p);
        printf("  reuse %ld\n", p->eid);
    }
    rc_decref(p);
    rc_decref(e);
}

static void op_collect(void) {
    long g = rnd(3);
    long n = rc_gc_collect(h, (int)g);
    printf("collect %ld %ld\n", g, n);
}

static void op_unlisten(void) {
    el *e = pick();
    if (e == NULL) {
        printf("unlisten none\n");
        return;
    }
    printf("unlisten %ld\n", e->eid);
    RC_CLEAR(e->ls);
    rc_decref(e);
}

static void checkpoint(long i) {
    long c[3];
    rc_gc_get_count(h, c);
    printf("check %ld count %ld %ld %ld index %ld pool %d next %ld\n", i, c[0], c[1], c[2], nidx,
           npool, next_id);
    rc_gc_stats st[RC_GC_GENERATIONS];
    rc_gc_get_stats(h, st);
    for (int g = 0; g < RC_GC_GENERATIONS; g++)
        printf("  stats %d %zu %zu %zu\n", g, st[g].collections, st[g].collected,
               st[g].uncollectable);
}

/* dom.py's op_bulk. */
static void op_bulk(void) {
    el *p = pick();
    long n = 40 + rnd(80);
    printf("bulk %ld %ld\n", p->eid, n);
    for (; n > 0; n--) {
        el *e = new_el(rnd(2));
        attach(e, p);
        rc_decref(e);
    }
    rc_decref(p);
}

/* dom.py's op_prune. */
static void op_prune(void) {
    el *e = pick();
    printf("prune %ld\n", e->eid);
    el *c = rc_incref(e->fc);
    while (c != NULL) {
        tag *t = rc_new(h, &tag_type);
        t->tid = next_tag++;
        RC_SET(c->par, t);
        el *nx = rc_incref(c->nx);
        rc_decref(c);
        c = nx;
    }
    RC_CLEAR(e->fc);
    rc_decref(e);
}

static void op_freeze(void) {
    rc_gc_freeze(h);
    printf("freeze %zu\n", rc_gc_get_freeze_count(h));
}

static void op_unfreeze(void) {
    rc_gc_unfreeze(h);
    printf("unfreeze %zu\n", rc_gc_get_freeze_count(h));
}

typedef struct fnv { size_t n; uint64_t h; FILE *dump; } fnv;

/* dom.py's token, hashed into arg. */
static int hash_object(void *obj, void *arg) {
    fnv *f = arg;
    const rc_type *t = rc_type_of(obj);
    int64_t tok = t >= kinds && t < kinds + 4 ? ((el *)obj)->eid
                  : t == &attr_type           ? -1
                  : t == &lis_type            ? -2
                  : rc_weakref_check(obj)     ? -3
                  : t == &undo_type           ? -4
                  : t == &doc_type            ? -5
                  : t == &tag_type            ? -7 - 10 * ((tag *)obj)->tid
                                              : -6;
    f->h = (f->h ^ (uint64_t)tok) * 1099511628211ull;
    f->n++;
    if (getenv("DOM_DUMP"))
        fprintf(f->dump, " %lld", (long long)tok);
    return 0;
}

/* dom.py's digest. */
static void digest(int g) {
    char *list = NULL;
    size_t len = 0;
    fnv f = {0, 14695981039346656037ull, open_memstream(&list, &len)};
    fputc(':', f.dump);
    rc_gc_get_objects(h, g, hash_object, &f);
    fclose(f.dump);
    printf("  gen %d %zu %llx%s\n", g, f.n, (unsigned long long)f.h,
           getenv("DOM_DUMP") ? list : "");
    free(list);
}

/* dom.py's OPS: weights; 4 and 5 are undo and redo. */
static int weights[] = {30, 12, 10, 8, 10, 6, 2, 2, 8, 5, 3, 2, 2, 0, 0, 1, 1};
static void (*const ops[])(void) = {op_insert, op_remove, op_move, op_replace, NULL, NULL,
                                    op_clear_undo, op_drop_doc, op_event, op_attr,
                                    op_pool, op_collect, op_unlisten, op_freeze,
                                    op_unfreeze, op_prune, op_bulk};

static void step(void) {
    int total = 0, n = (int)(sizeof weights / sizeof weights[0]);
    for (int i = 0; i < n; i++)
        total += weights[i];
    long x = rnd(total);
    int i = 0;
    while (x >= weights[i])
        x -= weights[i++];
    if (i == 4)
        op_undo(2, 3);
    else if (i == 5)
        op_undo(3, 2);
    else
        ops[i]();
}

int main(int argc, char **argv) {
    if (argc < 3 || argc > 10 || argc == 7) {
        fprintf(stderr, "usage: dom SEED OPS [DROP_WEIGHT [DESCEND [COLLECT_WEIGHT "
                        "[THRESHOLD0 THRESHOLD1 [FREEZE_WEIGHT [INNER]]]]]]\n");
        return 2;
    }
    seed = strtoull(argv[1], NULL, 10);
    long every = getenv("DOM_EVERY") ? atol(getenv("DOM_EVERY")) : 1000;
    long nops = atol(argv[2]);
    if (argc > 3)
        weights[7] = atoi(argv[3]);
    if (argc > 4)
        descend = atol(argv[4]);
    if (argc > 5)
        weights[11] = atoi(argv[5]);
    h = rc_heap_new();
    rc_gc_callback_add(h, on_gc, NULL);
    if (argc > 7)
        rc_gc_set_threshold(h, atol(argv[6]), atol(argv[7]), atol(argv[7]));
    if (argc > 8)
        weights[13] = weights[14] = atoi(argv[8]);
    if (argc > 9)
        inner = atol(argv[9]);
    for (long d = 0; d < NDOCS; d++)
        drop_doc(d);
    for (long i = 1; i <= nops; i++) {
        step();
        trace_count();
        if (i % 100 == 0)
            checkpoint(i);
        if (i % every == 0)
            for (int g = 0; g < RC_GC_GENERATIONS; g++)
                digest(g);
    }
    printf("end\n");
    for (int d = 0; d < NDOCS; d++)
        RC_CLEAR(docs[d]);
    RC_CLEAR(stacks[2]);
    RC_CLEAR(stacks[3]);
    while (npool > 0)
        rc_decref(pool[--npool]);
    rc_gc_unfreeze(h);
    printf("final collect %ld\n", rc_gc_collect(h, 2));
    checkpoint(nops);
    digest(2);
    fflush(stdout);
    if (freopen("/dev/null", "w", stdout) == NULL) /* what dom.py does not log */
        return 1;
    while (npool > 0)
        rc_decref(pool[--npool]);
    size_t left = rc_heap_free(h);
    if (left != 0)
        fprintf(stderr, "dom: %zu objects left\n", left);
    return left != 0;
}
