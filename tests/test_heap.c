/*
 * test_heap.c — heaps: creation, the alloc function as the only source of
 * memory, rc_heap_free's leak count and what it runs, and the figures of
 * rc_heap_get_stats.
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* ------------------------------------------------------------- fixtures */

/* Counts of what the types below ran, reset by each test. */
static int finalized, released;

typedef struct leaf { long value; } leaf;
typedef struct holder { void *child; leaf *keep; } holder;

static void count_finalize(void *self) { (void)self; finalized++; }
static void count_release(void *self) { (void)self; released++; }

static void holder_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit(&((holder *)self)->child, arg);
    visit((void **)&((holder *)self)->keep, arg);
}

static const rc_type leaf_type = {"leaf", sizeof(leaf), NULL, NULL, count_finalize, count_release};
static const rc_type holder_type = {"holder", sizeof(holder), holder_traverse, NULL,
                                    count_finalize, count_release};
static const rc_type bare_type = {"bare", 16, NULL, NULL, NULL, NULL};

static void reset_counts(void) { finalized = released = 0; }

/* --------------------------------------------------------------- creation */

START_TEST(new_is_empty) {
    rc_heap *h = rc_heap_new();
    ck_assert_ptr_nonnull(h);
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_eq(s.objects, 0);
    ck_assert_uint_eq(s.tracked, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    /* A new heap holds its own struct and nothing else. */
    ck_assert_uint_eq(s.bytes_reserved, sizeof(rc_heap));
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(rc_heap_free(NULL), 0);
}
END_TEST

START_TEST(new_with_null_alloc) {
    errno = 0;
    ck_assert_ptr_null(rc_heap_new_with(NULL, NULL));
    ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* Every byte the heap holds came from its alloc function and went back to it:
 * bytes_reserved equals what the function has outstanding after every step,
 * and nothing is outstanding after rc_heap_free. */
START_TEST(new_with_every_byte) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    ck_assert_ptr_nonnull(h);
    ck_assert_uint_eq(c.blocks, 1);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);

    void *objs[300];
    for (int i = 0; i < 300; i++) {
        objs[i] = i % 3 == 0   ? rc_new(h, &leaf_type)
                  : i % 3 == 1 ? rc_new(h, &holder_type)
                               : rc_new_sized(h, &bare_type, 16 + (size_t)i * 7);
        ck_assert_ptr_nonnull(objs[i]);
        ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    }
    char *small = rc_malloc(h, 40), *large = rc_malloc(h, 100000);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(large);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    small = rc_realloc(h, small, 3000);   /* small to large */
    large = rc_realloc(h, large, 64);     /* large to small */
    char *zeroed = rc_calloc(h, 1000, 8);
    ck_assert_ptr_nonnull(small);
    ck_assert_ptr_nonnull(large);
    ck_assert_ptr_nonnull(zeroed);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    for (int i = 0; i < 300; i += 2)
        rc_decref(objs[i]);
    rc_free(h, small);
    rc_free(h, zeroed);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);

    /* Half the objects and one block are still held: freed all the same. */
    ck_assert_uint_eq(rc_heap_free(h), 150);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
    ck_assert_uint_eq(c.refused, 0);
}
END_TEST

/* ------------------------------------------------------------- rc_heap_free */

START_TEST(free_without_leaks) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    for (int i = 0; i < 10; i++) {
        holder *o = rc_new(h, &holder_type);
        o->child = rc_new(h, &leaf_type);
        rc_decref(o);
    }
    ck_assert_int_eq(finalized, 20);
    ck_assert_int_eq(released, 20);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    /* Nothing alive at the end: no finalizer or release runs again. */
    ck_assert_int_eq(finalized, 20);
    ck_assert_int_eq(released, 20);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* N forgotten objects: rc_heap_free returns N, runs each one's finalizer and
 * release exactly once, and still returns every byte. */
START_TEST(free_counts_leaks) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    for (int i = 0; i < 4; i++)
        ck_assert_ptr_nonnull(rc_new(h, &leaf_type));
    ck_assert_ptr_nonnull(rc_new_sized(h, &leaf_type, 5000));  /* large */
    holder *o = rc_new(h, &holder_type);                      /* holds a sixth */
    o->child = rc_new(h, &leaf_type);
    ck_assert_ptr_nonnull(rc_new(h, &bare_type));               /* no finalizer */
    ck_assert_ptr_nonnull(rc_malloc(h, 64));                    /* raw: not an object */
    rc_decref(rc_new(h, &leaf_type));                           /* not a leak */
    ck_assert_int_eq(finalized, 1);
    ck_assert_int_eq(released, 1);

    ck_assert_uint_eq(rc_heap_free(h), 8);
    ck_assert_int_eq(finalized, 1 + 7);
    ck_assert_int_eq(released, 1 + 7);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
}
END_TEST

/* A leaked object that was finalized before (it resurrected itself) is not
 * finalized again at rc_heap_free; it is still released once. */
static void *saved;
static void resurrect_finalize(void *self) {
    finalized++;
    saved = rc_incref(self);
}
static const rc_type phoenix_type = {"phoenix", 8, NULL, NULL, resurrect_finalize, count_release};

START_TEST(free_skips_finalized) {
    reset_counts();
    rc_heap *h = rc_heap_new();
    rc_decref(rc_new(h, &phoenix_type));
    ck_assert_ptr_nonnull(saved);
    ck_assert_int_eq(finalized, 1);
    ck_assert_int_eq(released, 0);
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(finalized, 1);
    ck_assert_int_eq(released, 1);
}
END_TEST

/* Finalizers run at rc_heap_free may let objects die normally (dropping the
 * last reference) and may create new objects; each object is still finalized
 * and released exactly once. */
static rc_heap *free_heap;
static void drop_child_finalize(void *self) {
    finalized++;
    RC_CLEAR(((holder *)self)->child);
    /* A new object made while the heap is being freed, also finalized. */
    ((holder *)self)->keep = rc_new(free_heap, &leaf_type);
}
static const rc_type dropper_type = {"dropper", sizeof(holder), holder_traverse, NULL,
                                     drop_child_finalize, count_release};

START_TEST(free_finalizers_drop_and_create) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = free_heap = rc_heap_new_with(counting_fn, &c);
    holder *o = rc_new(h, &dropper_type);
    o->child = rc_new(h, &leaf_type);
    ck_assert_uint_eq(rc_heap_free(h), 2);
    /* dropper, its child (dying in the finalizer), the new leaf. */
    ck_assert_int_eq(finalized, 3);
    ck_assert_int_eq(released, 3);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
}
END_TEST

/* More leaked objects with finalizers than fit in one batch of the teardown,
 * with the alloc function refusing everything at that point. */
START_TEST(free_many_leaks_no_memory) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    for (int i = 0; i < 1000; i++)
        ck_assert_ptr_nonnull(rc_new(h, i % 2 ? &leaf_type : &holder_type));
    c.limit = 1; /* every request from now on fails */
    ck_assert_uint_eq(rc_heap_free(h), 1000);
    ck_assert_int_eq(finalized, 1000);
    ck_assert_int_eq(released, 1000);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* Releases at rc_heap_free that allocate large blocks (which can rehash
 * the heap's map of large blocks while teardown walks it): every leaked
 * object is still released exactly once. */
static rc_heap *allocating_heap;
static int allocating_releases;
static void allocating_release(void *self) {
    (void)self;
    allocating_releases++;
    rc_free(allocating_heap, rc_malloc(allocating_heap, 5000));
}
static const rc_type allocating_type = {"allocating", 16, NULL, NULL, NULL, allocating_release};

START_TEST(free_releases_that_allocate) {
    for (int n = 10; n <= 1000; n *= 10) {
        allocating_releases = 0;
        counting_alloc c = {0};
        allocating_heap = rc_heap_new_with(counting_fn, &c);
        for (int i = 0; i < n; i++)
            ck_assert_ptr_nonnull(rc_new_sized(allocating_heap, &allocating_type, 1000));
        ck_assert_uint_eq(rc_heap_free(allocating_heap), (size_t)n);
        ck_assert_int_eq(allocating_releases, n);
        ck_assert_uint_eq(c.outstanding, 0);
    }
}
END_TEST

/* A release at rc_heap_free that makes a large object and drops it: that
 * object dies at once (its release runs), its block staying in the map of
 * large blocks, marked dead, until the end. The walks that release what is
 * left must not take it for a live object: its release ran twice (each
 * large object made during the walk of the pools was met again in the walk
 * of the large blocks that follows). */
static int large_made, large_released;
static void large_release(void *self) {
    large_released++;
    ck_assert_uint_ge(rc_sizeof(self), 1000); /* a query of itself answers */
}
static const rc_type large_type = {"large", 1000, NULL, NULL, NULL, large_release};
static void making_release(void *self) {
    rc_decref(rc_new(rc_heap_of(self), &large_type));
    large_made++;
}
static const rc_type making_type = {"making", 16, NULL, NULL, NULL, making_release};

START_TEST(free_releases_large_objects_made_once) {
    for (int n = 1; n <= 100; n *= 10) {
        large_made = large_released = 0;
        counting_alloc c = {0};
        rc_heap *h = rc_heap_new_with(counting_fn, &c);
        for (int i = 0; i < n; i++)
            ck_assert_ptr_nonnull(rc_new(h, &making_type));
        ck_assert_uint_eq(rc_heap_free(h), (size_t)n);
        ck_assert_int_eq(large_made, n);
        ck_assert_int_eq(large_released, n);
        ck_assert_uint_eq(c.outstanding, 0);
    }
}
END_TEST

/* A release at rc_heap_free that frees what it makes, small or large, raw
 * or an object: rc_heap_get_stats there counts none of it in bytes_in_use
 * (a large block freed then, left in the map until the end, was counted). */
static size_t stats_changed;
static size_t in_use(rc_heap *h) {
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    return st.bytes_in_use;
}
static void freeing_release(void *self) {
    rc_heap *h = rc_heap_of(self);
    size_t before = in_use(h);
    rc_free(h, rc_malloc(h, 40));
    rc_free(h, rc_malloc(h, 6000));
    rc_decref(rc_new(h, &large_type));
    rc_decref(rc_new(h, &leaf_type));
    stats_changed += in_use(h) != before;
}
static const rc_type freeing_type = {"freeing", 16, NULL, NULL, NULL, freeing_release};

START_TEST(free_stats_see_no_block_freed_there) {
    stats_changed = 0;
    rc_heap *h = rc_heap_new();
    for (int i = 0; i < 10; i++)
        ck_assert_ptr_nonnull(rc_new(h, &freeing_type));
    ck_assert_uint_eq(rc_heap_free(h), 10);
    ck_assert_uint_eq(stats_changed, 0);
}
END_TEST

/* Releases at rc_heap_free that make small objects and keep them: one in
 * a pool the walk has passed (stored in the releasing object itself), one
 * in a pool it has not reached yet (stored in an object of the heap
 * released after that pool). Each such object is released exactly once:
 * the first was never released (its walk had passed it, and only a rehash
 * of the large blocks walked again), the second twice (released by the
 * walk while mortal, then again when the holder's release dropped it and
 * it died). */
static rc_heap *keeping_heap;
static holder *keeping_sink;
static int kept_released, kept_twice;
static void kept_release(void *self) {
    kept_released++;
    kept_twice += ((leaf *)self)->value++ != 0; /* its block stays until the end */
}
static const rc_type kept_type = {"kept", sizeof(leaf), NULL, NULL, NULL, kept_release};
static const rc_type kept_late_type = {"kept_late", 2 * sizeof(leaf), NULL, NULL, NULL, kept_release};
static void keeping_release(void *self) {
    ((holder *)self)->child = rc_new(keeping_heap, &kept_type);      /* behind the walk */
    keeping_sink->child = rc_new(keeping_heap, &kept_late_type);     /* ahead of it */
}
static const rc_type keeping_type = {"keeping", 48, holder_traverse, NULL, NULL, keeping_release};
static const rc_type sink_type = {"sink", 80, holder_traverse, NULL, NULL, NULL};

START_TEST(free_releases_objects_made_by_releases_once) {
    kept_released = kept_twice = 0;
    counting_alloc c = {0};
    rc_heap *h = keeping_heap = rc_heap_new_with(counting_fn, &c);
    /* pools in the walk's order: kept, keeping, kept_late, sink */
    ck_assert_ptr_nonnull(rc_new(h, &kept_type));
    ck_assert_ptr_nonnull(rc_new(h, &keeping_type));
    ck_assert_ptr_nonnull(rc_new(h, &kept_late_type));
    ck_assert_ptr_nonnull(keeping_sink = rc_new(h, &sink_type));
    ck_assert_uint_eq(rc_heap_free(h), 4);
    ck_assert_int_eq(kept_released, 4); /* two leaked, two made by the release */
    ck_assert_int_eq(kept_twice, 0);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* Code run by step 4 of rc_heap_free (a release, or a death its drops
 * cause in another heap) that collects or asks for referrers or referents:
 * no object is traversed once released, where its traverse may read what
 * the release freed (a vector's items: ASan saw the collection read them).
 * The collection returns 0 without collecting, as automatic ones wait. */
typedef struct vec { void **items; size_t n; bool released; } vec;
static int traversed_released;
static void vec_traverse(void *self, rc_visit_fn visit, void *arg) {
    vec *v = self;
    if (v->released) { /* counted instead of reading freed items */
        traversed_released++;
        return;
    }
    for (size_t i = 0; i < v->n; i++)
        visit(&v->items[i], arg);
}
static void vec_release(void *self) {
    vec *v = self;
    free(v->items); /* n stays: nothing traverses it again */
    v->released = true;
}
static const rc_type vec_type = {"vec", sizeof(vec), vec_traverse, NULL, NULL, vec_release};
static rc_heap *querying_heap;
static vec *queried;
static long collected_late;
static int referrers_late, referents_late;
static int count_each(void *obj, void *arg) { (void)obj; (*(int *)arg)++; return 0; }
static void querying_release(void *self) {
    (void)self;
    collected_late = rc_gc_collect(querying_heap, 2);
    rc_gc_get_referrers(querying_heap, queried, count_each, &referrers_late);
    rc_gc_get_referents(queried, count_each, &referents_late);
}
static const rc_type querying_type = {"querying", 64, vec_traverse, NULL, NULL, querying_release};

START_TEST(free_traverses_nothing_released) {
    traversed_released = referrers_late = referents_late = 0;
    collected_late = -2;
    rc_heap *h = querying_heap = rc_heap_new();
    /* pools in the walk's order: the vectors, then the querying object */
    vec *v = queried = rc_new(h, &vec_type);
    v->n = 2;
    v->items = calloc(2, sizeof *v->items);
    v->items[0] = rc_new(h, &vec_type);
    v->items[1] = rc_incref(v); /* a cycle the program keeps a reference into */
    ck_assert_ptr_nonnull(rc_new(h, &querying_type));
    ck_assert_uint_eq(rc_heap_free(h), 3);
    ck_assert_int_eq(collected_late, 0);
    ck_assert_int_eq(referrers_late, 0);
    ck_assert_int_eq(referents_late, 0);
    ck_assert_int_eq(traversed_released, 0);
}
END_TEST

/* A release at rc_heap_free makes two objects in a cycle, kept by nobody,
 * in a pool the walk has not reached. The walk meets one first and drops
 * its references, as for every object: that drop, like all of step 4's,
 * must end no object of the heap. It ended the other (its count was 1:
 * made after the walk made everything immortal), whose finalizer then ran
 * in the middle of step 4, after step 3, and whose release ran inside
 * the first one's drops. Both are released once, neither finalized. */
static rc_heap *cycling_heap;
static const rc_type cyc_type = {"cyc", 5 * sizeof(holder), holder_traverse, NULL,
                                 count_finalize, count_release};
static void cycling_release(void *self) {
    (void)self;
    holder *x = rc_new(cycling_heap, &cyc_type), *y = rc_new(cycling_heap, &cyc_type);
    x->child = y; /* the references made here go to the other */
    y->child = x;
}
static const rc_type cycling_type = {"cycling", sizeof(holder), holder_traverse, NULL, NULL,
                                     cycling_release};

START_TEST(free_drops_end_no_object_made_by_releases) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = cycling_heap = rc_heap_new_with(counting_fn, &c);
    ck_assert_ptr_nonnull(rc_new(h, &cycling_type));
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(finalized, 0);
    ck_assert_int_eq(released, 2);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* The same for plain objects (no finalize, clear or release), which die on
 * rc_decref's fast path: a release makes a holder keeping a tracked plain
 * object and an untracked one, which only the holder's drops, at the next
 * walk, leave without references. They must end neither (step 4 ends no
 * object of the heap): the fast path ended both there, the heap's object
 * count and traced memory falling in the middle of step 4. */
static rc_heap *plain_heap;
static size_t objects_at_release;
static const rc_type plain_node_type = {"pnode", sizeof(holder), holder_traverse, NULL, NULL,
                                        NULL};
static const rc_type plain_leaf_type = {"pleaf", sizeof(leaf), NULL, NULL, NULL, NULL};
static void count_objects_release(void *self) {
    (void)self;
    rc_heap_stats st;
    rc_heap_get_stats(plain_heap, &st);
    objects_at_release = st.objects;
    released++;
}
static const rc_type keeper_type = {"keeper", sizeof(holder), holder_traverse, NULL, NULL,
                                    count_objects_release};
static void making_plain_release(void *self) {
    (void)self;
    holder *k = rc_new(plain_heap, &keeper_type); /* kept by nobody: its count stays 1 */
    k->child = rc_new(plain_heap, &plain_node_type);
    k->keep = rc_new(plain_heap, &plain_leaf_type);
}
static const rc_type making_plain_type = {"making_plain", sizeof(holder), holder_traverse, NULL,
                                          NULL, making_plain_release};

START_TEST(free_drops_end_no_plain_object_made_by_releases) {
    reset_counts();
    counting_alloc c = {0};
    rc_heap *h = plain_heap = rc_heap_new_with(counting_fn, &c);
    ck_assert_ptr_nonnull(rc_new(h, &making_plain_type));
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(released, 1);
    ck_assert_uint_eq(objects_at_release, 4); /* making_plain, keeper and both plain ones */
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* Untracked objects of plain types that a release makes at teardown are
 * not plain (type_info), so their deaths may wait on the untracked stack
 * when they nest past RC_DEALLOC_DEPTH: each must have its slot there, made
 * through the first creation of its type as through the fast path. A
 * release makes a chain of 49 tracked nodes whose last holds an array of
 * such objects, alternating two types (each creation a first one), and
 * drops the chain: the array dies 50 deep and its items wait. Counted
 * from the type, the first creations took no slot, and the waiting deaths
 * wrote past the stack (ASan: heap-buffer-overflow). */
typedef struct array { size_t n; void *items[]; } array;
static void array_traverse(void *self, rc_visit_fn visit, void *arg) {
    array *v = self;
    for (size_t i = 0; i < v->n; i++)
        visit(&v->items[i], arg);
}
static const rc_type array_type = {"array", sizeof(array), array_traverse, NULL, NULL, NULL};
static const rc_type bare2_type = {"bare2", 16, NULL, NULL, NULL, NULL};
static rc_heap *chain_heap;
static int chain_items_made;
static void making_chain_release(void *self) {
    (void)self;
    rc_heap *h = chain_heap;
    array *v = rc_new_sized(h, &array_type, sizeof(array) + 2000 * sizeof(void *));
    for (size_t i = 0; i < 2000; i++) {
        v->items[i] = rc_new(h, i % 2 ? &bare_type : &bare2_type);
        chain_items_made += v->items[i] != NULL;
    }
    v->n = 2000;
    void *next = v;
    for (int i = 0; i < 49; i++) {
        holder *n = rc_new(h, &holder_type);
        n->child = next;
        next = n;
    }
    rc_decref(next);
}
static const rc_type making_chain_type = {"making_chain", sizeof(holder), holder_traverse, NULL,
                                          NULL, making_chain_release};

START_TEST(free_waiting_deaths_of_objects_made_by_releases_fit) {
    reset_counts();
    rc_heap *h = chain_heap = rc_heap_new();
    chain_items_made = 0;
    rc_new(h, &making_chain_type); /* leaked: released at teardown */
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(chain_items_made, 2000);
    ck_assert_int_eq(released, 49); /* holder_type counts its releases */
    ck_assert_int_eq(finalized, 49);
}
END_TEST

/* Two leaked objects, each with a weak reference to the other: whichever
 * rc_heap_free releases second asks for the first, released already (its
 * release may have freed what it holds), and must get NULL. It got the
 * released object, a new reference to it. */
typedef struct peer { int index, released; } peer;
static rc_weakref *peer_refs[2];
static int peers_handed_out_released, peers_gone;
static void peer_release(void *self) {
    peer *p = self;
    peer *other = rc_weakref_get(peer_refs[p->index]); /* to the other */
    if (other == NULL)
        peers_gone++;
    else if (other->released)
        peers_handed_out_released++;
    RC_CLEAR(other);
    p->released = 1;
}
static const rc_type peer_type = {"peer", sizeof(peer), NULL, NULL, NULL, peer_release};

START_TEST(free_weakref_get_of_released_is_null) {
    rc_heap *h = rc_heap_new();
    peer *p[2];
    for (int i = 0; i < 2; i++) {
        p[i] = rc_new(h, &peer_type);
        p[i]->index = i;
    }
    for (int i = 0; i < 2; i++)
        peer_refs[i] = rc_weakref_new(p[1 - i], NULL, NULL);
    peers_handed_out_released = peers_gone = 0;
    ck_assert_uint_eq(rc_heap_free(h), 4); /* both peers and both references */
    ck_assert_int_eq(peers_handed_out_released, 0);
    ck_assert_int_eq(peers_gone, 1);
}
END_TEST

/* rc_heap_free drops a leaked object's references before its release, as a
 * death does: through its type's clear, or each slot set to NULL. The
 * release below sees the slots empty. */
static int released_empty;
static void check_empty_release(void *self) {
    holder *o = self;
    released++;
    released_empty += o->child == NULL && o->keep == NULL;
}
static int clears;
static void holder_clear(void *self) {
    clears++;
    RC_CLEAR(((holder *)self)->child);
    RC_CLEAR(((holder *)self)->keep);
}

START_TEST(free_drops_references_before_release) {
    static const rc_type visited_type = {"visited", sizeof(holder), holder_traverse, NULL, NULL,
                                         check_empty_release};
    static const rc_type cleared_type = {"cleared", sizeof(holder), holder_traverse,
                                         holder_clear, NULL, check_empty_release};
    reset_counts();
    released_empty = clears = 0;
    rc_heap *h = rc_heap_new();
    rc_gc_disable(h);
    for (int i = 0; i < 2; i++) {
        holder *a = rc_new(h, i ? &cleared_type : &visited_type);
        holder *b = rc_new(h, i ? &cleared_type : &visited_type);
        a->child = rc_incref(b); /* a cycle the program keeps a reference into */
        b->child = rc_incref(a);
        a->keep = rc_new(h, &leaf_type);
        rc_decref(b);
    }
    ck_assert_uint_eq(rc_heap_free(h), 6);
    ck_assert_int_eq(clears, 2);
    ck_assert_int_eq(released_empty, 4);
    ck_assert_int_eq(released, 6); /* the two leaves too */
}
END_TEST

/* A leaked object's reference into another heap is dropped at its heap's
 * rc_heap_free: the other heap's object dies when that was its last
 * reference, and is one count lower when it was not. */
START_TEST(free_drops_references_into_another_heap) {
    reset_counts();
    rc_heap *h = rc_heap_new(), *other = rc_heap_new();
    leaf *kept = rc_new(other, &leaf_type), *lone = rc_new(other, &leaf_type);
    holder *o = rc_new(h, &holder_type);
    o->child = lone;             /* stolen: o holds lone's only reference */
    o->keep = rc_incref(kept);
    ck_assert_uint_eq(rc_heap_free(h), 1);
    ck_assert_int_eq(finalized, 2); /* o at rc_heap_free, lone as it died */
    ck_assert_int_eq(released, 2);
    ck_assert_uint_eq(stats_of(other).objects, 1);
    ck_assert_uint_eq(rc_refcount(kept), 1);
    rc_decref(kept);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* With RCGC_DEBUG=1, freed blocks wait in the quarantine; rc_heap_free
 * still counts only the live objects and returns every byte, quarantined
 * ones included. */
START_TEST(free_debug_heap) {
    reset_counts();
    setenv("RCGC_DEBUG", "1", 1);
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    ck_assert(h->debug);
    for (int i = 0; i < 100; i++) {
        rc_decref(rc_new(h, &leaf_type));
        rc_decref(rc_new_sized(h, &holder_type, 2000));
        rc_free(h, rc_malloc(h, i % 2 ? 64 : 5000));
    }
    ck_assert_ptr_nonnull(rc_new(h, &leaf_type));
    ck_assert_ptr_nonnull(rc_new_sized(h, &holder_type, 2000));
    ck_assert_ptr_nonnull(rc_malloc(h, 5000));
    ck_assert_uint_gt(h->q_len, 0);
    ck_assert_uint_eq(rc_heap_free(h), 2);
    ck_assert_int_eq(finalized, 202);
    ck_assert_int_eq(released, 202);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* ------------------------------------------------------------------ stats */

/* The figures follow each birth and death exactly; in debug mode too, where
 * freed blocks wait in the quarantine (dead, though their pools still
 * count them) and then go back to their pools. */
static void check_stats(bool debug) {
    if (debug)
        setenv("RCGC_DEBUG", "1", 1);
    else
        unsetenv("RCGC_DEBUG");
    rc_heap *h = rc_heap_new();
    unsetenv("RCGC_DEBUG");
    ck_assert(h->debug == debug);
    rc_heap_stats s0 = stats_of(h);
    leaf *a = rc_new(h, &leaf_type);       /* 8 + 8 bytes: one 16-byte grain */
    holder *b = rc_new(h, &holder_type);   /* 24 + 16 bytes: 48 */
    void *big = rc_new_sized(h, &holder_type, 1000);
    char *raw = rc_malloc(h, 100);         /* 112 */
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_eq(s.objects, 3);
    ck_assert_uint_eq(s.tracked, 2);
    ck_assert_uint_eq(s.bytes_in_use, 16 + 48 + rc_sizeof(big) + 112);
    ck_assert_uint_eq(rc_sizeof(a) + rc_sizeof(b), 16 + 48);
    ck_assert_uint_ge(s.bytes_reserved, s0.bytes_reserved + s.bytes_in_use);

    rc_decref(b);
    s = stats_of(h);
    ck_assert_uint_eq(s.objects, 2);
    ck_assert_uint_eq(s.tracked, 1);
    ck_assert_uint_eq(s.bytes_in_use, 16 + rc_sizeof(big) + 112);
    rc_decref(big);
    rc_free(h, raw);
    rc_decref(a);
    s = stats_of(h);
    ck_assert_uint_eq(s.objects, 0);
    ck_assert_uint_eq(s.tracked, 0);
    ck_assert_uint_eq(s.bytes_in_use, 0);
    ck_assert(!debug || h->q_len == 4);
    /* Enough churn to push them out of the quarantine, and 40 blocks kept. */
    void *kept[40];
    for (int i = 0; i < 40000; i++) {
        void *p = rc_malloc(h, 100);
        if (i % 1000 == 0)
            kept[i / 1000] = p;
        else
            rc_free(h, p);
    }
    ck_assert_uint_eq(stats_of(h).bytes_in_use, 40 * 112);
    for (int i = 0; i < 40; i++)
        rc_free(h, kept[i]);
    ck_assert_uint_eq(stats_of(h).bytes_in_use, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(stats_follow_objects) { check_stats(false); }
END_TEST

START_TEST(stats_follow_objects_debug) { check_stats(true); }
END_TEST

/* Heaps are independent: objects know their heap, figures are per heap. */
/* THPeligible of the mapping holding p, from /proc/self/smaps (1: the
 * kernel may back it with huge pages), or -1 when it cannot be read. */
static int thp_eligible(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (f == NULL)
        return -1;
    char line[512];
    int inside = 0, found = -1;
    while (found < 0 && fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        int eligible;
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') < strchr(line, ' '))
            inside = (uintptr_t)p >= lo && (uintptr_t)p < hi;
        else if (inside && sscanf(line, "THPeligible: %d", &eligible) == 1)
            found = eligible;
    }
    fclose(f);
    return found;
}

/* Whether the kernel gives huge pages to advised memory only (the mode in
 * which advice shows in THPeligible). */
static bool thp_on_advice(void) {
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
    char mode[128] = "";
    if (f) {
        if (fgets(mode, sizeof mode, f) == NULL)
            mode[0] = '\0';
        fclose(f);
    }
    return strstr(mode, "[madvise]") != NULL;
}

/* The bytes of address space mapped now (/proc/self/statm). Not under
 * ASan, whose shadow takes terabytes of it. */
#ifndef TEST_ASAN
static size_t mapped_now(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fscanf(f, "%lu", &pages), 1);
    fclose(f);
    return pages * (size_t)sysconf(_SC_PAGESIZE);
}
#endif

/* A default heap maps each arena a huge page longer than it is, to align
 * it; with less address space left than that (RLIMIT_AS nearly reached)
 * its first allocation failed although the arena itself fit. It is then
 * mapped unaligned. Not under AddressSanitizer (which reserves terabytes)
 * or Valgrind (whose own mappings count). */
START_TEST(arena_where_address_space_is_short) {
#ifndef TEST_ASAN
    if (getenv("RCGC_VALGRIND"))
        return;
    rc_heap *h = rc_heap_new();
    ck_assert_ptr_nonnull(h);
    struct rlimit was, limit;
    ck_assert_int_eq(getrlimit(RLIMIT_AS, &was), 0);
    limit = was;
    limit.rlim_cur = mapped_now() + RC_ARENA_SIZE + (1u << 20); /* not 2 MiB more */
    int limited = setrlimit(RLIMIT_AS, &limit);
    leaf *o = rc_new(h, &leaf_type);
    void *p = o ? rc_malloc(h, 100) : NULL;
    int err = errno;
    ck_assert_int_eq(setrlimit(RLIMIT_AS, &was), 0);
    ck_assert_int_eq(limited, 0);
    ck_assert_msg(o != NULL && p != NULL, "allocation failed: %s", strerror(err));
    rc_free(h, p);
    rc_decref(o);
    ck_assert_uint_eq(rc_heap_free(h), 0);
#endif
}
END_TEST

/* A default heap asks for transparent huge pages past its first 2 MiB of
 * pools, none within them, and none at all with RCGC_HUGEPAGES=0. Where the
 * kernel gives them without advice, or never, or under Valgrind, there is
 * nothing to tell apart: the test checks only that the heap works. */
START_TEST(huge_pages_past_first_2mib) {
    bool visible = thp_on_advice() && getenv("RCGC_VALGRIND") == NULL;
    for (int off = 0; off < 2; off++) {
        if (off)
            setenv("RCGC_HUGEPAGES", "0", 1);
        rc_heap *h = rc_heap_new();
        enum { N = 200000 }; /* 32-byte blocks: 6.4 MB of pools, two arenas */
        leaf **objs = malloc(N * sizeof *objs);
        ck_assert_ptr_nonnull(objs);
        for (size_t i = 0; i < N; i++)
            ck_assert_ptr_nonnull(objs[i] = rc_new(h, &leaf_type));
        char *first = (char *)objs[0], *last = (char *)objs[N - 1];
        if (visible) {
            ck_assert_int_eq(thp_eligible(first), 0);
            ck_assert_int_eq(thp_eligible(last), !off);
        }
        for (size_t i = 0; i < N; i++)
            rc_decref(objs[i]);
        free(objs);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
    unsetenv("RCGC_HUGEPAGES");
}
END_TEST

/* The arenas rc_heap_free ends serve the process's next heaps (heap.c's
 * cache of arenas): the next heap's first object is where the last one's
 * was, zeroed however it was left; the arena waits resident in its first
 * huge page at most, its pools saying "no heap" (ASan and Valgrind: not to
 * be touched at all); a heap asking for other
 * huge-page advice (RCGC_HUGEPAGES=0) gets another arena. */
START_TEST(freed_arenas_serve_the_next_heap) {
    enum { N = 80000 }; /* 32-byte blocks: 2.5 MB of pools, past the first 2 MiB */
    const size_t huge = (size_t)2 << 20;
    rc_heap *h = rc_heap_new();
    void **objs = malloc(N * sizeof *objs);
    ck_assert_ptr_nonnull(objs);
    for (size_t i = 0; i < N; i++) {
        ck_assert_ptr_nonnull(objs[i] = rc_new(h, &bare_type));
        memset(objs[i], 0xAB, 16);
    }
    char *first = objs[0], *base = rc_pool_of(first)->arena->base;
    ck_assert_ptr_eq(rc_pool_of(objs[N - 1])->arena->base, base);
    ck_assert_uint_gt((size_t)((char *)objs[N - 1] - base), huge);
    for (size_t i = 0; i < N; i++)
        rc_decref(objs[i]);
    free(objs);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    unsigned char resident[512];
    ck_assert_int_eq(mincore(base + huge, huge, resident), 0); /* still mapped */
    for (size_t i = 0; i < huge / 4096; i++)
        ck_assert_msg(!(resident[i] & 1), "page %zu past the first 2 MiB is resident", i);
#ifdef TEST_ASAN
    ck_assert(__asan_address_is_poisoned(rc_pool_of(first)));
#else
    if (getenv("RCGC_VALGRIND") == NULL) /* Valgrind: not addressable */
        ck_assert_ptr_null(rc_pool_of(first)->heap);
#endif
    h = rc_heap_new();
    unsigned char *o = rc_new(h, &bare_type);
    ck_assert_ptr_eq(o, first);
    for (int i = 0; i < 16; i++)
        ck_assert_uint_eq(o[i], 0);
    rc_decref(o);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    setenv("RCGC_HUGEPAGES", "0", 1);
    h = rc_heap_new();
    unsetenv("RCGC_HUGEPAGES");
    o = rc_new(h, &bare_type);
    ck_assert_ptr_ne(o, first);
    rc_decref(o);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The cache of arenas goes with the library that made it: loaded with
 * dlopen, librcgc.so's freed heap leaves its arena cached (mapped), and
 * dlclose unmaps it. */
START_TEST(arena_cache_goes_with_the_library) {
    void *lib = dlopen(RCGC_SHARED_LIB, RTLD_NOW | RTLD_LOCAL);
    ck_assert_msg(lib != NULL, "dlopen: %s", dlerror());
    rc_heap *(*heap_new)(void) = (rc_heap * (*)(void)) dlsym(lib, "rc_heap_new");
    size_t (*heap_free)(rc_heap *) = (size_t(*)(rc_heap *))dlsym(lib, "rc_heap_free");
    void *(*new_object)(rc_heap *, const rc_type *) =
        (void *(*)(rc_heap *, const rc_type *))dlsym(lib, "rc_new");
    ck_assert(heap_new && heap_free && new_object);
    rc_heap *h = heap_new();
    void *o = new_object(h, &bare_type);
    ck_assert_ptr_nonnull(o);
    /* its arena, aligned to a huge page: the first pool, at its start, holds o */
    char *base = (char *)((uintptr_t)o & ~(uintptr_t)((2u << 20) - 1));
    ck_assert_uint_eq(heap_free(h), 1);
    unsigned char resident;
    ck_assert_int_eq(mincore(base, 4096, &resident), 0); /* cached: mapped */
    ck_assert_int_eq(dlclose(lib), 0);
    errno = 0;
    ck_assert_int_eq(mincore(base, 4096, &resident), -1); /* unmapped */
    ck_assert_int_eq(errno, ENOMEM);
}
END_TEST

START_TEST(heaps_are_separate) {
    rc_heap *h1 = rc_heap_new(), *h2 = rc_heap_new();
    leaf *a = rc_new(h1, &leaf_type);
    leaf *b = rc_new(h2, &leaf_type);
    leaf *c = rc_new(h2, &leaf_type);
    ck_assert_ptr_eq(rc_heap_of(a), h1);
    ck_assert_ptr_eq(rc_heap_of(b), h2);
    ck_assert_uint_eq(stats_of(h1).objects, 1);
    ck_assert_uint_eq(stats_of(h2).objects, 2);
    rc_decref(b);
    rc_decref(c);
    ck_assert_uint_eq(rc_heap_free(h2), 0);
    ck_assert_uint_eq(rc_refcount(a), 1);
    ck_assert_uint_eq(rc_heap_free(h1), 1);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("heap");
    add_case(s, tcase_create("new_is_empty"), new_is_empty);
    add_case(s, tcase_create("new_with_null_alloc"), new_with_null_alloc);
    add_case(s, tcase_create("new_with_every_byte"), new_with_every_byte);
    add_case(s, tcase_create("free_without_leaks"), free_without_leaks);
    add_case(s, tcase_create("free_counts_leaks"), free_counts_leaks);
    add_case(s, tcase_create("free_releases_large_objects_made_once"),
             free_releases_large_objects_made_once);
    add_case(s, tcase_create("free_stats_see_no_block_freed_there"),
             free_stats_see_no_block_freed_there);
    add_case(s, tcase_create("free_skips_finalized"), free_skips_finalized);
    add_case(s, tcase_create("free_finalizers_drop_and_create"), free_finalizers_drop_and_create);
    add_case(s, tcase_create("free_many_leaks_no_memory"), free_many_leaks_no_memory);
    add_case(s, tcase_create("free_releases_that_allocate"), free_releases_that_allocate);
    add_case(s, tcase_create("free_releases_objects_made_by_releases_once"),
             free_releases_objects_made_by_releases_once);
    add_case(s, tcase_create("free_drops_end_no_object_made_by_releases"),
             free_drops_end_no_object_made_by_releases);
    add_case(s, tcase_create("free_drops_end_no_plain_object_made_by_releases"),
             free_drops_end_no_plain_object_made_by_releases);
    add_case(s, tcase_create("free_weakref_get_of_released_is_null"),
             free_weakref_get_of_released_is_null);
    add_case(s, tcase_create("free_waiting_deaths_of_objects_made_by_releases_fit"),
             free_waiting_deaths_of_objects_made_by_releases_fit);
    add_case(s, tcase_create("free_traverses_nothing_released"), free_traverses_nothing_released);
    add_case(s, tcase_create("free_drops_references_before_release"),
             free_drops_references_before_release);
    add_case(s, tcase_create("free_drops_references_into_another_heap"),
             free_drops_references_into_another_heap);
    add_case(s, tcase_create("free_debug_heap"), free_debug_heap);
    add_case(s, tcase_create("stats_follow_objects"), stats_follow_objects);
    add_case(s, tcase_create("stats_follow_objects_debug"), stats_follow_objects_debug);
    add_case(s, tcase_create("heaps_are_separate"), heaps_are_separate);
    add_case(s, tcase_create("freed_arenas_serve_the_next_heap"), freed_arenas_serve_the_next_heap);
    add_case(s, tcase_create("arena_cache_goes_with_the_library"), arena_cache_goes_with_the_library);
    add_case(s, tcase_create("huge_pages_past_first_2mib"), huge_pages_past_first_2mib);
    add_case(s, tcase_create("arena_where_address_space_is_short"),
             arena_where_address_space_is_short);
    return s;
}
