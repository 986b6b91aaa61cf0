/*
 * alloc.c — the small-object allocator and raw memory (rc_malloc & co).
 *
 * Arenas of RC_ARENA_SIZE bytes come from the heap's rc_alloc_fn; each is cut
 * into RC_POOL_SIZE-aligned pools; a pool serves one kind (objects or raw
 * blocks) and one size class (16-byte steps up to RC_SMALL_MAX, then medium
 * classes up to RC_MEDIUM_MAX, which only the out-of-line paths reach).
 * Allocation
 * pops the pool's free list or carves the next fresh block: O(1). Freeing
 * pushes on the free list of the block's pool, found by masking the address:
 * O(1). A pool that was full joins the tail of its class list; one whose
 * last block goes back returns to its arena, and an arena whose pools are
 * all free returns to rc_alloc_fn (a few empty pools and one wholly free
 * arena are kept to damp thrashing). Blocks past RC_MEDIUM_MAX come
 * straight from rc_alloc_fn with an rc_large header (zeroed ones from
 * calloc in a default heap), and the last large objects to die (and raw
 * blocks freed) are held back a while (rc_large_dead). docs/design.md says
 * why each of these choices.
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
 * objects (so that the object after its 8- or 24-byte header is aligned);
 * first_block_of when the pool's kind is known. */
static inline char *first_block_of(const rc_pool *p, unsigned kind) {
    return (char *)p + POOL_HEADER + (RC_KIND_IS_RAW(kind) ? 0 : 8);
}
static inline char *first_block(const rc_pool *p) { return first_block_of(p, p->kind); }

/* ---------------------------------------------------------------- arenas */

static void usable_push(rc_heap *h, rc_arena *a) {
    LIST_PUSH(h->usable_arenas, a, uprev, unext);
    a->in_usable = 1;
}

static void usable_remove(rc_heap *h, rc_arena *a) {
    LIST_REMOVE(h->usable_arenas, a, uprev, unext);
    a->in_usable = 0;
}

/* The arena map: rc_free's ownership test must not touch memory at the
 * pointer, so it asks h->arena_map, keyed by zone: an RC_ARENA_SIZE-aligned
 * stretch of addresses (4 MiB). The pools of an arena lie in one zone, its
 * head, or run on into the next, its tail. Pool ranges do not overlap and
 * each starts within RC_POOL_SIZE of its arena's RC_ARENA_SIZE block, so at
 * most one arena starts in a zone and at most one ends there: a zone's entry
 * is the arena that starts in it, else the one that ends in it, and an
 * arena's `below` is the arena that ends in its head zone.
 *
 * rc_free's ownership test took a quarter of a churn's time: a probe loop
 * that ran a data-dependent number of times, then the arena's bounds and
 * carved pools, about 40 instructions, which kept fewer of the churn's
 * cache misses in flight at once. So h->zone_table holds, in a slot per zone
 * modulo RC_ZONE_SLOTS tagged with the zone, a mask of which of the zone's 64
 * pool-sized steps are carved pools of the heap: the test is one slot and
 * one bit, and asks the map only when the tag differs (a foreign pointer,
 * or two zones sharing a slot: the slot keeps the first). zone_refresh brings
 * a zone's slot up to date after the map or an arena's carved pools change.
 *
 * Before the zone table comes h->pool_slots: a slot per RC_POOL_SIZE step
 * of addresses modulo RC_POOL_SLOTS, holding the header address of a pool
 * of raw blocks of the heap carved there, or RC_POOL_SLOT_EMPTY. p is in
 * that pool when p and the header address differ in no bit above the
 * pool's: one load and one comparison, which also yield the header (the
 * churn 12% faster again). The address is tagged RC_POOL_SLOT_FULL_PATH,
 * which fails that comparison, unless the pool holds untraced raw blocks
 * (RC_KIND_RAW) and no free needs the slow path (h->slow_free clear): so
 * an untagged slot tells rc_free's fast path that neither the pool's kind
 * nor the heap asks for more (8% faster again), and a tagged one still
 * gives a traced block's free its pool at once. A pool takes its slot when
 * made for raw blocks, if the slot is empty, and leaves it when made for
 * another kind or when its arena goes (one retired keeps it: its closed
 * header refuses every pointer); the tags are set again from the arenas
 * when slow_free changes. A pool whose slot another holds, and every
 * other pool, is found through the zone table. */
#define ZONE_OF(p) ((uintptr_t)(p) & ~(uintptr_t)(RC_ARENA_SIZE - 1))

static inline size_t zone_index(uintptr_t zone) { return (zone / RC_ARENA_SIZE) % RC_ZONE_SLOTS; }

static inline size_t pool_slot(const void *p) { return (uintptr_t)p / RC_POOL_SIZE % RC_POOL_SLOTS; }

static char *pools_end(const rc_arena *a) { return a->first_pool + (size_t)a->npools * RC_POOL_SIZE; }

/* The bits of the carved pools of a (if any) within zone: bit i for
 * the pool at zone + i * RC_POOL_SIZE. */
static uint64_t carved_in_zone(const rc_arena *a, uintptr_t zone) {
    uint64_t bits = 0;
    for (uint32_t i = 0; a && i < a->npools - a->nfresh; i++) {
        uintptr_t pool = (uintptr_t)a->first_pool + (uintptr_t)i * RC_POOL_SIZE;
        if (ZONE_OF(pool) == zone)
            bits |= (uint64_t)1 << ((pool - zone) / RC_POOL_SIZE);
    }
    return bits;
}

/* Makes zone's slot agree with the map and the arenas' carved pools. */
static void zone_refresh(rc_heap *h, uintptr_t zone) {
    rc_zone_slot *e = &h->zone_table[zone_index(zone)];
    if (e->zone != zone && e->zone != 0)
        return; /* another zone's: lookups of this one ask the map */
    rc_arena *entry = rc_ptrmap_get(&h->arena_map, zone);
    if (entry == NULL) {
        *e = (rc_zone_slot){0, 0};
        return;
    }
    e->zone = zone;
    e->carved = carved_in_zone(entry, zone) | carved_in_zone(entry->below, zone);
}

/* The zone an arena's pools run on into, or 0. */
static uintptr_t tail_zone(const rc_arena *a) {
    uintptr_t t = ZONE_OF(pools_end(a) - 1);
    return t != ZONE_OF(a->first_pool) ? t : 0;
}

static int arena_map_add(rc_heap *h, rc_arena *a) {
    if (rc_ptrmap_reserve(h, &h->arena_map, 2) != 0)
        return -1;
    uintptr_t head = ZONE_OF(a->first_pool), tail = tail_zone(a);
    a->below = rc_ptrmap_get(&h->arena_map, head);
    rc__ptrmap_put(h, &h->arena_map, head, a);
    zone_refresh(h, head);
    if (tail) {
        rc_arena *starts_there = rc_ptrmap_get(&h->arena_map, tail);
        if (starts_there)
            starts_there->below = a;
        else
            rc__ptrmap_put(h, &h->arena_map, tail, a);
        zone_refresh(h, tail);
    }
    return 0;
}

static void arena_map_remove(rc_heap *h, rc_arena *a) {
    uintptr_t head = ZONE_OF(a->first_pool), tail = tail_zone(a);
    if (a->below)
        rc__ptrmap_put(h, &h->arena_map, head, a->below); /* the key exists: no allocation */
    else
        rc__ptrmap_remove(&h->arena_map, head);
    zone_refresh(h, head);
    if (tail) {
        rc_arena *entry = rc_ptrmap_get(&h->arena_map, tail);
        if (entry == a)
            rc__ptrmap_remove(&h->arena_map, tail);
        else
            entry->below = NULL;
        zone_refresh(h, tail);
    }
}

/* The arena of h whose pools hold p, or NULL. */
static rc_arena *arena_lookup(const rc_heap *h, const void *p) {
    const char *c = p;
    rc_arena *a = rc_ptrmap_get(&h->arena_map, ZONE_OF(c));
    if (a && c < a->first_pool)
        a = a->below;
    return a && c < pools_end(a) ? a : NULL;
}

/* A new arena, in the arena map; NULL + ENOMEM. */
static rc_arena *arena_new(rc_heap *h) {
    rc_arena *a = rc__sys_alloc(h, NULL, 0, sizeof *a);
    if (a == NULL)
        return NULL;
    memset(a, 0, sizeof *a);
    a->more = h->arenas != NULL;
    a->base = rc__sys_arena_alloc(h, a->more);
    if (a->base == NULL)
        goto fail;
    uintptr_t first = ((uintptr_t)a->base + RC_POOL_SIZE - 1) & ~(uintptr_t)(RC_POOL_SIZE - 1);
    a->first_pool = (char *)first;
    a->npools = (uint32_t)(((uintptr_t)a->base + RC_ARENA_SIZE - first) / RC_POOL_SIZE);
    a->nfresh = a->nfree = a->npools;
    if (arena_map_add(h, a) != 0)
        goto fail;
    rc_mem_dead(a->base, RC_ARENA_SIZE);
    LIST_PUSH(h->arenas, a, prev, next);
    usable_push(h, a);
    return a;
fail:
    if (a->base)
        rc__sys_arena_free(h, a->base, 0, a->more);
    rc__sys_free(h, a, sizeof *a);
    return NULL;
}

/* Empties the pool slot of the pool whose header is p, if it holds it. */
static void pool_slot_release(rc_heap *h, const rc_pool *p) {
    uintptr_t *slot = &h->pool_slots[pool_slot(p)];
    if ((*slot & ~RC_POOL_SLOT_FULL_PATH) == (uintptr_t)p)
        *slot = RC_POOL_SLOT_EMPTY;
}

/* An arena rc_heap_free gives back may serve the next heap as it is
 * (heap.c's cache): its pools then say "no heap", as a retired arena's
 * zeros do, so that a stale pointer into them is named, not followed to
 * the heap that was. */
static void arena_free(rc_heap *h, rc_arena *a) {
    rc_mem_live(a->base, RC_ARENA_SIZE, false);
    for (uint32_t i = 0; i < a->npools - a->nfresh; i++) {
        rc_pool *p = rc_pool_at(a->first_pool + (size_t)i * RC_POOL_SIZE);
        pool_slot_release(h, p);
        if (h->freeing)
            memset(p, 0, sizeof *p);
    }
    arena_map_remove(h, a);
    if (a->in_usable)
        usable_remove(h, a);
    LIST_REMOVE(h->arenas, a, prev, next);
    size_t carved = (size_t)(a->npools - a->nfresh) * RC_POOL_SIZE;
    rc__sys_arena_free(h, a->base, carved ? (size_t)(a->first_pool - a->base) + carved : 0,
                       a->more);
    rc__sys_free(h, a, sizeof *a);
}

/* ----------------------------------------------------------------- pools */

/* Gives p its slot, tagged as it needs, if the slot is empty or p's and
 * p holds raw blocks; takes the slot back from p otherwise. */
static void pool_slot_update(rc_heap *h, const rc_pool *p) {
    uintptr_t *slot = &h->pool_slots[pool_slot(p)];
    if (!RC_KIND_IS_RAW(p->kind)) {
        pool_slot_release(h, p);
    } else if (*slot == RC_POOL_SLOT_EMPTY || (*slot & ~RC_POOL_SLOT_FULL_PATH) == (uintptr_t)p) {
        bool fast = p->kind == RC_KIND_RAW && !h->slow_free;
        *slot = (uintptr_t)p | (fast ? 0 : RC_POOL_SLOT_FULL_PATH);
    }
}

void rc__pool_slots_reset(rc_heap *h) {
    for (size_t i = 0; i < RC_POOL_SLOTS; i++)
        h->pool_slots[i] = RC_POOL_SLOT_EMPTY;
    for (rc_arena *a = h->arenas; a; a = a->next)
        for (uint32_t i = 0; i < a->npools - a->nfresh; i++)
            pool_slot_update(h, rc_pool_at(a->first_pool + (size_t)i * RC_POOL_SIZE));
}

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
    struct rc_pool_was was = {0, 0, 0};
    if (a->free_pools) {
        p = a->free_pools; /* pool_retire left its header addressable */
        a->free_pools = p->next;
        was = p->was;
    } else {
        p = rc_pool_at(a->first_pool + (a->npools - a->nfresh) * RC_POOL_SIZE);
        a->nfresh--;
        zone_refresh(h, ZONE_OF(p));
        rc_mem_live(p, POOL_HEADER, false);
    }
    if (--a->nfree == 0)
        usable_remove(h, a);
    memset(p, 0, sizeof *p);
    p->was = was;
    p->heap = h;
    p->arena = a;
    p->kind = (uint8_t)kind;
    p->block_size = (uint16_t)block_size;
    p->cls = (uint8_t)(block_size / RC_GRAIN - 1);
    p->fresh = first_block(p);
    p->capacity = (uint32_t)((rc_pool_base(p) + RC_POOL_SIZE - p->fresh) / block_size);
    p->end = p->fresh + (size_t)p->capacity * block_size;
    p->divc = UINT64_MAX / block_size + 1;
    pool_slot_update(h, p);
    return p;
}

/* Makes an empty pool, parked or retired, look as if nothing were carved
 * in it and nothing could be: allocation's fast path finds no block (fresh
 * is end) and rc_free's finds no block start below fresh, so neither needs
 * a test of its own for such a pool. */
static void pool_close(rc_pool *p) {
    p->fresh = p->end = first_block(p);
}

/* Gives an empty pool back to its arena, and the arena back when all free. */
static void pool_retire(rc_heap *h, rc_pool *p) {
    rc_arena *a = p->arena;
    p->was.block_size = p->block_size;
    p->was.end = (uint16_t)((size_t)(p->fresh - rc_pool_base(p)) / RC_GRAIN);
    p->was.kind = p->kind;
    pool_close(p);
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

/* Class lists (the rules are at rc_pool in internal.h). */
static rc_pool **class_head(rc_heap *h, const rc_pool *p) { return rc_class_list(h, p->kind, p->cls, false); }
static rc_pool **class_tail(rc_heap *h, const rc_pool *p) { return rc_class_list(h, p->kind, p->cls, true); }

static void class_remove(rc_heap *h, rc_pool *p) {
    rc_pool **head = class_head(h, p), **tail = class_tail(h, p);
    if (*head == p) {
        *head = p->next ? p->next : &h->no_pool; /* the new head's prev goes stale */
        if (*tail == p)
            *tail = NULL;
    } else {
        p->prev->next = p->next;
        if (p->next)
            p->next->prev = p->prev;
        else
            *tail = p->prev;
    }
    p->in_list = 0;
}

/* A listed pool with no block to give (only ever the head). */
static bool pool_full(const rc_pool *p) { return !p->free && p->fresh >= p->end && !p->parked; }

/* Puts a new pool at the head; a full head leaves first, as only the head
 * may be full. */
static void class_push(rc_heap *h, rc_pool *p) {
    rc_pool **head = class_head(h, p);
    if (*head != &h->no_pool && pool_full(*head))
        class_remove(h, *head);
    p->next = *head == &h->no_pool ? NULL : *head;
    if (p->next)
        p->next->prev = p;
    else
        *class_tail(h, p) = p;
    *head = p;
    p->in_list = 1;
}

/* Puts a pool that was full, and now has one free block, at the tail. It
 * gathers more frees while the pools before it serve allocations, so each
 * pool that reaches the head has many blocks to give: few slow paths
 * (pushing it at the head made nearly every allocation fill a pool, and
 * nearly every free un-fill one, in a random churn). */
static void class_append(rc_heap *h, rc_pool *p) {
    rc_pool **tail = class_tail(h, p);
    if (*tail == NULL) {
        class_push(h, p);
        return;
    }
    (*tail)->next = p;
    p->prev = *tail;
    p->next = NULL;
    *tail = p;
    p->in_list = 1;
}

/* A kept empty pool and its return to service (see rc_pool). */
static void pool_park(rc_heap *h, rc_pool *p) {
    p->parked = 1;
    p->parked_free = p->free;
    p->parked_fresh = p->fresh;
    p->free = NULL;
    pool_close(p);
    h->empty_pools++;
}

static void pool_unpark(rc_heap *h, rc_pool *p) {
    p->parked = 0;
    p->free = p->parked_free;
    p->fresh = p->parked_fresh;
    p->end = first_block(p) + (size_t)p->capacity * p->block_size;
    h->empty_pools--;
}

static bool quarantine_yield(rc_heap *h);

/* A medium block freed into a full pool (the pool off its class list,
 * p->free the block just linked) is held for the next allocation of its
 * class, instead of the pool going back on the list, when that allocation
 * would take the slow path anyway (the head of the list full, or no pool
 * listed) and the class holds no block yet; true if it was. A churn whose
 * live blocks of one class nearly fill their pools (one size, a constant
 * count) un-fills a pool at each free, and the allocation after it found
 * the head full, the pool going back on the list and off it again at
 * every pair (1024-byte blocks, 10k live: 23-25 -> 17.5 ns a pair, glibc
 * 13.4-14.4, whose tcache hands back the block just freed; 1k live: 25 ->
 * 20, glibc 9.1-9.5). Medium pools hold 15 to 113 blocks, so few frees
 * land in a pool between two of its turns at the head; small ones hold
 * hundreds and do not thrash so. Held whenever the class holds none, the
 * blocks made a random medium churn 1.17x slower. One block a class: a
 * held block keeps its pool from emptying, so at most one pool a class is
 * held up; it is never given back when memory runs short
 * (rc__held_release), as the next allocation of its class takes it before
 * asking for a pool. */
static bool medium_hold(rc_heap *h, rc_pool *p) {
    if (p->cls < RC_NCLASSES)
        return false;
    char **held = &h->medium_held[p->kind][rc_medium_index(p->cls)];
    rc_pool *head = *class_head(h, p);
    if (*held != NULL || (head != &h->no_pool && !pool_full(head)))
        return false;
    char *block = p->free, **link = (char **)(block + RC_LINK_OFFSET(p->kind));
    p->free = *link;
    p->used++;
    *held = block;
    h->pool_bytes_idle += p->block_size;
    return true;
}

/* Takes the medium block held for the class of kind and block_size, if
 * any: an allocation, as rc_pool_take_in makes one. */
static char *medium_take(rc_heap *h, unsigned kind, size_t block_size) {
    char **held = &h->medium_held[kind][rc_medium_index((unsigned)(block_size / RC_GRAIN - 1))];
    char *block = *held;
    if (block == NULL)
        return NULL;
    *held = NULL;
    h->pool_bytes_idle -= block_size;
    rc_pool_hand_out(block, kind, block_size, true);
    return block;
}

/* rc_pool_alloc of any class, small or medium: for the slow paths. */
char *rc__class_alloc(rc_heap *h, unsigned kind, size_t block_size) {
    if (block_size > RC_SMALL_MAX) {
        char *block = medium_take(h, kind, block_size);
        if (block != NULL)
            return block;
    }
    rc_pool *head = *rc_class_list(h, kind, (unsigned)(block_size / RC_GRAIN - 1), false);
    char *block = rc_pool_take_in(head, kind, block_size, true);
    return RC_LIKELY(block != NULL) ? block : rc__pool_alloc_slow(h, kind, block_size);
}

/* rc_pool_alloc's slow path: the head pool of the class is parked, full or
 * the sentinel. A full head leaves the list; the next pool has a free block
 * (the rules at rc_pool); with none, a new pool heads the list, and when
 * none can be made the quarantine's blocks go back and the path is taken
 * again. NULL + ENOMEM. */
char *rc__pool_alloc_slow(rc_heap *h, unsigned kind, size_t block_size) {
    rc_pool **head = rc_class_list(h, kind, (unsigned)(block_size / RC_GRAIN - 1), false);
    rc_pool *p = *head;
    if (p->parked) {
        pool_unpark(h, p);
    } else {
        if (p != &h->no_pool)
            class_remove(h, p);
        if (*head == &h->no_pool) {
            if ((p = pool_new(h, kind, block_size)) == NULL)
                return quarantine_yield(h) ? rc__class_alloc(h, kind, block_size) : NULL;
            class_push(h, p);
        }
    }
    return rc__class_alloc(h, kind, block_size);
}

/* The class list after a block went back to p: a full pool rejoins it, an
 * empty one leaves (for its arena) unless it is worth keeping. */
void rc__pool_after_free(rc_heap *h, rc_pool *p) {
    if (!p->in_list) {
        if (medium_hold(h, p))
            return;
        class_append(h, p);
    }
    if (p->used == 0) {
        /* Keep a class's last pool even when empty, so a class that empties
         * and refills does not thrash; but only a few per heap, or scattered
         * empty pools would pin whole arenas. */
        bool alone = *class_head(h, p) == p && p->next == NULL;
        if (alone && h->empty_pools < RC_KEPT_EMPTY_POOLS) {
            pool_park(h, p);
        } else {
            class_remove(h, p);
            pool_retire(h, p);
        }
    }
}

/* ----------------------------------------------------------- quarantine */

/* Whether the word at off of a freed pool block of `kind` holds the fill:
 * all but its free mark (raw) or rc_head (objects), and its free link. */
static inline bool filled_word(unsigned kind, unsigned off) {
    unsigned keep = RC_KIND_IS_RAW(kind) ? 8u : RC_HEAD_OFFSET(kind);
    return off != keep && off != RC_LINK_OFFSET(kind);
}

/* Names a write into a block the quarantine held (the fill its free wrote
 * is not whole), as it leaves: a store through a stale pointer, which only
 * reads and the count checks would otherwise miss. Under ASan or Valgrind,
 * which catch the store itself, the memory is not readable here: no check. */
static void check_fill(rc_heap *h, const rc_quarantined *q) {
#ifdef RC_ASAN
    (void)h, (void)q;
#else
    if (rc_under_valgrind())
        return;
    static const uint64_t fill = 0x0101010101010101u * DEBUG_FILL;
    const char *payload = q->large ? q->block + RC_LARGE_OFFSET : q->block + RC_OBJ_OFFSET(q->kind);
    size_t start = (size_t)(payload - q->block);
    for (size_t off = q->large ? start : 0; off + 8 <= q->size; off += 8) {
        uint64_t word;
        memcpy(&word, q->block + off, 8);
        if (word == fill || (!q->large && !filled_word(q->kind, (unsigned)off)))
            continue;
        bool raw = q->large ? (rc_head_of(payload)->info & RC_F_RAW) != 0 : RC_KIND_IS_RAW(q->kind);
        if (raw)
            rc__fatal_ptr(h, "write", "to a freed block", payload);
        rc__fatal("write", "to a dead object", payload);
    }
#endif
}

/* Really frees the block q, which has just left the ring; check_fill read
 * it before, while the ring still held it (so that a report names where it
 * was allocated: rc__quarantine_tb). */
static void quarantine_release(rc_heap *h, const rc_quarantined *q) {
    h->q_bytes -= q->size;
    if (q->large) {
        rc_mem_live(q->block, q->size, false);
        rc__sys_free(h, q->block, q->size);
    } else {
        rc_pool *p = rc_pool_of(q->block);
        h->pool_bytes_idle -= q->size;
        rc_pool_link(p, p->kind, q->block, true);
        rc__pool_after_free(h, p);
    }
}

/* Really frees the oldest quarantined blocks until the ring has room for
 * want_slots more blocks of want_bytes. */
static void quarantine_evict(rc_heap *h, size_t want_slots, size_t want_bytes) {
    while (h->q_len && (h->q_len + want_slots > RC_QUARANTINE_SLOTS ||
                        h->q_bytes + want_bytes > RC_QUARANTINE_BYTES)) {
        rc_quarantined q = h->quarantine[h->q_head];
        check_fill(h, &q);
        h->q_head = (h->q_head + 1) % RC_QUARANTINE_SLOTS;
        h->q_len--;
        quarantine_release(h, &q);
    }
}

/* Really frees every quarantined block, when a pool could not be made:
 * debug mode must not make an allocation fail. True if any went. Not
 * during teardown, whose walk of the pools they must not change. */
static bool quarantine_yield(rc_heap *h) {
    if (h->q_len == 0 || h->dying)
        return false;
    quarantine_evict(h, RC_QUARANTINE_SLOTS, RC_QUARANTINE_BYTES);
    return true;
}

/* Really frees the large blocks of the ring, keeping the others in their
 * order; true if any went. Only the system's memory is given back, so it
 * may run inside any allocation (the pools do not change). */
static bool quarantine_release_large(rc_heap *h) {
    size_t kept = 0, n = h->q_len;
    for (size_t i = 0; i < n; i++) {
        rc_quarantined q = h->quarantine[(h->q_head + i) % RC_QUARANTINE_SLOTS];
        if (q.large) {
            check_fill(h, &q); /* its slot is still the ring's (q_len unchanged) */
            quarantine_release(h, &q);
        } else {
            h->quarantine[(h->q_head + kept++) % RC_QUARANTINE_SLOTS] = q;
        }
    }
    h->q_len = kept;
    return kept < n;
}

/* Holds a freed block back instead of reusing it; true when it was held. A
 * block that cannot be held (no ring) is freed at once. */
static bool quarantine_hold(rc_heap *h, char *block, size_t size, unsigned kind, bool large,
                            uint32_t tb) {
    if (h->quarantine == NULL) {
        h->quarantine = rc__sys_alloc(h, NULL, 0, RC_QUARANTINE_SLOTS * sizeof *h->quarantine);
        if (h->quarantine == NULL)
            return false;
    }
    quarantine_evict(h, 1, size);
    size_t tail = (h->q_head + h->q_len) % RC_QUARANTINE_SLOTS;
    h->quarantine[tail] = (rc_quarantined){block, size, tb, (uint8_t)kind, large};
    h->q_len++;
    h->q_bytes += size;
    return true;
}

/* Whether the quarantined block q holds ptr: a large block, its payload
 * (which may lie past a block shrunk to its head). */
static bool quarantine_holds(const rc_quarantined *q, const void *ptr) {
    if (q->large)
        return (const char *)ptr == q->block + RC_LARGE_OFFSET;
    return (const char *)ptr >= q->block && (const char *)ptr < q->block + q->size;
}

/* The quarantined block holding ptr, or NULL. A misuse report's search
 * (cold): the ring holds each block once. */
static const rc_quarantined *quarantined(const rc_heap *h, const void *ptr) {
    for (size_t i = 0; i < h->q_len; i++) {
        const rc_quarantined *q = &h->quarantine[(h->q_head + i) % RC_QUARANTINE_SLOTS];
        if (quarantine_holds(q, ptr))
            return q;
    }
    return NULL;
}

/* Gives the block holding ptr, if the quarantine has just taken it, the
 * traceback id of the trace its caller ended (a traced raw block's, which
 * the pool's slow path no longer sees), for misuse reports. */
static void quarantine_name_site(rc_heap *h, const void *ptr, uint32_t tb) {
    rc_quarantined *q = &h->quarantine[(h->q_head + h->q_len - 1) % RC_QUARANTINE_SLOTS];
    if (quarantine_holds(q, ptr))
        q->tb = tb;
}

uint32_t rc__quarantine_tb(const rc_heap *h, const void *ptr) {
    const rc_quarantined *q = quarantined(h, ptr);
    return q ? q->tb : 0;
}

void rc__quarantine_forget_traces(rc_heap *h) {
    for (size_t i = 0; i < h->q_len; i++)
        h->quarantine[(h->q_head + i) % RC_QUARANTINE_SLOTS].tb = 0;
}

/* ------------------------------------------------------ freeing blocks */

/* A raw block freed during teardown: marked and on its pool's free list,
 * so that a second rc_free of it is named "already freed" (it went
 * unseen), yet still counted in used (and in pool_bytes_idle, as not live),
 * so that handed_out (heap.c) does not fall: it grows exactly when
 * something is made, this block handed out again included. */
static void teardown_free_raw(rc_heap *h, rc_pool *p, char *block) {
    rc_pool_mark_dead(h, p, p->kind, block, true);
    rc_pool_link(p, p->kind, block, true);
    p->used++;
}

/* rc_pool_free's slow path: Valgrind (told of the free), tracing (the
 * block's trace in the table ends; a traced raw block's prefix trace was
 * ended by its caller), debug mode (poison, quarantine) or teardown (arenas
 * are freed whole and the object pools walked meanwhile: their blocks must
 * not change, nor any pool's count of blocks in use). */
void rc__pool_free_slow(rc_heap *h, rc_pool *p, char *block) {
    uint32_t tb = 0;
    if (h->tracer && p->kind != RC_KIND_RAW_TRACED)
        tb = rc__trace_free(h, block + RC_OBJ_OFFSET(p->kind));
    if (!h->debug && !h->dying) { /* tracing or Valgrind sent it here */
        rc_pool_give_back(h, p, p->kind, block, true);
        return;
    }
    if (h->dying) {
        h->pool_bytes_idle += p->block_size;
        if (RC_KIND_IS_RAW(p->kind))
            teardown_free_raw(h, p, block);
        return;
    }
    for (unsigned off = 0; off < p->block_size; off += 8)
        if (filled_word(p->kind, off))
            memset(block + off, DEBUG_FILL, 8);
    rc_pool_mark_dead(h, p, p->kind, block, true);
    if (quarantine_hold(h, block, p->block_size, p->kind, false, tb)) {
        h->pool_bytes_idle += p->block_size;
        return;
    }
    rc_pool_link(p, p->kind, block, true);
    rc__pool_after_free(h, p);
}

/* ------------------------------------------------------------ large blocks */

/* Really frees the big dead large block held, if any. */
static void large_dead_big_evict(rc_heap *h) {
    rc_large_dead *d = &h->large_dead_big;
    if (d->block) {
        rc_mem_live(d->block, d->size, false);
        rc__sys_free(h, d->block, d->size);
        d->block = NULL;
    }
}

/* Whether a dead large block of size bytes held back may serve as a new
 * one of total bytes: the same size, or for a raw block up to
 * RC_LARGE_SLACK more (rc_is_large; an object's rc_sizeof is its block's).
 * Without a branch: size below total wraps past any room. */
static inline bool large_dead_fits(size_t size, size_t total, bool raw) {
    return size - total <= (raw ? RC_LARGE_SLACK(size - RC_LARGE_OFFSET) : 0);
}

/* Takes a dead large block held back (rc_large_dead) that fits total
 * (large_dead_fits), the oldest such, out of hold for a new large block
 * of h; *size: its bytes. The allocator's free of the block and malloc of
 * another are saved, and every other block stays held as long as before.
 * NULL if none fits. The ring is tested whole into a mask: with a branch
 * per block, mispredicted half the time, a churn of 4-8 KiB blocks took
 * 121 ns a step instead of 107. */
static char *large_dead_take(rc_heap *h, size_t total, bool raw, size_t *size) {
    _Static_assert(RC_LARGE_DEAD_SLOTS <= 32, "a bit of `fits` per slot");
    unsigned fits = 0;
    for (unsigned i = 0; i < h->large_dead_len; i++)
        fits |= (unsigned)large_dead_fits(
                    h->large_dead[(h->large_dead_head + i) % RC_LARGE_DEAD_SLOTS].size, total, raw)
                << i;
    if (fits) {
        unsigned i = (unsigned)__builtin_ctz(fits);
        rc_large_dead *d = &h->large_dead[(h->large_dead_head + i) % RC_LARGE_DEAD_SLOTS];
        char *block = d->block;
        *size = d->size;
        h->large_dead_bytes -= d->size;
        for (h->large_dead_len--; i < h->large_dead_len; i++)
            h->large_dead[(h->large_dead_head + i) % RC_LARGE_DEAD_SLOTS] =
                h->large_dead[(h->large_dead_head + i + 1) % RC_LARGE_DEAD_SLOTS];
        return block;
    }
    rc_large_dead *big = &h->large_dead_big;
    if (big->block == NULL || !large_dead_fits(big->size, total, raw))
        return NULL;
    char *block = big->block;
    *size = big->size;
    big->block = NULL;
    return block;
}

/* A large block with `payload` bytes at RC_LARGE_OFFSET; its rc_head gets
 * head_info and refcount 1, or 0 for a raw block (RC_F_RAW), so that
 * rc_incref of it, as rc_decref, takes the slow path that names it, at no
 * cost to their fast paths. Bytes zero if `zeroed`, else undefined. NULL +
 * ENOMEM. */
__attribute__((noinline)) void *rc__large_alloc(rc_heap *h, size_t payload, uint32_t head_info,
                                                bool zeroed) {
    if (payload >= RC_LARGE_MAX - RC_LARGE_OFFSET) {
        errno = ENOMEM;
        return NULL;
    }
    size_t total = RC_LARGE_OFFSET + payload, size = total;
    if (rc_ptrmap_reserve(h, &h->large, 1) != 0)
        return NULL;
    char *block = large_dead_take(h, total, (head_info & RC_F_RAW) != 0, &size);
    if (block) { /* its slack, if any, stays unaddressable */
        rc_mem_live(block, total, false);
        if (zeroed)
            memset(block, 0, total);
    } else {
        if (total > RC_LARGE_DEAD_BYTES)
            large_dead_big_evict(h); /* for the allocator to reuse */
        block = zeroed ? rc__sys_alloc_zeroed(h, total) : rc__sys_alloc(h, NULL, 0, total);
        if (block == NULL)
            return NULL;
    }
    rc_large *lg = (rc_large *)block;
    lg->heap = h;
    lg->total = size;
    void *obj = block + RC_LARGE_OFFSET;
    rc_large_set_request(obj, payload);
    rc_head *hd = rc_head_of(obj);
    hd->refcnt = (head_info & RC_F_RAW) ? 0 : 1;
    hd->info = head_info | RC_F_LARGE;
    rc__ptrmap_put(h, &h->large, (uintptr_t)obj, lg);
    h->large_bytes += size;
    return obj;
}

/* Tells ASan and Valgrind that a large block of size bytes held back
 * dead is not to be touched, but for what a misuse report reads: its
 * rc_head and its rc_large (rc_is_large). */
static void large_mark_dead(rc_large *lg, size_t size) {
    rc_mem_dead(lg, size);
    rc_mem_word(rc_head_of((char *)lg + RC_LARGE_OFFSET));
    rc_mem_word(&lg->heap);
    rc_mem_word(&lg->total);
    rc_mem_word(&lg->request_tagged);
}

/* Really frees the oldest dead large block held (see rc_large_dead). */
static void large_dead_evict(rc_heap *h) {
    rc_large_dead *d = &h->large_dead[h->large_dead_head];
    h->large_dead_head = (h->large_dead_head + 1) % RC_LARGE_DEAD_SLOTS;
    h->large_dead_len--;
    h->large_dead_bytes -= d->size;
    rc_mem_live(d->block, d->size, false);
    rc__sys_free(h, d->block, d->size);
}

/* Gives back every dead large block held and every large block the
 * quarantine holds (rc__sys_alloc and its kin call it when the system or
 * rc_alloc_fn refused): memory held only to name a second rc_decref or a
 * use after free must not make an allocation fail. True if any went. */
bool rc__held_release(rc_heap *h) {
    bool any = h->large_dead_len != 0 || h->large_dead_big.block;
    while (h->large_dead_len)
        large_dead_evict(h);
    large_dead_big_evict(h);
    return quarantine_release_large(h) || any;
}

/* Whether ptr is the payload of a dead large block held back. */
static bool large_dead_held(const rc_heap *h, const void *ptr) {
    if (h->large_dead_big.block && h->large_dead_big.block + RC_LARGE_OFFSET == (const char *)ptr)
        return true;
    for (unsigned i = 0; i < h->large_dead_len; i++)
        if (h->large_dead[(h->large_dead_head + i) % RC_LARGE_DEAD_SLOTS].block + RC_LARGE_OFFSET ==
            (const char *)ptr)
            return true;
    return false;
}

/* Makes the slack past a large raw block's request (large_resize) as
 * addressable as the rest of the block, before rc_alloc_fn gets it back
 * (it may read or copy all it handed out). */
static void large_slack_live(rc_large *lg, void *payload) {
    size_t used = RC_LARGE_OFFSET + rc_large_request(payload);
    if (lg->total > used)
        rc_mem_live((char *)payload + (used - RC_LARGE_OFFSET), lg->total - used, false);
}

/* Notes that the large raw block at payload went back (see large_freed). */
static void large_freed_note(rc_heap *h, const void *payload) {
    h->large_freed[h->large_freed_next] = (uintptr_t)payload;
    h->large_freed_next = (h->large_freed_next + 1) % RC_LARGE_DEAD_SLOTS;
}

/* Whether ptr is the payload of one of the last large raw blocks to go
 * back (a misuse report's search, cold). */
static bool large_freed(const rc_heap *h, const void *ptr) {
    for (unsigned i = 0; i < RC_LARGE_DEAD_SLOTS; i++)
        if (h->large_freed[i] == (uintptr_t)ptr)
            return true;
    return false;
}

/* Shrinks a freed large block of size bytes to its head (rc_large and
 * rc_head), in place, through rc_alloc_fn's realloc; true when it did. Else
 * (the allocator moved it or failed) the block is freed. errno is kept. */
static bool large_shrink_to_head(rc_heap *h, char *block, size_t size) {
    int saved = errno;
    char *head = rc__sys_alloc(h, block, size, RC_LARGE_OFFSET);
    errno = saved;
    if (head == block)
        return true;
    rc__sys_free(h, head ? head : block, head ? RC_LARGE_OFFSET : size);
    return false;
}

/* Holds back the block of a large object that died (its rc_head says
 * dead) or of a large raw block freed (no longer in h->large), of size
 * bytes, in place of the oldest ones held (rc_large_dead).
 * Whole blocks, delayed: no system call (keeping only the head, with
 * MADV_DONTNEED or a shrink, made a 100 KB object's life 17x longer: the
 * next block of its size was new memory, faulted in page by page). Past
 * RC_LARGE_DEAD_BIG_BYTES only the head, which costs one mremap beside
 * the thousands of page faults of such a block; freed whole, a second
 * rc_decref of it read unmapped memory. */
static void large_dead_hold(rc_heap *h, char *block, size_t size) {
    if (size > RC_LARGE_DEAD_BYTES && size <= RC_LARGE_DEAD_BIG_BYTES) {
        large_dead_big_evict(h);
        large_mark_dead((rc_large *)block, size);
        h->large_dead_big = (rc_large_dead){block, size};
        return;
    }
    if (size > RC_LARGE_DEAD_BIG_BYTES) {
        if (!large_shrink_to_head(h, block, size))
            return;
        size = RC_LARGE_OFFSET;
    }
    while (h->large_dead_len == RC_LARGE_DEAD_SLOTS ||
           h->large_dead_bytes + size > RC_LARGE_DEAD_BYTES)
        large_dead_evict(h);
    large_mark_dead((rc_large *)block, size);
    unsigned tail = (h->large_dead_head + h->large_dead_len++) % RC_LARGE_DEAD_SLOTS;
    h->large_dead[tail] = (rc_large_dead){block, size};
    h->large_dead_bytes += size;
}

/* Frees a large block; its rc_head stays readable while held. */
void rc__large_free(rc_heap *h, void *payload, uint32_t tb) {
    if (h->dying) {
        /* Teardown walks h->large: leave it whole (in large_bytes too); the
         * block goes at the end. Not live, as a pool block freed then. */
        rc_head_of(payload)->info |= RC_F_DEAD;
        h->pool_bytes_idle += rc_large_of(payload)->total;
        return;
    }
    rc_large *lg = rc__ptrmap_remove(&h->large, (uintptr_t)payload);
    h->large_bytes -= lg->total;
    size_t total = lg->total;
    if (rc_head_of(payload)->info & RC_F_RAW) {
        large_freed_note(h, payload);
        large_slack_live(lg, payload);
    }
    if (h->debug && total > RC_QUARANTINE_BYTES) {
        /* whole, it would push out all others: its head is held instead
         * (the rest faulted in again by the next big block: debug only) */
        if (!large_shrink_to_head(h, (char *)lg, total))
            return;
        total = RC_LARGE_OFFSET;
    }
    if (h->debug) {
        memset(payload, DEBUG_FILL, total - RC_LARGE_OFFSET);
        large_mark_dead(lg, total);
        if (quarantine_hold(h, (char *)lg, total, RC_KIND_RAW, true, tb))
            return;
        rc_mem_live(lg, total, false);
    } else {
        large_dead_hold(h, (char *)lg, total);
        return;
    }
    rc__sys_free(h, lg, total);
}

/* ----------------------------------------------------------- walking */

/* The pool of h holding p: in one of h's arenas, in a pool carved and not
 * given back (a retired pool's header says used 0, which callers treat as
 * "not a live block"). NULL if none. */
static __attribute__((noinline)) rc_pool *pool_lookup_map(const rc_heap *h, const void *p) {
    rc_arena *a = arena_lookup(h, p);
    if (a == NULL)
        return NULL;
    size_t i = (size_t)((const char *)p - a->first_pool) / RC_POOL_SIZE;
    return i < a->npools - a->nfresh ? rc_pool_of(p) : NULL;
}

/* Whether the pool holding p is carved, by e, the zone table's slot of p's
 * zone (e->zone checked by the caller). */
static inline bool zone_carved(const rc_zone_slot *e, const void *p) {
    return e->carved >> ((uintptr_t)p / RC_POOL_SIZE % 64) & 1;
}

/* Whether the pool whose header is at `header`, a pool slot's value,
 * holds p. */
static inline bool slot_holds(uintptr_t header, const void *p) {
    return (header ^ (uintptr_t)p) < RC_POOL_SIZE;
}

/* The carved pool of h that holds p, or NULL (see the arena map). */
static inline rc_pool *pool_lookup(const rc_heap *h, const void *p) {
    uintptr_t header = h->pool_slots[pool_slot(p)] & ~RC_POOL_SLOT_FULL_PATH;
    if (RC_LIKELY(slot_holds(header, p)))
        return (rc_pool *)header;
    uintptr_t zone = ZONE_OF(p);
    const rc_zone_slot *e = &h->zone_table[zone_index(zone)];
    if (RC_UNLIKELY(e->zone != zone))
        return pool_lookup_map(h, p);
    return zone_carved(e, p) ? rc_pool_of(p) : NULL;
}

rc_pool *rc__pool_lookup(const rc_heap *h, const void *p) { return pool_lookup(h, p); }

/* A walk over the pools of a heap that have blocks in use (a pool with
 * none may be parked: its fresh pointer is not where carving stopped). */
typedef struct pool_walk { rc_arena *arena; uint32_t next; } pool_walk;

static rc_pool *next_used_pool(pool_walk *w) {
    for (; w->arena; w->arena = w->arena->next, w->next = 0) {
        rc_arena *a = w->arena;
        while (w->next < a->npools - a->nfresh) {
            rc_pool *p = rc_pool_at(a->first_pool + w->next++ * RC_POOL_SIZE);
            if (p->used)
                return p;
        }
    }
    return NULL;
}

/* The pools' figure is their blocks in use, less those that are not live;
 * counting it here keeps it off every allocation and free, at the price of
 * a walk over the pools (as CPython's sys.getallocatedblocks walks its
 * arenas). */
size_t rc__bytes_in_use(const rc_heap *h) {
    size_t bytes = h->large_bytes - h->pool_bytes_idle;
    pool_walk w = {h->arenas, 0};
    for (rc_pool *p; (p = next_used_pool(&w)) != NULL;)
        bytes += (size_t)p->used * p->block_size;
    return bytes;
}

/* Calls fn on each live object: the carved blocks of object pools whose
 * rc_head is not dead, then large blocks that are neither raw nor dead. */
void rc__each_object(rc_heap *h, void (*fn)(void *obj, void *arg), void *arg) {
    pool_walk w = {h->arenas, 0};
    for (rc_pool *p; (p = next_used_pool(&w)) != NULL;) {
        if (RC_KIND_IS_RAW(p->kind))
            continue;
        size_t obj = RC_OBJ_OFFSET(p->kind);
        for (char *block = first_block(p); block < p->fresh; block += p->block_size)
            if (!(rc_head_of(block + obj)->info & RC_F_DEAD))
                fn(block + obj, arg);
    }
    for (size_t i = 0; h->large.count && i <= h->large.mask; i++) {
        if (h->large.slots[i].key == 0)
            continue;
        void *obj = (void *)h->large.slots[i].key;
        /* not a raw block, nor an object that died during teardown (its
         * block stays in the map until the end: rc__large_free) */
        if (!(rc_head_of(obj)->info & (RC_F_RAW | RC_F_DEAD)))
            fn(obj, arg);
    }
}

/* Returns every arena, large block, quarantined block and map to the
 * system: the end of a heap. */
void rc__alloc_release_all(rc_heap *h) {
    h->dying = false;
    rc_slow_free_update(h);
    quarantine_evict(h, RC_QUARANTINE_SLOTS, RC_QUARANTINE_BYTES);
    rc__sys_free(h, h->quarantine, h->quarantine ? RC_QUARANTINE_SLOTS * sizeof *h->quarantine : 0);
    h->quarantine = NULL;
    rc__held_release(h);
    for (size_t i = 0; h->large.count && i <= h->large.mask; i++) {
        if (h->large.slots[i].key == 0)
            continue;
        rc_large *lg = h->large.slots[i].val;
        size_t total = lg->total; /* read before Valgrind calls it undefined */
        rc_mem_live(lg, total, false);
        rc__sys_free(h, lg, total);
    }
    rc__ptrmap_free(h, &h->large);
    while (h->arenas)
        arena_free(h, h->arenas);
    h->empty_arena = NULL; /* it was on h->arenas too */
    rc__ptrmap_free(h, &h->arena_map);
}

/* ------------------------------------------------------------ raw memory */

static inline size_t raw_block_size(size_t size) {
    return size <= RC_GRAIN ? RC_GRAIN : (size + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1);
}

/* The block of a raw pool for size bytes (at most RC_MEDIUM_MAX - hdr)
 * after a prefix of hdr bytes (0, or RC_TRACE_PREFIX): rc_class_block. */
static inline size_t raw_class_block(size_t size, size_t hdr) {
    return rc_class_block(raw_block_size(size) + hdr);
}

/* A raw block of size bytes (undefined contents): from a pool up to
 * RC_MEDIUM_MAX; NULL + ENOMEM. */
static void *raw_alloc(rc_heap *h, size_t size) {
    if (size <= RC_MEDIUM_MAX)
        return rc__class_alloc(h, RC_KIND_RAW, raw_class_block(size, 0));
    return rc__large_alloc(h, size, RC_F_RAW, false);
}

/* A raw block of size bytes for a trace: small and medium ones from the
 * traced raw pools, their prefix not yet a trace; NULL + ENOMEM. */
static inline size_t traced_block_size(size_t size) {
    return raw_block_size(size) + RC_TRACE_PREFIX;
}

/* The prefix of a traced raw pool's block just taken: no trace yet, no
 * free mark. */
static inline rc_trace_prefix *untraced_prefix(char *block) {
    rc_trace_prefix *pre = (rc_trace_prefix *)block;
    *pre = (rc_trace_prefix){0, 0, 0, 0};
    return pre;
}

static void *raw_alloc_traced_kind(rc_heap *h, size_t size) {
    if (size > RC_MEDIUM_MAX - RC_TRACE_PREFIX)
        return raw_alloc(h, size);
    char *block = rc__class_alloc(h, RC_KIND_RAW_TRACED, raw_class_block(size, RC_TRACE_PREFIX));
    return block ? untraced_prefix(block) + 1 : NULL;
}

/* raw_trace of a large block, in the table (out of line: the small case
 * then stays a tail call, with no frame to build). */
static __attribute__((noinline)) void *raw_trace_large(rc_heap *h, void *p, size_t size,
                                                       const char *file, int line,
                                                       const char *func, bool kept) {
    if (kept)
        rc__trace_alloc_kept(h, p, size, file, line, func);
    else if (rc__trace_alloc(h, p, size, file, line, func) < 0) {
        rc_free(h, p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

/* Starts the trace of p, a live raw block of size bytes made while tracing
 * by raw_alloc_traced_kind: in its prefix, or in the table if large.
 * Returns p, or, when the trace cannot be stored, frees p and returns NULL
 * + ENOMEM; `kept` (rc_realloc's new block: the old one is gone): p all
 * the same, untraced. */
static inline void *raw_trace(rc_heap *h, void *p, size_t size, const char *file, int line,
                              const char *func, bool kept) {
    if (size > RC_MEDIUM_MAX - RC_TRACE_PREFIX)
        return raw_trace_large(h, p, size, file, line, func, kept);
    rc_trace_prefix *pre = (rc_trace_prefix *)((char *)p - RC_TRACE_PREFIX);
    return kept ? rc__trace_prefix_kept(h, pre, size, file, line, func)
                : rc__trace_prefix_set(h, pre, size, file, line, func);
}

/* traced_malloc when the head pool of the class has no block, the block
 * is large, or Valgrind is to be told. */
static __attribute__((noinline)) void *traced_malloc_slow(rc_heap *h, size_t size,
                                                          const char *file, int line,
                                                          const char *func) {
    void *p = raw_alloc_traced_kind(h, size);
    return p ? raw_trace(h, p, size, file, line, func, false) : NULL;
}

/* rc_malloc while tracing, out of line so that the untraced path does not
 * keep the call site alive across the allocation. A small block keeps its
 * trace in its prefix: no table to look up, in the line the allocation
 * touches anyway. Its common case calls only in tail position, so it
 * builds no stack frame (nframe 1's pair 8% faster). */
static __attribute__((noinline)) void *traced_malloc(rc_heap *h, size_t size, const char *file,
                                                     int line, const char *func) {
    if (size <= RC_SMALL_MAX - RC_TRACE_PREFIX && !rc_under_valgrind()) {
        char *block = rc_pool_take(h, RC_KIND_RAW_TRACED, traced_block_size(size), false);
        if (RC_LIKELY(block != NULL))
            return rc__trace_prefix_set(h, untraced_prefix(block), size, file, line, func);
    }
    return traced_malloc_slow(h, size, file, line, func);
}

/* rc_malloc untraced when its fast path cannot serve: a large or empty
 * request, no block at hand, or Valgrind, debug mode or teardown. */
static __attribute__((noinline)) void *malloc_slow(rc_heap *h, size_t size) {
    return raw_alloc(h, size);
}

void *rc_malloc_at(rc_heap *h, size_t size, const char *file, int line, const char *func) {
    if (h == NULL) {
        errno = EINVAL;
        return NULL;
    }
    /* The common case inline, calling nothing: slow_free is also set while
     * tracing and under Valgrind, so the block needs no word to either. */
    if (RC_LIKELY(!h->slow_free && size - 1 < RC_SMALL_MAX)) {
        size_t block_size = (size + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1); /* size >= 1 */
        char *block = rc_pool_take(h, RC_KIND_RAW, block_size, false);
        if (RC_LIKELY(block != NULL))
            return block;
    }
    if (h->tracer != NULL)
        return traced_malloc(h, size, file, line, func);
    return malloc_slow(h, size);
}

void *rc_calloc_at(rc_heap *h, size_t n, size_t size, const char *file, int line,
                   const char *func) {
    size_t total;
    if (h == NULL) { /* both wrong (and overflowing): the heap is named */
        errno = EINVAL;
        return NULL;
    }
    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (total > RC_MEDIUM_MAX) { /* large, traced or not: zeroed by the allocator */
        void *p = rc__large_alloc(h, total, RC_F_RAW, true);
        return p && h->tracer ? raw_trace(h, p, total, file, line, func, false) : p;
    }
    void *p = rc_malloc_at(h, total, file, line, func);
    if (p)
        memset(p, 0, total);
    return p;
}

/* The end of p's carved blocks (none starts at or after it). */
static char *carved_end(const rc_pool *p) { return p->parked ? p->parked_fresh : p->fresh; }

/* Sets bit i of bits for each block i of p that is free: on its free list,
 * quarantined or held (medium_hold). One pass over each, not one per block. */
static void free_blocks(const rc_heap *h, const rc_pool *p, uint64_t *bits) {
    const char *first = first_block(p);
    for (const char *f = p->parked ? p->parked_free : p->free; f; f = *(char *const *)f) {
        size_t i = (size_t)(f - first) / p->block_size;
        bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
    for (size_t q = 0; q < h->q_len; q++) {
        const char *b = h->quarantine[(h->q_head + q) % RC_QUARANTINE_SLOTS].block;
        if (b >= first && rc_pool_of(b) == p) {
            size_t i = (size_t)(b - first) / p->block_size;
            bits[i / 64] |= (uint64_t)1 << (i % 64);
        }
    }
    const char *held = p->cls < RC_NCLASSES ? NULL : h->medium_held[p->kind][rc_medium_index(p->cls)];
    if (held != NULL && rc_pool_of(held) == p) { /* medium_hold's */
        size_t i = (size_t)(held - first) / p->block_size;
        bits[i / 64] |= (uint64_t)1 << (i % 64);
    }
}

/* Whether the pool block at `block` is on one of p's free lists, in the
 * quarantine or held (medium_hold): the slow half of the raw block test. */
static bool block_is_free(const rc_heap *h, const rc_pool *p, const char *block) {
    uint64_t bits[RC_POOL_SIZE / RC_GRAIN / 64] = {0}; /* a bit per block */
    free_blocks(h, p, bits);
    size_t i = (size_t)(block - first_block(p)) / p->block_size;
    return bits[i / 64] >> (i % 64) & 1;
}

size_t rc__pool_object_index(const rc_pool *p, const void *obj) {
    return (size_t)((const char *)obj - RC_OBJ_OFFSET(p->kind) - first_block(p)) / p->block_size;
}

bool rc__pool_block_live(const rc_heap *h, const rc_pool *p, const char *block) {
    if (p->used == 0 || block >= carved_end(p))
        return false;
    if (!RC_KIND_IS_RAW(p->kind))
        return !(rc_head_of(block + RC_OBJ_OFFSET(p->kind))->info & RC_F_DEAD);
    return !rc_raw_has_mark(h, block, p->kind) || !block_is_free(h, p, block);
}

/* Whether ptr starts a carved block of p, a pool of `kind`, below `carved`
 * (p's fresh pointer, or where it is parked): one compare (below the first
 * block, the offset wraps), one multiply, no division. */
static inline bool at_block_start(const rc_pool *p, unsigned kind, const char *ptr,
                                  const char *carved) {
    const char *first = first_block_of(p, kind);
    uint64_t off = (uintptr_t)ptr - (uintptr_t)first;
    return off < (uintptr_t)carved - (uintptr_t)first && off * p->divc <= p->divc - 1;
}

bool rc__pool_payload_at(const rc_pool *p, const void *ptr) {
    if (p->used == 0 && !p->parked)
        return true;
    return at_block_start(p, p->kind, (const char *)ptr - RC_OBJ_OFFSET(p->kind), carved_end(p));
}

/* Whether ptr was the payload of a raw block of p when p was last retired
 * (p->was): a stale pointer into a retired pool, or one carved again since. */
static bool was_raw_block(const rc_pool *p, const void *ptr) {
    unsigned kind = p->was.kind;
    if (p->was.block_size == 0 || !RC_KIND_IS_RAW(kind))
        return false;
    const char *first = first_block_of(p, kind), *block = (const char *)ptr - RC_OBJ_OFFSET(kind);
    return block >= first && block < rc_pool_base(p) + (size_t)p->was.end * RC_GRAIN &&
           (size_t)(block - first) % p->was.block_size == 0;
}

/* Names what is wrong with a pointer into one of h's pools that is not a live
 * raw block, and aborts. A parked pool knows what it had carved, so a block of
 * it is named freed; so is one of a pool retired (and maybe carved again for
 * other blocks) that was a raw block then (p->was); other pointers are not
 * owned. */
static _Noreturn void raw_misuse(rc_heap *h, rc_pool *p, void *ptr, const char *call) {
    char *block = (char *)ptr - RC_OBJ_OFFSET(p->kind);
    if (!at_block_start(p, p->kind, block, carved_end(p)) || (p->used == 0 && !p->parked)) {
        if (was_raw_block(p, ptr))
            rc__fatal_ptr(h, call, "of a block already freed", ptr);
        rc__fatal_ptr(NULL, call, "of a pointer the heap does not own", ptr);
    }
    if (RC_KIND_IS_RAW(p->kind))
        rc__fatal_ptr(h, call, "of a block already freed", ptr);
    if (rc__pool_block_live(h, p, block))
        rc__fatal(call, "of an rc object (use rc_decref)", ptr);
    rc__fatal(call, "of a dead object", ptr);
}

/* Whether ptr is a live raw block of pool p (of h, or NULL): the payload
 * of a block of a raw pool, without the free mark or not on a free list. */
static inline bool raw_pool_block(const rc_heap *h, const rc_pool *p, const void *ptr) {
    if (p == NULL || !RC_KIND_IS_RAW(p->kind) || p->used == 0)
        return false;
    /* A pool with blocks in use is not parked: fresh is where carving stopped. */
    const char *block = (const char *)ptr - RC_OBJ_OFFSET(p->kind);
    if (!at_block_start(p, p->kind, block, p->fresh))
        return false;
    return RC_LIKELY(!rc_raw_has_mark(h, block, p->kind)) || !block_is_free(h, p, block);
}

rc_trace_prefix *rc__trace_prefix_of(const rc_heap *h, const void *ptr) {
    rc_pool *p = pool_lookup(h, ptr);
    if (p == NULL || p->kind != RC_KIND_RAW_TRACED || !raw_pool_block(h, p, ptr))
        return NULL;
    return (rc_trace_prefix *)((char *)ptr - RC_TRACE_PREFIX);
}

/* Calls fn on the prefix of each live block of the traced raw pools. */
void rc__each_trace_prefix(rc_heap *h, void (*fn)(rc_trace_prefix *pre, void *arg), void *arg) {
    pool_walk w = {h->arenas, 0};
    for (rc_pool *p; (p = next_used_pool(&w)) != NULL;) {
        if (p->kind != RC_KIND_RAW_TRACED)
            continue;
        uint64_t free_bits[RC_POOL_SIZE / RC_GRAIN / 64] = {0}; /* a bit per block */
        free_blocks(h, p, free_bits);
        size_t k = 0;
        for (char *block = first_block(p); block < p->fresh; block += p->block_size, k++)
            if (!(free_bits[k / 64] >> (k % 64) & 1))
                fn((rc_trace_prefix *)block, arg);
    }
}

/* What the heap knows of a raw block it owns that is not a pool block: a
 * large block's rc_large. Aborts, naming the error, on a pointer that is
 * not a live raw block of h (p: its pool, if any). */
static rc_large *large_owned(rc_heap *h, rc_pool *p, void *ptr, const char *call) {
    if (p)
        raw_misuse(h, p, ptr, call);
    rc_large *lg = rc_ptrmap_get(&h->large, (uintptr_t)ptr);
    /* A held large block (quarantined, or held back after its death) keeps
     * its head, as does one freed during teardown (the map keeps it until
     * the end), which says dead: a dead object's says so too. */
    bool held = lg == NULL && (quarantined(h, ptr) != NULL || large_dead_held(h, ptr));
    if (held || (lg && (rc_head_of(ptr)->info & RC_F_DEAD))) {
        if (rc_head_of(ptr)->info & RC_F_RAW)
            rc__fatal_ptr(h, call, "of a block already freed", ptr);
        rc__fatal(call, "of a dead object", ptr);
    }
    if (lg == NULL && large_freed(h, ptr))
        rc__fatal_ptr(h, call, "of a block already freed", ptr);
    if (lg == NULL)
        rc__fatal_ptr(NULL, call, "of a pointer the heap does not own", ptr);
    if (!(rc_head_of(ptr)->info & RC_F_RAW))
        rc__fatal(call, "of an rc object (use rc_decref)", ptr);
    return lg;
}

/* Ends the trace of a live raw block of h (p: its pool; NULL if large),
 * if it has one: a traced raw block's prefix trace, else its table trace,
 * except when a plain raw block is about to go back to its pool (`freeing`):
 * tracing sends every pool free to rc__pool_free_slow, which ends it.
 * Returns the traceback id of the trace it ended, or 0. */
static uint32_t raw_untrace(rc_heap *h, const rc_pool *p, void *ptr, bool freeing) {
    if (p && p->kind == RC_KIND_RAW_TRACED)
        return rc__trace_prefix_drop(h, (rc_trace_prefix *)((char *)ptr - RC_TRACE_PREFIX));
    if (h->tracer && (p == NULL || !freeing))
        return rc__trace_free(h, ptr);
    return 0;
}

/* Gives back a live raw block of h (p: its pool; NULL if large). */
static inline void raw_release(rc_heap *h, rc_pool *p, void *ptr) {
    if (RC_UNLIKELY(p == NULL))
        rc__large_free(h, ptr, 0);
    else if (p->kind == RC_KIND_RAW_TRACED)
        rc_pool_free(h, RC_KIND_RAW_TRACED, (char *)ptr - RC_TRACE_PREFIX);
    else
        rc_pool_free(h, RC_KIND_RAW, ptr);
}

/* Ends the trace of a live raw block of h (p: its pool; NULL if large)
 * and gives it back; in debug mode the quarantine keeps the traceback the
 * trace ended with, so that a later misuse of ptr names its site (rc_free,
 * and rc_realloc of a block it moves). */
static void raw_free_traced_site(rc_heap *h, rc_pool *p, void *ptr) {
    uint32_t tb = raw_untrace(h, p, ptr, true);
    raw_release(h, p, ptr);
    if (tb && h->q_len)
        quarantine_name_site(h, ptr, tb);
}

/* rc_free of anything but an untraced-kind pool block without the free
 * mark. */
static __attribute__((noinline)) void free_slow(rc_heap *h, rc_pool *p, void *ptr) {
    if (!raw_pool_block(h, p, ptr)) {
        large_owned(h, p, ptr, "rc_free");
        p = NULL;
    }
    raw_free_traced_site(h, p, ptr);
}

/* Whether ptr is, at first sight, the payload of a live block of p, a pool
 * of `kind` (a constant): carved, at a block start, without the free mark
 * (the mark is read as is: callers saw h->slow_pool_free false, so
 * Valgrind is not running). raw_pool_block's common case, inline;
 * raw_block_of_kind when p's kind is known to be `kind`. */
static inline bool raw_block_of_kind(const rc_heap *h, const rc_pool *p, unsigned kind,
                                     const void *ptr) {
    const char *block = (const char *)ptr - RC_OBJ_OFFSET(kind);
    return at_block_start(p, kind, block, p->fresh) &&
           ((const uintptr_t *)block)[1] != rc_raw_mark(h, block, kind);
}
static inline bool raw_block_at_sight(const rc_heap *h, const rc_pool *p, unsigned kind,
                                      const void *ptr) {
    return p->kind == kind && raw_block_of_kind(h, p, kind, ptr);
}

/* free_traced's rare end: p's class list changes, then the trace ends. */
static __attribute__((noinline)) void traced_after_free(rc_heap *h, rc_pool *p,
                                                        rc_trace_prefix trace, void *ptr) {
    rc__pool_after_free(h, p);
    rc__trace_prefix_ended(h, trace, ptr);
}

/* rc_free of a block of p, a traced raw pool: when only tracing could call
 * for the slow path, it goes back at once and the trace its prefix held
 * ends (rc__trace_prefix_ended, last: calls only in tail position, so no
 * stack frame). Out of line, so that rc_free saves no registers. */
static __attribute__((noinline)) void free_traced(rc_heap *h, rc_pool *p, void *ptr) {
    if (!h->slow_pool_free && raw_block_of_kind(h, p, RC_KIND_RAW_TRACED, ptr)) {
        char *block = (char *)ptr - RC_TRACE_PREFIX;
        rc_trace_prefix trace = *(rc_trace_prefix *)block;
        if (rc_pool_put_back(h, p, RC_KIND_RAW_TRACED, block, false))
            traced_after_free(h, p, trace, ptr);
        else
            rc__trace_prefix_ended(h, trace, ptr);
        return;
    }
    free_slow(h, p, ptr);
}

/* rc_free of ptr, whose pool is p (a carved pool of h), past the untraced
 * fast path: a traced block (free_traced), or whatever else (free_slow). */
static inline void free_past_fast(rc_heap *h, rc_pool *p, void *ptr) {
    if (p->kind == RC_KIND_RAW_TRACED)
        free_traced(h, p, ptr);
    else
        free_slow(h, p, ptr);
}

/* rc_free of ptr, whose pool is p (a carved pool of h). The common case,
 * every step inline (nothing to save): an untraced block when no free
 * needs the slow path; then a traced one (free_traced). */
static inline void free_in(rc_heap *h, rc_pool *p, void *ptr) {
    if (RC_LIKELY(!h->slow_free && raw_block_at_sight(h, p, RC_KIND_RAW, ptr)))
        rc_pool_give_back(h, p, RC_KIND_RAW, ptr, false);
    else
        free_past_fast(h, p, ptr);
}

/* rc_free of what no pool slot places at once. */
static __attribute__((noinline)) void free_checked(rc_heap *h, void *ptr) {
    if (ptr == NULL)
        return;
    rc_pool *p = pool_lookup(h, ptr);
    if (p != NULL)
        free_in(h, p, ptr);
    else
        free_slow(h, NULL, ptr);
}

/* rc_free of ptr whose pool slot, untagged, is `header`, when its fast
 * path cannot take it: the slot is another pool's or empty, or tagged (a
 * traced pool, or an untraced one while every free takes the slow path),
 * or ptr failed the fast path's test (not a block start, or the free
 * mark: free_slow tells a misuse from a live block). */
static inline void free_tagged(rc_heap *h, void *ptr, uintptr_t header) {
    if (slot_holds(header, ptr))
        free_past_fast(h, (rc_pool *)header, ptr);
    else
        free_checked(h, ptr);
}

/* rc_free without a heap: nothing to do for NULL, misuse otherwise. */
static __attribute__((noinline, cold)) void free_without_heap(void *ptr) {
    if (ptr)
        rc__fatal_ptr(NULL, "rc_free", "with a NULL heap", ptr);
}

void rc_free(rc_heap *h, void *ptr) {
    if (RC_UNLIKELY(h == NULL)) {
        free_without_heap(ptr);
        return;
    }
    /* A pool its slot holds untagged: untraced raw blocks, no reason for
     * the slow path; tagged, any raw pool. NULL fails the slot's test (no
     * pool starts at address 0), so it needs no test of its own here. */
    uintptr_t slot = h->pool_slots[pool_slot(ptr)];
    if (RC_LIKELY(slot_holds(slot, ptr) && raw_block_of_kind(h, (rc_pool *)slot, RC_KIND_RAW, ptr)))
        rc_pool_give_back(h, (rc_pool *)slot, RC_KIND_RAW, ptr, false);
    else
        free_tagged(h, ptr, slot & ~RC_POOL_SLOT_FULL_PATH);
}

/* rc_realloc of a live large raw block to a size that stays large: past
 * RC_MEDIUM_MAX, or within the block's slack (a buffer shrunk just under
 * 4096 bytes and grown again stays where it is: moved to a pool and back,
 * it was copied both ways each time; bounced between 4000 and 4200 bytes,
 * 105-186 -> 22-23 ns a call, glibc 26-31). Growth asks rc_alloc_fn for
 * RC_LARGE_SLACK more than the size, so a buffer grown step by step (a
 * byte at a time, say) calls it once per sixteenth of its size, not at
 * every step (glibc's realloc alone costs a 64 KB-4 MB buffer grown a
 * byte at a time 2.5x its own time per step); a size within the block's
 * slack takes no call at all, and a shrink asks for the size exactly (the
 * program wants the memory back). The slack is poisoned for ASan and
 * Valgrind, and shown to rc_alloc_fn again whenever the block goes to it.
 * rc_alloc_fn resizes in place when it can (glibc grows into free space
 * or remaps). Returns the payload, moved or not; NULL + ENOMEM leaves it
 * as it was. Not in debug mode, whose moved blocks go through the
 * quarantine, nor during teardown, which walks the large map. */
static void *large_resize(rc_heap *h, void *payload, size_t size) {
    rc_large *lg = rc_large_of(payload);
    size_t cap = lg->total - RC_LARGE_OFFSET, old = rc_large_request(payload);
    if (rc_large_holds(cap, size)) {
        if (size > old)
            rc_mem_live((char *)payload + old, size - old, false);
        else
            rc_mem_dead((char *)payload + size, old - size);
        rc_large_set_request(payload, size);
        return payload;
    }
    size_t want = size > old ? size + RC_LARGE_SLACK(size) : size;
    if (want < size || want >= RC_LARGE_MAX - RC_LARGE_OFFSET) {
        errno = ENOMEM;
        return NULL;
    }
    /* room for the entry first: nothing can fail once the block moved */
    if (rc_ptrmap_reserve(h, &h->large, 1) != 0)
        return NULL;
    size_t old_total = lg->total, total = RC_LARGE_OFFSET + want;
    large_slack_live(lg, payload);
    rc_large *moved = rc__sys_alloc(h, lg, old_total, total);
    if (moved == NULL) {
        rc_mem_dead((char *)payload + old, cap - old);
        return NULL;
    }
    moved->total = total;
    h->large_bytes += total - old_total;
    char *p = (char *)moved + RC_LARGE_OFFSET;
    rc_large_set_request(p, size);
    rc_mem_dead(p + size, want - size);
    if (moved != lg) {
        large_freed_note(h, payload);
        rc__ptrmap_remove(&h->large, (uintptr_t)payload);
        rc__ptrmap_put(h, &h->large, (uintptr_t)p, moved);
    }
    return p;
}

void *rc_realloc_at(rc_heap *h, void *ptr, size_t size, const char *file, int line,
                    const char *func) {
    if (ptr == NULL)
        return rc_malloc_at(h, size, file, line, func);
    if (h == NULL) {
        errno = EINVAL;
        return NULL;
    }
    rc_pool *pool = pool_lookup(h, ptr);
    size_t old, hdr = 0;
    if (raw_pool_block(h, pool, ptr)) {
        hdr = RC_OBJ_OFFSET(pool->kind);
        old = pool->block_size - hdr;
    } else {
        large_owned(h, pool, ptr, "rc_realloc");
        old = rc_large_request(ptr);
        pool = NULL;
    }
    if (pool == NULL && !h->debug && !h->dying &&
        (size > RC_MEDIUM_MAX || rc_large_holds(rc_large_of(ptr)->total - RC_LARGE_OFFSET, size))) {
        void *p = large_resize(h, ptr, size);
        if (p == NULL)
            return NULL;
        raw_untrace(h, NULL, ptr, false);
        return h->tracer ? raw_trace(h, p, size, file, line, func, true) : p;
    }
    /* Same pool class: the block already fits, nothing moves. */
    bool stays = pool && size <= RC_MEDIUM_MAX - hdr && raw_class_block(size, hdr) == pool->block_size;
    void *p = ptr;
    if (!stays) {
        p = h->tracer ? raw_alloc_traced_kind(h, size) : raw_alloc(h, size);
        if (p == NULL)
            return NULL;
        memcpy(p, ptr, old < size ? old : size);
    }
    /* CPython's order: the old trace goes before the new one comes. */
    if (stays)
        raw_untrace(h, pool, ptr, false);
    else
        raw_free_traced_site(h, pool, ptr);
    if (h->tracer == NULL)
        return p;
    if (stays && pool->kind == RC_KIND_RAW) { /* an untraced-kind block: its trace in the table */
        rc__trace_alloc_kept(h, p, size, file, line, func);
        return p;
    }
    return raw_trace(h, p, size, file, line, func, true);
}

#undef rc_malloc
#undef rc_calloc
#undef rc_realloc
void *rc_malloc(rc_heap *h, size_t size) { return rc_malloc_at(h, size, NULL, 0, NULL); }
void *rc_calloc(rc_heap *h, size_t n, size_t size) { return rc_calloc_at(h, n, size, NULL, 0, NULL); }
void *rc_realloc(rc_heap *h, void *ptr, size_t size) {
    return rc_realloc_at(h, ptr, size, NULL, 0, NULL);
}
