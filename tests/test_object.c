/*
 * test_object.c — objects and their counts: rc_new and rc_new_sized with
 * their errors, zeroed memory, rc_incref/rc_decref/rc_refcount, RC_CLEAR,
 * RC_SET, rc_auto, rc_type_of/rc_heap_of, the order of destruction,
 * finalizers and resurrection, long chains dying in constant stack, and
 * counts saturating.
 */
#include "check_main.h"
#include "internal.h"
#include "test_support.h"

#include <errno.h>
#include <pthread.h>

/* ---------------------------------------------------------------- events */

/* What the types below did, in order: "finalize node", "release leaf", ... */
static char events[32][48];
static int nevents;
static int finalized, released;

static void event(const char *what, const void *self) {
    ck_assert_int_lt(nevents, 32);
    snprintf(events[nevents++], sizeof events[0], "%s %s", what, rc_type_of(self)->name);
}

static void reset(void) {
    nevents = finalized = released = 0;
}

static void check_events(const char *const *want, int n) {
    ck_assert_int_eq(nevents, n);
    for (int i = 0; i < n; i++)
        ck_assert_str_eq(events[i], want[i]);
}

/* ------------------------------------------------------------------ types */

typedef struct node { struct node *next; long value; } node;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((node *)self)->next, arg);
}
static void count_finalize(void *self) { (void)self; finalized++; }
static void count_release(void *self) { (void)self; released++; }
static void log_release(void *self) { event("release", self); }

static const rc_type leaf_type = {"leaf", sizeof(long), NULL, NULL, NULL, log_release};
static const rc_type plain_type = {"plain", 24, NULL, NULL, NULL, NULL};
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, NULL};
static const rc_type counted_type = {"counted", sizeof(node), node_traverse, NULL,
                                     count_finalize, count_release};

/* ------------------------------------------------------------------ rc_new */

START_TEST(new_einval) {
    rc_heap *h = rc_heap_new();
    static const rc_type empty_type = {"empty", 0, NULL, NULL, NULL, NULL};
    size_t r0 = stats_of(h).bytes_reserved;
    errno = 0;
    ck_assert_ptr_null(rc_new(h, NULL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_new_sized(h, NULL, 16));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_new_sized(h, &node_type, 0));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_new(h, &empty_type));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_new(NULL, &node_type));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_new_sized(NULL, &node_type, 16));
    ck_assert_int_eq(errno, EINVAL);
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_eq(s.objects, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    ck_assert_uint_eq(s.bytes_reserved, r0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* New objects are zeroed, also where dirty dead objects' blocks are reused. */
/* A NULL object or heap where one is read: NULL, 0, zeros. */
START_TEST(null_object_queries) {
    ck_assert_ptr_null(rc_type_of(NULL));
    ck_assert_ptr_null(rc_heap_of(NULL));
    ck_assert_uint_eq(rc_sizeof(NULL), 0);
    ck_assert_uint_eq(rc_refcount(NULL), 0);
    ck_assert_uint_eq(rc_weakref_count(NULL), 0);
    ck_assert_ptr_null(rc_weakref_get(NULL));
    rc_heap_stats st = {1, 2, 3, 4};
    rc_heap_get_stats(NULL, &st);
    ck_assert(st.objects == 0 && st.tracked == 0 && st.bytes_in_use == 0 && st.bytes_reserved == 0);
    rc_heap *h = rc_heap_new();
    rc_heap_get_stats(h, NULL);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

START_TEST(new_zeroed) {
    enum { N = 200 };
    static const size_t sizes[] = {8, 40, 200, 488, 2000};
    rc_heap *h = rc_heap_new();
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        for (int tracked = 0; tracked < 2; tracked++) {
            const rc_type *t = tracked ? &node_type : &plain_type;
            unsigned char *old[N];
            for (int i = 0; i < N; i++) {
                old[i] = rc_new_sized(h, t, sizes[k]);
                memset(old[i] + (tracked ? sizeof(void *) : 0), 0xAB,
                       sizes[k] - (tracked ? sizeof(void *) : 0));
            }
            for (int i = 0; i < N; i++)
                rc_decref(old[i]);
            int reused = 0;
            unsigned char *fresh[N];
            for (int i = 0; i < N; i++) {
                unsigned char *o = fresh[i] = rc_new_sized(h, t, sizes[k]);
                size_t b = 0;
                while (b < sizes[k] && o[b] == 0)
                    b++;
                ck_assert_msg(b == sizes[k], "size %zu: byte %zu not zero", sizes[k], b);
                for (int j = 0; j < N; j++)
                    reused += o == old[j];
            }
            if (sizes[k] <= 488) /* pool blocks: most dead ones were reused */
                ck_assert_int_ge(reused, N / 2);
            for (int i = 0; i < N; i++)
                rc_decref(fresh[i]);
        }
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* -------------------------------------------------------------- counts */

/* The seed's walk (a = []; b = a; del b): sys.getrefcount(a) prints 2, 3, 2,
 * one more than the true count because of its own argument. */
START_TEST(refcount_walk) {
    rc_heap *h = rc_heap_new();
    node *a = rc_new(h, &node_type);
    ck_assert_uint_eq(rc_refcount(a), 1);
    node *b = rc_incref(a); /* b = a */
    ck_assert_ptr_eq(b, a);
    ck_assert_uint_eq(rc_refcount(a), 2);
    rc_decref(b); /* del b */
    ck_assert_uint_eq(rc_refcount(a), 1);
    for (int i = 0; i < 1000; i++)
        rc_incref(a);
    ck_assert_uint_eq(rc_refcount(a), 1001);
    for (int i = 0; i < 1000; i++)
        rc_decref(a);
    ck_assert_uint_eq(rc_refcount(a), 1);
    ck_assert_uint_eq(stats_of(h).objects, 1);
    ck_assert_ptr_null(rc_incref(NULL));
    rc_decref(NULL);
    rc_decref(a);
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* RC_CLEAR sets the slot to NULL before the reference is dropped: the dying
 * object's release already sees the slot empty. Its argument is evaluated
 * once; a NULL slot is fine. */
static node *clear_holder;
static void check_slot_release(void *self) {
    event("release", self);
    ck_assert_ptr_null(clear_holder->next);
}
static const rc_type checked_type = {"checked", 8, NULL, NULL, NULL, check_slot_release};

/* The allocating macros take what the functions take, a compound literal
 * too, whose braces hide commas from the preprocessor (a macro with named
 * parameters saw 4, 3 and 7 arguments here and did not compile); each
 * argument is still evaluated once. */
typedef struct two_ints { int a, b; } two_ints;
static void two_ints_callback(rc_weakref *ref, void *arg) { (void)ref, (void)arg; }
START_TEST(allocating_macros_take_compound_literals) {
    rc_heap *h = rc_heap_new();
    void *o = rc_new(h, &(rc_type){"anon", 16, NULL, NULL, NULL, NULL});
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(rc_type_of(o)->name, "anon");
    void *sized = rc_new_sized(h, &(rc_type){"anon2", 16, NULL, NULL, NULL, NULL}, sizeof(two_ints){1, 2});
    ck_assert_uint_ge(rc_sizeof(sized), sizeof(two_ints));
    rc_weakref *w = rc_weakref_new(o, two_ints_callback, &(two_ints){1, 2});
    ck_assert_ptr_nonnull(w);
    int evals = 0;
    char *p = rc_malloc(h, (evals++, sizeof(two_ints){3, 4}));
    p = rc_realloc(h, (evals++, p), sizeof(two_ints){5, 6} * 2);
    char *c = rc_calloc(h, (evals++, 2), sizeof(two_ints){7, 8});
    ck_assert_int_eq(evals, 3);
    ck_assert_ptr_nonnull(p);
    ck_assert_ptr_nonnull(c);
    rc_free(h, p);
    rc_free(h, c);
    rc_decref(w);
    rc_decref(o);
    rc_decref(sized);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

START_TEST(clear_macro) {
    reset();
    rc_heap *h = rc_heap_new();
    clear_holder = rc_new(h, &node_type);
    clear_holder->next = rc_new(h, &checked_type);
    RC_CLEAR(clear_holder->next);
    ck_assert_ptr_null(clear_holder->next);
    check_events((const char *[]){"release checked"}, 1);
    RC_CLEAR(clear_holder->next); /* already NULL */

    node *slots[2] = {rc_new(h, &node_type), rc_new(h, &node_type)};
    int i = 0;
    RC_CLEAR(slots[i++]);
    ck_assert_int_eq(i, 1);
    ck_assert_ptr_null(slots[0]);
    ck_assert_ptr_nonnull(slots[1]);
    RC_CLEAR(slots[1]);
    RC_CLEAR(clear_holder);
    ck_assert_ptr_null(clear_holder);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* RC_SET stores the new value first, then drops the old reference (the old
 * object's release sees the new value in place); each argument is evaluated
 * once; setting a slot to what it holds keeps the object alive. */
static node *set_holder;
static void *set_expected;
static int made;
static void check_set_release(void *self) {
    event("release", self);
    ck_assert_ptr_eq(set_holder->next, set_expected);
}
static const rc_type set_type = {"set", sizeof(node), NULL, NULL, NULL, check_set_release};
static node *make(rc_heap *h) {
    made++;
    return rc_new(h, &set_type);
}

START_TEST(set_macro) {
    reset();
    rc_heap *h = rc_heap_new();
    set_holder = rc_new(h, &node_type);
    made = 0;
    RC_SET(set_holder->next, make(h)); /* from NULL */
    ck_assert_int_eq(made, 1);
    node *first = set_holder->next;
    set_expected = rc_new(h, &plain_type);
    RC_SET(set_holder->next, set_expected);
    check_events((const char *[]){"release set"}, 1);
    ck_assert_ptr_ne(set_holder->next, first);

    node *same = set_holder->next;
    RC_SET(set_holder->next, rc_incref(same)); /* the same object again */
    ck_assert_uint_eq(rc_refcount(same), 1);

    node *slots[2] = {NULL, NULL};
    int i = 0;
    RC_SET(slots[i++], rc_new(h, &plain_type));
    ck_assert_int_eq(i, 1);
    ck_assert_ptr_nonnull(slots[0]);
    RC_SET(slots[0], NULL); /* to NULL: drops it */
    ck_assert_ptr_null(slots[0]);
    set_expected = NULL;
    RC_SET(set_holder->next, NULL);
    RC_CLEAR(set_holder);
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* rc_auto drops the reference when the variable goes out of scope, and only
 * then; a reference taken inside survives the scope. */
START_TEST(auto_scope) {
    reset();
    rc_heap *h = rc_heap_new();
    void *kept;
    {
        rc_auto void *a = rc_new(h, &leaf_type);
        rc_auto void *b = rc_new(h, &leaf_type);
        rc_auto void *none = NULL;
        (void)none;
        ck_assert_uint_eq(stats_of(h).objects, 2);
        kept = rc_incref(b);
        (void)a;
        ck_assert_int_eq(nevents, 0);
    }
    check_events((const char *[]){"release leaf"}, 1);
    ck_assert_uint_eq(stats_of(h).objects, 1);
    ck_assert_uint_eq(rc_refcount(kept), 1);
    for (int i = 0; i < 3; i++) {
        rc_auto void *loop = rc_new(h, &leaf_type);
        (void)loop;
    }
    ck_assert_int_eq(nevents, 4);
    rc_decref(kept);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* RC_STEAL hands an rc_auto variable's reference to the caller: the
 * variable is NULL at scope exit, so nothing is dropped there, and the
 * object lives on with its one count; a plain variable is moved the same
 * way, and NULL steals as NULL. */
static void *made_in_scope(rc_heap *h) {
    rc_auto void *n = rc_new(h, &leaf_type);
    ck_assert_uint_eq(rc_refcount(n), 1);
    return RC_STEAL(n);
}

START_TEST(steal_from_scope) {
    reset();
    rc_heap *h = rc_heap_new();
    void *kept = made_in_scope(h);
    ck_assert_ptr_nonnull(kept);
    ck_assert_int_eq(nevents, 0);
    ck_assert_uint_eq(rc_refcount(kept), 1);
    void *moved = RC_STEAL(kept);
    ck_assert_ptr_null(kept);
    ck_assert_uint_eq(rc_refcount(moved), 1);
    void *none = NULL;
    ck_assert_ptr_null(RC_STEAL(none));
    rc_decref(moved);
    check_events((const char *[]){"release leaf"}, 1);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* RC_SET(field, RC_STEAL(var)) stores an rc_auto variable's reference in a
 * field, the pairing the guide teaches: the macros' locals must not shadow
 * each other, or a build with -Wshadow -Werror rejects the line. */
#pragma GCC diagnostic push
#pragma GCC diagnostic error "-Wshadow"
static void store_from_scope(rc_heap *h, node *holder) {
    rc_auto node *n = rc_new(h, &node_type);
    RC_SET(holder->next, RC_STEAL(n));
}
#pragma GCC diagnostic pop

START_TEST(set_from_steal) {
    rc_heap *h = rc_heap_new();
    node *holder = rc_new(h, &node_type);
    store_from_scope(h, holder);
    ck_assert_ptr_nonnull(holder->next);
    ck_assert_uint_eq(rc_refcount(holder->next), 1);
    rc_decref(holder);
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ------------------------------------------------------------ inspection */

START_TEST(type_and_heap_of) {
    rc_heap *h1 = rc_heap_new(), *h2 = rc_heap_new();
    static rc_type many[100];
    void *objs[2][100 + 4];
    for (int k = 0; k < 2; k++) {
        rc_heap *h = k ? h2 : h1;
        for (int i = 0; i < 100; i++) {
            many[i] = (rc_type){"many", 8 + (size_t)i, i % 2 ? node_traverse : NULL, NULL,
                                NULL, NULL};
            objs[k][i] = rc_new(h, &many[i]);
        }
        objs[k][100] = rc_new_sized(h, &plain_type, 5000);
        objs[k][101] = rc_new_sized(h, &node_type, 5000);
        objs[k][102] = rc_new(h, &plain_type);
        objs[k][103] = rc_new(h, &node_type);
    }
    for (int k = 0; k < 2; k++) {
        rc_heap *h = k ? h2 : h1;
        for (int i = 0; i < 100; i++)
            ck_assert_ptr_eq(rc_type_of(objs[k][i]), &many[i]);
        ck_assert_ptr_eq(rc_type_of(objs[k][100]), &plain_type);
        ck_assert_ptr_eq(rc_type_of(objs[k][101]), &node_type);
        ck_assert_ptr_eq(rc_type_of(objs[k][102]), &plain_type);
        ck_assert_ptr_eq(rc_type_of(objs[k][103]), &node_type);
        for (int i = 0; i < 104; i++) {
            ck_assert_ptr_eq(rc_heap_of(objs[k][i]), h);
            rc_decref(objs[k][i]);
        }
        ck_assert_uint_eq(stats_of(h).objects, 0);
    }
    ck_assert_uint_eq(rc_heap_free(h1), 0);
    ck_assert_uint_eq(rc_heap_free(h2), 0);
}
END_TEST

/* -------------------------------------------------------- destruction order */

/* A parent holding a child, with a weak reference that has a callback.
 * Each step checks the state the spec promises: the finalizer sees the
 * object whole and alive, its weak reference still set; the callback runs
 * with the weak reference cleared and the references not yet dropped; they
 * are dropped before release; release runs while the memory still counts. */
typedef struct parent { node *child; rc_heap *heap; } parent;
static size_t objects_at_release;

static void parent_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((parent *)self)->child, arg);
}
static void parent_finalize(void *self) {
    parent *p = self;
    event("finalize", self);
    ck_assert_uint_eq(rc_refcount(self), 1);
    ck_assert_ptr_nonnull(p->child);
    ck_assert_int_eq(released, 0); /* the child is alive */
    ck_assert_uint_eq(rc_weakref_count(self), 1);
}
static void parent_gone(rc_weakref *ref, void *arg) {
    ck_assert_int_lt(nevents, 32);
    snprintf(events[nevents++], sizeof events[0], "callback %s", (const char *)arg);
    ck_assert_ptr_null(rc_weakref_get(ref));
    ck_assert_int_eq(released, 0); /* the child is alive */
}
static void parent_clear(void *self) {
    event("clear", self);
    RC_CLEAR(((parent *)self)->child);
}
static void parent_release(void *self) {
    parent *p = self;
    event("release", self);
    ck_assert_ptr_null(p->child);
    objects_at_release = stats_of(p->heap).objects;
}
static void child_release(void *self) {
    event("release", self);
    released++;
}
static const rc_type child_type = {"child", 8, NULL, NULL, NULL, child_release};
static const rc_type parent_clear_type = {"parent", sizeof(parent), parent_traverse, parent_clear,
                                          parent_finalize, parent_release};
static const rc_type parent_traverse_type = {"parent", sizeof(parent), parent_traverse, NULL,
                                             parent_finalize, parent_release};

static void check_order(const rc_type *t, const char *const *want, int n) {
    reset();
    rc_heap *h = rc_heap_new();
    parent *p = rc_new(h, t);
    p->heap = h;
    p->child = rc_new(h, &child_type);
    rc_weakref *ref = rc_weakref_new(p, parent_gone, "parent");
    ck_assert_ptr_nonnull(ref);
    size_t before = stats_of(h).objects; /* parent, child, weak reference */
    rc_decref(p);
    check_events(want, n);
    ck_assert_uint_eq(objects_at_release, before - 1); /* the child gone */
    ck_assert_uint_eq(stats_of(h).objects, before - 2);
    ck_assert_ptr_null(rc_weakref_get(ref));
    rc_decref(ref);
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(order_with_clear) {
    check_order(&parent_clear_type,
                (const char *[]){"finalize parent", "callback parent", "clear parent",
                                 "release child", "release parent"},
                5);
}
END_TEST

START_TEST(order_with_traverse) {
    check_order(&parent_traverse_type,
                (const char *[]){"finalize parent", "callback parent", "release child",
                                 "release parent"},
                4);
}
END_TEST

/* The spec: when an object dies the library calls clear when the type has
 * one, tracked or not; an untracked type's clear runs before its release,
 * once, by reference counting and at the collector's hand alike. */
static void leaf_clear(void *self) { event("clear", self); }
static const rc_type cleared_leaf_type = {"leaf", 8, NULL, leaf_clear, NULL, child_release};
typedef struct pair { void *first, *second; } pair;
static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit(&((pair *)self)->first, arg);
    visit(&((pair *)self)->second, arg);
}
static const rc_type pair_type = {"pair", sizeof(pair), pair_traverse, NULL, NULL, NULL};

START_TEST(order_untracked_with_clear) {
    reset();
    rc_heap *h = rc_heap_new();
    rc_decref(rc_new(h, &cleared_leaf_type));
    check_events((const char *[]){"clear leaf", "release leaf"}, 2);
    reset();
    pair *cycle = rc_new(h, &pair_type); /* holds itself and a leaf */
    cycle->first = rc_incref(cycle);
    cycle->second = rc_new(h, &cleared_leaf_type);
    rc_decref(cycle);
    ck_assert_int_eq(rc_gc_collect(h, 2), 1);
    check_events((const char *[]){"clear leaf", "release leaf"}, 2);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Types without finalize, clear or release die by a shorter path than the
 * others (RC_F_PLAIN, decided when an object is made): objects of both
 * kinds, made in turns so that the type made last keeps changing, each
 * holding a child of the other kind, die exactly as the spec says — each
 * release and finalizer once, children with their parents — and every
 * figure (objects, tracked, bytes in use, count0) is back where it was. */
static void count_clear(void *self) {
    finalized += 100;
    RC_CLEAR(((node *)self)->next);
}
static const rc_type released_node_type = {"released node", sizeof(node), node_traverse, NULL,
                                           NULL, count_release};
static const rc_type cleared_node_type = {"cleared node", sizeof(node), node_traverse,
                                          count_clear, NULL, NULL};

START_TEST(plain_and_other_deaths) {
    static const rc_type *const types[] = {&node_type, &counted_type, &plain_type,
                                           &released_node_type, &node_type, &cleared_node_type,
                                           &leaf_type, &node_type};
    enum { NT = sizeof types / sizeof *types, ROUNDS = 50 };
    reset();
    rc_heap *h = rc_heap_new();
    rc_gc_disable(h);
    rc_heap_stats s0 = stats_of(h);
    long count0[3];
    rc_gc_get_count(h, count0);
    int want_finalized = 0, want_released = 0;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < NT; i++) {
            const rc_type *t = types[i], *ct = types[(i + 1 + r) % NT];
            node *o = rc_new(h, t);
            if (t->traverse) {
                node *child = rc_new(h, ct);
                o->next = child;
                want_finalized += (ct->finalize != NULL) + (ct->clear ? 100 : 0);
                want_released += ct->release == count_release;
            }
            want_finalized += (t->finalize != NULL) + (t->clear ? 100 : 0);
            want_released += t->release == count_release;
            nevents = 0;
            rc_decref(o);
            ck_assert_int_eq(finalized, want_finalized);
            ck_assert_int_eq(released, want_released);
            ck_assert_int_eq(nevents, (t->release == log_release) +
                                          (t->traverse && ct->release == log_release));
            rc_heap_stats s = stats_of(h);
            ck_assert_uint_eq(s.objects, s0.objects);
            ck_assert_uint_eq(s.tracked, s0.tracked);
            ck_assert_uint_eq(s.bytes_in_use, s0.bytes_in_use);
            long count[3];
            rc_gc_get_count(h, count);
            ck_assert_int_eq(count[0], count0[0]);
        }
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A plugin host unloads a plugin once no object of its types is left and
 * a collection ran, and the code loaded next may put another rc_type at
 * the same address (a new version of the plugin, dlopened where the old
 * one was). The heap must read the new type's functions, not what it
 * remembered of the type it made last: a finalizer the new version adds
 * runs, and a traverse it drops leaves its objects untracked (the
 * collector would call a NULL traverse). One rc_type's memory, rewritten,
 * stands for the reused address. */
START_TEST(type_address_reused_after_collection) {
    static rc_type reused;
    reset();
    rc_heap *h = rc_heap_new();
    reused = (rc_type){"v1", sizeof(node), NULL, NULL, NULL, NULL};
    rc_decref(rc_new(h, &reused));
    ck_assert_int_eq(rc_gc_collect(h, 0), 0);
    reused = (rc_type){"v2", sizeof(node), NULL, NULL, count_finalize, NULL};
    rc_decref(rc_new(h, &reused));
    ck_assert_int_eq(finalized, 1);
    reused = (rc_type){"v3", sizeof(node), node_traverse, NULL, NULL, NULL};
    rc_decref(rc_new(h, &reused));
    ck_assert_int_eq(rc_gc_collect(h, 0), 0);
    reused = (rc_type){"v4", sizeof(node), NULL, NULL, NULL, NULL};
    node *o = rc_new(h, &reused);
    ck_assert(!rc_gc_is_tracked(o));
    ck_assert_int_eq(rc_gc_collect(h, 2), 0);
    rc_decref(o);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* -------------------------------------------------- finalizers, resurrection */

static void *resurrected;
static void resurrect_finalize(void *self) {
    finalized++;
    resurrected = rc_incref(self);
}
static const rc_type phoenix_type = {"phoenix", sizeof(node), node_traverse, NULL,
                                     resurrect_finalize, count_release};
static const rc_type plain_phoenix_type = {"plain phoenix", 16, NULL, NULL, resurrect_finalize,
                                           count_release};

START_TEST(finalizer_once) {
    reset();
    rc_heap *h = rc_heap_new();
    for (int i = 0; i < 10; i++)
        rc_decref(rc_new(h, &counted_type));
    ck_assert_int_eq(finalized, 10);
    ck_assert_int_eq(released, 10);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_int_eq(finalized, 10);
}
END_TEST

/* A finalizer that stores a new reference keeps the object, whole (its
 * references kept, still tracked); when it dies later, the finalizer does
 * not run again. */
static void check_resurrection(const rc_type *t) {
    reset();
    rc_heap *h = rc_heap_new();
    node *o = rc_new(h, t);
    bool tracked = t->traverse != NULL;
    if (tracked)
        o->next = rc_new(h, &counted_type);
    rc_decref(o);
    ck_assert_ptr_eq(resurrected, o);
    ck_assert_int_eq(finalized, 1);
    ck_assert_int_eq(released, 0);
    ck_assert_uint_eq(rc_refcount(o), 1);
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_eq(s.objects, 1 + tracked);
    ck_assert_uint_eq(s.tracked, 2 * tracked);
    if (tracked) {
        ck_assert_ptr_nonnull(o->next);
        ck_assert_uint_ne(rc_gc_of(o)->next, 0); /* on a collector list */
    }
    resurrected = NULL;
    rc_decref(o);
    ck_assert_int_eq(finalized, 1 + tracked); /* o not again; its child once */
    ck_assert_int_eq(released, 1 + tracked);
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(resurrection_tracked) { check_resurrection(&phoenix_type); }
END_TEST

START_TEST(resurrection_untracked) { check_resurrection(&plain_phoenix_type); }
END_TEST

/* ---------------------------------------------------------- long chains */

/* Runs fn(arg) on a thread with a 256 KiB stack: a death that recursed in
 * proportion to a chain's length would overflow it. */
static void run_on_small_stack(void *(*fn)(void *), void *arg) {
    pthread_attr_t attr;
    pthread_t t;
    ck_assert_int_eq(pthread_attr_init(&attr), 0);
    ck_assert_int_eq(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
    ck_assert_int_eq(pthread_create(&t, &attr, fn, arg), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
}

typedef struct chain {
    const rc_type *type, *odd; /* odd: of every second node, if not NULL */
    size_t length, size;
    rc_heap *h;
} chain;

/* Builds the chain head -> ... and drops the head: all of it dies. */
static void *build_and_drop(void *arg) {
    chain *c = arg;
    node *head = NULL;
    for (size_t i = 0; i < c->length; i++) {
        node *n = rc_new_sized(c->h, c->odd && i % 2 ? c->odd : c->type, c->size);
        n->next = head; /* steals the reference */
        head = n;
    }
    rc_decref(head);
    return NULL;
}

static void check_mixed_chain(const rc_type *t, const rc_type *odd, size_t length, size_t size) {
    reset();
    chain c = {t, odd, length, size, rc_heap_new()};
    rc_gc_disable(c.h); /* this is about counting: no collection walks the chain */
    run_on_small_stack(build_and_drop, &c);
    rc_heap_stats s = stats_of(c.h);
    ck_assert_uint_eq(s.objects, 0);
    ck_assert_uint_eq(s.tracked, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    if (t->release && !odd)
        ck_assert_uint_eq((size_t)released, length);
    if (t->finalize && !odd)
        ck_assert_uint_eq((size_t)finalized, length);
    ck_assert_uint_eq(rc_heap_free(c.h), 0);
}

static void check_chain(const rc_type *t, size_t length, size_t size) {
    check_mixed_chain(t, NULL, length, size);
}

START_TEST(chain_ten_million) { check_chain(&node_type, scaled(10000000), sizeof(node)); }
END_TEST

static void node_clear(void *self) { RC_CLEAR(((node *)self)->next); }
static const rc_type clearing_type = {"clearing", sizeof(node), node_traverse, node_clear,
                                      count_finalize, count_release};

START_TEST(chain_with_clear_and_finalizers) {
    check_chain(&clearing_type, scaled(1000000), sizeof(node));
}
END_TEST

START_TEST(chain_of_large_objects) { check_chain(&counted_type, scaled(20000), 1000); }
END_TEST

/* An untracked type whose clear drops references: its deaths wait on a
 * stack of their own when nested too deeply. */
static const rc_type untracked_clearing_type = {"untracked clearing", sizeof(node), NULL,
                                                node_clear, count_finalize, count_release};
static const rc_type untracked_clear_type = {"untracked clear", sizeof(node), NULL, node_clear,
                                             NULL, NULL};

START_TEST(chain_untracked_with_clear) {
    check_chain(&untracked_clear_type, scaled(1000000), sizeof(node));
    check_chain(&untracked_clearing_type, scaled(1000000), sizeof(node));
    check_chain(&untracked_clear_type, scaled(20000), 1000);
    check_mixed_chain(&untracked_clear_type, &node_type, scaled(1000000), sizeof(node));
    check_mixed_chain(&node_type, &untracked_clearing_type, scaled(1000000), sizeof(node));
    ck_assert_uint_eq((size_t)released, scaled(1000000) / 2);
}
END_TEST

/* Deaths nested past the limit wait until the outermost one returns, as
 * in CPython's trashcan, and in its order: a death that waited runs one
 * level down (_PyTrash_thread_destroy_chain counts itself), so under it
 * the next wait comes one death sooner. A chain 0 -> ... -> 109 whose node
 * 98 also holds a leaf (1000) after its link: python3.12 (__slots__ = ('a',
 * 'b'), a __del__ that logs) finalizes 0..98, 1000, 99..109 (node 50
 * waits, and under it node 99); rcgc finalized the leaf last. */
typedef struct twig { struct twig *a, *b; int id; } twig;
static int twig_order[128], ntwigs;

static void twig_traverse(void *self, rc_visit_fn visit, void *arg) {
    twig *p = self;
    visit((void **)&p->a, arg);
    visit((void **)&p->b, arg);
}
static void twig_finalize(void *self) { twig_order[ntwigs++] = ((twig *)self)->id; }

START_TEST(deep_death_order) {
    static const rc_type twig_type = {"twig", sizeof(twig), twig_traverse, NULL, twig_finalize,
                                      NULL};
    rc_heap *h = rc_heap_new();
    twig *head = NULL;
    for (int i = 109; i >= 0; i--) {
        twig *p = rc_new(h, &twig_type);
        p->id = i;
        p->a = head; /* steals the reference */
        head = p;
        if (i == 98) {
            p->b = rc_new(h, &twig_type);
            p->b->id = 1000;
        }
    }
    ntwigs = 0;
    rc_decref(head);
    ck_assert_int_eq(ntwigs, 111);
    for (int i = 0; i < 111; i++)
        ck_assert_int_eq(twig_order[i], i < 99 ? i : i == 99 ? 1000 : i - 1);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Untracked objects whose deaths drop the next one through code the
 * library runs, not through clear: a weak reference's callback (its
 * argument is the next object, one reference), or a finalizer dropping a
 * reference the object keeps in its payload. Past the nesting limit these
 * deaths wait too, so a chain of a million dies in constant stack. */
static void drop_arg(rc_weakref *ref, void *arg) {
    (void)ref;
    rc_decref(arg);
}

static void drop_next(void *self) { RC_CLEAR(((node *)self)->next); }

static const rc_type untracked_plain_type = {"untracked plain", sizeof(node), NULL, NULL, NULL,
                                             NULL};
static const rc_type untracked_dropping_type = {"untracked dropping", sizeof(node), NULL, NULL,
                                                drop_next, count_release};

typedef struct linked_chain {
    rc_heap *h;
    size_t length;
    bool by_callback; /* else by finalizer */
    rc_weakref **refs;
} linked_chain;

static void *build_and_drop_linked(void *arg) {
    linked_chain *c = arg;
    const rc_type *t = c->by_callback ? &untracked_plain_type : &untracked_dropping_type;
    node *first = rc_new(c->h, t), *prev = first;
    for (size_t i = 1; i < c->length; i++) {
        node *next = rc_new(c->h, t);
        if (c->by_callback)
            ck_assert_ptr_nonnull(c->refs[i] = rc_weakref_new(prev, drop_arg, next));
        else
            prev->next = next; /* steals the reference */
        prev = next;
    }
    rc_decref(first);
    return NULL;
}

static void check_linked_chain(bool by_callback, size_t length) {
    reset();
    linked_chain c = {rc_heap_new(), length, by_callback, NULL};
    if (by_callback)
        ck_assert_ptr_nonnull(c.refs = calloc(length, sizeof *c.refs));
    run_on_small_stack(build_and_drop_linked, &c);
    ck_assert_uint_eq(stats_of(c.h).objects, by_callback ? length - 1 : 0); /* the refs */
    if (!by_callback)
        ck_assert_uint_eq((size_t)released, length);
    for (size_t i = 1; by_callback && i < length; i++) {
        ck_assert_uint_eq(rc_weakref_count(c.refs[i]), 0);
        rc_decref(c.refs[i]);
    }
    ck_assert_uint_eq(stats_of(c.h).objects, 0);
    ck_assert_uint_eq(c.h->untracked_holders, 0);
    ck_assert_uint_eq(rc_heap_free(c.h), 0);
    free(c.refs);
}

START_TEST(chain_untracked_through_callbacks) { check_linked_chain(true, scaled(1000000)); }
END_TEST

START_TEST(chain_untracked_through_finalizers) { check_linked_chain(false, scaled(1000000)); }
END_TEST

/* A fan: an untracked object holding n references, dropped by its clear. */
typedef struct fan {
    size_t n;
    node *child[];
} fan;
static void fan_clear(void *self) {
    fan *f = self;
    for (size_t i = 0; i < f->n; i++)
        RC_CLEAR(f->child[i]);
}
static const rc_type fan_type = {"fan", sizeof(fan), NULL, fan_clear, NULL, NULL};

/* Brooms: for each depth d around RC_DEALLOC_DEPTH, a chain of d untracked
 * nodes ending in a fan of `width` chains of `length` untracked nodes.
 * The fan that dies just short of the limit has every child's death wait
 * at once: more than the heap's own slots. */
#define BROOMS 7
typedef struct brooms {
    rc_heap *h;
    node *head[BROOMS];
} brooms;

static void build_brooms(brooms *b, size_t width, size_t length) {
    for (int j = 0; j < BROOMS; j++) {
        fan *f = rc_new_sized(b->h, &fan_type, sizeof(fan) + width * sizeof(node *));
        f->n = width;
        for (size_t i = 0; i < width; i++)
            for (size_t k = 0; k < length; k++) {
                node *n = rc_new(b->h, &untracked_clear_type);
                n->next = f->child[i];
                f->child[i] = n;
            }
        node *head = (node *)f;
        for (int k = 0; k < RC_DEALLOC_DEPTH - BROOMS / 2 + j; k++) {
            node *n = rc_new(b->h, &untracked_clear_type);
            n->next = head;
            head = n;
        }
        b->head[j] = head;
    }
}

static void *drop_brooms(void *arg) {
    brooms *b = arg;
    for (int j = 0; j < BROOMS; j++)
        rc_decref(b->head[j]);
    return NULL;
}

/* Many untracked deaths waiting at once: the stack grows, in constant C
 * stack. */
START_TEST(untracked_deaths_wait_in_numbers) {
    brooms b = {rc_heap_new(), {NULL}};
    build_brooms(&b, 200, scaled(20000));
    run_on_small_stack(drop_brooms, &b);
    ck_assert_uint_eq(stats_of(b.h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(b.h), 0);
}
END_TEST

/* A holder (an untracked object whose type has clear) takes its slot in
 * the stack of deaths that wait when it is made, so no death asks for
 * memory: everything dies in constant stack with the allocator refusing
 * all. Making a holder when that slot cannot be had fails with ENOMEM,
 * and the heap goes on. */
static counting_alloc refusing;
START_TEST(holder_slots_taken_when_made) {
    refusing = (counting_alloc){0};
    brooms b = {rc_heap_new_with(counting_fn, &refusing), {NULL}};
    build_brooms(&b, 200, scaled(20000));
    refusing.limit = 1; /* refuses every request from now on */
    errno = 1234;
    run_on_small_stack(drop_brooms, &b);
    ck_assert_int_eq(errno, 1234);
    ck_assert_uint_eq(refusing.refused, 0);
    ck_assert_uint_eq(stats_of(b.h).objects, 0);
    refusing.limit = 0;
    ck_assert_uint_eq(rc_heap_free(b.h), 0);
    ck_assert_uint_eq(refusing.outstanding, 0);

    rc_heap *h = rc_heap_new_with(counting_fn, &refusing);
    node *held[RC_UNTRACKED_FIRST + 1];
    for (int i = 0; i < RC_UNTRACKED_FIRST; i++) /* slots in the heap: nothing asked */
        ck_assert_ptr_nonnull(held[i] = rc_new(h, &untracked_clear_type));
    counting_fail_next(&refusing, 1);
    errno = 0;
    ck_assert_ptr_null(rc_new(h, &untracked_clear_type));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(stats_of(h).objects, RC_UNTRACKED_FIRST);
    ck_assert_ptr_nonnull(held[RC_UNTRACKED_FIRST] = rc_new(h, &untracked_clear_type));
    for (int i = 0; i <= RC_UNTRACKED_FIRST; i++)
        rc_decref(held[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(refusing.outstanding, 0);
}
END_TEST

/* An untracked plain object takes its slot in the stack of deaths that
 * wait when it gets its first weak reference (its death then runs
 * callbacks) and gives it back with the last: once the heap's own slots
 * are taken, a weak reference whose slot cannot be had fails with ENOMEM,
 * changing nothing, and succeeds when memory comes back. */
START_TEST(weak_slots_taken_when_referenced) {
    refusing = (counting_alloc){0};
    rc_heap *h = rc_heap_new_with(counting_fn, &refusing);
    enum { N = RC_UNTRACKED_FIRST + 1 };
    node *objs[N];
    rc_weakref *refs[N];
    for (int i = 0; i < N; i++)
        ck_assert_ptr_nonnull(objs[i] = rc_new(h, &untracked_plain_type));
    ck_assert_uint_eq(h->untracked_holders, 0);
    for (int i = 0; i < RC_UNTRACKED_FIRST; i++)
        ck_assert_ptr_nonnull(refs[i] = rc_weakref_new(objs[i], NULL, NULL));
    ck_assert_uint_eq(h->untracked_holders, RC_UNTRACKED_FIRST);
    ck_assert_uint_eq(h->untracked_stack_cap, RC_UNTRACKED_FIRST);
    ck_assert_ptr_eq(rc_weakref_new(objs[0], NULL, NULL), refs[0]); /* reused: no new slot */
    rc_decref(refs[0]);
    size_t n;
    for (n = 1;; n++) { /* fail each request in turn until none is needed */
        counting_fail_next(&refusing, n);
        errno = 0;
        refs[N - 1] = rc_weakref_new(objs[N - 1], drop_arg, NULL);
        if (refs[N - 1] != NULL)
            break;
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(rc_weakref_count(objs[N - 1]), 0);
        ck_assert_uint_eq(h->untracked_holders, RC_UNTRACKED_FIRST);
    }
    refusing.fail_at = 0;
    ck_assert_uint_gt(n, 1); /* the slot needed memory */
    ck_assert_uint_eq(h->untracked_holders, N);
    ck_assert_uint_eq(h->untracked_stack_cap, 2 * RC_UNTRACKED_FIRST);
    rc_decref(refs[N - 1]); /* the last weak reference gives the slot back */
    ck_assert_uint_eq(h->untracked_holders, RC_UNTRACKED_FIRST);
    for (int i = 0; i < N; i++)
        rc_decref(objs[i]); /* refs[0..FIRST) are cleared, their slots given back */
    ck_assert_uint_eq(h->untracked_holders, 0);
    for (int i = 0; i < RC_UNTRACKED_FIRST; i++)
        rc_decref(refs[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(refusing.outstanding, 0);
}
END_TEST

/* Untracked plain objects whose deaths wait (their weak references'
 * callbacks would nest too deeply) keep their slots in the stack of deaths
 * that wait even when their last weak reference goes meanwhile: a fan dying
 * at the depth limit drops RC_UNTRACKED_FIRST such objects (they wait), a
 * finalizer, then their weak references (these wait too, and die first:
 * the newest waits on top). The finalizer finds every waiting death's slot
 * still counted, then makes more such objects and has their deaths wait
 * too, which ran past the stack's end when the slots of the weak
 * references gone had been given back early. */
#define WAITERS RC_UNTRACKED_FIRST
typedef struct wide {
    void *slot[2 * WAITERS + 1];
} wide;
static void wide_traverse(void *self, rc_visit_fn visit, void *arg) {
    wide *w = self;
    for (size_t i = 0; i < sizeof w->slot / sizeof *w->slot; i++)
        visit(&w->slot[i], arg);
}
static const rc_type wide_type = {"wide", sizeof(wide), wide_traverse, NULL, NULL, NULL};

/* A chain of tracked nodes ending in last: dropping its head at the death
 * depth `depth` (0 outside any death) has last die at the depth where its
 * own drops wait. */
static node *chain_to(rc_heap *h, int depth, void *last) {
    node *head = rc_new(h, &node_type), *cur = head;
    for (int i = depth + 2; i < RC_DEALLOC_DEPTH; i++)
        cur = cur->next = rc_new(h, &node_type);
    cur->next = last;
    return head;
}

static rc_heap *waiting_heap;
static size_t waiting_seen, holders_seen;
static rc_weakref *late_refs[WAITERS + 1];
static void make_more_waiters(void *self) {
    (void)self;
    rc_heap *h = waiting_heap;
    waiting_seen = h->deferred_untracked;
    holders_seen = h->untracked_holders;
    wide *w = rc_new(h, &wide_type);
    for (int i = 0; i <= WAITERS; i++) {
        w->slot[i] = rc_new(h, &untracked_plain_type);
        ck_assert_ptr_nonnull(late_refs[i] = rc_weakref_new(w->slot[i], NULL, NULL));
    }
    rc_decref(chain_to(h, 1, w)); /* the finalizer runs in the outermost death */
}
static const rc_type waiter_maker_type = {"waiter maker", sizeof(node), node_traverse, NULL,
                                          make_more_waiters, NULL};

static rc_weakref *made_again;
static void ref_again(rc_weakref *ref, void *arg) {
    (void)ref;
    made_again = rc_weakref_new(arg, NULL, NULL);
}

START_TEST(weak_slots_kept_while_deaths_wait) {
    rc_heap *h = waiting_heap = rc_heap_new();
    rc_gc_disable(h);
    wide *w = rc_new(h, &wide_type);
    for (int i = 0; i < WAITERS; i++)
        w->slot[i] = rc_new(h, &untracked_plain_type);
    w->slot[WAITERS] = rc_new(h, &waiter_maker_type);
    for (int i = 0; i < WAITERS; i++)
        ck_assert_ptr_nonnull(w->slot[WAITERS + 1 + i] = rc_weakref_new(w->slot[i], NULL, NULL));
    ck_assert_uint_eq(h->untracked_holders, WAITERS);
    rc_decref(chain_to(h, 0, w));
    ck_assert_uint_eq(waiting_seen, WAITERS); /* the finalizer ran with all of them waiting */
    ck_assert_uint_ge(holders_seen, waiting_seen);
    ck_assert_uint_eq(h->deferred_untracked, 0);
    ck_assert_uint_eq(h->untracked_holders, 0); /* every slot given back */
    ck_assert_uint_eq(stats_of(h).objects, WAITERS + 1); /* the late weak references */
    for (int i = 0; i <= WAITERS; i++) {
        ck_assert_ptr_null(rc_weakref_get(late_refs[i]));
        rc_decref(late_refs[i]);
    }
    ck_assert_uint_eq(stats_of(h).objects, 0);
    /* A weak reference a callback makes to the object dying (not waiting)
     * is cleared as it dies: its slot goes back then, not kept. */
    node *o = rc_new(h, &untracked_plain_type);
    rc_weakref *r = rc_weakref_new(o, ref_again, o);
    ck_assert_uint_eq(h->untracked_holders, 1);
    rc_decref(o);
    ck_assert_ptr_nonnull(made_again);
    ck_assert_ptr_null(rc_weakref_get(made_again));
    ck_assert_uint_eq(h->untracked_holders, 0);
    rc_decref(made_again);
    rc_decref(r);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A node deep in a dying chain resurrects itself: the nodes before it die,
 * it lives on with everything after it, tracked; then the rest dies. */
static node *phoenix_at;
static void deep_finalize(void *self) {
    finalized++;
    if (self == phoenix_at)
        resurrected = rc_incref(self);
}
static const rc_type deep_type = {"deep", sizeof(node), node_traverse, NULL, deep_finalize,
                                  count_release};

START_TEST(chain_resurrection_deep) {
    reset();
    rc_heap *h = rc_heap_new();
    enum { N = 1000, AT = 500 };
    node *head = NULL;
    for (int i = N - 1; i >= 0; i--) {
        node *n = rc_new(h, &deep_type);
        n->next = head;
        n->value = i;
        head = n;
        if (i == AT)
            phoenix_at = n;
    }
    rc_decref(head);
    ck_assert_ptr_eq(resurrected, phoenix_at);
    ck_assert_int_eq(finalized, AT + 1);
    ck_assert_int_eq(released, AT);
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_eq(s.objects, N - AT);
    ck_assert_uint_eq(s.tracked, N - AT);
    ck_assert_uint_ne(rc_gc_of(resurrected)->next, 0);
    long i = AT;
    for (node *n = resurrected; n; n = n->next)
        ck_assert_int_eq(n->value, i++);
    ck_assert_int_eq(i, N);
    rc_decref(resurrected);
    ck_assert_int_eq(finalized, N);
    ck_assert_int_eq(released, N);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ------------------------------------------------------------- saturation */

/* The 32-bit count never wraps: at its maximum it stays there, and the
 * object is immortal (released only with its heap). */
START_TEST(count_saturates) {
    reset();
    rc_heap *h = rc_heap_new();
    node *o = rc_new(h, &counted_type);
    rc_head_of(o)->refcnt = RC_IMMORTAL - 2;
    rc_incref(o);
    ck_assert_uint_eq(rc_refcount(o), (size_t)UINT32_MAX - 1);
    ck_assert_ptr_eq(rc_incref(o), o);
    ck_assert_uint_eq(rc_refcount(o), (size_t)UINT32_MAX);
    rc_incref(o);
    ck_assert_uint_eq(rc_refcount(o), (size_t)UINT32_MAX);
    for (int i = 0; i < 1000; i++)
        rc_decref(o);
    ck_assert_uint_eq(rc_refcount(o), (size_t)UINT32_MAX);
    ck_assert_int_eq(finalized, 0);
    ck_assert_int_eq(released, 0);
    ck_assert_uint_eq(stats_of(h).objects, 1);
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(finalized, 1);
    ck_assert_int_eq(released, 1);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("object");
    add_case(s, tcase_create("new_einval"), new_einval);
    add_case(s, tcase_create("deep_death_order"), deep_death_order);
    add_case(s, tcase_create("new_zeroed"), new_zeroed);
    add_case(s, tcase_create("null_object_queries"), null_object_queries);
    add_case(s, tcase_create("refcount_walk"), refcount_walk);
    add_case(s, tcase_create("clear_macro"), clear_macro);
    add_case(s, tcase_create("allocating_macros_take_compound_literals"),
             allocating_macros_take_compound_literals);
    add_case(s, tcase_create("set_macro"), set_macro);
    add_case(s, tcase_create("auto_scope"), auto_scope);
    add_case(s, tcase_create("steal_from_scope"), steal_from_scope);
    add_case(s, tcase_create("set_from_steal"), set_from_steal);
    add_case(s, tcase_create("type_and_heap_of"), type_and_heap_of);
    add_case(s, tcase_create("order_with_clear"), order_with_clear);
    add_case(s, tcase_create("order_with_traverse"), order_with_traverse);
    add_case(s, tcase_create("order_untracked_with_clear"), order_untracked_with_clear);
    add_case(s, tcase_create("plain_and_other_deaths"), plain_and_other_deaths);
    add_case(s, tcase_create("type_address_reused_after_collection"),
             type_address_reused_after_collection);
    add_case(s, tcase_create("finalizer_once"), finalizer_once);
    add_case(s, tcase_create("resurrection_tracked"), resurrection_tracked);
    add_case(s, tcase_create("resurrection_untracked"), resurrection_untracked);
    add_case(s, tcase_create("chain_ten_million"), chain_ten_million);
    add_case(s, tcase_create("chain_with_clear_and_finalizers"), chain_with_clear_and_finalizers);
    add_case(s, tcase_create("chain_of_large_objects"), chain_of_large_objects);
    add_case(s, tcase_create("chain_untracked_with_clear"), chain_untracked_with_clear);
    add_case(s, tcase_create("chain_untracked_through_callbacks"),
             chain_untracked_through_callbacks);
    add_case(s, tcase_create("chain_untracked_through_finalizers"),
             chain_untracked_through_finalizers);
    add_case(s, tcase_create("weak_slots_taken_when_referenced"),
             weak_slots_taken_when_referenced);
    add_case(s, tcase_create("untracked_deaths_wait_in_numbers"), untracked_deaths_wait_in_numbers);
    add_case(s, tcase_create("weak_slots_kept_while_deaths_wait"), weak_slots_kept_while_deaths_wait);
    add_case(s, tcase_create("holder_slots_taken_when_made"), holder_slots_taken_when_made);
    add_case(s, tcase_create("chain_resurrection_deep"), chain_resurrection_deep);
    add_case(s, tcase_create("count_saturates"), count_saturates);
    return s;
}
