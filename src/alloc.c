/*
 * alloc.c — the small-object allocator and raw memory (rc_malloc & co).
 *
 * Arenas of RC_ARENA_SIZE bytes come from the heap's rc_alloc_fn; each is cut
 * into RC_POOL_SIZE-aligned pools; a pool serves one kind (objects or raw
 * blocks) and one size class (16-byte steps up to RC_SMALL_MAX). Allocation
 * pops the pool's free list or carves the next fresh block: O(1). Freeing
 * pushes on the free list of the block's pool, found by masking the address:
 * O(1). A pool whose last block goes back returns to its arena, and an arena
 * whose pools are all free returns to rc_alloc_fn (a few empty pools and
 * one wholly free arena are kept to damp thrashing). Blocks larger than RC_SMALL_MAX come straight from
 * rc_alloc_fn with an rc_large header.
 *
 * ASan (manual poisoning) and Valgrind (client requests) are told which
 * blocks are live, so both catch use of a freed block inside a pool. With
 * RCGC_DEBUG=1 freed blocks are filled with 0xDB and held in a quarantine.
 */
#include "internal.h"

#define POOL_HEADER (((sizeof(rc_pool) + RC_GRAIN - 1) / RC_GRAIN) * RC_GRAIN)
#define DEBUG_FILL 0xDB

/* ------------------------------------------------ telling ASan and Valgrind */

#ifdef RCGC_HAVE_VALGRIND
/* Client requests cost a few dozen instructions even outside Valgrind: asked
 * once, at the first heap, so that they are skipped when it is not there. */
int rc__under_valgrind;
#endif

void rc__mem_init(void) {
#ifdef RCGC_HAVE_VALGRIND
    __atomic_store_n(&rc__under_valgrind, RUNNING_ON_VALGRIND ? 1 : 0, __ATOMIC_RELAXED);
#endif
}

/* Intrusive doubly linked lists with a head pointer: all arenas, the
 * arenas with free pools, and each class's pools with free blocks. */
#define LIST_PUSH(head, node, prev, next)                                   \
    do {                                                                    \
        (node)->prev = NULL;                                                \
        (node)->next = (head);                                              \
        if (head)                                                           \
            (head)->prev = (node);                                          \
        (head) = (node);                                                    \
    } while (0)
#define LIST_REMOVE(head, node, prev, next)                                 \
    do {                                                                    \
        if ((node)->prev)                                                   \
            (node)->prev->next = (node)->next;                              \
        else                                                                \
            (head) = (node)->next;                                          \
        if ((node)->next)                                                   \
            (node)->next->prev = (node)->prev;                              \
    } while (0)

/* Where a pool's first block starts: after its header, at 8 mod 16 for
 * objects (so that the object after its 8- or 24-byte header is aligned). */
static inline char *first_block(const rc_pool *p) {
    return (char *)p + POOL_HEADER + (p->kind == RC_KIND_RAW ? 0 : 8);
}

/* ---------------------------------------------------------------- arenas */

static void usable_push(rc_heap *h, rc_arena *a) {
    LIST_PUSH(h->usable_arenas, a, uprev, unext);
    a->in_usable = 1;
}

static void usable_remove(rc_heap *h, rc_arena *a) {
    LIST_REMOVE(h->usable_arenas, a, uprev, unext);
    a->in_usable = 0;
}

/* A new arena with every pool registered in h->pools; NULL + ENOMEM. */
static rc_arena *arena_new(rc_heap *h) {
    rc_arena *a = rc__sys_alloc(h, NULL, 0, sizeof *a);
    if (a == NULL)
        return NULL;
    memset(a, 0, sizeof *a);
    a->base = rc__sys_alloc(h, NULL, 0, RC_ARENA_SIZE);
    if (a->base == NULL)
        goto fail;
    uintptr_t first = ((uintptr_t)a->base + RC_POOL_SIZE - 1) & ~(uintptr_t)(RC_POOL_SIZE - 1);
    a->first_pool = (char *)first;
    a->npools = (uint32_t)(((uintptr_t)a->base + RC_ARENA_SIZE - first) / RC_POOL_SIZE);
    a->nfresh = a->nfree = a->npools;
    if (rc_ptrmap_reserve(h, &h->pools, a->npools) != 0)
        goto fail;
    for (uint32_t i = 0; i < a->npools; i++)
        rc_ptrmap_put(h, &h->pools, (uintptr_t)(a->first_pool + i * RC_POOL_SIZE), a);
    rc_mem_dead(a->base, RC_ARENA_SIZE);
    LIST_PUSH(h->arenas, a, prev, next);
    usable_push(h, a);
    return a;
fail:
    rc__sys_free(h, a->base, RC_ARENA_SIZE);
    rc__sys_free(h, a, sizeof *a);
    return NULL;
}

static void arena_free(rc_heap *h, rc_arena *a) {
    for (uint32_t i = 0; i < a->npools; i++)
        rc_ptrmap_remove(&h->pools, (uintptr_t)(a->first_pool + i * RC_POOL_SIZE));
    if (a->in_usable)
        usable_remove(h, a);
    LIST_REMOVE(h->arenas, a, prev, next);
    rc_mem_live(a->base, RC_ARENA_SIZE, false);
    rc__sys_free(h, a->base, RC_ARENA_SIZE);
    rc__sys_free(h, a, sizeof *a);
}

/* ----------------------------------------------------------------- pools */

/* A pool ready for `kind` blocks of block_size bytes; NULL + ENOMEM. */
static rc_pool *pool_new(rc_heap *h, unsigned kind, size_t block_size) {
    rc_arena *a = h->usable_arenas;
    if (a == NULL) {
        if (h->empty_arena) {
            a = h->empty_arena;
            h->empty_arena = NULL;
            usable_push(h, a);
        } else if ((a = arena_new(h)) == NULL) {
            return NULL;
        }
    }
    rc_pool *p;
    if (a->free_pools) {
        p = a->free_pools; /* pool_retire left its header addressable */
        a->free_pools = p->next;
    } else {
        p = rc_pool_at(a->first_pool + (a->npools - a->nfresh) * RC_POOL_SIZE);
        a->nfresh--;
        rc_mem_live(p, POOL_HEADER, false);
    }
    if (--a->nfree == 0)
        usable_remove(h, a);
    memset(p, 0, sizeof *p);
    p->heap = h;
    p->arena = a;
    p->kind = (uint8_t)kind;
    p->block_size = (uint16_t)block_size;
    p->cls = (uint8_t)(block_size / RC_GRAIN - 1);
    p->fresh = first_block(p);
    p->capacity = (uint32_t)((rc_pool_base(p) + RC_POOL_SIZE - p->fresh) / block_size);
    p->end = p->fresh + (size_t)p->capacity * block_size;
    return p;
}

/* Gives an empty pool back to its arena, and the arena back when all free. */
static void pool_retire(rc_heap *h, rc_pool *p) {
    rc_arena *a = p->arena;
    p->next = a->free_pools;
    a->free_pools = p;
    rc_mem_dead((char *)p + POOL_HEADER, (size_t)(rc_pool_base(p) + RC_POOL_SIZE - ((char *)p + POOL_HEADER)));
    if (a->nfree++ == 0)
        usable_push(h, a);
    if (a->nfree == a->npools) {
        usable_remove(h, a);
        if (h->empty_arena == NULL)
            h->empty_arena = a;
        else
            arena_free(h, a);
    }
}

static void class_push(rc_heap *h, rc_pool *p) {
    LIST_PUSH(h->classes[p->kind][p->cls], p, prev, next);
    p->in_list = 1;
}

static void class_remove(rc_heap *h, rc_pool *p) {
    LIST_REMOVE(h->classes[p->kind][p->cls], p, prev, next);
    p->in_list = 0;
}

/* rc_pool_alloc's slow path: no pool yet, or the pool starts being used,
 * or it fills up and leaves the class list. NULL + ENOMEM. */
char *rc__pool_alloc_slow(rc_heap *h, unsigned kind, size_t block_size) {
    rc_pool *p = h->classes[kind][block_size / RC_GRAIN - 1];
    if (p == NULL) {
        if ((p = pool_new(h, kind, block_size)) == NULL)
            return NULL;
        class_push(h, p);
        h->empty_pools++;
    }
    if (p->used == 0)
        h->empty_pools--;
    char *block = rc_pool_pop(h, p);
    if (p->used == p->capacity)
        class_remove(h, p);
    return block;
}

/* The class list after a block went back to p: a full pool rejoins it, an
 * empty one leaves (for its arena) unless it is worth keeping. */
static void pool_after_free(rc_heap *h, rc_pool *p) {
    if (!p->in_list)
        class_push(h, p);
    if (p->used == 0) {
        /* Keep a class's last pool even when empty, so a class that empties
         * and refills does not thrash; but only a few per heap, or scattered
         * empty pools would pin whole arenas. */
        bool alone = p->prev == NULL && p->next == NULL;
        if (alone && h->empty_pools < RC_KEPT_EMPTY_POOLS) {
            h->empty_pools++;
        } else {
            class_remove(h, p);
            pool_retire(h, p);
        }
    }
}

/* ----------------------------------------------------------- quarantine */

/* Really frees the oldest quarantined blocks until the ring has room. */
static void quarantine_evict(rc_heap *h, size_t want_slots, size_t want_bytes) {
    while (h->q_len && (h->q_len + want_slots > RC_QUARANTINE_SLOTS ||
                        h->q_bytes + want_bytes > RC_QUARANTINE_BYTES)) {
        rc_quarantined q = h->quarantine[h->q_head];
        h->q_head = (h->q_head + 1) % RC_QUARANTINE_SLOTS;
        h->q_len--;
        h->q_bytes -= q.size;
        if (q.large) {
            rc_mem_live(q.block, q.size, false);
            rc__sys_free(h, q.block, q.size);
        } else {
            rc_pool *p = rc_pool_of(q.block);
            rc_pool_link(p, q.block);
            pool_after_free(h, p);
        }
    }
}

/* Holds a freed block back instead of reusing it; true when it was held. A
 * block that cannot be held (no ring) is freed at once. */
static bool quarantine_hold(rc_heap *h, char *block, size_t size, unsigned kind, bool large) {
    if (h->quarantine == NULL) {
        h->quarantine = rc__sys_alloc(h, NULL, 0, RC_QUARANTINE_SLOTS * sizeof *h->quarantine);
        if (h->quarantine == NULL)
            return false;
    }
    quarantine_evict(h, 1, size);
    size_t tail = (h->q_head + h->q_len) % RC_QUARANTINE_SLOTS;
    h->quarantine[tail] = (rc_quarantined){block, (uint32_t)size, (uint8_t)kind, large};
    h->q_len++;
    h->q_bytes += size;
    return true;
}

/* ------------------------------------------------------ freeing blocks */

/* rc_pool_free's slow path: the pool empties or un-fills, or the heap is
 * in debug mode (poison, quarantine) or dying (teardown frees arenas whole
 * and walks the pools meanwhile: they must not change). */
void rc__pool_free_slow(rc_heap *h, rc_pool *p, char *block) {
    if (h->dying) {
        size_t g = rc_grain_of(p, block);
        p->live[g / 64] &= ~((uint64_t)1 << (g % 64));
        h->bytes_in_use -= p->block_size;
        return;
    }
    if (h->debug) {
        unsigned keep = p->kind == RC_KIND_RAW ? ~0u : RC_HEAD_OFFSET(p->kind);
        for (unsigned off = 0; off < p->block_size; off += 8)
            if (off != keep && off != RC_LINK_OFFSET(p->kind))
                memset(block + off, DEBUG_FILL, 8);
    }
    rc_pool_mark_dead(h, p, block);
    if (h->debug && quarantine_hold(h, block, p->block_size, p->kind, false))
        return;
    rc_pool_link(p, block);
    pool_after_free(h, p);
}

/* ------------------------------------------------------------ large blocks */

/* A large block with `payload` bytes at RC_LARGE_OFFSET; its rc_head gets
 * head_info and refcount 1. Bytes undefined. NULL + ENOMEM. */
void *rc__large_alloc(rc_heap *h, size_t payload, uint32_t head_info) {
    if (payload > SIZE_MAX - RC_LARGE_OFFSET) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = RC_LARGE_OFFSET + payload;
    if (rc_ptrmap_reserve(h, &h->large, 1) != 0)
        return NULL;
    char *block = rc__sys_alloc(h, NULL, 0, total);
    if (block == NULL)
        return NULL;
    rc_large *lg = (rc_large *)block;
    lg->heap = h;
    lg->total = total;
    lg->request = payload;
    void *obj = block + RC_LARGE_OFFSET;
    rc_head *hd = rc_head_of(obj);
    hd->refcnt = 1;
    hd->info = head_info | RC_F_LARGE;
    rc_ptrmap_put(h, &h->large, (uintptr_t)obj, lg);
    h->bytes_in_use += total;
    return obj;
}

/* Frees a large block. Its rc_head stays readable while quarantined. */
void rc__large_free(rc_heap *h, void *payload) {
    if (h->dying) {
        /* Teardown walks h->large: leave it whole; the block goes at the end. */
        rc_head_of(payload)->info |= RC_F_DEAD;
        return;
    }
    rc_large *lg = rc_ptrmap_remove(&h->large, (uintptr_t)payload);
    h->bytes_in_use -= lg->total;
    size_t total = lg->total;
    if (h->debug) {
        memset(payload, DEBUG_FILL, total - RC_LARGE_OFFSET);
        rc_mem_dead(lg, total);
        rc_mem_word(rc_head_of(payload));
        rc_mem_word(&lg->heap); /* a misuse report finds the heap here */
        if (quarantine_hold(h, (char *)lg, total, RC_KIND_RAW, true))
            return;
        rc_mem_live(lg, total, false);
    }
    rc__sys_free(h, lg, total);
}

/* ----------------------------------------------------------- walking */

rc_pool *rc__pool_lookup(const rc_heap *h, const void *p) {
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)(RC_POOL_SIZE - 1);
    return rc_ptrmap_get(&h->pools, base) ? rc_pool_at((void *)base) : NULL;
}

/* Calls fn on each live object: pool blocks by their live bits (pools of
 * carved, in-use object kinds), then large blocks that are not raw. */
void rc__each_object(rc_heap *h, void (*fn)(void *obj, void *arg), void *arg) {
    for (rc_arena *a = h->arenas; a; a = a->next) {
        for (uint32_t i = 0; i < a->npools - a->nfresh; i++) {
            rc_pool *p = rc_pool_at(a->first_pool + i * RC_POOL_SIZE);
            if (p->used == 0 || p->kind == RC_KIND_RAW)
                continue;
            /* Object blocks start 8 bytes into their first granule. */
            size_t hdr = 8 + RC_OBJ_OFFSET(p->kind);
            for (size_t w = 0; w < RC_POOL_GRAINS / 64; w++) {
                for (uint64_t bits = p->live[w]; bits; bits &= bits - 1) {
                    size_t g = w * 64 + (size_t)__builtin_ctzll(bits);
                    fn((char *)p + g * RC_GRAIN + hdr, arg);
                }
            }
        }
    }
    for (size_t i = 0; h->large.count && i <= h->large.mask; i++) {
        if (h->large.slots[i].key == 0)
            continue;
        void *obj = (void *)h->large.slots[i].key;
        if (!(rc_head_of(obj)->info & RC_F_RAW))
            fn(obj, arg);
    }
}

/* Returns every arena, large block, quarantined block and map to the
 * system: the end of a heap. */
void rc__alloc_release_all(rc_heap *h) {
    h->dying = false;
    quarantine_evict(h, RC_QUARANTINE_SLOTS, RC_QUARANTINE_BYTES);
    rc__sys_free(h, h->quarantine, h->quarantine ? RC_QUARANTINE_SLOTS * sizeof *h->quarantine : 0);
    h->quarantine = NULL;
    for (size_t i = 0; h->large.count && i <= h->large.mask; i++) {
        if (h->large.slots[i].key == 0)
            continue;
        rc_large *lg = h->large.slots[i].val;
        size_t total = lg->total; /* read before Valgrind calls it undefined */
        rc_mem_live(lg, total, false);
        rc__sys_free(h, lg, total);
    }
    rc_ptrmap_free(h, &h->large);
    while (h->arenas)
        arena_free(h, h->arenas);
    h->empty_arena = NULL; /* it was on h->arenas too */
    rc_ptrmap_free(h, &h->pools);
}

/* ------------------------------------------------------------ raw memory */

static inline size_t raw_block_size(size_t size) {
    return size <= RC_GRAIN ? RC_GRAIN : (size + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1);
}

/* A raw block of size bytes (undefined contents); NULL + ENOMEM. */
static void *raw_alloc(rc_heap *h, size_t size) {
    if (size <= RC_SMALL_MAX) {
        size_t bs = raw_block_size(size);
        return rc_pool_alloc(h, RC_KIND_RAW, bs);
    }
    return rc__large_alloc(h, size, RC_F_RAW);
}

/* rc_malloc while tracing, out of line so that the untraced path does not
 * keep the call site alive across the allocation. */
static __attribute__((noinline)) void *traced_malloc(rc_heap *h, size_t size, const char *file,
                                                     int line, const char *func) {
    void *p = raw_alloc(h, size);
    if (p)
        rc__trace_alloc(h, p, size, file, line, func);
    return p;
}

void *rc_malloc_at(rc_heap *h, size_t size, const char *file, int line, const char *func) {
    if (h == NULL) {
        errno = EINVAL;
        return NULL;
    }
    if (RC_UNLIKELY(h->tracer != NULL))
        return traced_malloc(h, size, file, line, func);
    return raw_alloc(h, size);
}

void *rc_calloc_at(rc_heap *h, size_t n, size_t size, const char *file, int line,
                   const char *func) {
    size_t total;
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = rc_malloc_at(h, total, file, line, func);
    if (p)
        memset(p, 0, total);
    return p;
}

/* Names what is wrong with a pointer into one of h's pools that is not a live
 * raw block, and aborts. */
static _Noreturn void raw_misuse(rc_pool *p, void *ptr, const char *call) {
    char *first = first_block(p);
    char *block = (char *)ptr - RC_OBJ_OFFSET(p->kind);
    bool boundary = block >= first && block < p->end &&
                    (size_t)(block - first) % p->block_size == 0;
    if (!boundary || p->used == 0)
        rc__fatal_ptr(call, "of a pointer the heap does not own", ptr);
    if (p->kind == RC_KIND_RAW)
        rc__fatal_ptr(call, "of a block already freed", ptr);
    if (rc_pool_block_live(p, block))
        rc__fatal(call, "of an rc object (use rc_decref)", ptr);
    rc__fatal(call, "of a dead object", ptr);
}

/* What the heap knows of a raw block it owns: its usable size and whether it
 * is large. Aborts, naming the error, on a pointer that is not a live raw
 * block of h. */
static size_t raw_owned(rc_heap *h, void *ptr, const char *call, bool *large) {
    rc_pool *p = rc__pool_lookup(h, ptr);
    if (p) {
        /* Live bits are set only at block starts, so this is the whole test. */
        bool ok = ((uintptr_t)ptr % RC_GRAIN) == 0 && p->kind == RC_KIND_RAW && p->used &&
                  rc_pool_block_live(p, ptr);
        if (RC_LIKELY(ok)) {
            *large = false;
            return p->block_size;
        }
        raw_misuse(p, ptr, call);
    }
    rc_large *lg = rc_ptrmap_get(&h->large, (uintptr_t)ptr);
    if (lg == NULL)
        rc__fatal_ptr(call, "of a pointer the heap does not own", ptr);
    if (!(rc_head_of(ptr)->info & RC_F_RAW))
        rc__fatal(call, "of an rc object (use rc_decref)", ptr);
    *large = true;
    return lg->request;
}

/* Gives back a raw block raw_owned vouched for. */
static void raw_release(rc_heap *h, void *ptr, bool large) {
    if (large)
        rc__large_free(h, ptr);
    else
        rc_pool_free(h, ptr);
}

void rc_free(rc_heap *h, void *ptr) {
    if (ptr == NULL)
        return;
    bool large;
    raw_owned(h, ptr, "rc_free", &large);
    if (h->tracer)
        rc__trace_free(h, ptr);
    raw_release(h, ptr, large);
}

void *rc_realloc_at(rc_heap *h, void *ptr, size_t size, const char *file, int line,
                    const char *func) {
    if (ptr == NULL)
        return rc_malloc_at(h, size, file, line, func);
    bool large;
    size_t old = raw_owned(h, ptr, "rc_realloc", &large);
    /* Same pool class: the block already fits, nothing moves. */
    bool stays = !large && size <= RC_SMALL_MAX && raw_block_size(size) == old;
    void *p = ptr;
    if (!stays) {
        if ((p = raw_alloc(h, size)) == NULL)
            return NULL;
        memcpy(p, ptr, old < size ? old : size);
    }
    if (h->tracer)
        rc__trace_free(h, ptr);
    if (!stays)
        raw_release(h, ptr, large);
    if (h->tracer)
        rc__trace_alloc(h, p, size, file, line, func);
    return p;
}

#undef rc_malloc
#undef rc_calloc
#undef rc_realloc
void *rc_malloc(rc_heap *h, size_t size) { return rc_malloc_at(h, size, NULL, 0, NULL); }
void *rc_calloc(rc_heap *h, size_t n, size_t size) { return rc_calloc_at(h, n, size, NULL, 0, NULL); }
void *rc_realloc(rc_heap *h, void *ptr, size_t size) {
    return rc_realloc_at(h, ptr, size, NULL, 0, NULL);
}
