/*
 * test_allocfail.c — allocation failure. For each allocating call, a heap
 * whose alloc function refuses its Nth request, for every N from 1 until the
 * call succeeds: the call returns NULL + ENOMEM, the heap stays fully usable
 * (the same call then succeeds, everything else works), its figures are as
 * before, and at rc_heap_free every byte obtained has been returned.
 * While tracing, the same holds when it is the trace that cannot be stored
 * (as CPython's tracemalloc gives the block back), and a call that succeeds
 * is traced.
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

typedef struct node { struct node *next; } node;
static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((node *)self)->next, arg);
}
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, NULL};
static const rc_type leaf_type = {"leaf", 24, NULL, NULL, NULL, NULL};
/* medium objects: pool blocks past RC_SMALL_MAX */
static const rc_type medium_node_type = {"mnode", 3000, node_traverse, NULL, NULL, NULL};
static const rc_type medium_leaf_type = {"mleaf", 700, NULL, NULL, NULL, NULL};
/* Types never used before the call under test (registration may fail). */
static rc_type fresh_types[40];

/* -------------------------------------------------------------- scenarios */

/* What a scenario's setup leaves for its call: objects and raw blocks that
 * fill the heap (dropped at the end), and the block rc_realloc works on. */
typedef struct state {
    void **objs, **raws;
    size_t nobjs, nraws, cap, missing;
    char *block;
    size_t block_size, new_size;
} state;

/* Keeps p for the end; a NULL p is counted in missing (checked once: every
 * passing ck_assert costs a message to Check's parent). */
static void keep(state *st, void *p, bool object) {
    if (st->nobjs + st->nraws == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 256;
        st->objs = realloc(st->objs, st->cap * sizeof *st->objs);
        st->raws = realloc(st->raws, st->cap * sizeof *st->raws);
        ck_assert(st->objs && st->raws);
    }
    if (p == NULL)
        st->missing++;
    else if (object)
        st->objs[st->nobjs++] = p;
    else
        st->raws[st->nraws++] = p;
}

static void drop_all(rc_heap *h, state *st) {
    for (size_t i = 0; i < st->nobjs; i++)
        rc_decref(st->objs[i]);
    for (size_t i = 0; i < st->nraws; i++)
        rc_free(h, st->raws[i]);
    free(st->objs);
    free(st->raws);
}

/* Whether the class list headed by head can give a block without a new
 * pool: only the head can be full (test_alloc's class_lists). */
static bool class_has_room(const rc_pool *head) {
    return head->parked || head->free || head->fresh < head->end || head->next;
}

/* Fills every pool of every arena, and the pool of type t's class, so that
 * the next object of type t (or raw block of raw_size) needs a new arena. */
static void fill_arenas(rc_heap *h, state *st, const rc_type *t, size_t raw_size) {
    void *first = t ? rc_new(h, t) : rc_malloc(h, raw_size);
    keep(st, first, t != NULL);
    rc_pool *own = rc_pool_of(first);
    rc_pool **list = rc_class_list(h, own->kind, own->cls, false);
    while (class_has_room(*list))
        keep(st, t ? rc_new(h, t) : rc_malloc(h, raw_size), t != NULL);
    while (h->usable_arenas != NULL)
        keep(st, rc_malloc(h, RC_SMALL_MAX), false);
    ck_assert(!class_has_room(*list));
    ck_assert_ptr_null(h->empty_arena);
}

/* A scenario: setup prepares the heap; call is the allocating call under
 * test (NULL on failure); finish drops what a successful call made. */
typedef struct scenario {
    void (*setup)(rc_heap *h, state *st);
    void *(*call)(rc_heap *h, state *st);
    void (*finish)(rc_heap *h, state *st, void *result);
} scenario;

static void no_setup(rc_heap *h, state *st) { (void)h; (void)st; }
static void drop_object(rc_heap *h, state *st, void *r) { (void)h; (void)st; rc_decref(r); }
static void free_block(rc_heap *h, state *st, void *r) { (void)st; rc_free(h, r); }

/* The heap works: objects and blocks of every kind come and go, and its
 * figures come back to where they were. */
static void check_usable(rc_heap *h) {
    rc_heap_stats before = stats_of(h);
    void *objs[] = {rc_new(h, &leaf_type), rc_new(h, &node_type),
                    rc_new_sized(h, &node_type, 4000), rc_new_sized(h, &leaf_type, 700)};
    char *small = rc_malloc(h, 200), *large = rc_calloc(h, 100, 50);
    for (size_t i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(objs[i]);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(large);
    memset(small, 1, 200);
    small = rc_realloc(h, small, 3000);
    ck_assert_ptr_nonnull(small);
    ck_assert_int_eq(small[199], 1);
    ck_assert_uint_eq(stats_of(h).objects, before.objects + 4);
    for (size_t i = 0; i < 4; i++)
        rc_decref(objs[i]);
    rc_free(h, small);
    rc_free(h, large);
    rc_heap_stats after = stats_of(h);
    ck_assert_uint_eq(after.objects, before.objects);
    ck_assert_uint_eq(after.tracked, before.tracked);
    ck_assert_uint_eq(after.bytes_in_use, before.bytes_in_use);
}

/* The driver: for N = 1, 2, ... a fresh heap, the scenario's setup, the
 * call with the alloc function refusing its Nth request from then on; until
 * the call needs fewer than N requests and succeeds. */
static void check_every_failure(const scenario *sc) {
    size_t n;
    for (n = 1;; n++) {
        ck_assert_msg(n < 100, "the call never succeeded");
        counting_alloc c = {0};
        rc_heap *h = rc_heap_new_with(counting_fn, &c);
        ck_assert_ptr_nonnull(h);
        state st = {0};
        sc->setup(h, &st);
        ck_assert_uint_eq(st.missing, 0);
        rc_heap_stats before = stats_of(h);
        size_t traced_before, traced_after;
        rc_tracemalloc_get_traced_memory(h, &traced_before, NULL);
        counting_fail_next(&c, n);
        errno = 0;
        void *r = sc->call(h, &st);
        size_t asked = counting_since_armed(&c, n);
        c.fail_at = 0;
        if (r != NULL) {
            ck_assert_msg(asked < n && c.refused == 0,
                          "succeeded although request %zu of %zu was refused", n, asked);
        } else {
            ck_assert_msg(errno == ENOMEM, "N=%zu: errno %d", n, errno);
            ck_assert_uint_eq(c.refused, 1);
            rc_heap_stats after = stats_of(h);
            ck_assert_uint_eq(after.objects, before.objects);
            ck_assert_uint_eq(after.tracked, before.tracked);
            ck_assert_uint_eq(after.bytes_in_use, before.bytes_in_use);
            ck_assert_uint_eq(after.bytes_reserved, c.outstanding);
            rc_tracemalloc_get_traced_memory(h, &traced_after, NULL);
            ck_assert_uint_eq(traced_after, traced_before);
            r = sc->call(h, &st); /* the same call, now with memory */
            ck_assert_ptr_nonnull(r);
        }
        if (rc_tracemalloc_is_tracing(h))
            ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, r));
        ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
        check_usable(h);
        sc->finish(h, &st, r);
        drop_all(h, &st);
        ck_assert_uint_eq(rc_heap_free(h), 0);
        ck_assert_uint_eq(c.outstanding, 0);
        ck_assert_uint_eq(c.blocks, 0);
        ck_assert_uint_eq(c.bad_old_size, 0);
        if (c.refused == 0)
            break;
    }
    ck_assert_msg(n > 1, "the call made no request for memory: nothing was tested");
}

/* ------------------------------------------------------------------ heaps */

START_TEST(fail_heap_new) {
    size_t n;
    for (n = 1;; n++) {
        counting_alloc c = {.fail_at = n};
        errno = 0;
        rc_heap *h = rc_heap_new_with(counting_fn, &c);
        c.fail_at = 0;
        ck_assert_uint_eq(c.bad_old_size, 0);
        if (h != NULL) {
            ck_assert_uint_eq(c.refused, 0);
            check_usable(h);
            ck_assert_uint_eq(rc_heap_free(h), 0);
            ck_assert_uint_eq(c.outstanding, 0);
            break;
        }
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(c.outstanding, 0);
        ck_assert_uint_eq(c.blocks, 0);
    }
    ck_assert_uint_gt(n, 1);
}
END_TEST

/* ---------------------------------------------------------------- objects */

static void *new_node(rc_heap *h, state *st) { (void)st; return rc_new(h, &node_type); }
static void *new_sized_leaf(rc_heap *h, state *st) {
    (void)st;
    return rc_new_sized(h, &leaf_type, leaf_type.size);
}
static void *new_large(rc_heap *h, state *st) { (void)st; return rc_new_sized(h, &node_type, 5000); }

/* The very first object of a heap: type registration, arena, pool maps. */
START_TEST(fail_first_object) {
    check_every_failure(&(scenario){no_setup, new_node, drop_object});
}
END_TEST

static void full_for_node(rc_heap *h, state *st) { fill_arenas(h, st, &node_type, 0); }
static void full_for_leaf(rc_heap *h, state *st) { fill_arenas(h, st, &leaf_type, 0); }
static void *new_medium_node(rc_heap *h, state *st) { (void)st; return rc_new(h, &medium_node_type); }
static void *new_medium_leaf(rc_heap *h, state *st) {
    (void)st;
    return rc_new_sized(h, &medium_leaf_type, 700);
}
static void full_for_medium_node(rc_heap *h, state *st) { fill_arenas(h, st, &medium_node_type, 0); }
static void full_for_medium_leaf(rc_heap *h, state *st) { fill_arenas(h, st, &medium_leaf_type, 0); }

/* A tracked object (rc_new) and an untracked one (rc_new_sized) that need a
 * new arena. */
START_TEST(fail_new_tracked_new_arena) {
    check_every_failure(&(scenario){full_for_node, new_node, drop_object});
}
END_TEST

START_TEST(fail_new_untracked_new_arena) {
    check_every_failure(&(scenario){full_for_leaf, new_sized_leaf, drop_object});
}
END_TEST

/* A medium object (a pool block past RC_SMALL_MAX), tracked or not: the
 * heap's first, and one that needs a new arena. */
START_TEST(fail_new_medium_first) {
    check_every_failure(&(scenario){no_setup, new_medium_node, drop_object});
}
END_TEST

START_TEST(fail_new_medium_tracked_new_arena) {
    check_every_failure(&(scenario){full_for_medium_node, new_medium_node, drop_object});
}
END_TEST

START_TEST(fail_new_medium_untracked_new_arena) {
    check_every_failure(&(scenario){full_for_medium_leaf, new_medium_leaf, drop_object});
}
END_TEST

/* A large object: on a heap without large blocks (the map is made), and
 * with the map in place (only the block). */
START_TEST(fail_new_large_first) {
    check_every_failure(&(scenario){full_for_node, new_large, drop_object});
}
END_TEST

static void with_large(rc_heap *h, state *st) {
    keep(st, rc_new_sized(h, &node_type, 5000), true);
}

START_TEST(fail_new_large) {
    check_every_failure(&(scenario){with_large, new_large, drop_object});
}
END_TEST

/* A large object that died is held back (so that a second rc_decref is
 * named), but not from the allocator: with a budget that has room for one
 * such object, a new one is made after the first died (that failed with
 * ENOMEM, no object alive), and rc_malloc gets the room too. */
typedef struct budget { size_t used, limit; } budget;
static void *budget_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    budget *b = ud;
    if (new_size == 0) {
        free(ptr);
        b->used -= old_size;
        return NULL;
    }
    if (b->used - old_size + new_size > b->limit)
        return NULL;
    void *p = realloc(ptr, new_size);
    if (p)
        b->used += new_size - old_size;
    return p;
}
START_TEST(dead_large_objects_leave_room) {
    static const rc_type big = {"big", 600000, NULL, NULL, NULL, NULL};
    budget b = {0, 1000000};
    rc_heap *h = rc_heap_new_with(budget_alloc, &b);
    ck_assert_ptr_nonnull(h);
    for (int i = 0; i < 3; i++) {
        void *o = rc_new(h, &big);
        ck_assert_ptr_nonnull(o);
        rc_decref(o);
    }
    void *raw = rc_malloc(h, 600000);
    ck_assert_ptr_nonnull(raw);
    rc_free(h, raw);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(b.used, 0);
}
END_TEST

/* A type's first use on a heap that has others: the registration grows the
 * type table (16 registered before) or the type map (8 before). */
static void *new_fresh_type(rc_heap *h, state *st) {
    (void)st;
    return rc_new(h, &fresh_types[h->ntypes]);
}
static void register_types(rc_heap *h, state *st, size_t k) {
    for (size_t i = 0; i < k; i++)
        keep(st, rc_new(h, &fresh_types[i]), true);
    ck_assert_uint_eq(h->ntypes, k);
}
static void registered_16(rc_heap *h, state *st) { register_types(h, st, 16); }
static void registered_8(rc_heap *h, state *st) { register_types(h, st, 8); }

START_TEST(fail_type_table_grows) {
    check_every_failure(&(scenario){registered_16, new_fresh_type, drop_object});
}
END_TEST

START_TEST(fail_type_map_grows) {
    check_every_failure(&(scenario){registered_8, new_fresh_type, drop_object});
}
END_TEST

/* ------------------------------------------------------------- raw memory */

static void *malloc_small(rc_heap *h, state *st) { (void)st; return rc_malloc(h, 100); }
static void *malloc_large(rc_heap *h, state *st) { (void)st; return rc_malloc(h, 100000); }
static void *calloc_small(rc_heap *h, state *st) { (void)st; return rc_calloc(h, 10, 10); }
static void *calloc_large(rc_heap *h, state *st) { (void)st; return rc_calloc(h, 1000, 100); }
static void full_for_raw(rc_heap *h, state *st) { fill_arenas(h, st, NULL, 100); }
/* medium blocks (past RC_SMALL_MAX, pool blocks up to RC_MEDIUM_MAX) */
static void *malloc_medium(rc_heap *h, state *st) { (void)st; return rc_malloc(h, 3000); }
static void *calloc_medium(rc_heap *h, state *st) { (void)st; return rc_calloc(h, 30, 100); }
static void full_for_medium(rc_heap *h, state *st) { fill_arenas(h, st, NULL, 3000); }

START_TEST(fail_malloc_small_first) {
    check_every_failure(&(scenario){no_setup, malloc_small, free_block});
}
END_TEST

START_TEST(fail_malloc_small_new_arena) {
    check_every_failure(&(scenario){full_for_raw, malloc_small, free_block});
}
END_TEST

START_TEST(fail_malloc_medium_first) {
    check_every_failure(&(scenario){no_setup, malloc_medium, free_block});
}
END_TEST

START_TEST(fail_malloc_medium_new_arena) {
    check_every_failure(&(scenario){full_for_medium, malloc_medium, free_block});
}
END_TEST

START_TEST(fail_calloc_medium) {
    check_every_failure(&(scenario){full_for_medium, calloc_medium, free_block});
}
END_TEST

START_TEST(fail_malloc_large) {
    check_every_failure(&(scenario){no_setup, malloc_large, free_block});
}
END_TEST

START_TEST(fail_calloc_small) {
    check_every_failure(&(scenario){full_for_raw, calloc_small, free_block});
}
END_TEST

START_TEST(fail_calloc_large) {
    check_every_failure(&(scenario){no_setup, calloc_large, free_block});
}
END_TEST

/* rc_realloc: on failure the block is untouched (contents and ownership);
 * on success the contents moved. st->block is the block being resized. */
static unsigned char byte_at(size_t i) { return (unsigned char)(i * 13 + 5); }

static void *realloc_block(rc_heap *h, state *st) {
    char *p = rc_realloc(h, st->block, st->new_size);
    size_t kept = st->block_size < st->new_size ? st->block_size : st->new_size;
    char *now = p ? p : st->block;
    for (size_t i = 0; i < kept; i++)
        ck_assert_msg((unsigned char)now[i] == byte_at(i), "byte %zu lost", i);
    if (p) {
        st->block = p;
        st->block_size = st->new_size;
    }
    return p;
}

static void make_block(rc_heap *h, state *st, size_t size, size_t new_size) {
    st->block = rc_malloc(h, size);
    ck_assert_ptr_nonnull(st->block);
    for (size_t i = 0; i < size; i++)
        st->block[i] = (char)byte_at(i);
    st->block_size = size;
    st->new_size = new_size;
}

static void small_to_new_arena(rc_heap *h, state *st) {
    full_for_raw(h, st);
    make_block(h, st, 40, 100);
    fill_arenas(h, st, NULL, 100); /* 40 may have opened a pool: fill again */
}
static void small_to_large(rc_heap *h, state *st) { make_block(h, st, 300, 50000); }
static void small_to_medium(rc_heap *h, state *st) {
    make_block(h, st, 300, 3000);
    full_for_medium(h, st); /* the medium block needs a new arena */
}
static void medium_to_large(rc_heap *h, state *st) { make_block(h, st, 3000, 50000); }
static void large_to_larger(rc_heap *h, state *st) { make_block(h, st, 5000, 500000); }
static void large_to_small(rc_heap *h, state *st) { make_block(h, st, 5000, 64); }
static void finish_block(rc_heap *h, state *st, void *r) {
    (void)r;
    rc_free(h, st->block);
}

START_TEST(fail_realloc_small_new_arena) {
    check_every_failure(&(scenario){small_to_new_arena, realloc_block, finish_block});
}
END_TEST

START_TEST(fail_realloc_small_to_large) {
    check_every_failure(&(scenario){small_to_large, realloc_block, finish_block});
}
END_TEST

START_TEST(fail_realloc_small_to_medium) {
    check_every_failure(&(scenario){small_to_medium, realloc_block, finish_block});
}
END_TEST

START_TEST(fail_realloc_medium_to_large) {
    check_every_failure(&(scenario){medium_to_large, realloc_block, finish_block});
}
END_TEST

START_TEST(fail_realloc_large_to_larger) {
    check_every_failure(&(scenario){large_to_larger, realloc_block, finish_block});
}
END_TEST

START_TEST(fail_realloc_large_to_small) {
    check_every_failure(&(scenario){large_to_small, realloc_block, finish_block});
}
END_TEST

/* ---------------------------------------------------------------- tracing */

/* The first traced allocation of each kind makes the tracer's tables: a
 * trace table (objects, large blocks) or only the traceback store (small
 * blocks, whose trace is their prefix). */
static void tracing(rc_heap *h, state *st) {
    (void)st;
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
}

START_TEST(fail_traced_object) {
    check_every_failure(&(scenario){tracing, new_node, drop_object});
}
END_TEST

START_TEST(fail_traced_medium_object) {
    check_every_failure(&(scenario){tracing, new_medium_node, drop_object});
}
END_TEST

START_TEST(fail_traced_large_object) {
    check_every_failure(&(scenario){tracing, new_large, drop_object});
}
END_TEST

START_TEST(fail_traced_malloc_small) {
    check_every_failure(&(scenario){tracing, malloc_small, free_block});
}
END_TEST

START_TEST(fail_traced_malloc_medium) {
    check_every_failure(&(scenario){tracing, malloc_medium, free_block});
}
END_TEST

START_TEST(fail_traced_calloc_large) {
    check_every_failure(&(scenario){tracing, calloc_large, free_block});
}
END_TEST

/* With RCGC_DEBUG=1 the first free makes the quarantine ring; when that
 * allocation fails the block is freed at once, and nothing is lost. */
START_TEST(fail_quarantine_ring) {
    setenv("RCGC_DEBUG", "1", 1);
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    ck_assert(h->debug);
    char *a = rc_malloc(h, 64), *b = rc_malloc(h, 64);
    counting_fail_next(&c, 1);
    rc_free(h, a);
    ck_assert_uint_eq(c.refused, 1);
    ck_assert_ptr_null(h->quarantine);
    ck_assert_uint_eq(stats_of(h).bytes_in_use, 64);
    rc_free(h, b); /* now the ring is made and b held */
    ck_assert_ptr_nonnull(h->quarantine);
    ck_assert_uint_eq(h->q_len, 1);
    check_usable(h);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
}
END_TEST

/* With RCGC_DEBUG=1 freed memory is held in the quarantine, but not from
 * the allocator: with a budget that has room for one large block, a second
 * is made after the first was freed, and with the budget full of small
 * blocks, one more is made after a few were freed (the quarantine gives
 * its blocks back when a pool cannot be made). */
START_TEST(quarantine_leaves_room) {
    setenv("RCGC_DEBUG", "1", 1);
    budget b = {0, 6u << 20};
    rc_heap *h = rc_heap_new_with(budget_alloc, &b);
    ck_assert(h->debug);
    for (int i = 0; i < 3; i++) {
        char *big = rc_malloc(h, 4u << 20);
        ck_assert_ptr_nonnull(big);
        rc_free(h, big);
    }
    ck_assert_uint_eq(h->q_len, 1);
    enum { most = 200000 };
    static char *small[most];
    size_t n = 0;
    while (n < most && (small[n] = rc_malloc(h, 64)) != NULL)
        n++;
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_gt(n, 1000);
    ck_assert_uint_lt(n, most);
    for (size_t i = 0; i < 10; i++)
        rc_free(h, small[--n]);
    ck_assert_uint_eq(h->q_len, 10);
    small[n] = rc_malloc(h, 64);
    ck_assert_ptr_nonnull(small[n]);
    ck_assert_uint_eq(h->q_len, 0);
    n++;
    while (n)
        rc_free(h, small[--n]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(b.used, 0);
}
END_TEST

Suite *test_suite(void) {
    for (size_t i = 0; i < sizeof fresh_types / sizeof *fresh_types; i++)
        fresh_types[i] = (rc_type){"fresh", 16 + 8 * (i % 4), i % 2 ? node_traverse : NULL,
                                   NULL, NULL, NULL};
    Suite *s = suite_create("allocfail");
    add_case(s, tcase_create("fail_heap_new"), fail_heap_new);
    add_case(s, tcase_create("fail_first_object"), fail_first_object);
    add_case(s, tcase_create("fail_new_tracked_new_arena"), fail_new_tracked_new_arena);
    add_case(s, tcase_create("fail_new_untracked_new_arena"), fail_new_untracked_new_arena);
    add_case(s, tcase_create("fail_new_large_first"), fail_new_large_first);
    add_case(s, tcase_create("fail_new_large"), fail_new_large);
    add_case(s, tcase_create("dead_large_objects_leave_room"), dead_large_objects_leave_room);
    add_case(s, tcase_create("quarantine_leaves_room"), quarantine_leaves_room);
    add_case(s, tcase_create("fail_type_table_grows"), fail_type_table_grows);
    add_case(s, tcase_create("fail_type_map_grows"), fail_type_map_grows);
    add_case(s, tcase_create("fail_malloc_small_first"), fail_malloc_small_first);
    add_case(s, tcase_create("fail_malloc_small_new_arena"), fail_malloc_small_new_arena);
    add_case(s, tcase_create("fail_new_medium_first"), fail_new_medium_first);
    add_case(s, tcase_create("fail_new_medium_tracked_new_arena"), fail_new_medium_tracked_new_arena);
    add_case(s, tcase_create("fail_new_medium_untracked_new_arena"),
             fail_new_medium_untracked_new_arena);
    add_case(s, tcase_create("fail_traced_medium_object"), fail_traced_medium_object);
    add_case(s, tcase_create("fail_malloc_medium_first"), fail_malloc_medium_first);
    add_case(s, tcase_create("fail_malloc_medium_new_arena"), fail_malloc_medium_new_arena);
    add_case(s, tcase_create("fail_calloc_medium"), fail_calloc_medium);
    add_case(s, tcase_create("fail_malloc_large"), fail_malloc_large);
    add_case(s, tcase_create("fail_calloc_small"), fail_calloc_small);
    add_case(s, tcase_create("fail_calloc_large"), fail_calloc_large);
    add_case(s, tcase_create("fail_realloc_small_new_arena"), fail_realloc_small_new_arena);
    add_case(s, tcase_create("fail_realloc_small_to_large"), fail_realloc_small_to_large);
    add_case(s, tcase_create("fail_realloc_small_to_medium"), fail_realloc_small_to_medium);
    add_case(s, tcase_create("fail_realloc_medium_to_large"), fail_realloc_medium_to_large);
    add_case(s, tcase_create("fail_realloc_large_to_larger"), fail_realloc_large_to_larger);
    add_case(s, tcase_create("fail_realloc_large_to_small"), fail_realloc_large_to_small);
    add_case(s, tcase_create("fail_traced_object"), fail_traced_object);
    add_case(s, tcase_create("fail_traced_large_object"), fail_traced_large_object);
    add_case(s, tcase_create("fail_traced_malloc_small"), fail_traced_malloc_small);
    add_case(s, tcase_create("fail_traced_malloc_medium"), fail_traced_malloc_medium);
    add_case(s, tcase_create("fail_traced_calloc_large"), fail_traced_calloc_large);
    add_case(s, tcase_create("fail_quarantine_ring"), fail_quarantine_ring);
    return s;
}
