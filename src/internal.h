/*
 * internal.h — what the subsystems of rcgc share: the memory layout of
 * objects, pools and arenas, the heap, and the calls between subsystems.
 *
 * Layout of an object in a pool block (addresses grow to the right):
 *
 *   untracked type (no traverse):   [rc_head 8][object ...]
 *   tracked type (has traverse):    [rc_gchead 16][rc_head 8][object ...]
 *   large object (any type; past RC_MEDIUM_MAX with its header):
 *                                   [rc_large 24][rc_gchead 16][rc_head 8][object ...]
 *   large raw block:                [rc_large 24][pad 16][rc_head 8][data ...]
 *                                   (its rc_head: count 0, RC_F_RAW)
 *   pool raw block (rc_malloc):     [data ...]            (no header at all)
 *
 * Invariants:
 *   - A pool holds one kind: untracked objects, tracked objects or raw blocks,
 *     so a live block's layout follows from its pool.
 *   - Object pool blocks start at 8 mod 16 and block sizes are multiples of
 *     16, so both header sizes (8, 24) leave the object 16-byte aligned. Raw
 *     pool blocks start at 0 mod 16. Large blocks come from rc_alloc_fn,
 *     16-byte aligned, with the payload at +48.
 *   - Every pool is RC_POOL_SIZE bytes and RC_POOL_SIZE-aligned, so the pool
 *     header of any pointer into it is a mask and a colour away (rc_pool_of).
 *   - A freed object block keeps its rc_head readable with refcnt 0 and
 *     RC_F_DEAD set until reused; the free-list link is stored elsewhere in the
 *     block (RC_LINK_OFFSET), so a stale rc_decref is caught.
 *   - A freed raw block (on a free list or quarantined) holds the free link
 *     and then its free mark (rc_raw_mark), both kept readable; a block being
 *     handed out has its second word zeroed, so a live block carries the mark
 *     only if the program wrote exactly that value there. rc_free trusts a
 *     block without the mark and confirms one with it on the free lists
 *     and in the quarantine.
 *   - An object pool block below `fresh` is live exactly when its rc_head is
 *     not RC_F_DEAD; a raw one exactly when it is on no free list and not
 *     quarantined.
 *   - rc_gchead.next == 0 exactly when the object is not on a collector list.
 *   - Every byte the heap holds came through rc__sys_alloc (arenas through
 *     rc__sys_arena_alloc), which keeps bytes_reserved exact.
 */
#ifndef RCGC_INTERNAL_H
#define RCGC_INTERNAL_H

#include "rcgc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#define RC_LIKELY(x) __builtin_expect(!!(x), 1)
#define RC_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RC_INTERNAL __attribute__((visibility("hidden")))
/* A hot path (allocation, death, the refs passes' visitors) starts on a
 * cache line, so that its speed does not depend on how much code precedes
 * it: binary-trees with the collector off ran 6% slower after frames.c
 * grew, rc__dealloc then starting 48 bytes into a line, and its young
 * collections 8% slower after code was added near the end of gc.c, which
 * moved the visitors. */
#define RC_HOT __attribute__((aligned(64)))

/* ---------------------------------------------------------------- sizes */

_Static_assert(sizeof(void *) == 8 && UINTPTR_MAX == UINT64_MAX,
               "rcgc needs a 64-bit target: pool slots are tagged in bit 63");

#define RC_GRAIN 16u                       /* alignment and size-class step */
#define RC_SMALL_MAX 512u                  /* largest block of the inline fast
                                              paths (16-byte classes) */
#define RC_NCLASSES (RC_SMALL_MAX / RC_GRAIN)
/* Raw blocks (rc_malloc) and objects up to RC_MEDIUM_MAX (with an
 * object's header) come from pools too, of "medium" classes past
 * RC_NCLASSES (8 per doubling: rc_class_block; a pool's cls, block size /
 * 16 - 1, still fits in a byte), reached through the out-of-line
 * allocation paths: a random churn of 513..4096-byte blocks ran ~8x
 * faster than through rc_alloc_fn with a large block's bookkeeping, and
 * ~5x faster than glibc's malloc (docs/design.md). */
#define RC_MEDIUM_MAX 4096u
#define RC_NMEDIUM 24u /* 8 classes for each of 512..1K, 1K..2K, 2K..4K */
_Static_assert(RC_MEDIUM_MAX / RC_GRAIN <= 256, "a pool's cls is a byte");
/* Pools of 64 KiB (mimalloc's small pages): a random churn fills a pool
 * that reaches the head of its class list, and un-fills one that was full,
 * once per capacity's worth of allocations, so the slow paths run about
 * 4x less often than with 16 KiB pools (13.8% -> 2.5% of allocations). An
 * arena holds 64 of them, the bits of a zone slot's mask (rc_zone_slot). */
#define RC_POOL_SIZE ((size_t)64 << 10)    /* 64 KiB, aligned */
#define RC_ARENA_SIZE ((size_t)4 << 20)    /* 4 MiB from rc_alloc_fn */
#define RC_LARGE_OFFSET 48u                /* payload offset in a large block */

/* What a pool's blocks hold: untracked objects, tracked objects, raw
 * blocks, and raw blocks made while tracing, which carry their trace in a
 * 16-byte prefix (rc_trace_prefix). The raw kinds come last. */
enum rc_kind {
    RC_KIND_PLAIN = 0,
    RC_KIND_GC = 1,
    RC_KIND_RAW = 2,
    RC_KIND_RAW_TRACED = 3,
    RC_NKINDS = 4
};
#define RC_KIND_IS_RAW(kind) ((kind) >= RC_KIND_RAW)

/* Offset of the free-list link inside a free block: past the rc_head of an
 * untracked object, on the gc prev word of a tracked one; 0 for raw blocks,
 * whose second word then holds the free mark (rc_raw_mark). */
#define RC_LINK_OFFSET(kind) (RC_KIND_IS_RAW(kind) ? 0u : 8u)
/* Offset of the object (the payload) in a block of kind: its headers. */
#define RC_OBJ_OFFSET(kind)                                                 \
    ((kind) == RC_KIND_RAW ? 0u                                             \
     : (kind) == RC_KIND_RAW_TRACED ? RC_TRACE_PREFIX                       \
     : (kind) == RC_KIND_GC ? RC_GC_HEAD_SIZE : RC_HEAD_SIZE)
#define RC_TRACE_PREFIX 16u

/* The prefix of a live RC_KIND_RAW_TRACED block: the trace of the block
 * after it (domain 0), valid while epoch is the heap's trace_epoch and tb
 * is not 0. Its second word is where an object's rc_head would be, which
 * rc_incref and rc_decref of the block read: it says a count of 0, so that
 * they name the block instead of changing the epoch. Freed, the block holds
 * the free link and the free mark there (also a count of 0: rc_raw_mark). */
typedef struct rc_trace_prefix {
    uint32_t tb;     /* tracer traceback id; 0: untraced */
    uint32_t size;   /* bytes asked for */
    uint32_t count;  /* 0 (rc_head.refcnt's place) */
    uint32_t epoch;  /* h->trace_epoch when traced */
} rc_trace_prefix;
/* Offset of the rc_head in an object block (the word kept readable when dead). */
#define RC_HEAD_OFFSET(kind) ((kind) == RC_KIND_GC ? 16u : 0u)

/* --------------------------------------------------------------- headers */

/* The 8 bytes before every object. refcnt saturates at RC_IMMORTAL. */
typedef struct rc_head {
    uint32_t refcnt;
    uint32_t info; /* flags in the low 12 bits, type index above */
} rc_head;

#define RC_IMMORTAL UINT32_MAX
#define RC_F_GC 0x01u        /* has an rc_gchead (type has traverse) */
#define RC_F_FINALIZED 0x02u /* finalize has run (or started) */
#define RC_F_WEAKREFS 0x04u  /* has a list of weak references (weakref.c) */
#define RC_F_LARGE 0x08u     /* lives in a large block */
#define RC_F_DEAD 0x10u      /* freed; set with refcnt 0 */
#define RC_F_RAW 0x20u       /* a large raw block, not an object */
#define RC_F_RELEASED 0x40u  /* release ran (heap teardown) */
#define RC_F_PLAIN 0x80u     /* its type has no finalize, clear or release, and it was not
                                made during rc_heap_free's teardown (object.c, type_info) */
#define RC_F_SWEPT 0x100u    /* untracked plain: a sweep took a count (gc.c; may stay set) */
#define RC_F_EPOCH 0x200u    /* tracked: the gc epoch of its last full collection (gc.c) */
#define RC_F_GEN_SHIFT 10    /* tracked: 2 bits, the generation whose list holds it */
#define RC_F_GEN (3u << RC_F_GEN_SHIFT) /* (RC_GC_PERMANENT: frozen; gc.c) */
#define RC_GC_PERMANENT 3u
#define RC_TYPE_SHIFT 12

/* Whether an untracked object's death may run code, which may drop
 * references and so nest deaths (object.c's untracked_stack): its type has
 * clear, finalize or release, or it has weak references (their callbacks
 * run). */
static inline bool rc_untracked_may_nest(uint32_t info) {
    return !(info & RC_F_GC) && (info & (RC_F_PLAIN | RC_F_WEAKREFS)) != RC_F_PLAIN;
}

/* An untracked plain object (RC_F_PLAIN: of a plain type, not made during
 * teardown): its death runs code only while it has weak references, so it
 * holds a slot of untracked_stack only then (weakref.c). */
static inline bool rc_untracked_plain(uint32_t info) {
    return (info & (RC_F_GC | RC_F_PLAIN)) == RC_F_PLAIN;
}

/* Collector links of a tracked object, 16 bytes before its rc_head. The low
 * two bits of prev carry collector flags, and during a collection prev holds
 * the object's gc_refs shifted by RC_GC_REFS_SHIFT (CPython's layout). */
typedef struct rc_gchead {
    uintptr_t next;
    uintptr_t prev;
} rc_gchead;

#define RC_HEAD_SIZE sizeof(rc_head)
#define RC_GC_HEAD_SIZE (sizeof(rc_gchead) + sizeof(rc_head))

/* Bookkeeping at the start of a large block (24 bytes: a tracked object's
 * rc_gchead follows). */
typedef struct rc_large {
    rc_heap *heap;
    size_t total;    /* bytes obtained from rc_alloc_fn for the block: its
                        request plus RC_LARGE_OFFSET, plus a slack of at
                        most RC_LARGE_SLACK for a raw block rc_realloc grew */
    size_t request_tagged; /* payload bytes asked for ^ RC_LARGE_TAG(payload):
                              see rc_large_request, rc_is_large */
} rc_large;
/* A word no program stores by chance (as rc_raw_mark): with it the
 * bookkeeping of a large block tells its head from the false header of a
 * small rc_malloc block, the bytes a program wrote before it (or a freed
 * neighbour's fill or free mark), which may well say RC_F_LARGE. */
#define RC_LARGE_TAG(payload) ((uintptr_t)(payload) ^ (uintptr_t)0x6C617267652D7263u)

static inline rc_head *rc_head_of(const void *obj) {
    return (rc_head *)((char *)obj - RC_HEAD_SIZE);
}
static inline rc_gchead *rc_gc_of(const void *obj) {
    return (rc_gchead *)((char *)obj - RC_GC_HEAD_SIZE);
}
static inline void *rc_obj_of_gc(const rc_gchead *g) {
    return (char *)g + RC_GC_HEAD_SIZE;
}
static inline rc_large *rc_large_of(const void *payload) {
    return (rc_large *)((char *)payload - RC_LARGE_OFFSET);
}
/* The most a large raw block of cap payload bytes holds past its request
 * (alloc.c's large_resize). */
#define RC_LARGE_SLACK(cap) ((cap) / 16)
/* No large block is this big (256 TiB), so a word past it (an untraced
 * block's free mark, whose top bit is set: rc_raw_mark) is no rc_large's
 * total. */
#define RC_LARGE_MAX ((size_t)1 << 48)
/* Whether a large block of cap payload bytes may hold a request of size. */
static inline bool rc_large_holds(size_t cap, size_t size) {
    return size <= cap && cap - size <= RC_LARGE_SLACK(cap);
}
/* The payload bytes asked for of the large block of payload. */
static inline size_t rc_large_request(const void *payload) {
    return rc_large_of(payload)->request_tagged ^ RC_LARGE_TAG(payload);
}
static inline void rc_large_set_request(void *payload, size_t request) {
    rc_large_of(payload)->request_tagged = request ^ RC_LARGE_TAG(payload);
}

/* ----------------------------------------------------------------- pools */

typedef struct rc_arena rc_arena;

/* A pool: RC_POOL_SIZE bytes of equal blocks of one kind and size class.
 * The fields the fast paths touch come first, in one cache line.
 *
 * Class lists: h->classes[kind][cls] heads a list (h->medium for a
 * medium class: rc_class_list), linked through next and
 * prev, of the pools of that class that may have a free block. Only the
 * head can be full (allocation takes from the head and notices it is full
 * at its next call, which unlinks it); every other listed pool has a free
 * block. The head's prev is stale and never read; every other listed pool's
 * prev is right. An empty class points at h->no_pool, which has no block,
 * so the fast path needs no test for "no pool". A pool kept empty while
 * the class is idle is "parked": its free list and fresh blocks are moved
 * to parked_free and parked_fresh, so that allocating from it takes the
 * slow path, which counts it as no longer empty.
 *
 * A parked pool, and one retired to its arena, is "closed": fresh and end
 * are its first block, so the allocation fast path finds nothing to carve
 * and rc_free's finds no carved block start (neither tests for such a
 * pool). In every other pool, used > 0 or fresh is where carving stopped. */
typedef struct rc_pool {
    /* first cache line: what allocation, free and rc_free's checks read */
    char *free;          /* first free block; link at RC_LINK_OFFSET(kind) */
    char *fresh;         /* next never-used block */
    char *end;           /* no block starts at or after end */
    uint32_t used;       /* allocated blocks */
    uint16_t block_size;
    uint8_t kind;        /* enum rc_kind */
    uint8_t in_list;     /* on its class list */
    uint8_t parked;
    uint8_t cls;         /* block_size / RC_GRAIN - 1 (rc_class_list) */
    uint64_t divc;       /* UINT64_MAX / block_size + 1: off % block_size == 0 iff
                            off * divc <= divc - 1 (off < 2^32; Lemire's test) */
    struct rc_pool *next;
    rc_heap *heap;
    /* the rest */
    struct rc_pool *prev;
    rc_arena *arena;
    char *parked_free, *parked_fresh;
    uint32_t capacity;   /* blocks the pool holds */
    /* What it held when last retired (block_size 0: never): its kind,
     * block size and where carving stopped, in grains from the pool's
     * start; kept when it is carved again, so that a stale pointer to one
     * of those blocks is named freed (alloc.c, raw_misuse). */
    struct rc_pool_was { uint16_t block_size, end; uint8_t kind; } was;
} rc_pool;

/* Pool headers do not all sit at the pool's first byte: pool-aligned
 * headers would all fall in the same few cache sets and evict each other.
 * Each pool's header is offset by a colour, 64-byte steps taken from the
 * pool's address, so it is still found from any pointer into the pool. */
#define RC_POOL_COLORS 8u
static inline rc_pool *rc_pool_at(const void *base) {
    uintptr_t b = (uintptr_t)base;
    return (rc_pool *)(b + ((b / RC_POOL_SIZE) % RC_POOL_COLORS) * 64u);
}
static inline rc_pool *rc_pool_of(const void *p) {
    return rc_pool_at((void *)((uintptr_t)p & ~(uintptr_t)(RC_POOL_SIZE - 1)));
}
static inline char *rc_pool_base(const rc_pool *p) {
    return (char *)((uintptr_t)p & ~(uintptr_t)(RC_POOL_SIZE - 1));
}

/* The heap an object (alive, or dead in a block not yet reused) lives in. */
static inline rc_heap *rc_obj_heap(const void *obj) {
    return (rc_head_of(obj)->info & RC_F_LARGE) ? rc_large_of(obj)->heap : rc_pool_of(obj)->heap;
}

/* Pools carved from RC_ARENA_SIZE bytes obtained from rc_alloc_fn. */
struct rc_arena {
    rc_arena *next, *prev;  /* all arenas of the heap */
    char *base;             /* what rc_alloc_fn returned */
    char *first_pool;       /* first RC_POOL_SIZE-aligned address in base */
    rc_pool *free_pools;    /* returned pools, linked through next */
    uint32_t npools;        /* pools the arena holds */
    uint32_t nfresh;        /* never-used pools at the end */
    uint32_t nfree;         /* free_pools + nfresh */
    uint32_t in_usable;     /* on heap->usable_arenas */
    rc_arena *unext, *uprev;
    rc_arena *below;        /* the arena whose pools end in this one's first zone */
    bool more;              /* not its heap's first (rc__sys_arena_alloc's `more`) */
    /* weakref.c: per pool, by its number in the arena, the objects with
     * weak references and, once enough of them have one, their lists */
    uint16_t weak_objects[RC_ARENA_SIZE / RC_POOL_SIZE];
    struct rc_weak_table *weak_tables[RC_ARENA_SIZE / RC_POOL_SIZE];
};

/* ---------------------------------------------------------- pointer maps */

/* Open-addressing map from a non-zero word to a pointer; memory from the
 * heap's rc_alloc_fn. Used for pools, large blocks, types and weak refs. */
typedef struct rc_ptrmap_slot {
    uintptr_t key;  /* 0: empty */
    void *val;
} rc_ptrmap_slot;   /* key and value side by side: one cache line per probe */

typedef struct rc_ptrmap {
    rc_ptrmap_slot *slots;
    size_t mask;   /* capacity - 1; capacity a power of two */
    size_t count;  /* at most half the capacity, or a quarter if sparse */
    bool sparse;   /* the large blocks' map: each entry stands for 4 KiB or
                      more, and short probes made a churn of 64 KiB blocks
                      1.4x faster (rc_free's lookup, its removal's shift) */
} rc_ptrmap;

RC_INTERNAL int rc__ptrmap_put(rc_heap *h, rc_ptrmap *m, uintptr_t key, void *val); /* 0 / -1 ENOMEM */
RC_INTERNAL void *rc__ptrmap_remove(rc_ptrmap *m, uintptr_t key); /* old value or NULL */
RC_INTERNAL int rc__ptrmap_grow(rc_heap *h, rc_ptrmap *m, size_t need); /* rc_ptrmap_reserve's slow path */
RC_INTERNAL void rc__ptrmap_free(rc_heap *h, rc_ptrmap *m);

/* ----------------------------------------------------------- collector */

/* Collector bits in rc_gchead. Between collections prev is a plain
 * pointer (8-byte aligned: its three low bits are free). During one, an
 * object being examined has RC_GC_PREV_COLLECTING set and, until
 * move_unreachable relinks it, its gc_refs in prev >> RC_GC_REFS_SHIFT
 * (CPython's layout, one flag more); one found unreachable also has
 * RC_GC_PREV_UNREACHABLE (CPython keeps that bit in next, because it needs
 * bit 0 of prev for "finalized", which rcgc keeps in rc_head). List code
 * masks prev with ~RC_GC_PREV_FLAGS and next is always a plain pointer, so
 * every list is walkable both ways whenever user code (finalizer,
 * callback, clear, release) runs. */
#define RC_GC_REFS_SHIFT 3
#define RC_GC_PREV_UNREACHABLE ((uintptr_t)1)
/* The same bit, earlier: during the passes computing gc_refs, an examined
 * object whose turn (its own traverse) has not come yet; cleared at its
 * turn, so it is free again for UNREACHABLE when the scan starts. */
#define RC_GC_PREV_PENDING RC_GC_PREV_UNREACHABLE
#define RC_GC_PREV_COLLECTING ((uintptr_t)2)
/* Set at its turn on an examined object an earlier one referred to; one
 * without is a root (gc.c's roots_hold). Kept until the scan or the
 * relink. */
#define RC_GC_PREV_REACHED ((uintptr_t)4)
#define RC_GC_PREV_FLAGS ((uintptr_t)7)

typedef struct rc_gen {
    rc_gchead head;    /* circular list of the generation's objects */
    long threshold;
    long count;        /* gen 0: allocations minus deallocations; others:
                          collections of the next younger generation */
} rc_gen;

typedef struct rc_gc_cb { rc_gc_callback cb; void *arg; } rc_gc_cb;

typedef struct rc_gcstate {
    bool enabled;         /* first, beside gen[0]: every tracked allocation reads both */
    unsigned walks;       /* walks in progress: no collection starts */
    unsigned holds;       /* garbage and referent walks: collections may run,
                             but rc_heap_free would free what they hold */
    bool collecting;      /* a collection of this heap runs: no other starts */
    bool auto_later;      /* rc_weakref_new: its creation's automatic
                             collection waits until the reference is made */
    unsigned debug;
    rc_gen gen[RC_GC_GENERATIONS];
    rc_gchead permanent;  /* frozen objects, never examined */
    void (*log)(const char *line, void *arg);
    void *log_arg;
    rc_gc_stats stats[RC_GC_GENERATIONS];
    size_t long_lived_total;   /* survivors of the last full collection */
    size_t long_lived_pending; /* objects that reached gen 2 since then */
    uint32_t epoch;     /* RC_F_EPOCH or 0: new objects' (h->last_info has it) */
    bool acyclic;       /* the last full collection found no reference back */
    size_t weakrefs_made; /* new weak references ever linked (gc.c's clear_held) */
    void **garbage;     /* RC_GC_DEBUG_SAVEALL: strong references */
    size_t ngarbage, garbage_cap;
    rc_gc_cb *callbacks;
    size_t ncallbacks, callbacks_cap;
} rc_gcstate;

/* ------------------------------------------------------------------ heap */

/* A freed block held back (RCGC_DEBUG); tb: the traceback its trace had
 * (tracemalloc.c's id, 0 if none), so that a misuse of the dead object
 * still names where it was made. */
typedef struct rc_quarantined {
    char *block;
    size_t size; /* as obtained: what rc_alloc_fn is told when it goes back */
    uint32_t tb;
    uint8_t kind, large;
} rc_quarantined;

#define RC_UNTRACKED_FIRST 32 /* holders whose slots are in the heap (object.c) */

/* The last large objects that died and large raw blocks freed, held back
 * whole in every build so that a second rc_decref (or one of a freed
 * block) finds a dead rc_head instead of memory the system allocator took
 * back (or unmapped): at most RC_LARGE_DEAD_SLOTS of them and
 * RC_LARGE_DEAD_BYTES in all. A new large block that fits one held takes
 * it (alloc.c's large_dead_take). With RCGC_DEBUG=1 the quarantine holds
 * them instead. */
#define RC_LARGE_DEAD_SLOTS 16u
#define RC_LARGE_DEAD_BYTES ((size_t)1 << 20)
/* A bigger one, up to RC_LARGE_DEAD_BIG_BYTES (glibc's largest dynamic
 * mmap threshold: what its free may keep for reuse anyway), is held whole
 * in a slot of its own until the next such block is made or dies (the
 * allocator then reuses it, as it would have). Of one bigger still, which
 * the system allocator unmaps when freed, only the head is held, shrunk in
 * place, among the others. */
#define RC_LARGE_DEAD_BIG_BYTES ((size_t)32 << 20)
typedef struct rc_large_dead {
    char *block;
    size_t size; /* bytes obtained from rc_alloc_fn */
} rc_large_dead;

/* What rc_free needs of arena_map for one zone (an RC_ARENA_SIZE-aligned
 * stretch of addresses), found without probing: bit i of carved says
 * whether the i-th RC_POOL_SIZE bytes of the zone are a carved pool of the
 * heap (zone 0: an empty slot). */
typedef struct rc_zone_slot {
    uintptr_t zone;
    uint64_t carved;
} rc_zone_slot;
_Static_assert(RC_ARENA_SIZE / RC_POOL_SIZE == 64, "a zone's pools are the 64 bits of carved");
#define RC_ZONE_SLOTS 512u /* slots of the direct-mapped table: 2 GiB of arenas */
#define RC_POOL_SLOTS 2048u /* h->pool_slots: 128 MiB of raw pools (see alloc.c) */
#define RC_POOL_SLOT_EMPTY UINTPTR_MAX /* no pointer's test matches it, NULL's included */
#define RC_POOL_SLOT_FULL_PATH ((uintptr_t)1 << 63) /* a raw pool rc_free's fast path must not take */

/* A death by reference counting whose finalizer runs (object.c's
 * finalize_dying), on the C stack; innermost first. The object is marked
 * finalized before (so nothing finalizes it twice), but reported so only
 * once its finalizer returns, as CPython's PyObject_CallFinalizer marks it.
 * The same links make h->mourning: deaths whose weak reference callbacks
 * run (weakref.c). */
typedef struct rc_finalizing {
    const void *obj;
    const struct rc_finalizing *outer;
} rc_finalizing;

/* Whether obj is on the list of deaths f (h->finalizing, h->mourning). */
static inline bool rc_finalizing_has(const rc_finalizing *f, const void *obj) {
    for (; f; f = f->outer)
        if (f->obj == obj)
            return true;
    return false;
}

struct rc_heap {
    /* What every allocation, free and death reads, together at the start
     * (with gc's first fields), so that they share few cache lines. */
    struct rc_tracer *tracer;  /* NULL when not tracing */
    bool slow_free;            /* slow_pool_free || tracing: frees take the slow path
                                  (rc_slow_free_update) */
    bool slow_pool_free;       /* debug || dying || Valgrind: even a traced raw
                                  block's free takes it */
    bool dying;                /* inside rc_heap_free's teardown */
    bool freeing;              /* inside rc_heap_free: calling it again is misuse */
    bool dropping;             /* rc_heap_free drops a released object's references:
                                  they end no object (dealloc_slow) */
    void **retired;            /* emptied arenas of a default heap (heap.c) */
    size_t nretired, retired_cap;
    const rc_finalizing *finalizing; /* see rc_finalizing */
    const rc_finalizing *mourning;   /* see rc_finalizing */
    bool debug;                /* RCGC_DEBUG=1: poison and quarantine freed blocks */
    bool huge_pages;           /* advise arenas MADV_HUGEPAGE (not RCGC_HUGEPAGES=0) */
    unsigned dealloc_depth;    /* nested deaths; past RC_DEALLOC_DEPTH they wait... */
    rc_gchead *deferred;       /* ...here, linked through next, if tracked, else on
                                  untracked_stack, while untracked_mark is here */
    const rc_type *last_type;  /* the type made last, and the rc_head.info */
    uint32_t last_info;        /* of its new objects (rc__type_info) */
    const rc_type **types;     /* rc_head.info holds an index into types */
    size_t objects, tracked;   /* figures (bytes in use: rc_heap_get_stats adds up the pools) */
    uintptr_t free_mark;       /* see rc_raw_mark */
    rc_gcstate gc;

    rc_alloc_fn alloc;
    void *ud;

    /* allocator */
    rc_pool *classes[RC_NKINDS][RC_NCLASSES]; /* class lists (see rc_pool) */
    rc_pool *class_tails[RC_NKINDS][RC_NCLASSES]; /* their last pools; NULL if empty */
    rc_pool no_pool;           /* the head of an empty class list */
    uint32_t trace_epoch;      /* see rc_trace_prefix: changes at clear_traces and stop */
    uint64_t trace_stops;      /* tracers stopped: one the frame provider stopped is gone
                                  even if a new one took its address */
    rc_arena *arenas;          /* all arenas */
    rc_arena *usable_arenas;   /* arenas with free pools */
    rc_arena *empty_arena;     /* at most one wholly free arena kept */
    unsigned empty_pools;      /* pools on class lists with no block in use */
    rc_ptrmap arena_map;       /* zone -> arena, for rc_free (see alloc.c) */
    rc_ptrmap large;           /* payload address -> rc_large */

    /* the type table */
    uint32_t ntypes, types_cap;
    rc_ptrmap type_index;      /* type -> index + 1 */

    size_t bytes_reserved;
    size_t large_bytes;        /* of large blocks in the map (live, or freed
                                  during teardown) */
    size_t pool_bytes_idle;    /* of blocks counted in a pool's used or in
                                  large_bytes that are not live: quarantined,
                                  or freed during teardown */

    /* untracked deaths nested too deeply (see deferred): those that may run
     * code (rc_untracked_may_nest). The stack has a slot for every live such
     * object, untracked_holders of them: a holder (a type with clear,
     * finalize or release) takes its slot when it is made, a plain untracked
     * object when it gets its first weak reference (and gives it back with
     * the last), so a death never asks for memory:
     * deferred_untracked <= untracked_holders <= untracked_stack_cap. */
    rc_gchead untracked_mark;  /* on h->deferred exactly while deferred_untracked > 0 */
    void **untracked_stack;    /* untracked_first, or from rc__sys_alloc once more
                                  holders live (kept until rc_heap_free) */
    size_t deferred_untracked, untracked_stack_cap, untracked_holders;
    void *untracked_first[RC_UNTRACKED_FIRST];

    rc_large_dead large_dead[RC_LARGE_DEAD_SLOTS]; /* a ring, oldest at large_dead_head */
    unsigned large_dead_head, large_dead_len;
    size_t large_dead_bytes;   /* what the ring holds */
    rc_large_dead large_dead_big; /* block NULL when none */
    /* The payloads of the last large raw blocks that went back (rc_free,
     * or moved by rc_realloc), addresses only: a second rc_free of one is
     * named "already freed" where the large map no longer knows it. */
    uintptr_t large_freed[RC_LARGE_DEAD_SLOTS];
    unsigned large_freed_next;

    /* RCGC_DEBUG=1's quarantine of freed blocks */
    rc_quarantined *quarantine;
    size_t q_head, q_len, q_bytes;

    rc_ptrmap weakrefs;        /* object -> newest rc_weakref on it */
    /* tracemalloc settings that outlive a stop, as in CPython */
    int trace_limit;                  /* nframe of the last start; 1 at first */
    rc_frame_provider trace_provider; /* NULL: native frames */
    void *trace_provider_arg;
    bool in_trace_provider;           /* its allocations get native frames */

    /* arena_map's entries again, direct-mapped by zone, and raw pools'
     * header addresses direct-mapped by pool, tagged (see alloc.c) */
    rc_zone_slot zone_table[RC_ZONE_SLOTS];
    uintptr_t pool_slots[RC_POOL_SLOTS];
    /* the class lists of medium blocks (rc_class_list), last: the fields
     * the fast paths read keep their offsets */
    rc_pool *medium[RC_NKINDS][RC_NMEDIUM];
    rc_pool *medium_tails[RC_NKINDS][RC_NMEDIUM];
    /* per medium class, a block freed into a full pool, dead (marked, in
     * pool_bytes_idle) but still in its pool's used, held for the class's
     * next allocation (alloc.c, medium_hold), or NULL */
    char *medium_held[RC_NKINDS][RC_NMEDIUM];
};

/* The block size of the class that holds a block of bs bytes (a multiple
 * of RC_GRAIN, at most RC_MEDIUM_MAX): bs itself up to RC_SMALL_MAX, then 8
 * classes per doubling (64-byte steps up to 1 KiB, 128 to 2 KiB, 256 to 4
 * KiB: at most 12.5% of a block unused). With a class every 16 bytes, a
 * random 600..4600 B churn of 4096 blocks kept 2x glibc's resident memory,
 * the blocks spread over 224 classes each with its own partly used pools
 * (design.md). */
static inline size_t rc_class_block(size_t bs) {
    if (bs <= RC_SMALL_MAX)
        return bs;
    size_t step = (size_t)1 << (63 - __builtin_clzll((unsigned long long)bs - 1) - 3);
    return (bs + step - 1) & ~(step - 1);
}

/* The index in h->medium of medium class cls (a block size of
 * rc_class_block past RC_SMALL_MAX): 8 per doubling, from 0. */
static inline unsigned rc_medium_index(unsigned cls) {
    unsigned bs = (cls + 1) * RC_GRAIN, lg = 31u - (unsigned)__builtin_clz(bs - 1);
    return (lg - 9) * 8 + (bs >> (lg - 3)) - 9; /* 2^9: RC_SMALL_MAX */
}
_Static_assert(RC_SMALL_MAX == 1u << 9 && RC_MEDIUM_MAX == RC_SMALL_MAX << 3,
               "rc_medium_index: three doublings of 8 classes past 2^9");

/* The head (or, if tail, the last pool) of the class list of the pools of
 * `kind` and class cls: a small class's in h->classes, a medium one's in
 * h->medium. For the slow paths; the inline ones take small classes only,
 * from h->classes. */
static inline rc_pool **rc_class_list(rc_heap *h, unsigned kind, unsigned cls, bool tail) {
    if (cls < RC_NCLASSES)
        return tail ? &h->class_tails[kind][cls] : &h->classes[kind][cls];
    unsigned m = rc_medium_index(cls);
    return tail ? &h->medium_tails[kind][m] : &h->medium[kind][m];
}

#define RC_DEALLOC_DEPTH 50
#define RC_KEPT_EMPTY_POOLS 4 /* empty pools kept on class lists per heap */
#define RC_QUARANTINE_SLOTS 4096
#define RC_QUARANTINE_BYTES ((size_t)8 << 20)

/* ------------------------------------------------- calls between parts */

/* heap.c: every byte from rc_alloc_fn goes through these (bytes_reserved);
 * a default heap's arenas come aligned to huge pages (see heap.c). */
RC_INTERNAL void *rc__sys_alloc(rc_heap *h, void *ptr, size_t old_size, size_t new_size);
RC_INTERNAL void rc__sys_free(rc_heap *h, void *ptr, size_t size);
RC_INTERNAL void *rc__sys_alloc_zeroed(rc_heap *h, size_t size);
RC_INTERNAL void *rc__sys_arena_alloc(rc_heap *h, bool more);
RC_INTERNAL void rc__sys_arena_free(rc_heap *h, void *base, size_t touched, bool more);
/* Whether only one heap is alive in the process: then no object refers to
 * another heap's (the collector skips that test). */
RC_INTERNAL bool rc__one_heap(void);

/* alloc.c: pools (the fast paths are inline below), large blocks keyed by
 * payload, walks and teardown. */
RC_INTERNAL char *rc__pool_alloc_slow(rc_heap *h, unsigned kind, size_t block_size);
/* A block of any class, small or medium (block_size from rc_class_block),
 * for the out-of-line paths; NULL + ENOMEM. */
RC_INTERNAL char *rc__class_alloc(rc_heap *h, unsigned kind, size_t block_size);
RC_INTERNAL void rc__pool_free_slow(rc_heap *h, rc_pool *p, char *block);
/* After a block went back to p: a full pool rejoins its class list, an
 * empty one is parked or retired. */
RC_INTERNAL void rc__pool_after_free(rc_heap *h, rc_pool *p);
RC_INTERNAL void *rc__large_alloc(rc_heap *h, size_t payload, uint32_t head_info, bool zeroed);
RC_INTERNAL void rc__large_free(rc_heap *h, void *payload, uint32_t tb); /* tb: see rc_quarantined */
RC_INTERNAL bool rc__held_release(rc_heap *h); /* frees held dead and quarantined large blocks */
/* The traceback id a quarantined block holding ptr keeps, or 0; forget:
 * every such id ends (the tracer forgets its tracebacks). */
RC_INTERNAL uint32_t rc__quarantine_tb(const rc_heap *h, const void *ptr);
RC_INTERNAL void rc__quarantine_forget_traces(rc_heap *h);
RC_INTERNAL rc_pool *rc__pool_lookup(const rc_heap *h, const void *p); /* NULL if not ours */
RC_INTERNAL void rc__pool_slots_reset(rc_heap *h); /* after slow_free changes (alloc.c) */
RC_INTERNAL size_t rc__bytes_in_use(const rc_heap *h); /* live blocks' bytes: O(pools) */
/* Whether a block of p (at a block boundary) is allocated. O(1) for object
 * blocks and raw blocks without the free mark; else walks the free lists. */
RC_INTERNAL bool rc__pool_block_live(const rc_heap *h, const rc_pool *p, const char *block);
/* The index of obj's block in p, an object pool (weakref.c's tables). */
RC_INTERNAL size_t rc__pool_object_index(const rc_pool *p, const void *obj);
/* Whether ptr may be the payload of a block of p: at a carved block's
 * payload, or anywhere in a retired pool, which no longer knows what it
 * carved. O(1). */
RC_INTERNAL bool rc__pool_payload_at(const rc_pool *p, const void *ptr);
/* The prefix of ptr if it is a live block of a traced raw pool, else NULL. */
RC_INTERNAL rc_trace_prefix *rc__trace_prefix_of(const rc_heap *h, const void *ptr);
/* Calls fn on the prefix of each live block of the traced raw pools. */
RC_INTERNAL void rc__each_trace_prefix(rc_heap *h, void (*fn)(rc_trace_prefix *pre, void *arg),
                                       void *arg);
RC_INTERNAL void rc__alloc_release_all(rc_heap *h);
/* Calls fn on each live object (not raw blocks), in no particular order.
 * fn must not allocate or free objects. */
RC_INTERNAL void rc__each_object(rc_heap *h, void (*fn)(void *obj, void *arg), void *arg);
/* Asks once whether Valgrind runs us (its client requests are skipped if not). */
RC_INTERNAL void rc__mem_init(void);

/* object.c */
RC_INTERNAL void rc__dealloc(void *obj);
RC_INTERNAL const rc_type *rc__type(const rc_heap *h, const rc_head *head);
RC_INTERNAL const char *rc__type_name(const rc_heap *h, const void *obj);
/* Misuse: prints "rcgc: fatal: <call> <what> <type 0xaddr>" (and where the
 * object was allocated, when traced) to stderr, then abort(). */
RC_INTERNAL _Noreturn void rc__fatal(const char *call, const char *what, const void *obj);
/* The same for a pointer that is not (known to be) an object: "(0xaddr)",
 * and where h's tracer saw it allocated, if h (may be NULL) knows. */
RC_INTERNAL _Noreturn void rc__fatal_ptr(rc_heap *h, const char *call, const char *what,
                                         const void *ptr);
/* Whether obj (not NULL) was freed: its head says RC_F_DEAD until the block
 * is reused, or its arena went back (retired: all zeros, no heap). One
 * dying (count 0: its finalizer, weak references' callbacks, clear or
 * release running, or its death deferred) is not freed yet. */
static inline bool rc_is_freed(const void *obj) {
    const rc_head *hd = rc_head_of(obj);
    return hd->refcnt == 0 && ((hd->info & RC_F_DEAD) || rc_obj_heap(obj) == NULL);
}
/* Whether obj (not NULL, an object or an rc_malloc block) is in a large
 * block: its head says RC_F_LARGE and its rc_large is whole (its total is
 * below RC_LARGE_MAX and its tagged request's, plus RC_LARGE_OFFSET and at
 * most RC_LARGE_SLACK of the rest). The bytes before a small
 * rc_malloc block (its false header) are a program's, or a freed
 * neighbour's fill or free mark, and may say RC_F_LARGE; the
 * RC_LARGE_OFFSET bytes before it are then in its pool, readable. Without
 * the bound, a 16-byte block after freed ones was taken for a large one
 * in about one heap in ten: a free mark as the total, a word of 0 as the
 * tagged request (the tag alone, near 0x6C61 << 48) within a sixteenth
 * of it, and the queries read a heap at address 0. */
static inline bool rc_is_large(const void *obj) {
    if (!(rc_head_of(obj)->info & RC_F_LARGE))
        return false;
    size_t cap = rc_large_of(obj)->total - RC_LARGE_OFFSET, request = rc_large_request(obj);
    return cap < RC_LARGE_MAX && rc_large_holds(cap, request);
}
/* Whether obj (not NULL) is an rc_malloc block: a large one's head says
 * so; a small one lives in a pool of raw blocks (its false header, the
 * bytes before it, decides nothing: rc_is_large). */
static inline bool rc_is_raw_block(const void *obj) {
    if (rc_is_large(obj))
        return (rc_head_of(obj)->info & RC_F_RAW) != 0;
    return RC_KIND_IS_RAW(rc_pool_of(obj)->kind);
}
/* The heap of an rc_malloc block (rc_is_raw_block): rc_obj_heap would
 * follow a small one's false header. */
static inline rc_heap *rc_raw_block_heap(const void *obj) {
    return rc_is_large(obj) ? rc_large_of(obj)->heap : rc_pool_of(obj)->heap;
}
/* Misuse: obj, taken for an object by call, is in an rc_malloc block or a
 * pool of them (rc_is_raw_block); named an rc_malloc block, a block
 * already freed when it is not live (a large one's head is readable then
 * only in RCGC_DEBUG's quarantine), or a dead object when it is
 * no carved block's payload (a stale pointer into an object pool retired
 * and carved again for raw blocks). */
RC_INTERNAL _Noreturn void rc__fatal_raw(const char *call, const void *obj);
/* A query (call) of an rc_malloc block, or of an object already freed, is
 * named and aborts (a block's false header would give it a type, or
 * fault). */
static inline void rc_check_not_freed(const void *obj, const char *call) {
    if (RC_UNLIKELY(rc_is_raw_block(obj)))
        rc__fatal_raw(call, obj);
    if (RC_UNLIKELY(rc_is_freed(obj)))
        rc__fatal(call, "of a dead object", obj);
}
/* Drops each reference of a dying or garbage object: clear, or traverse. */
RC_INTERNAL void rc__drop_references(const rc_type *t, void *obj);
/* Frees plain garbage the collector swept (its count is not zero, it is
 * on no list, its references go to garbage only), or an untracked plain
 * object whose every count the sweep took: counted as a death, memory
 * back. */
RC_INTERNAL void rc__free_swept(rc_heap *h, void *obj);
/* Makes sure h->untracked_stack has a free slot for one more untracked
 * object whose death may nest (rc_untracked_may_nest); false + ENOMEM. */
RC_INTERNAL bool rc__untracked_room(rc_heap *h);

/* gc.c */
RC_INTERNAL void rc__gc_init(rc_heap *h);
/* The automatic collection, if one is due: count0 past threshold0, the
 * collector enabled and idle (rc_gc_link; rc_weakref_new). */
RC_INTERNAL void rc__gc_collect_auto(rc_heap *h);
RC_INTERNAL void rc__gc_fini(rc_heap *h);                 /* free collector memory */
/* Misuse: aborts, naming call, if a collection or a walk of h is running. */
RC_INTERNAL void rc__gc_check_idle(rc_heap *h, const char *call);
/* The environment variable name, or NULL in a program that runs with more
 * privileges than whoever started it (AT_SECURE: setuid, setgid, file
 * capabilities): every RCGC_ knob is read through it (heap.c). */
RC_INTERNAL const char *rc__getenv(const char *name);
/* snprintf and vsnprintf with numbers as CPython prints them (the "C"
 * locale's LC_NUMERIC: "1.5", not a program's de_DE "1,5"), which every
 * text meant to read as Python's uses (heap.c). */
RC_INTERNAL int rc__snprintf_c(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
RC_INTERNAL int rc__vsnprintf_c(char *buf, size_t len, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
RC_INTERNAL void rc__gc_logf(rc_heap *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* weakref.c. A weak reference is an object of rc__weakref_type; the weak
 * references to an object form a list whose head is in h->weakrefs[object]
 * or in its pool's table (rc_arena.weak_tables, "where lists live"): the
 * callback-less one first when there is one, then those with callbacks,
 * newest first (CPython's order). RC_F_WEAKREFS is set exactly while the
 * object has a list. */
RC_INTERNAL extern const rc_type rc__weakref_type;
/* Death by reference counting (obj's count is 0 meanwhile, as in CPython;
 * obj is on h->mourning): clears every weak reference to obj, then runs
 * their callbacks, newest first; those the callbacks made to obj are then
 * cleared silently. */
RC_INTERNAL void rc__weakref_clear_on_death(rc_heap *h, void *obj);
/* Clears every weak reference to obj and forgets its entry; calls due(ref,
 * ctx) for each one whose callback should run (it has one and is not dying),
 * in callback order, before returning. Runs no user code. */
RC_INTERNAL void rc__weakref_clear_all(rc_heap *h, void *obj,
                                       void (*due)(rc_weakref *ref, void *ctx), void *ctx);
/* Clears one weak reference (it is garbage itself): its callback never runs. */
RC_INTERNAL void rc__weakref_clear_ref(rc_heap *h, rc_weakref *ref);
/* Runs ref's callback, once. */
RC_INTERNAL void rc__weakref_fire(rc_weakref *ref);
RC_INTERNAL void rc__weakref_fini(rc_heap *h); /* heap teardown: no callbacks */

/* tracemalloc.c: called only when h->tracer != NULL */
/* Starts the trace of ptr in the table: 0, or -1 + ENOMEM with nothing
 * traced (the caller gives the allocation back and fails, as CPython's
 * tracemalloc_alloc does). 0 too when code the frame provider ran stopped
 * tracing: the allocation goes on untraced. kept: for a block that cannot
 * be given back (rc_realloc released the old one), which then stays
 * untraced, counted (rc__tracer_untraced). */
RC_INTERNAL int rc__trace_alloc(rc_heap *h, const void *ptr, size_t size,
                                const char *file, int line, const char *func);
RC_INTERNAL void rc__trace_alloc_kept(rc_heap *h, const void *ptr, size_t size,
                                      const char *file, int line, const char *func);
/* Ends the trace of ptr; returns the traceback id it had, or 0. */
RC_INTERNAL uint32_t rc__trace_free(rc_heap *h, const void *ptr);
/* The trace of a small raw block made while tracing lives in its prefix
 * (rc_trace_prefix): set makes pre the trace of the size bytes after it
 * and returns their address (so that a caller may end with it, in tail
 * position), or, when the traceback cannot be stored, frees the block and
 * returns NULL + ENOMEM; kept is set for rc_realloc's new block, left
 * untraced (counted) in that case; drop ends
 * it, if it is a trace of the running tracer, and returns its traceback id
 * (or 0); ended does what drop does but for clearing the prefix, given a
 * copy of one its block (payload at ptr) no longer holds (freed: the free
 * link and mark are there). Where the prefix holds no trace, both end the
 * table trace rc_tracemalloc_track may have given the block. drop and
 * ended may be called with no tracer. */
RC_INTERNAL void *rc__trace_prefix_set(rc_heap *h, rc_trace_prefix *pre, size_t size,
                                       const char *file, int line, const char *func);
RC_INTERNAL void *rc__trace_prefix_kept(rc_heap *h, rc_trace_prefix *pre, size_t size,
                                        const char *file, int line, const char *func);
RC_INTERNAL uint32_t rc__trace_prefix_drop(rc_heap *h, rc_trace_prefix *pre);
RC_INTERNAL void rc__trace_prefix_ended(rc_heap *h, rc_trace_prefix pre, const void *ptr);
RC_INTERNAL void rc__tracer_fini(rc_heap *h);
/* Appends " allocated at file:line" to buf for misuse messages, for a live
 * traced object or a dead one held back by RCGC_DEBUG; "" if none. */
RC_INTERNAL void rc__trace_describe(rc_heap *h, const void *ptr, char *buf, size_t len);
/* rc_realloc calls left untraced because tracing the block ran out of
 * memory (they succeed; the trace is missing). Reset by clear_traces and
 * stop. */
RC_INTERNAL size_t rc__tracer_untraced(const rc_heap *h);
/* Whether every trace table of h keeps its invariants (tracemalloc.c's
 * trace_table); true with no tracer. For tests and fuzz targets: it walks
 * every slot, and every bucket as far as the farthest-placed key. */
RC_INTERNAL bool rc__trace_tables_valid(const rc_heap *h);

/* frames.c: native stacks. Walks the caller's stack by frame pointers,
 * dropping every frame inside librcgc (the leading ones, and those between
 * program frames when the library called the program back); stores up to
 * max return addresses, most recent first, and returns how many, or -1 +
 * ENOMEM when malloc failed for what the walk needs (the loaded objects'
 * code, the thread's stack bounds). The library's code is known by then
 * (rc__stack_walk_prepare succeeded: a tracer started). *total: program
 * frames on the stack, at most UINT16_MAX. *serial: 0 when every address
 * stored lies in an object loaded with the program, else the serial of a
 * table of the objects loaded during the walk, for rc__resolve: code
 * loaded with dlopen may be unloaded, and other code loaded there. */
RC_INTERNAL int rc__stack_walk(uintptr_t *pcs, unsigned max, unsigned *total, uint32_t *serial);
/* Finds the library's own code, which walks leave out, and the loaded
 * objects' code, now rather than in the first walk: linked in statically,
 * that reads the program's debug information, which takes more stack than
 * a thread made with a small one (PTHREAD_STACK_MIN) has, and the first
 * walk may run on one. false + ENOMEM, EMFILE or ENFILE when memory or
 * file descriptors were short to read the program's file for the
 * library's code (the next call tries again; no tracer may start without
 * it); a table of the loaded objects that could not be made is made by the
 * first walk. */
RC_INTERNAL bool rc__stack_walk_prepare(void);
/* Turns return addresses into frames (DWARF file:line, else function name,
 * else binary+0xOFFSET), cached per address. malloc-based; the strings live
 * as long as the resolver. rc__resolve gives the frames of pc in out[0..max),
 * most recent first: the function whose code holds pc, and when it was
 * inlined there, the functions it was inlined into, each at the line of its
 * call, up to the real function; it returns how many (at least 1 when max
 * is: "<unknown>" at worst), or 0 + ENOMEM when memory ran short, EMFILE
 * or ENFILE when a file could not be opened for want of descriptors
 * (nothing of pc is cached then). `code` is the walk's serial (rc__stack_walk): when the
 * object that held pc then is not loaded there now, pc is resolved in that
 * object's file, if still there unchanged, else named "file+0xOFFSET",
 * never by what is loaded there now.
 * There is one resolver per process, which its holders share
 * (rc__resolver_hold, NULL + ENOMEM; rc__resolver_drop: the last ends it).
 * rc__resolve and the scratch are used between rc__resolver_begin, which
 * waits for the holders' turns to be over and makes the resolver look at
 * the objects loaded now (after dlopen or dlclose), and rc__resolver_end;
 * begin is false + EDEADLK when this thread is inside a turn already. */
typedef struct rc_resolver rc_resolver;
RC_INTERNAL rc_resolver *rc__resolver_hold(void);
RC_INTERNAL void rc__resolver_drop(rc_resolver *r);
RC_INTERNAL bool rc__resolver_begin(rc_resolver *r);
RC_INTERNAL void rc__resolver_end(rc_resolver *r);
RC_INTERNAL unsigned rc__resolve(rc_resolver *r, uintptr_t pc, uint32_t code, rc_frame *out,
                                 unsigned max);
/* 2 * RC_TRACEMALLOC_MAX_NFRAME frames of r's for its user to build a
 * traceback in: off the stack, which a thread made with a small one
 * (PTHREAD_STACK_MIN) has too little of for three arrays of 128 frames
 * (9 KiB) under the resolution. Used within a turn. */
RC_INTERNAL rc_frame *rc__resolver_scratch(rc_resolver *r);

/* snapshot.c: building a snapshot (take_snapshot, load, filter_traces,
 * tests). Strings are interned in the snapshot; frames must use strings
 * returned by rc__snapshot_string (function may be NULL). All return -1 /
 * NULL + ENOMEM on failure; the snapshot is then freed by the caller. */
RC_INTERNAL rc_snapshot *rc__snapshot_new(unsigned traceback_limit, size_t untraced);
RC_INTERNAL const char *rc__snapshot_string(rc_snapshot *s, const char *str, size_t len);
RC_INTERNAL int64_t rc__snapshot_add_traceback(rc_snapshot *s, const rc_frame *frames,
                                               unsigned nframe, unsigned total_nframe);
RC_INTERNAL int rc__snapshot_add_trace(rc_snapshot *s, unsigned domain, uint32_t traceback,
                                       size_t size);
RC_INTERNAL int rc__snapshot_seal(rc_snapshot *s); /* done adding */
/* Parses a dump held in memory (rc_snapshot_load parses a stream with the
 * same code). check_crc false skips the checksum (fuzzing reaches the
 * rest). NULL +
 * EINVAL for anything malformed, NULL + ENOMEM. */
RC_INTERNAL rc_snapshot *rc__snapshot_parse(const unsigned char *data, size_t len, bool check_crc);
/* rc_snapshot_load of the file open on fd (the rcgc command's standard
 * input, which may be a socket /dev/stdin cannot reopen); fd stays open. */
RC_INTERNAL rc_snapshot *rc__snapshot_load_fd(int fd);
/* FNV-1a of s[0..len): string interning in the tracer and in snapshots. */
RC_INTERNAL uint32_t rc__hash_bytes(const char *s, size_t len);
/* What `rcgc show` prints. domains: malloc'ed, sorted by domain. */
typedef struct rc_domain_total { unsigned domain; size_t traces, size; } rc_domain_total;
typedef struct rc_snapshot_info {
    unsigned traceback_limit;
    size_t traces, size, tracebacks, untraced;
    size_t ndomains;
    rc_domain_total *domains;
} rc_snapshot_info;
RC_INTERNAL int rc__snapshot_info(const rc_snapshot *s, rc_snapshot_info *out);


/* ------------------------------------------------- inline fast paths */

/* Fibonacci hashing of a key's bits above the alignment noise. */
static inline size_t rc_ptrmap_home(const rc_ptrmap *m, uintptr_t key) {
    uint64_t x = (uint64_t)(key >> 4) * 0x9E3779B97F4A7C15ull;
    return (size_t)(x ^ (x >> 29)) & m->mask;
}

/* Makes room for `extra` more keys without another allocation: 0, or -1 +
 * ENOMEM with m unchanged. */
static inline int rc_ptrmap_reserve(rc_heap *h, rc_ptrmap *m, size_t extra) {
    size_t need = (m->count + extra) << (m->sparse ? 2 : 1); /* the slots the load allows */
    if (RC_LIKELY(need <= (m->slots ? m->mask + 1 : 0)))
        return 0;
    return rc__ptrmap_grow(h, m, need);
}

/* The value stored for key, or NULL. */
static inline void *rc_ptrmap_get(const rc_ptrmap *m, uintptr_t key) {
    if (m->count == 0)
        return NULL;
    for (size_t i = rc_ptrmap_home(m, key);; i = (i + 1) & m->mask) {
        if (m->slots[i].key == key)
            return m->slots[i].val;
        if (m->slots[i].key == 0)
            return NULL;
    }
}

/* Telling AddressSanitizer (manual poisoning) and Valgrind (client requests)
 * which bytes the program may touch. Free in a release build outside
 * Valgrind: the requests are skipped unless rc__under_valgrind. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#include <sanitizer/asan_interface.h>
#define RC_ASAN 1
#endif
#ifdef RCGC_HAVE_VALGRIND
#include <valgrind/memcheck.h>
RC_INTERNAL extern int rc__under_valgrind;
#define RC_VALGRIND(stmt)                                                   \
    do {                                                                    \
        if (RC_UNLIKELY(__atomic_load_n(&rc__under_valgrind, __ATOMIC_RELAXED))) { \
            stmt;                                                           \
        }                                                                   \
    } while (0)
#else
#define RC_VALGRIND(stmt) ((void)0)
#endif

/* Whether the program runs under Valgrind: then every free takes the slow
 * path (rc_slow_free_update), and only it needs to tell Valgrind. */
static inline bool rc_under_valgrind(void) {
#ifdef RCGC_HAVE_VALGRIND
    return __atomic_load_n(&rc__under_valgrind, __ATOMIC_RELAXED) != 0;
#else
    return false;
#endif
}

/* p..p+n is no longer to be touched by the program. rc_mem_dead_if tells
 * Valgrind only if `valgrind` (a constant: false on the fast free path). */
static inline void rc_mem_dead_if(void *p, size_t n, bool valgrind) {
#ifdef RC_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
    if (valgrind)
        RC_VALGRIND(VALGRIND_MAKE_MEM_NOACCESS(p, n));
    (void)p, (void)n;
}
static inline void rc_mem_dead(void *p, size_t n) { rc_mem_dead_if(p, n, true); }

/* p..p+n may be used again; zeroed says whether its bytes are defined.
 * Valgrind is told only if `valgrind` (a constant: false on a fast path
 * that runs only when Valgrind does not). */
static inline void rc_mem_live_if(void *p, size_t n, bool zeroed, bool valgrind) {
#ifdef RC_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
    if (valgrind)
        RC_VALGRIND(if (zeroed) VALGRIND_MAKE_MEM_DEFINED(p, n);
                    else VALGRIND_MAKE_MEM_UNDEFINED(p, n));
    (void)p, (void)n, (void)zeroed;
}
static inline void rc_mem_live(void *p, size_t n, bool zeroed) {
    rc_mem_live_if(p, n, zeroed, true);
}

/* The word at p stays readable inside a dead block (a link, a dead header);
 * `valgrind` as for rc_mem_dead_if. */
static inline void rc_mem_word_if(void *p, bool valgrind) {
#ifdef RC_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, sizeof(void *));
#endif
    if (valgrind)
        RC_VALGRIND(VALGRIND_MAKE_MEM_DEFINED(p, sizeof(void *)));
    (void)p;
}
static inline void rc_mem_word(void *p) { rc_mem_word_if(p, true); }

/* The free mark of a raw block of `kind` (a constant at the fast paths) of
 * h: a word no program stores by chance (an untraced block's has its top
 * bit set, h->free_mark's). A traced block's mark is the word
 * before its payload, which rc_decref and rc_incref of the payload read as
 * an rc_head: it is one with a count of 0 (the mark in info), so that they
 * name a freed block instead of changing its mark by one (a second rc_free
 * then passed, and the block went on the free list twice). */
static inline uintptr_t rc_raw_mark(const rc_heap *h, const void *block, unsigned kind) {
    uintptr_t mark = h->free_mark ^ (uintptr_t)block;
    if (kind != RC_KIND_RAW_TRACED)
        return mark;
    rc_head dead = {0, (uint32_t)mark};
    memcpy(&mark, &dead, sizeof mark);
    return mark;
}

/* Whether the second word of raw block, of a pool of kind, holds its free
 * mark. The word of a live block may be undefined to Valgrind: a copy is
 * declared defined so that only the comparison, not the program, is
 * judged. */
static inline bool rc_raw_has_mark(const rc_heap *h, const char *block, unsigned kind) {
    uintptr_t word;
    memcpy(&word, block + sizeof(char *), sizeof word);
    RC_VALGRIND(VALGRIND_MAKE_MEM_DEFINED(&word, sizeof word));
    return word == rc_raw_mark(h, block, kind);
}

/* What an allocation does to the dead block of `kind` it hands out: made
 * live, a raw one's free mark cleared. */
static inline void rc_pool_hand_out(char *block, unsigned kind, size_t block_size,
                                    bool valgrind) {
    rc_mem_live_if(block, block_size, false, valgrind);
    if (kind == RC_KIND_RAW) { /* (a traced block's prefix is written by its maker) */
        ((uintptr_t *)block)[1] = 0; /* no free mark; still undefined to Valgrind */
        if (valgrind)
            RC_VALGRIND(VALGRIND_MAKE_MEM_UNDEFINED(block + sizeof(char *), sizeof(uintptr_t)));
    }
}

/* A block of block_size bytes (a multiple of RC_GRAIN, at most RC_SMALL_MAX;
 * rc_pool_take_in: any class's) from a pool of `kind` (a constant at every
 * call site); its bytes are undefined. rc_pool_take: the head pool of the class list gives a freed
 * block or carves a fresh one, else NULL (it is full, parked, or no pool:
 * nothing changed); Valgrind is told if `valgrind` (a constant). rc_pool_alloc:
 * that, else the slow path; NULL + ENOMEM. Both O(1). rc_pool_take_in:
 * rc_pool_take from p, the head of the class list (any class). */
static inline char *rc_pool_take_in(rc_pool *p, unsigned kind, size_t block_size,
                                    bool valgrind) {
    char *block = p->free;
    if (RC_LIKELY(block != NULL)) {
        p->free = *(char **)(block + RC_LINK_OFFSET(kind));
    } else if (p->fresh < p->end) {
        block = p->fresh;
        p->fresh += p->block_size; /* (not block_size: rc_malloc would keep it in a register) */
    } else {
        return NULL;
    }
    p->used++;
    rc_pool_hand_out(block, kind, block_size, valgrind);
    return block;
}

static inline char *rc_pool_take(rc_heap *h, unsigned kind, size_t block_size, bool valgrind) {
    return rc_pool_take_in(h->classes[kind][block_size / RC_GRAIN - 1], kind, block_size, valgrind);
}

static inline char *rc_pool_alloc(rc_heap *h, unsigned kind, size_t block_size) {
    char *block = rc_pool_take(h, kind, block_size, true);
    return RC_LIKELY(block != NULL) ? block : rc__pool_alloc_slow(h, kind, block_size);
}

/* Marks a block dead: poisoning, the free mark of a raw block. A
 * dead object's rc_head (refcnt 0 and RC_F_DEAD, written by the caller)
 * stays readable until the block is reused. `valgrind` (a constant at the
 * fast paths): tell Valgrind too, as the slow paths do. */
static inline void rc_pool_mark_dead(rc_heap *h, rc_pool *p, unsigned kind, char *block,
                                     bool valgrind) {
    rc_mem_dead_if(block, p->block_size, valgrind);
    if (RC_KIND_IS_RAW(kind)) {
        rc_mem_word_if(block + sizeof(char *), valgrind);
        ((uintptr_t *)block)[1] = rc_raw_mark(h, block, kind);
    } else {
        rc_mem_word_if(block + RC_HEAD_OFFSET(kind), valgrind);
    }
}

/* Pushes a dead block on its pool's free list (`valgrind` as above). */
static inline void rc_pool_link(rc_pool *p, unsigned kind, char *block, bool valgrind) {
    char *link = block + RC_LINK_OFFSET(kind);
    rc_mem_word_if(link, valgrind);
    *(char **)link = p->free;
    p->free = block;
    p->used--;
}

/* Gives a dead block of `kind` back to its pool p, with nothing to trace,
 * poison or quarantine: the fast paths (kind a constant, valgrind false:
 * they saw no reason for the slow path) and the slow path when only
 * tracing or Valgrind sent it there. O(1): the common case neither empties
 * the pool nor finds it off its class list (full). rc_pool_put_back leaves
 * rc__pool_after_free to the caller, when it returns true (rarely). */
static inline bool rc_pool_put_back(rc_heap *h, rc_pool *p, unsigned kind, char *block,
                                    bool valgrind) {
    rc_pool_mark_dead(h, p, kind, block, valgrind);
    rc_pool_link(p, kind, block, valgrind);
    return RC_UNLIKELY(p->used == 0 || !p->in_list);
}
static inline void rc_pool_give_back(rc_heap *h, rc_pool *p, unsigned kind, char *block,
                                     bool valgrind) {
    if (rc_pool_put_back(h, p, kind, block, valgrind))
        rc__pool_after_free(h, p);
}

/* Frees a block of `kind` (a constant at every call site), live, of h;
 * rc_pool_free_in when its pool p is known. O(1). */
static inline void rc_pool_free_in(rc_heap *h, rc_pool *p, unsigned kind, char *block) {
    if (RC_UNLIKELY(h->slow_free))
        rc__pool_free_slow(h, p, block);
    else
        rc_pool_give_back(h, p, kind, block, false);
}

static inline void rc_pool_free(rc_heap *h, unsigned kind, char *block) {
    rc_pool_free_in(h, rc_pool_of(block), kind, block);
}

/* Keeps h->slow_free true exactly while a free needs more than the fast
 * path: debug mode, teardown, tracing (the trace of a pool block is ended
 * in rc__pool_free_slow, so the fast path has no tracing test), or
 * Valgrind (told of each free there, so the fast path does not ask); and
 * h->slow_pool_free for all but tracing (rc_free ends a traced raw block's
 * prefix trace itself, then needs nothing more). A change of slow_free
 * tags the pool slots anew (rc_free's fast path reads no slow_free). */
static inline void rc_slow_free_update(rc_heap *h) {
    bool was = h->slow_free;
    h->slow_pool_free = h->debug || h->dying || rc_under_valgrind();
    h->slow_free = h->slow_pool_free || h->tracer != NULL;
    if (h->slow_free != was)
        rc__pool_slots_reset(h);
}

/* Collector lists (gc.c's, inline for object.c's hot paths). prev's low bits
 * may hold collector flags during a collection: masked, and kept. */
static inline rc_gchead *rc_gc_prev(const rc_gchead *g) {
    return (rc_gchead *)(g->prev & ~RC_GC_PREV_FLAGS);
}
static inline void rc_gc_set_prev(rc_gchead *g, const rc_gchead *p) {
    g->prev = (g->prev & RC_GC_PREV_FLAGS) | (uintptr_t)p;
}
static inline void rc_gc_list_append(rc_gchead *node, rc_gchead *list) {
    rc_gchead *last = rc_gc_prev(list);
    rc_gc_set_prev(node, last);
    node->next = (uintptr_t)list;
    last->next = (uintptr_t)node;
    list->prev = (uintptr_t)node;
}
static inline void rc_gc_list_remove(rc_gchead *node) {
    rc_gchead *prev = rc_gc_prev(node), *next = (rc_gchead *)node->next;
    prev->next = (uintptr_t)next;
    rc_gc_set_prev(next, prev);
    node->next = 0;
}

/* A new tracked object joins generation 0; then, if count0 passed its
 * threshold, the automatic collection runs, with the new object in it (it
 * survives: its creator holds it). This is CPython 3.12's timing:
 * _PyObject_GC_Link counts and schedules, the collection runs at the next
 * bytecode boundary, once the object is made. rc_gc_link_quiet: the same
 * when the caller saw that no collection is due (rc_gc_due false). */
static inline bool rc_gc_due(const rc_heap *h) {
    return h->gc.gen[0].count >= h->gc.gen[0].threshold && h->gc.enabled;
}

static inline void rc_gc_link_quiet(rc_heap *h, rc_gchead *g) {
    h->gc.gen[0].count++;
    g->prev = 0;
    rc_gc_list_append(g, &h->gc.gen[0].head);
}

/* Gives a tracked object joining generation 0 late its generation and the
 * heap's epoch (gc.c's light pass): it may have missed a full collection's
 * change of epoch. Tests build the library with RCGC_GC_STALE_EPOCHS, which
 * gives it the other one: the next full collection takes it for an object
 * whose turn came. */
static inline void rc_gc_stamp(rc_heap *h, rc_gchead *g) {
    rc_head *hd = (rc_head *)(g + 1);
#ifdef RCGC_GC_STALE_EPOCHS
    hd->info = (hd->info & ~(RC_F_EPOCH | RC_F_GEN)) | (h->gc.epoch ^ RC_F_EPOCH);
#else
    hd->info = (hd->info & ~(RC_F_EPOCH | RC_F_GEN)) | h->gc.epoch;
#endif
}

static inline void rc_gc_link(rc_heap *h, rc_gchead *g) {
    rc_gcstate *gc = &h->gc;
    rc_gc_link_quiet(h, g);
    if (RC_UNLIKELY(gc->gen[0].count > gc->gen[0].threshold) && gc->enabled && !gc->auto_later)
        rc__gc_collect_auto(h);
}

/* An object resurrected by its finalizer while dying joins generation 0
 * again, without counting as an allocation. */
static inline void rc_gc_retrack(rc_heap *h, rc_gchead *g) {
    rc_gc_stamp(h, g);
    g->prev = 0;
    rc_gc_list_append(g, &h->gc.gen[0].head);
}

/* A tracked object leaves whatever collector list holds it, if any. */
static inline void rc_gc_unlink(rc_gchead *g) {
    if (g->next)
        rc_gc_list_remove(g);
}

#endif /* RCGC_INTERNAL_H */
