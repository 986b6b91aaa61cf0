/*
 * test_alloc.c — the small-object allocator and raw memory: size classes,
 * alignment, the block -> pool lookup, the class lists that make allocation
 * O(1), empty pools going back, large blocks, rc_realloc, rc_calloc.
 */
#include "check_main.h"

#include <sys/mman.h>
#include "test_support.h"

#include <stdio.h>
#include <unistd.h>
#include "internal.h"

static const rc_type plain_type = {"plain", 16, NULL, NULL, NULL, NULL};

static void one_slot(void *self, rc_visit_fn visit, void *arg) { visit((void **)self, arg); }
static const rc_type tracked_type = {"tracked", 16, one_slot, NULL, NULL, NULL};

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

static size_t in_use(const rc_heap *h) { return stats_of(h).bytes_in_use; }
static size_t reserved(const rc_heap *h) { return stats_of(h).bytes_reserved; }

/* A byte pattern that differs per block and per offset. */
static unsigned char pattern(size_t block, size_t i) {
    return (unsigned char)(block * 131 + i * 7 + 1);
}
static void fill(void *p, size_t n, size_t block) {
    for (size_t i = 0; i < n; i++)
        ((unsigned char *)p)[i] = pattern(block, i);
}
static bool holds(const void *p, size_t n, size_t block) {
    for (size_t i = 0; i < n; i++)
        if (((const unsigned char *)p)[i] != pattern(block, i))
            return false;
    return true;
}

/* xorshift: a fixed, repeatable sequence. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* ------------------------------------------------------------ size classes */

static size_t raw_pool_bytes(size_t size);

/* rc_sizeof is the class of size + header (16-byte steps up to 512, then
 * the medium classes): 8 bytes of header untracked, 24 tracked; past the
 * largest class, the large block. */
static void check_classes(const rc_type *t, size_t header) {
    rc_heap *h = rc_heap_new();
    for (size_t size = 1; size <= RC_MEDIUM_MAX + 100; size++) {
        size_t before = in_use(h);
        void *o = rc_new_sized(h, t, size);
        ck_assert_ptr_nonnull(o);
        size_t want = size + header <= RC_MEDIUM_MAX ? raw_pool_bytes(size + header)
                                                     : RC_LARGE_OFFSET + size;
        ck_assert_msg(rc_sizeof(o) == want, "size %zu: rc_sizeof %zu, want %zu", size,
                      rc_sizeof(o), want);
        ck_assert_uint_eq(in_use(h) - before, want);
        rc_decref(o);
        ck_assert_uint_eq(in_use(h), before);
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(size_classes_untracked) { check_classes(&plain_type, 8); }
END_TEST

START_TEST(size_classes_tracked) { check_classes(&tracked_type, 24); }
END_TEST

/* Header cost as the issue states it: 8 bytes untracked, 24 tracked. */
START_TEST(header_bytes) {
    rc_heap *h = rc_heap_new();
    void *a = rc_new_sized(h, &plain_type, 8), *b = rc_new_sized(h, &tracked_type, 8);
    ck_assert_uint_eq(rc_sizeof(a), 16);
    ck_assert_uint_eq(rc_sizeof(b), 32);
    rc_decref(a);
    rc_decref(b);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* --------------------------------------------------------------- alignment */

#define NSIZES 601
static const size_t large_sizes[] = {1000, 4072, 4088, 4096, 4097, 65536 + 3, 1 << 20};
#define NLARGE (sizeof large_sizes / sizeof *large_sizes)

/* The block of a raw pool for size bytes, and of an object pool for size
 * bytes with the header (rc_class_block): 16-byte steps up to 512, then 64
 * to 1 KiB, 128 to 2 KiB, 256 to 4 KiB. */
static size_t raw_pool_bytes(size_t size) {
    size_t n = size < 16 ? 16 : round16(size);
    size_t step = n <= RC_SMALL_MAX ? 16 : n <= 1024 ? 64 : n <= 2048 ? 128 : 256;
    return (n + step - 1) / step * step;
}

/* Every object of every size is 16-byte aligned, and no two overlap. */
START_TEST(alignment_objects) {
    rc_heap *h = rc_heap_new();
    void *objs[2][NSIZES + NLARGE];
    size_t sizes[NSIZES + NLARGE];
    for (size_t i = 0; i < NSIZES + NLARGE; i++)
        sizes[i] = i < NSIZES ? (i ? i : 1) : large_sizes[i - NSIZES];
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < NSIZES + NLARGE; i++) {
            void *o = rc_new_sized(h, k ? &tracked_type : &plain_type, sizes[i]);
            ck_assert_ptr_nonnull(o);
            ck_assert_msg((uintptr_t)o % 16 == 0, "size %zu at %p", sizes[i], o);
            fill(o, sizes[i], k * 10000 + i);
            objs[k][i] = o;
        }
    }
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < NSIZES + NLARGE; i++) {
            ck_assert_msg(holds(objs[k][i], sizes[i], k * 10000 + i), "size %zu", sizes[i]);
            /* Dying objects must not visit their (non-pointer) bytes. */
            memset(objs[k][i], 0, sizes[i]);
            rc_decref(objs[k][i]);
        }
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* rc_malloc blocks of every size 0..600 and large ones: 16-byte aligned,
 * distinct (size 0 included), not overlapping. */
START_TEST(alignment_malloc) {
    rc_heap *h = rc_heap_new();
    void *blocks[NSIZES + NLARGE];
    size_t sizes[NSIZES + NLARGE];
    for (size_t i = 0; i < NSIZES + NLARGE; i++) {
        sizes[i] = i < NSIZES ? i : large_sizes[i - NSIZES];
        blocks[i] = rc_malloc(h, sizes[i]);
        ck_assert_ptr_nonnull(blocks[i]);
        ck_assert_msg((uintptr_t)blocks[i] % 16 == 0, "size %zu at %p", sizes[i], blocks[i]);
        fill(blocks[i], sizes[i], i);
    }
    void *zero2 = rc_malloc(h, 0);
    ck_assert_ptr_nonnull(zero2);
    ck_assert_ptr_ne(zero2, blocks[0]);
    for (size_t i = 0; i < NSIZES + NLARGE; i++) {
        ck_assert_msg(holds(blocks[i], sizes[i], i), "size %zu", sizes[i]);
        rc_free(h, blocks[i]);
    }
    rc_free(h, zero2);
    rc_free(h, NULL);
    ck_assert_uint_eq(in_use(h), 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ------------------------------------------------------------- structure */

/* The block -> pool lookup is one mask: the pool starts at the block's
 * RC_POOL_SIZE-aligned floor, belongs to the heap, and serves the block's
 * class and kind (up to RC_MEDIUM_MAX). Large blocks and
 * foreign pointers are in no pool. */
START_TEST(pool_lookup) {
    rc_heap *h = rc_heap_new();
    for (size_t size = 0; size <= RC_MEDIUM_MAX; size += 8) {
        char *raw = rc_malloc(h, size);
        rc_pool *p = rc__pool_lookup(h, raw);
        ck_assert_ptr_eq(p, rc_pool_of(raw));
        ck_assert_uint_eq((uintptr_t)rc_pool_base(p) % RC_POOL_SIZE, 0);
        ck_assert_ptr_eq(rc_pool_at(rc_pool_base(p)), p);
        ck_assert_ptr_eq(p->heap, h);
        ck_assert_uint_eq(p->kind, RC_KIND_RAW);
        ck_assert_uint_eq(p->block_size, raw_pool_bytes(size));
        ck_assert((char *)raw >= (char *)p + sizeof *p);
        ck_assert(raw < p->end);
        ck_assert(rc__pool_block_live(h, p, raw));
        rc_free(h, raw);
        ck_assert(!rc__pool_block_live(h, p, raw));
    }
    for (size_t size = 1; size + 24 <= RC_MEDIUM_MAX; size += 8) {
        for (int k = 0; k < 2; k++) {
            char *o = rc_new_sized(h, k ? &tracked_type : &plain_type, size);
            char *block = o - (k ? RC_GC_HEAD_SIZE : RC_HEAD_SIZE);
            rc_pool *p = rc__pool_lookup(h, o);
            ck_assert_ptr_eq(p, rc_pool_of(block));
            ck_assert_ptr_eq(p->heap, h);
            ck_assert_uint_eq(p->kind, k ? RC_KIND_GC : RC_KIND_PLAIN);
            ck_assert_uint_eq(p->block_size, rc_sizeof(o));
            ck_assert(rc__pool_block_live(h, p, block));
            ck_assert_ptr_eq(rc_heap_of(o), h);
            rc_decref(o);
        }
    }
    char *big = rc_malloc(h, 100000), *past = rc_malloc(h, RC_MEDIUM_MAX + 1);
    ck_assert_ptr_null(rc__pool_lookup(h, big));
    ck_assert_ptr_eq(rc_large_of(big)->heap, h);
    ck_assert_ptr_null(rc__pool_lookup(h, past));
    rc_free(h, past);
    int local;
    ck_assert_ptr_null(rc__pool_lookup(h, &local));
    rc_free(h, big);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Arenas placed by hand: RC_ARENA_SIZE requests are served from one reserved,
 * zone-aligned region at `offset` from a zone boundary, `gap` bytes apart, so
 * that arenas share zones (the arena map's hard case) or fall in the same
 * slot of the heap's zone table; the rest is malloc. The region is reserved
 * inaccessible and each arena made accessible as it is handed out. */
typedef struct placed_alloc {
    char *region, *next;
    size_t region_size, gap;
} placed_alloc;

static void *placed_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    placed_alloc *pa = ud;
    bool ours = (char *)ptr >= pa->region && (char *)ptr < pa->region + pa->region_size;
    if (ptr == NULL && new_size == RC_ARENA_SIZE) {
        if (pa->next + RC_ARENA_SIZE > pa->region + pa->region_size)
            return NULL;
        char *p = pa->next;
        pa->next += RC_ARENA_SIZE + pa->gap;
        ck_assert_int_eq(mprotect(p - (uintptr_t)p % 4096, RC_ARENA_SIZE + 4096,
                                  PROT_READ | PROT_WRITE), 0);
        return p;
    }
    if (ours) {
        ck_assert_uint_eq(old_size, RC_ARENA_SIZE);
        ck_assert_uint_eq(new_size, 0); /* freed arenas are not reused here */
        return NULL;
    }
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, new_size);
}

/* For arenas that start anywhere in a zone and share zones with neighbours
 * (touching, or with small gaps), the pool lookup behind rc_free finds the
 * pool of every block, answers NULL for every half-pool step of the region
 * outside the arenas' pools, and stays right as arenas go away in any
 * order. */
static void check_arena_map(size_t offset, size_t gap) {
    enum { ARENAS = 6 };
    size_t region_size = (ARENAS + 2) * (RC_ARENA_SIZE + gap) + 2 * RC_ARENA_SIZE;
    char *raw = mmap(NULL, region_size + RC_ARENA_SIZE, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    ck_assert_ptr_ne(raw, MAP_FAILED);
    char *region = (char *)(((uintptr_t)raw + RC_ARENA_SIZE - 1) & ~(uintptr_t)(RC_ARENA_SIZE - 1));
    placed_alloc pa = {region, region + offset, region_size, gap};
    rc_heap *h = rc_heap_new_with(placed_fn, &pa);
    /* 512-byte blocks: a little fewer than an arena holds, per arena. */
    size_t n = ARENAS * (RC_ARENA_SIZE / RC_SMALL_MAX / 16 * 15);
    char **blocks = malloc(n * sizeof *blocks);
    for (size_t i = 0; i < n; i++)
        blocks[i] = rc_malloc(h, RC_SMALL_MAX);
    ck_assert_uint_ge((size_t)(pa.next - region - offset) / (RC_ARENA_SIZE + gap), ARENAS - 1);
    for (size_t round = 0;; round++) {
        size_t left = 0;
        /* every half pool of the zones around each place an arena may take */
        char *done = region;
        for (size_t k = 0; k < ARENAS + 2; k++) {
            char *at = region + k * (RC_ARENA_SIZE + gap) + offset;
            at -= (uintptr_t)at % RC_ARENA_SIZE;
            char *from = at > region ? at - RC_ARENA_SIZE : region, *to = at + 2 * RC_ARENA_SIZE;
            if (from < done)
                from = done;
            if (to > region + region_size)
                to = region + region_size;
            done = to;
            for (char *p = from; p < to; p += RC_POOL_SIZE / 2) {
                rc_pool *pool = rc__pool_lookup(h, p);
                bool in_arena = false;
                for (rc_arena *a = h->arenas; a; a = a->next)
                    in_arena |= p >= a->first_pool &&
                                p < a->first_pool + (size_t)(a->npools - a->nfresh) * RC_POOL_SIZE;
                ck_assert_msg((pool != NULL) == in_arena, "round %zu: lookup of %p", round,
                              (void *)p);
                if (pool)
                    ck_assert_ptr_eq(pool, rc_pool_of(p));
            }
        }
        for (size_t i = 0; i < n; i++) {
            if (blocks[i])
                ck_assert_ptr_eq(rc__pool_lookup(h, blocks[i]), rc_pool_of(blocks[i]));
            left += blocks[i] != NULL;
        }
        if (left == 0)
            break;
        /* Free a random half of what is left: whole arenas empty and go. */
        for (size_t i = 0; i < n; i++) {
            if (blocks[i] && (round == 4 || rng() % 2)) {
                rc_free(h, blocks[i]);
                blocks[i] = NULL;
            }
        }
    }
    ck_assert_uint_eq(in_use(h), 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    free(blocks);
    munmap(raw, region_size + RC_ARENA_SIZE);
}

START_TEST(arena_map) {
    size_t offsets[] = {0, 16, RC_POOL_SIZE + 16, RC_ARENA_SIZE / 2, RC_ARENA_SIZE - 16};
    size_t gaps[] = {0, 48, 100 << 10};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++)
        for (size_t j = 0; j < sizeof gaps / sizeof *gaps; j++)
            check_arena_map(offsets[i], gaps[j]);
}
END_TEST

/* Arenas RC_ZONE_SLOTS zones apart share their slots in the zone table, which
 * keeps one zone per slot: the others are found through the arena map. */
START_TEST(zone_table_collisions) {
    check_arena_map(16, (RC_ZONE_SLOTS - 1) * RC_ARENA_SIZE);
    check_arena_map(RC_ARENA_SIZE / 2, (RC_ZONE_SLOTS - 1) * RC_ARENA_SIZE - RC_ARENA_SIZE / 4);
}
END_TEST

/* Arenas RC_POOL_SLOTS pools apart share their pools' slots (rc_free's first
 * test), which keep the pool made first: the others are found through the
 * zone table, and a slot empties when its arena goes (a lookup in an arena
 * gone would otherwise find its old pool). */
START_TEST(pool_slot_collisions) {
    size_t apart = (size_t)RC_POOL_SLOTS * RC_POOL_SIZE - RC_ARENA_SIZE;
    check_arena_map(16, apart);
    check_arena_map(RC_ARENA_SIZE / 2, apart + 3 * RC_POOL_SIZE);
}
END_TEST

/* Allocation is O(1) because at most the first pool on a class list is full
 * (it leaves at the next allocation) and the second then has a free block:
 * after random churn, every listed pool but the head has room, every pool
 * with room and blocks in use is listed, an empty class points at the
 * heap's block-less sentinel, and the pools' counts add up. */
START_TEST(class_lists) {
    rc_heap *h = rc_heap_new();
    enum { SLOTS = 20000, OPS = 200000 };
    static void *live[SLOTS];
    size_t nlive = 0;
    for (int op = 0; op < OPS; op++) {
        size_t i = rng() % SLOTS;
        if (live[i]) {
            rc_free(h, live[i]);
            live[i] = NULL;
            nlive--;
        } else {
            live[i] = rc_malloc(h, 1 + rng() % RC_SMALL_MAX);
            nlive++;
        }
    }
    for (unsigned kind = 0; kind < RC_NKINDS; kind++) {
        for (unsigned cls = 0; cls < RC_NCLASSES; cls++) {
            rc_pool *head = h->classes[kind][cls];
            if (head == &h->no_pool)
                continue;
            for (rc_pool *p = head; p; p = p->next) {
                ck_assert(p->in_list);
                if (p != head)
                    ck_assert_uint_lt(p->used, p->capacity);
                ck_assert_uint_eq(p->kind, kind);
                ck_assert_uint_eq(p->block_size, (cls + 1) * RC_GRAIN);
            }
        }
    }
    size_t used = 0;
    for (rc_arena *a = h->arenas; a; a = a->next) {
        for (uint32_t i = 0; i < a->npools - a->nfresh; i++) {
            rc_pool *p = rc_pool_at(a->first_pool + i * RC_POOL_SIZE);
            if (p->used > 0 && p->used < p->capacity)
                ck_assert(p->in_list);
            used += p->used;
        }
    }
    ck_assert_uint_eq(used, nlive);
    for (size_t i = 0; i < SLOTS; i++)
        rc_free(h, live[i]);
    ck_assert_uint_eq(in_use(h), 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Shuffles n pointers (Fisher-Yates): deaths in no particular order. */
static void shuffle(void **v, size_t n) {
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rng() % (i + 1);
        void *t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

/* Makes n objects or blocks (make(h, i)) of at least min_bytes each, lets
 * them die in random order, and checks that bytes_reserved falls back below
 * start + slack; twice (the second round starts from what the first left). */
static void churn(void *(*make)(rc_heap *h, size_t i), size_t n, size_t min_bytes,
                  size_t slack) {
    rc_heap *h = rc_heap_new();
    rc_gc_disable(h); /* collections would only walk the live objects again */
    void **objs = malloc(n * sizeof *objs);
    ck_assert_ptr_nonnull(objs);
    for (int round = 0; round < 2; round++) {
        size_t start = reserved(h), made = 0;
        for (size_t i = 0; i < n; i++) /* no ck_assert per item: each is a message */
            made += (objs[i] = make(h, i)) != NULL;
        ck_assert_uint_eq(made, n);
        size_t peak = reserved(h);
        ck_assert_uint_ge(in_use(h), n * min_bytes);
        ck_assert_uint_ge(peak, in_use(h));
        shuffle(objs, n);
        for (size_t i = 0; i < n; i++) {
            if (rc_pool_of(objs[i])->kind == RC_KIND_RAW)
                rc_free(h, objs[i]);
            else
                rc_decref(objs[i]);
        }
        rc_heap_stats s = stats_of(h);
        ck_assert_uint_eq(s.objects, 0);
        ck_assert_uint_eq(s.bytes_in_use, 0);
        ck_assert_msg(s.bytes_reserved < start + slack,
                      "round %d: %zu bytes reserved at the start, %zu at the peak, %zu after",
                      round, start, peak, s.bytes_reserved);
    }
    free(objs);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

/* Room for the pool map sized for a peak of about 100 arenas. */
#define MAP_SLACK ((size_t)512 << 10)
#define ARENA_COST (RC_ARENA_SIZE + sizeof(rc_arena))

static void *make_tracked(rc_heap *h, size_t i) { (void)i; return rc_new(h, &tracked_type); }

/* After a million objects die, in random order, their pools and arenas go
 * back: left are the one wholly free arena kept and the arena of the class's
 * last pool (kept against thrashing, docs/design.md). */
START_TEST(empty_pools_go_back) {
    churn(make_tracked, scaled(1000000), 40, 2 * ARENA_COST + MAP_SLACK);
}
END_TEST

static void *make_mixed(rc_heap *h, size_t i) {
    return i % 4 == 3 ? rc_new(h, &tracked_type) : rc_malloc(h, 16 + rng() % 240);
}

/* The same with raw blocks of 16 classes beside the objects: each class
 * keeps its last pool, and with it at most one arena. */
START_TEST(empty_pools_go_back_mixed) {
    churn(make_mixed, scaled(1000000), 16, (17 + 1) * ARENA_COST + MAP_SLACK);
}
END_TEST

/* ------------------------------------------------------------ large blocks */

/* A large block costs exactly its header and payload, from the alloc
 * function, and goes straight back when freed. */
START_TEST(large_blocks) {
    rc_heap *h = rc_heap_new();
    /* The large-block map and the type's registration exist from now on. */
    char *first = rc_malloc(h, 5000);
    rc_decref(rc_new(h, &tracked_type));
    size_t r0 = reserved(h), u0 = in_use(h);
    char *p = rc_malloc(h, 100000);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_eq(reserved(h) - r0, RC_LARGE_OFFSET + 100000);
    ck_assert_uint_eq(in_use(h) - u0, RC_LARGE_OFFSET + 100000);
    fill(p, 100000, 1);
    ck_assert(holds(p, 100000, 1));
    rc_free(h, p); /* held back (misuse detection), as a dead large object is */
    ck_assert_uint_eq(reserved(h) - r0, RC_LARGE_OFFSET + 100000);
    ck_assert_uint_eq(in_use(h), u0);

    void *o = rc_new_sized(h, &tracked_type, 10000);
    ck_assert_ptr_nonnull(o);
    ck_assert_uint_eq(rc_sizeof(o), RC_LARGE_OFFSET + 10000);
    ck_assert_uint_eq(reserved(h) - r0, 2 * RC_LARGE_OFFSET + 100000 + 10000);
    ck_assert_uint_eq(rc_refcount(o), 1);
    ck_assert_ptr_eq(rc_type_of(o), &tracked_type);
    rc_decref(o); /* held back too, until 16 more large blocks die */
    ck_assert_uint_eq(reserved(h) - r0, 2 * RC_LARGE_OFFSET + 100000 + 10000);
    ck_assert_uint_eq(in_use(h), u0);
    size_t sizes = 0; /* of sizes no block held fits: each block is new */
    for (int i = 0; i < 16; i++) {
        rc_decref(rc_new_sized(h, &tracked_type, 5000 + 16 * (size_t)i));
        sizes += RC_LARGE_OFFSET + 5000 + 16 * (size_t)i;
    }
    ck_assert_uint_eq(reserved(h) - r0, sizes);
    rc_free(h, first);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A dead large block held back serves the next large block that fits it,
 * the oldest first, without the allocator: the same size, or for an
 * rc_malloc block up to 1/16 of it more (its slack, rc_realloc's room).
 * Handed out again, it is zeroed where it must be (rc_calloc, an object),
 * and the heap's figures count it once. */
START_TEST(dead_large_reused) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    char *a = rc_malloc(h, 70000), *b = rc_malloc(h, 70000);
    size_t calls = c.requests, outstanding = c.outstanding;
    rc_free(h, a);
    rc_free(h, b);
    ck_assert_ptr_eq(rc_malloc(h, 70000), a); /* the oldest held */
    ck_assert_ptr_eq(rc_malloc(h, 66000), b); /* 4000 more than asked: within 1/16 */
    ck_assert_uint_eq(c.requests, calls);        /* the allocator was not asked */
    ck_assert_uint_eq(c.outstanding, outstanding);
    ck_assert_uint_eq(reserved(h), c.outstanding);
    ck_assert_uint_eq(in_use(h), 2 * (RC_LARGE_OFFSET + 70000)); /* blocks, slack and all */
    fill(b, 66000, 3);
    ck_assert_ptr_eq(rc_realloc(h, b, 70000), b); /* the slack is its room to grow */
    rc_free(h, b);
    char *z = rc_calloc(h, 1, 70000);
    ck_assert_ptr_eq(z, b);
    for (size_t i = 0; i < 70000; i++)
        ck_assert_uint_eq((unsigned char)z[i], 0);
    rc_free(h, a);
    char *d = rc_malloc(h, 60000); /* 10000 less: beyond the slack, a new block */
    ck_assert_ptr_ne(d, a);
    ck_assert_uint_eq(c.requests, calls + 1);

    void *o = rc_new_sized(h, &plain_type, 50000);
    memset(o, 0xAB, 50000);
    rc_decref(o);
    void *other = rc_new_sized(h, &plain_type, 49984); /* objects: the same size only */
    ck_assert_ptr_ne(other, o);
    rc_decref(other);
    void *again = rc_new_sized(h, &plain_type, 50000);
    ck_assert_ptr_eq(again, o);
    ck_assert_uint_eq(rc_sizeof(again), RC_LARGE_OFFSET + 50000);
    ck_assert_uint_eq(rc_refcount(again), 1);
    for (size_t i = 0; i < 50000; i++)
        ck_assert_uint_eq(((unsigned char *)again)[i], 0);
    rc_decref(again);

    /* past 1 MiB: the slot of its own (large_dead_big) serves the same way */
    size_t mib2 = (size_t)2 << 20;
    char *big = rc_malloc(h, mib2);
    memset(big, 0xAB, mib2);
    rc_free(h, big);
    size_t requests = c.requests;
    char *big_again = rc_calloc(h, 1, mib2 - 100000); /* within its sixteenth */
    ck_assert_ptr_eq(big_again, big);
    ck_assert_uint_eq(c.requests, requests);
    size_t nonzero = 0;
    for (size_t i = 0; i < mib2 - 100000; i++)
        nonzero += big_again[i] != 0;
    ck_assert_uint_eq(nonzero, 0);
    ck_assert_uint_eq(in_use(h) - (RC_LARGE_OFFSET + 70000) - (RC_LARGE_OFFSET + 60000),
                      RC_LARGE_OFFSET + mib2);
    rc_free(h, big_again);
    rc_free(h, z);
    rc_free(h, d);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* Medium objects (pool blocks of 513..4096 bytes with the header) count
 * their class in bytes_in_use, and those alive at rc_heap_free go back
 * with it, as small ones do. */
START_TEST(medium_objects_freed_with_heap) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    size_t sum = 0;
    for (size_t i = 0; i < 300; i++) {
        size_t size = 505 + i * 12; /* past RC_MEDIUM_MAX for the last few */
        void *o = rc_new_sized(h, i % 2 ? &tracked_type : &plain_type, size);
        ck_assert_ptr_nonnull(o);
        sum += rc_sizeof(o);
        ck_assert_uint_eq(in_use(h), sum);
        ck_assert_int_eq(rc__pool_lookup(h, o) != NULL, size + (i % 2 ? 24 : 8) <= RC_MEDIUM_MAX);
    }
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    ck_assert_uint_eq(rc_heap_free(h), 300);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
}
END_TEST

/* Large objects that die are held back whole (for misuse detection): the
 * last 16, 1 MiB in all, and apart from them the last bigger one (up to
 * 32 MiB). The heap's figures stay exact throughout. */
START_TEST(dead_large_held_within_budget) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    void *keep = rc_new_sized(h, &tracked_type, 5000);
    size_t before = c.outstanding;
    rc_decref(rc_new_sized(h, &tracked_type, 100000));
    ck_assert_uint_eq(c.outstanding - before, RC_LARGE_OFFSET + 100000); /* held */
    ck_assert_uint_eq(reserved(h), c.outstanding);
    size_t big = RC_LARGE_OFFSET + ((size_t)2 << 20);
    rc_decref(rc_new_sized(h, &tracked_type, (size_t)2 << 20));
    ck_assert_uint_eq(c.outstanding - before, RC_LARGE_OFFSET + 100000 + big); /* in its slot */
    size_t last14 = 0; /* sizes no block held fits: each block is new */
    for (size_t i = 0; i < 20; i++) {
        rc_decref(rc_new_sized(h, &tracked_type, 70000 + 16 * i));
        ck_assert_uint_le(c.outstanding - before - big, (size_t)1 << 20);
        ck_assert_uint_eq(reserved(h), c.outstanding);
        last14 += i >= 6 ? RC_LARGE_OFFSET + 70000 + 16 * i : 0;
    }
    ck_assert_uint_eq(c.outstanding - before - big, last14); /* 1 MiB holds 14 */
    ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + 5000);
    rc_decref(keep);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* ----------------------------------------------------------------- realloc */

/* Growing and shrinking across classes and to and from large blocks keeps
 * the contents up to the smaller size; bytes_in_use follows the block. */
START_TEST(realloc_keeps_contents) {
    static const size_t steps[] = {1,      10,  16,   17,   100,  300, 512, 513,    2000, 4096,
                                   100000, 600, 4097, 3800, 5000, 48,  8,   700000, 3,    0,
                                   40}; /* 4097 -> 3800: past the slack (realloc_large_near_pools) */
    rc_heap *h = rc_heap_new();
    char *p = rc_realloc(h, NULL, 5); /* acts as rc_malloc */
    ck_assert_ptr_nonnull(p);
    size_t size = 5;
    fill(p, size, 0);
    for (size_t k = 0; k < sizeof steps / sizeof *steps; k++) {
        size_t next = steps[k];
        char *q = rc_realloc(h, p, next);
        ck_assert_ptr_nonnull(q);
        ck_assert_uint_eq((uintptr_t)q % 16, 0);
        size_t kept = size < next ? size : next;
        ck_assert_msg(holds(q, kept, k), "%zu -> %zu bytes lost contents", size, next);
        size_t block = next <= RC_MEDIUM_MAX ? raw_pool_bytes(next) : RC_LARGE_OFFSET + next;
        ck_assert_uint_eq(in_use(h), block);
        fill(q, next, k + 1);
        p = q;
        size = next;
    }
    rc_free(h, p);
    ck_assert_uint_eq(in_use(h), 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Resident bytes of the process (Linux), or 0 if unknown. */
static size_t resident_bytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0, resident = 0;
    if (f == NULL)
        return 0;
    int got = fscanf(f, "%lu %lu", &pages, &resident);
    fclose(f);
    return got == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* Whether glibc's malloc fills what it hands out (MALLOC_PERTURB_, as
 * meson's test runner sets, or its tunable): its calloc then writes fresh
 * pages too. */
static bool malloc_perturbed(void) {
    const char *perturb = getenv("MALLOC_PERTURB_"), *tunables = getenv("GLIBC_TUNABLES");
    return (perturb && atoi(perturb) != 0) || (tunables && strstr(tunables, "malloc.perturb"));
}

/* A big zeroed block (rc_calloc, a large rc_new_sized) is zero without the
 * library writing it: a default heap asks calloc, which knows fresh pages
 * are zero, so they stay out of memory until touched (unless malloc is
 * perturbed). Another allocator's block is cleared by the library. */
START_TEST(big_zeroed_blocks) {
    static const rc_type big = {"big", 16, NULL, NULL, NULL, NULL};
    const size_t size = (size_t)64 << 20;
    for (int k = 0; k < 2; k++) {
        counting_alloc c = {0};
        rc_heap *h = k ? rc_heap_new_with(counting_fn, &c) : rc_heap_new();
        for (int j = 0; j < 2; j++) {
            size_t before = resident_bytes();
            unsigned char *p = j ? rc_new_sized(h, &big, size) : rc_calloc(h, 1, size);
            ck_assert_ptr_nonnull(p);
            if (k == 0 && before && !getenv("RCGC_VALGRIND") && !malloc_perturbed())
                ck_assert_uint_lt(resident_bytes() - before, size / 4);
            for (size_t i = 0; i < size; i += 4093)
                ck_assert_uint_eq(p[i], 0);
            ck_assert_uint_eq(p[size - 1], 0);
            ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + size);
            if (j)
                rc_decref(p);
            else
                rc_free(h, p);
            if (k)
                ck_assert_uint_eq(reserved(h), c.outstanding);
        }
        ck_assert_uint_eq(rc_heap_free(h), 0);
        ck_assert_uint_eq(c.outstanding, 0);
    }
}
END_TEST

/* Calls of the two allocators below that resize a block. */
static size_t resizes;

/* counting_fn, counting resizes. */
static void *resizing_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    resizes += ptr && new_size;
    return counting_fn(ud, ptr, old_size, new_size);
}

/* counting_fn that moves every block it resizes. */
static void *relocating_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    if (ptr == NULL || new_size == 0)
        return counting_fn(ud, ptr, old_size, new_size);
    resizes++;
    void *moved = counting_fn(ud, NULL, 0, new_size);
    if (moved) {
        memcpy(moved, ptr, old_size < new_size ? old_size : new_size);
        counting_fn(ud, ptr, old_size, 0);
    }
    return moved;
}

/* A large block resized to a size that stays large is resized by
 * rc_alloc_fn (one call, no second block: a buffer grown step by step is
 * not copied by the library each time), whether the allocator keeps it
 * in place or moves it; contents, figures and its trace follow. */
START_TEST(realloc_large_resizes) {
    for (int k = 0; k < 2; k++) {
        counting_alloc c = {0};
        rc_heap *h = rc_heap_new_with(k ? relocating_fn : resizing_fn, &c);
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        size_t size = 5000;
        char *p = rc_malloc(h, size);
        fill(p, size, 7);
        size_t blocks = c.blocks;
        for (size_t next = 7501; next <= 200000; next += next / 2 + 1) {
            size_t requests = c.requests, resized = resizes;
            char *q = rc_realloc(h, p, next);
            ck_assert_ptr_nonnull(q);
            ck_assert_uint_eq(resizes - resized, 1);
            ck_assert_uint_eq(c.requests - requests, 1); /* the resize alone */
            ck_assert_uint_eq(c.blocks, blocks);
            ck_assert(holds(q, size, 7));
            fill(q, next, 7);
            ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + next + next / 16); /* grown: slack */
            ck_assert_uint_eq(reserved(h), c.outstanding);
            size_t current, peak;
            rc_tracemalloc_get_traced_memory(h, &current, &peak);
            ck_assert_uint_eq(current, next);
            p = q;
            size = next;
        }
        p = rc_realloc(h, p, 4500); /* shrinks, still large */
        ck_assert(holds(p, 4500, 7));
        ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + 4500);
        ck_assert_uint_eq(reserved(h), c.outstanding);
        ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, p));
        rc_free(h, p);
        ck_assert_uint_eq(in_use(h), 0);
        ck_assert_uint_eq(rc_heap_free(h), 0);
        ck_assert_uint_eq(c.outstanding, 0);
        ck_assert_uint_eq(c.bad_old_size, 0);
    }
}
END_TEST

/* resizing_fn that scrubs each block it takes back (reading it all:
 * under ASan, poisoned bytes handed to it would be a report). */
static void *scrubbing_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    if (ptr && new_size == 0)
        memset(ptr, 0xdd, old_size);
    return resizing_fn(ud, ptr, old_size, new_size);
}

/* A large block grown a byte at a time (a string builder) gets a
 * sixteenth of its size as slack at each call of rc_alloc_fn: growing
 * 5000 -> 50000 takes 38 calls, not 45000; contents and the trace
 * follow every step, the slack counts in bytes_in_use (the block costs
 * it) and is poisoned for ASan but not when rc_alloc_fn gets the block
 * back, and a shrink within the slack stays while one past it gives the
 * memory back. */
START_TEST(realloc_large_grows_with_slack) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(scrubbing_fn, &c);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    char *p = rc_malloc(h, 5000);
    fill(p, 5000, 3);
    size_t calls = 0, cap = 5000, before = resizes;
    for (size_t size = 5001; size <= 50000; size++) {
        size_t requests = c.requests;
        char *q = rc_realloc(h, p, size);
        ck_assert_ptr_nonnull(q);
        if (size > cap) {
            cap = size + size / 16;
            calls++;
            ck_assert_uint_eq(c.requests - requests, 1);
        } else {
            ck_assert_ptr_eq(q, p); /* within the slack: no call at all */
            ck_assert_uint_eq(c.requests, requests);
        }
        q[size - 1] = (char)pattern(3, size - 1);
        p = q;
#ifdef TEST_ASAN
        ck_assert(!__asan_address_is_poisoned(p + size - 1));
        if (size < cap)
            ck_assert(__asan_address_is_poisoned(p + size));
#endif
    }
    ck_assert_uint_eq(calls, 38);
    ck_assert_uint_eq(resizes - before, 38);
    ck_assert(holds(p, 50000, 3));
    ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + cap);
    ck_assert_uint_eq(reserved(h), c.outstanding);
    size_t current, peak;
    rc_tracemalloc_get_traced_memory(h, &current, &peak);
    ck_assert_uint_eq(current, 50000);
    ck_assert_uint_eq(peak, 50000);
    before = resizes;
    p = rc_realloc(h, p, cap - cap / 16); /* a shrink within the slack */
    ck_assert_uint_eq(resizes, before);
    ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + cap);
    p = rc_realloc(h, p, cap - cap / 16 - 1); /* past it: the memory goes back */
    ck_assert_uint_eq(resizes, before + 1);
    ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + cap - cap / 16 - 1);
    ck_assert(holds(p, cap - cap / 16 - 1, 3));
    rc_tracemalloc_get_traced_memory(h, &current, &peak);
    ck_assert_uint_eq(current, cap - cap / 16 - 1);
    rc_free(h, p);
    p = rc_realloc(h, rc_malloc(h, 5000), 6000); /* freed with its slack */
    ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + 6000 + 6000 / 16);
    rc_free(h, p);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* A large block resized to a pool's size its slack still holds stays where
 * it is, as any size its slack holds does: a buffer shrunk just under 4096
 * bytes and grown again is not copied to a pool and back. Past the slack it
 * moves to a pool. */
START_TEST(realloc_large_near_pools) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    char *p = rc_malloc(h, 4200); /* slack 4200 / 16 = 262 */
    fill(p, 4200, 5);
    size_t requests = c.requests;
    for (int i = 0; i < 3; i++) {
        ck_assert_ptr_eq(rc_realloc(h, p, 4000), p);
        ck_assert_uint_eq(in_use(h), RC_LARGE_OFFSET + 4200);
        ck_assert_ptr_eq(rc_realloc(h, p, 4200), p);
    }
    ck_assert_uint_eq(c.requests, requests); /* no call to the allocator */
    ck_assert(holds(p, 4000, 5));
    char *q = rc_realloc(h, p, 4200 - 263); /* past the slack: to a pool */
    ck_assert_ptr_ne(q, p);
    ck_assert_uint_eq(in_use(h), raw_pool_bytes(4200 - 263));
    ck_assert(holds(q, 4200 - 263, 5));
    rc_free(h, q);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* Within one class a block already fits: rc_realloc does not move it. */
START_TEST(realloc_same_class_stays) {
    rc_heap *h = rc_heap_new();
    char *p = rc_malloc(h, 17);
    fill(p, 17, 3);
    ck_assert_ptr_eq(rc_realloc(h, p, 32), p);
    ck_assert_ptr_eq(rc_realloc(h, p, 20), p);
    ck_assert(holds(p, 17, 3));
    ck_assert_uint_eq(in_use(h), 32);
    rc_free(h, p);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ------------------------------------------------------------------ calloc */

/* rc_calloc zeroes, even where freed blocks full of other bytes are reused. */
START_TEST(calloc_zeroes) {
    rc_heap *h = rc_heap_new();
    enum { PER = 8 };
    for (size_t size = 16; size <= 2048; size += 16) {
        void *dirty[PER];
        for (int i = 0; i < PER; i++) {
            dirty[i] = rc_malloc(h, size);
            memset(dirty[i], 0xFF, size);
        }
        for (int i = 0; i < PER; i++)
            rc_free(h, dirty[i]);
        for (int i = 0; i < PER; i++) {
            unsigned char *z = rc_calloc(h, size / 16, 16);
            ck_assert_ptr_nonnull(z);
            size_t b = 0;
            while (b < size && z[b] == 0)
                b++;
            ck_assert_msg(b == size, "size %zu: byte %zu is not 0", size, b);
            dirty[i] = z;
        }
        for (int i = 0; i < PER; i++)
            rc_free(h, dirty[i]);
    }
    void *none = rc_calloc(h, 0, 16);
    ck_assert_ptr_nonnull(none);
    rc_free(h, none);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* n * size overflowing, or a size nothing can serve: NULL + ENOMEM, and the
 * heap is as it was. A NULL heap: EINVAL. */
START_TEST(calloc_overflow_and_huge) {
    counting_alloc c = {.limit = (size_t)1 << 30};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    void *keep = rc_malloc(h, 64);
    void *first = rc_malloc(h, 5000); /* the large-block map exists from now on */
    size_t r0 = reserved(h), u0 = in_use(h);
    static const size_t bad[][2] = {
        {SIZE_MAX / 2 + 1, 2}, {SIZE_MAX, SIZE_MAX}, {(size_t)1 << 33, (size_t)1 << 33},
        {2, SIZE_MAX / 2 + 1}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        errno = 0;
        ck_assert_ptr_null(rc_calloc(h, bad[i][0], bad[i][1]));
        ck_assert_int_eq(errno, ENOMEM);
    }
    errno = 0;
    ck_assert_ptr_null(rc_malloc(h, SIZE_MAX));
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(rc_malloc(h, (size_t)1 << 40)); /* over the alloc fn's limit */
    ck_assert_int_eq(errno, ENOMEM);
    errno = 0;
    ck_assert_ptr_null(rc_realloc(h, keep, SIZE_MAX - 8));
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(reserved(h), r0);
    ck_assert_uint_eq(in_use(h), u0);
    errno = 0;
    ck_assert_ptr_null(rc_malloc(NULL, 8));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_calloc(NULL, 1, 8));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_calloc(NULL, SIZE_MAX, 2)); /* both wrong: the heap is named */
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_realloc(NULL, NULL, 8));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_realloc(NULL, keep, 8)); /* keep is untouched */
    ck_assert_int_eq(errno, EINVAL);
    rc_free(NULL, NULL); /* nothing to free: fine */
    rc_free(h, keep);
    rc_free(h, first);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
}
END_TEST

/* Medium blocks of one class, raw or objects of plain_type. */
enum { MEDIUM_SIZE = 1000, MEDIUM_MAX = 256 };
static void *medium_new(rc_heap *h, bool object) {
    return object ? rc_new_sized(h, &plain_type, MEDIUM_SIZE) : rc_malloc(h, MEDIUM_SIZE);
}
static void medium_drop(rc_heap *h, void *p, bool object) {
    if (object)
        rc_decref(p);
    else
        rc_free(h, p);
}

/* A medium block freed into a full pool, while the next allocation of its
 * class would take the slow path (the head of the class list full), is
 * held for that allocation, and its pool stays off the list: a churn of
 * one medium size no longer moves a pool on and off the list at every
 * pair. One block a class: the next such free puts its pool back on the
 * list. A held block is dead (out of bytes_in_use; a second free of it is
 * named: test_misuse) and comes back as any block does (an object's
 * zeroed). */
static void check_medium_held(bool object) {
    rc_heap *h = rc_heap_new();
    void *b[MEDIUM_MAX];
    size_t n = 0;
    b[n++] = medium_new(h, object);
    rc_pool *first = rc_pool_of(b[0]);
    uint32_t cap = first->capacity;
    ck_assert_uint_lt(2 * cap, MEDIUM_MAX);
    while (n < 2 * cap) /* the first pool full and off its list; the second full, its head */
        b[n++] = medium_new(h, object);
    rc_pool *second = rc_pool_of(b[n - 1]);
    ck_assert_ptr_ne(first, second);
    ck_assert(!first->in_list);
    ck_assert(second->in_list);
    ck_assert_uint_eq(second->used, second->capacity);
    size_t before = in_use(h), bs = first->block_size;
    memset(b[0], 0xab, MEDIUM_SIZE);
    medium_drop(h, b[0], object); /* held */
    ck_assert(!first->in_list);
    ck_assert_uint_eq(first->used, cap);
    ck_assert_uint_eq(in_use(h), before - bs);
    medium_drop(h, b[1], object); /* one held already: the pool goes back on the list */
    ck_assert(first->in_list);
    ck_assert_uint_eq(first->used, cap - 1);
    ck_assert_uint_eq(in_use(h), before - 2 * bs);
    void *again = medium_new(h, object); /* the held block first */
    ck_assert_ptr_eq(again, b[0]);
    ck_assert_uint_eq(in_use(h), before - bs);
    if (object)
        for (size_t i = 0; i < MEDIUM_SIZE; i++)
            ck_assert_uint_eq(((unsigned char *)again)[i], 0);
    b[1] = medium_new(h, object); /* the head full: the slow path, to the first pool */
    ck_assert_ptr_eq(rc_pool_of(b[1]), first);
    ck_assert_uint_eq(in_use(h), before);
    for (size_t i = 0; i < n; i++)
        medium_drop(h, b[i], object);
    ck_assert_uint_eq(in_use(h), 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(medium_block_held) {
    check_medium_held(false);
    check_medium_held(true);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("alloc");
    add_case(s, tcase_create("size_classes_untracked"), size_classes_untracked);
    add_case(s, tcase_create("size_classes_tracked"), size_classes_tracked);
    add_case(s, tcase_create("header_bytes"), header_bytes);
    add_case(s, tcase_create("dead_large_held_within_budget"), dead_large_held_within_budget);
    add_case(s, tcase_create("realloc_large_resizes"), realloc_large_resizes);
    add_case(s, tcase_create("realloc_large_grows_with_slack"), realloc_large_grows_with_slack);
    add_case(s, tcase_create("big_zeroed_blocks"), big_zeroed_blocks);
    add_case(s, tcase_create("alignment_objects"), alignment_objects);
    add_case(s, tcase_create("alignment_malloc"), alignment_malloc);
    add_case(s, tcase_create("pool_lookup"), pool_lookup);
    add_case(s, tcase_create("class_lists"), class_lists);
    add_case(s, tcase_create("arena_map"), arena_map);
    add_case(s, tcase_create("zone_table_collisions"), zone_table_collisions);
    add_case(s, tcase_create("pool_slot_collisions"), pool_slot_collisions);
    add_case(s, tcase_create("empty_pools_go_back"), empty_pools_go_back);
    add_case(s, tcase_create("empty_pools_go_back_mixed"), empty_pools_go_back_mixed);
    add_case(s, tcase_create("large_blocks"), large_blocks);
    add_case(s, tcase_create("dead_large_reused"), dead_large_reused);
    add_case(s, tcase_create("realloc_large_near_pools"), realloc_large_near_pools);
    add_case(s, tcase_create("medium_objects_freed_with_heap"), medium_objects_freed_with_heap);
    add_case(s, tcase_create("medium_block_held"), medium_block_held);
    add_case(s, tcase_create("realloc_keeps_contents"), realloc_keeps_contents);
    add_case(s, tcase_create("realloc_same_class_stays"), realloc_same_class_stays);
    add_case(s, tcase_create("calloc_zeroes"), calloc_zeroes);
    add_case(s, tcase_create("calloc_overflow_and_huge"), calloc_overflow_and_huge);
    return s;
}
