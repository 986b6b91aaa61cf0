/*
 * tracemalloc.c — allocation tracing, CPython's tracemalloc for one heap.
 *
 * A trace is one live block (domain 0: objects and rc_malloc blocks; other
 * domains: rc_tracemalloc_track) with the size asked for and an interned
 * traceback. Everything below comes from the heap's rc_alloc_fn (tr_alloc),
 * and is counted in tr->memory; native return addresses are resolved only
 * when someone looks (snapshot, get_object_traceback, misuse message).
 *
 * Data and invariants:
 *   traces      per domain, a hash table on the address: buckets of four
 *               slots {ptr, tb, size} stored as three arrays (one aligned
 *               cache line), probed bucket by bucket from the key's home.
 *               A slot is free exactly when tb == 0 (traceback ids start
 *               at 1). Each bucket counts the live keys placed past it
 *               (stuck once at 255, until the next growth), so a lookup
 *               stops at the first bucket with a zero count (or after every
 *               bucket: all counts can be non-zero at once) and a removal
 *               is a store plus, for a key away from home, a few
 *               decrements. The table grows by
 *               half when 4/5 full, so it stays between 8/15 and 4/5 full
 *               as it grows: at most 31 bytes per live trace then. It
 *               shrinks to a quarter below 1/8 full (table_shrink), so its
 *               size follows the live traces, not their peak (at most 8
 *               slots, about 130 bytes, per live trace; 16 buckets at
 *               least, or, for a domain other than 0 with no trace left,
 *               none: table_release).
 *               A block's address has no trace when it is allocated (every
 *               free of a traced block calls rc__trace_free), so
 *               rc__trace_alloc inserts without looking first.
 *               size == BIG_SIZE marks a size that does not fit 32 bits:
 *               tb is then 1 + an index into bigs[], which holds the real
 *               size and traceback id (free ones chained through next).
 *   tracebacks  interned (stored once): records indexed by id - 1, their
 *               frames in one array of words, a hash set of ids to find
 *               them. A word is a native return address, or GIVEN_BIT and
 *               the index of a given frame (a call site's or a frame
 *               provider's: file, line, function), each distinct one kept
 *               once in `given` (a hash set of indexes finds them).
 *   strings     copies of the frame provider's strings, interned by
 *               content (the provider's buffers may not last).
 *   current     the sum of all traced sizes; peak >= current.
 * An allocation whose trace cannot be stored for lack of memory succeeds
 * untraced and is counted in `untraced` (carried into snapshots).
 */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define BIG_SIZE UINT32_MAX
#define BUCKET 4 /* slots per bucket: one 64-byte line */
#define LINE 64
#define OVERFLOW_STUCK UINT8_MAX
#define MIN_BUCKETS 16 /* a trace table's first size, and its smallest */
#define STRING_CACHE_BITS 6 /* the provider strings' cache: 64 entries */
#define STRING_CACHE (1u << STRING_CACHE_BITS)
/* The few functions of a traced allocation and free, inlined into them. */
#define HOT static inline __attribute__((always_inline))
#define UNKNOWN_FILE "<unknown>"

/* Four traces, one cache line: the slot of lane i is {ptr[i], tb[i],
 * size[i]}, so that the four ids (and pointers) are contiguous. */
typedef struct trace_bucket {
    uintptr_t ptr[BUCKET];
    uint32_t tb[BUCKET]; /* 0: the slot is free */
    uint32_t size[BUCKET];
} trace_bucket;

/* One slot: lane i of bucket b; b == NULL for none. */
typedef struct slot_ref {
    trace_bucket *b;
    unsigned i;
} slot_ref;

typedef struct trace_table {
    trace_bucket *buckets; /* nbuckets, cache-line aligned in mem */
    uint8_t *overflow;     /* per bucket: live keys placed past it; stuck at 255 */
    void *mem;             /* what holds both (table_bytes) */
    size_t nbuckets, count;
    size_t limit;          /* count at which the table grows: 4/5 of the slots */
    size_t shrink_at;      /* count below which it shrinks: 1/8 of the slots, 0 at 16 buckets or none */
} trace_table;

typedef struct domain_traces {
    unsigned domain;
    trace_table table;
} domain_traces;

typedef struct big_size {
    size_t size;
    uint32_t tb;   /* 0 when the record is free */
    uint32_t next; /* free: 1 + next free record, 0 ends */
} big_size;

/* A frame as captured, and a given frame as kept (tr->given). */
typedef struct raw_frame {
    const char *file; /* NULL: where is a return address */
    union {
        const char *func; /* of a given frame */
        uintptr_t code;   /* of the first return address: the walk's code table
                             (rc__stack_walk), for every one; 0 in the others */
    };
    uintptr_t where;
} raw_frame;

/* A traceback's frame as kept: a return address, or GIVEN_BIT | the index
 * of a given frame. User-space addresses leave the top bit clear (below
 * 2^48 on x86-64 and AArch64). A deep native traceback then costs 8 bytes
 * a frame, not a raw_frame's 24: 4097 distinct tracebacks of 24 frames
 * took 832 bytes each, now 320 (CPython's frames take 16 bytes each). */
#define GIVEN_BIT ((uintptr_t)1 << 63)

/* A traceback as captured: nframe frames from raw[first], total frames on
 * the stack (what interning compares), and as shown: resolved, made the
 * first time it is shown (tb_resolved) and kept, so that a frame resolved
 * while its code was loaded keeps its name after a dlclose. They differ:
 * a return address becomes a frame per function inlined there; and for a
 * call site followed by native frames, the first native frame is the
 * return address into the function that called the library, which is the
 * call site's own function, already frame 0, unless that function
 * tail-called the library (then the frame is its caller's, and the
 * function's own is gone from the stack). Which one it is takes resolving
 * it, so the capture keeps one frame more than the limit. */
typedef struct tb_rec {
    uint32_t hash;
    uint16_t nframe, total;
    uint32_t first;          /* index of its first frame in words[] */
    uint32_t code;           /* the walk's code table (rc__stack_walk), or 0 */
    rc_traceback *resolved;  /* as shown, made on demand */
} tb_rec;

/* A direct-mapped cache of nframe-1 tracebacks by call site: the common
 * case (rc_malloc through the macros, nframe 1) then costs one compare.
 * It starts in the tracer (SITE_CACHE entries) and grows fourfold, up to
 * SITE_CACHE_MAX, each time a new site has taken a slot from another
 * twice as often as there are slots: a program allocating from 5000 sites
 * in turn missed on most calls (62 ns a traced allocation, 8 from one). */
#define SITE_CACHE 256
#define SITE_CACHE_MAX 16384
typedef struct site_entry {
    const char *file, *func;
    uintptr_t line;
    uint32_t tb; /* 0: empty */
} site_entry;

/* The traceback ids of the last objects and blocks to die, direct-mapped
 * by address, so that misuse of a dead object or freed block names where
 * it was made (as RCGC_DEBUG's quarantine does for the ones it holds),
 * without a lookup on any allocation. Every end of a trace in domain 0
 * writes its entry (the table's, and a traced raw block's prefix, which
 * its free then overwrites), tb 0 for a block that had none, and so does a
 * block left untraced (rc_realloc out of memory): an entry is the block
 * last seen at that address while tracing, never an older one's. The
 * prefix's entry costs the traced rc_malloc/rc_free pair about 1.5%. */
#define DEATHS 1024
typedef struct death {
    uintptr_t ptr;
    uint32_t tb; /* 0: untraced */
} death;

typedef struct rc_tracer rc_tracer;

struct rc_tracer {
    int nframe;
    size_t current, peak, untraced, memory;
    size_t prefixes;               /* live traces kept in block prefixes (alloc.c) */
    /* domain-0 traces rc_tracemalloc_track put in the table since the last
     * forget: while there are any, an address may hold one that no free
     * ends (the block made there later, or a traced raw block whose trace
     * went to the table), so allocations and prefix frees look for it */
    size_t tracked0;
    rc_frame_provider provider;
    void *provider_arg;

    trace_table traces;            /* domain 0 */
    domain_traces *domains;        /* the others */
    size_t ndomains, domains_cap;
    uint32_t *domain_index;        /* open addressing, at most half full: index + 1, or 0 */
    size_t domain_index_cap;       /* a power of two */
    big_size *bigs;
    size_t nbigs, bigs_cap;
    uint32_t big_free;

    tb_rec *tbs;
    size_t ntbs, tbs_cap;
    uintptr_t *words;              /* the tracebacks' frames (GIVEN_BIT) */
    size_t nwords, words_cap;
    uint32_t *tb_set;              /* ids, 0 free; at most half full */
    size_t tb_set_cap;
    raw_frame *given;              /* distinct given frames */
    size_t ngiven, given_cap;
    uint32_t *given_set;           /* their indexes + 1, 0 free; at most half full */
    size_t given_set_cap;

    char **strings;                /* interned provider strings, NULL free */
    size_t nstrings, strings_cap;
    struct {                       /* the provider's last pointers: their copies, */
        const char *given, *copy;  /* equal when last looked (see tr_string) */
    } string_cache[STRING_CACHE];

    rc_resolver *resolver;         /* the process's, held from the first need on */
    bool in_turn;                  /* resolving tracebacks: stop and clear are misuse */
    site_entry *sites;             /* nframe 1, no provider; cleared with tbs */
    size_t sites_mask;             /* its size - 1 */
    size_t site_evictions;         /* sites that took a slot from another since it grew */
    site_entry first_sites[SITE_CACHE]; /* sites, until it grows */
    death deaths[DEATHS];          /* cleared with tbs */
};

static inline void note_death(rc_tracer *tr, const void *ptr, uint32_t tb) {
    tr->deaths[((uintptr_t)ptr >> 4) % DEATHS] = (death){(uintptr_t)ptr, tb};
}

/* The traceback id of the block last seen dying at ptr, or 0. */
static uint32_t death_tb(const rc_tracer *tr, const void *ptr) {
    const death *d = &tr->deaths[((uintptr_t)ptr >> 4) % DEATHS];
    return d->ptr == (uintptr_t)ptr ? d->tb : 0;
}

/* ------------------------------------------------------------- memory */

/* rc__sys_alloc for the tracer's tables, keeping tr->memory. */
static void *tr_alloc(rc_heap *h, void *ptr, size_t old_size, size_t new_size) {
    void *p = rc__sys_alloc(h, ptr, old_size, new_size);
    if (p)
        h->tracer->memory += new_size - old_size;
    return p;
}

static void tr_free(rc_heap *h, void *ptr, size_t size) {
    if (ptr == NULL)
        return;
    rc__sys_free(h, ptr, size);
    h->tracer->memory -= size;
}

/* Grows *arr (of *cap elements of size elem) to hold need; 0 or -1 ENOMEM. */
static int tr_reserve(rc_heap *h, void **arr, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap * 2 : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem || ncap > UINT32_MAX) {
        errno = ENOMEM;
        return -1;
    }
    void *p = tr_alloc(h, *arr, *cap * elem, ncap * elem);
    if (p == NULL)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* ------------------------------------------------------------- traces */

/* The home bucket of ptr: Fibonacci hashing mapped onto any number of
 * buckets (multiply-high), so a table can grow by half. */
HOT size_t home_of(uintptr_t ptr, size_t nbuckets) {
    uint64_t x = (uint64_t)ptr * 0x9E3779B97F4A7C15ull;
    return (size_t)(((unsigned __int128)x * nbuckets) >> 64);
}

static inline size_t next_bucket(const trace_table *t, size_t b) {
    return b + 1 == t->nbuckets ? 0 : b + 1;
}

#ifdef __SSE2__
/* The 16 aligned bytes at p as a vector. */
HOT __m128i vec_at(const void *p) {
    return _mm_load_si128((const __m128i *)p);
}
#endif

/* Bit i set when slot i of b is free. The masks are computed without
 * branches, as which slot it is cannot be predicted; with SSE2 the four
 * ids are one compare. */
HOT unsigned free_mask(const trace_bucket *b) {
#ifdef __SSE2__
    __m128i empty = _mm_cmpeq_epi32(vec_at(b->tb), _mm_setzero_si128());
    return (unsigned)_mm_movemask_ps(_mm_castsi128_ps(empty));
#else
    return (unsigned)(b->tb[0] == 0) | (unsigned)(b->tb[1] == 0) << 1 |
           (unsigned)(b->tb[2] == 0) << 2 | (unsigned)(b->tb[3] == 0) << 3;
#endif
}

/* Bit i set when slot i of b holds ptr. With SSE2 the 32-bit halves of
 * the four pointers are compared at once; a pointer matches where both of
 * its halves do. */
HOT unsigned match_mask(const trace_bucket *b, uintptr_t ptr) {
#ifdef __SSE2__
    __m128i key = _mm_set1_epi64x((long long)ptr);
    __m128 e01 = _mm_castsi128_ps(_mm_cmpeq_epi32(vec_at(&b->ptr[0]), key));
    __m128 e23 = _mm_castsi128_ps(_mm_cmpeq_epi32(vec_at(&b->ptr[2]), key));
    __m128 eq = _mm_and_ps(_mm_shuffle_ps(e01, e23, _MM_SHUFFLE(2, 0, 2, 0)),  /* low halves */
                           _mm_shuffle_ps(e01, e23, _MM_SHUFFLE(3, 1, 3, 1))); /* high */
    return (unsigned)_mm_movemask_ps(eq) & ~free_mask(b);
#else
    unsigned m = (unsigned)(b->ptr[0] == ptr) | (unsigned)(b->ptr[1] == ptr) << 1 |
                 (unsigned)(b->ptr[2] == ptr) << 2 | (unsigned)(b->ptr[3] == ptr) << 3;
    return m & ~free_mask(b);
#endif
}

HOT void slot_set(slot_ref r, uintptr_t ptr, uint32_t tb, uint32_t size) {
    r.b->ptr[r.i] = ptr;
    r.b->tb[r.i] = tb;
    r.b->size[r.i] = size;
}

/* The slot of ptr, searched from bucket b (its home), or none. At most
 * every bucket once: removals can leave every bucket with a key placed past
 * it (each bucket filled in turn, one key spilled on, the rest removed), and
 * then only the count of buckets ends the search for an absent key. */
HOT slot_ref table_find_from(const trace_table *t, size_t b, uintptr_t ptr) {
    for (size_t left = t->nbuckets; left > 0; left--, b = next_bucket(t, b)) {
        unsigned m = match_mask(&t->buckets[b], ptr);
        if (m)
            return (slot_ref){&t->buckets[b], (unsigned)__builtin_ctz(m)};
        if (t->overflow[b] == 0)
            break;
    }
    return (slot_ref){NULL, 0};
}

static slot_ref table_find(const trace_table *t, uintptr_t ptr) {
    return t->count ? table_find_from(t, home_of(ptr, t->nbuckets), ptr) : (slot_ref){NULL, 0};
}

/* A free slot for a key not in buckets[0..nbuckets), from its home bucket
 * on, counting the key in the overflow count of each full bucket it
 * passes. There is one: the table is never full. */
HOT slot_ref bucket_claim(trace_bucket *buckets, uint8_t *overflow, size_t nbuckets,
                             uintptr_t ptr) {
    for (size_t b = home_of(ptr, nbuckets);; b = b + 1 == nbuckets ? 0 : b + 1) {
        unsigned m = free_mask(&buckets[b]);
        if (m)
            return (slot_ref){&buckets[b], (unsigned)__builtin_ctz(m)};
        if (overflow[b] != OVERFLOW_STUCK)
            overflow[b]++;
    }
}

/* The bytes of a table of nbuckets buckets: the buckets, aligned to a
 * cache line, then the overflow counts. */
static size_t table_bytes(size_t nbuckets) {
    return nbuckets ? nbuckets * (sizeof(trace_bucket) + 1) + LINE - 1 : 0;
}

/* Rebuilds t with nbuckets buckets; 0 or -1 ENOMEM (t unchanged). */
static int table_rebuild(rc_heap *h, trace_table *t, size_t nbuckets) {
    size_t bytes = table_bytes(nbuckets);
    void *mem = tr_alloc(h, NULL, 0, bytes);
    if (mem == NULL)
        return -1;
    memset(mem, 0, bytes);
    trace_bucket *buckets = (trace_bucket *)(((uintptr_t)mem + LINE - 1) & ~(uintptr_t)(LINE - 1));
    uint8_t *overflow = (uint8_t *)(buckets + nbuckets);
    for (size_t b = 0; b < t->nbuckets; b++) {
        const trace_bucket *old = &t->buckets[b];
        for (unsigned i = 0; i < BUCKET; i++)
            if (old->tb[i])
                slot_set(bucket_claim(buckets, overflow, nbuckets, old->ptr[i]), old->ptr[i],
                         old->tb[i], old->size[i]);
    }
    tr_free(h, t->mem, table_bytes(t->nbuckets));
    t->mem = mem;
    t->buckets = buckets;
    t->overflow = overflow;
    t->nbuckets = nbuckets;
    t->limit = nbuckets * BUCKET * 4 / 5;
    t->shrink_at = nbuckets > MIN_BUCKETS ? nbuckets * BUCKET / 8 : 0;
    return 0;
}

/* Rebuilds t a quarter the size (under half full then) once it is under
 * 1/8 full, so that a table that held a peak of traces costs what its live
 * ones do (a snapshot walks every bucket), as CPython's hashtable shrinks.
 * Each shrink follows at least 3/8 of its slots' removals: O(1) amortized.
 * Failing changes nothing but when the next try comes; errno is kept. */
static __attribute__((noinline)) void table_shrink(rc_heap *h, trace_table *t) {
    int saved = errno;
    size_t nbuckets = t->nbuckets / 4 > MIN_BUCKETS ? t->nbuckets / 4 : MIN_BUCKETS;
    if (table_rebuild(h, t, nbuckets) < 0)
        t->shrink_at = t->count / 2;
    errno = saved;
}

/* Frees t's buckets, empty: a domain's table whose last trace was
 * untracked (a table is 1 KiB at least, and a program may use a domain
 * per arena or per pool: a million of them once held 1.15 GB after every
 * trace was gone). The next trace makes it anew. */
static void table_release(rc_heap *h, trace_table *t) {
    tr_free(h, t->mem, table_bytes(t->nbuckets));
    *t = (trace_table){0};
}

/* Room in t for one more trace: a claim after it cannot fail. 0, or -1 +
 * ENOMEM. */
static inline int table_reserve(rc_heap *h, trace_table *t) {
    if (RC_LIKELY(t->count < t->limit))
        return 0;
    return table_rebuild(h, t, t->nbuckets ? t->nbuckets + t->nbuckets / 2 : MIN_BUCKETS);
}

/* A free slot for ptr, which must have none, counted in t; none + ENOMEM.
 * Grows the table by half past 4/5 full. */
static slot_ref table_claim(rc_heap *h, trace_table *t, uintptr_t ptr) {
    if (table_reserve(h, t) < 0)
        return (slot_ref){NULL, 0};
    t->count++;
    return bucket_claim(t->buckets, t->overflow, t->nbuckets, ptr);
}

/* Empties slot r of t and uncounts its key from the buckets it had
 * passed on the way from its home. */
static void table_remove(trace_table *t, slot_ref r) {
    size_t at = (size_t)(r.b - t->buckets);
    for (size_t b = home_of(r.b->ptr[r.i], t->nbuckets); b != at; b = next_bucket(t, b))
        if (t->overflow[b] != OVERFLOW_STUCK)
            t->overflow[b]--;
    r.b->tb[r.i] = 0;
    t->count--;
}

/* Buckets from `from` on to `to`, going round: how far a key placed in
 * bucket to went from its home bucket from. */
static size_t bucket_distance(const trace_table *t, size_t from, size_t to) {
    return to >= from ? to - from : to + t->nbuckets - from;
}

/* Whether t keeps the invariants stated at trace_table: count is its live
 * slots, each live key is found from its home, and each bucket's overflow
 * count is the number of live keys placed past it (or stuck). Allocates
 * nothing: a bucket's keys placed past it sit at most `reach` buckets on. */
static bool table_valid(const trace_table *t) {
    size_t live = 0, reach = 0;
    for (size_t b = 0; b < t->nbuckets; b++)
        for (unsigned i = 0; i < BUCKET; i++) {
            uintptr_t ptr = t->buckets[b].ptr[i];
            if (t->buckets[b].tb[i] == 0)
                continue;
            live++;
            size_t d = bucket_distance(t, home_of(ptr, t->nbuckets), b);
            reach = d > reach ? d : reach;
            if (table_find(t, ptr).b != &t->buckets[b])
                return false;
        }
    if (live != t->count || (t->nbuckets && live >= t->nbuckets * BUCKET))
        return false;
    for (size_t b = 0; b < t->nbuckets; b++) {
        size_t past = 0;
        for (size_t k = 1, at = b; k <= reach; k++) {
            at = next_bucket(t, at);
            for (unsigned i = 0; i < BUCKET; i++)
                past += t->buckets[at].tb[i] &&
                        bucket_distance(t, home_of(t->buckets[at].ptr[i], t->nbuckets), at) >= k;
        }
        if (t->overflow[b] != OVERFLOW_STUCK && t->overflow[b] != past)
            return false;
    }
    return true;
}

bool rc__trace_tables_valid(const rc_heap *h) {
    const rc_tracer *tr = h->tracer;
    if (tr == NULL)
        return true;
    if (!table_valid(&tr->traces))
        return false;
    for (size_t i = 0; i < tr->ndomains; i++)
        if (!table_valid(&tr->domains[i].table))
            return false;
    return true;
}

static void table_free(rc_heap *h, trace_table *t) {
    tr_free(h, t->mem, table_bytes(t->nbuckets));
}

static size_t slot_size(const rc_tracer *tr, slot_ref r) {
    uint32_t size = r.b->size[r.i];
    return size == BIG_SIZE ? tr->bigs[r.b->tb[r.i] - 1].size : size;
}

static uint32_t slot_tb(const rc_tracer *tr, slot_ref r) {
    return r.b->size[r.i] == BIG_SIZE ? tr->bigs[r.b->tb[r.i] - 1].tb : r.b->tb[r.i];
}

/* Room for one more big-size record, so that big_new cannot fail; 0 or -1
 * ENOMEM. */
static int big_reserve(rc_heap *h, rc_tracer *tr) {
    if (tr->big_free)
        return 0;
    return tr_reserve(h, (void **)&tr->bigs, &tr->bigs_cap, tr->nbigs + 1, sizeof *tr->bigs);
}

/* A big-size record holding (tb, size): 1 + its index, or 0 + ENOMEM. */
static uint32_t big_new(rc_heap *h, rc_tracer *tr, uint32_t tb, size_t size) {
    if (big_reserve(h, tr) < 0)
        return 0;
    uint32_t idx = tr->big_free;
    if (idx == 0)
        idx = (uint32_t)++tr->nbigs;
    else
        tr->big_free = tr->bigs[idx - 1].next;
    tr->bigs[idx - 1] = (big_size){size, tb, 0};
    return idx;
}

/* Gives back big-size record idx (1 + its index). */
static void big_release(rc_tracer *tr, uint32_t idx) {
    big_size *b = &tr->bigs[idx - 1];
    b->tb = 0;
    b->next = tr->big_free;
    tr->big_free = idx;
}

/* The slot of domain in tr->domain_index: holding its index + 1, or 0
 * where it goes. */
static uint32_t *domain_slot(const rc_tracer *tr, unsigned domain) {
    size_t mask = tr->domain_index_cap - 1;
    for (size_t i = (domain * 0x9E3779B1u) & mask;; i = (i + 1) & mask) {
        uint32_t k = tr->domain_index[i];
        if (k == 0 || tr->domains[k - 1].domain == domain)
            return &tr->domain_index[i];
    }
}

/* The table of domain, or NULL: O(1) however many domains there are. */
static trace_table *domain_table(rc_tracer *tr, unsigned domain) {
    if (domain == 0)
        return &tr->traces;
    uint32_t k = tr->ndomains ? *domain_slot(tr, domain) : 0;
    return k ? &tr->domains[k - 1].table : NULL;
}

/* Doubles tr->domain_index; 0 or -1 ENOMEM (unchanged). */
static int domain_index_grow(rc_heap *h, rc_tracer *tr) {
    size_t cap = tr->domain_index_cap ? 2 * tr->domain_index_cap : 16;
    uint32_t *index = tr_alloc(h, NULL, 0, cap * sizeof *index);
    if (index == NULL)
        return -1;
    memset(index, 0, cap * sizeof *index);
    tr_free(h, tr->domain_index, tr->domain_index_cap * sizeof *index);
    tr->domain_index = index;
    tr->domain_index_cap = cap;
    for (size_t i = 0; i < tr->ndomains; i++)
        *domain_slot(tr, tr->domains[i].domain) = (uint32_t)(i + 1);
    return 0;
}

/* The table of domain, made if new; NULL + ENOMEM. */
static trace_table *domain_table_make(rc_heap *h, rc_tracer *tr, unsigned domain) {
    trace_table *t = domain_table(tr, domain);
    if (t)
        return t;
    if (((tr->ndomains + 1) * 2 > tr->domain_index_cap && domain_index_grow(h, tr) < 0) ||
        tr_reserve(h, (void **)&tr->domains, &tr->domains_cap, tr->ndomains + 1,
                   sizeof *tr->domains) < 0)
        return NULL;
    domain_traces *d = &tr->domains[tr->ndomains++];
    *d = (domain_traces){.domain = domain};
    *domain_slot(tr, domain) = (uint32_t)tr->ndomains;
    return &d->table;
}

/* current and peak after a new trace of size bytes. */
HOT void count_add(rc_tracer *tr, size_t size) {
    tr->current += size;
    if (tr->current > tr->peak)
        tr->peak = tr->current;
}

/* Forgets trace r of t. */
static __attribute__((noinline)) void trace_drop(rc_tracer *tr, trace_table *t, slot_ref r) {
    tr->current -= slot_size(tr, r);
    if (r.b->size[r.i] == BIG_SIZE)
        big_release(tr, r.b->tb[r.i]);
    table_remove(t, r);
}

/* Records (tb, size) for ptr, which has no trace in t; 0 or -1 ENOMEM. */
static int trace_add(rc_heap *h, rc_tracer *tr, trace_table *t, uintptr_t ptr, uint32_t tb,
                     size_t size) {
    bool big = size >= BIG_SIZE;
    if (big && (tb = big_new(h, tr, tb, size)) == 0)
        return -1;
    slot_ref r = table_claim(h, t, ptr);
    if (r.b == NULL) {
        if (big)
            big_release(tr, tb);
        return -1;
    }
    slot_set(r, ptr, tb, big ? BIG_SIZE : (uint32_t)size);
    count_add(tr, size);
    return 0;
}

/* --------------------------------------------------------- tracebacks */

/* The code table of captured frames f[0..n): their first return address's. */
static uint32_t code_of(const raw_frame *f, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        if (f[i].file == NULL)
            return (uint32_t)f[i].code;
    return 0;
}

static uint64_t mix(uint64_t x, uintptr_t v) {
    x = (x ^ v) * 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 31);
}

static uint32_t hash_given(const raw_frame *g) {
    return (uint32_t)(mix(mix(mix(0x452821E638D01377ull, (uintptr_t)g->file), (uintptr_t)g->func),
                          g->where) >> 32);
}

static uint32_t hash_frames(const raw_frame *f, unsigned n, unsigned total, uint32_t code) {
    uint64_t x = 0x243F6A8885A308D3ull ^ n ^ ((uint64_t)total << 16) ^ ((uint64_t)code << 32);
    for (unsigned i = 0; i < n; i++)
        x = mix(x, f[i].file ? hash_given(&f[i]) : f[i].where);
    return (uint32_t)(x >> 32);
}

static bool given_equal(const raw_frame *a, const raw_frame *b) {
    return a->file == b->file && a->func == b->func && a->where == b->where;
}

/* Whether kept words w[0..n) are the captured frames f[0..n). */
static bool frames_equal(const rc_tracer *tr, const uintptr_t *w, const raw_frame *f, unsigned n) {
    for (unsigned i = 0; i < n; i++)
        if (f[i].file ? !(w[i] & GIVEN_BIT) || !given_equal(&tr->given[w[i] & ~GIVEN_BIT], &f[i])
                      : w[i] != f[i].where)
            return false;
    return true;
}

/* A hash set of n uint32_t indexes + 1 (0 free) grown to twice n's room:
 * rehashed from the items (hash_at(i) of item i), or -1 + ENOMEM. */
static int set_grow(rc_heap *h, uint32_t **set, size_t *cap, size_t n,
                    uint32_t (*hash_at)(const rc_tracer *, size_t), const rc_tracer *tr) {
    size_t grown = *cap ? *cap * 2 : 64;
    uint32_t *fresh = tr_alloc(h, NULL, 0, grown * sizeof *fresh);
    if (fresh == NULL)
        return -1;
    memset(fresh, 0, grown * sizeof *fresh);
    for (size_t k = 0; k < n; k++) {
        size_t j = hash_at(tr, k) & (grown - 1);
        while (fresh[j])
            j = (j + 1) & (grown - 1);
        fresh[j] = (uint32_t)(k + 1);
    }
    tr_free(h, *set, *cap * sizeof **set);
    *set = fresh;
    *cap = grown;
    return 0;
}

/* The free slot for an item of that hash in a hash set of n items (see
 * set_grow), grown first when one more would fill it past half; -1 +
 * ENOMEM. */
static ptrdiff_t set_slot(rc_heap *h, uint32_t **set, size_t *cap, size_t n, uint32_t hash,
                          uint32_t (*hash_at)(const rc_tracer *, size_t), const rc_tracer *tr) {
    if ((n + 1) * 2 > *cap && set_grow(h, set, cap, n, hash_at, tr) < 0)
        return -1;
    size_t mask = *cap - 1, i = hash & mask;
    while ((*set)[i])
        i = (i + 1) & mask;
    return (ptrdiff_t)i;
}

static uint32_t tb_hash_at(const rc_tracer *tr, size_t k) { return tr->tbs[k].hash; }
static uint32_t given_hash_at(const rc_tracer *tr, size_t k) { return hash_given(&tr->given[k]); }

/* The word of given frame g, kept once; 0 + ENOMEM. */
static uintptr_t given_word(rc_heap *h, rc_tracer *tr, const raw_frame *g) {
    uint32_t hash = hash_given(g);
    size_t mask = tr->given_set_cap - 1, i = hash & mask;
    if (tr->given_set_cap)
        for (; tr->given_set[i]; i = (i + 1) & mask)
            if (given_equal(&tr->given[tr->given_set[i] - 1], g))
                return GIVEN_BIT | (tr->given_set[i] - 1);
    ptrdiff_t slot = -1;
    if (tr->ngiven >= UINT32_MAX - 1 ||
        tr_reserve(h, (void **)&tr->given, &tr->given_cap, tr->ngiven + 1, sizeof *tr->given) < 0 ||
        (slot = set_slot(h, &tr->given_set, &tr->given_set_cap, tr->ngiven, hash, given_hash_at,
                         tr)) < 0)
        return 0;
    tr->given[tr->ngiven] = *g;
    tr->given_set[slot] = (uint32_t)++tr->ngiven;
    return GIVEN_BIT | (tr->ngiven - 1);
}

/* The id of the traceback f[0..n) (total frames on the stack), interned;
 * 0 + ENOMEM. */
static uint32_t tb_intern(rc_heap *h, rc_tracer *tr, const raw_frame *f, unsigned n,
                          unsigned total) {
    uint32_t code = code_of(f, n), hash = hash_frames(f, n, total, code);
    size_t mask = tr->tb_set_cap - 1, i = hash & mask;
    if (tr->tb_set_cap)
        for (; tr->tb_set[i]; i = (i + 1) & mask) {
            const tb_rec *r = &tr->tbs[tr->tb_set[i] - 1];
            if (r->hash == hash && r->nframe == n && r->total == total && r->code == code &&
                frames_equal(tr, &tr->words[r->first], f, n))
                return tr->tb_set[i];
        }
    ptrdiff_t slot = -1;
    if (tr->ntbs >= UINT32_MAX - 1 || tr->nwords + n > UINT32_MAX ||
        tr_reserve(h, (void **)&tr->words, &tr->words_cap, tr->nwords + n, sizeof *tr->words) < 0 ||
        tr_reserve(h, (void **)&tr->tbs, &tr->tbs_cap, tr->ntbs + 1, sizeof *tr->tbs) < 0 ||
        (slot = set_slot(h, &tr->tb_set, &tr->tb_set_cap, tr->ntbs, hash, tb_hash_at, tr)) < 0)
        return 0;
    uintptr_t *w = &tr->words[tr->nwords];
    for (unsigned k = 0; k < n; k++)
        if ((w[k] = f[k].file ? given_word(h, tr, &f[k]) : f[k].where) == 0)
            return 0; /* nothing kept but the given frames made so far */
    tr->tbs[tr->ntbs] = (tb_rec){hash, (uint16_t)n, (uint16_t)total, (uint32_t)tr->nwords, code, NULL};
    tr->nwords += n;
    tr->tb_set[slot] = (uint32_t)++tr->ntbs;
    return tr->ntbs;
}

/* The tracer's copy of s, interned by content; NULL + ENOMEM. */
static const char *string_intern(rc_heap *h, rc_tracer *tr, const char *s) {
    size_t len = strlen(s), mask = tr->strings_cap - 1;
    uint32_t hash = rc__hash_bytes(s, len);
    if (tr->strings_cap)
        for (size_t i = hash & mask; tr->strings[i]; i = (i + 1) & mask)
            if (strcmp(tr->strings[i], s) == 0)
                return tr->strings[i];
    if ((tr->nstrings + 1) * 2 > tr->strings_cap) {
        size_t cap = tr->strings_cap ? tr->strings_cap * 2 : 64;
        char **set = tr_alloc(h, NULL, 0, cap * sizeof *set);
        if (set == NULL)
            return NULL;
        memset(set, 0, cap * sizeof *set);
        for (size_t k = 0; k < tr->strings_cap; k++) {
            char *old = tr->strings[k];
            if (old == NULL)
                continue;
            size_t j = rc__hash_bytes(old, strlen(old)) & (cap - 1);
            while (set[j])
                j = (j + 1) & (cap - 1);
            set[j] = old;
        }
        tr_free(h, tr->strings, tr->strings_cap * sizeof *set);
        tr->strings = set;
        tr->strings_cap = cap;
        mask = cap - 1;
    }
    char *copy = tr_alloc(h, NULL, 0, len + 1);
    if (copy == NULL)
        return NULL;
    memcpy(copy, s, len + 1);
    size_t i = hash & mask;
    while (tr->strings[i])
        i = (i + 1) & mask;
    tr->strings[i] = copy;
    tr->nstrings++;
    return copy;
}

/* tr_string's answer for s, through a cache keyed by the pointer: a
 * provider hands in the same pointers call after call (an interpreter's
 * file and function names), and one strcmp then finds the copy, where
 * hashing every byte made 1000-byte names cost 11x CPython's tracing (its
 * key is the string object). The strcmp keeps it right when a buffer
 * holds other bytes now. */
static const char *tr_string(rc_heap *h, rc_tracer *tr, const char *s) {
    size_t slot = (size_t)(((uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull) >> (64 - STRING_CACHE_BITS));
    if (tr->string_cache[slot].given == s && strcmp(tr->string_cache[slot].copy, s) == 0)
        return tr->string_cache[slot].copy;
    const char *copy = string_intern(h, tr, s);
    if (copy) {
        tr->string_cache[slot].given = s;
        tr->string_cache[slot].copy = copy;
    }
    return copy;
}

/* A site's slot: by file, line and function (one macro expanding to
 * calls in several functions gives sites differing by function alone). */
static inline site_entry *site_slot(rc_tracer *tr, const char *file, int line, const char *func) {
    uintptr_t key = (uintptr_t)file >> 3 ^ (uintptr_t)func >> 1 ^ (unsigned)line * 0x9E3779B1u;
    return &tr->sites[key & tr->sites_mask];
}

/* Makes tr's site cache empty and its first one (at start, and when the
 * tracebacks it names are forgotten). */
static void sites_reset(rc_heap *h, rc_tracer *tr) {
    if (tr->sites != tr->first_sites)
        tr_free(h, tr->sites, (tr->sites_mask + 1) * sizeof *tr->sites);
    memset(tr->first_sites, 0, sizeof tr->first_sites);
    tr->sites = tr->first_sites;
    tr->sites_mask = SITE_CACHE - 1;
    tr->site_evictions = 0;
}

/* Puts a site's entry in tr's cache, which grows (see SITE_CACHE) when
 * sites keep taking each other's slots; without memory for that, it stays
 * as it is. */
static void site_put(rc_heap *h, rc_tracer *tr, site_entry entry) {
    site_entry *e = site_slot(tr, entry.file, (int)entry.line, entry.func);
    size_t n = tr->sites_mask + 1;
    if (e->tb && ++tr->site_evictions > 2 * n && n < SITE_CACHE_MAX) {
        tr->site_evictions = 0;
        site_entry *grown = tr_alloc(h, NULL, 0, 4 * n * sizeof *grown);
        if (grown) {
            memset(grown, 0, 4 * n * sizeof *grown);
            site_entry *old = tr->sites;
            tr->sites = grown;
            tr->sites_mask = 4 * n - 1;
            for (size_t i = 0; i < n; i++)
                if (old[i].tb)
                    *site_slot(tr, old[i].file, (int)old[i].line, old[i].func) = old[i];
            if (old != tr->first_sites)
                tr_free(h, old, n * sizeof *old);
            e = site_slot(tr, entry.file, (int)entry.line, entry.func);
        }
    }
    *e = entry;
}

/* With nframe 1, no provider and a call site, the site is the whole
 * traceback: its id from the cache, or 0. The stack is not walked, so its
 * depth is unknown: total_nframe 0 (Python's None). The cache holds
 * entries only in that case (capture fills it then, setting a provider
 * empties it), and an empty entry's id is 0, so a hit needs no other test. */
HOT uint32_t site_cached(rc_tracer *tr, const char *file, int line, const char *func) {
    const site_entry *e = site_slot(tr, file, line, func);
    return e->file == file && e->line == (unsigned)line && e->func == func ? e->tb : 0;
}

/* The frame of a call site the macros passed, with the tracer's copies of
 * its strings: the caller's literals go when code loaded with dlopen is
 * unloaded, and its traces may outlive it. A negative line (unknown) is
 * line 0, as CPython's tracemalloc_get_frame makes one. false + ENOMEM. */
static bool site_frame(rc_heap *h, rc_tracer *tr, const char *file, int line, const char *func,
                       raw_frame *out) {
    out->file = tr_string(h, tr, file);
    out->func = func ? tr_string(h, tr, func) : NULL;
    out->where = line < 0 ? 0 : (uintptr_t)(unsigned)line;
    return out->file != NULL && (func == NULL || out->func != NULL);
}

/* capture's answer when code the frame provider ran stopped tracing (a
 * finalizer of an object it dropped), perhaps starting it anew: tr is
 * gone, and the allocation goes untraced (no traceback id is this high). */
#define TRACER_GONE UINT32_MAX

/* The traceback of the allocation being traced, interned; 0 + ENOMEM, or
 * TRACER_GONE, after which the caller must not touch tr.
 * With a frame provider its frames are the provider's alone (allocations
 * the provider itself makes are traced with native frames). Otherwise
 * frames[0] is the call site the public macros passed (the function's own
 * native frame, which then comes next, is dropped when the traceback is
 * shown: tb_resolved) or, without one, the first native frame outside the
 * library; deeper frames are native return addresses. */
__attribute__((noinline))
static uint32_t capture(rc_heap *h, rc_tracer *tr, const char *file, int line, const char *func) {
    raw_frame f[RC_TRACEMALLOC_MAX_NFRAME + 1]; /* a call site, then nframe native frames */
    unsigned n = 0, total;
    if (tr->provider && !h->in_trace_provider) {
        rc_frame given[RC_TRACEMALLOC_MAX_NFRAME];
        uint64_t stops = h->trace_stops;
        h->in_trace_provider = true; /* on the heap: a tracer started inside sees it */
        int k = tr->provider(given, tr->nframe, tr->provider_arg);
        h->in_trace_provider = false;
        if (h->trace_stops != stops)
            return TRACER_GONE;
        for (; n < (unsigned)(k < 0 ? 0 : k) && n < (unsigned)tr->nframe; n++) {
            f[n].file = tr_string(h, tr, given[n].filename ? given[n].filename : UNKNOWN_FILE);
            f[n].func = given[n].function ? tr_string(h, tr, given[n].function) : NULL;
            f[n].where = given[n].lineno;
            if (f[n].file == NULL || (given[n].function && f[n].func == NULL))
                return 0;
        }
        /* past max, the provider may answer its stack's depth */
        total = k > (int)n ? (k < UINT16_MAX ? (unsigned)k : UINT16_MAX) : n;
    } else if (tr->nframe == 1 && file != NULL) {
        /* The call site is the whole traceback (site_cache missed). */
        if (!site_frame(h, tr, file, line, func, &f[0]))
            return 0;
        uint32_t tb = tb_intern(h, tr, f, 1, 0);
        if (tb && tr->provider == NULL) /* else inside the provider */
            site_put(h, tr, (site_entry){file, func, (uintptr_t)(unsigned)line, tb});
        return tb;
    } else {
        uintptr_t pcs[RC_TRACEMALLOC_MAX_NFRAME];
        if (file != NULL && !site_frame(h, tr, file, line, func, &f[n++]))
            return 0;
        /* with a call site, total counts the site's own native frame once:
         * as frame 0 when the walk found none */
        uint32_t code;
        int got = rc__stack_walk(pcs, (unsigned)tr->nframe, &total, &code);
        if (got < 0) /* ENOMEM: a shorter traceback would be a wrong one */
            return 0;
        for (int k = 0; k < got; k++)
            f[n++] = (raw_frame){NULL, {NULL}, pcs[k]};
        if (got > 0) /* for all of them: one store, and interned with them */
            f[n - (unsigned)got].code = code;
        if (total == 0)
            total = n;
    }
    if (n == 0) { /* CPython's empty traceback: <unknown>:0 */
        f[n++] = (raw_frame){UNKNOWN_FILE, {NULL}, 0};
        total = 1;
    }
    return tb_intern(h, tr, f, n, total);
}

/* The process's resolver, held by tr from its first need until it stops,
 * its turn begun (end it with resolver_turn_end); NULL + ENOMEM, or
 * EDEADLK inside a turn of this thread's already. */
static rc_resolver *resolver_turn(rc_tracer *tr) {
    if (tr->resolver == NULL && (tr->resolver = rc__resolver_hold()) == NULL)
        return NULL;
    if (!rc__resolver_begin(tr->resolver))
        return NULL;
    tr->in_turn = true;
    return tr->resolver;
}

/* Ends tr's turn of the resolver res, errno kept. */
static void resolver_turn_end(rc_tracer *tr, rc_resolver *res) {
    int saved = errno;
    tr->in_turn = false;
    rc__resolver_end(res);
    errno = saved;
}

/* Stopping or clearing h's tracer while it resolves (its rc_alloc_fn,
 * called for a traceback's memory, doing so) would free the tracebacks
 * and the tracer being worked on. */
static void check_not_resolving(rc_heap *h, const rc_tracer *tr, const char *call) {
    if (RC_UNLIKELY(tr->in_turn))
        rc__fatal_ptr(NULL, call, "called while the heap's tracebacks are being resolved", h);
}

/* Whether f, the first frame of the first native return address after a
 * call site, is the call site's own function: it has the site's function
 * name or its line (the call instruction's line), or no name at all
 * (nothing to tell by: a duplicate is the likelier). */
static bool is_site_function(const raw_frame *site, const rc_frame *f) {
    return f->function == NULL || (site->func && strcmp(f->function, site->func) == 0) ||
           (f->lineno == site->where && strcmp(f->filename, site->file) == 0);
}

/* Frame `raw` as given (a call site or a provider's frame). */
static rc_frame given_frame(const raw_frame *raw) {
    return (rc_frame){raw->file, (unsigned)raw->where, raw->func};
}

/* r as shown (see tb_rec), made once; NULL + ENOMEM. Its frames are the
 * given ones and each return address's, inlined functions' included, up
 * to the limit; total_nframe is the stack's frames plus the inlined ones
 * found among those resolved. */
static const rc_traceback *tb_resolved(rc_heap *h, rc_tracer *tr, rc_resolver *res, tb_rec *r) {
    if (r->resolved)
        return r->resolved;
    rc_frame *frames = rc__resolver_scratch(res), *e = frames + RC_TRACEMALLOC_MAX_NFRAME;
    unsigned limit = (unsigned)tr->nframe, n = 0, total = r->total;
    const uintptr_t *w = &tr->words[r->first];
    for (unsigned i = 0; i < r->nframe && n < limit; i++) {
        if (w[i] & GIVEN_BIT) {
            frames[n++] = given_frame(&tr->given[w[i] & ~GIVEN_BIT]);
            continue;
        }
        unsigned k = rc__resolve(res, w[i], r->code, e, RC_TRACEMALLOC_MAX_NFRAME);
        unsigned from = 0;
        if (k == 0) /* ENOMEM: nothing kept, resolved anew next time */
            return NULL;
        if (i == 1 && (w[0] & GIVEN_BIT)) {
            if (is_site_function(&tr->given[w[0] & ~GIVEN_BIT], &e[0]))
                from = 1; /* the site's own frame, counted in total already */
            else
                total++; /* a tail call: the site's function is gone */
        }
        total += k - 1;
        for (unsigned j = from; j < k && n < limit; j++)
            frames[n++] = e[j];
    }
    rc_traceback *tb = tr_alloc(h, NULL, 0, sizeof *tb + n * sizeof(rc_frame));
    if (tb == NULL)
        return NULL;
    memcpy(tb + 1, frames, n * sizeof(rc_frame));
    if (total > UINT16_MAX)
        total = UINT16_MAX;
    /* total 0: unknown (nframe 1 and a call site: the stack was not walked) */
    *tb = (rc_traceback){n, r->total == 0 ? 0 : total < n ? n : total, (rc_frame *)(tb + 1)};
    r->resolved = tb;
    return tb;
}

/* r resolved in a turn of tr's resolver; NULL + errno as tb_resolved, or
 * as resolver_turn. */
static const rc_traceback *tb_resolved_in_turn(rc_heap *h, rc_tracer *tr, tb_rec *r) {
    if (r->resolved)
        return r->resolved;
    rc_resolver *res = resolver_turn(tr);
    const rc_traceback *tb = res ? tb_resolved(h, tr, res, r) : NULL;
    if (res)
        resolver_turn_end(tr, res);
    return tb;
}

/* ------------------------------------------------------------- the hooks */

/* Ends the table trace of ptr in domain 0, if any: one rc_tracemalloc_track
 * left (a new trace at an address replaces the old, as in CPython). */
static uint32_t untrack0(rc_tracer *tr, const void *ptr) {
    slot_ref r = table_find(&tr->traces, (uintptr_t)ptr);
    if (r.b == NULL)
        return 0;
    uint32_t tb = slot_tb(tr, r);
    trace_drop(tr, &tr->traces, r);
    return tb;
}

/* A traced allocation that the fast path below leaves: a call site not
 * in the cache (or none), a table that must grow, a size of 4 GiB or more,
 * a trace that rc_tracemalloc_track may have left at ptr. */
static __attribute__((noinline)) int trace_alloc_slow(rc_heap *h, const void *ptr, size_t size,
                                                      const char *file, int line,
                                                      const char *func) {
    rc_tracer *tr = h->tracer;
    if (tr->tracked0)
        untrack0(tr, ptr);
    uint32_t tb = site_cached(tr, file, line, func);
    if (tb == 0 && (tb = capture(h, tr, file, line, func)) == TRACER_GONE)
        return 0;
    return tb == 0 ? -1 : trace_add(h, tr, &tr->traces, (uintptr_t)ptr, tb, size);
}

/* Every traced allocation comes here. The common case (nframe 1, a cached
 * call site) is inserted with no call, so that it saves few registers; the
 * rest is a tail call. */
int rc__trace_alloc(rc_heap *h, const void *ptr, size_t size, const char *file, int line,
                    const char *func) {
    rc_tracer *tr = h->tracer;
    trace_table *t = &tr->traces;
    uint32_t tb = site_cached(tr, file, line, func);
    if (RC_UNLIKELY(tb == 0 || size >= BIG_SIZE || t->count == t->limit || tr->tracked0))
        return trace_alloc_slow(h, ptr, size, file, line, func);
    t->count++;
    slot_set(bucket_claim(t->buckets, t->overflow, t->nbuckets, (uintptr_t)ptr), (uintptr_t)ptr,
             tb, (uint32_t)size);
    count_add(tr, size);
    return 0;
}

void rc__trace_alloc_kept(rc_heap *h, const void *ptr, size_t size, const char *file, int line,
                          const char *func) {
    if (rc__trace_alloc(h, ptr, size, file, line, func) < 0) {
        h->tracer->untraced++;
        note_death(h->tracer, ptr, 0); /* what was there before is not this block */
    }
}

/* rc__trace_free's removal from the table: a lookup and, for a trace in its
 * home bucket with a 32-bit size, a removal with no call. */
static inline uint32_t table_end(rc_heap *h, rc_tracer *tr, const void *ptr) {
    trace_table *t = &tr->traces;
    if (t->count == 0)
        return 0;
    trace_bucket *home = &t->buckets[home_of((uintptr_t)ptr, t->nbuckets)];
    slot_ref r = table_find_from(t, (size_t)(home - t->buckets), (uintptr_t)ptr);
    if (r.b == NULL)
        return 0;
    uint32_t size = r.b->size[r.i], tb = slot_tb(tr, r);
    if (RC_UNLIKELY(r.b != home || size == BIG_SIZE)) {
        trace_drop(tr, t, r);
    } else {
        tr->current -= size;
        r.b->tb[r.i] = 0;
        t->count--;
    }
    if (RC_UNLIKELY(t->count < t->shrink_at))
        table_shrink(h, t);
    return tb;
}

/* Every free while tracing comes here (but a traced raw block's, whose
 * trace is its prefix: rc__trace_prefix_ended). */
uint32_t rc__trace_free(rc_heap *h, const void *ptr) {
    rc_tracer *tr = h->tracer;
    uint32_t tb = table_end(h, tr, ptr);
    note_death(tr, ptr, tb);
    return tb;
}

/* Makes pre the trace (tb, size) of the running tracer (tb not 0). */
static void prefix_trace(rc_heap *h, rc_tracer *tr, rc_trace_prefix *pre, uint32_t tb,
                         size_t size) {
    pre->tb = tb;
    pre->size = (uint32_t)size;
    pre->epoch = h->trace_epoch;
    tr->prefixes++;
    count_add(tr, size);
}

/* Whether pre is a trace of the running tracer. */
static bool prefix_live(const rc_heap *h, const rc_trace_prefix *pre) {
    return h->tracer && pre->tb && pre->epoch == h->trace_epoch;
}

/* rc__trace_prefix_set when the site cache misses (the traceback is
 * captured) or rc_tracemalloc_track may have left a table trace at the
 * block, and rc__trace_prefix_kept (`kept`). Out of line, so that a hit
 * builds no stack frame. */
static __attribute__((noinline)) void *prefix_set_slow(rc_heap *h, rc_trace_prefix *pre,
                                                       size_t size, const char *file, int line,
                                                       const char *func, bool kept) {
    rc_tracer *tr = h->tracer;
    if (tr->tracked0)
        untrack0(tr, pre + 1);
    uint32_t tb = site_cached(tr, file, line, func);
    if (tb == 0)
        tb = capture(h, tr, file, line, func);
    pre->tb = 0;
    if (tb == TRACER_GONE)
        return pre + 1;
    if (tb) {
        prefix_trace(h, tr, pre, tb, size);
    } else if (kept) {
        tr->untraced++;
    } else { /* CPython's tracemalloc_alloc: no trace, no block */
        rc_free(h, pre + 1);
        errno = ENOMEM;
        return NULL;
    }
    return pre + 1;
}

void *rc__trace_prefix_set(rc_heap *h, rc_trace_prefix *pre, size_t size, const char *file,
                           int line, const char *func) {
    rc_tracer *tr = h->tracer;
    uint32_t tb = site_cached(tr, file, line, func);
    if (RC_UNLIKELY(tb == 0 || tr->tracked0))
        return prefix_set_slow(h, pre, size, file, line, func, false);
    prefix_trace(h, tr, pre, tb, size);
    return pre + 1;
}

void *rc__trace_prefix_kept(rc_heap *h, rc_trace_prefix *pre, size_t size, const char *file,
                            int line, const char *func) {
    return prefix_set_slow(h, pre, size, file, line, func, true);
}

/* rc__trace_prefix_ended of a prefix that holds no trace: the block's
 * trace may be in the table (rc_tracemalloc_track with a size of 4 GiB or
 * more), and it ends too. */
static __attribute__((noinline)) void prefix_ended_untraced(rc_heap *h, const void *ptr) {
    rc_tracer *tr = h->tracer;
    if (tr)
        note_death(tr, ptr, tr->tracked0 ? untrack0(tr, ptr) : 0);
}

void rc__trace_prefix_ended(rc_heap *h, rc_trace_prefix pre, const void *ptr) {
    if (!prefix_live(h, &pre)) {
        prefix_ended_untraced(h, ptr);
        return;
    }
    rc_tracer *tr = h->tracer;
    tr->current -= pre.size;
    tr->prefixes--;
    note_death(tr, ptr, pre.tb);
}

uint32_t rc__trace_prefix_drop(rc_heap *h, rc_trace_prefix *pre) {
    uint32_t tb = prefix_live(h, pre) ? pre->tb : 0;
    rc__trace_prefix_ended(h, *pre, pre + 1);
    pre->tb = 0;
    return tb;
}

/* The traceback id of the trace of ptr in domain 0 (its prefix, or the
 * table), 0 if none. */
static uint32_t trace_tb_of(rc_heap *h, rc_tracer *tr, const void *ptr) {
    rc_trace_prefix *pre = rc__trace_prefix_of(h, ptr);
    if (pre && prefix_live(h, pre))
        return pre->tb;
    slot_ref r = table_find(&tr->traces, (uintptr_t)ptr);
    return r.b ? slot_tb(tr, r) : 0;
}

void rc__trace_describe(rc_heap *h, const void *ptr, char *buf, size_t len) {
    if (len == 0)
        return;
    buf[0] = '\0';
    rc_tracer *tr = h->tracer;
    uint32_t id = tr ? trace_tb_of(h, tr, ptr) : 0;
    if (tr && id == 0)
        id = rc__quarantine_tb(h, ptr);
    if (tr && id == 0)
        id = death_tb(tr, ptr);
    const rc_traceback *tb = id ? tb_resolved_in_turn(h, tr, &tr->tbs[id - 1]) : NULL;
    if (tb)
        snprintf(buf, len, " allocated at %s:%u", tb->frames[0].filename, tb->frames[0].lineno);
}

size_t rc__tracer_untraced(const rc_heap *h) {
    return h->tracer ? h->tracer->untraced : 0;
}

/* --------------------------------------------------------- the public API */

int rc_tracemalloc_start(rc_heap *h, int nframe) {
    if (h == NULL || nframe < 1 || nframe > RC_TRACEMALLOC_MAX_NFRAME) {
        errno = EINVAL;
        return -1;
    }
    if (h->tracer)
        return 0;
    /* on this thread's stack, not on a walking thread's */
    if (!rc__stack_walk_prepare())
        return -1;
    rc_tracer *tr = rc__sys_alloc(h, NULL, 0, sizeof *tr);
    if (tr == NULL)
        return -1;
    memset(tr, 0, sizeof *tr);
    tr->nframe = nframe;
    tr->memory = sizeof *tr;
    sites_reset(h, tr);
    tr->provider = h->trace_provider;
    tr->provider_arg = h->trace_provider_arg;
    h->trace_limit = nframe;
    h->tracer = tr;
    rc_slow_free_update(h); /* frees go where traces end */
    return 0;
}

/* Makes the prefix of a live traced block hold no trace. */
static void prefix_untrace(rc_trace_prefix *pre, void *arg) {
    (void)arg;
    pre->tb = 0;
}

/* Ends every prefix trace at once: a new epoch. Once in 2^32 the epochs
 * start again, and a prefix of an old one could pass for a new one's:
 * every prefix is then told it holds no trace. */
static void prefix_epoch_next(rc_heap *h) {
    if (++h->trace_epoch == 0)
        rc__each_trace_prefix(h, prefix_untrace, NULL);
}

/* Forgets every trace, traceback and string; keeps settings and resolver. */
static void forget(rc_heap *h, rc_tracer *tr) {
    prefix_epoch_next(h);
    rc__quarantine_forget_traces(h);
    table_free(h, &tr->traces);
    for (size_t i = 0; i < tr->ndomains; i++)
        table_free(h, &tr->domains[i].table);
    tr_free(h, tr->domains, tr->domains_cap * sizeof *tr->domains);
    tr_free(h, tr->domain_index, tr->domain_index_cap * sizeof *tr->domain_index);
    tr_free(h, tr->bigs, tr->bigs_cap * sizeof *tr->bigs);
    for (size_t i = 0; i < tr->ntbs; i++)
        if (tr->tbs[i].resolved)
            tr_free(h, tr->tbs[i].resolved,
                    sizeof(rc_traceback) + tr->tbs[i].resolved->nframe * sizeof(rc_frame));
    tr_free(h, tr->tbs, tr->tbs_cap * sizeof *tr->tbs);
    tr_free(h, tr->words, tr->words_cap * sizeof *tr->words);
    tr_free(h, tr->tb_set, tr->tb_set_cap * sizeof *tr->tb_set);
    tr_free(h, tr->given, tr->given_cap * sizeof *tr->given);
    tr_free(h, tr->given_set, tr->given_set_cap * sizeof *tr->given_set);
    for (size_t i = 0; i < tr->strings_cap; i++)
        if (tr->strings[i])
            tr_free(h, tr->strings[i], strlen(tr->strings[i]) + 1);
    tr_free(h, tr->strings, tr->strings_cap * sizeof *tr->strings);
    sites_reset(h, tr);
    size_t keep = tr->memory;
    int nframe = tr->nframe;
    rc_frame_provider provider = tr->provider;
    void *arg = tr->provider_arg;
    rc_resolver *res = tr->resolver;
    memset(tr, 0, sizeof *tr);
    tr->memory = keep;
    tr->nframe = nframe;
    tr->provider = provider;
    tr->provider_arg = arg;
    tr->resolver = res;
    sites_reset(h, tr);
}

void rc_tracemalloc_stop(rc_heap *h) {
    if (h == NULL || h->tracer == NULL)
        return;
    rc_tracer *tr = h->tracer;
    check_not_resolving(h, tr, "rc_tracemalloc_stop");
    forget(h, tr);
    rc__resolver_drop(tr->resolver);
    h->tracer = NULL;
    h->trace_stops++;
    rc_slow_free_update(h);
    rc__sys_free(h, tr, sizeof *tr);
}

void rc__tracer_fini(rc_heap *h) {
    rc_tracemalloc_stop(h);
}

bool rc_tracemalloc_is_tracing(const rc_heap *h) {
    return h && h->tracer;
}

void rc_tracemalloc_clear_traces(rc_heap *h) {
    if (h && h->tracer) {
        check_not_resolving(h, h->tracer, "rc_tracemalloc_clear_traces");
        forget(h, h->tracer);
    }
}

void rc_tracemalloc_get_traced_memory(const rc_heap *h, size_t *current, size_t *peak) {
    const rc_tracer *tr = h ? h->tracer : NULL;
    if (current)
        *current = tr ? tr->current : 0;
    if (peak)
        *peak = tr ? tr->peak : 0;
}

void rc_tracemalloc_reset_peak(rc_heap *h) {
    if (h && h->tracer)
        h->tracer->peak = h->tracer->current;
}

size_t rc_tracemalloc_get_tracemalloc_memory(const rc_heap *h) {
    const rc_tracer *tr = h ? h->tracer : NULL;
    return tr ? tr->memory + tr->prefixes * RC_TRACE_PREFIX : 0;
}

/* The limit of the running trace, or of the last one (1 before any). */
int rc_tracemalloc_get_traceback_limit(const rc_heap *h) {
    return h ? h->trace_limit : 1;
}

const rc_traceback *rc_tracemalloc_get_object_traceback(rc_heap *h, const void *ptr) {
    rc_tracer *tr = h ? h->tracer : NULL;
    uint32_t id = tr ? trace_tb_of(h, tr, ptr) : 0;
    if (id == 0)
        return NULL;
    return tb_resolved_in_turn(h, tr, &tr->tbs[id - 1]);
}

/* Whether a trace of size at (domain, ptr), replacing the one there (pre:
 * ptr's prefix in domain 0, or NULL), would take the traced memory past
 * PTRDIFF_MAX: CPython's largest (its get_traced_memory is a Py_ssize_t,
 * its track's size too), and room enough that real allocations, which
 * the address space bounds, can never wrap the count. */
static bool track_overflows(rc_heap *h, rc_tracer *tr, unsigned domain, uintptr_t ptr,
                            const rc_trace_prefix *pre, size_t size) {
    size_t old = pre && prefix_live(h, pre) ? pre->size : 0;
    trace_table *t = domain_table(tr, domain);
    slot_ref r = t ? table_find(t, ptr) : (slot_ref){NULL, 0};
    size_t rest = tr->current - old - (r.b ? slot_size(tr, r) : 0);
    return rest > PTRDIFF_MAX || size > PTRDIFF_MAX - rest;
}

/* PyTraceMalloc_Track: a new trace replaces the address's old one; when
 * there is no memory for the new one, the old one stays (as CPython's),
 * and so does one that track_overflows refuses. */
int rc_tracemalloc_track(rc_heap *h, unsigned domain, uintptr_t ptr, size_t size) {
    rc_tracer *tr = h ? h->tracer : NULL;
    if (tr == NULL)
        return -2;
    rc_trace_prefix *pre = domain == 0 ? rc__trace_prefix_of(h, (void *)ptr) : NULL;
    /* The traceback first: when it cannot be had, the old trace stays (as
     * CPython's). The provider's code may have traced the block anew. */
    uint32_t tb = capture(h, tr, NULL, 0, NULL);
    if (tb == 0 || tb == TRACER_GONE)
        return tb ? -2 : -1;
    if (track_overflows(h, tr, domain, ptr, pre, size)) {
        errno = EOVERFLOW;
        return -1;
    }
    if (pre && size <= UINT32_MAX) { /* a traced raw block: the trace is its prefix */
        rc__trace_prefix_drop(h, pre);
        prefix_trace(h, tr, pre, tb, size);
        return 0;
    }
    trace_table *t = domain_table_make(h, tr, domain);
    if (t == NULL || (size >= BIG_SIZE && big_reserve(h, tr) < 0))
        return -1;
    /* room first, so that a failure leaves the old trace; a table trace
     * replaced makes room with its slot (a traced small block's too, whose
     * prefix is dead: the prefix's end or the drop below frees it) */
    bool replaced = table_find(t, ptr).b != NULL;
    if (!replaced && table_reserve(h, t) < 0)
        return -1;
    if (pre)
        rc__trace_prefix_drop(h, pre); /* too big for a prefix: the table takes it */
    slot_ref old = table_find(t, ptr);
    if (old.b)
        trace_drop(tr, t, old);
    trace_add(h, tr, t, ptr, tb, size); /* the room is there: it cannot fail */
    tr->tracked0 += domain == 0;
    return 0;
}

int rc_tracemalloc_untrack(rc_heap *h, unsigned domain, uintptr_t ptr) {
    rc_tracer *tr = h ? h->tracer : NULL;
    if (tr == NULL)
        return -2;
    rc_trace_prefix *pre = domain == 0 ? rc__trace_prefix_of(h, (void *)ptr) : NULL;
    if (pre)
        rc__trace_prefix_drop(h, pre);
    if (domain == 0) /* an older block's entry must not name this one */
        note_death(tr, (void *)ptr, 0);
    trace_table *t = domain_table(tr, domain);
    slot_ref r = t ? table_find(t, ptr) : (slot_ref){NULL, 0};
    if (r.b)
        trace_drop(tr, t, r);
    if (r.b && t->count == 0 && domain != 0)
        table_release(h, t);
    else if (t && t->count < t->shrink_at)
        table_shrink(h, t);
    return 0;
}

/* The provider is a setting of the heap: it applies to this trace and to
 * every later start, until replaced (NULL: native frames again). */
void rc_tracemalloc_set_frame_provider(rc_heap *h, rc_frame_provider fn, void *arg) {
    if (h == NULL)
        return;
    h->trace_provider = fn;
    h->trace_provider_arg = fn ? arg : NULL;
    if (h->tracer) {
        h->tracer->provider = fn;
        h->tracer->provider_arg = h->trace_provider_arg;
        memset(h->tracer->sites, 0, (h->tracer->sites_mask + 1) * sizeof *h->tracer->sites);
        /* see site_cached */
    }
}

rc_frame_provider rc_tracemalloc_get_frame_provider(const rc_heap *h, void **arg) {
    if (arg)
        *arg = h ? h->trace_provider_arg : NULL;
    return h ? h->trace_provider : NULL;
}

/* ------------------------------------------------------------ snapshots */

/* Adds h's tracer traceback r, resolved, to snapshot s; its index or -1. */
static int64_t snapshot_traceback(rc_snapshot *s, rc_heap *h, rc_resolver *res, tb_rec *r) {
    const rc_traceback *tb = tb_resolved(h, h->tracer, res, r);
    if (tb == NULL)
        return -1;
    rc_frame *frames = rc__resolver_scratch(res); /* tb_resolved is done with it */
    for (unsigned i = 0; i < tb->nframe; i++) {
        rc_frame f = tb->frames[i];
        frames[i].filename = rc__snapshot_string(s, f.filename, strlen(f.filename));
        frames[i].lineno = f.lineno;
        frames[i].function = f.function ? rc__snapshot_string(s, f.function, strlen(f.function))
                                        : NULL;
        if (frames[i].filename == NULL || (f.function && frames[i].function == NULL))
            return -1;
    }
    return rc__snapshot_add_traceback(s, frames, tb->nframe, tb->total_nframe);
}

/* Adds the traces of one domain table; map[id] is 1 + the snapshot index of
 * tracer traceback id, 0 until added. */
static int snapshot_table(rc_snapshot *s, rc_heap *h, rc_resolver *res, unsigned domain,
                          const trace_table *t, uint32_t *map) {
    rc_tracer *tr = h->tracer;
    for (size_t i = 0; i < t->nbuckets * BUCKET; i++) {
        slot_ref slot = {&t->buckets[i / BUCKET], (unsigned)(i % BUCKET)};
        if (slot.b->tb[slot.i] == 0)
            continue;
        uint32_t id = slot_tb(tr, slot);
        if (map[id] == 0) {
            int64_t idx = snapshot_traceback(s, h, res, &tr->tbs[id - 1]);
            if (idx < 0)
                return -1;
            map[id] = (uint32_t)idx + 1;
        }
        if (rc__snapshot_add_trace(s, domain, map[id] - 1, slot_size(tr, slot)) < 0)
            return -1;
    }
    return 0;
}

/* snapshot_table for the traces kept in block prefixes (domain 0). */
typedef struct prefix_walk {
    rc_heap *h;
    rc_snapshot *s;
    rc_tracer *tr;
    rc_resolver *res;
    uint32_t *map;
    int status;
} prefix_walk;

static void snapshot_prefix(rc_trace_prefix *pre, void *arg) {
    prefix_walk *w = arg;
    if (w->status != 0 || !prefix_live(w->h, pre))
        return;
    uint32_t id = pre->tb;
    if (w->map[id] == 0) {
        int64_t idx = snapshot_traceback(w->s, w->h, w->res, &w->tr->tbs[id - 1]);
        if (idx < 0) {
            w->status = -1;
            return;
        }
        w->map[id] = (uint32_t)idx + 1;
    }
    if (rc__snapshot_add_trace(w->s, 0, w->map[id] - 1, pre->size) < 0)
        w->status = -1;
}

rc_snapshot *rc_tracemalloc_take_snapshot(rc_heap *h) {
    rc_tracer *tr = h ? h->tracer : NULL;
    if (tr == NULL) {
        errno = EINVAL;
        return NULL;
    }
    rc_resolver *res = resolver_turn(tr);
    rc_snapshot *s = res ? rc__snapshot_new((unsigned)tr->nframe, tr->untraced) : NULL;
    uint32_t *map = s ? calloc(tr->ntbs + 1, sizeof *map) : NULL;
    int ok = map ? snapshot_table(s, h, res, 0, &tr->traces, map) : -1;
    if (ok == 0 && tr->prefixes) {
        prefix_walk w = {h, s, tr, res, map, 0};
        rc__each_trace_prefix(h, snapshot_prefix, &w);
        ok = w.status;
    }
    for (size_t i = 0; ok == 0 && i < tr->ndomains; i++)
        ok = snapshot_table(s, h, res, tr->domains[i].domain, &tr->domains[i].table, map);
    free(map);
    if (ok == 0 && rc__snapshot_seal(s) == 0) {
        resolver_turn_end(tr, res);
        return s;
    }
    /* a frame's file, or this thread inside a turn already */
    int err = errno == EMFILE || errno == ENFILE || (res == NULL && errno == EDEADLK) ? errno
                                                                                 : ENOMEM;
    if (res)
        resolver_turn_end(tr, res);
    rc_snapshot_free(s);
    errno = err;
    return NULL;
}
