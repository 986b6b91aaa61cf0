/*
 * fuzz_alloc.c — libFuzzer target for the allocator: the input is a
 * program of heap operations (rc_malloc, rc_calloc, rc_realloc, rc_free,
 * objects of an untracked and of a tracked type made and dropped, chains
 * of them that die in cascade, rings of them that the collector frees
 * (some of wide objects sharing plain leaves, which its sweep dooms and
 * frees, its array of doomed leaves growing, or failing to grow),
 * tracing switched on and off mid-program,
 * bursts that fill pools and empty them so that pools are parked or
 * retired and arenas kept, freed and reused, allocation failures injected
 * through the heap's rc_alloc_fn, which resizes a block in place or moves
 * it as the input says), run on one heap against a model the target keeps
 * itself. Any difference aborts with a message naming the
 * operation. The corpus, tests/fuzz/corpus/alloc/, replays as
 * fuzz_replay.alloc.
 *
 * Input: byte 0 configures the heap (RCGC_DEBUG=1 for 1 input in 8, so
 * that freed blocks are poisoned and quarantined; the collector's
 * threshold; tracing from the start; whether the program still holds
 * objects and blocks at rc_heap_free), bytes 1 and 2 where arenas are put
 * (placement below), then each operation is an opcode byte and its
 * operands (run: the switch). At most MAX_OPS operations and MAX_ALLOCS
 * allocations run; the calls made and what is checked depend on the
 * input alone.
 *
 * What is checked:
 *   - every block's and object's bytes: each is filled with a pattern of
 *     its id, checked before it is freed or reallocated, at the end
 *     for every live one and, every CHECK_EVERY operations and at opcode
 *     31, for one live item in LIGHT_SHARE (check_all); realloc
 *     keeps the prefix; rc_calloc and new objects are zero; a tracked
 *     object's reference slot holds what the model put there;
 *   - pointers are 16-byte aligned and live payloads do not overlap (at
 *     the end);
 *   - rc_realloc stays in place exactly when the new size needs the same
 *     block (rc_realloc_at's rule: for a large block, one its slack holds,
 *     a pool's size included), or a large block stays large and the
 *     rc_alloc_fn resized it in place (the input chooses whether it may,
 *     and it can when the block has the room: count_alloc), and moves
 *     otherwise;
 *   - after every operation, rc_heap_get_stats: objects, tracked and
 *     bytes_in_use equal the model's figures exactly, and bytes_reserved
 *     equals what the counting rc_alloc_fn has handed out and not got
 *     back. What a block adds to bytes_in_use is derived from src/alloc.c
 *     and src/object.c (raw_block, object_bytes below): a small raw block
 *     its 16-byte-rounded size (16 for 0..16), one made while tracing that
 *     too plus its 16-byte trace prefix, a medium one (up to RC_MEDIUM_MAX
 *     with the prefix) that rounded up to its class, a large block (raw or
 *     object) RC_LARGE_OFFSET + the size asked for (a new large raw block
 *     up to RC_LARGE_SLACK more: a dead one held back that fits, reused;
 *     the model takes its size from the heap's figures: large_taken),
 *     an object its header
 *     (8, or 24 when tracked) rounded up with it to its class; exact for all
 *     kinds, quarantined blocks excluded. rc_sizeof agrees for objects;
 *   - while tracing, rc_tracemalloc_get_traced_memory's current is the sum
 *     of the sizes of what was made (or reallocated) since tracing started
 *     or its traces were cleared (not after an injected allocation failure
 *     while tracing, which may leave an allocation untraced, until the
 *     traces are cleared or tracing restarts); a block or object has a
 *     traceback (this file's call site) exactly when the model says so;
 *     the trace tables keep their invariants (rc__trace_tables_valid);
 *   - reference counts, rc_heap_of, rc_type_of, rc_gc_is_tracked; the
 *     collector finds no garbage but the rings the program drops, which
 *     a full collection run at once must find and free whole, even with
 *     allocations failing (collect_ring), and the leaves only a ring
 *     held with them, the others keeping their counts;
 *   - failures: NULL + ENOMEM (or EINVAL) and nothing changed, the block
 *     of a failed rc_realloc untouched;
 *   - a raw block whose second word holds its free mark (op_mark) is still
 *     live to rc_free and rc_realloc;
 *   - arenas: the heap lists exactly those the rc_alloc_fn handed out, a
 *     wholly free one is given back unless it is the one kept; with
 *     nothing live (and no quarantine), only arenas holding parked pools
 *     and the kept one remain; the pools and class lists follow the rules
 *     at rc_pool (read from internal.h's rc_heap, check_pools);
 *   - under AddressSanitizer, a freed block's payload past its first 16
 *     bytes is poisoned at once (alloc.c tells ASan which blocks live);
 *   - rc_heap_free returns how many objects the program still held (0
 *     when it dropped everything), and the rc_alloc_fn got back every
 *     byte and every block, each freed with the size it was obtained with.
 * Misuse (double frees, foreign pointers: aborts by design) is not tried.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#define MAX_OPS 3000
#define MAX_ITEMS 16384
#define CHECK_EVERY 64
#define SYS_LIMIT ((size_t)1 << 30) /* the counting rc_alloc_fn refuses more */
#define LIVE_LIMIT ((size_t)16 << 20) /* past it, new blocks are small (fit) */
#define MAX_ALLOCS 40000 /* allocations per input, bursts included */

/* ------------------------------------------------------------- failing */

static int cur_op;

_Noreturn __attribute__((format(printf, 1, 2))) static void fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz_alloc: op %d: ", cur_op);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

#define EXPECT(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond))                                                        \
            fail(__VA_ARGS__);                                              \
    } while (0)

/* ------------------------------------------------- the counting allocator */

/* Arenas (requests of exactly RC_ARENA_SIZE bytes) may be placed by the
 * input, in address space reserved once: next to each other going up or
 * going down (an arena's pools then end in the zone where the next one's
 * begin: alloc.c's `below`), or 2 GiB apart (their zones share a slot of
 * h->zone_table), at an offset that makes an arena hold 63 or 64 pools.
 * The pool blocks' addresses, and so every hash of them, are then the
 * same at each replay (what comes from malloc, large blocks and the
 * heap's tables, may lie elsewhere from run to run: paths that depend on
 * those addresses, not the checks, may differ). A freed arena is poisoned
 * (ASan) and its pages dropped. */
enum { PLACE_MALLOC, PLACE_UP, PLACE_DOWN, PLACE_SPREAD, PLACE_GAP, NPLACES };
#define SLOTS 12
#define SPREAD ((size_t)RC_ZONE_SLOTS * RC_ARENA_SIZE)
#define REGION_LEN (2 * SPREAD)

static char *region; /* RC_ARENA_SIZE-aligned, REGION_LEN bytes (PROT_NONE until used) */

typedef struct placement {
    int how;         /* PLACE_* */
    size_t off, gap; /* of the first arena from a zone start; between arenas */
    char *slot[SLOTS];
    bool used[SLOTS];
} placement;

static void place_init(placement *pl, unsigned how, unsigned off) {
    memset(pl, 0, sizeof *pl);
    pl->how = (int)(how % NPLACES);
    if (pl->how == PLACE_MALLOC)
        return;
    if (region == NULL) {
        void *r = mmap(NULL, REGION_LEN + RC_ARENA_SIZE, PROT_NONE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (r == MAP_FAILED) {
            pl->how = PLACE_MALLOC;
            return;
        }
        region = (char *)(((uintptr_t)r + RC_ARENA_SIZE - 1) & ~(uintptr_t)(RC_ARENA_SIZE - 1));
    }
    switch (off % 4) {
    case 0: pl->off = 0; break;                                   /* 64 pools, one zone */
    case 1: pl->off = 16; break;                                  /* 63 pools, two zones */
    case 2: pl->off = (size_t)(1 + off / 4 % 63) * RC_POOL_SIZE; break; /* 64 pools, two zones */
    default: pl->off = (size_t)(off * 2654435761u % (RC_ARENA_SIZE / 16)) * 16; break;
    }
    pl->gap = pl->how == PLACE_GAP ? (size_t)(1 + how / NPLACES % 7) * RC_POOL_SIZE : 0;
    for (size_t i = 0; i < SLOTS; i++) {
        size_t k = pl->how == PLACE_DOWN ? SLOTS - 1 - i : i;
        if (pl->how == PLACE_SPREAD) /* the first alone, the others 2 GiB above, side by side */
            pl->slot[i] = region + pl->off + (i ? SPREAD + (i - 1) * RC_ARENA_SIZE : 0);
        else
            pl->slot[i] = region + pl->off + k * (RC_ARENA_SIZE + pl->gap);
    }
}

static void *place_take(placement *pl) {
    for (int i = 0; i < SLOTS; i++) {
        if (pl->used[i])
            continue;
        char *p = pl->slot[i];
        uintptr_t lo = (uintptr_t)p & ~(uintptr_t)4095;
        uintptr_t hi = ((uintptr_t)p + RC_ARENA_SIZE + 4095) & ~(uintptr_t)4095;
        if (mprotect((void *)lo, hi - lo, PROT_READ | PROT_WRITE) != 0)
            return NULL;
#ifdef RC_ASAN
        ASAN_UNPOISON_MEMORY_REGION(p, RC_ARENA_SIZE);
#endif
        pl->used[i] = true;
        return p;
    }
    return NULL; /* out of slots: from malloc */
}

/* Whether p is a placed arena; if so it is given back. */
static bool place_give(placement *pl, void *p) {
    for (int i = 0; i < SLOTS; i++) {
        if (!pl->used[i] || pl->slot[i] != p)
            continue;
        pl->used[i] = false;
#ifdef RC_ASAN
        ASAN_POISON_MEMORY_REGION(p, RC_ARENA_SIZE);
#endif
        /* drop the pages wholly inside (neighbours may share the end pages) */
        uintptr_t lo = ((uintptr_t)p + 4095) & ~(uintptr_t)4095;
        uintptr_t hi = ((uintptr_t)p + RC_ARENA_SIZE) & ~(uintptr_t)4095;
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
        return true;
    }
    return false;
}

/* The rest comes from malloc with a 16-byte header: the size it was
 * obtained with, so that every free and resize is checked against it, and
 * its room, the size rounded up to ROOM_GRAIN. A resize stays in place when
 * the input asks for it (in_place, for the rc_realloc of op_realloc) and
 * the new size fits the room, else the block moves: rc_realloc's resizes
 * of large blocks through rc_alloc_fn (alloc.c: large_resize) meet both.
 * Under ASan the room past the size is poisoned. */
#define ROOM_GRAIN ((size_t)1024)

typedef struct counter {
    size_t bytes, blocks, arenas; /* handed out and not given back */
    long fail_after;              /* -1: never fail; else requests that still succeed */
    bool in_place;                /* resize in place when the room allows */
    placement place;
} counter;

static size_t room_for(size_t size) { return (size + ROOM_GRAIN - 1) & ~(ROOM_GRAIN - 1); }

/* The room of a block count_alloc made (not an arena it placed). */
static size_t room_of(const void *ptr) {
    size_t room;
    memcpy(&room, (const char *)ptr - 16 + sizeof(size_t), sizeof room);
    return room;
}

/* Records the size of a block (header at base) and poisons its room past it. */
static void set_size(char *base, size_t size) {
    memcpy(base, &size, sizeof size);
#ifdef RC_ASAN
    size_t room = room_of(base + 16);
    ASAN_UNPOISON_MEMORY_REGION(base + 16, size);
    ASAN_POISON_MEMORY_REGION(base + 16 + size, room - size);
#endif
}

static void *count_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    counter *c = ud;
    if (ptr && place_give(&c->place, ptr)) {
        EXPECT(old_size == RC_ARENA_SIZE && new_size == 0,
               "rc_alloc_fn: arena %p given back as %zu", ptr, old_size);
        c->bytes -= old_size;
        c->blocks--;
        c->arenas--;
        return NULL;
    }
    char *base = ptr ? (char *)ptr - 16 : NULL;
    if (base) {
        size_t had;
        memcpy(&had, base, sizeof had);
        EXPECT(had == old_size, "rc_alloc_fn: block %p of %zu bytes given back as %zu", ptr, had,
               old_size);
    }
    if (new_size == 0) {
        if (base) {
            c->bytes -= old_size;
            c->blocks--;
            c->arenas -= old_size == RC_ARENA_SIZE;
            free(base);
        }
        return NULL;
    }
    if (c->fail_after == 0 || new_size > SYS_LIMIT)
        return NULL;
    if (c->fail_after > 0)
        c->fail_after--;
    if (base && c->in_place && new_size <= room_of(ptr)) {
        set_size(base, new_size);
        c->bytes += new_size - old_size;
        return ptr;
    }
    if (ptr == NULL && new_size == RC_ARENA_SIZE && c->place.how != PLACE_MALLOC) {
        void *p = place_take(&c->place);
        if (p) {
            c->bytes += new_size;
            c->blocks++;
            c->arenas++;
            return p;
        }
    }
    size_t room = room_for(new_size);
    char *fresh = aligned_alloc(16, room + 16);
    if (fresh == NULL)
        return NULL;
    memcpy(fresh + sizeof(size_t), &room, sizeof room);
    set_size(fresh, new_size);
    if (base) {
        memcpy(fresh + 16, ptr, old_size < new_size ? old_size : new_size);
        c->bytes -= old_size;
        c->blocks--;
        c->arenas -= old_size == RC_ARENA_SIZE;
        free(base);
    }
    c->bytes += new_size;
    c->blocks++;
    c->arenas += new_size == RC_ARENA_SIZE;
    return fresh + 16;
}

/* --------------------------------------------------------------- types */

typedef struct gcobj { void *ref; } gcobj; /* a tracked object: one reference, then bytes */

static void gc_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit(&((gcobj *)self)->ref, arg);
}

/* A wide tracked object (a ring member of op_chain's wide rings): its
 * reference, then WIDE_LEAVES more, to leaves shared among the ring. */
#define WIDE_LEAVES 3
typedef struct gcwide { void *ref, *leaf[WIDE_LEAVES]; } gcwide;

static void wide_traverse(void *self, rc_visit_fn visit, void *arg) {
    gcwide *o = self;
    visit(&o->ref, arg);
    for (int i = 0; i < WIDE_LEAVES; i++)
        visit(&o->leaf[i], arg);
}

static const rc_type plain_type = {"fa_plain", 16, NULL, NULL, NULL, NULL};
static const rc_type gc_type = {"fa_gc", 16, gc_traverse, NULL, NULL, NULL};
static const rc_type wide_type = {"fa_wide", sizeof(gcwide), wide_traverse, NULL, NULL, NULL};

/* --------------------------------------------------------------- model */

enum kind { K_RAW, K_RAW_TRACED, K_RAW_LARGE, K_PLAIN, K_GC };
#define IS_OBJ(k) ((k) >= K_PLAIN)

typedef struct item {
    unsigned char *p;  /* payload */
    size_t size;       /* bytes asked for */
    size_t bytes;      /* what it adds to bytes_in_use */
    uint32_t id;       /* its pattern */
    uint8_t kind;      /* enum kind: where the allocator put it */
    bool traced;       /* has a trace of the running tracer, of `size` bytes */
    bool word1;        /* its bytes 8..15 hold word1_val (op_mark), not the pattern */
    uint64_t word1_val;
    uint32_t ext;      /* objects: references the program holds */
    uint32_t internal; /* objects: references tracked objects hold */
    int child;         /* K_GC: the slot its reference points at, or -1 */
    bool wide;         /* K_GC: of wide_type, its leaves at leaf[] (slots, or -1) */
    int leaf[WIDE_LEAVES];
    int pos;           /* index in raws[] or objs[] */
} item;

static struct model {
    rc_heap *h;
    counter cnt;
    bool debug, tracing, trace_exact;
    item items[MAX_ITEMS];
    int free_slots[MAX_ITEMS], nfree;
    int raws[MAX_ITEMS], nraw;
    int objs[MAX_ITEMS], nobj;
    size_t objects, tracked, bytes, traced_bytes;
    size_t allocs; /* items made so far */
    uint32_t next_id;
} M;

static size_t round16(size_t n) { return (n + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1); }

/* The pool block of the class for n bytes, a multiple of 16 (internal.h:
 * rc_class_block): 16-byte steps up to RC_SMALL_MAX, then 8 per doubling. */
static size_t class_bytes(size_t n) {
    size_t step = n <= RC_SMALL_MAX ? 16 : n <= 1024 ? 64 : n <= 2048 ? 128 : 256; /* medium */
    return (n + step - 1) / step * step;
}

/* A raw pool's block for size bytes after hdr bytes of prefix (alloc.c:
 * raw_class_block). */
static size_t raw_pool_bytes(size_t size, size_t hdr) {
    return class_bytes((size <= RC_GRAIN ? RC_GRAIN : round16(size)) + hdr); /* raw_block_size */
}

/* The block a raw allocation of size bytes gets (alloc.c: raw_alloc,
 * raw_alloc_traced_kind): while tracing, a small or medium one comes from
 * the traced raw pools with a 16-byte prefix; otherwise from the raw pools;
 * past RC_MEDIUM_MAX, a large block with its RC_LARGE_OFFSET header. */

static void raw_block(size_t size, bool tracing, uint8_t *kind, size_t *bytes) {
    if (tracing && size <= RC_MEDIUM_MAX - RC_TRACE_PREFIX) {
        *kind = K_RAW_TRACED;
        *bytes = raw_pool_bytes(size, RC_TRACE_PREFIX);
    } else if (size <= RC_MEDIUM_MAX) {
        *kind = K_RAW;
        *bytes = raw_pool_bytes(size, 0);
    } else {
        *kind = K_RAW_LARGE;
        *bytes = RC_LARGE_OFFSET + size;
    }
}

/* Whether rc_realloc resizes a large raw block of `kind` and `bytes` to
 * size bytes as a large block (alloc.c: large_resize), not in debug mode:
 * a size past RC_MEDIUM_MAX, or one its slack holds. */
static bool large_resized(uint8_t kind, size_t bytes, size_t size) {
    return kind == K_RAW_LARGE && !M.debug &&
           (size > RC_MEDIUM_MAX || rc_large_holds(bytes - RC_LARGE_OFFSET, size));
}

/* The payload large_resize asks rc_alloc_fn for, resizing a large block
 * of old payload bytes to size: a sixteenth more when it grows. */
static size_t large_want(size_t old, size_t size) {
    return size > old ? size + RC_LARGE_SLACK(size) : size;
}

/* Whether rc_realloc keeps a block of `kind` and `bytes` for size bytes
 * (rc_realloc_at's `stays`: the same pool class; large_resize's: within
 * a large block's payload and RC_LARGE_SLACK short of it; else a large
 * block resized to a large size is resized by rc_alloc_fn: see op_realloc). */
static bool realloc_stays(uint8_t kind, size_t bytes, size_t size) {
    if (large_resized(kind, bytes, size))
        return rc_large_holds(bytes - RC_LARGE_OFFSET, size);
    if (kind == K_RAW)
        return size <= RC_MEDIUM_MAX && raw_pool_bytes(size, 0) == bytes;
    if (kind == K_RAW_TRACED)
        return size <= RC_MEDIUM_MAX - RC_TRACE_PREFIX &&
               raw_pool_bytes(size, RC_TRACE_PREFIX) == bytes;
    return false;
}

/* What an object of size bytes costs (object.c: new_of_kind,
 * object_block_size; rc_sizeof): its headers rounded up to a pool block,
 * or a large block. */
static size_t object_bytes(size_t size, bool gc) {
    size_t hdr = gc ? RC_GC_HEAD_SIZE : RC_HEAD_SIZE;
    if (size <= RC_MEDIUM_MAX - hdr)
        return class_bytes(round16(size + hdr));
    return RC_LARGE_OFFSET + size;
}

/* The checking loops below would call libFuzzer's comparison hooks for
 * every byte and every item, most of the run's time: they carry no
 * coverage worth having. */
#ifdef __clang__
#define NO_COVERAGE __attribute__((no_sanitize("coverage")))
#else
#define NO_COVERAGE
#endif

/* The pattern of block id: byte i is pattern[(shift(id) + i) % PAT_LEN],
 * a window of a fixed random table (kept twice over, so that any window
 * of PAT_LEN bytes is contiguous): filled by memcpy, checked by memcmp,
 * which costs little even under ASan and libFuzzer's hooks. */
#define PAT_LEN 4096u
static uint8_t pattern[2 * PAT_LEN], zeros[PAT_LEN];

static void pattern_init(void) {
    uint64_t x = 0x9E3779B97F4A7C15u;
    for (unsigned i = 0; i < PAT_LEN; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        pattern[i] = pattern[i + PAT_LEN] = (uint8_t)(x >> 32);
    }
}

static const uint8_t *pat_at(uint32_t id, size_t i) {
    return &pattern[((id * 2654435761u >> 8) + i) % PAT_LEN];
}

/* Where the pattern starts: past a tracked object's references. */
static size_t pat_start(const item *it) {
    return it->kind != K_GC ? 0 : it->wide ? sizeof(gcwide) : sizeof(gcobj);
}

static void check_range_plain(const item *it, size_t from, size_t upto, const char *why);

NO_COVERAGE static void fill(item *it, size_t from) {
    for (size_t i = from > pat_start(it) ? from : pat_start(it); i < it->size;) {
        size_t n = it->size - i < PAT_LEN ? it->size - i : PAT_LEN;
        memcpy(it->p + i, pat_at(it->id, i), n);
        i += n;
    }
}

NO_COVERAGE static void check_range(const item *it, size_t from, size_t upto, const char *why) {
    if (it->word1 && from < 16 && upto > 8) { /* the pattern but for the word op_mark wrote */
        uint64_t w;
        memcpy(&w, it->p + 8, sizeof w);
        EXPECT(w == it->word1_val, "%s: word 1 of block #%u is %#llx, wrote %#llx", why, it->id,
               (unsigned long long)w, (unsigned long long)it->word1_val);
        check_range_plain(it, from, 8, why);
        check_range_plain(it, 16, upto, why);
        return;
    }
    check_range_plain(it, from, upto, why);
}

NO_COVERAGE static void check_range_plain(const item *it, size_t from, size_t upto,
                                          const char *why) {
    for (size_t i = from > pat_start(it) ? from : pat_start(it); i < upto;) {
        size_t n = upto - i < PAT_LEN ? upto - i : PAT_LEN;
        if (memcmp(it->p + i, pat_at(it->id, i), n) != 0)
            for (size_t k = i; k < i + n; k++)
                if (it->p[k] != *pat_at(it->id, k))
                    fail("%s: byte %zu of block #%u (%p, %zu bytes, kind %d) is 0x%02x, wrote "
                         "0x%02x",
                         why, k, it->id, (void *)it->p, it->size, it->kind, it->p[k],
                         *pat_at(it->id, k));
        i += n;
    }
}

NO_COVERAGE static void check_zero(const unsigned char *p, size_t size, const char *why) {
    for (size_t i = 0; i < size;) {
        size_t n = size - i < PAT_LEN ? size - i : PAT_LEN;
        if (memcmp(p + i, zeros, n) != 0)
            for (size_t k = i; k < i + n; k++)
                EXPECT(p[k] == 0, "%s: byte %zu of new %p is 0x%02x, not 0", why, k,
                       (const void *)p, p[k]);
        i += n;
    }
}

static void check_bytes(const item *it, size_t upto, const char *why) {
    check_range(it, 0, upto, why);
}

/* Everything the model knows of one live item; its bytes all (full) or
 * their first and last 256. */
NO_COVERAGE static void check_item_bytes(const item *it, bool full, const char *why) {
    EXPECT(((uintptr_t)it->p & 15) == 0, "%s: %p not 16-byte aligned", why, (void *)it->p);
    if (full || it->size <= 512) {
        check_bytes(it, it->size, why);
    } else {
        check_range(it, 0, 256, why);
        check_range(it, it->size - 256, it->size, why);
    }
    if (!IS_OBJ(it->kind))
        return;
    EXPECT(rc_refcount(it->p) == it->ext + it->internal, "%s: object #%u count %zu, model %u",
           why, it->id, rc_refcount(it->p), it->ext + it->internal);
    EXPECT(rc_sizeof(it->p) == it->bytes, "%s: rc_sizeof %zu, model %zu", why, rc_sizeof(it->p),
           it->bytes);
    EXPECT(rc_heap_of(it->p) == M.h, "%s: rc_heap_of", why);
    EXPECT(rc_type_of(it->p) == (it->kind != K_GC ? &plain_type : it->wide ? &wide_type : &gc_type),
           "%s: rc_type_of", why);
    EXPECT(rc_gc_is_tracked(it->p) == (it->kind == K_GC), "%s: rc_gc_is_tracked", why);
    if (it->kind == K_GC) {
        void *want = it->child >= 0 ? M.items[it->child].p : NULL;
        EXPECT(((gcobj *)it->p)->ref == want, "%s: reference slot of #%u is %p, not %p", why,
               it->id, ((gcobj *)it->p)->ref, want);
    }
    for (int i = 0; it->kind == K_GC && it->wide && i < WIDE_LEAVES; i++) {
        void *want = it->leaf[i] >= 0 ? M.items[it->leaf[i]].p : NULL;
        EXPECT(((gcwide *)it->p)->leaf[i] == want, "%s: leaf slot %d of #%u is %p, not %p", why,
               i, it->id, ((gcwide *)it->p)->leaf[i], want);
    }
}

static void check_item(const item *it, const char *why) { check_item_bytes(it, true, why); }

#ifdef RC_ASAN
/* Bytes of the block before the payload. */
static size_t header_bytes(const item *it) {
    switch (it->kind) {
    case K_RAW: return 0;
    case K_RAW_TRACED: return RC_TRACE_PREFIX;
    case K_RAW_LARGE: return RC_LARGE_OFFSET;
    case K_PLAIN: return it->bytes > RC_MEDIUM_MAX ? RC_LARGE_OFFSET : RC_HEAD_SIZE;
    default: return it->bytes > RC_MEDIUM_MAX ? RC_LARGE_OFFSET : RC_GC_HEAD_SIZE;
    }
}

#endif

/* Under ASan, a block just freed is poisoned (alloc.c: rc_pool_mark_dead,
 * rc__large_free, or free() in rc_alloc_fn) but for the words the
 * allocator keeps readable: the free link and free mark of a raw block,
 * the rc_head and free link of an object, all below payload + 16. So
 * payload + 16 is poisoned when the block has room past it. */
static void check_poisoned(const item *it) {
#ifdef RC_ASAN
    if (it->bytes - header_bytes(it) > 16)
        EXPECT(__asan_address_is_poisoned(it->p + 16),
               "freed block #%u (%p, kind %d, %zu bytes) is not poisoned", it->id, (void *)it->p,
               it->kind, it->bytes);
#else
    (void)it;
#endif
}

static void account(const item *it, int sign) {
    size_t s = (size_t)(long)sign;
    M.bytes += s * it->bytes;
    if (IS_OBJ(it->kind)) {
        M.objects += s;
        M.tracked += s * (it->kind == K_GC);
    }
    if (it->traced)
        M.traced_bytes += s * it->size;
}

/* A new item of kind at p (size bytes asked, bytes spent), counted. */
/* The bytes a new large raw block of size bytes got from rc_malloc,
 * rc_calloc or rc_realloc (not resized by large_resize): RC_LARGE_OFFSET +
 * size, or a dead large block held back with up to RC_LARGE_SLACK more,
 * which alloc.c's large_dead_take reuses (the model keeps no copy of
 * that ring): read from bytes_in_use, which the block alone took past the
 * model's figure, and checked within those bounds. */
static size_t large_taken(size_t size) {
    rc_heap_stats s;
    rc_heap_get_stats(M.h, &s);
    size_t bytes = s.bytes_in_use - M.bytes, cap = bytes - RC_LARGE_OFFSET;
    EXPECT(bytes > RC_LARGE_OFFSET && rc_large_holds(cap, size),
           "a large block of %zu bytes for %zu", bytes, size);
    return bytes;
}

static item *add_item(void *p, uint8_t kind, size_t size, size_t bytes) {
    int slot = M.free_slots[--M.nfree];
    M.allocs++;
    item *it = &M.items[slot];
    *it = (item){.p = p, .size = size, .bytes = bytes, .id = ++M.next_id, .kind = kind,
                 .traced = M.tracing, .ext = 1, .child = -1};
    for (int i = 0; i < WIDE_LEAVES; i++)
        it->leaf[i] = -1;
    if (IS_OBJ(kind)) {
        it->pos = M.nobj;
        M.objs[M.nobj++] = slot;
    } else {
        it->pos = M.nraw;
        M.raws[M.nraw++] = slot;
    }
    account(it, 1);
    return it;
}

static void remove_item(item *it) {
    account(it, -1);
    int slot = (int)(it - M.items);
    int *list = IS_OBJ(it->kind) ? M.objs : M.raws;
    int *n = IS_OBJ(it->kind) ? &M.nobj : &M.nraw;
    int last = list[--*n];
    list[it->pos] = last;
    M.items[last].pos = it->pos;
    M.free_slots[M.nfree++] = slot;
}

/* Whether n more items fit (the model's slots, the input's budget). */
static bool room(int n) { return M.nfree >= n && M.allocs + (size_t)n <= MAX_ALLOCS; }

/* ------------------------------------------------------- whole checks */

static void check_stats(void) {
    rc_heap_stats s;
    rc_heap_get_stats(M.h, &s);
    EXPECT(s.objects == M.objects, "stats: objects %zu, model %zu", s.objects, M.objects);
    EXPECT(s.tracked == M.tracked, "stats: tracked %zu, model %zu", s.tracked, M.tracked);
    EXPECT(s.bytes_in_use == M.bytes, "stats: bytes_in_use %zu, model %zu", s.bytes_in_use,
           M.bytes);
    EXPECT(s.bytes_reserved == M.cnt.bytes, "stats: bytes_reserved %zu, rc_alloc_fn holds %zu",
           s.bytes_reserved, M.cnt.bytes);
    EXPECT(s.bytes_reserved >= s.bytes_in_use, "stats: reserved %zu < in use %zu",
           s.bytes_reserved, s.bytes_in_use);
    EXPECT(rc_tracemalloc_is_tracing(M.h) == M.tracing, "tracing is %d, model %d",
           rc_tracemalloc_is_tracing(M.h), M.tracing);
    size_t cur, peak;
    rc_tracemalloc_get_traced_memory(M.h, &cur, &peak);
    if (!M.tracing)
        EXPECT(cur == 0 && peak == 0, "traced memory %zu/%zu while not tracing", cur, peak);
    else if (M.trace_exact)
        EXPECT(cur == M.traced_bytes && peak >= cur, "traced memory %zu (peak %zu), model %zu", cur,
               peak, M.traced_bytes);
    /* The arenas (internal.h): h->arenas lists those the rc_alloc_fn
     * handed out; one wholly free is kept (h->empty_arena), no other. With
     * nothing live, every pool is parked or retired: only parked pools
     * (h->empty_pools, at most RC_KEPT_EMPTY_POOLS) and the kept arena may
     * hold arenas. */
    size_t arenas = 0;
    for (const rc_arena *a = M.h->arenas; a; a = a->next) {
        arenas++;
        EXPECT(a->nfree < a->npools || a == M.h->empty_arena,
               "a wholly free arena is neither given back nor the kept one");
    }
    EXPECT(arenas == M.cnt.arenas, "%zu arenas listed, rc_alloc_fn handed out %zu", arenas,
           M.cnt.arenas);
    EXPECT(M.h->empty_pools <= RC_KEPT_EMPTY_POOLS, "%u empty pools kept", M.h->empty_pools);
    if (M.nraw == 0 && M.nobj == 0 && !M.debug)
        EXPECT(arenas <= M.h->empty_pools + (M.h->empty_arena != NULL),
               "nothing live: %zu arenas held, %u parked pools", arenas, M.h->empty_pools);
}

/* The pools (internal.h, the rules at rc_pool): each carved pool holds
 * at most its capacity; one with blocks in use is not parked and, when it
 * has a block to give, is on its class list (a full pool rejoins it at its
 * first free); a parked one is listed and empty; every listed pool but a
 * list's head has a block to give; h->empty_pools counts the parked. */
NO_COVERAGE static void check_pools(void) {
    unsigned parked = 0;
    for (const rc_arena *a = M.h->arenas; a; a = a->next)
        for (uint32_t i = 0; i < a->npools - a->nfresh; i++) {
            const rc_pool *p = rc_pool_at(a->first_pool + (size_t)i * RC_POOL_SIZE);
            bool room = p->free != NULL || p->fresh < p->end;
            EXPECT(p->used <= p->capacity, "pool %p: %u blocks used of %u", (void *)p, p->used,
                   p->capacity);
            EXPECT(!p->parked || (p->used == 0 && p->in_list), "pool %p parked with %u used",
                   (void *)p, p->used);
            EXPECT(p->used == 0 || !room || p->in_list,
                   "pool %p (kind %u, %u bytes) has %u used and room but is not listed", (void *)p,
                   p->kind, p->block_size, p->used);
            parked += p->parked;
        }
    EXPECT(parked == M.h->empty_pools, "%u pools parked, h->empty_pools %u", parked,
           M.h->empty_pools);
    for (unsigned kind = 0; kind < RC_NKINDS; kind++)
        for (unsigned cls = 0; cls < RC_MEDIUM_MAX / RC_GRAIN; cls++) {
            if (class_bytes((cls + 1) * RC_GRAIN) != (cls + 1) * RC_GRAIN)
                continue; /* no such class */
            const rc_pool *head = *rc_class_list(M.h, kind, cls, false);
            if (head == &M.h->no_pool)
                continue;
            for (const rc_pool *p = head; p; p = p->next) {
                EXPECT(p->in_list && p->kind == kind && p->cls == cls,
                       "class list %u/%u holds pool %p of %u/%u", kind, cls, (void *)p, p->kind,
                       p->cls);
                EXPECT(p == head || p->free != NULL || p->fresh < p->end,
                       "class list %u/%u: pool %p past the head is full", kind, cls, (void *)p);
            }
        }
}

typedef struct span { uintptr_t lo, hi; uint32_t id; } span;
static span spans[MAX_ITEMS];

NO_COVERAGE static int span_cmp(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Every live item, the model's own sums, the heap's pools and trace
 * tables; when full (at the end of a run), every byte of every item and
 * that no two payloads overlap. Otherwise (every CHECK_EVERY operations
 * and at opcode 31) one item in LIGHT_SHARE, a different share each time,
 * is checked: checking them all there, each through a few library calls
 * and memcmp, was most of a run's time. Each item is checked whole
 * anyway when it is freed or reallocated, and at the end. */
#define LIGHT_SHARE 16
static unsigned light_turn; /* check_all's calls in this run */
NO_COVERAGE static void check_all(bool full) {
    size_t objects = 0, tracked = 0, bytes = 0, traced = 0, n = 0;
    light_turn++;
    for (int list = 0; list < 2; list++) {
        int *slots = list ? M.objs : M.raws, count = list ? M.nobj : M.nraw;
        for (int i = 0; i < count; i++) {
            const item *it = &M.items[slots[i]];
            EXPECT(it->pos == i, "model: position");
            if (full || (it->id + light_turn) % LIGHT_SHARE == 0)
                check_item_bytes(it, full || M.bytes <= ((size_t)1 << 20), "live block");
            objects += IS_OBJ(it->kind);
            tracked += it->kind == K_GC;
            bytes += it->bytes;
            traced += it->traced ? it->size : 0;
            spans[n++] = (span){(uintptr_t)it->p, (uintptr_t)it->p + (it->size ? it->size : 1),
                                it->id};
        }
    }
    EXPECT(objects == M.objects && tracked == M.tracked && bytes == M.bytes &&
               traced == M.traced_bytes,
           "model: sums");
    check_pools();
    EXPECT(rc__trace_tables_valid(M.h), "trace tables: a bucket's count or a lookup is wrong");
    if (full) {
        qsort(spans, n, sizeof *spans, span_cmp);
        for (size_t i = 1; i < n; i++)
            EXPECT(spans[i - 1].hi <= spans[i].lo, "blocks #%u and #%u overlap",
                   spans[i - 1].id, spans[i].id);
    }
    check_stats();
}

/* ------------------------------------------------------------- reading */

typedef struct reader { const uint8_t *p, *end; } reader;

static unsigned rd8(reader *r) { return r->p < r->end ? *r->p++ : 0; }
static unsigned rd16(reader *r) {
    unsigned lo = rd8(r);
    return lo | rd8(r) << 8;
}

/* A size: mostly 1..512 (small pool blocks), sometimes 0..32, around the
 * small or the medium pool limit, a medium or large block of up to 4.5 KiB,
 * rarely a big one (16..256 KiB, so that a debug heap's quarantine fills
 * by bytes). */
static size_t rd_size(reader *r) {
    unsigned v = rd16(r);
    switch (v >> 13) {
    case 5: return v % 33;
    case 6: return (v & 64 ? RC_MEDIUM_MAX : RC_SMALL_MAX) - 40 + v % 64;
    case 7:
        if ((v & 0x1FC0) == 0x1FC0)
            return ((size_t)16 << 10) + (size_t)(v & 15) * (16 << 10);
        return RC_SMALL_MAX + 1 + v % 4096;
    default: return 1 + v % RC_SMALL_MAX;
    }
}

/* size, or a pool size when the live bytes would pass LIVE_LIMIT: each
 * input stays cheap to check. */
static size_t fit(size_t size) {
    return M.bytes + size > LIVE_LIMIT ? size % RC_SMALL_MAX : size;
}

/* A live raw block or object (its two bytes read either way), or NULL. */
static item *pick(reader *r, bool obj) {
    unsigned v = rd16(r);
    int n = obj ? M.nobj : M.nraw;
    return n ? &M.items[(obj ? M.objs : M.raws)[v % (unsigned)n]] : NULL;
}

/* ------------------------------------------------------------ operations */

static bool armed(void) { return M.cnt.fail_after >= 0; }

static void expect_failure(const void *p, int err, const char *call) {
    EXPECT(p == NULL, "%s succeeded", call);
    EXPECT(errno == err, "%s: errno %d, not %d", call, errno, err);
}

/* A new raw block from rc_malloc (or rc_calloc: zero). */
static void op_malloc(size_t size, bool zero, unsigned nsplit) {
    if (!room(1))
        return;
    size = fit(size);
    errno = 0;
    unsigned char *p;
    if (zero) {
        size_t n = 1 + nsplit % 4, each = size / n;
        size = n * each;
        p = rc_calloc(M.h, n, each);
    } else {
        p = rc_malloc(M.h, size);
    }
    if (p == NULL) {
        EXPECT(armed() && errno == ENOMEM, "rc_%s(%zu) failed, errno %d",
               zero ? "calloc" : "malloc", size, errno);
        return;
    }
    if (zero)
        check_zero(p, size, "rc_calloc");
    uint8_t kind;
    size_t bytes;
    raw_block(size, M.tracing, &kind, &bytes);
    if (kind == K_RAW_LARGE)
        bytes = large_taken(size);
    item *it = add_item(p, kind, size, bytes);
    fill(it, 0);
    check_item(it, "new block");
}

static void op_free(item *it) {
    check_item(it, "rc_free");
    item copy = *it;
    rc_free(M.h, it->p);
    remove_item(it);
    check_poisoned(&copy);
}

static void op_realloc(item *it, reader *r) {
    size_t old = it->size, size;
    unsigned mode = rd8(r);
    switch (mode % 6) {
    case 0: size = rd_size(r); break;
    case 1: size = old + 1 + rd8(r) * (mode & 0x80 ? 64u : 1u); break; /* grow */
    case 2: size = old / (2 + rd8(r) % 8); break;                     /* shrink */
    case 3: size = 0; break;
    case 4: size = (old & ~(size_t)15) + rd8(r) % 16; break;           /* about the same */
    default: size = old; break;
    }
    size = fit(size);
    check_item(it, "rc_realloc");
    if (it->word1 && size < 16) { /* the program writes its pattern over the mark again */
        memcpy(it->p + 8, pat_at(it->id, 8), 8);
        it->word1 = false;
    }
    bool stays = realloc_stays(it->kind, it->bytes, size);
    /* large to large, not in debug mode (alloc.c: large_resize): moved
     * unless count_alloc resizes it in place, as bit 6 of mode asks */
    bool resized = large_resized(it->kind, it->bytes, size);
    size_t want = resized ? large_want(old, size) : size;
    bool in_place = resized && !stays && (mode & 0x40) &&
                    RC_LARGE_OFFSET + want <= room_of(it->p - RC_LARGE_OFFSET);
    errno = 0;
    M.cnt.in_place = mode & 0x40;
    unsigned char *p = rc_realloc(M.h, it->p, size);
    M.cnt.in_place = false;
    if (p == NULL) {
        EXPECT(armed() && errno == ENOMEM && !stays, "rc_realloc(%zu -> %zu) failed, errno %d",
               old, size, errno);
        check_item(it, "block of a failed rc_realloc");
        return;
    }
    item before = *it;
    account(it, -1);
    if (stays || in_place)
        EXPECT(p == it->p, "rc_realloc(%zu -> %zu) of a block of %zu bytes moved", old, size,
               it->bytes);
    else
        EXPECT(p != it->p, "rc_realloc(%zu -> %zu) did not move", old, size);
    if (!stays)
        raw_block(want, M.tracing, &it->kind, &it->bytes);
    if (!stays && !resized && it->kind == K_RAW_LARGE)
        it->bytes = large_taken(size);
    it->p = p;
    it->size = size;
    it->traced = M.tracing;
    account(it, 1);
    check_bytes(it, old < size ? old : size, "prefix after rc_realloc");
#ifdef RC_ASAN
    EXPECT(it->kind != K_RAW_LARGE || it->bytes - RC_LARGE_OFFSET == size ||
               __asan_address_is_poisoned(p + size),
           "rc_realloc(%zu -> %zu): the slack of a block of %zu bytes is not poisoned", old, size,
           it->bytes);
#endif
    EXPECT(((uintptr_t)p & 15) == 0, "rc_realloc: %p not aligned", (void *)p);
    if (!stays && !in_place)
        check_poisoned(&before);
    fill(it, old);
}

/* A new object of type (of wide_type when wide), NULL when none is made. */
static item *new_object(size_t size, bool gc, bool wide) {
    if (!room(1))
        return NULL;
    size = fit(size);
    size_t least = !gc ? 1 : wide ? sizeof(gcwide) : sizeof(gcobj);
    if (size < least)
        size = least;
    errno = 0;
    unsigned char *p = rc_new_sized(M.h, !gc ? &plain_type : wide ? &wide_type : &gc_type, size);
    if (p == NULL) {
        EXPECT(armed() && errno == ENOMEM, "rc_new_sized(%zu) failed, errno %d", size, errno);
        return NULL;
    }
    check_zero(p, size, "rc_new_sized");
    item *it = add_item(p, gc ? K_GC : K_PLAIN, size, object_bytes(size, gc));
    it->wide = wide;
    fill(it, 0);
    check_item(it, "new object");
    return it;
}

static item *op_new(size_t size, bool gc) { return new_object(size, gc, false); }

/* The objects that die when it loses its last reference: it, then each
 * one that only its parent's reference kept. Each is checked while it
 * still lives and copied to dying[]. */
static item dying[MAX_ITEMS];

static int dying_chain(item *it) {
    int n = 0;
    for (item *d = it;; d = &M.items[d->child]) {
        check_item(d, "dying object");
        dying[n++] = *d;
        if (d->child < 0 || M.items[d->child].ext + M.items[d->child].internal > 1)
            break;
    }
    return n;
}

/* The model's side of the n deaths of dying_chain(it), once they happened:
 * each releases its child's count; each payload is poisoned. */
static void bury(item *it, int n) {
    for (int i = 0; i < n; i++) {
        int child = it->child;
        if (child >= 0)
            M.items[child].internal--;
        remove_item(it);
        check_poisoned(&dying[i]);
        if (i + 1 < n)
            it = &M.items[child];
    }
}

/* Drops one of the program's references to it: when that is the last,
 * it dies, and with it the objects only its reference kept, in cascade. */
static void op_decref(item *it) {
    if (it->ext + it->internal > 1) {
        rc_decref(it->p);
        it->ext--;
        return;
    }
    int n = dying_chain(it);
    rc_decref(it->p);
    bury(it, n);
}

/* A tracked object's reference: set to an older object, or cleared. */
static void op_link(item *a, item *b) {
    if (a->kind != K_GC)
        return;
    gcobj *o = (gcobj *)a->p;
    if (a->child >= 0) { /* RC_CLEAR(o->ref) */
        item *c = &M.items[a->child];
        int n = c->ext + c->internal > 1 ? 0 : dying_chain(c);
        a->child = -1;
        RC_CLEAR(o->ref);
        if (n)
            bury(c, n);
        else
            c->internal--;
        return;
    }
    if (b == NULL || b == a || b->id > a->id)
        return; /* only older objects: no cycles */
    o->ref = rc_incref(b->p);
    a->child = (int)(b - M.items);
    b->internal++;
}

/* The first object from objs[start] on that the program holds, or NULL. */
static item *held_object(unsigned start) {
    for (int i = 0; i < M.nobj; i++) {
        item *it = &M.items[M.objs[(start + (unsigned)i) % (unsigned)M.nobj]];
        if (it->ext > 0)
            return it;
    }
    return NULL;
}

/* The leaves of a wide ring (read_leaves, share_leaves): `count` new
 * plain objects of `size` bytes, slot s of the ring's slots holding leaf
 * s % count, but for one slot in 8 left NULL (holes) and the last two,
 * which hold `held` (an object the program holds) when there is one;
 * `fail` requests to rc_alloc_fn succeed during the collection, then all
 * fail (-1: none fails). */
typedef struct leaf_plan {
    unsigned count;
    size_t size;
    bool holes;
    item *held;
    long fail;
} leaf_plan;

static leaf_plan read_leaves(reader *r) {
    unsigned count = rd8(r), mode = rd8(r);
    leaf_plan lp = {1 + count % 160, 1 + (mode >> 4) * 8, mode & 1, NULL, (long)(mode >> 2 & 3) - 1};
    if (mode & 2)
        lp.held = held_object(rd16(r));
    return lp;
}

/* Gives the m members of a ring, top and those its references reach, the
 * leaves lp asks for; the program keeps none of the new ones. A leaf only
 * the ring holds, in two slots or more, is one the collector's sweep
 * dooms (past 64 of them its array grows; lp->fail makes a growth fail). */
static void share_leaves(item *top, int m, const leaf_plan *lp) {
    int leaves[160], nleaves = 0;
    while (nleaves < (int)lp->count) {
        item *l = op_new(lp->size, false);
        if (l == NULL)
            break;
        leaves[nleaves++] = (int)(l - M.items);
    }
    int slots = m * WIDE_LEAVES;
    item *it = top;
    for (int s = 0; s < slots && nleaves; s++) {
        if (s > 0 && s % WIDE_LEAVES == 0)
            it = &M.items[it->child];
        if (lp->holes && s % 8 == 7)
            continue;
        item *l = lp->held && s >= slots - 2 ? lp->held : &M.items[leaves[s % nleaves]];
        ((gcwide *)it->p)->leaf[s % WIDE_LEAVES] = rc_incref(l->p);
        it->leaf[s % WIDE_LEAVES] = (int)(l - M.items);
        l->internal++;
    }
    for (int i = 0; i < nleaves; i++)
        op_decref(&M.items[leaves[i]]);
}

/* The model's side of the death of a wide ring member (copied to d): each
 * of its leaves loses a count, and dies with its last. */
static void drop_leaves(const item *d) {
    for (int i = 0; i < WIDE_LEAVES; i++) {
        if (d->leaf[i] < 0)
            continue;
        item *l = &M.items[d->leaf[i]];
        if (--l->internal + l->ext == 0) {
            item copy = *l;
            remove_item(l);
            check_poisoned(&copy);
        }
    }
}

/* The n objects of a ring whose first, first, was just made to hold the
 * object at its end: the program's last reference to them went, so that
 * they are cyclic garbage, and a full collection must find them all and
 * free them (it sweeps plain garbage; past the 64 its array first holds,
 * or with no memory for that, it frees them one by one instead), and the
 * leaves only they held; fail_after requests succeed meanwhile, then all
 * fail (-1: none; not when an earlier failure is armed). */
static void collect_ring(item *first, int n, long fail_after) {
    item *it = first;
    for (int i = 0; i < n; i++, it = &M.items[it->child]) {
        check_item(it, "ring member");
        dying[i] = *it;
    }
    bool arm = fail_after >= 0 && !armed();
    if (arm)
        M.cnt.fail_after = fail_after;
    long found = rc_gc_collect(M.h, 2);
    if (arm)
        M.cnt.fail_after = -1;
    EXPECT(found == n, "rc_gc_collect found %ld unreachable in a ring of %d", found, n);
    for (int i = 0; i < n; i++) {
        it = first;
        first = &M.items[it->child];
        remove_item(it);
        check_poisoned(&dying[i]);
    }
    for (int i = 0; i < n; i++)
        drop_leaves(&dying[i]);
}

/* k tracked objects, each holding the one made before; the program keeps
 * only the newest, so dropping it kills the chain in cascade (past
 * RC_DEALLOC_DEPTH deaths wait on h->deferred). flags & 1: the oldest is
 * untracked. (flags & 6) == 6: the oldest holds the one made (flags >> 3)
 * % k before the newest (the oldest itself, or the newest), and the
 * program drops the newest: what it held dies in cascade down to that
 * one, the ring is cyclic garbage (collect_ring). (flags & 7) == 7: the
 * objects are wide, and the ring's members share leaves as the next bytes
 * say (read_leaves). */
static void op_chain(unsigned k, size_t size, unsigned flags, reader *r) {
    bool ring = (flags & 6) == 6, wide = (flags & 7) == 7;
    leaf_plan lp = wide ? read_leaves(r) : (leaf_plan){0, 0, false, NULL, -1};
    item *prev = NULL, *first = NULL;
    int n = 0;
    for (unsigned i = 0; i < k; i++, n++) {
        item *it = new_object(size + (i % 3) * 16, ring || !((flags & 1) && i == 0), wide);
        if (it == NULL)
            break;
        if (prev) {
            ((gcobj *)it->p)->ref = prev->p; /* the program's reference moves in */
            it->child = (int)(prev - M.items);
            prev->ext--;
            prev->internal++;
        } else {
            first = it;
        }
        prev = it;
    }
    if (!ring || n == 0)
        return;
    int j = n - 1 - (int)(flags >> 3) % n; /* the ring: the first j + 1 made */
    item *end = prev;
    for (int i = n - 1; i > j; i--)
        end = &M.items[end->child];
    if (wide)
        share_leaves(end, j + 1, &lp);
    ((gcobj *)first->p)->ref = rc_incref(end->p);
    first->child = (int)(end - M.items);
    end->internal++;
    op_decref(prev);
    collect_ring(first, j + 1, lp.fail);
}

/* The model after every trace was forgotten (stop, start, clear_traces). */
static void forget_traces(void) {
    for (int i = 0; i < M.nraw; i++)
        M.items[M.raws[i]].traced = false;
    for (int i = 0; i < M.nobj; i++)
        M.items[M.objs[i]].traced = false;
    M.traced_bytes = 0;
    M.trace_exact = true;
}

static void op_trace(void) {
    if (M.tracing) {
        rc_tracemalloc_stop(M.h);
        M.tracing = false;
    } else {
        errno = 0;
        int rc = rc_tracemalloc_start(M.h, 1);
        if (rc != 0) {
            EXPECT(rc == -1 && armed() && errno == ENOMEM, "rc_tracemalloc_start: %d, errno %d",
                   rc, errno);
            return;
        }
        M.tracing = true;
    }
    forget_traces(); /* stop forgets every trace; a new start has none */
}

static void clear_traces(void) {
    rc_tracemalloc_clear_traces(M.h);
    if (M.tracing)
        forget_traces();
}

/* Drops every reference the program holds: every object dies. */
static void drop_all_objects(void) {
    for (int i = M.nobj - 1; i >= 0; i--) {
        if (i >= M.nobj)
            continue;
        item *it = &M.items[M.objs[i]];
        while (i < M.nobj && it == &M.items[M.objs[i]] && it->ext > 0)
            op_decref(it);
    }
    EXPECT(M.nobj == 0, "model: %d objects outlive their references", M.nobj);
}

static void op_burst_free(reader *r) {
    unsigned mode = rd8(r), k = 1 + rd8(r);
    switch (mode % 6) {
    case 0: /* the newest blocks */
        while (k-- && M.nraw)
            op_free(&M.items[M.raws[M.nraw - 1]]);
        break;
    case 1: /* the oldest */
        while (k-- && M.nraw)
            op_free(&M.items[M.raws[0]]);
        break;
    case 2: /* every other block */
        for (int i = M.nraw - 1; i >= 0; i -= 2)
            if (i < M.nraw)
                op_free(&M.items[M.raws[i]]);
        break;
    case 3: /* objects */
        for (item *it; k-- && (it = held_object(mode >> 3)) != NULL;)
            op_decref(it);
        break;
    case 4: /* every block */
        while (M.nraw)
            op_free(&M.items[M.raws[M.nraw - 1]]);
        break;
    default: /* everything */
        while (M.nraw)
            op_free(&M.items[M.raws[M.nraw - 1]]);
        drop_all_objects();
        break;
    }
}

static void op_burst_alloc(reader *r) {
    unsigned what = rd8(r), k = 1 + rd8(r);
    size_t size = rd_size(r);
    if (size > 4096 + RC_SMALL_MAX)
        size = 4096 + RC_SMALL_MAX; /* no bursts of big blocks */
    for (unsigned i = 0; i < k && room(1); i++) {
        switch (what % 3) {
        case 0: op_malloc(size, false, 0); break;
        case 1: op_new(size ? size : 1, false); break;
        default: op_new(size, true); break;
        }
    }
}

/* Writes a raw block's free mark (alloc.c: rc_raw_mark) into its second
 * word, as a program may by chance: rc_free and rc_realloc must then
 * confirm that the block is live on the free lists and the quarantine. */
static void op_mark(item *it) {
    if (it->kind != K_RAW || it->size < 16)
        return;
    uintptr_t mark = rc_raw_mark(M.h, it->p, RC_KIND_RAW);
    memcpy(it->p + 8, &mark, sizeof mark);
    it->word1 = true;
    it->word1_val = mark;
}

/* The trace of a block or object: there exactly when the model says it is
 * traced, with this file's call site as its one frame. */
static void op_traceback(item *it) {
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(M.h, it->p);
    if (armed() || !M.trace_exact)
        return; /* a trace or its resolution may be missing */
    EXPECT((tb != NULL) == it->traced, "block #%u (kind %d) %s a traceback, model %d", it->id,
           it->kind, tb ? "has" : "has no", it->traced);
    if (tb)
        EXPECT(tb->nframe == 1 && strstr(tb->frames[0].filename, "fuzz_alloc.c") != NULL,
               "traceback of block #%u: %u frames, %s", it->id, tb->nframe,
               tb->nframe ? tb->frames[0].filename : "-");
}

static void op_misc(reader *r) {
    unsigned what = rd8(r);
    errno = 0;
    switch (what % 12) {
    case 0: {
        long found = rc_gc_collect(M.h, (int)(what >> 3) % 3);
        EXPECT(found == 0, "rc_gc_collect found %ld unreachable", found);
        break;
    }
    case 1:
        clear_traces();
        break;
    case 2:
        expect_failure(rc_calloc(M.h, SIZE_MAX / 2 + 1, 2 + what / 8), ENOMEM,
                       "rc_calloc overflowing");
        break;
    case 3:
        expect_failure(rc_malloc(M.h, SIZE_MAX - what), ENOMEM, "rc_malloc(SIZE_MAX - n)");
        break;
    case 4:
        expect_failure(rc_malloc(M.h, SYS_LIMIT + 1 + what), ENOMEM, "rc_malloc past the limit");
        break;
    case 5: {
        item *it = pick(r, false);
        if (it) {
            check_item(it, "rc_realloc failing");
            expect_failure(rc_realloc(M.h, it->p, SYS_LIMIT + what), ENOMEM,
                           "rc_realloc past the limit");
            check_item(it, "block of a failed rc_realloc");
        }
        break;
    }
    case 6:
        expect_failure(rc_new_sized(M.h, what & 8 ? &gc_type : &plain_type, 0), EINVAL,
                       "rc_new_sized(0)");
        expect_failure(rc_new_sized(M.h, &plain_type, SYS_LIMIT + what), ENOMEM,
                       "rc_new_sized past the limit");
        break;
    case 7:
        rc_free(M.h, NULL);
        rc_decref(NULL);
        EXPECT(rc_incref(NULL) == NULL, "rc_incref(NULL)");
        expect_failure(rc_malloc(NULL, 16), EINVAL, "rc_malloc(NULL heap)");
        break;
    case 8: case 9: {
        item *it = pick(r, what & 1);
        if (it)
            op_traceback(it);
        break;
    }
    default: {
        item *it = pick(r, false);
        if (it)
            op_mark(it);
        break;
    }
    }
}

/* ------------------------------------------------------------------ run */

/* Makes the heap the input's first bytes ask for: RCGC_DEBUG (set only
 * while the heap is made), arena placement, the collector's threshold,
 * tracing from the start. */
static void heap_open(unsigned cfg, unsigned how, unsigned off) {
    M.debug = (cfg & 7) == 0;
    bool trace_first = cfg & 0x80;
    place_init(&M.cnt.place, how, off);
    const char *env = getenv("RCGC_DEBUG");
    char *saved = env ? strdup(env) : NULL;
    if (M.debug)
        setenv("RCGC_DEBUG", "1", 1);
    else
        unsetenv("RCGC_DEBUG");
    M.h = rc_heap_new_with(count_alloc, &M.cnt);
    if (saved) {
        setenv("RCGC_DEBUG", saved, 1);
        free(saved);
    } else {
        unsetenv("RCGC_DEBUG");
    }
    EXPECT(M.h != NULL, "rc_heap_new_with failed");
    EXPECT(M.h->debug == M.debug, "RCGC_DEBUG not taken");
    switch (cfg >> 5 & 3) {
    case 1: rc_gc_set_threshold(M.h, 5, 3, 3); break;
    case 2: rc_gc_set_threshold(M.h, 60, 10, 10); break;
    case 3: rc_gc_disable(M.h); break;
    default: break;
    }
    if (trace_first)
        op_trace();
    check_stats();
}

/* Runs operation `op` with its operands from r. False for the one that
 * arms an allocation failure for the next operation (nothing to check). */
static bool run_op(unsigned op, reader *r) {
    switch (op % 32) {
    case 0: case 1: case 2: case 3: case 4: case 5:
        op_malloc(rd_size(r), false, 0);
        break;
    case 6: case 7: {
        size_t size = rd_size(r);
        op_malloc(size, true, rd8(r));
        break;
    }
    case 8: case 9: case 10: {
        item *it = pick(r, false);
        if (it)
            op_realloc(it, r);
        break;
    }
    case 11: {
        size_t size = fit(rd_size(r));
        if (!room(1))
            break;
        errno = 0;
        unsigned char *p = rc_realloc(M.h, NULL, size);
        if (p == NULL) {
            EXPECT(armed() && errno == ENOMEM, "rc_realloc(NULL, %zu) failed", size);
            break;
        }
        uint8_t kind;
        size_t bytes;
        raw_block(size, M.tracing, &kind, &bytes);
        if (kind == K_RAW_LARGE)
            bytes = large_taken(size);
        fill(add_item(p, kind, size, bytes), 0);
        break;
    }
    case 12: case 13: case 14: case 15: {
        item *it = pick(r, false);
        if (it)
            op_free(it);
        break;
    }
    case 16: case 17: {
        size_t size = rd_size(r);
        op_new(size ? size : 1, false);
        break;
    }
    case 18: case 19:
        op_new(rd_size(r), true);
        break;
    case 20: case 21: case 22: {
        item *it = held_object(rd16(r));
        if (it)
            op_decref(it);
        break;
    }
    case 23: {
        item *it = pick(r, true);
        if (it) {
            EXPECT(rc_incref(it->p) == it->p, "rc_incref");
            it->ext++;
        }
        break;
    }
    case 24: {
        item *a = pick(r, true), *b = pick(r, true);
        if (a)
            op_link(a, b);
        break;
    }
    case 25: {
        unsigned k = 2 + rd8(r) % 100;
        unsigned flags = rd8(r);
        size_t size = rd_size(r);
        if (size > RC_SMALL_MAX) /* a chain of medium or large objects */
            size = (size & 1 ? RC_MEDIUM_MAX : RC_SMALL_MAX) + 1 + size % 64;
        if (room((int)k))
            op_chain(k, size, flags, r);
        break;
    }
    case 26:
        op_trace();
        break;
    case 27: case 28:
        op_burst_free(r);
        break;
    case 29:
        op_burst_alloc(r);
        break;
    case 30:
        if (op & 0x20) {
            op_misc(r);
        } else {
            M.cnt.fail_after = rd8(r) % 4; /* the next operation: k requests, then failures */
            return false;
        }
        break;
    default:
        check_all(false);
        break;
    }
    return true;
}

/* Drops what the program holds unless keep_at_end, frees the heap, and
 * checks that every object was counted and every byte given back. */
static void heap_close(bool keep_at_end) {
    size_t expect_left = 0;
    if (keep_at_end) {
        expect_left = M.objects;
    } else {
        while (M.nraw)
            op_free(&M.items[M.raws[M.nraw - 1]]);
        drop_all_objects();
        check_stats();
    }
    size_t left = rc_heap_free(M.h);
    EXPECT(left == expect_left, "rc_heap_free: %zu objects left, model %zu", left, expect_left);
    EXPECT(M.cnt.bytes == 0 && M.cnt.blocks == 0,
           "rc_heap_free: %zu bytes in %zu blocks not given back", M.cnt.bytes, M.cnt.blocks);
    for (int i = 0; i < SLOTS; i++)
        EXPECT(!M.cnt.place.used[i], "rc_heap_free: arena slot %d not given back", i);
}

static void run(reader *r) {
    unsigned cfg = rd8(r), how = rd8(r), off = rd8(r);
    heap_open(cfg, how, off);
    for (cur_op = 1; cur_op <= MAX_OPS && r->p < r->end; cur_op++) {
        bool was_armed = armed(), traced_during = M.tracing;
        if (!run_op(rd8(r), r))
            continue;
        if (was_armed) {
            M.cnt.fail_after = -1;
            if (traced_during || M.tracing)
                M.trace_exact = false; /* a trace may be missing */
        }
        check_stats();
        if (cur_op % CHECK_EVERY == 0)
            check_all(false);
    }
    M.cnt.fail_after = -1;
    check_all(true);
    heap_close((cfg & 0x18) == 0x18);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool inited;
    if (!inited) {
        pattern_init();
        inited = true;
    }
    memset(&M.cnt, 0, sizeof M.cnt);
    M.cnt.fail_after = -1;
    M.tracing = false;
    M.trace_exact = true;
    M.nraw = M.nobj = 0;
    M.nfree = MAX_ITEMS;
    for (int i = 0; i < MAX_ITEMS; i++)
        M.free_slots[i] = MAX_ITEMS - 1 - i;
    M.objects = M.tracked = M.bytes = M.traced_bytes = M.allocs = 0;
    M.next_id = 0;
    cur_op = 0;
    light_turn = 0;
    reader r = {data, data + size};
    run(&r);
    return 0;
}
