/*
 * heap.c — heaps: creation, teardown, figures, the one door to rc_alloc_fn,
 * and the pointer maps every subsystem keys its side tables with.
 */
#include "internal.h"

#include <locale.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

const char *rc_version(void) { return RC_VERSION_STRING; }

/* Heaps alive in the process, for rc__one_heap. */
static atomic_size_t live_heaps;

bool rc__one_heap(void) { return atomic_load_explicit(&live_heaps, memory_order_relaxed) == 1; }

/* ------------------------------------------------------------ the system */

/* getenv, but NULL in a program run with more privileges than its caller
 * (setuid, setgid, file capabilities: AT_SECURE), as glibc's secure_getenv
 * and its own MALLOC_ knobs: whoever starts it must not turn on the debug
 * heap's costs or debuginfod's downloads (RCGC_DEBUGINFOD) in it. */
const char *rc__getenv(const char *name) {
    return getauxval(AT_SECURE) ? NULL : getenv(name);
}

/* A request to malloc for size bytes, rounded up to the grain (SIZE_MAX
 * when that overflows, which malloc refuses): malloc owes 16-byte
 * alignment only to a request that a 16-byte aligned object could fit in
 * (C17 7.22.3), and jemalloc, mimalloc or tcmalloc, linked or preloaded in
 * place of glibc's, answer smaller ones with 8. */
static size_t malloc_size(size_t size) {
    if (size > SIZE_MAX - (RC_GRAIN - 1))
        return SIZE_MAX;
    return (size + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1);
}

/* The default rc_alloc_fn: realloc/free, with lua_Alloc's contract. */
static void *default_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, malloc_size(new_size));
}

/* Aborts, naming it, when rc_alloc_fn gave memory that is not 16-byte
 * aligned (h NULL: the heap's own struct): objects and blocks made in it
 * would not be, which the contract promises. */
static void check_aligned(rc_heap *h, const void *p) {
    if (RC_UNLIKELY((uintptr_t)p % RC_GRAIN != 0))
        rc__fatal_ptr(h, "rc_alloc_fn", "returned memory not 16-byte aligned", p);
}

/* Every byte the heap holds passes here (or through rc__sys_alloc_zeroed),
 * so bytes_reserved is exact. On failure returns NULL, sets ENOMEM and
 * leaves ptr as it was. */
void *rc__sys_alloc(rc_heap *h, void *ptr, size_t old_size, size_t new_size) {
    void *p = h->alloc(h->ud, ptr, ptr ? old_size : 0, new_size);
    if (p == NULL && rc__held_release(h)) /* held dead objects go back first */
        p = h->alloc(h->ud, ptr, ptr ? old_size : 0, new_size);
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    check_aligned(h, p);
    h->bytes_reserved += new_size - (ptr ? old_size : 0);
    return p;
}

/* rc__sys_alloc of size zeroed bytes. The default allocator's calloc knows
 * which memory the system gave it zeroed (fresh pages): a big zeroed block
 * costs neither the time of a memset nor resident pages until touched. */
void *rc__sys_alloc_zeroed(rc_heap *h, size_t size) {
    if (h->alloc != default_alloc) {
        void *p = rc__sys_alloc(h, NULL, 0, size);
        if (p)
            memset(p, 0, size);
        return p;
    }
    void *p = calloc(1, malloc_size(size));
    if (p == NULL && rc__held_release(h))
        p = calloc(1, malloc_size(size));
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    h->bytes_reserved += size;
    return p;
}

void rc__sys_free(rc_heap *h, void *ptr, size_t size) {
    if (ptr == NULL)
        return;
    h->alloc(h->ud, ptr, size, 0);
    h->bytes_reserved -= size;
}

/* A default heap (rc_heap_new) maps its arenas itself (mmap), aligned to a
 * huge page where the address space allows (map_arena), so that each arena
 * is two whole ones, advised MADV_HUGEPAGE
 * but for the first 2 MiB of the heap's first arena, and unmaps them at
 * rc_heap_free: the advice goes with them. From posix_memalign it stayed
 * on memory that jemalloc or mimalloc, in place of glibc's malloc, keep
 * and hand to the program's own allocations. A
 * collection walks every tracked object and a churn touches blocks all
 * over the live heap: with 4 KiB pages each few dozen objects cost a TLB
 * miss, which huge pages all but remove (full collections of a million
 * objects ran in 0.74x-0.80x the time, a churn with 100k live blocks
 * 0.87x). An arena's pools are carved from its start, so a heap of less
 * than 2 MiB of pools touches no more pages than before. An arena that
 * empties is retired, not freed (retire_arena).
 * RCGC_HUGEPAGES=0 in the environment leaves every arena unadvised. */
#define HUGE_PAGE ((size_t)2 << 20)
_Static_assert(RC_ARENA_SIZE % HUGE_PAGE == 0, "an arena is whole huge pages");

/* RC_ARENA_SIZE bytes of new pages aligned to a huge page: a mapping one
 * huge page longer, its ends cut off; where the system refuses that
 * (RLIMIT_AS nearly reached) the arena alone, page-aligned, as arenas from
 * an rc_alloc_fn are. NULL when it refuses that too. */
static void *map_arena(void) {
    size_t len = RC_ARENA_SIZE + HUGE_PAGE;
    char *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (map == MAP_FAILED) {
        map = mmap(NULL, RC_ARENA_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        return map == MAP_FAILED ? NULL : map;
    }
    char *base = (char *)(((uintptr_t)map + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1));
    if (base > map)
        munmap(map, (size_t)(base - map));
    if (base + RC_ARENA_SIZE < map + len)
        munmap(base + RC_ARENA_SIZE, (size_t)(map + len - (base + RC_ARENA_SIZE)));
    return base;
}

/* The arenas of default heaps that rc_heap_free ended, kept mapped for the
 * process's next heaps: a heap made and freed with one object in it took
 * 7.7 us (its arena's mmap and munmap, and the page faults of its first
 * pages), 0.6 us with an arena from here (a program that makes a heap per
 * request). At most ARENA_CACHE, each resident in its first huge page at
 * most (the rest is given back as it goes in: the cache holds 8 MiB at
 * most). An arena's memory is as its last heap left it, which is no
 * promise broken: as with malloc, a freed heap's memory may be the next
 * one's (objects are zeroed as they are made; pool headers were, as the
 * arena went). Each is taken only for the huge-page advice it has
 * (arena_advice), kept in its slot's low bits. Slots are taken and filled
 * by atomic exchanges, from any thread, with no lock to hold at a fork. */
#define ARENA_CACHE 4
static _Atomic uintptr_t arena_cache[ARENA_CACHE];

/* The advice an arena of h gets (see the comment above HUGE_PAGE): 0 none, 1 all
 * of it, 2 all but its first huge page (a heap's first arena). */
static uintptr_t arena_advice(const rc_heap *h, bool more) {
    return !h->huge_pages ? 0 : more ? 1 : 2;
}

/* An arena from the cache with that advice, or NULL. */
static void *cached_arena(uintptr_t advice) {
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        uintptr_t v = atomic_load_explicit(&arena_cache[i], memory_order_relaxed);
        if (v && (v & 3) == advice &&
            atomic_compare_exchange_strong_explicit(&arena_cache[i], &v, 0, memory_order_acquire,
                                                    memory_order_relaxed))
            return (void *)(v & ~(uintptr_t)3);
    }
    return NULL;
}

/* Puts the arena at base, with that advice, in the cache, its pages past
 * `touched` bytes (where no pool was carved) untouched or given back;
 * false when the cache is full (or the pages could not be given back). */
static bool cache_arena(void *base, size_t touched, uintptr_t advice) {
    unsigned i = 0;
    while (i < ARENA_CACHE && atomic_load_explicit(&arena_cache[i], memory_order_relaxed))
        i++;
    if (i == ARENA_CACHE)
        return false;
    if (touched > HUGE_PAGE &&
        madvise((char *)base + HUGE_PAGE, RC_ARENA_SIZE - HUGE_PAGE, MADV_DONTNEED) != 0)
        return false;
    rc_mem_dead(base, RC_ARENA_SIZE); /* a stale pointer's use is ASan's or Valgrind's report */
    for (; i < ARENA_CACHE; i++) {
        uintptr_t none = 0;
        if (atomic_compare_exchange_strong_explicit(&arena_cache[i], &none,
                                                    (uintptr_t)base | advice,
                                                    memory_order_release, memory_order_relaxed))
            return true;
    }
    return false;
}

/* The cache goes with the library (a dlclose of librcgc.so, or the
 * process's exit): its arenas are unmapped. */
__attribute__((destructor)) static void arena_cache_drop(void) {
    for (unsigned i = 0; i < ARENA_CACHE; i++) {
        uintptr_t v = atomic_exchange_explicit(&arena_cache[i], 0, memory_order_acquire);
        if (v)
            munmap((void *)(v & ~(uintptr_t)3), RC_ARENA_SIZE);
    }
}

/* An arena's RC_ARENA_SIZE bytes, counted in bytes_reserved; `more`: the
 * heap has an arena already. NULL + ENOMEM. */
void *rc__sys_arena_alloc(rc_heap *h, bool more) {
    if (h->alloc != default_alloc)
        return rc__sys_alloc(h, NULL, 0, RC_ARENA_SIZE);
    if (h->nretired) { /* its pages come back zeroed as they are touched */
        h->bytes_reserved += RC_ARENA_SIZE;
        return h->retired[--h->nretired];
    }
    void *base = cached_arena(arena_advice(h, more));
    if (base) {
        h->bytes_reserved += RC_ARENA_SIZE;
        return base;
    }
    base = map_arena();
    if (base == NULL && (!rc__held_release(h) || (base = map_arena()) == NULL)) {
        errno = ENOMEM;
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    size_t small = more ? 0 : HUGE_PAGE; /* a small heap's pools (arena_advice) */
    if (h->huge_pages) /* advice only: failing changes nothing */
        (void)madvise((char *)base + small, RC_ARENA_SIZE - small, MADV_HUGEPAGE);
#else
    (void)more;
#endif
    h->bytes_reserved += RC_ARENA_SIZE;
    return base;
}

/* Keeps an emptied arena of a default heap mapped, its pages given back
 * (MADV_DONTNEED: they read as zeros from now on), so that a stale
 * rc_decref or rc_incref of an object that lived there reads a count of
 * zero and is named, where munmap would have made the read fault. The
 * next arena the heap needs is one of these. False when it cannot be kept
 * (no room to note it: unmapped instead). */
static bool retire_arena(rc_heap *h, void *base) {
    if (h->nretired == h->retired_cap) {
        size_t cap = h->retired_cap ? 2 * h->retired_cap : 8;
        void **grown = rc__sys_alloc(h, h->retired, h->retired_cap * sizeof *grown,
                                     cap * sizeof *grown);
        if (grown == NULL)
            return false;
        h->retired = grown;
        h->retired_cap = cap;
    }
    if (madvise(base, RC_ARENA_SIZE, MADV_DONTNEED) != 0)
        return false;
    h->retired[h->nretired++] = base;
    return true;
}

/* Gives back an arena rc__sys_arena_alloc made (`more` as it was asked
 * with), whose first `touched` bytes pools were carved in: at
 * rc_heap_free to the cache of arenas, or to the system; else retired
 * (above). Either way it leaves bytes_reserved: a retired arena holds no
 * memory. */
void rc__sys_arena_free(rc_heap *h, void *base, size_t touched, bool more) {
    if (h->alloc != default_alloc) {
        rc__sys_free(h, base, RC_ARENA_SIZE);
        return;
    }
    if (h->freeing ? !cache_arena(base, touched, arena_advice(h, more)) : !retire_arena(h, base))
        munmap(base, RC_ARENA_SIZE);
    h->bytes_reserved -= RC_ARENA_SIZE;
}

/* rc_heap_free's end of the retired arenas. */
static void free_retired_arenas(rc_heap *h) {
    while (h->nretired)
        munmap(h->retired[--h->nretired], RC_ARENA_SIZE);
    rc__sys_free(h, h->retired, h->retired_cap * sizeof *h->retired);
}

/* ------------------------------------------------------------ pointer maps */

/* Rehashes into a table of new_cap slots; -1 + ENOMEM leaves m unchanged. */
static int map_resize(rc_heap *h, rc_ptrmap *m, size_t new_cap) {
    rc_ptrmap_slot *slots = rc__sys_alloc(h, NULL, 0, new_cap * sizeof *slots);
    if (slots == NULL)
        return -1;
    memset(slots, 0, new_cap * sizeof *slots);
    rc_ptrmap bigger = {slots, new_cap - 1, 0, m->sparse};
    for (size_t i = 0; m->slots && i <= m->mask; i++) {
        if (m->slots[i].key == 0)
            continue;
        size_t j = rc_ptrmap_home(&bigger, m->slots[i].key);
        while (slots[j].key != 0)
            j = (j + 1) & bigger.mask;
        slots[j] = m->slots[i];
        bigger.count++;
    }
    rc__ptrmap_free(h, m);
    *m = bigger;
    return 0;
}

/* Grows m's table to at least `need` slots (rc_ptrmap_reserve: load <= 1/2,
 * or 1/4 if sparse). */
int rc__ptrmap_grow(rc_heap *h, rc_ptrmap *m, size_t need) {
    size_t new_cap = m->slots ? m->mask + 1 : 16;
    while (new_cap < need)
        new_cap *= 2;
    return map_resize(h, m, new_cap);
}

int rc__ptrmap_put(rc_heap *h, rc_ptrmap *m, uintptr_t key, void *val) {
    if (rc_ptrmap_reserve(h, m, 1) != 0)
        return -1;
    size_t i = rc_ptrmap_home(m, key);
    while (m->slots[i].key != 0 && m->slots[i].key != key)
        i = (i + 1) & m->mask;
    if (m->slots[i].key == 0)
        m->count++;
    m->slots[i] = (rc_ptrmap_slot){key, val};
    return 0;
}

/* Linear-probing removal with backward shift: no tombstones. */
void *rc__ptrmap_remove(rc_ptrmap *m, uintptr_t key) {
    if (m->count == 0)
        return NULL;
    size_t i = rc_ptrmap_home(m, key);
    while (m->slots[i].key != key) {
        if (m->slots[i].key == 0)
            return NULL;
        i = (i + 1) & m->mask;
    }
    void *old = m->slots[i].val;
    for (size_t j = (i + 1) & m->mask; m->slots[j].key != 0; j = (j + 1) & m->mask) {
        size_t home = rc_ptrmap_home(m, m->slots[j].key);
        /* Move j back to the hole at i unless its home lies in (i, j]. */
        bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
        if (!stays) {
            m->slots[i] = m->slots[j];
            i = j;
        }
    }
    m->slots[i].key = 0;
    m->count--;
    return old;
}

void rc__ptrmap_free(rc_heap *h, rc_ptrmap *m) {
    if (m->slots)
        rc__sys_free(h, m->slots, (m->mask + 1) * sizeof *m->slots);
    *m = (rc_ptrmap){.sparse = m->sparse};
}

/* ------------------------------------------------------------------ heaps */

rc_heap *rc_heap_new(void) { return rc_heap_new_with(default_alloc, NULL); }

rc_heap *rc_heap_new_with(rc_alloc_fn alloc, void *ud) {
    if (alloc == NULL) {
        errno = EINVAL;
        return NULL;
    }
    rc__mem_init();
    rc_heap *h = alloc(ud, NULL, 0, sizeof *h);
    if (h == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    check_aligned(NULL, h);
    memset(h, 0, sizeof *h);
    h->alloc = alloc;
    h->ud = ud;
    h->bytes_reserved = sizeof *h;
    h->trace_limit = 1;
    h->large.sparse = true;
    const char *dbg = rc__getenv("RCGC_DEBUG"), *huge = rc__getenv("RCGC_HUGEPAGES");
    h->debug = dbg != NULL && dbg[0] != '\0' && strcmp(dbg, "0") != 0;
    h->huge_pages = huge == NULL || strcmp(huge, "0") != 0;
    rc__pool_slots_reset(h);
    rc_slow_free_update(h);
    h->free_mark = ((uintptr_t)h * 0x9E3779B97F4A7C15u) ^ (uintptr_t)0xD1B54A32D192ED03u;
    h->free_mark |= (uintptr_t)1 << 63; /* past RC_LARGE_MAX: see rc_is_large */
    for (unsigned kind = 0; kind < RC_NKINDS; kind++)
        for (unsigned cls = 0; cls < RC_NCLASSES; cls++)
            h->classes[kind][cls] = &h->no_pool;
    for (unsigned kind = 0; kind < RC_NKINDS; kind++)
        for (unsigned m = 0; m < RC_NMEDIUM; m++)
            h->medium[kind][m] = &h->no_pool;
    rc__gc_init(h);
    atomic_fetch_add_explicit(&live_heaps, 1, memory_order_relaxed);
    return h;
}

void rc_heap_get_stats(const rc_heap *h, rc_heap_stats *out) {
    if (out == NULL)
        return;
    if (h == NULL) {
        *out = (rc_heap_stats){0, 0, 0, 0};
        return;
    }
    out->objects = h->objects;
    out->tracked = h->tracked;
    out->bytes_in_use = rc__bytes_in_use(h);
    out->bytes_reserved = h->bytes_reserved;
}

/* --------------------------------------------------------------- teardown */

typedef struct gather {
    void **objs;
    size_t n, cap;
    rc_heap *h;
} gather;

static void log_leak(void *obj, void *arg) {
    rc_heap *h = arg;
    rc__gc_logf(h, "gc: uncollectable <%s %p>", rc__type_name(h, obj), obj);
}

/* Collects live objects whose finalizer has not run, up to the array's room. */
static void gather_unfinalized(void *obj, void *arg) {
    gather *g = arg;
    rc_head *hd = rc_head_of(obj);
    if (g->n < g->cap && !(hd->info & RC_F_FINALIZED) && rc__type(g->h, hd)->finalize)
        g->objs[g->n++] = obj;
}

/* Runs the finalizer of every live object that has one and has not run it,
 * including objects the finalizers themselves create. Each finalizer runs
 * with a reference held, as in a normal death, and may drop the last one. */
static void finalize_survivors(rc_heap *h) {
    void *stack_objs[256];
    for (;;) {
        gather g = {stack_objs, 0, 256, h};
        size_t want = h->objects, bytes = want * sizeof(void *);
        void **big = want > 256 ? rc__sys_alloc(h, NULL, 0, bytes) : NULL;
        if (big) {
            g.objs = big;
            g.cap = want;
        }
        rc__each_object(h, gather_unfinalized, &g);
        for (size_t i = 0; i < g.n; i++)
            rc_incref(g.objs[i]);
        for (size_t i = 0; i < g.n; i++) {
            rc_head *hd = rc_head_of(g.objs[i]);
            if (!(hd->info & RC_F_FINALIZED)) {
                hd->info |= RC_F_FINALIZED;
                rc__type(h, hd)->finalize(g.objs[i]);
            }
        }
        for (size_t i = 0; i < g.n; i++)
            rc_decref(g.objs[i]);
        if (big)
            rc__sys_free(h, big, bytes);
        if (g.n == 0)
            return;
    }
}

/* Makes every object immortal so that the drops of release_one end none. */
static void make_immortal(void *obj, void *arg) {
    (void)arg;
    rc_head_of(obj)->refcnt = RC_IMMORTAL;
}

/* Drops an object's references (its clear, or each visited slot set to
 * NULL), then runs its release, once, as a death does. The drops end no
 * object of the heap: what was alive when the walk began is immortal, and
 * one made since (by a release) whose count they take to 0 is made
 * immortal then (h->dropping, dealloc_slow), for a later walk to release;
 * a reference into another heap is dropped for real and may end its
 * referent there. One made during the walk is made immortal here too:
 * released while mortal, it would be released again when its last
 * reference went. */
static void release_one(void *obj, void *arg) {
    rc_heap *h = arg;
    rc_head *hd = rc_head_of(obj);
    const rc_type *t = rc__type(h, hd);
    if (!(hd->info & RC_F_RELEASED)) {
        hd->info |= RC_F_RELEASED;
        hd->refcnt = RC_IMMORTAL;
        h->dropping = true;
        rc__drop_references(t, obj);
        h->dropping = false;
        if (t->release)
            t->release(obj);
    }
}

/* The bytes of blocks the heap has handed out, live or not. During teardown
 * a free gives nothing back (a pool block counts on in its pool's used, a
 * large one stays in the map and in large_bytes, each also in
 * pool_bytes_idle), so this grows exactly when something is made (a raw
 * block freed then and handed out again included: alloc.c,
 * teardown_free_raw). */
static size_t handed_out(const rc_heap *h) { return rc__bytes_in_use(h) + h->pool_bytes_idle; }

/* Releases every live object once. A clear or release may make objects,
 * which a walk misses when they land behind it, and a large block among
 * them can rehash the map of large blocks under the walk and hide some of
 * the others from it (2 of 100 releases were lost): the walks go again
 * until one makes nothing (a rehash comes only with a new large block;
 * release_one skips those done), each making what is alive immortal
 * first, objects made since the last walk too. */
static void release_all(rc_heap *h) {
    size_t made;
    do {
        made = handed_out(h);
        rc__each_object(h, make_immortal, NULL);
        rc__each_object(h, release_one, h);
    } while (handed_out(h) != made);
}

size_t rc_heap_free(rc_heap *h) {
    if (h == NULL)
        return 0;
    if (h->dealloc_depth) /* from a finalizer, clear or release of a dying object */
        rc__fatal_ptr(NULL, "rc_heap_free", "called during a death in the heap", h);
    rc__gc_check_idle(h, "rc_heap_free");
    if (h->freeing) /* from a finalizer or release it runs */
        rc__fatal_ptr(NULL, "rc_heap_free", "called during rc_heap_free of the heap", h);
    if (h->in_trace_provider) /* the allocation being traced would go on in a freed heap */
        rc__fatal_ptr(NULL, "rc_heap_free", "called from the frame provider", h);
    h->freeing = true;
    rc_gc_collect(h, 2);
    size_t leaks = h->objects;
    if (leaks && (h->gc.debug & RC_GC_DEBUG_UNCOLLECTABLE))
        rc__each_object(h, log_leak, h);
    finalize_survivors(h);
    h->dying = true;
    h->last_type = NULL; /* what it makes is never plain (object.c, type_info) */
    rc_slow_free_update(h);
    release_all(h);
    rc__weakref_fini(h);
    if (h->tracer)
        rc__tracer_fini(h);
    rc__gc_fini(h);
    rc__alloc_release_all(h);
    free_retired_arenas(h);
    rc__ptrmap_free(h, &h->type_index);
    rc__sys_free(h, h->types, h->types_cap * sizeof *h->types);
    if (h->untracked_stack != h->untracked_first)
        rc__sys_free(h, h->untracked_stack, h->untracked_stack_cap * sizeof *h->untracked_stack);
    rc_alloc_fn alloc = h->alloc;
    alloc(h->ud, h, sizeof *h, 0);
    atomic_fetch_sub_explicit(&live_heaps, 1, memory_order_relaxed);
    return leaks;
}

/* ------------------------------------------------------------ numbers */

/* The "C" numeric locale, made once; (locale_t)0 if it cannot be (glibc
 * hands out its static C locale without allocating). */
static locale_t c_numeric(void) {
    static _Atomic(locale_t) made;
    locale_t l = atomic_load_explicit(&made, memory_order_acquire);
    if (l == (locale_t)0) {
        locale_t fresh = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0), none = (locale_t)0;
        if (fresh == (locale_t)0)
            return fresh;
        if (atomic_compare_exchange_strong_explicit(&made, &none, fresh, memory_order_acq_rel,
                                                    memory_order_acquire))
            l = fresh;
        else {
            freelocale(fresh);
            l = none;
        }
    }
    return l;
}

int rc__snprintf_c(char *buf, size_t len, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = rc__vsnprintf_c(buf, len, fmt, ap);
    va_end(ap);
    return n;
}

int rc__vsnprintf_c(char *buf, size_t len, const char *fmt, va_list ap) {
    locale_t c = c_numeric();
    locale_t old = c ? uselocale(c) : (locale_t)0;
    int n = vsnprintf(buf, len, fmt, ap);
    if (c)
        uselocale(old);
    return n;
}
