/*
 * object.c — objects: creation, reference counts, and destruction.
 *
 * Destruction order (the spec's): the finalizer, at most once, with the
 * object briefly alive again (it may resurrect it); then its weak
 * references are cleared and their callbacks run; then its references are
 * dropped (clear, or every slot traverse visits); then release; then the
 * memory goes back to its pool.
 *
 * Deaths do not recurse without bound: past RC_DEALLOC_DEPTH nested deaths
 * a dying tracked object is put on h->deferred (linked through its free
 * rc_gchead), an untracked one whose death runs code that may drop
 * references (a holder, whose type has clear, finalize or release, or one
 * with weak references, whose callbacks run: rc_untracked_may_nest) on
 * h->untracked_stack, which has a slot for every live such object, and
 * destroyed when the outermost death returns, so a chain of ten million
 * nodes dies in constant stack, whatever links it, and no death asks for
 * memory.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------------- misuse */

static _Noreturn void report(const char *call, const char *what, const char *type, const void *p,
                   rc_heap *h) {
    char site[512] = "";
    if (h && h->tracer)
        rc__trace_describe(h, p, site, sizeof site);
    if (type)
        fprintf(stderr, "rcgc: fatal: %s %s <%s %p>%s\n", call, what, type, p, site);
    else
        fprintf(stderr, "rcgc: fatal: %s %s (%p)%s\n", call, what, p, site);
    fflush(stderr);
    abort();
}

void rc__fatal_raw(const char *call, const void *obj) {
    rc_heap *h = rc_raw_block_heap(obj);
    if (rc_is_large(obj)) {
        /* freed, its head held back (or by RCGC_DEBUG's quarantine) */
        if (rc_ptrmap_get(&h->large, (uintptr_t)obj) == NULL)
            report(call, "of a block already freed", NULL, obj, h);
    } else {
        const rc_pool *p = rc_pool_of(obj);
        if (!rc__pool_payload_at(p, obj))
            report(call, "of a dead object", NULL, obj, h);
        /* freed (a traced one's false count is its free mark's 0) */
        if (!rc__pool_block_live(h, p, (const char *)obj - RC_OBJ_OFFSET(p->kind)))
            report(call, "of a block already freed", NULL, obj, h);
    }
    report(call, "of an rc_malloc block (use rc_free)", NULL, obj, h);
}

void rc__fatal(const char *call, const char *what, const void *obj) {
    /* first: a small one's header is false, rc_obj_heap would follow it */
    if (rc_is_raw_block(obj))
        rc__fatal_raw(call, obj);
    rc_heap *h = rc_obj_heap(obj);
    if (h == NULL) /* in an arena that emptied and went back: all zeros */
        report(call, "of a dead object", NULL, obj, NULL);
    report(call, what, rc__type_name(h, obj), obj, h);
}

void rc__fatal_ptr(rc_heap *h, const char *call, const char *what, const void *ptr) {
    report(call, what, NULL, ptr, h);
}

/* ---------------------------------------------------------------- types */

const rc_type *rc__type(const rc_heap *h, const rc_head *head) {
    return h->types[head->info >> RC_TYPE_SHIFT];
}

/* The name reports show for obj's type ("object" when it has none). Safe
 * on a dead object whose header is still readable. */
const char *rc__type_name(const rc_heap *h, const void *obj) {
    uint32_t idx = rc_head_of(obj)->info >> RC_TYPE_SHIFT;
    const char *name = idx < h->ntypes ? h->types[idx]->name : NULL;
    return name ? name : "object";
}

/* Whether an object with this rc_head.info is a holder: untracked, yet
 * its death runs code (clear, finalize, release) that may drop references
 * (see untracked_stack). Read from info, not from the type: what
 * rc_heap_free's teardown makes is never plain (type_info), and creation,
 * death and rc_untracked_may_nest must agree on each object. */
static inline bool is_holder(uint32_t info) { return !(info & (RC_F_GC | RC_F_PLAIN)); }

/* The rc_head.info of a new object of type t: its index in the heap's
 * table (registered on first use), RC_F_GC when the type has traverse,
 * RC_F_PLAIN when it has no finalize, clear or release, and the heap is
 * not being torn down: the drops of rc_heap_free end no object (heap.c,
 * release_one), and a plain death would take rc__dealloc's fast path,
 * which does not look (what the teardown makes is never plain instead:
 * rc_heap_free forgets last_type). -1 + ENOMEM. type_info_of below
 * answers for the type used last without a call. */
static __attribute__((noinline)) int64_t type_info(rc_heap *h, const rc_type *t) {
    uintptr_t v = (uintptr_t)rc_ptrmap_get(&h->type_index, (uintptr_t)t);
    if (v == 0) {
        if (h->ntypes == h->types_cap) {
            uint32_t cap = h->types_cap ? h->types_cap * 2 : 16;
            if (cap > (1u << (32 - RC_TYPE_SHIFT))) {
                errno = ENOMEM;
                return -1;
            }
            const rc_type **types = rc__sys_alloc(h, (void *)h->types, h->types_cap * sizeof *types,
                                                  cap * sizeof *types);
            if (types == NULL)
                return -1;
            h->types = types;
            h->types_cap = cap;
        }
        if (rc__ptrmap_put(h, &h->type_index, (uintptr_t)t, (void *)(uintptr_t)(h->ntypes + 1)))
            return -1;
        h->types[h->ntypes] = t;
        v = ++h->ntypes;
    }
    uint32_t info = (uint32_t)(v - 1) << RC_TYPE_SHIFT | h->gc.epoch;
    if (t->traverse)
        info |= RC_F_GC;
    if (!t->finalize && !t->clear && !t->release && !h->dying)
        info |= RC_F_PLAIN;
    h->last_type = t;
    h->last_info = info;
    return info;
}

static inline int64_t type_info_of(rc_heap *h, const rc_type *t) {
    return RC_LIKELY(t == h->last_type) ? h->last_info : type_info(h, t);
}

/* ------------------------------------------------------------- creation */

/* Zeroes the n bytes of a small object from p to the end of its block: an
 * odd number of words, as blocks are multiples of 16 bytes and both
 * headers 8 mod 16. GCC turns memset with a run-time size into `rep stos`,
 * whose start-up cost was a third of a small object's creation; plain
 * stores are cheaper at this size (the empty asm keeps the loop from
 * becoming that memset again). */
static inline void zero_words(void *p, size_t n) {
    uint64_t *w = p;
    w[0] = 0;
    for (size_t i = 1; i < n / 8; i += 2) {
        w[i] = 0;
        w[i + 1] = 0;
        __asm__("");
    }
}

/* Turns a block of block_size bytes into a new object of `kind` (a
 * constant at each call site): zeroed, count 1, rc_head.info, counted. */
static inline void *init_object(rc_heap *h, char *block, size_t block_size, uint32_t info,
                                unsigned kind) {
    char *obj = block + RC_OBJ_OFFSET(kind);
    if (block_size > RC_SMALL_MAX) /* medium: `rep stos` pays */
        memset(obj, 0, block_size - RC_OBJ_OFFSET(kind));
    else
        zero_words(obj, block_size - RC_OBJ_OFFSET(kind));
    rc_head *hd = rc_head_of(obj);
    hd->refcnt = 1;
    hd->info = info;
    h->objects++;
    h->tracked += kind == RC_KIND_GC;
    return obj;
}

/* The block size of a small object of `size` bytes and `kind` (its
 * header and size rounded to 16; rc_class_block rounds a medium one's
 * further, to its class). */
static inline size_t object_block_size(size_t size, unsigned kind) {
    return (size + RC_OBJ_OFFSET(kind) + RC_GRAIN - 1) & ~(size_t)(RC_GRAIN - 1);
}

/* Where a traced creation was called from (rc_new_at's arguments). */
typedef struct call_site {
    const char *file;
    int line;
    const char *func;
} call_site;

static inline void free_object(rc_heap *h, void *obj);

/* An object of `kind` whose rc_head.info is info, by every path: pool slow
 * paths, large blocks, an automatic collection. With a call site, traced
 * before it joins generation 0, as CPython traces the memory before
 * _PyObject_GC_Link counts it (and may collect); if the trace cannot be
 * stored, the object goes back unseen and the creation fails (ENOMEM). */
static void *new_of_kind(rc_heap *h, uint32_t info, size_t size, unsigned kind,
                         const call_site *traced) {
    char *obj;
    if (size <= RC_MEDIUM_MAX - RC_OBJ_OFFSET(kind)) {
        size_t bs = rc_class_block(object_block_size(size, kind));
        char *block = bs <= RC_SMALL_MAX ? rc_pool_alloc(h, kind, bs)
                                         : rc__class_alloc(h, kind, bs); /* medium */
        if (block == NULL)
            return NULL;
        obj = init_object(h, block, bs, info, kind);
    } else {
        if ((obj = rc__large_alloc(h, size, info, true)) == NULL)
            return NULL;
        h->objects++;
        h->tracked += kind == RC_KIND_GC;
    }
    if (traced && rc__trace_alloc(h, obj, size, traced->file, traced->line, traced->func) < 0) {
        h->gc.gen[0].count += kind == RC_KIND_GC; /* free_object takes back a link's count */
        free_object(h, obj);
        errno = ENOMEM;
        return NULL;
    }
    if (kind == RC_KIND_GC)
        rc_gc_link(h, rc_gc_of(obj));
    return obj;
}

/* Makes room for one more slot in the stack of untracked deaths waiting,
 * doubling it when full (its first slots are in the heap, the rest from
 * rc_alloc_fn); false + ENOMEM when it cannot. */
bool rc__untracked_room(rc_heap *h) {
    if (h->untracked_holders < h->untracked_stack_cap)
        return true;
    if (h->untracked_stack == NULL) {
        h->untracked_stack = h->untracked_first;
        h->untracked_stack_cap = RC_UNTRACKED_FIRST;
        return true;
    }
    bool first = h->untracked_stack == h->untracked_first;
    size_t cap = 2 * h->untracked_stack_cap, old = first ? 0 : h->untracked_stack_cap;
    void **grown = rc__sys_alloc(h, first ? NULL : h->untracked_stack, old * sizeof *grown,
                                 cap * sizeof *grown);
    if (grown == NULL)
        return false;
    if (first)
        memcpy(grown, h->untracked_first, sizeof h->untracked_first);
    h->untracked_stack = grown;
    h->untracked_stack_cap = cap;
    return true;
}

/* An object by every path (out of line: new_fast is the common case),
 * traced when there is a call site (see new_of_kind). */
static __attribute__((noinline)) void *new_object(rc_heap *h, const rc_type *type, size_t size,
                                                  const call_site *traced) {
    if (h == NULL || type == NULL || size == 0) {
        errno = EINVAL;
        return NULL;
    }
    int64_t info = type_info_of(h, type);
    if (info < 0)
        return NULL;
    if (info & RC_F_GC)
        return new_of_kind(h, (uint32_t)info, size, RC_KIND_GC, traced);
    if (is_holder((uint32_t)info) && !rc__untracked_room(h))
        return NULL;
    void *obj = new_of_kind(h, (uint32_t)info, size, RC_KIND_PLAIN, traced);
    h->untracked_holders += obj && is_holder((uint32_t)info);
    return obj;
}

/* The common creation: a small object of the type made last, its pool's
 * head has a block, no collection is due, a holder's slot is free. NULL,
 * with nothing changed, when any of that does not hold. Inlined into each
 * creation call; nothing it calls is out of line, so it saves no
 * registers. */
static inline void *new_fast_of_kind(rc_heap *h, uint32_t info, size_t size, unsigned kind) {
    if (size - 1 >= RC_SMALL_MAX - RC_OBJ_OFFSET(kind)) /* 0 or large */
        return NULL;
    if (kind == RC_KIND_GC && rc_gc_due(h))
        return NULL;
    bool holder = kind == RC_KIND_PLAIN && is_holder(info); /* folds away for tracked kinds */
    if (holder && h->untracked_holders == h->untracked_stack_cap)
        return NULL; /* new_object makes room */
    size_t bs = object_block_size(size, kind);
    char *block = rc_pool_take(h, kind, bs, true);
    if (RC_UNLIKELY(block == NULL))
        return NULL;
    void *obj = init_object(h, block, bs, info, kind);
    if (kind == RC_KIND_GC)
        rc_gc_link_quiet(h, rc_gc_of(obj));
    h->untracked_holders += holder;
    return obj;
}

static inline void *new_fast(rc_heap *h, const rc_type *type, size_t size) {
    if (h == NULL || type != h->last_type || type == NULL)
        return NULL;
    uint32_t info = h->last_info;
    if (info & RC_F_GC)
        return new_fast_of_kind(h, info, size, RC_KIND_GC);
    return new_fast_of_kind(h, info, size, RC_KIND_PLAIN);
}

/* An object while tracing, out of line so that the untraced path does not
 * keep the call site alive across the creation. */
static __attribute__((noinline)) void *new_traced(rc_heap *h, const rc_type *type, size_t size,
                                                  const char *file, int line, const char *func) {
    return new_object(h, type, size, &(call_site){file, line, func});
}

/* Every creation call: the one predictable branch tracing costs when off. */
static inline void *create(rc_heap *h, const rc_type *type, size_t size, const char *file,
                           int line, const char *func) {
    if (RC_UNLIKELY(h != NULL && h->tracer != NULL))
        return new_traced(h, type, size, file, line, func);
    void *obj = new_fast(h, type, size);
    return RC_LIKELY(obj != NULL) ? obj : new_object(h, type, size, NULL);
}

void *rc_new_sized_at(rc_heap *h, const rc_type *type, size_t size, const char *file,
                      int line, const char *func) {
    return create(h, type, size, file, line, func);
}

RC_HOT void *rc_new_at(rc_heap *h, const rc_type *type, const char *file, int line,
                        const char *func) {
    return create(h, type, type ? type->size : 0, file, line, func);
}

#undef rc_new
#undef rc_new_sized
void *rc_new(rc_heap *h, const rc_type *type) {
    return create(h, type, type ? type->size : 0, NULL, 0, NULL);
}
void *rc_new_sized(rc_heap *h, const rc_type *type, size_t size) {
    return create(h, type, size, NULL, 0, NULL);
}

/* ------------------------------------------------------------ inspection */

/* A NULL object: NULL, or 0. A freed one is named (rc_check_not_freed). */

const rc_type *rc_type_of(const void *obj) {
    if (obj == NULL)
        return NULL;
    rc_check_not_freed(obj, "rc_type_of");
    return rc__type(rc_obj_heap(obj), rc_head_of(obj));
}

rc_heap *rc_heap_of(const void *obj) {
    if (obj == NULL)
        return NULL;
    rc_check_not_freed(obj, "rc_heap_of");
    return rc_obj_heap(obj);
}

size_t rc_sizeof(const void *obj) {
    if (obj == NULL)
        return 0;
    rc_check_not_freed(obj, "rc_sizeof");
    const rc_head *hd = rc_head_of(obj);
    return (hd->info & RC_F_LARGE) ? rc_large_of(obj)->total : rc_pool_of(obj)->block_size;
}

size_t rc_refcount(const void *obj) { return obj ? rc_head_of(obj)->refcnt : 0; }

/* ------------------------------------------------------------ counting */

void *rc_incref(void *obj) {
    if (obj) {
        rc_head *hd = rc_head_of(obj);
        uint32_t c = hd->refcnt;
        if (RC_UNLIKELY(c == 0))
            rc__fatal("rc_incref", "of a dead object", obj);
        hd->refcnt = c + (c != RC_IMMORTAL);
    }
    return obj;
}

void rc_decref(void *obj) {
    if (obj == NULL)
        return;
    rc_head *hd = rc_head_of(obj);
    uint32_t c = hd->refcnt;
    if (RC_LIKELY(c - 2u < RC_IMMORTAL - 2u)) {
        hd->refcnt = c - 1;
    } else if (c == 1) {
        hd->refcnt = 0;
        rc__dealloc(obj);
    } else if (c == 0) {
        rc__fatal("rc_decref", (hd->info & RC_F_DEAD) ? "of a dead object"
                                                       : "below zero", obj);
    }
    /* c == RC_IMMORTAL: saturated, the object never dies. */
}

/* ---------------------------------------------------------- destruction */

RC_HOT static void visit_drop(void **slot, void *arg) {
    (void)arg;
    void *o = *slot;
    if (o) {
        *slot = NULL;
        rc_decref(o);
    }
}

void rc__drop_references(const rc_type *t, void *obj) {
    if (t->clear)
        t->clear(obj);
    else if (t->traverse)
        t->traverse(obj, visit_drop, NULL);
}

/* Runs the finalizer of a dying object with the object alive again; true
 * when the finalizer resurrected it (stored a new reference somewhere). As
 * CPython's subtype_dealloc does, a tracked object first moves to the end
 * of generation 0 (without counting as an allocation), so a resurrected
 * object is young again and a frozen one leaves the permanent generation. */
static bool finalize_dying(rc_heap *h, const rc_type *t, void *obj) {
    rc_head *hd = rc_head_of(obj);
    if (hd->info & RC_F_GC) {
        rc_gc_unlink(rc_gc_of(obj));
        rc_gc_retrack(h, rc_gc_of(obj));
    }
    hd->info |= RC_F_FINALIZED;
    hd->refcnt = 1;
    rc_finalizing f = {obj, h->finalizing};
    h->finalizing = &f;
    t->finalize(obj);
    h->finalizing = f.outer;
    return --hd->refcnt != 0;
}

/* A dead object (gc: tracked) leaves the heap's figures and count0, as
 * CPython's gc_dealloc lowers it; its rc_head says dead until the block is
 * reused. */
static inline void count_death(rc_heap *h, rc_head *hd, bool gc) {
    h->objects--;
    if (gc) {
        h->tracked--;
        h->gc.gen[0].count -= h->gc.gen[0].count > 0;
    }
    hd->refcnt = 0;
    hd->info |= RC_F_DEAD;
}

/* Gives the memory of a dead object in pool p back (gc: it is tracked).
 * While tracing, its trace ends in rc_pool_free's slow path. */
static inline void free_pool_object(rc_heap *h, rc_pool *p, void *obj, bool gc) {
    count_death(h, rc_head_of(obj), gc);
    if (gc)
        rc_pool_free_in(h, p, RC_KIND_GC, (char *)obj - RC_GC_HEAD_SIZE);
    else
        rc_pool_free_in(h, p, RC_KIND_PLAIN, (char *)obj - RC_HEAD_SIZE);
}

/* Gives any dead object's memory back. */
static inline void free_object(rc_heap *h, void *obj) {
    rc_head *hd = rc_head_of(obj);
    if (hd->info & RC_F_LARGE) {
        count_death(h, hd, (hd->info & RC_F_GC) != 0);
        rc__large_free(h, obj, h->tracer ? rc__trace_free(h, obj) : 0);
    } else {
        free_pool_object(h, rc_pool_of(obj), obj, (hd->info & RC_F_GC) != 0);
    }
}

/* The collector's sweep (gc.c, sweep_garbage): obj, plain garbage whose
 * references now point only to garbage or to nothing, and that no list
 * holds any more, or an untracked plain object only garbage held, dies
 * without a word to its neighbours. */
void rc__free_swept(rc_heap *h, void *obj) {
    free_object(h, obj);
}

/* The whole death of an object whose count reached zero, in the spec's
 * order. Always inline: left to itself GCC stopped inlining it into
 * dealloc_slow's two call sites once it grew, which cost a call per death. */
static inline __attribute__((always_inline)) void destroy(rc_heap *h, void *obj) {
    rc_head *hd = rc_head_of(obj);
    const rc_type *t = rc__type(h, hd);
    if (t->finalize && !(hd->info & RC_F_FINALIZED) && finalize_dying(h, t, obj))
        return;
    /* off its list before the callbacks, as CPython's subtype_dealloc: a
     * collection one runs must not examine it or count it as a survivor */
    if (hd->info & RC_F_GC)
        rc_gc_unlink(rc_gc_of(obj));
    /* The callbacks see a count of 0, as CPython's do: rc_weakref_get of
     * the object gives NULL, rc_incref of it is fatal. */
    if (hd->info & RC_F_WEAKREFS)
        rc__weakref_clear_on_death(h, obj);
    rc__drop_references(t, obj); /* an untracked type's clear runs too */
    if (t->release)
        t->release(obj);
    h->untracked_holders -= is_holder(hd->info);
    free_object(h, obj);
}

/* Puts h->untracked_mark on h->deferred: untracked deaths wait. */
static void defer_mark(rc_heap *h) {
    h->untracked_mark.next = (uintptr_t)h->deferred;
    h->deferred = &h->untracked_mark;
}

/* Destroys what deaths nested too deeply left waiting; called by the
 * outermost death, with dealloc_depth 1. Each dies one level down, as
 * CPython's _PyTrash_thread_destroy_chain counts itself before each
 * dealloc: under a death that waited, the next wait comes one death
 * sooner, so finalizers and callbacks run in CPython's order. */
static void destroy_deferred(rc_heap *h) {
    h->dealloc_depth++;
    while (h->deferred) {
        rc_gchead *g = h->deferred;
        h->deferred = (rc_gchead *)g->next;
        if (g == &h->untracked_mark) {
            void *obj = h->untracked_stack[--h->deferred_untracked];
            if (h->deferred_untracked)
                defer_mark(h);
            /* A plain one waited here for its weak references' callbacks;
             * those references all went meanwhile, and it kept its slot
             * (weakref.c's set_list), which it gives back now. */
            if (rc_untracked_plain(rc_head_of(obj)->info) &&
                !(rc_head_of(obj)->info & RC_F_WEAKREFS))
                h->untracked_holders--;
            destroy(h, obj);
        } else {
            g->next = 0;
            destroy(h, rc_obj_of_gc(g));
        }
    }
    h->dealloc_depth--;
}

/* Puts the holder obj, whose death nested too deeply, on the stack of
 * those waiting, in the slot it took when made (and h->untracked_mark on
 * h->deferred, so that the deaths' fast path tests one field). */
static void defer_untracked(rc_heap *h, void *obj) {
    if (h->deferred_untracked == 0)
        defer_mark(h);
    h->untracked_stack[h->deferred_untracked++] = obj;
}

/* Any death: past RC_DEALLOC_DEPTH nested deaths the object waits (tracked
 * on h->deferred, an untracked one whose death may run code on
 * h->untracked_stack: rc_untracked_may_nest; any other untracked object runs
 * nothing and drops no references, so its death goes no deeper); the
 * outermost death destroys what waits. An rc_malloc block handed to rc_decref is
 * named here: a large one's head says raw; a small one is seen when its
 * false header sends it here (the fast paths spend no test on it). */
static __attribute__((noinline)) void dealloc_slow(rc_heap *h, void *obj) {
    rc_head *hd = rc_head_of(obj);
    if (rc_is_raw_block(obj))
        rc__fatal_raw("rc_decref", obj);
    /* Its finalizer, running for this very death, dropped the reference
     * the death holds for it (a count below zero, CPython's "refcount is
     * too small"): the object would be freed under the finalizer, and
     * finalize_dying's own drop would wrap its dead count to immortal. */
    if (RC_UNLIKELY(h->finalizing != NULL) && (hd->info & RC_F_FINALIZED) &&
        rc_finalizing_has(h->finalizing, obj))
        rc__fatal("rc_decref", "below zero", obj);
    if (RC_UNLIKELY(h->dropping)) { /* rc_heap_free's drops end nothing (heap.c, release_one) */
        hd->refcnt = RC_IMMORTAL;
        return;
    }
    if (h->dealloc_depth >= RC_DEALLOC_DEPTH) {
        if (hd->info & RC_F_GC) {
            rc_gchead *g = rc_gc_of(obj);
            rc_gc_unlink(g);
            g->next = (uintptr_t)h->deferred;
            h->deferred = g;
            return;
        }
        if (rc_untracked_may_nest(hd->info)) {
            defer_untracked(h, obj);
            return;
        }
    }
    h->dealloc_depth++;
    destroy(h, obj);
    if (h->dealloc_depth == 1)
        destroy_deferred(h);
    h->dealloc_depth--;
}

/* The common death, kept short: a pool object of a plain type (RC_F_PLAIN)
 * with no weak references, not nested too deeply. Its death is destroy's
 * with nothing to run: unlinked, references dropped through traverse
 * (deaths they cause nest one deeper), memory freed. Anything else takes
 * dealloc_slow (every death during rc_heap_free's drops too: what the
 * teardown makes is never plain, see type_info). */
RC_HOT void rc__dealloc(void *obj) {
    uint32_t info = rc_head_of(obj)->info;
    if ((info & (RC_F_PLAIN | RC_F_WEAKREFS | RC_F_LARGE)) == RC_F_PLAIN) {
        rc_pool *p = rc_pool_of(obj);
        rc_heap *h = p->heap;
        if (!(info & RC_F_GC)) {
            free_pool_object(h, p, obj, false);
            return;
        }
        if (RC_LIKELY(h->dealloc_depth < RC_DEALLOC_DEPTH)) {
            rc_gc_unlink(rc_gc_of(obj));
            h->dealloc_depth++;
            h->types[info >> RC_TYPE_SHIFT]->traverse(obj, visit_drop, NULL);
            free_pool_object(h, p, obj, true);
            if (RC_UNLIKELY(h->deferred != NULL) && h->dealloc_depth == 1)
                destroy_deferred(h);
            h->dealloc_depth--;
            return;
        }
    }
    dealloc_slow(rc_obj_heap(obj), obj);
}
