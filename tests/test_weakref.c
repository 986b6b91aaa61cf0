/*
 * test_weakref.c — weak references, mirroring the parts of CPython 3.12's
 * Lib/test/test_weakref.py that concern object death, callbacks and the
 * collector (proxies, WeakValueDictionary and friends, repr, hashing and
 * weakref.finalize have no counterpart in the C API). Orders and counts
 * were checked against python3.12 with __slots__ classes.
 */
#include "check_main.h"
#include "test_support.h"

#include <rcgc.h>

#include "internal.h"

/* Object in test_weakref.py: an object with two reference slots. */
typedef struct obj {
    struct obj *a, *b;
    rc_weakref *wr;
    int id;
} obj;

static void obj_traverse(void *self, rc_visit_fn visit, void *arg) {
    obj *o = self;
    RC_VISIT(o->a); /* the macro, tested by every cycle here */
    RC_VISIT(o->b);
    RC_VISIT(o->wr);
}

static const rc_type obj_type = {"obj", sizeof(obj), obj_traverse, NULL, NULL, NULL};
static const rc_type plain_type = {"plain", sizeof(obj), NULL, NULL, NULL, NULL};

static rc_heap *H;
static int cbcalled;
static int order[16];
static int norder;

static void setup(void) {
    H = rc_heap_new();
    rc_gc_disable(H);
    cbcalled = norder = 0;
}

static void teardown(void) { ck_assert_uint_eq(rc_heap_free(H), 0); }

static obj *make(void) {
    obj *o = rc_new(H, &obj_type);
    ck_assert_ptr_nonnull(o);
    return o;
}

/* TestBase.callback */
static void callback(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    cbcalled++;
}

/* Records the callback's tag (its arg) in order[]. */
static void record(rc_weakref *ref, void *arg) {
    (void)ref;
    order[norder++] = (int)(intptr_t)arg;
}

static bool dead(rc_weakref *wr) {
    void *o = rc_weakref_get(wr);
    rc_decref(o);
    return o == NULL;
}

/* ReferencesTestCase.test_basic_ref (check_basic_ref) */
START_TEST(test_basic_ref) {
    obj *o = make();
    rc_weakref *ref = rc_weakref_new(o, NULL, NULL);
    ck_assert_ptr_nonnull(ref);
    obj *o2 = rc_weakref_get(ref);
    ck_assert_ptr_eq(o2, o);
    ck_assert_uint_eq(rc_refcount(o), 2);
    rc_decref(o2);
    ck_assert(rc_gc_is_tracked(ref)); /* a weakref is a tracked rc object */
    rc_decref(o);
    ck_assert_ptr_null(rc_weakref_get(ref));
    rc_decref(ref);
}
END_TEST

/* ReferencesTestCase.test_basic_callback (check_basic_callback) */
START_TEST(test_basic_callback) {
    obj *o = make();
    rc_weakref *ref = rc_weakref_new(o, callback, NULL);
    rc_decref(o);
    ck_assert_int_eq(cbcalled, 1);
    ck_assert(dead(ref));
    rc_decref(ref);
}
END_TEST

/* ReferencesTestCase.test_multiple_callbacks */
START_TEST(test_multiple_callbacks) {
    obj *o = make();
    rc_weakref *ref1 = rc_weakref_new(o, callback, NULL);
    rc_weakref *ref2 = rc_weakref_new(o, callback, NULL);
    ck_assert_ptr_ne(ref1, ref2);
    rc_decref(o);
    ck_assert(dead(ref1));
    ck_assert(dead(ref2));
    ck_assert_int_eq(cbcalled, 2);
    rc_decref(ref1);
    rc_decref(ref2);
}
END_TEST

static rc_weakref *selfref;

static void use_selfref(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    ck_assert_ptr_null(rc_weakref_get(selfref)); /* invalidated before any callback */
    cbcalled++;
}

/* ReferencesTestCase.test_multiple_selfref_callbacks: every weak reference
 * is cleared before the first callback runs. */
START_TEST(test_multiple_selfref_callbacks) {
    obj *c = make();
    selfref = rc_weakref_new(c, use_selfref, NULL);
    rc_weakref *ref1 = rc_weakref_new(c, use_selfref, NULL);
    rc_decref(c);
    ck_assert_int_eq(cbcalled, 2);
    rc_decref(ref1);
    rc_decref(selfref);
}
END_TEST

/* Callbacks run newest first, on death by counting and in a cycle:
 * python3.12 prints [3, 2, 1] for both (the callback-less ref, made between
 * them, runs nothing and is listed first by getweakrefs). */
START_TEST(test_callback_order) {
    for (int cyclic = 0; cyclic < 2; cyclic++) {
        norder = 0;
        obj *o = make();
        if (cyclic)
            o->a = rc_incref(o);
        rc_weakref *r1 = rc_weakref_new(o, record, (void *)1);
        rc_weakref *r0 = rc_weakref_new(o, NULL, NULL);
        rc_weakref *r2 = rc_weakref_new(o, record, (void *)2);
        rc_weakref *r3 = rc_weakref_new(o, record, (void *)3);
        ck_assert_uint_eq(rc_weakref_count(o), 4);
        rc_decref(o);
        ck_assert_int_eq(rc_gc_collect(H, 2), cyclic ? 1 : 0);
        ck_assert_int_eq(norder, 3);
        ck_assert_int_eq(order[0], 3);
        ck_assert_int_eq(order[1], 2);
        ck_assert_int_eq(order[2], 1);
        rc_decref(r0);
        rc_decref(r1);
        rc_decref(r2);
        rc_decref(r3);
    }
}
END_TEST

/* ReferencesTestCase.test_ref_reuse and test_shared_ref_without_callback:
 * a weak reference without callback is reused. */
START_TEST(test_ref_reuse) {
    obj *o = make();
    rc_weakref *ref1 = rc_weakref_new(o, NULL, NULL);
    rc_weakref *cb = rc_weakref_new(o, callback, NULL); /* an intervening creation */
    rc_weakref *ref2 = rc_weakref_new(o, NULL, NULL);
    ck_assert_ptr_eq(ref1, ref2);
    ck_assert_uint_eq(rc_refcount(ref1), 2);
    ck_assert_uint_eq(rc_weakref_count(o), 2);
    rc_decref(cb);
    ck_assert_uint_eq(rc_weakref_count(o), 1);
    rc_decref(ref1);
    rc_decref(ref2);
    ck_assert_uint_eq(rc_weakref_count(o), 0);
    ck_assert(!(rc_head_of(o)->info & RC_F_WEAKREFS)); /* entry gone with the last one */
    rc_decref(o);
    ck_assert_int_eq(cbcalled, 0);
}
END_TEST

/* ReferencesTestCase.test_getweakrefcount and test_getweakrefs: weak
 * references unlink themselves when they die, whichever goes first. */
START_TEST(test_getweakrefcount) {
    obj *o = make();
    rc_weakref *ref1 = rc_weakref_new(o, NULL, NULL);
    rc_weakref *ref2 = rc_weakref_new(o, callback, NULL);
    ck_assert_uint_eq(rc_weakref_count(o), 2);
    rc_decref(ref1);
    rc_decref(ref2);
    ck_assert_uint_eq(rc_weakref_count(o), 0);

    ref1 = rc_weakref_new(o, callback, NULL);
    ref2 = rc_weakref_new(o, callback, NULL);
    rc_decref(ref1);
    ck_assert_uint_eq(rc_weakref_count(o), 1);
    rc_weakref *ref3 = rc_weakref_new(o, callback, NULL);
    rc_decref(ref2);
    ck_assert_uint_eq(rc_weakref_count(o), 1);
    rc_decref(ref3);
    ck_assert_uint_eq(rc_weakref_count(o), 0);
    rc_decref(o);
    ck_assert_int_eq(cbcalled, 0);

    /* Untracked objects take weak references too (Python's ints do not). */
    obj *p = rc_new(H, &plain_type);
    ck_assert_uint_eq(rc_weakref_count(p), 0);
    rc_weakref *pr = rc_weakref_new(p, callback, NULL);
    ck_assert_uint_eq(rc_weakref_count(p), 1);
    rc_decref(p);
    ck_assert_int_eq(cbcalled, 1);
    ck_assert(dead(pr));
    rc_decref(pr);
}
END_TEST

static void collect_cb(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    cbcalled++;
    ck_assert_int_eq(rc_gc_collect(H, 2), 0); /* nothing is garbage */
}

/* ReferencesTestCase.test_sf_bug_840829: a callback that collects while its
 * object dies by counting (the object must not be seen by the collector). */
START_TEST(test_sf_bug_840829) {
    obj *c = make();
    rc_weakref *wr = rc_weakref_new(c, collect_cb, NULL);
    rc_decref(c);
    rc_decref(wr);

    obj *c1 = make();
    c1->a = make();
    wr = rc_weakref_new(c1->a, collect_cb, NULL);
    obj *c2 = make();
    c2->a = c1;
    rc_decref(c2);
    ck_assert_int_eq(cbcalled, 2);
    ck_assert(dead(wr));
    rc_decref(wr);
}
END_TEST

/* ReferencesTestCase.test_callback_in_cycle, test_callback_reachable_one_way
 * and test_callback_different_classes: the weak reference with the callback
 * is garbage itself (c2.wr, only c2 holds it), so the callback never runs,
 * although its target c1 is garbage too. */
START_TEST(test_callback_in_cycle) {
    obj *c1 = make(), *c2 = make();
    c2->a = rc_incref(c2);
    c2->b = c1;
    c2->wr = rc_weakref_new(c1, callback, c2);
    rc_decref(c2);
    ck_assert_int_eq(rc_gc_collect(H, 2), 3); /* c2, c1 and c2.wr */
    ck_assert_int_eq(cbcalled, 0);
}
END_TEST

/* How the two tests below end: no callback has run yet; a full collection
 * frees five objects and runs one callback, that of wr, the external weak
 * reference (recording tag), and leaves wr dead; a second one frees and
 * runs nothing. Drops wr. */
static void collect_five_one_callback(rc_weakref *wr, int tag) {
    ck_assert_int_eq(norder, 0);
    ck_assert_int_eq(rc_gc_collect(H, 2), 5);
    ck_assert_int_eq(norder, 1);
    ck_assert_int_eq(order[0], tag);
    ck_assert(dead(wr));
    norder = 0;
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_int_eq(norder, 0);
    rc_decref(wr);
}

static void went_away(rc_weakref *ref, void *arg) {
    (void)arg;
    ck_assert_ptr_null(rc_weakref_get(ref));
    order[norder++] = 99;
}

/* ReferencesTestCase.test_callback_in_cycle_resurrection: c1.wr and c2.wr
 * are cyclic trash, so their callbacks (which would resurrect c1/c2) do not
 * run; the external weak reference to the garbage "class" does run. */
START_TEST(test_callback_in_cycle_resurrection) {
    obj *klass = make();
    klass->a = rc_incref(klass); /* a class is in a self-cycle (__mro__) */
    obj *c1 = make(), *c2 = make();
    c1->b = rc_incref(klass);
    c2->b = klass;
    c1->a = rc_incref(c2);
    c2->a = rc_incref(c1);
    c1->wr = rc_weakref_new(c2, record, (void *)1);
    c2->wr = rc_weakref_new(c1, record, (void *)2);
    rc_weakref *wr = rc_weakref_new(klass, went_away, NULL);
    rc_decref(c1);
    rc_decref(c2);
    collect_five_one_callback(wr, 99);
}
END_TEST

/* ReferencesTestCase.test_callbacks_on_callback: weak references on a weak
 * reference's "callback" object m (garbage, held by c): c.wr and d.wr are
 * trash and stay silent; the external one runs once. */
START_TEST(test_callbacks_on_callback) {
    obj *c = make(), *d = make(), *m = make();
    c->a = rc_incref(d);
    d->a = rc_incref(c);
    c->b = m; /* the bound method c.cb, which refers to c */
    m->a = rc_incref(c);
    c->wr = rc_weakref_new(d, record, (void *)1);
    d->wr = rc_weakref_new(m, record, (void *)2);
    rc_weakref *external = rc_weakref_new(m, record, (void *)3);
    obj *got = rc_weakref_get(external);
    ck_assert_ptr_eq(got, m);
    rc_decref(got);
    rc_decref(c);
    rc_decref(d);
    collect_five_one_callback(external, 3);
}
END_TEST

typedef struct find { const void *target; bool found; } find;

static int find_one(void *o, void *arg) {
    find *f = arg;
    f->found |= o == f->target;
    return 0;
}

/* Whether generation gen holds o. */
static bool in_gen(int gen, const void *o) {
    find f = {o, false};
    ck_assert_int_eq(rc_gc_get_objects(H, gen, find_one, &f), 0);
    return f.found;
}

/* ReferencesTestCase.test_gc_during_ref_creation: allocating the new weak
 * reference runs a collection that frees a weak reference to the same
 * target (a.wr, trash), once the new one is made (CPython 3.12's timing):
 * the target's list changes inside rc_weakref_new, the new reference
 * survives, in generation 1. */
START_TEST(test_gc_during_ref_creation) {
    rc_gc_enable(H);
    rc_gc_set_threshold(H, 3, 1, 1);
    rc_gc_collect(H, 2);
    obj *referenced = make();
    obj *a = make();
    a->a = rc_incref(a);
    a->wr = rc_weakref_new(referenced, NULL, NULL);
    rc_decref(a);
    ck_assert_uint_eq(rc_weakref_count(referenced), 1);
    long count[3];
    rc_gc_get_count(H, count);
    ck_assert_int_eq(count[0], 3); /* the next allocation collects gen 0 */
    rc_weakref *wr = rc_weakref_new(referenced, callback, NULL);
    ck_assert_ptr_nonnull(wr);
    ck_assert_uint_eq(rc_weakref_count(referenced), 1); /* a.wr was collected */
    ck_assert(in_gen(1, wr));
    rc_gc_get_count(H, count);
    ck_assert_int_eq(count[0], 0);
    ck_assert_int_eq(count[1], 1);
    rc_decref(referenced);
    ck_assert_int_eq(cbcalled, 1);
    rc_decref(wr);
}
END_TEST

static rc_weakref *ref_from_del;

static void make_ref_in_finalizer(void *self) { ref_from_del = rc_weakref_new(self, NULL, NULL); }

/* ReferencesTestCase.test_ref_created_during_del: a weak reference made by
 * the finalizer is cleared when the object dies right after. */
START_TEST(test_ref_created_during_del) {
    static const rc_type target = {"Target", sizeof(obj), obj_traverse, NULL,
                                   make_ref_in_finalizer, NULL};
    obj *w = rc_new(H, &target);
    rc_decref(w);
    ck_assert_ptr_nonnull(ref_from_del);
    ck_assert(dead(ref_from_del));
    rc_decref(ref_from_del);
}
END_TEST

/* ReferencesTestCase.test_trashcan_16602: a long chain dies through
 * weak-reference callbacks (WeakKeyDictionary entries dropping the next
 * node); the deaths nest past the depth where they are deferred. A
 * callback asking a dying object's weak reference must get NULL, never an
 * object whose count is zero. */
typedef struct node16602 { rc_weakref *wself, *wparent; } node16602;
static void node16602_traverse(void *self, rc_visit_fn visit, void *arg) {
    node16602 *n = self;
    visit((void **)&n->wself, arg);
    visit((void **)&n->wparent, arg);
}
static const rc_type node16602_type = {"C", sizeof(node16602), node16602_traverse, NULL, NULL,
                                       NULL};
#define CHAIN 100
static void *values[CHAIN];      /* d[node n] = node n + 1 */
static rc_weakref *keys[CHAIN];  /* d's weak keys */
static rc_weakref *wselfs[CHAIN]; /* held by the callbacks' closures in Python */

static void parent_died(rc_weakref *ref, void *wself) {
    (void)ref;
    void *o = rc_weakref_get(wself);
    if (o)
        ck_assert_uint_gt(rc_refcount(o), 0);
    rc_decref(o);
    cbcalled++;
}

static void key_died(rc_weakref *ref, void *index) {
    (void)ref;
    RC_CLEAR(values[(intptr_t)index]);
}

START_TEST(test_trashcan_16602) {
    node16602 *root = rc_new(H, &node16602_type), *c = root;
    for (int n = 0; n < CHAIN; n++) {
        node16602 *child = rc_new(H, &node16602_type);
        child->wself = rc_weakref_new(child, NULL, NULL);
        wselfs[n] = rc_incref(child->wself);
        child->wparent = rc_weakref_new(c, parent_died, child->wself);
        keys[n] = rc_weakref_new(c, key_died, (void *)(intptr_t)n); /* d[c] = child */
        values[n] = child;
        c = child;
    }
    rc_decref(root);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_int_eq(cbcalled, CHAIN); /* every child's wparent saw its parent die */
    for (int n = 0; n < CHAIN; n++) {
        ck_assert_ptr_null(values[n]);
        ck_assert(dead(wselfs[n]));
        rc_decref(keys[n]);
        rc_decref(wselfs[n]);
    }
}
END_TEST

static void finalize_noop(void *self) { (void)self; }

/* ReferencesTestCase.test_callback_gcs: a callback that collects while an
 * object with a finalizer dies. */
START_TEST(test_callback_gcs) {
    static const rc_type with_del = {"ObjectWithDel", sizeof(obj), obj_traverse, NULL,
                                     finalize_noop, NULL};
    obj *x = rc_new(H, &with_del);
    rc_weakref *ref1 = rc_weakref_new(x, collect_cb, NULL);
    rc_decref(x);
    ck_assert_int_eq(cbcalled, 1);
    rc_decref(ref1);
}
END_TEST

/* In cyclic garbage all weak references to it are cleared before any
 * callback and before any finalizer (PEP 442, CPython 3.12 order). */
static rc_weakref *to_b;

static void look_at_b(void *self) {
    (void)self;
    ck_assert_ptr_null(rc_weakref_get(to_b));
    order[norder++] = 10;
}

static void a_went_away(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    ck_assert_ptr_null(rc_weakref_get(to_b));
    order[norder++] = 20;
}

START_TEST(test_cleared_before_callbacks_and_finalizers) {
    static const rc_type fin = {"fin", sizeof(obj), obj_traverse, NULL, look_at_b, NULL};
    obj *a = rc_new(H, &fin), *b = make();
    a->a = rc_incref(b);
    b->a = rc_incref(a);
    rc_weakref *to_a = rc_weakref_new(a, a_went_away, NULL);
    to_b = rc_weakref_new(b, NULL, NULL);
    rc_decref(a);
    rc_decref(b);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[0], 20); /* callbacks before finalizers */
    ck_assert_int_eq(order[1], 10);
    rc_decref(to_a);
    rc_decref(to_b);
}
END_TEST

/* Death by counting: finalizer first (it may resurrect: then the weak
 * references stay and no callback runs), then clearing and callbacks. */
static obj *lazarus;

static void resurrect(void *self) {
    order[norder++] = 1;
    if (!lazarus)
        lazarus = rc_incref(self);
}

START_TEST(test_finalizer_before_callbacks) {
    static const rc_type res = {"res", sizeof(obj), obj_traverse, NULL, resurrect, NULL};
    obj *o = rc_new(H, &res);
    rc_weakref *wr = rc_weakref_new(o, record, (void *)2);
    rc_decref(o);
    ck_assert_int_eq(norder, 1);
    ck_assert(!dead(wr)); /* resurrected: the weak reference still works */
    RC_CLEAR(lazarus);    /* dies for good; finalizer does not run again */
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[1], 2);
    ck_assert(dead(wr));
    rc_decref(wr);
}
END_TEST

/* Weak references made by a callback to the dying object are cleared
 * without their callbacks; nothing points at the freed object. While the
 * callbacks run, the object's count is 0 (as CPython's) and no weak
 * reference gives it out, the new one neither (PyWeakref_GET_OBJECT checks
 * the count): a strong reference taken then would outlive the object. */
static obj *dying;
static rc_weakref *late;
static size_t count_in_callback = 99;
static void *got_in_callback = &got_in_callback;

static void make_late_ref(rc_weakref *ref, void *arg) {
    (void)ref;
    (void)arg;
    count_in_callback = rc_refcount(dying);
    late = rc_weakref_new(dying, callback, NULL);
    got_in_callback = rc_weakref_get(late);
}

START_TEST(test_ref_created_during_callback) {
    dying = make();
    rc_weakref *wr = rc_weakref_new(dying, make_late_ref, NULL);
    rc_decref(dying);
    ck_assert_uint_eq(count_in_callback, 0);
    ck_assert_ptr_null(got_in_callback);
    ck_assert_ptr_nonnull(late);
    ck_assert(dead(late));
    ck_assert_int_eq(cbcalled, 0);
    ck_assert_uint_eq(H->weakrefs.count, 0);
    rc_decref(late);
    rc_decref(wr);
}
END_TEST

/* An object that never had a weak reference pays nothing: no flag, no map
 * entry; rc_weakref_new(NULL) is EINVAL, and so is a weak reference to a
 * weak reference (CPython: TypeError, cannot create weak reference to
 * 'weakref.ReferenceType' object). */
START_TEST(test_no_cost_and_einval) {
    obj *o = make();
    ck_assert(!(rc_head_of(o)->info & RC_F_WEAKREFS));
    ck_assert_uint_eq(rc_weakref_count(o), 0);
    ck_assert_uint_eq(H->weakrefs.count, 0);
    errno = 0;
    ck_assert_ptr_null(rc_weakref_new(NULL, NULL, NULL));
    ck_assert_int_eq(errno, EINVAL);
    rc_weakref *wr = rc_weakref_new(o, NULL, NULL);
    errno = 0;
    ck_assert_ptr_null(rc_weakref_new(wr, NULL, NULL));
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(rc_weakref_count(wr), 0);
    rc_decref(wr);
    rc_decref(o);
}
END_TEST

/* rc_weakref_check is PyWeakref_Check: true for a weak reference, with or
 * without a callback and after its target died; false for NULL, tracked
 * and untracked objects. */
START_TEST(test_weakref_check) {
    obj *o = make();
    void *p = rc_new(H, &plain_type);
    rc_weakref *w = rc_weakref_new(o, NULL, NULL), *wcb = rc_weakref_new(p, callback, NULL);
    ck_assert(rc_weakref_check(w));
    ck_assert(rc_weakref_check(wcb));
    ck_assert(!rc_weakref_check(o));
    ck_assert(!rc_weakref_check(p));
    ck_assert(!rc_weakref_check(NULL));
    rc_decref(o);
    rc_decref(p);
    ck_assert(rc_weakref_check(w));
    ck_assert_ptr_null(rc_weakref_get(w));
    rc_decref(w);
    rc_decref(wcb);
}
END_TEST

/* Creating a weak reference fails cleanly whether the object or the map
 * entry cannot be allocated: NULL + ENOMEM, nothing leaked or linked. */
START_TEST(test_enomem) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    rc_gc_disable(h);
    obj *targets[64];
    for (int i = 0; i < 64; i++)
        targets[i] = rc_new(h, &obj_type);
    int failures = 0;
    for (int i = 0; i < 64; i++) {
        rc_heap_stats before, after;
        rc_heap_get_stats(h, &before);
        counting_fail_next(&c, 1 + i % 3); /* the object, the map, or not at all */
        errno = 0;
        rc_weakref *wr = rc_weakref_new(targets[i], callback, NULL);
        c.fail_at = 0;
        if (wr == NULL) {
            failures++;
            ck_assert_int_eq(errno, ENOMEM);
            rc_heap_get_stats(h, &after);
            ck_assert_uint_eq(after.objects, before.objects);
            ck_assert_uint_eq(rc_weakref_count(targets[i]), 0);
            ck_assert(!(rc_head_of(targets[i])->info & RC_F_WEAKREFS));
        } else {
            ck_assert_uint_eq(rc_weakref_count(targets[i]), 1);
            targets[i]->wr = wr; /* dies with its target's references */
        }
    }
    ck_assert_int_gt(failures, 0);
    for (int i = 0; i < 64; i++)
        rc_decref(targets[i]);
    ck_assert_uint_eq(h->weakrefs.count, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The number of pool p in its arena (weakref.c's pool_number). */
static size_t pool_number(const rc_pool *p) {
    return (size_t)(rc_pool_base(p) - p->arena->first_pool) / RC_POOL_SIZE;
}

/* The table of lists of obj's pool, or NULL. */
static struct rc_weak_table *table_of(const void *o) {
    const rc_pool *p = rc_pool_of(o);
    return p->arena->weak_tables[pool_number(p)];
}

static size_t lists_in_pool(const void *o) {
    const rc_pool *p = rc_pool_of(o);
    return p->arena->weak_objects[pool_number(p)];
}

/* The lists a pool has when it gets its table (weakref.c's WEAK_TABLE_AT). */
#define WEAK_AT(p) ((p)->capacity / 8)

/* Stamps each object's callbacks in the order they run (arg: a slot). */
static int stamp;
static void stamp_callback(rc_weakref *ref, void *arg) {
    (void)ref;
    *(int *)arg = ++stamp;
}

/* Weak references to many objects made together: once an eighth of a
 * pool's objects have a list, the pool gets a table of lists (weakref.c,
 * "where lists live"); lists made before stay in the map until their head
 * changes. Wherever a list lives, get, count, the order of callbacks
 * (newest first) and the clearing at death are the same, and the table
 * goes with its pool's last list. */
enum { MANY = 3000 };
static obj *many[MANY];
static rc_weakref *older_cb[MANY], *newer_cb[MANY], *plain[MANY];
static int older_ran[MANY], newer_ran[MANY];

START_TEST(lists_move_to_pool_tables) {
    for (int i = 0; i < MANY; i++) {
        many[i] = make();
        many[i]->id = i;
    }
    const rc_pool *p = rc_pool_of(many[0]);
    size_t at = WEAK_AT(p), in_pool = 0;
    ck_assert_uint_gt(at, 8);
    for (int i = 0; i < MANY; i++) {
        older_cb[i] = rc_weakref_new(many[i], stamp_callback, &older_ran[i]);
        ck_assert_ptr_nonnull(older_cb[i]);
        in_pool += rc_pool_of(many[i]) == p;
        ck_assert_uint_eq(lists_in_pool(many[0]), in_pool);
        ck_assert((table_of(many[0]) != NULL) == (in_pool >= at));
    }
    /* in the map: each pool's lists before its table (the first at - 1) */
    const rc_pool *pools[8];
    size_t lists[8] = {0}, npools = 0, in_map = 0;
    for (int i = 0; i < MANY; i++) {
        size_t k = 0;
        while (k < npools && pools[k] != rc_pool_of(many[i]))
            k++;
        if (k == npools)
            pools[npools++] = rc_pool_of(many[i]);
        in_map += ++lists[k] < WEAK_AT(pools[k]);
    }
    ck_assert_uint_ge(npools, 3);
    ck_assert_uint_eq(H->weakrefs.count, in_map);
    for (int i = 0; i < MANY; i++) {
        newer_cb[i] = rc_weakref_new(many[i], stamp_callback, &newer_ran[i]);
        plain[i] = rc_weakref_new(many[i], NULL, NULL); /* the new head */
    }
    ck_assert_uint_eq(H->weakrefs.count, 0); /* every head changed: all in tables */
    for (int i = 0; i < MANY; i += 2) {
        rc_decref(plain[i]); /* the head goes: the older one is it again */
        plain[i] = NULL;
    }
    for (int i = 0; i < MANY; i++) {
        ck_assert_uint_eq(rc_weakref_count(many[i]), i % 2 ? 3 : 2);
        obj *o = rc_weakref_get(older_cb[i]);
        ck_assert_ptr_eq(o, many[i]);
        rc_decref(o);
    }
    for (int i = MANY - 1; i >= 0; i--)
        rc_decref(many[i]);
    for (int i = 0; i < MANY; i++) {
        ck_assert_int_eq(newer_ran[i], older_ran[i] - 1); /* newest first */
        ck_assert(dead(older_cb[i]) && dead(newer_cb[i]));
        ck_assert(plain[i] == NULL || dead(plain[i]));
        ck_assert_ptr_null(table_of(many[i]));
        ck_assert_uint_eq(lists_in_pool(many[i]), 0);
        rc_decref(older_cb[i]);
        rc_decref(newer_cb[i]);
        rc_decref(plain[i]);
    }
    ck_assert_int_eq(stamp, 2 * MANY);
    ck_assert_uint_eq(H->weakrefs.count, 0);
}
END_TEST

/* Without memory for a pool's table, lists stay in the map (the weak
 * reference is made all the same); the next list asks again. A table
 * alive at rc_heap_free goes back with the heap. */
START_TEST(pool_table_without_memory) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    rc_gc_disable(h);
    obj *first = rc_new(h, &obj_type);
    const rc_pool *p = rc_pool_of(first);
    size_t at = WEAK_AT(p);
    obj **objs = calloc(at + 1, sizeof *objs);
    objs[0] = first;
    for (size_t i = 1; i <= at; i++) {
        objs[i] = rc_new(h, &obj_type);
        ck_assert_ptr_eq(rc_pool_of(objs[i]), p);
    }
    for (size_t i = 0; i + 1 < at; i++)
        objs[i]->wr = rc_weakref_new(objs[i], NULL, NULL);
    ck_assert_ptr_null(table_of(first));
    c.limit = 4096; /* the table's request (8 bytes a block) is refused */
    size_t refused = c.refused;
    objs[at - 1]->wr = rc_weakref_new(objs[at - 1], callback, NULL);
    ck_assert_ptr_nonnull(objs[at - 1]->wr);
    ck_assert_uint_eq(c.refused, refused + 1);
    ck_assert_ptr_null(table_of(first));
    ck_assert_uint_eq(h->weakrefs.count, at);
    c.limit = 0;
    objs[at]->wr = rc_weakref_new(objs[at], NULL, NULL);
    ck_assert_ptr_nonnull(table_of(first));
    ck_assert_uint_eq(h->weakrefs.count, at); /* the new list is the table's */
    ck_assert_uint_eq(rc_weakref_count(objs[at - 1]), 1);
    ck_assert_uint_eq(rc_weakref_count(objs[at]), 1);
    for (size_t i = 0; i <= at; i++)
        rc_incref(objs[i]->wr); /* the weak references outlive the objects' release */
    ck_assert_uint_eq(rc_heap_free(h), 2 * (at + 1)); /* all left alive: the table too */
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    free(objs);
}
END_TEST

/* A weak reference whose own death waits (its count reached 0 past the
 * nesting limit, in a long chain of deaths) is gone already, as CPython's
 * is at its dealloc: rc_weakref_count leaves it out, and a new weak
 * reference without callback is a new one, not it revived. Each position
 * around the limit is tried: a chain node holds the weak reference, the
 * next node's finalizer asks for another. */
typedef struct chain_node {
    struct chain_node *next;
    rc_weakref *wr;
    int k;
} chain_node;
static void *chain_target;
static int chain_asker, chain_asked;
static void chain_traverse(void *self, rc_visit_fn visit, void *arg) {
    chain_node *n = self;
    visit((void **)&n->wr, arg);
    visit((void **)&n->next, arg);
}
static void chain_finalize(void *self) {
    if (((chain_node *)self)->k != chain_asker)
        return;
    rc_weakref *w = rc_weakref_new(chain_target, NULL, NULL);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq(rc_weakref_count(chain_target), 1);
    ck_assert_ptr_eq(rc_weakref_get(w), chain_target);
    rc_decref(chain_target);
    rc_decref(w);
    chain_asked++;
}
static const rc_type chain_type = {"chain", sizeof(chain_node), chain_traverse, NULL,
                                   chain_finalize, NULL};

START_TEST(test_dying_ref_not_revived) {
    chain_target = make();
    for (int at = 40; at < 60; at++) {
        chain_asker = at + 1;
        chain_asked = 0;
        chain_node *head = NULL;
        for (int k = 100; k >= 0; k--) {
            chain_node *n = rc_new(H, &chain_type);
            n->k = k;
            n->next = head;
            if (k == at)
                n->wr = rc_weakref_new(chain_target, NULL, NULL);
            head = n;
        }
        rc_decref(head);
        ck_assert_int_eq(chain_asked, 1);
        ck_assert_uint_eq(rc_weakref_count(chain_target), 0);
    }
    rc_decref(chain_target);
}
END_TEST

/* At heap teardown the callbacks of leaked objects' weak references do not
 * run (every object is released at once). */
START_TEST(test_heap_free_runs_no_callbacks) {
    rc_heap *h = rc_heap_new();
    obj *o = rc_new(h, &obj_type);
    rc_weakref *wr = rc_weakref_new(o, callback, NULL);
    (void)wr;
    ck_assert_uint_eq(rc_heap_free(h), 2); /* o and wr were never dropped */
    ck_assert_int_eq(cbcalled, 0);
}
END_TEST

/* At heap teardown a released object is dead, as a CPython object is from
 * its dealloc on: rc_weakref_count says 0 for it (its own release asking
 * about itself too), and leaves out the weak references released already.
 * Released in no set order (a large object, as the odd targets are, after
 * the pools: their weak references go first), each release checks every
 * target. */
enum { TORN = 4 };
static obj *torn[TORN];
static rc_weakref *torn_refs[TORN];
static int torn_checked;

static bool torn_released(const void *o) { return (rc_head_of(o)->info & RC_F_RELEASED) != 0; }

static void torn_release(void *self) {
    (void)self;
    for (int i = 0; i < TORN; i++) {
        size_t alive = !torn_released(torn[i]) && !torn_released(torn_refs[i]);
        ck_assert_uint_eq(rc_weakref_count(torn[i]), alive);
    }
    torn_checked++;
}

static const rc_type torn_type = {"torn", sizeof(obj), obj_traverse, NULL, NULL, torn_release};

START_TEST(test_heap_free_counts_no_weakrefs_of_released) {
    rc_heap *h = rc_heap_new();
    for (int i = 0; i < TORN; i++) {
        torn[i] = rc_new_sized(h, &torn_type, i % 2 ? 4096 : sizeof(obj));
        torn_refs[i] = rc_weakref_new(torn[i], i % 2 ? callback : NULL, NULL);
    }
    torn_checked = 0;
    ck_assert_uint_eq(rc_heap_free(h), 2 * TORN);
    ck_assert_int_eq(torn_checked, TORN);
    ck_assert_int_eq(cbcalled, 0);
}
END_TEST

/* An object a release makes during teardown and drops dies by its count,
 * as any object does: the callback of its weak reference runs then (as
 * CPython's do at shutdown), and rc_weakref_get gives NULL; a weak
 * reference to the object being released gives NULL at once. */
static rc_weakref *teardown_ref;
static int teardown_gets;

static void release_makes_and_drops(void *self) {
    obj *x = rc_new(rc_heap_of(self), &obj_type);
    rc_weakref *to_self = rc_weakref_new(self, callback, NULL);
    teardown_gets += rc_weakref_get(to_self) == NULL;
    rc_decref(to_self);
    teardown_ref = rc_weakref_new(x, callback, NULL);
    rc_decref(x);
    teardown_gets += rc_weakref_get(teardown_ref) == NULL;
}

static const rc_type maker_type = {"maker", sizeof(obj), obj_traverse, NULL, NULL,
                                   release_makes_and_drops};

START_TEST(test_heap_free_death_by_count_runs_callback) {
    rc_heap *h = rc_heap_new();
    ck_assert_ptr_nonnull(rc_new(h, &maker_type)); /* leaked */
    teardown_gets = 0;
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(cbcalled, 1);
    ck_assert_int_eq(teardown_gets, 2);
}
END_TEST

/* A weak reference older than the garbage it refers to: after its callback
 * it goes to the old generation of that collection (CPython's
 * handle_weakrefs moves it there from generation 2), and is examined
 * there: a cycle holding it, collected with generation 1, finds it too.
 * The figures are python3's for the same program (__slots__ classes, a
 * __del__ that resurrects once). */
static obj *phoenix_saved;

static void phoenix_finalize(void *self) { phoenix_saved = rc_incref(self); }

static const rc_type phoenix_type = {"phoenix", sizeof(obj), obj_traverse, NULL,
                                     phoenix_finalize, NULL};

START_TEST(test_old_weakref_joins_old) {
    obj *t = rc_new(H, &phoenix_type);
    rc_weakref *wr = rc_weakref_new(t, callback, NULL);
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    rc_decref(t); /* resurrected by its finalizer, tracked again in generation 0 */
    ck_assert_ptr_eq(phoenix_saved, t);
    phoenix_saved = NULL;
    ck_assert(in_gen(0, t) && in_gen(2, wr));
    t->a = t; /* the reference the finalizer took */
    ck_assert_int_eq(rc_gc_collect(H, 0), 1);
    ck_assert_int_eq(cbcalled, 1);
    ck_assert(in_gen(1, wr));
    ck_assert_uint_eq((rc_head_of(wr)->info & RC_F_GEN) >> RC_F_GEN_SHIFT, 1);
    obj *x = make(), *y = make();
    x->a = y;
    y->a = rc_incref(x);
    x->wr = wr; /* our reference */
    rc_decref(x);
    ck_assert_int_eq(rc_gc_collect(H, 1), 3);
}
END_TEST

/* A callback resurrects garbage it was handed as its argument, which a C
 * program can do where Python cannot (the callback gets a pointer, not a
 * weak reference): the collection examines the garbage again, as after a
 * finalizer (CPython 3.12 always does), so the resurrected cycle survives
 * whole, its references intact, and is not counted as collected. */
static obj *rescued;
static void rescue(rc_weakref *ref, void *arg) {
    (void)ref;
    rescued = rc_incref(arg);
}

START_TEST(callback_resurrects_its_argument) {
    obj *a = make(), *b = make();
    a->a = b;
    b->a = a; /* a cycle, both references stolen */
    b->id = 7;
    rc_weakref *wr = rc_weakref_new(a, rescue, b);
    rescued = NULL;
    ck_assert_int_eq(rc_gc_collect(H, 2), 0);
    ck_assert_ptr_eq(rescued, b);
    ck_assert(dead(wr)); /* cleared before the callback ran */
    ck_assert_ptr_eq(b->a, a);
    ck_assert_ptr_eq(a->a, b);
    ck_assert_int_eq(b->id, 7);
    ck_assert_uint_eq(rc_refcount(a), 1);
    ck_assert_uint_eq(rc_refcount(b), 2);
    ck_assert(in_gen(2, b) && in_gen(2, a));
    rc_decref(wr);
    RC_CLEAR(rescued);
    ck_assert_int_eq(rc_gc_collect(H, 2), 2);
}
END_TEST

/* A finalizer in cyclic garbage makes weak references with callbacks to
 * itself (a) and to the next garbage object (b = a->a), each stored in a
 * and in b. CPython clears the garbage one object at a time, and a death
 * there runs the callbacks of the weak references that objects not yet
 * cleared still hold: a's death (newest first: the one in b, the one in
 * a), then, as a drops its first slot, b's. Checked against python3.12
 * with a ring of 20000 nodes in a shuffled order (__slots__ s0, s1, s2,
 * __del__); a garbage that large, its references far apart, used to be
 * held and cleared whole first (clear_held), which dropped the weak
 * references before their targets died: no callback ran. */
typedef struct ring_node { void *next, *w1, *w2; bool maker; } ring_node;
static void ring_traverse(void *self, rc_visit_fn visit, void *arg) {
    ring_node *n = self;
    visit(&n->next, arg);
    visit(&n->w1, arg);
    visit(&n->w2, arg);
}
static void make_refs_to_garbage(void *self) {
    ring_node *a = self, *b = a->next;
    if (!a->maker)
        return;
    a->w1 = rc_weakref_new(a, record, (void *)1);
    b->w1 = rc_weakref_new(a, record, (void *)2);
    a->w2 = rc_weakref_new(b, record, (void *)3);
    b->w2 = rc_weakref_new(b, record, (void *)4);
}

START_TEST(finalizer_refs_to_big_garbage) {
    static const rc_type ring_type = {"ring_node", sizeof(ring_node), ring_traverse, NULL,
                                      make_refs_to_garbage, NULL};
    enum { N = 20000 };
    static ring_node *nodes[N];
    static unsigned perm[N];
    for (unsigned i = 0; i < N; i++) {
        nodes[i] = rc_new(H, &ring_type);
        perm[i] = i;
    }
    uint64_t x = 5;
    for (unsigned i = N - 1; i > 0; i--) { /* shuffled: references far apart */
        x = x * 6364136223846793005u + 1442695040888963407u;
        unsigned j = (unsigned)((x >> 33) % (i + 1)), t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
    for (unsigned i = 0; i < N; i++)
        nodes[perm[i]]->next = rc_incref(nodes[perm[(i + 1) % N]]);
    nodes[perm[0]]->maker = true;
    for (unsigned i = 0; i < N; i++)
        rc_decref(nodes[i]);
    ck_assert_int_eq(rc_gc_collect(H, 2), N);
    ck_assert_int_eq(norder, 4);
    ck_assert_int_eq(order[0], 2);
    ck_assert_int_eq(order[1], 1);
    ck_assert_int_eq(order[2], 4);
    ck_assert_int_eq(order[3], 3);
    ck_assert_uint_eq(stats_of(H).objects, 0);
}
END_TEST

/* The guide's owner of a callback's arg (section 6): an object that is its
 * weak reference's only holder, passed as arg. A callback that ends another
 * owner, in the same death or collection, does not stop that owner's
 * callback: due weak references are held until the last callback has run
 * (as CPython holds them in a tuple and runs them all), so that callback
 * finds its weak reference held by the library alone, rc_refcount 1, or,
 * when the owner's death waits (nested too deeply: one chain position
 * below), the owner intact with count 0; either way it must leave arg
 * alone (reading it was a use after free). By count, at each position of
 * a chain around the nesting limit, and in a collection. */
static obj *owners[2];
static int owners_gone;

static void owned_callback(rc_weakref *ref, void *arg) {
    if (rc_refcount(ref) == 1 || rc_refcount(arg) == 0) { /* the guide's test */
        owners_gone++;
        return;
    }
    obj *o = arg;
    order[norder++] = o->id;
    if (o == owners[1])
        RC_CLEAR(owners[0]); /* newest first: this runs before owners[0]'s */
}

/* Ends t, with two owners' weak references: by count (at < 0), as the
 * referent of the chain node at position at of a dying chain, or in a
 * collection (cyclic). */
static void check_owner_gone(int at, bool cyclic) {
    obj *t = make(), *head = NULL;
    for (int i = 0; i < 2; i++) {
        owners[i] = make();
        owners[i]->id = i + 1;
        owners[i]->wr = rc_weakref_new(t, owned_callback, owners[i]);
    }
    norder = owners_gone = 0;
    for (int k = at; k >= 0; k--) {
        obj *n = make();
        n->a = head;
        n->b = k == at ? t : NULL; /* our reference to t, stolen */
        head = n;
    }
    if (cyclic) {
        t->a = t; /* our reference, stolen */
        /* t, and owners[0]'s weak reference, freed once its callback ran */
        ck_assert_int_eq(rc_gc_collect(H, 2), 2);
    } else {
        rc_decref(head ? (void *)head : (void *)t);
    }
    ck_assert_int_eq(norder, 1);
    ck_assert_int_eq(order[0], 2);
    ck_assert_int_eq(owners_gone, 1);
    ck_assert_ptr_null(owners[0]);
    RC_CLEAR(owners[1]);
}

START_TEST(owner_gone_during_callbacks) {
    check_owner_gone(-1, false);
    for (int at = 40; at < 60; at++)
        check_owner_gone(at, false);
    check_owner_gone(-1, true);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("weakref");
    add_case_fixture(s, tcase_create("finalizer_refs_to_big_garbage"),
                     finalizer_refs_to_big_garbage, setup, teardown);
    add_case_fixture(s, tcase_create("owner_gone_during_callbacks"), owner_gone_during_callbacks,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callback_resurrects_its_argument"),
                     callback_resurrects_its_argument, setup, teardown);
    add_case_fixture(s, tcase_create("basic_ref"), test_basic_ref, setup, teardown);
    add_case_fixture(s, tcase_create("basic_callback"), test_basic_callback, setup, teardown);
    add_case_fixture(s, tcase_create("multiple_callbacks"), test_multiple_callbacks,
                     setup, teardown);
    add_case_fixture(s, tcase_create("multiple_selfref_callbacks"), test_multiple_selfref_callbacks,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callback_order"), test_callback_order, setup, teardown);
    add_case_fixture(s, tcase_create("ref_reuse"), test_ref_reuse, setup, teardown);
    add_case_fixture(s, tcase_create("getweakrefcount"), test_getweakrefcount, setup, teardown);
    add_case_fixture(s, tcase_create("sf_bug_840829"), test_sf_bug_840829, setup, teardown);
    add_case_fixture(s, tcase_create("callback_in_cycle"), test_callback_in_cycle, setup, teardown);
    add_case_fixture(s, tcase_create("callback_in_cycle_resurrection"),
                     test_callback_in_cycle_resurrection, setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_on_callback"), test_callbacks_on_callback,
                     setup, teardown);
    add_case_fixture(s, tcase_create("gc_during_ref_creation"), test_gc_during_ref_creation,
                     setup, teardown);
    add_case_fixture(s, tcase_create("ref_created_during_del"), test_ref_created_during_del,
                     setup, teardown);
    add_case_fixture(s, tcase_create("trashcan_16602"), test_trashcan_16602, setup, teardown);
    add_case_fixture(s, tcase_create("callback_gcs"), test_callback_gcs, setup, teardown);
    add_case_fixture(s, tcase_create("cleared_before_callbacks_and_finalizers"),
                     test_cleared_before_callbacks_and_finalizers, setup, teardown);
    add_case_fixture(s, tcase_create("finalizer_before_callbacks"), test_finalizer_before_callbacks,
                     setup, teardown);
    add_case_fixture(s, tcase_create("ref_created_during_callback"),
                     test_ref_created_during_callback, setup, teardown);
    add_case_fixture(s, tcase_create("no_cost_and_einval"), test_no_cost_and_einval,
                     setup, teardown);
    add_case_fixture(s, tcase_create("enomem"), test_enomem, setup, teardown);
    add_case_fixture(s, tcase_create("lists_move_to_pool_tables"), lists_move_to_pool_tables,
                     setup, teardown);
    add_case(s, tcase_create("pool_table_without_memory"), pool_table_without_memory);
    add_case_fixture(s, tcase_create("weakref_check"), test_weakref_check, setup, teardown);
    add_case_fixture(s, tcase_create("dying_ref_not_revived"), test_dying_ref_not_revived,
                     setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_runs_no_callbacks"),
                     test_heap_free_runs_no_callbacks, setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_counts_no_weakrefs_of_released"),
                     test_heap_free_counts_no_weakrefs_of_released, setup, teardown);
    add_case_fixture(s, tcase_create("heap_free_death_by_count_runs_callback"),
                     test_heap_free_death_by_count_runs_callback, setup, teardown);
    add_case_fixture(s, tcase_create("old_weakref_joins_old"), test_old_weakref_joins_old,
                     setup, teardown);
    return s;
}
