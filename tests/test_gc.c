/*
 * test_gc.c — the cycle collector. The first part mirrors CPython 3.12's
 * Lib/test/test_gc.py case by case (named in each comment; cases about
 * Python-only objects — classes, frames, functions, modules, tp_del legacy
 * finalizers, threads, interpreter shutdown — have no counterpart). Values
 * CPython's test only bounds (assertNotEqual(gc.collect(), 0)) are asserted
 * exactly here, as python3.12 prints them for the same graph of __slots__
 * objects. The second part covers what rcgc adds: error paths, the debug
 * log lines, callbacks, freeze, SAVEALL, walks, heap teardown.
 */
#include "check_main.h"
#include "test_support.h"

#include <rcgc.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

typedef struct node {
    struct node *a, *b;
    int id;
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit((void **)&n->a, arg);
    visit((void **)&n->b, arg);
}

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, NULL};
static const rc_type leaf_type = {"leaf", sizeof(node), NULL, NULL, NULL, NULL};

static rc_heap *H;

static void setup(void) {
    H = rc_heap_new();
    rc_gc_disable(H); /* setUpModule: gc.disable() */
}

static void teardown(void) { ck_assert_uint_eq(rc_heap_free(H), 0); }

static node *make(void) {
    node *n = rc_new(H, &node_type);
    ck_assert_ptr_nonnull(n);
    return n;
}

static node *make_typed(const rc_type *t) {
    node *n = rc_new(H, t);
    ck_assert_ptr_nonnull(n);
    return n;
}

/* A self-cycle of one fresh object, dropped: cyclic garbage. */
static node *self_cycle(const rc_type *t) {
    node *n = make_typed(t);
    n->a = rc_incref(n);
    rc_decref(n);
    return n;
}

/* Walk helpers: count objects, or look for one. */
static int count_fn(void *obj, void *arg) {
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

static size_t count_gen(int gen) {
    size_t n = 0;
    ck_assert_int_eq(rc_gc_get_objects(H, gen, count_fn, &n), 0);
    return n;
}

static int is_fn(void *obj, void *arg) { return obj == arg; }

static bool in_gen(const void *obj, int gen) {
    return rc_gc_get_objects(H, gen, is_fn, (void *)obj) == 1;
}

static void assert_count(long c0, long c1, long c2) {
    long c[3];
    rc_gc_get_count(H, c);
    ck_assert_int_eq(c[0], c0);
    ck_assert_int_eq(c[1], c1);
    ck_assert_int_eq(c[2], c2);
}

/* Captured debug lines. */
static char lines[64][160];
static int nlines;

static void capture(const char *line, void *arg) {
    (void)arg;
    if (nlines < 64)
        snprintf(lines[nlines++], sizeof lines[0], "%s", line);
}

/* ================================================== CPython's test_gc.py */

/* GCTests.test_list, test_dict, test_instance, test_newinstance,
 * test_method: one object referring to itself. */
START_TEST(test_list) {
    rc_gc_collect(H, 2);
    self_cycle(&node_type);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
}
END_TEST

/* GCTests.test_tuple: l = []; t = (l,); l.append(t) */
START_TEST(test_tuple) {
    node *l = make(), *t = make();
    t->a = rc_incref(l);
    l->a = rc_incref(t);
    rc_decref(t);
    rc_decref(l);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
}
END_TEST

/* GCTests.test_saveall: the garbage goes to the garbage list, itself. */
static int first_fn(void *obj, void *arg) {
    *(void **)arg = obj;
    return 1;
}

START_TEST(test_saveall) {
    rc_gc_collect(H, 2);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 0);
    node *l = self_cycle(&node_type);
    unsigned debug = rc_gc_get_debug(H);
    rc_gc_set_debug(H, debug | RC_GC_DEBUG_SAVEALL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    rc_gc_set_debug(H, debug);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 1);
    void *obj = NULL;
    ck_assert_int_eq(rc_gc_garbage(H, first_fn, &obj), 1);
    ck_assert_ptr_eq(obj, l);
    ck_assert_uint_eq(rc_refcount(l), 2); /* its cycle and the garbage list */
    ck_assert(in_gen(l, 2));
    RC_CLEAR(l->a);  /* gc.garbage.pop(): what is left is the list's */
    rc_gc_garbage_clear(H);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 0);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* GCTests.test_del and test_del_newclass: a finalizer that allocates (and
 * so collects, with threshold 1) while its object dies. */
static void allocating_finalizer(void *self) {
    node *tmp[4];
    for (int i = 0; i < 4; i++)
        tmp[i] = rc_new(rc_heap_of(self), &node_type); /* dir(self) */
    for (int i = 0; i < 4; i++)
        rc_decref(tmp[i]);
}

START_TEST(test_del) {
    static const rc_type a_type = {"A", sizeof(node), node_traverse, NULL, allocating_finalizer,
                                   NULL};
    rc_gc_enable(H);
    rc_gc_set_threshold(H, 1, 10, 10);
    node *a = make_typed(&a_type);
    rc_decref(a);
    self_cycle(&a_type); /* and once through the collector */
    rc_gc_collect(H, 2);
    rc_gc_disable(H);
    rc_gc_set_threshold(H, 700, 10, 10);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* GCTests.test_get_count: exact here, as nothing else allocates. */
START_TEST(test_get_count) {
    rc_gc_collect(H, 2);
    assert_count(0, 0, 0);
    node *x = make();
    assert_count(1, 0, 0);
    rc_decref(x); /* a tracked object's death lowers count0 */
    assert_count(0, 0, 0);
}
END_TEST

/* GCTests.test_collect_generations: x trickles one generation up per
 * collection; (b, c) == (1, 0), (e, f) == (0, 1), (h, i) == (0, 0). */
START_TEST(test_collect_generations) {
    rc_gc_collect(H, 2);
    node *x = make();
    rc_gc_collect(H, 0);
    assert_count(0, 1, 0);
    ck_assert(in_gen(x, 1));
    rc_gc_collect(H, 1);
    assert_count(0, 0, 1);
    ck_assert(in_gen(x, 2));
    rc_gc_collect(H, 2);
    assert_count(0, 0, 0);
    ck_assert(in_gen(x, 2));
    rc_decref(x);
}
END_TEST

/* GCTests.test_trashcan: deep chains of objects whose finalizers collect
 * every 17th time, with automatic collection on. */
static int ouch_n;

static void ouch_finalize(void *self) {
    if (++ouch_n % 17 == 0)
        rc_gc_collect(rc_heap_of(self), 2);
}

START_TEST(test_trashcan) {
    static const rc_type ouch = {"Ouch", sizeof(node), node_traverse, NULL, ouch_finalize, NULL};
    rc_gc_enable(H);
    const int n = 150;
    for (int count = 0; count < 2; count++) {
        for (int shape = 0; shape < 3; shape++) {
            node *t = make();
            for (int i = 0; i < n; i++) {
                node *u = make(); /* t = [t, Ouch()] */
                u->a = t;
                u->b = make_typed(&ouch);
                t = u;
            }
            rc_decref(t);
        }
    }
    rc_gc_disable(H);
    ck_assert_int_eq(ouch_n, 2 * 3 * n);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* GCTests.test_boom (and test_boom_new, its new-style-class twin):
 * breaking the cycle while the collector works on it (there, a __getattr__
 * asked whether __del__ exists; here, clear drops the partner's last
 * reference first, so the partner dies inside delete_garbage while the
 * collector still lists it). Both are counted: 2. */
static void boom_clear(void *self) {
    node *n = self;
    RC_CLEAR(n->a);
}

START_TEST(test_boom) {
    static const rc_type boom = {"Boom", sizeof(node), node_traverse, boom_clear, NULL, NULL};
    node *a = make_typed(&boom), *b = make_typed(&boom);
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    rc_gc_collect(H, 2);
    rc_decref(a);
    rc_decref(b);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 0);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* GCTests.test_get_referents: every slot visited, in order, duplicates
 * too; an untracked object has none. */
static int collect_fn(void *obj, void *arg) {
    void **out = arg;
    for (int i = 0; i < 8; i++) {
        if (out[i] == NULL) {
            out[i] = obj;
            return 0;
        }
    }
    return 0;
}

/* GCTests.test_boom2 (and test_boom2_new): like test_boom, but the hook
 * the collector consults (there __getattr__; here the finalizer, the one
 * hook rcgc calls before breaking a cycle) would cut the cycle only when
 * consulted a second time. It is consulted once per object, so the cycle is
 * simply collected: 2, the garbage list unchanged (python3, __slots__). */
static int boom2_calls;

static void boom2_finalize(void *self) {
    node *n = self;
    boom2_calls++;
    if (++n->id > 1)
        RC_CLEAR(n->a); /* del self.attr */
}

START_TEST(test_boom2) {
    static const rc_type boom2 = {"Boom2", sizeof(node), node_traverse, NULL, boom2_finalize,
                                  NULL};
    node *a = make_typed(&boom2), *b = make_typed(&boom2);
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    rc_gc_collect(H, 2);
    size_t garbagelen = rc_gc_garbage_count(H);
    rc_decref(a);
    rc_decref(b);
    boom2_calls = 0;
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_uint_eq(rc_gc_garbage_count(H), garbagelen);
    ck_assert_int_eq(boom2_calls, 2);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
}
END_TEST

/* GCTests.test_function_tp_clear_leaves_consistent_state (gh-91636), with
 * plain objects for the function and the tuple subclass: cyc <-> func are
 * cyclic garbage; cyc's finalizer makes a weak reference to func (after the
 * collector cleared those to the garbage, so it lives) and hands it to
 * latefin, outside the garbage, whose last reference it moves into cyc.
 * Clearing func frees cyc, which frees latefin, whose finalizer asks the
 * weak reference for func while func is being cleared: it gets func back,
 * already cleared (its fields NULL) and consistent. python3 (3.11,
 * __slots__): collect() 2, func handed back with a count of 1, then 0. */
static node *latefin_global, *func_global;

static void latefin_finalize(void *self) {
    node *l = self;
    func_global = rc_weakref_get((rc_weakref *)l->a); /* func = self.ref() */
}

static void cyclic_finalize(void *self) {
    node *c = self;
    RC_SET(c->b->a, (node *)rc_weakref_new(c->a, NULL, NULL)); /* self[1].ref = ref(self[0]) */
    RC_CLEAR(latefin_global);                                   /* del latefin */
}

START_TEST(test_function_tp_clear_leaves_consistent_state) {
    static const rc_type func_type = {"func", sizeof(node), node_traverse, NULL, NULL, NULL};
    static const rc_type latefin_type = {"LateFin", sizeof(node), node_traverse, NULL,
                                         latefin_finalize, NULL};
    static const rc_type cyclic_type = {"Cyclic", sizeof(node), node_traverse, NULL,
                                        cyclic_finalize, NULL};
    latefin_global = make_typed(&latefin_type);
    node *func = make_typed(&func_type), *cyc = make_typed(&cyclic_type);
    cyc->a = func;                          /* the creation reference, stolen */
    cyc->b = rc_incref(latefin_global);
    func->a = cyc;                          /* func.__module__ = cyc, stolen */
    func_global = NULL;
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_ptr_null(latefin_global);
    ck_assert_ptr_eq(func_global, func);
    ck_assert_ptr_null(func_global->a);
    ck_assert_ptr_null(func_global->b);
    ck_assert_uint_eq(rc_refcount(func_global), 1);
    RC_CLEAR(func_global);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
}
END_TEST

START_TEST(test_get_referents) {
    node *x = make(), *y = make();
    x->a = rc_incref(y);
    x->b = rc_incref(y);
    void *got[8] = {0};
    ck_assert_int_eq(rc_gc_get_referents(x, collect_fn, got), 0);
    ck_assert_ptr_eq(got[0], y);
    ck_assert_ptr_eq(got[1], y);
    ck_assert_ptr_null(got[2]);
    memset(got, 0, sizeof got);
    ck_assert_int_eq(rc_gc_get_referents(y, collect_fn, got), 0); /* NULL slots skipped */
    ck_assert_ptr_null(got[0]);
    node *leaf = make_typed(&leaf_type);
    ck_assert_int_eq(rc_gc_get_referents(leaf, collect_fn, got), 0);
    ck_assert_ptr_null(got[0]);
    ck_assert_int_eq(rc_gc_get_referents(NULL, collect_fn, got), 0);
    ck_assert_ptr_null(got[0]);
    void *first = NULL;
    ck_assert_int_eq(rc_gc_get_referents(x, first_fn, &first), 1); /* early stop */
    ck_assert_ptr_eq(first, y);
    rc_decref(leaf);
    rc_decref(x);
    rc_decref(y);
}
END_TEST

/* GCTests.test_is_tracked: atomic (untracked) types are not tracked,
 * containers and weak references are. */
START_TEST(test_is_tracked) {
    node *leaf = make_typed(&leaf_type), *n = make();
    ck_assert(!rc_gc_is_tracked(leaf));
    ck_assert(rc_gc_is_tracked(n));
    rc_weakref *wr = rc_weakref_new(leaf, NULL, NULL);
    ck_assert(rc_gc_is_tracked(wr));
    rc_gc_freeze(H);
    ck_assert(rc_gc_is_tracked(n)); /* frozen objects are still tracked */
    rc_gc_unfreeze(H);
    rc_decref(wr);
    rc_decref(leaf);
    rc_decref(n);
}
END_TEST

/* GCTests.test_is_finalized: Lazarus resurrects itself from a cycle. And
 * inside its finalizer, as CPython 3.12 answers: true when the collector
 * runs it (marked first, finalize_garbage), false when its count reached
 * zero (PyObject_CallFinalizer marks it after). */
static node *storage;
static int finalized_inside = -1;

static void lazarus_finalize(void *self) {
    finalized_inside = rc_gc_is_finalized(self);
    storage = rc_incref(self);
}

static const rc_type lazarus_type = {"Lazarus", sizeof(node), node_traverse, NULL,
                                     lazarus_finalize, NULL};

START_TEST(test_is_finalized) {
    node *leaf = make_typed(&leaf_type);
    ck_assert(!rc_gc_is_finalized(leaf));
    rc_decref(leaf);
    node *lazarus = make_typed(&lazarus_type);
    ck_assert(!rc_gc_is_finalized(lazarus));
    lazarus->a = rc_incref(lazarus);
    rc_decref(lazarus);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_ptr_eq(storage, lazarus);
    ck_assert_int_eq(finalized_inside, 1);
    ck_assert(rc_gc_is_finalized(lazarus));
    RC_CLEAR(storage);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    node *by_count = make_typed(&lazarus_type);
    rc_decref(by_count); /* resurrected into storage */
    ck_assert_int_eq(finalized_inside, 0);
    ck_assert_ptr_eq(storage, by_count);
    ck_assert(rc_gc_is_finalized(by_count));
    RC_CLEAR(storage);
}
END_TEST

/* GCTests.test_bug1055820b: callbacks of reachable weak references to
 * cyclic trash run after every weak reference to the trash is cleared, so
 * they can resurrect nothing: both see NULL. */
static rc_weakref *WRs[2];
static void *ouch[2];
static int nouch;

static void materialize(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    nouch = 0;
    for (int i = 0; i < 2; i++)
        ouch[nouch++] = rc_weakref_get(WRs[i]);
}

START_TEST(test_bug1055820b) {
    node *cs[2];
    for (int i = 0; i < 2; i++) {
        cs[i] = make(); /* C1055820: a self-loop */
        cs[i]->a = rc_incref(cs[i]);
        WRs[i] = rc_weakref_new(cs[i], materialize, NULL);
    }
    rc_gc_collect(H, 2);
    ck_assert_int_eq(nouch, 0);
    for (int i = 0; i < 2; i++)
        rc_decref(cs[i]); /* Cs = None */
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_int_eq(nouch, 2);
    ck_assert_ptr_null(ouch[0]);
    ck_assert_ptr_null(ouch[1]);
    rc_decref(WRs[0]);
    rc_decref(WRs[1]);
}
END_TEST

/* GCTests.test_bug21435: B's finalizer cuts B's link to A; both then die
 * by counting inside the collection (python3.12 returns 0). */
static void b_finalize(void *self) { RC_CLEAR(((node *)self)->a); }

START_TEST(test_bug21435) {
    static const rc_type b_type = {"B", sizeof(node), node_traverse, NULL, b_finalize, NULL};
    rc_gc_collect(H, 2);
    node *a = make(), *b = make_typed(&b_type);
    b->b = make(); /* b.x = A() */
    a->a = b;
    b->a = a;
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* GCTests.test_get_stats */
START_TEST(test_get_stats) {
    rc_gc_stats old[3], new[3];
    rc_gc_get_stats(H, old);
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(old[i].collections + old[i].collected + old[i].uncollectable, 0);
    rc_gc_collect(H, 0);
    rc_gc_get_stats(H, new);
    ck_assert_uint_eq(new[0].collections, old[0].collections + 1);
    ck_assert_uint_eq(new[1].collections, old[1].collections);
    ck_assert_uint_eq(new[2].collections, old[2].collections);
    self_cycle(&node_type);
    rc_gc_collect(H, 2);
    rc_gc_get_stats(H, new);
    ck_assert_uint_eq(new[0].collections, old[0].collections + 1);
    ck_assert_uint_eq(new[1].collections, old[1].collections);
    ck_assert_uint_eq(new[2].collections, old[2].collections + 1);
    ck_assert_uint_eq(new[2].collected, 1);
    ck_assert_uint_eq(new[2].uncollectable, 0);
}
END_TEST

/* GCTests.test_freeze */
START_TEST(test_freeze) {
    node *x = make();
    rc_gc_collect(H, 0); /* counts 0 1 0: freeze zeroes every one, as python3 shows */
    node *y = make(), *z = make();
    assert_count(2, 1, 0);
    rc_gc_freeze(H);
    ck_assert_uint_eq(rc_gc_get_freeze_count(H), 3);
    assert_count(0, 0, 0);
    rc_decref(y);
    rc_decref(z);
    rc_gc_unfreeze(H);
    ck_assert_uint_eq(rc_gc_get_freeze_count(H), 0);
    ck_assert(in_gen(x, 2)); /* back into the oldest generation */
    rc_decref(x);
}
END_TEST

/* GCTests.test_get_objects */
START_TEST(test_get_objects) {
    rc_gc_collect(H, 2);
    node *l = make();
    l->a = rc_incref(l);
    ck_assert(in_gen(l, 0) && !in_gen(l, 1) && !in_gen(l, 2));
    rc_gc_collect(H, 0);
    ck_assert(!in_gen(l, 0) && in_gen(l, 1) && !in_gen(l, 2));
    rc_gc_collect(H, 1);
    ck_assert(!in_gen(l, 0) && !in_gen(l, 1) && in_gen(l, 2));
    rc_gc_collect(H, 2);
    ck_assert(!in_gen(l, 0) && !in_gen(l, 1) && in_gen(l, 2));
    ck_assert(in_gen(l, -1));
    rc_decref(l);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
}
END_TEST

/* GCTests.test_get_objects_arguments */
START_TEST(test_get_objects_arguments) {
    node *x = make(), *y = make();
    rc_gc_collect(H, 0);
    ck_assert_uint_eq(count_gen(-1), count_gen(0) + count_gen(1) + count_gen(2));
    ck_assert_uint_eq(count_gen(-1), 2);
    size_t n = 0;
    errno = 0;
    ck_assert_int_eq(rc_gc_get_objects(H, 1000, count_fn, &n), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_gc_get_objects(H, -1000, count_fn, &n), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(rc_gc_get_objects(H, 3, count_fn, &n), -1);
    ck_assert_int_eq(rc_gc_get_objects(H, -2, count_fn, &n), -1);
    ck_assert_uint_eq(n, 0);
    rc_decref(x);
    rc_decref(y);
}
END_TEST

/* Lazarus of the resurrection tests: a self-loop whose finalizer counts
 * and stores itself. */
static int resurrected;
static node *resurrected_instances[4];
static int ninstances;

static void resurrector_finalize(void *self) {
    resurrected++;
    resurrected_instances[ninstances++] = rc_incref(self);
}

static const rc_type resurrector_type = {"Lazarus", sizeof(node), node_traverse, NULL,
                                         resurrector_finalize, NULL};

static void clear_instances(void) {
    while (ninstances)
        rc_decref(resurrected_instances[--ninstances]);
}

/* GCTests.test_resurrection_only_happens_once_per_object */
START_TEST(test_resurrection_only_happens_once_per_object) {
    rc_gc_collect(H, 2);
    self_cycle(&resurrector_type);
    ck_assert_int_eq(resurrected, 0);
    rc_gc_collect(H, 2);
    ck_assert_int_eq(resurrected, 1);
    ck_assert_int_eq(ninstances, 1);
    clear_instances();
    ck_assert_int_eq(resurrected, 1);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    ck_assert_int_eq(resurrected, 1);
}
END_TEST

/* GCTests.test_resurrection_is_transitive: laz <-> cargo; laz resurrects
 * and cargo survives with it, intact. */
START_TEST(test_resurrection_is_transitive) {
    rc_gc_collect(H, 2);
    node *laz = make_typed(&resurrector_type), *cargo = make();
    cargo->a = rc_incref(cargo);
    laz->a = cargo;
    cargo->b = laz;
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_int_eq(ninstances, 1);
    node *instance = resurrected_instances[0];
    ck_assert_ptr_eq(instance->a, cargo);
    ck_assert_ptr_eq(cargo->a, cargo);
    ck_assert_ptr_eq(cargo->b, laz);
    ck_assert(in_gen(cargo, 2) && in_gen(laz, 2));
    clear_instances();
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
}
END_TEST

/* GCTests.test_resurrection_does_not_block_cleanup_of_other_objects:
 * t == N, then 0, then N, then 2, and get_stats agrees. */
static node *zs[4];
static int nzs;

static void z_finalize(void *self) { zs[nzs++] = rc_incref(self); }

START_TEST(test_resurrection_does_not_block_cleanup_of_other_objects) {
    static const rc_type z_type = {"Z", sizeof(node), node_traverse, NULL, z_finalize, NULL};
    const long N = 100;
    rc_gc_stats st[3];
    rc_gc_collect(H, 2);
    rc_gc_get_stats(H, st);
    size_t oldc = st[2].collected, oldnc = st[2].uncollectable;

    for (int i = 0; i < N; i++)
        self_cycle(&node_type);
    ck_assert_int_eq(rc_gc_collect(H, 2), N);
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[2].collected - oldc, (size_t)N);
    ck_assert_uint_eq(st[2].uncollectable - oldnc, 0);
    oldc = st[2].collected;

    self_cycle(&z_type);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[2].collected - oldc, 0);

    for (int i = 0; i < N; i++)
        self_cycle(&node_type);
    self_cycle(&z_type);
    ck_assert_int_eq(rc_gc_collect(H, 2), N);
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[2].collected - oldc, (size_t)N);
    oldc = st[2].collected;

    while (nzs)
        rc_decref(zs[--nzs]);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[2].collected - oldc, 2);
    ck_assert_uint_eq(st[2].uncollectable - oldnc, 0);
}
END_TEST

/* GCTests.test_trash_weakref_clear (bpo-38006): Y holds Z but does not
 * report it (ContainerNoGC), so the collector cannot see that Z is trash;
 * WZ, a trash weak reference to Z with a callback kept alive a little
 * longer by a second cycle, must be cleared before Z dies in
 * delete_garbage, so the callback never runs. Both count 4, not the same
 * 4: CPython's ContainerNoGC is untracked and its callback is a function
 * object in the garbage; here Y is tracked (an untracked type may hold no
 * references) and reports nothing, and a callback is not an object. */
typedef struct nogc { void *value; } nogc;

static void nogc_clear(void *self) { RC_CLEAR(((nogc *)self)->value); }
static void nogc_traverse(void *self, rc_visit_fn visit, void *arg) {
    (void)self; /* hides value from the collector on purpose */
    (void)visit;
    (void)arg;
}

static int callback_calls;

static void counting_callback(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    callback_calls++;
}

typedef struct three { void *a, *y, *wz; } three;

static void three_traverse(void *self, rc_visit_fn visit, void *arg) {
    three *t = self;
    visit(&t->a, arg);
    visit(&t->y, arg);
    visit(&t->wz, arg);
}

START_TEST(test_trash_weakref_clear) {
    static const rc_type a_type = {"A", sizeof(three), three_traverse, NULL, NULL, NULL};
    static const rc_type y_type = {"ContainerNoGC", sizeof(nogc), nogc_traverse, nogc_clear,
                                   NULL, NULL};
    three *a = rc_new(H, &a_type);
    a->a = rc_incref(a);
    nogc *y = rc_new(H, &y_type);
    y->value = make(); /* Z */
    a->y = y;
    a->wz = rc_weakref_new(y->value, counting_callback, NULL);
    node *wr_cycle = make(); /* [a.wz, wr_cycle] */
    wr_cycle->a = rc_incref(a->wz);
    wr_cycle->b = rc_incref(wr_cycle);
    rc_gc_collect(H, 2);
    rc_decref(a);
    rc_decref(wr_cycle);
    ck_assert_int_eq(rc_gc_collect(H, 2), 4); /* a, y, wz, wr_cycle */
    ck_assert_int_eq(callback_calls, 0);
}
END_TEST

/* GCCallbackTests: two callbacks recording (who, phase, info). */
typedef struct visit { int who; const char *phase; rc_gc_info info; } visit;
static visit visits[16];
static int nvisits;

static void cb_record(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    visits[nvisits++] = (visit){(int)(intptr_t)arg, phase, *info};
}

static void add_callbacks(void) {
    ck_assert_int_eq(rc_gc_callback_add(H, cb_record, (void *)1), 0);
    ck_assert_int_eq(rc_gc_callback_add(H, cb_record, (void *)2), 0);
}

/* GCCallbackTests.test_collect */
START_TEST(test_callbacks_collect) {
    add_callbacks();
    rc_gc_collect(H, 2);
    ck_assert_int_eq(nvisits, 4);
    const char *phases[] = {"start", "start", "stop", "stop"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(visits[i].who, 1 + i % 2);
        ck_assert_str_eq(visits[i].phase, phases[i]);
    }
}
END_TEST

/* GCCallbackTests.test_collect_generation */
START_TEST(test_callbacks_collect_generation) {
    add_callbacks();
    rc_gc_collect(H, 2);
    rc_gc_collect(H, 1);
    ck_assert_int_eq(nvisits, 8);
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(visits[i].info.generation, i < 4 ? 2 : 1);
}
END_TEST

/* GCCallbackTests.test_collect_garbage: the C1055820(666) pair is
 * collected (1); C has no Uncollectable (tp_del), so uncollectable is 0. */
START_TEST(test_callbacks_collect_garbage) {
    add_callbacks();
    self_cycle(&node_type);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    for (int i = 0; i < nvisits; i++) {
        if (strcmp(visits[i].phase, "stop") != 0)
            continue;
        ck_assert_uint_eq(visits[i].info.collected, 1);
        ck_assert_uint_eq(visits[i].info.uncollectable, 0);
    }
    ck_assert_uint_eq(rc_gc_garbage_count(H), 0);
}
END_TEST

/* The shapes of a count lower than the references the collector finds. */
typedef enum refcount_shape {
    SHAPE_SIMPLE,      /* b -> a, c -> a, a's count 1 */
    SHAPE_ALL_GARBAGE, /* the same, all plain garbage */
    SHAPE_LAST,        /* only the last object has gc_refs > 0 */
} refcount_shape;

/* Makes `shape` in a child process, collects `generation`, and requires
 * the fatal error naming the object whose count is too small. */
static void check_refcount_error(int generation, refcount_shape shape) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], 2);
        node *a = make(), *b = make();
        if (shape == SHAPE_LAST) {
            b->a = a;
            b->b = rc_incref(a);
        } else {
            node *c = make();
            b->a = rc_incref(a);
            c->a = rc_incref(a);
            rc_decref(a);
            if (shape == SHAPE_ALL_GARBAGE) {
                node *d = make();
                a->a = b;
                c->b = d;
                d->a = c;
            }
        }
        rc_head_of(a)->refcnt--; /* ctypes.pythonapi.Py_DecRef(a) */
        fprintf(stderr, "%p\n", (void *)a);
        rc_gc_collect(H, generation);
        _exit(0);
    }
    close(fds[1]);
    char out[512] = "";
    size_t len = 0;
    ssize_t r;
    while ((r = read(fds[0], out + len, sizeof out - 1 - len)) > 0)
        len += (size_t)r;
    out[len] = '\0';
    close(fds[0]);
    int status;
    waitpid(pid, &status, 0);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT, "no abort: %s", out);
    char *nl = strchr(out, '\n');
    ck_assert_ptr_nonnull(nl);
    *nl = '\0';
    char want[sizeof out + 128]; /* the line names out (the address) */
    snprintf(want, sizeof want,
             "rcgc: fatal: rc_gc_collect found more references than the count of <node %s>\n",
             out);
    ck_assert_ptr_nonnull(strstr(nl + 1, want)); /* Valgrind may add its own lines */
}

/* GCCallbackTests.test_refcount_errors: a count lower than the references
 * the collector finds is a fatal error naming the object, in a young
 * collection (two passes) as in a full one (fused passes), and in a full
 * one where every object looks like plain garbage (a <-> b, c <-> d, c -> a:
 * the scan is skipped, the sweep checks). */
START_TEST(test_refcount_errors) {
    check_refcount_error(0, SHAPE_SIMPLE);
    check_refcount_error(2, SHAPE_SIMPLE);
    check_refcount_error(2, SHAPE_ALL_GARBAGE);
}
END_TEST

/* A count too small where the only object with gc_refs > 0 is the last of
 * young (the scan from the last object): b, made after a, holds it by both
 * fields on a count of 1. a's gc_refs is -1, which the refs pass counted as
 * a zero on its way down: it is still the fatal error, not garbage freed
 * under b. */
START_TEST(test_refcount_error_last) {
    check_refcount_error(0, SHAPE_LAST);
    check_refcount_error(2, SHAPE_LAST);
}
END_TEST

/* GCTogglingTests.test_bug1055820c: c0 (old, generation 2) dies by
 * counting while a young collection clears c1; c0's weak-reference callback
 * then asks for c2, which that collection is freeing: it must get NULL. */
typedef struct detector { rc_weakref *wr; bool happened; } detector;

static void gc_happened(rc_weakref *ref, void *arg) {
    (void)ref;
    ((detector *)arg)->happened = true;
}

/* GC_Detector: a weak reference to a trash self-loop. */
static void detector_init(detector *d) {
    d->happened = false;
    node *n = self_cycle(&node_type);
    d->wr = rc_weakref_new(n, gc_happened, d);
}

/* Allocates junk until a GC_Detector saw an automatic collection; ouch
 * stays empty until then, and after it holds the one NULL that c2wr gave
 * the callback or finalizer run in that collection. */
static void until_gc_expect_ouch_null(void) {
    nouch = 0;
    detector d;
    detector_init(&d);
    node *junk = NULL;
    for (int i = 1; !d.happened; i++) {
        ck_assert_int_le(i, 10000);
        ck_assert_int_eq(nouch, 0);
        node *j = make();
        j->a = junk;
        junk = j;
    }
    ck_assert_int_eq(nouch, 1);
    ck_assert_ptr_null(ouch[0]);
    rc_gc_disable(H);
    rc_decref(junk);
    rc_decref(d.wr);
}

static rc_weakref *c2wr;

static void c0_callback(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    ouch[0] = rc_weakref_get(c2wr);
    nouch = 1;
}

START_TEST(test_bug1055820c) {
    rc_gc_enable(H);
    node *c0 = make();
    c0->a = rc_incref(c0);
    rc_gc_collect(H, 2); /* c0 into generation 2 */
    node *c1 = make();
    c1->a = rc_incref(c1);
    c1->b = c0;        /* c1.keep_c0_alive = c0 */
    RC_CLEAR(c0->a);   /* del c0.loop */
    node *c2 = make();
    c2->a = rc_incref(c2);
    c2wr = rc_weakref_new(c2, NULL, NULL);
    rc_weakref *c0wr = rc_weakref_new(c0, c0_callback, NULL);
    rc_decref(c1);
    rc_decref(c2);
    until_gc_expect_ouch_null();
    rc_decref(c0wr);
    rc_decref(c2wr);
}
END_TEST

/* GCTogglingTests.test_bug1055820d: the same with d0's finalizer in place
 * of the weak-reference callback. */
static void d0_finalize(void *self) {
    (void)self;
    ouch[0] = rc_weakref_get(c2wr);
    nouch = 1;
}

START_TEST(test_bug1055820d) {
    static const rc_type d_type = {"D", sizeof(node), node_traverse, NULL, d0_finalize, NULL};
    rc_gc_enable(H);
    node *d0 = make_typed(&d_type);
    d0->a = rc_incref(d0);
    rc_gc_collect(H, 2);
    node *c1 = make();
    c1->a = rc_incref(c1);
    c1->b = d0;
    RC_CLEAR(d0->a);
    node *c2 = make();
    c2->a = rc_incref(c2);
    c2wr = rc_weakref_new(c2, NULL, NULL);
    rc_decref(c1);
    rc_decref(c2);
    until_gc_expect_ouch_null();
    rc_decref(c2wr);
}
END_TEST

/* ========================================================= rcgc's own */

/* Bad generations: -1 + EINVAL; the heap is untouched. */
START_TEST(test_collect_einval) {
    self_cycle(&node_type);
    int bad[] = {-1, 3, 100, -100};
    for (int i = 0; i < 4; i++) {
        errno = 0;
        ck_assert_int_eq(rc_gc_collect(H, bad[i]), -1);
        ck_assert_int_eq(errno, EINVAL);
    }
    rc_gc_stats st[3];
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[0].collections + st[1].collections + st[2].collections, 0);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
}
END_TEST

/* Re-entered from a finalizer, a gc callback, a release or a weak-reference
 * callback, rc_gc_collect returns 0 without collecting. */
static long inner[4];
static int ninner;

static void collect_inside(void) { inner[ninner++] = rc_gc_collect(H, 2); }
static void fin_collect(void *self) { (void)self; collect_inside(); }
static void release_collect(void *self) { (void)self; collect_inside(); }
static void wr_collect(rc_weakref *ref, void *arg) { (void)ref; (void)arg; collect_inside(); }
static void cb_collect(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)info;
    (void)arg;
    if (strcmp(phase, "start") == 0)
        collect_inside();
}

START_TEST(test_collect_reentrant) {
    static const rc_type t = {"reentrant", sizeof(node), node_traverse, NULL, fin_collect,
                              release_collect};
    node *x = self_cycle(&t);
    rc_weakref *wr = rc_weakref_new(x, wr_collect, NULL);
    rc_gc_callback_add(H, cb_collect, NULL);
    self_cycle(&node_type); /* garbage the inner calls must not touch */
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_int_eq(ninner, 4); /* callback, weakref callback, finalizer, release */
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(inner[i], 0);
    rc_gc_callback_remove(H, cb_collect, NULL);
    rc_decref(wr);
}
END_TEST

/* Disabled: no automatic collection, rc_gc_collect still works;
 * threshold0 == 0 also disables automatic runs. */
START_TEST(test_disabled_and_threshold0) {
    rc_gc_callback_add(H, cb_record, (void *)1);
    ck_assert(!rc_gc_isenabled(H));
    node *keep[800];
    for (int i = 0; i < 800; i++)
        keep[i] = make();
    ck_assert_int_eq(nvisits, 0);
    assert_count(800, 0, 0);
    self_cycle(&node_type);
    ck_assert_int_eq(rc_gc_collect(H, 0), 1);
    ck_assert_int_eq(nvisits, 2);
    rc_gc_enable(H);
    ck_assert(rc_gc_isenabled(H));
    rc_gc_set_threshold(H, 0, 10, 10);
    long th[3];
    rc_gc_get_threshold(H, th);
    ck_assert_int_eq(th[0], 0);
    for (int i = 0; i < 800; i++)
        rc_decref(make());
    for (int i = 0; i < 800; i++) {
        node *n = make();
        n->a = keep[i];
        keep[i] = n;
    }
    ck_assert_int_eq(nvisits, 2);
    for (int i = 0; i < 800; i++)
        rc_decref(keep[i]);
}
END_TEST

/* Automatic collection: when a tracked object is created and count0 passes
 * threshold0, generation 0 is collected once the new object is made, with
 * it (CPython 3.12: _PyObject_GC_Link schedules, the collection runs at the
 * next bytecode boundary), so it moves to generation 1 with the others. */
static size_t gen0_at_start;

static void cb_gen0(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (strcmp(phase, "start") == 0) {
        gen0_at_start = count_gen(0);
        ck_assert_int_eq(info->generation, 0);
    }
    nvisits++;
}

START_TEST(test_automatic_threshold) {
    rc_gc_enable(H);
    rc_gc_callback_add(H, cb_gen0, NULL);
    node *keep[701];
    for (int i = 0; i < 700; i++)
        keep[i] = make();
    ck_assert_int_eq(nvisits, 0);
    assert_count(700, 0, 0);
    keep[700] = make();
    ck_assert_int_eq(nvisits, 2);
    ck_assert_uint_eq(gen0_at_start, 701);
    assert_count(0, 1, 0);
    ck_assert_uint_eq(count_gen(0), 0);
    ck_assert(in_gen(keep[700], 1));
    ck_assert_uint_eq(count_gen(1), 701);
    for (int i = 0; i < 701; i++)
        rc_decref(keep[i]);
    assert_count(0, 1, 0); /* count0 never goes below zero */
    rc_gc_callback_remove(H, cb_gen0, NULL);
}
END_TEST

/* The oldest generation over its threshold is chosen, but a full
 * collection also needs long_lived_pending >= long_lived_total / 4
 * (CPython's rule); otherwise the next younger one runs. */
static int last_generation;

static void cb_generation(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h;
    (void)arg;
    if (strcmp(phase, "start") == 0)
        last_generation = info->generation;
}

static void allocate_until_collection(node **junk) {
    last_generation = -1;
    for (int i = 0; last_generation < 0; i++) {
        ck_assert_int_le(i, 1000);
        node *j = make();
        j->a = *junk;
        *junk = j;
    }
}

START_TEST(test_long_lived_rule) {
    node *old = NULL, *young = NULL, *junk = NULL;
    for (int i = 0; i < 1000; i++) {
        node *n = make();
        n->a = old;
        old = n;
    }
    rc_gc_collect(H, 2); /* long_lived_total = 1000 */
    for (int i = 0; i < 11; i++)
        rc_gc_collect(H, 1);
    assert_count(0, 0, 11); /* over threshold2, but nothing pending */
    rc_gc_callback_add(H, cb_generation, NULL);
    rc_gc_enable(H);
    allocate_until_collection(&junk);
    ck_assert_int_eq(last_generation, 0);
    rc_gc_disable(H);
    for (int i = 0; i < 250; i++) {
        node *n = make();
        n->a = young;
        young = n;
    }
    rc_gc_collect(H, 1); /* 250 + the junk reach generation 2: pending >= 1000 / 4 */
    rc_gc_enable(H);
    allocate_until_collection(&junk);
    ck_assert_int_eq(last_generation, 2);
    rc_gc_disable(H);
    rc_decref(old);
    rc_decref(young);
    rc_decref(junk);
}
END_TEST

/* An object dying by reference counting is off the generation lists while
 * its weak references' callbacks run, as CPython's subtype_dealloc untracks
 * it before PyObject_ClearWeakRefs: a collection a callback runs neither
 * sees it nor counts it among the survivors that make long_lived_total,
 * which would hold back a later full collection (python3.11 on the same
 * graph: 3 objects tracked in the callback, then a full automatic
 * collection; rcgc counted 4 and collected generation 0). */
static size_t tracked_in_callback;

static void cb_collect_dying(rc_weakref *ref, void *arg) {
    (void)ref;
    ck_assert(!rc_gc_is_tracked(arg));
    tracked_in_callback = count_gen(-1);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
}

START_TEST(test_dying_untracked_in_weakref_callback) {
    node *a = make(), *b = make(), *c = make(), *junk = NULL;
    a->a = b;
    rc_weakref *r = rc_weakref_new(a, cb_collect_dying, a);
    rc_decref(a); /* b, c and r survive the callback's full collection */
    ck_assert_uint_eq(tracked_in_callback, 3);
    rc_gc_collect(H, 1); /* nothing pending, count2 = 1 */
    assert_count(0, 0, 1);
    rc_gc_callback_add(H, cb_generation, NULL);
    rc_gc_set_threshold(H, 1, 10, 0);
    rc_gc_enable(H);
    allocate_until_collection(&junk); /* pending 0 >= long_lived_total 3 / 4 */
    ck_assert_int_eq(last_generation, 2);
    rc_gc_disable(H);
    rc_decref(c);
    rc_decref(r);
    rc_decref(junk);
}
END_TEST

/* An object dying by reference counting with several weak references
 * holds them all until its last callback has run, as CPython's
 * PyObject_ClearWeakRefs holds them in a tuple: one whose callback already
 * ran, referred to only by cyclic garbage, is not garbage to a collection a
 * later callback runs (python3.11 and 3.12 on the same graph: 2; rcgc
 * dropped each after its own callback and found 3). */
static long collected_in_callback;

static void cb_quiet(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
}

static void cb_collect_last(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    collected_in_callback = rc_gc_collect(H, 2);
}

START_TEST(test_weakrefs_held_through_callbacks) {
    node *t = make(), *g1 = make(), *g2 = make();
    g1->a = rc_incref(g2);
    g2->a = rc_incref(g1);
    g1->b = (node *)rc_weakref_new(t, cb_collect_last, NULL); /* older: runs last */
    g2->b = (node *)rc_weakref_new(t, cb_quiet, NULL);        /* newer: runs first */
    rc_decref(g1); /* a cycle of garbage holding both weak references */
    rc_decref(g2);
    rc_decref(t);
    ck_assert_int_eq(collected_in_callback, 2);
}
END_TEST

/* RC_GC_DEBUG_STATS: CPython's lines, through the log function. */
START_TEST(test_debug_stats_log) {
    node *keep = make();
    rc_gc_collect(H, 0);
    node *keep2 = make();
    self_cycle(&node_type);
    self_cycle(&node_type);
    rc_gc_freeze(H);
    rc_gc_unfreeze(H); /* all four now in generation 2 */
    node *young = make();
    rc_gc_set_log(H, capture, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_STATS);
    ck_assert_uint_eq(rc_gc_get_debug(H), RC_GC_DEBUG_STATS);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_int_eq(nlines, 4);
    ck_assert_str_eq(lines[0], "gc: collecting generation 2...");
    ck_assert_str_eq(lines[1], "gc: objects in each generation: 1 0 4");
    ck_assert_str_eq(lines[2], "gc: objects in permanent generation: 0");
    double secs = -1;
    int used = 0;
    ck_assert_int_eq(sscanf(lines[3], "gc: done, 2 unreachable, 0 uncollectable, %lfs elapsed%n",
                            &secs, &used),
                     1);
    ck_assert_int_eq(used, (int)strlen(lines[3]));
    ck_assert(secs >= 0 && secs < 10);
    const char *secs_text = strstr(lines[3], "uncollectable, ") + strlen("uncollectable, ");
    size_t whole = strspn(secs_text, "0123456789");
    ck_assert_int_eq(secs_text[whole], '.');
    ck_assert_uint_eq(strspn(secs_text + whole + 1, "0123456789"), 4); /* %.4f */
    rc_gc_set_debug(H, 0);
    rc_gc_set_log(H, NULL, NULL);
    rc_decref(keep);
    rc_decref(keep2);
    rc_decref(young);
}
END_TEST

/* A log function that passes each line on to the one it replaced (as a
 * sys.stderr wrapper writes to the stream it wraps), then puts it back. */
typedef struct chained_log {
    rc_gc_log_fn next;
    void *next_arg;
    int lines;
} chained_log;

static void chain_log(const char *line, void *arg) {
    chained_log *c = arg;
    c->lines++;
    c->next(line, c->next_arg);
}

START_TEST(test_debug_log_chained) {
    void *arg = &arg;
    ck_assert_ptr_null(rc_gc_get_log(H, &arg)); /* the default: stderr */
    ck_assert_ptr_null(arg);
    rc_gc_set_log(H, capture, &nlines);
    chained_log c = {NULL, NULL, 0};
    c.next = rc_gc_get_log(H, &c.next_arg);
    ck_assert(c.next == capture);
    ck_assert_ptr_eq(c.next_arg, &nlines);
    rc_gc_set_log(H, chain_log, &c);
    rc_gc_set_debug(H, RC_GC_DEBUG_STATS);
    rc_gc_collect(H, 0);
    ck_assert_int_eq(c.lines, 4);
    ck_assert_int_eq(nlines, 4);
    ck_assert_str_eq(lines[0], "gc: collecting generation 0...");
    rc_gc_set_debug(H, 0);
    rc_gc_set_log(H, c.next, c.next_arg);
    ck_assert(rc_gc_get_log(H, NULL) == capture);
    rc_gc_set_log(H, NULL, &c); /* the default takes no argument */
    ck_assert_ptr_null(rc_gc_get_log(H, &arg));
    ck_assert_ptr_null(arg);
    ck_assert_ptr_null(rc_gc_get_log(NULL, &arg));
}
END_TEST

/* RC_GC_DEBUG_COLLECTABLE: "gc: collectable <type 0x...>" per unreachable
 * object, in the order the collector found them. */
START_TEST(test_debug_collectable_log) {
    node *a = make(), *b = make();
    a->a = b;
    b->a = a;
    rc_weakref *wr = rc_weakref_new(a, NULL, NULL);
    a->b = (node *)wr; /* a holds its weak reference: garbage too */
    char want[3][160];
    snprintf(want[0], sizeof want[0], "gc: collectable <node %p>", (void *)a);
    snprintf(want[1], sizeof want[1], "gc: collectable <node %p>", (void *)b);
    snprintf(want[2], sizeof want[2], "gc: collectable <weakref.ReferenceType %p>", (void *)wr);
    rc_gc_set_log(H, capture, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 2), 3);
    ck_assert_int_eq(nlines, 3);
    for (int i = 0; i < 3; i++)
        ck_assert_str_eq(lines[i], want[i]);
    rc_gc_set_debug(H, 0);
}
END_TEST

/* A line is not cut short, whatever the length of the type's name. */
static char long_line[4200];
static void capture_long(const char *line, void *arg) {
    (void)arg;
    snprintf(long_line, sizeof long_line, "%s", line);
}

START_TEST(test_debug_log_long_name) {
    static char name[4000];
    memset(name, 'n', sizeof name - 1);
    const rc_type long_named = {name, sizeof(node), node_traverse, NULL, NULL, NULL};
    node *a = rc_new(H, &long_named);
    a->a = a;
    char want[sizeof long_line];
    snprintf(want, sizeof want, "gc: collectable <%s %p>", name, (void *)a);
    rc_gc_set_log(H, capture_long, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    ck_assert_uint_gt(strlen(want), 4000);
    ck_assert_str_eq(long_line, want);
    rc_gc_set_debug(H, 0);
}
END_TEST

/* The "gc: collectable" lines are written before weak references to the
 * garbage are cleared, as CPython writes them: a log function that
 * follows one gets the object, which survives with all it reaches
 * (python3.12, a <-> b, wa = weakref.ref(a), sys.stderr's write keeping
 * wa() at the first line: gc.collect() == 0, two lines, wa() is None
 * afterwards; once let go, gc.collect() == 2). */
static rc_weakref *log_weak;
static node *log_kept;
static void log_keeps_weak_target(const char *line, void *arg) {
    capture(line, arg);
    if (!log_kept)
        log_kept = rc_weakref_get(log_weak);
}

START_TEST(test_log_follows_weakref_to_garbage) {
    node *a = make(), *b = make();
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    log_weak = rc_weakref_new(a, NULL, NULL);
    rc_decref(a);
    rc_decref(b);
    log_kept = NULL;
    rc_gc_set_log(H, log_keeps_weak_target, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_int_eq(nlines, 2);
    ck_assert_ptr_eq(log_kept, a);
    ck_assert_ptr_eq(a->a, b);
    ck_assert_ptr_null(rc_weakref_get(log_weak));
    rc_gc_set_debug(H, 0);
    rc_decref(log_kept);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    rc_decref(log_weak);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* The same log function dropping, through the object it reached, the
 * other one's last reference: that one dies, which drops the last
 * reference to the first but the log's own, so the first dies while its
 * own line is written. The walk goes on from what is left: one line, no
 * object read after its death (python3.12 segfaults here, reading the
 * dead object's successor). */
static void log_drops_through_weak(const char *line, void *arg) {
    capture(line, arg);
    node *o = rc_weakref_get(log_weak);
    if (o) {
        RC_CLEAR(o->a);
        rc_decref(o);
    }
}

START_TEST(test_log_drops_garbage_through_weakref) {
    node *a = make(), *b = make();
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    log_weak = rc_weakref_new(a, NULL, NULL);
    rc_weakref *wb = rc_weakref_new(b, NULL, NULL);
    rc_decref(a);
    rc_decref(b);
    rc_gc_set_log(H, log_drops_through_weak, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    rc_gc_set_debug(H, 0);
    ck_assert_int_eq(nlines, 1);
    char want[160];
    snprintf(want, sizeof want, "gc: collectable <node %p>", (void *)a);
    ck_assert_str_eq(lines[0], want);
    ck_assert_ptr_null(rc_weakref_get(log_weak));
    ck_assert_ptr_null(rc_weakref_get(wb));
    rc_decref(log_weak);
    rc_decref(wb);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* The log function runs once the survivors went to old, as CPython's
 * lines are written after gc_list_merge(young, old): in a collection of
 * generation 0, an object it makes joins generation 0 and stays there,
 * and the survivors are in generation 1 as it runs (python3.12, the same
 * graph, sys.stderr's write making a Node at the first line:
 * gc.collect(0) == 2, the survivor in gc.get_objects(1) during the write,
 * the new Node in gc.get_objects(0) afterwards). It went to generation 1
 * with generation 0's tag: the next collection of generation 0, reaching
 * it from a new object, took it for one of its own and wrote gc_refs over
 * its list pointer, a segfault when it died. */
static node *log_made, *log_survivor;
static int log_survivor_gen;
static void log_makes_object(const char *line, void *arg) {
    capture(line, arg);
    if (!log_made) {
        log_made = make();
        log_survivor_gen = in_gen(log_survivor, 1) ? 1 : in_gen(log_survivor, 0) ? 0 : -1;
    }
}

START_TEST(test_log_made_object_stays_young) {
    log_survivor = make();
    node *a = make(), *b = make();
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    rc_decref(a);
    rc_decref(b);
    log_made = NULL;
    log_survivor_gen = -1;
    rc_gc_set_log(H, log_makes_object, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 0), 2);
    rc_gc_set_debug(H, 0);
    ck_assert_int_eq(nlines, 2);
    ck_assert_int_eq(log_survivor_gen, 1);
    ck_assert(in_gen(log_survivor, 1));
    ck_assert(in_gen(log_made, 0));
    node *y = make();
    y->a = rc_incref(log_made);
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert(in_gen(log_made, 1));
    rc_decref(y);
    rc_decref(log_made);
    rc_decref(log_survivor);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* Callbacks: the same (cb, arg) twice is called twice; remove takes the
 * first; ENOENT for an unknown one; a callback removing itself at "start"
 * makes the next one miss "start" (CPython iterates by index too). */
static void cb_remove_self(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    cb_record(h, phase, info, arg);
    if (strcmp(phase, "start") == 0)
        ck_assert_int_eq(rc_gc_callback_remove(h, cb_remove_self, arg), 0);
}

START_TEST(test_callbacks_add_remove) {
    add_callbacks();
    ck_assert_int_eq(rc_gc_callback_add(H, cb_record, (void *)1), 0);
    rc_gc_collect(H, 0);
    ck_assert_int_eq(nvisits, 6);
    ck_assert_int_eq(rc_gc_callback_remove(H, cb_record, (void *)1), 0);
    nvisits = 0;
    rc_gc_collect(H, 0);
    ck_assert_int_eq(nvisits, 4);
    ck_assert_int_eq(visits[0].who, 2); /* the first (cb_record, 1) went */
    ck_assert_int_eq(visits[1].who, 1);
    ck_assert_int_eq(rc_gc_callback_remove(H, cb_record, (void *)1), 0);
    ck_assert_int_eq(rc_gc_callback_remove(H, cb_record, (void *)2), 0);
    errno = 0;
    ck_assert_int_eq(rc_gc_callback_remove(H, cb_record, (void *)2), -1);
    ck_assert_int_eq(errno, ENOENT);

    /* python3.12: [('cb1', 'start'), ('cb2', 'stop', 1, 1, 0)] */
    nvisits = 0;
    rc_gc_callback_add(H, cb_remove_self, (void *)1);
    rc_gc_callback_add(H, cb_record, (void *)2);
    self_cycle(&node_type);
    ck_assert_int_eq(rc_gc_collect(H, 1), 1);
    ck_assert_int_eq(nvisits, 2);
    ck_assert_int_eq(visits[0].who, 1);
    ck_assert_str_eq(visits[0].phase, "start");
    ck_assert_int_eq(visits[1].who, 2);
    ck_assert_str_eq(visits[1].phase, "stop");
    ck_assert_int_eq(visits[1].info.generation, 1);
    ck_assert_uint_eq(visits[1].info.collected, 1);
    ck_assert_uint_eq(visits[1].info.uncollectable, 0);
    rc_gc_callback_remove(H, cb_record, (void *)2);
}
END_TEST

/* Growing the callback list: -1 + ENOMEM, the list as it was. */
START_TEST(test_callbacks_enomem) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    c.limit = 1; /* every request fails until the limit is lifted */
    errno = 0;
    ck_assert_int_eq(rc_gc_callback_add(h, cb_record, (void *)1), -1);
    ck_assert_int_eq(errno, ENOMEM);
    c.limit = 0;
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(rc_gc_callback_add(h, cb_record, (void *)1), 0);
    c.limit = 1;
    ck_assert_int_eq(rc_gc_callback_add(h, cb_record, (void *)2), -1);
    c.limit = 0;
    rc_gc_collect(h, 0);
    ck_assert_int_eq(nvisits, 8);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* SAVEALL with a garbage list that cannot grow: -1 + ENOMEM, nothing
 * cleared; the objects wait in the older generation and the next
 * collection saves them. Finalizers ran once, the first time. */
static int fin_calls;
static void count_finalize(void *self) { (void)self; fin_calls++; }

START_TEST(test_saveall_enomem) {
    static const rc_type f = {"f", sizeof(node), node_traverse, NULL, count_finalize, NULL};
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    rc_gc_disable(h);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    node *x = rc_new(h, &f);
    x->a = rc_incref(x);
    rc_decref(x);
    c.limit = 1; /* every request fails until the limit is lifted */
    errno = 0;
    ck_assert_int_eq(rc_gc_collect(h, 0), -1);
    ck_assert_int_eq(errno, ENOMEM);
    c.limit = 0;
    ck_assert_int_eq(fin_calls, 1);
    ck_assert_uint_eq(rc_gc_garbage_count(h), 0);
    ck_assert_ptr_eq(x->a, x); /* not cleared */
    ck_assert_uint_eq(rc_refcount(x), 1);
    ck_assert_int_eq(rc_gc_get_objects(h, 1, is_fn, x), 1);
    ck_assert_int_eq(rc_gc_collect(h, 1), 1);
    ck_assert_int_eq(fin_calls, 1);
    ck_assert_uint_eq(rc_gc_garbage_count(h), 1);
    rc_gc_garbage_clear(h);
    ck_assert_uint_eq(rc_gc_garbage_count(h), 0);
    rc_gc_set_debug(h, 0);
    ck_assert_int_eq(rc_gc_collect(h, 2), 1); /* the cycle is garbage again */
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The garbage that waits after ENOMEM was not collected: the "stop"
 * callbacks, the statistics and the DEBUG_STATS line say 0, and the next
 * collection, which saves it, counts it once (else get_stats' collected
 * would count the same two objects twice). */
START_TEST(test_saveall_enomem_counts) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    rc_gc_disable(h);
    ck_assert_int_eq(rc_gc_callback_add(h, cb_record, (void *)1), 0);
    rc_gc_set_log(h, capture, NULL);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL | RC_GC_DEBUG_STATS);
    node *x = rc_new(h, &node_type), *y = rc_new(h, &node_type);
    x->a = rc_incref(y);
    y->a = rc_incref(x);
    rc_decref(x);
    rc_decref(y);
    c.limit = 1; /* every request fails until the limit is lifted */
    ck_assert_int_eq(rc_gc_collect(h, 0), -1);
    c.limit = 0;
    ck_assert_int_eq(nvisits, 2);
    ck_assert_uint_eq(visits[1].info.collected, 0);
    const char *done = "gc: done, 0 unreachable, 0 uncollectable, ";
    ck_assert_int_eq(strncmp(lines[3], done, strlen(done)), 0);
    rc_gc_stats st[3];
    rc_gc_get_stats(h, st);
    ck_assert_uint_eq(st[0].collections, 1);
    ck_assert_uint_eq(st[0].collected, 0);
    ck_assert_int_eq(rc_gc_collect(h, 1), 2);
    ck_assert_uint_eq(visits[3].info.collected, 2);
    rc_gc_get_stats(h, st);
    ck_assert_uint_eq(st[1].collected, 2);
    rc_gc_set_debug(h, 0);
    rc_gc_garbage_clear(h);
    rc_gc_callback_remove(h, cb_record, (void *)1);
    ck_assert_int_eq(rc_gc_collect(h, 2), 2);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* SAVEALL: finalizers still run, once; the garbage list holds the objects
 * (the python3.12 session: collect() == 1, len(garbage) == 1, dels == [1],
 * and no second __del__ when the object finally goes). */
START_TEST(test_saveall_finalizers_once) {
    static const rc_type f = {"F", sizeof(node), node_traverse, NULL, count_finalize, NULL};
    node *x = self_cycle(&f);
    rc_gc_set_debug(H, RC_GC_DEBUG_SAVEALL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    rc_gc_set_debug(H, 0);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 1);
    ck_assert_int_eq(fin_calls, 1);
    RC_CLEAR(x->a);
    rc_gc_garbage_clear(H);
    ck_assert_int_eq(fin_calls, 1);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* rc_gc_garbage walks in order and stops early; garbage_clear survives a
 * finalizer that refills the list meanwhile. */
static void refill(void *self) {
    (void)self;
    self_cycle(&node_type);
    rc_gc_collect(H, 2);
}

START_TEST(test_garbage_walk_and_clear) {
    static const rc_type r = {"refill", sizeof(node), NULL, NULL, refill, NULL};
    node *objs[3];
    for (int i = 0; i < 3; i++)
        objs[i] = self_cycle(&node_type);
    rc_gc_set_debug(H, RC_GC_DEBUG_SAVEALL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 3);
    size_t n = 0;
    ck_assert_int_eq(rc_gc_garbage(H, count_fn, &n), 0);
    ck_assert_uint_eq(n, 3);
    void *first = NULL;
    ck_assert_int_eq(rc_gc_garbage(H, first_fn, &first), 1);
    ck_assert_ptr_eq(first, objs[0]);
    for (int i = 0; i < 3; i++)
        RC_CLEAR(objs[i]->a);
    objs[1]->b = make_typed(&r); /* dies in garbage_clear and refills */
    rc_gc_garbage_clear(H);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 1);
    first = NULL;
    rc_gc_garbage(H, first_fn, &first);
    RC_CLEAR(((node *)first)->a);
    rc_gc_set_debug(H, 0);
    rc_gc_garbage_clear(H);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* garbage_clear drops the references last first, as del gc.garbage[:]
 * (CPython's list clear): python3.12, three self-cycles saved, each
 * self-reference then cleared and a weak reference with a callback taken,
 * prints "died N3", "died N2", "died N1" at gc.garbage.clear(). */
static char died_order[8];

static void note_died(rc_weakref *ref, void *arg) {
    (void)ref;
    died_order[strlen(died_order)] = (char)('0' + *(int *)arg);
}

static int unlink_and_watch(void *obj, void *arg) {
    node *n = obj;
    rc_weakref **refs = arg;
    RC_CLEAR(n->a);
    refs[n->id - 1] = rc_weakref_new(n, note_died, &n->id);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 3);
    return 0;
}

START_TEST(test_garbage_clear_last_first) {
    for (int i = 1; i <= 3; i++)
        self_cycle(&node_type)->id = i;
    rc_gc_set_debug(H, RC_GC_DEBUG_SAVEALL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 3);
    rc_gc_set_debug(H, 0);
    rc_weakref *refs[3];
    ck_assert_int_eq(rc_gc_garbage(H, unlink_and_watch, refs), 0);
    memset(died_order, 0, sizeof died_order);
    rc_gc_garbage_clear(H);
    ck_assert_str_eq(died_order, "321");
    for (int i = 0; i < 3; i++)
        rc_decref(refs[i]);
}
END_TEST

/* SAVEALL is read for each garbage object, as CPython's delete_garbage
 * does: the finalizer of an object that only garbage holds, dying as the
 * first cycle is cleared, turns it on, and the next cycle is saved.
 * python3.12 (a -> b -> c -> a, a's __del__ storing a new G in a.b, G's
 * __del__ calling gc.set_debug(gc.DEBUG_SAVEALL); then d <-> e):
 * collect() == 5, gc.garbage holds d and e. */
static void saveall_on(void *self) {
    (void)self;
    rc_gc_set_debug(H, RC_GC_DEBUG_SAVEALL);
}

static void store_saver(void *self) {
    static const rc_type saver = {"G", sizeof(node), node_traverse, NULL, saveall_on, NULL};
    ((node *)self)->b = make_typed(&saver);
}

static int ids_fn(void *obj, void *arg) {
    char *ids = arg;
    ids[strlen(ids)] = (char)('0' + ((node *)obj)->id);
    return 0;
}

/* n[0] -> n[1] -> n[2] -> n[0] and n[3] <-> n[4], dropped: garbage. */
static void drop_two_cycles(node *n[5]) {
    n[0]->a = rc_incref(n[1]);
    n[1]->a = rc_incref(n[2]);
    n[2]->a = rc_incref(n[0]);
    n[3]->a = rc_incref(n[4]);
    n[4]->a = rc_incref(n[3]);
    for (int i = 0; i < 5; i++)
        rc_decref(n[i]);
}

START_TEST(test_saveall_read_per_object) {
    static const rc_type f = {"F", sizeof(node), node_traverse, NULL, store_saver, NULL};
    node *n[5] = {make_typed(&f), make(), make(), make(), make()};
    for (int i = 0; i < 5; i++)
        n[i]->id = i + 1;
    drop_two_cycles(n);
    ck_assert_int_eq(rc_gc_collect(H, 2), 5);
    char ids[8] = "";
    ck_assert_int_eq(rc_gc_garbage(H, ids_fn, ids), 0);
    ck_assert_str_eq(ids, "45"); /* clear_held too (the held build) */
    RC_CLEAR(n[3]->a);
    rc_gc_set_debug(H, 0);
    rc_gc_garbage_clear(H);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* The same when the garbage list then cannot grow: the cycle cleared
 * first is collected, the two that SAVEALL would keep wait uncounted (-1 +
 * ENOMEM), and the next collection saves them and counts them. */
static counting_alloc *saver_alloc;
static void saveall_on_nomem(void *self) {
    saveall_on(self);
    saver_alloc->limit = 1; /* every request fails until the limit is lifted */
}

static void store_nomem_saver(void *self) {
    static const rc_type saver = {"G", sizeof(node), node_traverse, NULL, saveall_on_nomem, NULL};
    ((node *)self)->b = rc_new(H, &saver);
}

START_TEST(test_saveall_read_per_object_enomem) {
    static const rc_type f = {"F", sizeof(node), node_traverse, NULL, store_nomem_saver, NULL};
    counting_alloc c = {0};
    saver_alloc = &c;
    rc_heap *own = H;
    H = rc_heap_new_with(counting_fn, &c);
    rc_gc_disable(H);
    node *n[5] = {rc_new(H, &f), rc_new(H, &node_type), rc_new(H, &node_type),
                  rc_new(H, &node_type), rc_new(H, &node_type)};
    drop_two_cycles(n);
    ck_assert_int_eq(rc_gc_collect(H, 0), -1);
    c.limit = 0;
    rc_gc_stats st[3];
    rc_gc_get_stats(H, st);
    ck_assert_uint_eq(st[0].collected, 3);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 0);
    ck_assert_int_eq(rc_gc_collect(H, 1), 2);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 2);
    rc_gc_set_debug(H, 0);
    rc_gc_garbage_clear(H);
    ck_assert_uint_eq(rc_heap_free(H), 0);
    H = own;
}
END_TEST

/* SAVEALL turned on by the log function while it writes the
 * "gc: collectable" lines: the garbage is saved, as CPython's
 * delete_garbage reads DEBUG_SAVEALL when it gets to each object
 * (python3.12, sys.stderr's write calling gc.set_debug(DEBUG_COLLECTABLE |
 * DEBUG_SAVEALL) at the first such line: gc.collect() == 2, len(gc.garbage)
 * == 2). Plain garbage, which the collector would sweep. */
static void log_turns_saveall_on(const char *line, void *arg) {
    (void)arg;
    if (strstr(line, "collectable"))
        rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_SAVEALL);
}

START_TEST(test_saveall_turned_on_by_log) {
    node *a = make(), *b = make();
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    rc_decref(a);
    rc_decref(b);
    rc_gc_set_log(H, log_turns_saveall_on, NULL);
    rc_gc_set_debug(H, RC_GC_DEBUG_COLLECTABLE);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_uint_eq(rc_gc_garbage_count(H), 2);
    ck_assert(in_gen(a, 2) && in_gen(b, 2));
    rc_gc_set_debug(H, 0);
    rc_gc_garbage_clear(H);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* The same on much garbage whose references point far away, which
 * delete_garbage holds whole before clearing it (src/gc.c, clear_held):
 * SAVEALL is still read at each object's turn, as CPython's delete_garbage
 * does. A ring of 20000 objects, each also referring to the one half the
 * ring away (every object has two referrers, so no clear frees any), the
 * first one's clear turning SAVEALL on; python3.12 (v[i].a = v[i + 1],
 * v[i].b = v[i + N // 2], v[0]._tag an untracked object whose weak
 * reference's callback calls gc.set_debug(gc.DEBUG_SAVEALL), so v[0]'s
 * tp_clear turns it on): gc.collect() == 20000, gc.garbage holds v[1] to
 * v[19999] in order, and v[0], cleared, stays alive (they refer to it). */
static long ring_clears;
static void ring_clear(void *self) {
    node *n = self;
    ring_clears++;
    if (n->id == 0 && ring_clears == 1)
        rc_gc_set_debug(H, RC_GC_DEBUG_SAVEALL);
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}

typedef struct ring_walk { int next; bool in_order; } ring_walk;
static int ring_fn(void *obj, void *arg) {
    ring_walk *w = arg;
    w->in_order &= ((node *)obj)->id == w->next++;
    return 0;
}

START_TEST(test_saveall_read_per_object_held) {
    enum { N = 20000 };
    static const rc_type t = {"ring", sizeof(node), node_traverse, ring_clear, NULL, NULL};
    node **v = malloc(N * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (int i = 0; i < N; i++) {
        v[i] = make_typed(&t);
        v[i]->id = i;
    }
    for (int i = 0; i < N; i++) {
        v[i]->a = rc_incref(v[(i + 1) % N]);
        v[i]->b = rc_incref(v[(i + N / 2) % N]);
    }
    node *first = v[0];
    for (int i = 0; i < N; i++)
        rc_decref(v[i]);
    ring_clears = 0;
    ck_assert_int_eq(rc_gc_collect(H, 2), N);
    ck_assert_int_eq(ring_clears, 1);
    ck_assert_uint_eq(rc_gc_garbage_count(H), N - 1);
    ring_walk w = {1, true};
    ck_assert_int_eq(rc_gc_garbage(H, ring_fn, &w), 0);
    ck_assert(w.in_order);
    ck_assert_ptr_eq(v[N - 1]->a, first); /* alive, cleared */
    ck_assert_ptr_null(first->a);
    ck_assert_ptr_null(first->b);
    rc_gc_set_debug(H, 0);
    rc_gc_garbage_clear(H);
    ck_assert_int_eq(rc_gc_collect(H, 2), N);
    ck_assert_uint_eq(count_gen(-1), 0);
    free(v);
}
END_TEST

/* Frozen objects are never examined nor reported as referrers, and
 * get_objects(-1) leaves them out, as CPython; unfreeze puts them back. */
START_TEST(test_freeze_not_examined) {
    node *target = make();
    node *frozen = self_cycle(&node_type);
    frozen->b = rc_incref(target);
    rc_gc_freeze(H);
    ck_assert_uint_eq(rc_gc_get_freeze_count(H), 2);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_uint_eq(count_gen(-1), 0);
    size_t n = 0;
    ck_assert_int_eq(rc_gc_get_referrers(H, target, count_fn, &n), 0);
    ck_assert_uint_eq(n, 0);
    rc_gc_unfreeze(H);
    ck_assert_int_eq(rc_gc_get_referrers(H, target, count_fn, &n), 0);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    rc_decref(target);
}
END_TEST

/* get_referrers: every tracked object that refers to obj, once, itself
 * included; early stop returns fn's value. */
START_TEST(test_get_referrers) {
    node *t = make(), *r1 = make(), *r2 = make(), *other = make();
    r1->a = rc_incref(t);
    r1->b = rc_incref(t);
    r2->b = rc_incref(t);
    t->a = rc_incref(t);
    void *got[8] = {0};
    ck_assert_int_eq(rc_gc_get_referrers(H, t, collect_fn, got), 0);
    ck_assert_ptr_eq(got[0], t);
    ck_assert_ptr_eq(got[1], r1);
    ck_assert_ptr_eq(got[2], r2);
    ck_assert_ptr_null(got[3]);
    void *first = NULL;
    ck_assert_int_eq(rc_gc_get_referrers(H, r1, first_fn, &first), 0);
    ck_assert_ptr_null(first);
    ck_assert_int_eq(rc_gc_get_referrers(H, t, first_fn, &first), 1);
    ck_assert_ptr_eq(first, t);
    RC_CLEAR(t->a);
    rc_decref(t);
    rc_decref(r1);
    rc_decref(r2);
    rc_decref(other);
}
END_TEST

/* A walk's fn may drop references (even the last one of the current or
 * the next object), allocate, or call rc_gc_collect (which returns 0: no
 * collection starts during a walk). */
static node *chain[4];

static int mutate(void *obj, void *arg) {
    (void)arg;
    if (obj == chain[0]) {
        RC_CLEAR(chain[0]); /* the current object's last reference */
        RC_CLEAR(chain[1]); /* and the next one's */
        node *fresh = make();
        fresh->a = rc_incref(fresh);
        rc_decref(fresh); /* garbage the walk may or may not see */
        ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    }
    return 0;
}

START_TEST(test_walk_mutation) {
    rc_gc_enable(H);
    rc_gc_set_threshold(H, 1, 1, 1);
    for (int i = 0; i < 4; i++)
        chain[i] = make();
    rc_gc_collect(H, 2);
    rc_gc_set_threshold(H, 700, 10, 10);
    ck_assert_int_eq(rc_gc_get_objects(H, 2, mutate, NULL), 0);
    ck_assert_ptr_null(chain[0]);
    rc_gc_disable(H);
    ck_assert_int_eq(rc_gc_collect(H, 2), 1);
    rc_decref(chain[2]);
    rc_decref(chain[3]);
}
END_TEST

/* A walk calls fn on the objects there when it started, as CPython's
 * gc.get_objects() and gc.get_referrers() list them: objects fn makes,
 * referrers too, are not walked (they join generation 0 behind the last
 * one; a walk whose fn made one each time never ended). fn gives up past
 * 100 calls, so that the old behaviour fails instead of hanging. */
static node *made[200];
static size_t nmade, ncalls;
static int make_one(void *obj, void *arg) {
    (void)obj;
    node *target = arg;
    made[nmade] = make();
    made[nmade++]->a = rc_incref(target); /* a referrer of target, if any */
    return ++ncalls > 100;
}

START_TEST(test_walk_sees_objects_there_at_start) {
    node *target = make();
    node *refs[3];
    for (int i = 0; i < 3; i++) {
        refs[i] = make();
        refs[i]->a = rc_incref(target);
    }
    nmade = ncalls = 0;
    ck_assert_int_eq(rc_gc_get_objects(H, -1, make_one, NULL), 0);
    ck_assert_uint_eq(ncalls, 4);
    ncalls = 0;
    ck_assert_int_eq(rc_gc_get_referrers(H, target, make_one, target), 0);
    ck_assert_uint_eq(ncalls, 3);
    ck_assert_uint_eq(count_gen(-1), 4 + 4 + 3);
    for (size_t i = 0; i < nmade; i++)
        rc_decref(made[i]);
    for (int i = 0; i < 3; i++)
        rc_decref(refs[i]);
    rc_decref(target);
}
END_TEST

/* rc_heap_free: a full collection first (garbage is not a leak), then one
 * log line per leaked object with RC_GC_DEBUG_UNCOLLECTABLE. */
START_TEST(test_heap_free_uncollectable_log) {
    rc_heap *h = rc_heap_new();
    node *cyc = rc_new(h, &node_type);
    cyc->a = rc_incref(cyc);
    rc_decref(cyc);
    node *leak = rc_new(h, &node_type);
    node *leaf = rc_new(h, &leaf_type);
    leak->a = leaf;
    char want[2][160];
    snprintf(want[0], sizeof want[0], "gc: uncollectable <node %p>", (void *)leak);
    snprintf(want[1], sizeof want[1], "gc: uncollectable <leaf %p>", (void *)leaf);
    rc_gc_set_log(h, capture, NULL);
    rc_gc_set_debug(h, RC_GC_DEBUG_UNCOLLECTABLE);
    ck_assert_uint_eq(rc_heap_free(h), 2);
    ck_assert_int_eq(nlines, 2);
    bool seen[2] = {false, false};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            seen[j] |= strcmp(lines[i], want[j]) == 0;
    ck_assert(seen[0] && seen[1]);
}
END_TEST

/* At heap teardown a released object is dead, as a CPython object is from
 * its dealloc on (untracked first): its release, as the release of any
 * death, finds it untracked and off rc_gc_get_objects, and the objects
 * released before it are gone from the walks and the freeze count too.
 * Released in no set order: each release checks every object. */
enum { GONE = 4 };
static node *gone_objs[GONE];
static int gone_checked;

static bool gone_released(const void *o) { return (rc_head_of(o)->info & RC_F_RELEASED) != 0; }

static int gone_count(void *obj, void *arg) {
    (void)obj;
    ++*(size_t *)arg;
    return 0;
}

static void gone_release(void *self) {
    rc_heap *h = rc_heap_of(self);
    size_t alive[2] = {0, 0}, walked = 0; /* unfrozen, frozen */
    for (int i = 0; i < GONE; i++) {
        alive[i % 2] += !gone_released(gone_objs[i]);
        ck_assert_int_eq(rc_gc_is_tracked(gone_objs[i]), !gone_released(gone_objs[i]));
    }
    ck_assert_int_eq(rc_gc_get_objects(h, -1, gone_count, &walked), 0);
    ck_assert_uint_eq(walked, alive[0]);
    ck_assert_uint_eq(rc_gc_get_freeze_count(h), alive[1]);
    gone_checked++;
}

static const rc_type gone_type = {"gone", sizeof(node), node_traverse, NULL, NULL, gone_release};

START_TEST(test_heap_free_released_untracked) {
    rc_heap *h = rc_heap_new();
    for (int i = 0; i < GONE; i += 2)
        gone_objs[i + 1] = rc_new(h, &gone_type);
    rc_gc_freeze(h); /* the odd ones */
    for (int i = 0; i < GONE; i += 2)
        gone_objs[i] = rc_new(h, &gone_type);
    gone_checked = 0;
    ck_assert_uint_eq(rc_heap_free(h), GONE);
    ck_assert_int_eq(gone_checked, GONE);
}
END_TEST

/* An object whose count saturated (immortal) says nothing about its
 * references: like CPython 3.12, the collector moves it to the permanent
 * generation instead of examining it, then or later (its generation tag
 * says so: a full collection examining y leaves it alone). */
START_TEST(test_immortal_to_permanent) {
    for (int generation = 0; generation <= 2; generation += 2) {
        node *x = make(), *y = make();
        x->a = rc_incref(y); /* y stays reachable through x */
        y->a = rc_incref(x);
        rc_decref(y);
        rc_head_of(x)->refcnt = RC_IMMORTAL;
        ck_assert_int_eq(rc_gc_collect(H, generation), 0);
        ck_assert_uint_eq(rc_gc_get_freeze_count(H), 1);
        ck_assert_uint_eq(count_gen(-1), 1);
        ck_assert(in_gen(y, generation == 0 ? 1 : 2));
        ck_assert_uint_eq((rc_head_of(x)->info & RC_F_GEN) >> RC_F_GEN_SHIFT, RC_GC_PERMANENT);
        ck_assert_int_eq(rc_gc_collect(H, 2), 0);
        ck_assert_uint_eq(rc_gc_of(x)->prev & RC_GC_PREV_FLAGS, 0);
        rc_head_of(x)->refcnt = 2;
        rc_gc_unfreeze(H);
        rc_decref(x);
        ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    }
}
END_TEST

/* Finalizers of garbage may allocate, build new cycles, drop references
 * and collect (0) during the collection; the new cycle is found next time. */
static void busy_finalize(void *self) {
    node *n = self;
    node *c = make();
    c->a = rc_incref(c);
    rc_decref(c);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    RC_CLEAR(n->b);
}

START_TEST(test_finalizer_side_effects) {
    static const rc_type busy = {"busy", sizeof(node), node_traverse, NULL, busy_finalize, NULL};
    for (int i = 0; i < 10; i++) {
        node *x = self_cycle(&busy);
        x->b = make();
        x->b->a = rc_incref(x);
    }
    ck_assert_int_eq(rc_gc_collect(H, 0), 10); /* the b's die by counting */
    ck_assert_uint_eq(count_gen(0), 10);
    ck_assert_int_eq(rc_gc_collect(H, 0), 10);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* Much garbage whose references point far away (a random graph of 50000
 * objects, two references each) is held whole and cleared before any of
 * it dies (src/gc.c, clear_held): the collection's clear of each object
 * (its first; its death clears it again, as CPython's dealloc does) comes
 * before every release, each release runs once, and a graph still
 * reachable, which the garbage refers to, is untouched: alive, its counts
 * exact. */
static long held_clears, held_releases, held_clear_after_release;
static void held_clear(void *self) {
    node *n = self;
    if (n->id == 0) {
        n->id = 1;
        held_clears++;
        held_clear_after_release += held_releases != 0;
    }
    RC_CLEAR(n->a);
    RC_CLEAR(n->b);
}
static void held_release(void *self) {
    (void)self;
    held_releases++;
}
static const rc_type held_type = {"held", sizeof(node), node_traverse, held_clear, NULL,
                                  held_release};

/* n new nodes of held_type, each referring to two of to[0..m) at random. */
static node **random_nodes(uint64_t *x, int n, node **to, int m) {
    node **nodes = malloc(n * sizeof *nodes);
    ck_assert_ptr_nonnull(nodes);
    for (int i = 0; i < n; i++)
        nodes[i] = make_typed(&held_type);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < 2; k++) {
            *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17; /* xorshift64 */
            node *target = to ? to[*x % m] : nodes[*x % n];
            *(k ? &nodes[i]->b : &nodes[i]->a) = rc_incref(target);
        }
    }
    return nodes;
}

START_TEST(test_far_garbage_held) {
    enum { N = 50000, M = 1000 };
    uint64_t x = 88172645463325252u;
    node **kept = random_nodes(&x, M, NULL, 0);
    node **garbage = random_nodes(&x, N, NULL, 0);
    for (int i = 0; i < N; i += 10) /* and some of it refers to kept */
        RC_SET(garbage[i]->b, rc_incref(kept[i % M]));
    size_t kept_counts[M];
    for (int i = 0; i < M; i++)
        kept_counts[i] = rc_refcount(kept[i]);
    for (int i = 0; i < N; i++)
        rc_decref(garbage[i]); /* what is in no cycle dies now */
    size_t cyclic = stats_of(H).objects - M;
    held_clears = held_releases = held_clear_after_release = 0;
    ck_assert_int_eq(rc_gc_collect(H, 2), (long)cyclic);
    ck_assert_int_gt(cyclic, N / 2);
    ck_assert_int_eq(held_clears, (long)cyclic);
    ck_assert_int_eq(held_releases, (long)cyclic);
    ck_assert_int_eq(held_clear_after_release, 0);
    ck_assert_uint_eq(stats_of(H).objects, M);
    for (int i = 0; i < M; i++) {
        long dropped = 0; /* references the garbage held to kept[i] */
        for (int j = 0; j < N; j += 10)
            dropped += j % M == i;
        ck_assert_uint_eq(rc_refcount(kept[i]), kept_counts[i] - (size_t)dropped);
    }
    for (int i = 0; i < M; i++)
        rc_decref(kept[i]);
    long left = (long)stats_of(H).objects;
    ck_assert_int_eq(rc_gc_collect(H, 2), left);
    ck_assert_uint_eq(stats_of(H).objects, 0);
    free(kept);
    free(garbage);
}
END_TEST

/* Big far garbage whose clears end objects outside it that someone can
 * see die (leaves with weak reference callbacks) is cleared in turns, as
 * CPython clears it, not held (clear_held): the leaves die in CPython's
 * order. Random pairs of nodes of type t, each node holding its own leaf:
 * CPython's clear of the first of a pair frees its partner on the spot,
 * whose leaf dies first; held, the partner's leaf waits for its turn
 * (python3.12 prints the same order for __slots__ objects and code
 * objects as leaves). Plain nodes (their sweep stops at a leaf) and nodes
 * with a clear and a release (outside_seen). */
enum { SEEN_N = 10000 };
static int seen_order[SEEN_N], nseen;

static void seen_leaf(rc_weakref *ref, void *arg) {
    (void)ref;
    ck_assert_int_lt(nseen, SEEN_N);
    seen_order[nseen++] = (int)(intptr_t)arg;
}

static void far_garbage_seen_deaths_in_turns(const rc_type *t) {
    node **nodes = malloc(SEEN_N * sizeof *nodes);
    int *perm = malloc(SEEN_N * sizeof *perm), *partner = malloc(SEEN_N * sizeof *partner);
    rc_weakref **refs = malloc(SEEN_N * sizeof *refs);
    ck_assert(nodes && perm && partner && refs);
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < SEEN_N; i++) {
        nodes[i] = make_typed(t);
        perm[i] = i;
    }
    for (int i = SEEN_N - 1; i > 0; i--) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        int j = (int)(x % (uint64_t)(i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (int i = 0; i < SEEN_N; i += 2) {
        partner[perm[i]] = perm[i + 1];
        partner[perm[i + 1]] = perm[i];
    }
    for (int i = 0; i < SEEN_N; i++) {
        nodes[i]->a = rc_incref(nodes[partner[i]]);
        nodes[i]->b = make_typed(&leaf_type);
        refs[i] = rc_weakref_new(nodes[i]->b, seen_leaf, (void *)(intptr_t)i);
    }
    for (int i = 0; i < SEEN_N; i++)
        rc_decref(nodes[i]);
    nseen = 0;
    ck_assert_int_eq(rc_gc_collect(H, 2), SEEN_N);
    ck_assert_int_eq(nseen, SEEN_N);
    bool *dead = calloc(SEEN_N, sizeof *dead);
    ck_assert_ptr_nonnull(dead);
    for (int i = 0, k = 0; i < SEEN_N; i++) {
        if (dead[i])
            continue;
        ck_assert_int_eq(seen_order[k++], partner[i]); /* freed by i's clear */
        ck_assert_int_eq(seen_order[k++], i);
        dead[i] = dead[partner[i]] = true;
    }
    for (int i = 0; i < SEEN_N; i++)
        rc_decref(refs[i]);
    free(dead);
    free(refs);
    free(partner);
    free(perm);
    free(nodes);
}

START_TEST(test_far_garbage_seen_deaths_in_turns) { far_garbage_seen_deaths_in_turns(&node_type); }
END_TEST

START_TEST(test_far_garbage_not_plain_seen_deaths_in_turns) {
    held_clears = held_releases = 0;
    far_garbage_seen_deaths_in_turns(&held_type);
    ck_assert_int_eq(held_clears, SEEN_N);
    ck_assert_int_eq(held_releases, SEEN_N);
}
END_TEST

/* Large garbage: a ring of 200000 objects and a long chain hanging off a
 * cycle are freed without deep recursion. */
START_TEST(test_deep_garbage) {
    const int n = 200000;
    node *first = make(), *last = first;
    for (int i = 1; i < n; i++) {
        node *x = make();
        last->a = x;
        last = x;
    }
    last->a = first; /* closes the ring with first's reference */
    node *cyc = self_cycle(&node_type);
    node *tail = cyc;
    for (int i = 0; i < n; i++) {
        tail->b = make();
        tail = tail->b;
    }
    ck_assert_int_eq(rc_gc_collect(H, 2), 2L * n + 1);
    ck_assert_uint_eq(count_gen(-1), 0);
}
END_TEST

/* Garbage of plain objects (types with traverse only, no weak references)
 * is swept (src/gc.c, sweep_garbage): the same objects die and the same
 * references are dropped as in CPython's way. Pairs, a ring of 1000 (some
 * medium objects), a self-cycle and a large object, each member holding the only reference to
 * an untracked plain leaf (which dies with it) and one an immortal leaf
 * (untouched); first with every examined object garbage (the scan is
 * skipped), then beside a live plain object (the scan runs), then with
 * tracing on (every trace ends). */
static void plain_garbage(node **big) {
    for (int i = 0; i < 10; i++) {
        node *x = make(), *y = make();
        x->a = rc_incref(y);
        y->a = x;
        x->b = make_typed(&leaf_type);
        rc_decref(y);
    }
    node *first = make(), *last = first;
    for (int i = 1; i < 1000; i++) { /* every third a medium pool block */
        last->a = i % 3 ? make() : rc_new_sized(H, &node_type, 3000);
        last = last->a;
        last->b = i % 3 != 1 ? make_typed(&leaf_type) : rc_new_sized(H, &leaf_type, 700);
        ck_assert(last->a == NULL && last->b != NULL);
    }
    last->a = first;
    self_cycle(&node_type)->b = make_typed(&leaf_type);
    *big = rc_new_sized(H, &node_type, 4096);
    ck_assert_ptr_nonnull(*big);
    (*big)->a = *big;
}

START_TEST(test_plain_garbage_swept) {
    node *immortal = make_typed(&leaf_type);
    rc_head_of(immortal)->refcnt = RC_IMMORTAL - 1;
    rc_incref(immortal); /* saturates */
    for (int round = 0; round < 3; round++) {
        node *live = NULL, *big;
        if (round == 1) {
            live = make();
            live->a = rc_incref(immortal);
        }
        if (round == 2)
            ck_assert_int_eq(rc_tracemalloc_start(H, 1), 0);
        plain_garbage(&big);
        big->b = rc_incref(immortal);
        rc_heap_stats st = stats_of(H);
        ck_assert_uint_eq(st.objects, 1 + 1022 + 1010 + (live != NULL));
        ck_assert_uint_eq(st.tracked, 1022 + (live != NULL));
        ck_assert_int_eq(rc_gc_collect(H, 2), 1022);
        st = stats_of(H);
        ck_assert_uint_eq(st.objects, 1 + (live != NULL));
        ck_assert_uint_eq(st.tracked, live != NULL);
        ck_assert_uint_eq(rc_refcount(immortal), RC_IMMORTAL);
        assert_count(0, 0, 0);
        if (live) {
            ck_assert_ptr_eq(live->a, immortal);
            ck_assert(in_gen(live, 2));
            rc_decref(live);
        }
        if (round == 2) {
            size_t current, peak;
            rc_tracemalloc_get_traced_memory(H, &current, &peak);
            ck_assert_uint_eq(current, 0);
            rc_tracemalloc_stop(H);
        }
    }
    rc_head_of(immortal)->refcnt = 1; /* mortal again, to die before teardown */
    rc_decref(immortal);
}
END_TEST

/* A sweep that has taken counts from live objects and then meets a death
 * that could be seen gives them back before CPython's way runs: x <-> z,
 * x -> w, w -> kept (old, also held by the test), w -> an untracked object
 * whose release logs. The counts come out exact, the release runs once. */
static int untracked_releases;
static void count_release(void *self) {
    (void)self;
    untracked_releases++;
}

START_TEST(test_plain_garbage_sweep_undone) {
    static const rc_type logged_type = {"logged", sizeof(node), NULL, NULL, NULL, count_release};
    node *kept = make();
    rc_gc_collect(H, 2);
    for (int generation = 0; generation <= 2; generation += 2) {
        node *x = make(), *z = make(), *w = make();
        x->a = z;
        z->a = rc_incref(x);
        x->b = w;
        w->a = rc_incref(kept);
        w->b = make_typed(&logged_type);
        rc_decref(x);
        untracked_releases = 0;
        ck_assert_uint_eq(rc_refcount(kept), 2);
        ck_assert_int_eq(rc_gc_collect(H, generation), 3);
        ck_assert_int_eq(untracked_releases, 1);
        ck_assert_uint_eq(rc_refcount(kept), 1);
        ck_assert_uint_eq(stats_of(H).objects, 1);
    }
    rc_decref(kept);
}
END_TEST

/* Untracked plain leaves and the sweep, on x -> y -> z -> x. Round 0: y
 * and z share a leaf nothing else holds: y takes a count from it
 * (RC_F_SWEPT), z finds it at count 1 and may not free it (y's slot still
 * points there): it is doomed (count 0); then x -> w, made after z, holding
 * a leaf whose release counts, stops the sweep; the counts come back (the
 * doomed leaf's too: had z freed it, the undo would touch freed memory,
 * which ASan reports) and CPython's way frees it all. Round 1: x holds a
 * leaf of its own (it dies unseen at once), y one the test holds too:
 * swept, that leaf's count exact, RC_F_SWEPT left on it. Round 2: its only
 * holder is now garbage: with the stale flag it is doomed rather than
 * freed at once, and freed when the sweep goes through. */
START_TEST(test_plain_garbage_leaves) {
    static const rc_type logged_type = {"logged", sizeof(node), NULL, NULL, NULL, count_release};
    node *kept = make_typed(&leaf_type);
    for (int round = 0; round < 3; round++) {
        node *x = make(), *y = make(), *z = make();
        x->a = rc_incref(y);
        y->a = rc_incref(z);
        z->a = x;
        untracked_releases = 0;
        if (round == 0) {
            y->b = make_typed(&leaf_type);
            z->b = rc_incref(y->b);
            x->b = make();
            x->b->a = make_typed(&logged_type);
        } else {
            x->b = make_typed(&leaf_type);
            y->b = round == 1 ? rc_incref(kept) : kept;
            z->b = make_typed(&leaf_type);
        }
        rc_decref(y);
        rc_decref(z);
        ck_assert_int_eq(rc_gc_collect(H, 2), round == 0 ? 4 : 3);
        ck_assert_int_eq(untracked_releases, round == 0);
        ck_assert_uint_eq(stats_of(H).objects, round < 2);
        if (round == 1) {
            ck_assert_uint_eq(rc_refcount(kept), 1);
            ck_assert(rc_head_of(kept)->info & RC_F_SWEPT);
        }
    }
}
END_TEST

/* Plain garbage whose untracked leaves only garbage holds, each through two
 * references (n pairs, both nodes holding the pair's leaf): the sweep
 * dooms each leaf at its last reference and frees it after the garbage, in
 * one walk; its list of doomed leaves (the one thing a sweep allocates)
 * grows five times for 1000 of them. When that growth fails, the sweep
 * gives every count back and CPython's way frees the same objects. Every
 * byte goes back either way. */
START_TEST(test_plain_garbage_shared_leaves) {
    enum { N = 1000 };
    for (size_t fail = 0; fail <= 6; fail++) {
        counting_alloc c = {0};
        rc_heap *h = rc_heap_new_with(counting_fn, &c);
        ck_assert_ptr_nonnull(h);
        rc_gc_disable(h);
        for (int i = 0; i < N; i++) {
            node *x = rc_new(h, &node_type), *y = rc_new(h, &node_type);
            ck_assert(x && y);
            x->a = rc_incref(y);
            y->a = x;
            x->b = rc_new(h, &leaf_type);
            y->b = rc_incref(x->b);
            rc_decref(y);
        }
        ck_assert_uint_eq(stats_of(h).objects, 3 * N);
        size_t requests = c.requests;
        if (fail)
            counting_fail_next(&c, fail);
        ck_assert_int_eq(rc_gc_collect(h, 2), 2 * N);
        ck_assert_uint_eq(stats_of(h).objects, 0);
        ck_assert_uint_eq(c.requests - requests, fail && fail <= 5 ? fail : 5);
        ck_assert_uint_eq(c.refused, fail && fail <= 5);
        ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
        ck_assert_uint_eq(rc_heap_free(h), 0);
        ck_assert_uint_eq(c.outstanding, 0);
        ck_assert_uint_eq(c.blocks, 0);
    }
}
END_TEST

/* Plain garbage of H holding, through two references, an untracked leaf
 * of another heap that nothing else holds: the sweep dooms the leaf at its
 * second reference and frees it after the walk, in its own heap. It was
 * freed as H's (gc.c, sweep_garbage): H's object count fell for it, B's
 * did not, and its block went into H's pool lists (UBSan: member access
 * within null pointer in class_remove). */
START_TEST(test_plain_garbage_sweeps_leaf_of_other_heap) {
    rc_heap *b = rc_heap_new();
    node *x = make(), *y = make();
    x->a = rc_incref(y);
    y->a = x;
    x->b = rc_new(b, &leaf_type);
    y->b = rc_incref(x->b);
    rc_decref(y);
    ck_assert_uint_eq(stats_of(b).objects, 1);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_uint_eq(stats_of(H).objects, 0);
    ck_assert_uint_eq(stats_of(b).objects, 0);
    ck_assert_uint_eq(rc_heap_free(b), 0);
}
END_TEST

/* References between heaps (of one thread): each heap's collector counts
 * the other's references as outside, and leaves the other's objects and
 * lists alone. A full collection of H, whose node holds one of B's, then
 * that object's death (it unlinks itself from B's list: the full
 * collection must not have marked it), then a young one; a cycle through
 * both heaps, which neither collector frees (each sees the other's
 * reference), until the program breaks it; and a collection of B started
 * from a finalizer while H's runs: it runs when no object of B refers to
 * another heap's (H's objects bear the marks of H's collection), else it
 * does not start (0) and B's garbage waits for the next one. */
static rc_heap *other_heap;
static long nested_result = -2;
static void collect_other(void *self) {
    (void)self;
    nested_result = rc_gc_collect(other_heap, 2);
}

/* H's garbage whose finalizer collects B, beside other garbage of H;
 * returns what H's collection found. */
static long collect_with_nested(const rc_type *collecting_type) {
    node *g = self_cycle(collecting_type);
    (void)g;
    self_cycle(&node_type);
    nested_result = -2;
    return rc_gc_collect(H, 2);
}

START_TEST(test_heaps_refer_to_each_other) {
    static const rc_type collecting_type = {"collecting", sizeof(node), node_traverse, NULL,
                                            collect_other, NULL};
    rc_heap *b = other_heap = rc_heap_new();
    rc_gc_disable(b);
    for (int generation = 2; generation >= 0; generation -= 2) {
        node *b0 = rc_new(b, &node_type), *b1 = rc_new(b, &node_type);
        node *b2 = rc_new(b, &node_type);
        node *x = make();
        x->a = b1; /* x holds B's b1 (stolen) */
        ck_assert_int_eq(rc_gc_collect(H, generation), 0);
        ck_assert_uint_eq(rc_refcount(b1), 1);
        rc_decref(x); /* b1 dies, leaving B's list */
        ck_assert_int_eq(rc_gc_collect(b, 2), 0);
        size_t in_b = 0;
        ck_assert_int_eq(rc_gc_get_objects(b, -1, count_fn, &in_b), 0);
        ck_assert_uint_eq(in_b, 2);
        rc_decref(b0);
        rc_decref(b2);
        ck_assert_uint_eq(stats_of(b).objects, 0);
    }
    node *x = make(), *y = rc_new(b, &node_type);
    x->a = y;
    y->a = rc_incref(x);
    rc_decref(x);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_int_eq(rc_gc_collect(b, 2), 0);
    ck_assert_uint_eq(rc_refcount(x), 1);
    ck_assert_uint_eq(rc_refcount(y), 1);
    RC_CLEAR(y->a); /* the program breaks the cycle: both die */
    ck_assert_uint_eq(stats_of(H).objects + stats_of(b).objects, 0);
    node *bc = rc_new(b, &node_type); /* B's garbage, B self-contained */
    bc->a = rc_incref(bc);
    rc_decref(bc);
    ck_assert_int_eq(collect_with_nested(&collecting_type), 2);
    ck_assert_int_eq(nested_result, 1);
    ck_assert_uint_eq(stats_of(b).objects, 0);
    node *holder = rc_new(b, &node_type); /* now B refers to H */
    holder->a = make();
    bc = rc_new(b, &node_type);
    bc->a = rc_incref(bc);
    rc_decref(bc);
    ck_assert_int_eq(collect_with_nested(&collecting_type), 2);
    ck_assert_int_eq(nested_result, 0);
    ck_assert_int_eq(rc_gc_collect(b, 2), 1);
    rc_decref(holder);
    ck_assert_uint_eq(rc_heap_free(b), 0);
}
END_TEST

/* rc_heap_free of a heap from a finalizer that runs during another heap's
 * collection: its collection runs (the heap refers to no other), so its
 * garbage is collected, not counted as leaked, and its finalizers run
 * during that collection. */
static int freed_finalized;
static size_t nested_leaks = 99;
static void count_finalized(void *self) {
    (void)self;
    freed_finalized++;
}
static void free_other(void *self) {
    (void)self;
    nested_leaks = rc_heap_free(other_heap);
}

START_TEST(test_heap_free_nested) {
    static const rc_type freeing_type = {"freeing", sizeof(node), node_traverse, NULL,
                                         free_other, NULL};
    static const rc_type counted_type = {"counted", sizeof(node), node_traverse, NULL,
                                         count_finalized, NULL};
    rc_heap *b = other_heap = rc_heap_new();
    node *x = rc_new(b, &counted_type), *y = rc_new(b, &counted_type);
    x->a = y;
    y->a = x; /* a cycle of B, unreachable (both references stolen) */
    freed_finalized = 0;
    ck_assert_int_eq(collect_with_nested(&freeing_type), 2);
    ck_assert_uint_eq(nested_leaks, 0);
    ck_assert_int_eq(freed_finalized, 2);
}
END_TEST

/* A collection of B nested in H's, which starts because no object of B
 * refers to another heap's, and whose finalizer then makes B's garbage
 * refer to H's garbage (marked by H's collection: UNREACHABLE, its prev a
 * pointer): B's look at its garbage after the finalizers must not reach
 * H's marks (it took 4 from that prev pointer; H's finalizer then freed
 * the object and unlinked it through the bent pointer). B keeps that
 * garbage, as if resurrected, and a later collection of B frees it. */
static node *h_garbage;
static void link_to_h(void *self) { ((node *)self)->b = rc_incref(h_garbage); }
static void collect_other_then_drop(void *self) {
    nested_result = rc_gc_collect(other_heap, 2);
    RC_CLEAR(((node *)self)->a); /* h_garbage dies, leaving H's unreachable list */
}

/* H's garbage x <-> y (x's finalizer collects other_heap, b) and b's
 * garbage bx <-> by (bx of type bx_type), referring to nothing of H;
 * returns bx. */
static node *garbage_in_both(rc_heap *b, const rc_type *bx_type) {
    static const rc_type collecting_type = {"collecting", sizeof(node), node_traverse, NULL,
                                            collect_other_then_drop, NULL};
    other_heap = b;
    node *x = make_typed(&collecting_type), *y = make();
    x->a = y;
    y->a = x;
    h_garbage = y;
    node *bx = rc_new(b, bx_type), *by = rc_new(b, &node_type);
    ck_assert(bx && by);
    bx->a = by;
    by->a = bx;
    return bx;
}

START_TEST(test_nested_collection_finalizer_links_heaps) {
    static const rc_type linking_type = {"linking", sizeof(node), node_traverse, NULL,
                                         link_to_h, NULL};
    rc_heap *b = rc_heap_new();
    rc_gc_disable(b);
    garbage_in_both(b, &linking_type);
    nested_result = -2;
    rc_gc_collect(H, 2);
    ck_assert_int_eq(nested_result, 0); /* B's garbage kept: it refers to H now */
    ck_assert_uint_eq(stats_of(b).objects, 2);
    ck_assert_uint_eq(rc_refcount(h_garbage), 1); /* bx's reference */
    ck_assert_int_eq(rc_gc_collect(b, 2), 2);   /* not nested: collected */
    ck_assert_uint_eq(stats_of(b).objects, 0);
    ck_assert_uint_eq(rc_heap_free(b), 0);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0); /* x and y died as bx dropped y */
    ck_assert_uint_eq(stats_of(H).objects, 0);
}
END_TEST

/* The same, but what links B's garbage to H's is user code B's nested
 * collection runs before it looks at anything: a "start" callback, or the
 * log function (DEBUG_STATS' first line, DEBUG_COLLECTABLE's lines, the
 * latter about garbage that runs no other user code and is swept). The
 * fused pass took 4 from h_garbage's prev; the sweep skipped h_garbage,
 * marked collecting by H's collection, and freed bx without dropping its
 * reference, which leaked x and y. B's garbage must be kept instead. */
static node *b_garbage;
static void link_b_garbage_to_h(void) {
    if (b_garbage && b_garbage->b == NULL)
        b_garbage->b = rc_incref(h_garbage);
}
static void start_links_to_h(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h, (void)info, (void)arg;
    if (strcmp(phase, "start") == 0)
        link_b_garbage_to_h();
}
static void log_links_to_h(const char *line, void *arg) {
    if (strstr(line, (const char *)arg))
        link_b_garbage_to_h();
}

START_TEST(test_nested_collection_early_user_code_links_heaps) {
    for (int way = 0; way < 3; way++) {
        rc_heap *b = rc_heap_new();
        rc_gc_disable(b);
        if (way == 0)
            ck_assert_int_eq(rc_gc_callback_add(b, start_links_to_h, NULL), 0);
        else if (way == 1)
            rc_gc_set_debug(b, RC_GC_DEBUG_STATS), rc_gc_set_log(b, log_links_to_h, "collecting");
        else
            rc_gc_set_debug(b, RC_GC_DEBUG_COLLECTABLE),
                rc_gc_set_log(b, log_links_to_h, "collectable");
        b_garbage = garbage_in_both(b, &node_type);
        nested_result = -2;
        rc_gc_collect(H, 2);
        b_garbage = NULL;
        ck_assert_int_eq(nested_result, 0);
        ck_assert_uint_eq(stats_of(b).objects, 2);
        ck_assert_uint_eq(rc_refcount(h_garbage), 1); /* bx's reference */
        rc_gc_set_debug(b, 0);
        rc_gc_callback_remove(b, start_links_to_h, NULL);
        ck_assert_int_eq(rc_gc_collect(b, 2), 2);
        ck_assert_uint_eq(rc_heap_free(b), 0);
        ck_assert_int_eq(rc_gc_collect(H, 2), 0);
        ck_assert_uint_eq(stats_of(H).objects, 0);
    }
}
END_TEST

/* Young plain garbage that refers to an old object drops that reference
 * (it is not garbage: its count must come out exact), and garbage that
 * refers to nothing else is freed whole. */
START_TEST(test_plain_garbage_refers_old) {
    node *old = make();
    rc_gc_collect(H, 2);
    ck_assert(in_gen(old, 2));
    for (int i = 0; i < 100; i++) {
        node *x = make(), *y = make();
        x->a = rc_incref(y);
        y->a = x;
        y->b = rc_incref(old);
        rc_decref(y);
    }
    ck_assert_uint_eq(rc_refcount(old), 101);
    ck_assert_int_eq(rc_gc_collect(H, 0), 200);
    ck_assert_uint_eq(rc_refcount(old), 1);
    ck_assert_uint_eq(stats_of(H).objects, 1);
    rc_decref(old);
}
END_TEST

/* The order in which garbage's references to the outside die is CPython's
 * even when the garbage is plain: n1 -> n2 -> n3 -> n1, made in the order
 * n1, n3, n2, each the only holder of an old tag that logs its death.
 * python3.12 (class N: __slots__ = ('atag', 'nxt'); tags in generation 2):
 * gc.collect(0) == 3, deaths [1, 2, 3] (n1's clear kills n2, which kills
 * n3). A sweep in list order would say [1, 3, 2]. First with only the
 * garbage in generation 0, then beside a live object. */
static int tag_deaths[3], ntag_deaths;
static void tag_release(void *self) { tag_deaths[ntag_deaths++] = ((node *)self)->id; }
static void no_refs(void *self, rc_visit_fn visit, void *arg) {
    (void)self, (void)visit, (void)arg;
}

START_TEST(test_plain_garbage_outside_order) {
    static const rc_type tag_type = {"tag", sizeof(node), no_refs, NULL, NULL, tag_release};
    for (int round = 0; round < 2; round++) {
        node *tags[3];
        for (int i = 0; i < 3; i++) {
            tags[i] = make_typed(&tag_type);
            tags[i]->id = i + 1;
        }
        rc_gc_collect(H, 2); /* the tags are old now */
        node *live = round ? make() : NULL;
        node *n1 = make(), *n3 = make(), *n2 = make();
        n1->a = tags[0];
        n2->a = tags[1];
        n3->a = tags[2];
        n1->b = n2;
        n2->b = n3;
        n3->b = n1;
        ntag_deaths = 0;
        ck_assert_int_eq(rc_gc_collect(H, 0), 3);
        ck_assert_int_eq(ntag_deaths, 3);
        ck_assert_int_eq(tag_deaths[0], 1); /* held builds too: clear_held waits */
        ck_assert_int_eq(tag_deaths[1], 2);
        ck_assert_int_eq(tag_deaths[2], 3);
        if (live)
            rc_decref(live);
    }
}
END_TEST

/* What survives a collection of generation g moves to g + 1; resurrected
 * objects too (into the older generation, with what they reach). */
START_TEST(test_survivors_move_up) {
    node *keep = make();
    node *laz = self_cycle(&lazarus_type);
    laz->b = make();
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert(in_gen(keep, 1));
    ck_assert(in_gen(laz, 1) && in_gen(laz->b, 1));
    ck_assert_uint_eq(count_gen(0), 0);
    RC_CLEAR(storage);
    ck_assert_int_eq(rc_gc_collect(H, 0), 0); /* generation 1 is not examined */
    ck_assert_int_eq(rc_gc_collect(H, 1), 2);
    rc_decref(keep);
}
END_TEST

/* Objects of generation gen in list order, by id (a node's id; a letter). */
typedef struct id_list {
    char ids[32];
    size_t n;
} id_list;

static int add_id(void *obj, void *arg) {
    id_list *l = arg;
    if (rc_type_of(obj) == &node_type && l->n + 1 < sizeof l->ids)
        l->ids[l->n++] = (char)((node *)obj)->id;
    return 0;
}

static const char *ids_of(int gen, id_list *l) {
    l->n = 0;
    ck_assert_int_eq(rc_gc_get_objects(H, gen, add_id, l), 0);
    l->ids[l->n] = 0;
    return l->ids;
}

static node *named(char id) {
    node *n = make();
    n->id = id;
    return n;
}

/* Survivors keep CPython's order whether the scan runs or is skipped (a
 * set with no reference back: deduce_unreachable). b, made before a and
 * held only by a, is reached after its turn and moves to the end; c -> d
 * and e -> f, made parents first, stay. python3 (__slots__ class, names in
 * an id slot): after gc.collect(0) twice, gc.get_objects(1) gives
 * ['a', 'c', 'd', 'b', 'e', 'f']; after h, g (g -> h), i -> j and
 * gc.collect() == 0, gc.get_objects(2) gives ['g', 'i', 'j', 'a', 'c', 'd',
 * 'b', 'e', 'f', 'h'] (younger generations join the oldest youngest
 * first). */
/* parent -> child, made in that order or (child_first) the other way;
 * returns parent, which holds child's only reference. */
static node *pair_of(char parent, char child, bool child_first) {
    node *c = child_first ? named(child) : NULL, *p = named(parent);
    p->a = child_first ? c : named(child);
    return p;
}

START_TEST(test_survivor_order) {
    id_list l;
    node *a = pair_of('a', 'b', true), *c = pair_of('c', 'd', false);
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert_str_eq(ids_of(1, &l), "acdb");
    node *e = pair_of('e', 'f', false);
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert_str_eq(ids_of(1, &l), "acdbef");
    node *g = pair_of('g', 'h', true), *i = pair_of('i', 'j', false);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_str_eq(ids_of(2, &l), "gijacdbefh");
    node *roots[] = {a, c, e, g, i};
    for (size_t k = 0; k < sizeof roots / sizeof *roots; k++)
        rc_decref(roots[k]);
    ck_assert_uint_eq(count_gen(2), 0);
}
END_TEST

/* A binary tree of depth 3 whose node k (breadth-first, the root 0) has
 * the id 'a' + k, made bottom-up (children first: the Benchmarks Game's
 * binary-trees) or parents first. */
static node *tree_of(int k, int depth, bool bottom_up) {
    node *l = NULL, *r = NULL;
    if (bottom_up && depth > 0) {
        l = tree_of(2 * k + 1, depth - 1, true);
        r = tree_of(2 * k + 2, depth - 1, true);
    }
    node *n = named((char)('a' + k));
    if (depth > 0) {
        n->a = bottom_up ? l : tree_of(2 * k + 1, depth - 1, false);
        n->b = bottom_up ? r : tree_of(2 * k + 2, depth - 1, false);
    }
    return n;
}

/* A tree made bottom-up comes out of its first collection breadth-first,
 * as CPython's does: every reference points back in list order, so the
 * scan sets aside each node but the root and moves it to the end as its
 * parent reaches it. One made parents first keeps its order. python3.12
 * (a __slots__ class, names T, TL, TR, TLL, ...): gc.get_objects(0) lists
 * TLLL TLLR TLL TLRL TLRR TLR TL TRLL TRLR TRL TRRL TRRR TRR TR T, and after
 * gc.collect(0), gc.get_objects(1) lists T TL TR TLL TLR TRL TRR TLLL ...
 * TRRR; a full collection then moves nothing. */
START_TEST(test_tree_order) {
    id_list l;
    node *bu = tree_of(0, 3, true);
    ck_assert_str_eq(ids_of(0, &l), "hidjkeblmfnogca");
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert_str_eq(ids_of(1, &l), "abcdefghijklmno");
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_str_eq(ids_of(2, &l), "abcdefghijklmno");
    rc_decref(bu);
    node *pf = tree_of(0, 3, false);
    ck_assert_str_eq(ids_of(0, &l), "abdhiejkcflmgno");
    ck_assert_int_eq(rc_gc_collect(H, 0), 0);
    ck_assert_str_eq(ids_of(1, &l), "abdhiejkcflmgno");
    rc_decref(pf);
    ck_assert_uint_eq(count_gen(1) + count_gen(2), 0);
}
END_TEST

/* A holder made after what it holds, the only object referred to from
 * outside (move_unreachable then scans from it): what it does not reach
 * is found in CPython's order, finalizers and all, and what it reaches
 * keeps CPython's order. python3.12 (a __slots__ class with __del__
 * logging its id, the run's own objects frozen): a <-> b, c -> d -> e ->
 * c, f <-> g, h -> j -> i -> h, made a to j, then H with H.a = c, H.b = h;
 * every name dropped but H's: gc.collect(0) == 4, the finalizers run in
 * the order "abfg", and gc.get_objects(1) gives "Hchdjei". */
static char last_fins[16];

static void last_finalize(void *self) {
    last_fins[strlen(last_fins)] = (char)((node *)self)->id;
}

static const rc_type last_type = {"last", sizeof(node), node_traverse, NULL, last_finalize,
                                  NULL};

static int add_last_id(void *obj, void *arg) {
    id_list *l = arg;
    if (rc_type_of(obj) == &last_type && l->n + 1 < sizeof l->ids)
        l->ids[l->n++] = (char)((node *)obj)->id;
    return 0;
}

/* The heap above, made a to j, then H: returns H, the only object held. */
static node *holder_made_last(void) {
    node *n[10];
    for (int k = 0; k < 10; k++) {
        n[k] = make_typed(&last_type);
        n[k]->id = 'a' + k;
    }
    int links[][2] = {{0, 1}, {1, 0}, {2, 3}, {3, 4}, {4, 2}, {5, 6}, {6, 5},
                      {7, 9}, {9, 8}, {8, 7}};
    for (size_t k = 0; k < sizeof links / sizeof *links; k++)
        n[links[k][0]]->a = rc_incref(n[links[k][1]]);
    node *holder = make_typed(&last_type);
    holder->id = 'H';
    holder->a = rc_incref(n[2]);
    holder->b = rc_incref(n[7]);
    for (int k = 0; k < 10; k++)
        rc_decref(n[k]);
    return holder;
}

START_TEST(test_holder_made_last) {
    node *holder = holder_made_last();
    memset(last_fins, 0, sizeof last_fins);
    ck_assert_int_eq(rc_gc_collect(H, 0), 4);
    ck_assert_str_eq(last_fins, "abfg");
    id_list l = {.n = 0};
    ck_assert_int_eq(rc_gc_get_objects(H, 1, add_last_id, &l), 0);
    l.ids[l.n] = 0;
    ck_assert_str_eq(l.ids, "Hchdjei");
    rc_decref(holder);
    ck_assert_int_eq(rc_gc_collect(H, 2), 6);
}
END_TEST

/* A heap the scan ordered, collected again: the same order, nothing found
 * (a relink replaces the scan when every object has a count from outside
 * or an earlier referrer: roots_hold in src/gc.c); then a root whose count
 * from outside goes, with only references from later objects left, is
 * found with what it holds. python3.12 (holder_made_last's classes):
 * gc.collect() == 4, finalizers "abfg", gc.get_objects(2) "Hchdjei";
 * again 0, the same order; H.b = None: 3, "hji", "Hcde"; again 0,
 * "Hcde". */
START_TEST(test_settled_heap_collected_again) {
    node *holder = holder_made_last();
    const struct {
        long found;
        const char *fins, *order;
    } rounds[] = {{4, "abfg", "Hchdjei"}, {0, "", "Hchdjei"}, {3, "hji", "Hcde"},
                  {0, "", "Hcde"}};
    for (size_t r = 0; r < sizeof rounds / sizeof *rounds; r++) {
        if (r == 2) {
            rc_decref(holder->b);
            holder->b = NULL;
        }
        memset(last_fins, 0, sizeof last_fins);
        ck_assert_int_eq(rc_gc_collect(H, 2), rounds[r].found);
        ck_assert_str_eq(last_fins, rounds[r].fins);
        id_list l = {.n = 0};
        ck_assert_int_eq(rc_gc_get_objects(H, 2, add_last_id, &l), 0);
        l.ids[l.n] = 0;
        ck_assert_str_eq(l.ids, rounds[r].order);
    }
    rc_decref(holder);
    ck_assert_int_eq(rc_gc_collect(H, 2), 3);
}
END_TEST

/* The light pass stops at a reference back; a root it took before (its
 * count from a later object only) is found all the same. A tree made
 * parents first, collected fully (no reference back: the next full
 * collection tries the light pass); then x <-> y, made after it, dropped:
 * the pass takes the tree, then x (nothing earlier refers to it) and y,
 * whose reference back to x brings x's gc_refs to 0 once counted. */
START_TEST(test_light_pass_root_dropped) {
    node *root = named('r');
    root->a = named('a');
    root->b = named('b');
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    node *x = named('x'), *y = named('y');
    x->a = rc_incref(y);
    y->a = rc_incref(x);
    rc_decref(x);
    rc_decref(y);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    id_list l;
    ck_assert_str_eq(ids_of(2, &l), "rab");
    rc_decref(root);
    ck_assert_uint_eq(stats_of(H).objects, 0);
}
END_TEST

/* A tree, made parents first, of more objects than a pass queues far
 * references for (and the queue's sample), collected while held: nothing
 * found and the order kept, young or old (a second full collection after
 * one that found no reference back takes the light pass). Then one
 * reference back from a leaf to the root makes it all a cycle; dropped, it
 * is all found, whether that reference is near, far (queued) or at the
 * end, beside a live object (so not all of what is examined is garbage). */
enum { TREE_DEPTH = 14, TREE_NODES = (1 << TREE_DEPTH) - 1 };
static node *tree_nodes[TREE_NODES];
static size_t ntree_nodes;

static node *make_tree(int depth) {
    node *n = make();
    tree_nodes[ntree_nodes++] = n;
    if (depth > 1) {
        n->a = make_tree(depth - 1);
        n->b = make_tree(depth - 1);
    }
    return n;
}

typedef struct order_check {
    size_t next;
    bool same;
} order_check;

static int check_order(void *obj, void *arg) {
    order_check *o = arg;
    o->same &= o->next < ntree_nodes && tree_nodes[o->next++] == obj;
    return 0;
}

static bool in_tree_order(int gen) {
    order_check o = {0, true};
    ck_assert_int_eq(rc_gc_get_objects(H, gen, check_order, &o), 0);
    return o.same && o.next == ntree_nodes;
}

START_TEST(test_tree_with_one_cycle) {
    /* a leaf near the root (its reference back is near), one 129 nodes on
     * (6 KiB: far, queued, in the refs passes' first sample), the last */
    size_t leaves[] = {2 * TREE_DEPTH, 129, TREE_NODES - 1};
    for (size_t k = 0; k < sizeof leaves / sizeof *leaves; k++) {
        node *keep = make();
        ntree_nodes = 0;
        node *root = make_tree(TREE_DEPTH);
        ck_assert_uint_eq(ntree_nodes, TREE_NODES);
        ck_assert_int_eq(rc_gc_collect(H, 0), 0);
        ck_assert_int_eq(rc_gc_collect(H, 2), 0);
        rc_decref(keep); /* the tree alone, in order */
        ck_assert(in_tree_order(2));
        ck_assert_int_eq(rc_gc_collect(H, 2), 0);
        ck_assert(in_tree_order(2));
        keep = make();
        node *leaf = tree_nodes[leaves[k]];
        ck_assert_ptr_null(leaf->a);
        leaf->a = rc_incref(root);
        rc_decref(root);
        ck_assert_int_eq(rc_gc_collect(H, 2), TREE_NODES);
        ck_assert(in_gen(keep, 2));
        rc_decref(keep);
        /* the same in a young collection */
        ntree_nodes = 0;
        root = make_tree(TREE_DEPTH);
        ck_assert_int_eq(rc_gc_collect(H, 0), 0);
        ck_assert(in_tree_order(1));
        keep = make();
        leaf = tree_nodes[leaves[k]];
        leaf->a = rc_incref(root);
        rc_decref(root);
        ck_assert_int_eq(rc_gc_collect(H, 1), TREE_NODES);
        ck_assert(in_gen(keep, 2));
        rc_decref(keep);
        ck_assert_uint_eq(count_gen(0) + count_gen(1) + count_gen(2), 0);
    }
}
END_TEST

/* NULL where a heap, a callback or an array is wanted: the calls with an
 * error return give -1 + EINVAL, the setters do nothing, the getters give
 * false, 0 or nothing; a NULL object is not tracked, not finalized. */
static int never_called(void *obj, void *arg) {
    (void)obj;
    (void)arg;
    ck_abort_msg("a walk called fn");
    return 1;
}
static void no_callback(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    (void)h, (void)phase, (void)info, (void)arg;
}

START_TEST(test_null_arguments) {
    node *x = make();
    errno = 0;
    ck_assert_int_eq(rc_gc_collect(NULL, 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    struct { int got; } cases[] = {
        {rc_gc_get_objects(NULL, -1, never_called, NULL)},
        {rc_gc_get_objects(H, -1, NULL, NULL)},
        {rc_gc_get_referrers(NULL, x, never_called, NULL)},
        {rc_gc_get_referrers(H, x, NULL, NULL)},
        {rc_gc_get_referents(x, NULL, NULL)},
        {rc_gc_garbage(NULL, never_called, NULL)},
        {rc_gc_garbage(H, NULL, NULL)},
        {rc_gc_callback_add(NULL, no_callback, NULL)},
        {rc_gc_callback_add(H, NULL, NULL)},
        {rc_gc_callback_remove(NULL, no_callback, NULL)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        ck_assert_msg(cases[i].got == -1, "case %zu gave %d", i, cases[i].got);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_gc_callback_add(H, NULL, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0); /* no NULL callback was kept */
    rc_gc_enable(NULL);
    rc_gc_disable(NULL);
    rc_gc_set_threshold(NULL, 1, 2, 3);
    rc_gc_set_debug(NULL, RC_GC_DEBUG_STATS);
    rc_gc_set_log(NULL, capture, NULL);
    rc_gc_freeze(NULL);
    rc_gc_unfreeze(NULL);
    rc_gc_garbage_clear(NULL);
    ck_assert(!rc_gc_isenabled(NULL));
    ck_assert_uint_eq(rc_gc_get_debug(NULL), 0);
    ck_assert_uint_eq(rc_gc_get_freeze_count(NULL), 0);
    ck_assert_uint_eq(rc_gc_garbage_count(NULL), 0);
    long out[3] = {7, 7, 7};
    rc_gc_get_threshold(NULL, out);
    rc_gc_get_count(NULL, out);
    ck_assert(out[0] == 7 && out[1] == 7 && out[2] == 7);
    rc_gc_get_threshold(H, NULL);
    rc_gc_get_count(H, NULL);
    rc_gc_get_stats(H, NULL);
    ck_assert(!rc_gc_is_tracked(NULL));
    ck_assert(!rc_gc_is_finalized(NULL));
    rc_decref(x);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("gc");
    add_case_fixture(s, tcase_create("list"), test_list, setup, teardown);
    add_case_fixture(s, tcase_create("tuple"), test_tuple, setup, teardown);
    add_case_fixture(s, tcase_create("saveall"), test_saveall, setup, teardown);
    add_case_fixture(s, tcase_create("del"), test_del, setup, teardown);
    add_case_fixture(s, tcase_create("get_count"), test_get_count, setup, teardown);
    add_case_fixture(s, tcase_create("collect_generations"), test_collect_generations,
                     setup, teardown);
    add_case_fixture(s, tcase_create("trashcan"), test_trashcan, setup, teardown);
    add_case_fixture(s, tcase_create("boom"), test_boom, setup, teardown);
    add_case_fixture(s, tcase_create("boom2"), test_boom2, setup, teardown);
    add_case_fixture(s, tcase_create("function_tp_clear_leaves_consistent_state"),
                     test_function_tp_clear_leaves_consistent_state, setup, teardown);
    add_case_fixture(s, tcase_create("get_referents"), test_get_referents, setup, teardown);
    add_case_fixture(s, tcase_create("is_tracked"), test_is_tracked, setup, teardown);
    add_case_fixture(s, tcase_create("is_finalized"), test_is_finalized, setup, teardown);
    add_case_fixture(s, tcase_create("bug1055820b"), test_bug1055820b, setup, teardown);
    add_case_fixture(s, tcase_create("bug21435"), test_bug21435, setup, teardown);
    add_case_fixture(s, tcase_create("get_stats"), test_get_stats, setup, teardown);
    add_case_fixture(s, tcase_create("freeze"), test_freeze, setup, teardown);
    add_case_fixture(s, tcase_create("get_objects"), test_get_objects, setup, teardown);
    add_case_fixture(s, tcase_create("get_objects_arguments"), test_get_objects_arguments,
                     setup, teardown);
    add_case_fixture(s, tcase_create("resurrection_only_once"),
                     test_resurrection_only_happens_once_per_object, setup, teardown);
    add_case_fixture(s, tcase_create("resurrection_is_transitive"), test_resurrection_is_transitive,
                     setup, teardown);
    add_case_fixture(s, tcase_create("resurrection_does_not_block_cleanup"),
                     test_resurrection_does_not_block_cleanup_of_other_objects, setup, teardown);
    add_case_fixture(s, tcase_create("trash_weakref_clear"), test_trash_weakref_clear,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_collect"), test_callbacks_collect, setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_collect_generation"),
                     test_callbacks_collect_generation, setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_collect_garbage"), test_callbacks_collect_garbage,
                     setup, teardown);
    add_case_fixture(s, tcase_create("refcount_errors"), test_refcount_errors, setup, teardown);
    add_case_fixture(s, tcase_create("refcount_error_last"), test_refcount_error_last, setup,
                     teardown);
    add_case_fixture(s, tcase_create("bug1055820c"), test_bug1055820c, setup, teardown);
    add_case_fixture(s, tcase_create("bug1055820d"), test_bug1055820d, setup, teardown);
    add_case_fixture(s, tcase_create("collect_einval"), test_collect_einval, setup, teardown);
    add_case_fixture(s, tcase_create("collect_reentrant"), test_collect_reentrant, setup, teardown);
    add_case_fixture(s, tcase_create("disabled_and_threshold0"), test_disabled_and_threshold0,
                     setup, teardown);
    add_case_fixture(s, tcase_create("automatic_threshold"), test_automatic_threshold,
                     setup, teardown);
    add_case_fixture(s, tcase_create("long_lived_rule"), test_long_lived_rule, setup, teardown);
    add_case_fixture(s, tcase_create("dying_untracked_in_weakref_callback"),
                     test_dying_untracked_in_weakref_callback, setup, teardown);
    add_case_fixture(s, tcase_create("weakrefs_held_through_callbacks"),
                     test_weakrefs_held_through_callbacks, setup, teardown);
    add_case_fixture(s, tcase_create("debug_stats_log"), test_debug_stats_log, setup, teardown);
    add_case_fixture(s, tcase_create("debug_log_chained"), test_debug_log_chained, setup, teardown);
    add_case_fixture(s, tcase_create("debug_collectable_log"), test_debug_collectable_log,
                     setup, teardown);
    add_case_fixture(s, tcase_create("debug_log_long_name"), test_debug_log_long_name, setup,
                     teardown);
    add_case_fixture(s, tcase_create("callbacks_add_remove"), test_callbacks_add_remove,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_enomem"), test_callbacks_enomem, setup, teardown);
    add_case_fixture(s, tcase_create("saveall_enomem"), test_saveall_enomem, setup, teardown);
    add_case_fixture(s, tcase_create("saveall_enomem_counts"), test_saveall_enomem_counts, setup,
                     teardown);
    add_case_fixture(s, tcase_create("saveall_read_per_object_enomem"),
                     test_saveall_read_per_object_enomem, setup, teardown);
    add_case_fixture(s, tcase_create("saveall_finalizers_once"), test_saveall_finalizers_once,
                     setup, teardown);
    add_case_fixture(s, tcase_create("garbage_clear_last_first"), test_garbage_clear_last_first,
                     setup, teardown);
    add_case_fixture(s, tcase_create("saveall_read_per_object"), test_saveall_read_per_object,
                     setup, teardown);
    add_case_fixture(s, tcase_create("log_follows_weakref_to_garbage"),
                     test_log_follows_weakref_to_garbage, setup, teardown);
    add_case_fixture(s, tcase_create("log_drops_garbage_through_weakref"),
                     test_log_drops_garbage_through_weakref, setup, teardown);
    add_case_fixture(s, tcase_create("log_made_object_stays_young"),
                     test_log_made_object_stays_young, setup, teardown);
    add_case_fixture(s, tcase_create("saveall_turned_on_by_log"), test_saveall_turned_on_by_log,
                     setup, teardown);
    add_case_fixture(s, tcase_create("saveall_read_per_object_held"),
                     test_saveall_read_per_object_held, setup, teardown);
    add_case_fixture(s, tcase_create("garbage_walk_and_clear"), test_garbage_walk_and_clear,
                     setup, teardown);
    add_case_fixture(s, tcase_create("freeze_not_examined"), test_freeze_not_examined,
                     setup, teardown);
    add_case_fixture(s, tcase_create("get_referrers"), test_get_referrers, setup, teardown);
    add_case_fixture(s, tcase_create("walk_mutation"), test_walk_mutation, setup, teardown);
    add_case_fixture(s, tcase_create("walk_sees_objects_there_at_start"),
                     test_walk_sees_objects_there_at_start, setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_released_untracked"),
                     test_heap_free_released_untracked, setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_nested"), test_heap_free_nested, setup,
                     teardown);
    add_case_fixture(s, tcase_create("nested_collection_finalizer_links_heaps"),
                     test_nested_collection_finalizer_links_heaps, setup, teardown);
    add_case_fixture(s, tcase_create("nested_collection_early_user_code_links_heaps"),
                     test_nested_collection_early_user_code_links_heaps, setup, teardown);
    add_case_fixture(s, tcase_create("null_arguments"), test_null_arguments, setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_uncollectable_log"),
                     test_heap_free_uncollectable_log, setup, teardown);
    add_case_fixture(s, tcase_create("immortal_to_permanent"), test_immortal_to_permanent,
                     setup, teardown);
    add_case_fixture(s, tcase_create("finalizer_side_effects"), test_finalizer_side_effects,
                     setup, teardown);
    add_case_fixture(s, tcase_create("deep_garbage"), test_deep_garbage, setup, teardown);
    add_case_fixture(s, tcase_create("far_garbage_held"), test_far_garbage_held, setup, teardown);
    add_case_fixture(s, tcase_create("far_garbage_seen_deaths_in_turns"),
                     test_far_garbage_seen_deaths_in_turns, setup, teardown);
    add_case_fixture(s, tcase_create("far_garbage_not_plain_seen_deaths_in_turns"),
                     test_far_garbage_not_plain_seen_deaths_in_turns, setup, teardown);
    add_case_fixture(s, tcase_create("survivors_move_up"), test_survivors_move_up, setup, teardown);
    add_case_fixture(s, tcase_create("survivor_order"), test_survivor_order, setup, teardown);
    add_case_fixture(s, tcase_create("tree_order"), test_tree_order, setup, teardown);
    add_case_fixture(s, tcase_create("holder_made_last"), test_holder_made_last, setup,
                     teardown);
    add_case_fixture(s, tcase_create("settled_heap_collected_again"),
                     test_settled_heap_collected_again, setup, teardown);
    add_case_fixture(s, tcase_create("light_pass_root_dropped"), test_light_pass_root_dropped,
                     setup, teardown);
    add_case_fixture(s, tcase_create("tree_with_one_cycle"), test_tree_with_one_cycle, setup,
                     teardown);
    add_case_fixture(s, tcase_create("plain_garbage_swept"), test_plain_garbage_swept, setup,
                     teardown);
    add_case_fixture(s, tcase_create("plain_garbage_leaves"), test_plain_garbage_leaves, setup,
                     teardown);
    add_case_fixture(s, tcase_create("heaps_refer_to_each_other"), test_heaps_refer_to_each_other,
                     setup, teardown);
    add_case_fixture(s, tcase_create("plain_garbage_shared_leaves"),
                     test_plain_garbage_shared_leaves, setup, teardown);
    add_case_fixture(s, tcase_create("plain_garbage_sweeps_leaf_of_other_heap"),
                     test_plain_garbage_sweeps_leaf_of_other_heap, setup, teardown);
    add_case_fixture(s, tcase_create("plain_garbage_sweep_undone"),
                     test_plain_garbage_sweep_undone, setup, teardown);
    add_case_fixture(s, tcase_create("plain_garbage_refers_old"), test_plain_garbage_refers_old,
                     setup, teardown);
    add_case_fixture(s, tcase_create("plain_garbage_outside_order"),
                     test_plain_garbage_outside_order, setup, teardown);
    return s;
}
