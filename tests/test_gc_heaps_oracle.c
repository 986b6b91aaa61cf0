/*
 * test_gc_heaps_oracle.c — the collectors of several heaps of one thread
 * against a reachability oracle.
 *
 * Each round runs a seeded random program on 2 or 3 heaps: objects made in
 * any heap (nodes, nodes with finalizers, untracked leaves, weak
 * references), links within and between heaps, drops, explicit collections
 * of any heap and generation, automatic ones (small thresholds), freeze and
 * unfreeze, weak references held from another heap (with callbacks), and
 * rc_heap_free of a heap that no other heap's object refers to. Finalizers
 * count, resurrect, allocate in another heap (stored in the dying object),
 * link the dying object to anything the program or a running finalizer
 * reaches (another collection's garbage too), collect another heap (nested
 * in the running collection), or rc_heap_free another heap (when allowed:
 * not collecting, no death in it under way, no other heap's object
 * referring to it). Nothing stores a reference to a heap's objects while
 * rc_heap_free frees it (they would dangle: docs/guide.md).
 *
 * Cycles through two heaps are never collected; a nested collection keeps
 * garbage that its user code made refer to another heap. An object that
 * died by its count during a collection and was resurrected is tracked
 * again in generation 0 (CPython's dealloc), out of that collection, and
 * so is a frozen one; a frozen weak reference whose callback a collection
 * ran goes to that collection's old generation (CPython's handle_weakrefs).
 *
 * The model keeps what the program holds and every link, and learns what
 * the library did from callbacks (clear, release, finalizer, weak
 * reference callback, gc start/stop). It checks:
 *   - an object is released only while nothing reachable from what the
 *     program holds reaches it (references between heaps count as strong),
 *     and once; a finalizer runs at most once, a weak reference callback too;
 *   - at every collection's stop, each object of the generations it
 *     examined (rc_gc_get_objects at its start) that nothing outside those
 *     generations reaches (the program, another heap, an older generation,
 *     the frozen ones, objects made meanwhile) is released, unless a
 *     finalizer resurrected it; a cycle through two heaps is therefore
 *     never collected by either heap (the header's contract); with no user
 *     code run during it, the count it reports is exactly that set's size;
 *   - a collection of another heap started from a finalizer while one runs
 *     starts exactly when the header says (that heap not collecting, and no
 *     object it examines refers to another heap's);
 *   - after each operation: every reference count is the model's, no
 *     object the model holds for dead-by-count is alive, and per heap the
 *     stats (objects, tracked), rc_gc_get_objects, the freeze count and
 *     rc_gc_get_stats agree with the model and the collections seen;
 *   - rc_heap_free returns how many objects of the heap were alive after
 *     its collection, runs every finalizer not run, and releases each
 *     object once.
 *
 * Environment: RCGC_ORACLE_ROUNDS=n rounds (default 1000, a second or two
 * under ASan), RCGC_ORACLE_SEED=s the first seed, RCGC_ORACLE_TRACE=1
 * prints every operation and what the library did.
 */
#include "check_main.h"
#include "test_support.h"

#include <stdarg.h>
#include <string.h>

#define MAXH 3
#define MAXO 4096
#define NSLOT 3

enum kind { K_NODE, K_FIN, K_LEAF, K_WEAK };
enum fin { F_COUNT, F_RESURRECT, F_ALLOC, F_COLLECT, F_LINK, F_FREE, F_NKINDS };

typedef struct obj {
    void *s[NSLOT];
    int id;
    int fin;   /* enum fin, K_FIN only */
    int other; /* the heap index a finalizer allocates in or collects */
    int gen;   /* the generation F_COLLECT collects */
} obj;

typedef struct mobj {
    bool used, released;
    int heap, kind;
    void *p;
    int slot[NSLOT]; /* ids, -1: none */
    int roots;       /* references the program holds */
    int finalized, cleared;
    bool frozen;
    int target, fired, token; /* K_WEAK: the target's id, callbacks run, callback's arg */
    bool dead;                /* K_WEAK: its count reached 0 (not observed) */
    unsigned count_death;     /* seq when its finalizer ran as its count reached 0 */
    bool in_snap;
} mobj;

static mobj M[MAXO];
static int nobj;
static rc_heap *heaps[MAXH];
static int nheaps;
static int freeing = -1; /* the heap rc_heap_free is releasing, or -1 */
static uint64_t seed, rng;
static bool trace;
static size_t nstarts[MAXH][3];
static size_t ncollected[MAXH][3];
static int depth; /* collections running */
static int stack_heap[8];
static unsigned user_events; /* finalizers and callbacks run */
static unsigned allocs_during;
static int making;          /* allocations under way (their object unknown yet) */
static int nested_at = -1;  /* the depth at which a finalizer's rc_gc_collect runs */
static bool free_collected; /* rc_heap_free's collection is over */
static int free_depth;
static int weak_tokens;
static int active[MAXH]; /* callbacks of the heap's objects running (a death in it) */
static unsigned seq;     /* finalizers and collections started */

__attribute__((format(printf, 1, 2))) static void oracle_fail(const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    ck_abort_msg("seed %llu: %s", (unsigned long long)seed, buf);
}

static uint64_t next(void) {
    uint64_t z = (rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static unsigned pick(unsigned n) { return (unsigned)(next() % n); }

static int heap_index(const rc_heap *h) {
    for (int i = 0; i < nheaps; i++)
        if (heaps[i] == h)
            return i;
    return -1;
}

static int id_of(const void *p) {
    for (int i = 0; i < nobj; i++)
        if (M[i].used && !M[i].released && !M[i].dead && M[i].p == p)
            return i;
    return -1;
}

static bool alive(int i) { return M[i].used && !M[i].released && !M[i].dead; }

/* ----------------------------------------------------------- the model */

static int incoming[MAXO];
static void count_all(void) {
    for (int i = 0; i < nobj; i++)
        incoming[i] = M[i].roots;
    for (int j = 0; j < nobj; j++)
        if (alive(j))
            for (int k = 0; k < NSLOT; k++)
                if (M[j].slot[k] >= 0)
                    incoming[M[j].slot[k]]++;
}

/* Marks in r what the program's references reach, and (extra) what the
 * objects for which extra(j) is true reach. */
static void reach(bool *r, bool (*extra)(int)) {
    static int stack[MAXO];
    int sp = 0;
    for (int i = 0; i < nobj; i++)
        r[i] = false;
    for (int i = 0; i < nobj; i++)
        if (alive(i) && (M[i].roots > 0 || (extra && extra(i)))) {
            r[i] = true;
            stack[sp++] = i;
        }
    while (sp) {
        int i = stack[--sp];
        for (int k = 0; k < NSLOT; k++) {
            int j = M[i].slot[k];
            if (j >= 0 && alive(j) && !r[j]) {
                r[j] = true;
                stack[sp++] = j;
            }
        }
    }
}

/* Weak references die when their count does: the model follows. */
static void settle_weak(void) {
    bool again = true;
    while (again) {
        again = false;
        count_all();
        for (int i = 0; i < nobj; i++)
            if (alive(i) && M[i].kind == K_WEAK && incoming[i] == 0)
                M[i].dead = again = true;
    }
}

static void set_edge(int from, int k, int to) { M[from].slot[k] = to; }

static int model_new(void *p, int heap, int kind) {
    if (nobj == MAXO)
        oracle_fail("too many objects");
    int i = nobj++;
    memset(&M[i], 0, sizeof M[i]);
    M[i].used = true;
    M[i].p = p;
    M[i].heap = heap;
    M[i].kind = kind;
    M[i].target = -1;
    for (int k = 0; k < NSLOT; k++)
        M[i].slot[k] = -1;
    if (kind != K_WEAK)
        ((obj *)p)->id = i;
    return i;
}

/* ------------------------------------------------------------- types */

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    obj *o = self;
    for (int k = 0; k < NSLOT; k++)
        visit(&o->s[k], arg);
}

static void node_clear(void *self) {
    obj *o = self;
    int i = o->id;
    M[i].cleared++;
    active[M[i].heap]++;
    for (int k = 0; k < NSLOT; k++) {
        void *v = o->s[k];
        o->s[k] = NULL;
        M[i].slot[k] = -1;
        rc_decref(v);
        settle_weak();
    }
    active[M[i].heap]--;
}

static bool reachable_now(int i) {
    static bool r[MAXO];
    reach(r, NULL);
    return r[i];
}

static void node_release(void *self) {
    int i = ((obj *)self)->id;
    if (trace)
        fprintf(stderr, "  release %d\n", i);
    if (!M[i].used || M[i].released)
        oracle_fail("object %d released twice", i);
    if (!(freeing == M[i].heap && free_collected) && reachable_now(i))
        oracle_fail("object %d (heap %d) released while reachable", i, M[i].heap);
    for (int k = 0; k < NSLOT; k++)
        if (M[i].slot[k] >= 0)
            oracle_fail("object %d released with a reference left", i);
    M[i].released = true;
    settle_weak();
}

static void node_finalize(void *self);
static const rc_type node_type = {"node",     sizeof(obj), node_traverse,
                                  node_clear, NULL,        node_release};
static const rc_type fin_type = {"fin",      sizeof(obj),   node_traverse,
                                 node_clear, node_finalize, node_release};
static const rc_type leaf_type = {"leaf", sizeof(obj), NULL, NULL, NULL, node_release};

static bool tracked_kind(int kind) { return kind != K_LEAF; }

/* --------------------------------------------------- gc start and stop */

static size_t leaks_at_stop;
typedef struct collection {
    int heap, gen;
    bool expected[MAXO]; /* garbage found at the start */
    size_t nexpected;
    unsigned events;
    unsigned allocs;
    unsigned seq;
} collection;
static collection colls[8];

static bool not_in_snap(int i) { return !M[i].in_snap; }

/* Outside a collection that started at seq `since`: not in its set, or
 * left it by dying by count (and, resurrected, tracked again) since. */
static unsigned since;
static bool outside(int i) { return !M[i].in_snap || M[i].count_death > since; }

static int snap_fn(void *o, void *arg) {
    (void)arg;
    int i = id_of(o);
    if (i < 0) {
        if (!making)
            oracle_fail("rc_gc_get_objects gave an object the model does not know");
        return 0; /* the object being made, held */
    }
    M[i].in_snap = true;
    return 0;
}

static void snapshot(int h, int gen) {
    for (int i = 0; i < nobj; i++)
        M[i].in_snap = false;
    for (int g = 0; g <= gen; g++)
        rc_gc_get_objects(heaps[h], g, snap_fn, NULL);
}

static void on_gc(rc_heap *hp, const char *phase, const rc_gc_info *info, void *arg) {
    (void)arg;
    int h = heap_index(hp);
    if (h < 0)
        oracle_fail("gc callback of an unknown heap");
    if (strcmp(phase, "start") == 0) {
        if (depth == 8)
            oracle_fail("collections nested too deep");
        for (int d = 0; d < depth; d++)
            if (stack_heap[d] == h)
                oracle_fail("a collection of heap %d started during one of it", h);
        if (depth > 0 && nested_at != depth)
            oracle_fail("a collection of heap %d started during another (automatic?)", h);
        nested_at = -1;
        collection *c = &colls[depth];
        stack_heap[depth++] = h;
        c->heap = h;
        c->gen = info->generation;
        snapshot(h, info->generation);
        static bool r[MAXO];
        reach(r, not_in_snap);
        c->nexpected = 0;
        for (int i = 0; i < nobj; i++) {
            c->expected[i] = alive(i) && M[i].in_snap && !r[i];
            c->nexpected += c->expected[i];
        }
        if (trace)
            for (int i = 0; i < nobj; i++)
                if (c->expected[i])
                    fprintf(
                        stderr,
                        "  start garbage %d kind %d fin %d count %zu slots %d %d %d finalized %d\n",
                        i, M[i].kind, M[i].kind == K_WEAK ? -1 : ((obj *)M[i].p)->fin,
                        rc_refcount(M[i].p), M[i].slot[0], M[i].slot[1], M[i].slot[2],
                        M[i].finalized);
        c->events = user_events;
        c->seq = ++seq;
        c->allocs = allocs_during;
        nstarts[h][info->generation]++;
        if (trace)
            fprintf(stderr, "  gc start heap %d gen %d depth %d: %zu garbage\n", h,
                    info->generation, depth, c->nexpected);
        return;
    }
    collection *c = &colls[--depth];
    if (c->heap != h || c->gen != info->generation)
        oracle_fail("gc stop of another collection");
    ncollected[h][info->generation] += info->collected;
    static bool r[MAXO];
    reach(r, NULL);
    /* what is still garbage: unreached by the program and by what is
     * outside the collection (objects made since count as outside) */
    for (int i = 0; i < nobj; i++)
        M[i].in_snap = c->expected[i];
    since = c->seq;
    reach(r, outside);
    bool foreign = false; /* a nested collection keeps garbage that refers to another heap */
    if (depth > 0)
        for (int i = 0; i < nobj; i++)
            if (c->expected[i] && alive(i))
                for (int k = 0; k < NSLOT; k++)
                    if (M[i].slot[k] >= 0 && M[M[i].slot[k]].heap != h)
                        foreign = true;
    if (trace)
        for (int i = 0; i < nobj; i++)
            if (c->expected[i])
                fprintf(stderr,
                        "  garbage %d: alive %d reached %d count %zu slots %d %d %d cleared %d fin "
                        "%d\n",
                        i, alive(i), r[i], alive(i) ? rc_refcount(M[i].p) : 0, M[i].slot[0],
                        M[i].slot[1], M[i].slot[2], M[i].cleared, M[i].finalized);
    for (int i = 0; i < nobj; i++)
        if (c->expected[i] && alive(i) && !r[i] && !foreign)
            oracle_fail("heap %d gen %d: garbage object %d (kind %d) left alive", h, c->gen, i,
                        M[i].kind);
    if (c->events == user_events && info->collected != c->nexpected)
        oracle_fail("heap %d gen %d: collected %zu, the model found %zu", h, c->gen,
                    info->collected, c->nexpected);
    if (h == freeing && depth == free_depth) {
        size_t n = 0;
        for (int i = 0; i < nobj; i++)
            n += alive(i) && M[i].heap == h;
        leaks_at_stop = n;
        free_collected = true;
    }
    if (trace)
        fprintf(stderr, "  gc stop heap %d gen %d: %zu collected\n", h, c->gen, info->collected);
}

/* ------------------------------------------------------------ finalizers */

static bool heap_collecting(int h) {
    for (int d = 0; d < depth; d++)
        if (stack_heap[d] == h)
            return true;
    return false;
}

static void make_in(int h, int kind, int fin, int *id_out);
static void free_heap(int h);
static bool may_free(int h);
static int random_alive(bool want_reachable, bool nodes_only, int heap);

static void finalize_body(obj *o, int i);

/* A finalizer runs with a reference held (by the collector, or by the death
 * that called it): the model holds it too meanwhile. */
static void node_finalize(void *self) {
    obj *o = self;
    int i = o->id;
    M[i].roots++;
    active[M[i].heap]++;
    finalize_body(o, i);
    active[M[i].heap]--;
    M[i].roots--;
}

static void finalize_body(obj *o, int i) {
    /* one whose count reached 0 (not the collector's call) leaves any
     * collection it was in; resurrected, it is tracked again in
     * generation 0 (CPython's dealloc), and its cycle waits */
    if (!rc_gc_is_finalized(o))
        M[i].count_death = ++seq;
    if (trace)
        fprintf(stderr, "  finalize %d (heap %d, fin %d, other %d, gen %d) depth %d by gc %d\n", i,
                M[i].heap, o->fin, o->other, o->gen, depth, rc_gc_is_finalized(o));
    user_events++;
    if (M[i].finalized++)
        oracle_fail("finalizer of %d ran twice", i);
    /* a frozen object is finalized only when its count reaches 0; if it is
     * resurrected, it is tracked again in generation 0, as in CPython */
    M[i].frozen = false;
    switch (o->fin) {
    case F_RESURRECT:
        rc_incref(o);
        M[i].roots++;
        break;
    case F_ALLOC:
        if (o->other != freeing && o->other < nheaps) {
            int j;
            make_in(o->other, K_NODE, 0, &j); /* the program holds it for a moment */
            void *old = o->s[2];
            o->s[2] = M[j].p;
            set_edge(i, 2, j);
            M[j].roots--;
            rc_decref(old); /* the model's edge is gone already */
            settle_weak();
        }
        break;
    case F_FREE: {
        int h = o->other;
        if (freeing == -1 && h < nheaps && h != M[i].heap && !heap_collecting(h) && !active[h] &&
            may_free(h)) {
            if (trace)
                fprintf(stderr, "  finalizer frees heap %d\n", h);
            free_heap(h);
        }
        break;
    }
    case F_LINK: {
        /* a reference to what the program or a running finalizer reaches
         * (another collection's garbage, say), in the dying object */
        int j = random_alive(true, false, -1);
        if (j >= 0) {
            void *old = o->s[2];
            if (trace)
                fprintf(stderr, "  finalizer links %d.2 -> %d (heap %d)\n", i, j, M[j].heap);
            o->s[2] = rc_incref(M[j].p);
            set_edge(i, 2, j);
            rc_decref(old);
            settle_weak();
        }
        break;
    }
    case F_COLLECT:
        if (o->other != freeing && o->other < nheaps) {
            int h = o->other, g = o->gen;
            bool expect = !heap_collecting(h);
            if (expect && depth > 0) {
                snapshot(h, g);
                for (int j = 0; j < nobj && expect; j++)
                    if (alive(j) && M[j].in_snap)
                        for (int k = 0; k < NSLOT; k++)
                            if (M[j].slot[k] >= 0 && M[M[j].slot[k]].heap != h)
                                expect = false;
            }
            size_t before = nstarts[h][g];
            nested_at = depth;
            long n = rc_gc_collect(heaps[h], g);
            nested_at = -1;
            bool started = nstarts[h][g] != before;
            if (started != expect)
                oracle_fail(
                    "nested collection of heap %d gen %d: started %d, expected %d (got %ld)", h, g,
                    started, expect, n);
            if (!started && n != 0)
                oracle_fail("a collection that did not start returned %ld", n);
        }
        break;
    default:
        break;
    }
}

static void weak_cb(rc_weakref *ref, void *arg) {
    int i = -1;
    for (int j = 0; j < nobj && i < 0; j++)
        if (M[j].used && M[j].kind == K_WEAK && M[j].token == (int)(intptr_t)arg)
            i = j;
    user_events++;
    if (i < 0)
        oracle_fail("weak reference callback of an unknown reference");
    if (M[i].p != ref || !alive(i))
        oracle_fail("weak reference callback of %d, not alive", i);
    if (M[i].fired++)
        oracle_fail("weak reference callback of %d ran twice", i);
    M[i].roots++; /* held while it runs */
    /* a weak reference whose target is a collection's garbage leaves even
     * the permanent generation for the collection's old one (CPython's
     * handle_weakrefs moves it) */
    if (depth > 0 && colls[depth - 1].heap == M[i].heap && colls[depth - 1].expected[M[i].target])
        M[i].frozen = false;
    int t = M[i].target;
    if (alive(t) && reachable_now(t))
        oracle_fail("weak reference callback of %d while its target %d is reachable", i, t);
    M[i].roots--;
}

/* -------------------------------------------------------- operations */

static void make_in(int h, int kind, int fin, int *id_out) {
    const rc_type *t = kind == K_NODE ? &node_type : kind == K_FIN ? &fin_type : &leaf_type;
    /* an automatic collection may run once the object is made: it must be
     * in the model (held) by then, so gc callbacks see it. rc_new zeroes
     * the object, and the collection only reads it through traverse. */
    allocs_during++;
    making++;
    obj *o = rc_new(heaps[h], t);
    making--;
    if (o == NULL)
        oracle_fail("rc_new failed");
    /* the collection, if any, ran inside rc_new with the object unknown to
     * the model: it survived (held), and is not in its generation 0 set */
    int i = model_new(o, h, kind);
    o->fin = fin;
    o->other = (int)pick(MAXH);
    o->gen = (int)pick(3);
    M[i].roots = 1;
    *id_out = i;
}

static int random_alive(bool want_reachable, bool nodes_only, int heap) {
    static bool r[MAXO];
    reach(r, NULL);
    int c[MAXO], n = 0;
    for (int i = 0; i < nobj; i++)
        if (alive(i) && (!want_reachable || r[i]) &&
            (!nodes_only || M[i].kind == K_NODE || M[i].kind == K_FIN) &&
            (heap < 0 || M[i].heap == heap) &&
            M[i].heap != freeing) /* going: nothing may keep it */
            c[n++] = i;
    return n ? c[pick((unsigned)n)] : -1;
}

static int held(void) {
    int c[MAXO], n = 0;
    for (int i = 0; i < nobj; i++)
        if (alive(i) && M[i].roots > 0)
            c[n++] = i;
    return n ? c[pick((unsigned)n)] : -1;
}

static int ccount(void *o, void *arg) {
    (void)o;
    ++*(size_t *)arg;
    return 0;
}

static int dump_fn(void *o, void *arg) {
    (void)arg;
    fprintf(stderr, "  listed: %d (%s)\n", id_of(o), rc_type_of(o)->name);
    return 0;
}

static void check_all(void) {
    settle_weak();
    count_all();
    static bool r[MAXO];
    reach(r, NULL);
    for (int i = 0; i < nobj; i++) {
        if (!alive(i))
            continue;
        int want = incoming[i];
        if (want == 0)
            oracle_fail("object %d (kind %d) has no reference but was not released", i, M[i].kind);
        if (rc_refcount(M[i].p) != (size_t)want)
            oracle_fail("object %d (kind %d, heap %d): count %zu, model %d", i, M[i].kind,
                        M[i].heap, rc_refcount(M[i].p), want);
        if (M[i].kind == K_WEAK && r[i]) {
            int t = M[i].target;
            void *got = rc_weakref_get(M[i].p);
            if (got && (!alive(t) || got != M[t].p))
                oracle_fail("weak reference %d gives a dead or wrong target", i);
            rc_decref(got);
        }
    }
    for (int h = 0; h < nheaps; h++) {
        size_t objects = 0, tracked = 0, frozen = 0, listed = 0;
        for (int i = 0; i < nobj; i++)
            if (alive(i) && M[i].heap == h) {
                objects++;
                tracked += tracked_kind(M[i].kind);
                frozen += M[i].frozen;
            }
        rc_heap_stats st;
        rc_heap_get_stats(heaps[h], &st);
        if (st.objects != objects || st.tracked != tracked)
            oracle_fail("heap %d: stats %zu objects %zu tracked, model %zu %zu", h, st.objects,
                        st.tracked, objects, tracked);
        rc_gc_get_objects(heaps[h], -1, ccount, &listed);
        if (listed != tracked - frozen && trace) {
            for (int i = 0; i < nobj; i++)
                if (alive(i) && M[i].heap == h)
                    fprintf(stderr, "  model: %d kind %d frozen %d count %zu\n", i, M[i].kind,
                            M[i].frozen, rc_refcount(M[i].p));
            rc_gc_get_objects(heaps[h], -1, dump_fn, NULL);
        }
        if (listed != tracked - frozen)
            oracle_fail("heap %d: get_objects %zu, model %zu", h, listed, tracked - frozen);
        if (rc_gc_get_freeze_count(heaps[h]) != frozen)
            oracle_fail("heap %d: freeze count %zu, model %zu", h, rc_gc_get_freeze_count(heaps[h]),
                        frozen);
        rc_gc_stats s[3];
        rc_gc_get_stats(heaps[h], s);
        for (int g = 0; g < 3; g++)
            if (s[g].collections != nstarts[h][g] || s[g].collected != ncollected[h][g] ||
                s[g].uncollectable)
                oracle_fail("heap %d gen %d: stats %zu/%zu, callbacks saw %zu/%zu", h, g,
                            s[g].collections, s[g].collected, nstarts[h][g], ncollected[h][g]);
        long cnt[3];
        rc_gc_get_count(heaps[h], cnt);
        if (cnt[0] < 0 || cnt[1] < 0 || cnt[2] < 0)
            oracle_fail("heap %d: negative count", h);
    }
}

static void new_heap(int h) {
    heaps[h] = rc_heap_new();
    memset(nstarts[h], 0, sizeof nstarts[h]);
    memset(ncollected[h], 0, sizeof ncollected[h]);
    rc_gc_callback_add(heaps[h], on_gc, NULL);
    if (pick(2)) {
        rc_gc_set_threshold(heaps[h], 3 + (long)pick(20), 1 + (long)pick(4), 1 + (long)pick(4));
    } else {
        rc_gc_disable(heaps[h]);
    }
}

/* rc_heap_free of h: none of another heap's objects refers to it. */
static bool may_free(int h) {
    for (int i = 0; i < nobj; i++)
        if (alive(i) && M[i].heap != h)
            for (int k = 0; k < NSLOT; k++)
                if (M[i].slot[k] >= 0 && alive(M[i].slot[k]) && M[M[i].slot[k]].heap == h)
                    return false;
    return true;
}

static void free_heap(int h) {
    leaks_at_stop = (size_t)-1;
    /* nested in another heap's collection, its own does not start when
     * one of its objects (not frozen) refers to another heap's */
    bool refused = false;
    size_t alive_now = 0;
    for (int i = 0; i < nobj; i++)
        if (alive(i) && M[i].heap == h) {
            alive_now++;
            for (int k = 0; k < NSLOT && depth > 0 && !M[i].frozen; k++)
                refused |= M[i].slot[k] >= 0 && M[M[i].slot[k]].heap != h;
        }
    free_collected = refused;
    free_depth = depth;
    freeing = h;
    size_t before = nstarts[h][2];
    nested_at = depth;
    size_t leaks = rc_heap_free(heaps[h]);
    nested_at = -1;
    if ((nstarts[h][2] == before) != refused)
        oracle_fail("rc_heap_free of heap %d: collection started %d, refused expected %d", h,
                    nstarts[h][2] != before, refused);
    if (refused)
        leaks_at_stop = alive_now;
    freeing = -1;
    free_collected = false;
    for (int i = 0; i < nobj; i++)
        if (M[i].used && M[i].heap == h && !M[i].released && M[i].kind != K_WEAK && !M[i].dead)
            oracle_fail("heap %d freed, object %d not released", h, i);
    for (int i = 0; i < nobj; i++)
        if (M[i].used && M[i].heap == h) {
            if (M[i].kind == K_FIN && !M[i].finalized)
                oracle_fail("heap %d freed, finalizer of %d not run", h, i);
            M[i].used = false;
        }
    if (leaks != leaks_at_stop)
        oracle_fail("rc_heap_free of heap %d: %zu leaks, model %zu", h, leaks, leaks_at_stop);
    new_heap(h);
    settle_weak();
}

static void op(void) {
    unsigned r = pick(100);
    int h = (int)pick((unsigned)nheaps);
    if (r < 22) { /* make */
        unsigned k = pick(10);
        int kind = k < 5 ? K_NODE : k < 8 ? K_FIN : K_LEAF, i;
        make_in(h, kind, (int)pick(F_NKINDS), &i);
        if (trace)
            fprintf(stderr, "new %d heap %d kind %d fin %d\n", i, h, kind, ((obj *)M[i].p)->fin);
    } else if (r < 50) { /* link */
        int a = random_alive(true, true, -1), b = random_alive(true, false, -1);
        if (a < 0 || b < 0)
            return;
        int k = (int)pick(NSLOT);
        obj *o = M[a].p;
        if (trace)
            fprintf(stderr, "link %d.%d -> %d\n", a, k, b);
        void *old = o->s[k];
        o->s[k] = rc_incref(M[b].p);
        set_edge(a, k, b);
        rc_decref(old);
    } else if (r < 58) { /* unlink */
        int a = random_alive(true, true, -1);
        if (a < 0)
            return;
        int k = (int)pick(NSLOT);
        obj *o = M[a].p;
        if (trace)
            fprintf(stderr, "unlink %d.%d\n", a, k);
        void *old = o->s[k];
        o->s[k] = NULL;
        set_edge(a, k, -1);
        rc_decref(old);
    } else if (r < 72) { /* drop */
        int a = held();
        if (a < 0)
            return;
        if (trace)
            fprintf(stderr, "drop %d\n", a);
        M[a].roots--;
        settle_weak();
        rc_decref(M[a].p);
    } else if (r < 76) { /* hold again */
        int a = random_alive(true, false, -1);
        if (a < 0)
            return;
        if (trace)
            fprintf(stderr, "hold %d\n", a);
        rc_incref(M[a].p);
        M[a].roots++;
    } else if (r < 86) { /* collect */
        int g = (int)pick(3);
        if (trace)
            fprintf(stderr, "collect heap %d gen %d\n", h, g);
        size_t before = nstarts[h][g];
        long n = rc_gc_collect(heaps[h], g);
        if (nstarts[h][g] != before + 1)
            oracle_fail("collection of heap %d did not start", h);
        if (n < 0)
            oracle_fail("rc_gc_collect failed");
    } else if (r < 92) { /* weak reference, held by an object of another heap or the program */
        int t = random_alive(true, false, -1);
        if (t < 0 || M[t].kind == K_WEAK)
            return;
        bool cb = pick(2);
        int token = ++weak_tokens;
        allocs_during++;
        making++;
        rc_weakref *w = cb ? rc_weakref_new(M[t].p, weak_cb, (void *)(intptr_t)token)
                           : rc_weakref_new(M[t].p, NULL, NULL);
        making--;
        if (w == NULL)
            oracle_fail("rc_weakref_new failed");
        int j = id_of(w);
        if (j < 0) {
            j = model_new(w, M[t].heap, K_WEAK);
            M[j].token = token;
            M[j].target = t;
            M[j].roots = 1;
        } else {
            M[j].roots++; /* reused */
        }
        if (trace)
            fprintf(stderr, "weakref %d to %d cb %d\n", j, t, cb);
        int holder = random_alive(true, true, (M[t].heap + 1) % nheaps);
        if (holder >= 0 && pick(2)) {
            obj *o = M[holder].p;
            void *old = o->s[1];
            o->s[1] = w;
            set_edge(holder, 1, j);
            M[j].roots--;
            rc_decref(old);
            settle_weak();
        }
    } else if (r < 94) {
        if (trace)
            fprintf(stderr, "freeze heap %d\n", h);
        rc_gc_freeze(heaps[h]);
        for (int i = 0; i < nobj; i++)
            if (alive(i) && M[i].heap == h && tracked_kind(M[i].kind))
                M[i].frozen = true;
    } else if (r < 96) {
        if (trace)
            fprintf(stderr, "unfreeze heap %d\n", h);
        rc_gc_unfreeze(heaps[h]);
        for (int i = 0; i < nobj; i++)
            if (M[i].heap == h)
                M[i].frozen = false;
    } else if (r < 98) {
        if (!may_free(h))
            return;
        if (trace)
            fprintf(stderr, "free heap %d\n", h);
        free_heap(h);
    } else {
        for (int i = 0; i < nobj; i++)
            if (alive(i) && M[i].roots > 0 && pick(2)) {
                while (M[i].roots > 0) {
                    M[i].roots--;
                    rc_decref(M[i].p);
                    settle_weak();
                }
            }
    }
}

static void run_round(void) {
    rng = seed * 0x2545f4914f6cdd1dull + 1;
    nobj = 0;
    depth = 0;
    nheaps = 2 + (int)pick(2);
    for (int h = 0; h < nheaps; h++)
        new_heap(h);
    unsigned ops = 100 + pick(300);
    for (unsigned n = 0; n < ops; n++) {
        op();
        check_all();
    }
    /* the end: the program breaks every reference between heaps and
     * drops everything; full collections of each heap, in turn, then leave
     * nothing (objects held through a finalizer's resurrection are
     * dropped too) */
    for (int h = 0; h < nheaps; h++)
        rc_gc_unfreeze(heaps[h]);
    for (int i = 0; i < nobj; i++)
        M[i].frozen = false;
    bool any = true;
    for (int pass = 0; pass < 64 && any; pass++) { /* resurrections take passes */
        for (int i = 0; i < nobj; i++)
            for (int k = 0; k < NSLOT && alive(i) && M[i].kind != K_WEAK; k++) {
                int j = M[i].slot[k];
                if (j >= 0 && M[j].heap != M[i].heap) {
                    obj *o = M[i].p;
                    void *old = o->s[k];
                    o->s[k] = NULL;
                    set_edge(i, k, -1);
                    rc_decref(old);
                    settle_weak();
                }
            }
        for (int i = 0; i < nobj; i++)
            while (alive(i) && M[i].roots > 0) {
                M[i].roots--;
                settle_weak();
                rc_decref(M[i].p);
            }
        for (int h = 0; h < nheaps; h++)
            rc_gc_collect(heaps[h], 2);
        any = false;
        for (int i = 0; i < nobj; i++)
            any |= alive(i);
    }
    check_all();
    for (int i = 0; i < nobj; i++)
        if (alive(i))
            oracle_fail("at the end, object %d (kind %d, heap %d) is alive", i, M[i].kind,
                        M[i].heap);
    for (int h = 0; h < nheaps; h++) {
        freeing = h;
        nested_at = depth;
        size_t leaks = rc_heap_free(heaps[h]);
        nested_at = -1;
        freeing = -1;
        if (leaks)
            oracle_fail("heap %d: %zu leaks at the end", h, leaks);
    }
}

START_TEST(random_heaps) {
    const char *v = getenv("RCGC_ORACLE_ROUNDS");
    unsigned long rounds = v && *v ? strtoul(v, NULL, 0) : 1000;
    if (getenv("RCGC_VALGRIND"))
        rounds = (rounds + 9) / 10;
    v = getenv("RCGC_ORACLE_SEED");
    uint64_t base = v && *v ? strtoull(v, NULL, 0) : 1;
    trace = getenv("RCGC_ORACLE_TRACE") != NULL;
    for (unsigned long k = 0; k < rounds; k++) {
        seed = base + k;
        if (trace)
            fprintf(stderr, "seed %llu\n", (unsigned long long)seed);
        run_round();
    }
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("gc_heaps_oracle");
    add_case(s, tcase_create("random_heaps"), random_heaps);
    return s;
}
