/*
 * gc.c — the cycle collector: CPython 3.12's Modules/gcmodule.c for rc
 * objects. Reference counting frees everything except cycles; this finds
 * the cycles nobody outside them refers to, by trial deletion:
 *
 *   1. update_refs: copy each examined object's count into its gc_refs;
 *   2. subtract_refs: for every reference between examined objects, one
 *      less, so gc_refs is what the rest of the program holds;
 *   3. move_unreachable: what has gc_refs > 0, and all it reaches, is
 *      reachable; the rest moves to the unreachable list.
 *
 * Collections do steps 1 and 2 in one pass (update_and_subtract_refs),
 * which tells an examined object by the generation tag each tracked object
 * carries (RC_F_GEN); the separate passes examine the unreachable set again.
 * Often step 3 is a relink, or nothing (deduce_unreachable).
 *
 * Then, for the unreachable (PEP 442, CPython 3.12 order): weak references
 * to them are cleared and the callbacks of those that are not garbage
 * themselves run; finalizers run, each once per object; the set is examined
 * again and what a finalizer made reachable survives with all it reaches;
 * the rest has its references dropped (delete_garbage), which frees it.
 *
 * Objects live on circular lists threaded through their rc_gchead: three
 * generations and the permanent one (freeze). Every list operation is
 * intrusive, so a collection allocates nothing, except the garbage list that
 * RC_GC_DEBUG_SAVEALL fills and the sweep's list of doomed leaves, each grown
 * where failing is harmless.
 * The bits of rc_gchead used during a collection are described in
 * internal.h; whenever user code runs, every list is a valid doubly-linked
 * list, because any object may die then and unlink itself (but garbage whose
 * scan was skipped, of which none can die then: see deduce_unreachable).
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* ----------------------------------------------------------------- lists */

static inline rc_gchead *gc_next(const rc_gchead *g) { return (rc_gchead *)g->next; }
#define gc_prev rc_gc_prev
#define set_prev rc_gc_set_prev
static inline void *obj_of(const rc_gchead *g) { return rc_obj_of_gc(g); }
static inline rc_head *head_of(const rc_gchead *g) { return (rc_head *)(g + 1); }

/* The passes over a generation are chains of dependent loads, one cache
 * miss per object. Lists are mostly in allocation order, which pools make
 * address order, so the objects a few pages on are the ones needed soon:
 * asking for them early overlaps the misses (the simplest passes ran 2-3x
 * faster on a heap of a million objects). A wrong guess costs only bandwidth: a prefetch never faults. */
#define PREFETCH_DISTANCE 4096
static inline void prefetch_ahead(const rc_gchead *g) {
    __builtin_prefetch((const char *)g + PREFETCH_DISTANCE, 1);
}

/* The object after g in a walk, guessed: lists are mostly in address order
 * with one stride (a pool's block size), so the walk takes g + *stride
 * when g->next says the same. The processor goes on with the guess before
 * the load of next arrives, instead of waiting for it at every step (a
 * chain of dependent loads otherwise bounds a pass, even in cache). A
 * wrong guess costs a mispredicted branch and learns the new stride. The
 * guess is computed in integers (it may point past any object) and
 * compared as pointers: GCC replaces an integer by another it was found
 * equal to, which would undo the trick (young collections of
 * binary-trees: 10% slower with an integer comparison). Not used by the
 * fused pass and the sweep, whose far visits keep the memory system busy
 * anyway: there it measured slower (a dead random graph 1.08x). The light
 * pass, over heaps made parents first, uses it (binary-trees' full
 * collections 10% faster when it was written; GCC 12 now compiles that loop
 * to wait for next after all, and comparing a hidden xor instead, which
 * keeps the guess, measured no different in session 10). */
static inline rc_gchead *walk_next(const rc_gchead *g, uintptr_t *stride) {
    rc_gchead *next = gc_next(g), *guess = (rc_gchead *)((uintptr_t)g + *stride);
    if (RC_LIKELY(next == guess)) {
        __asm__("" : "+r"(guess)); /* or the compiler uses next, and waits */
        return guess;
    }
    *stride = (uintptr_t)next - (uintptr_t)g;
    return next;
}

static void list_init(rc_gchead *l) { l->next = l->prev = (uintptr_t)l; }
static bool list_is_empty(const rc_gchead *l) { return l->next == (uintptr_t)l; }

#define list_append rc_gc_list_append
#define list_remove rc_gc_list_remove

static void list_move(rc_gchead *node, rc_gchead *list) {
    rc_gchead *prev = gc_prev(node), *next = gc_next(node);
    prev->next = (uintptr_t)next;
    set_prev(next, prev);
    list_append(node, list);
}

/* Appends from's nodes to `to`; from becomes empty. */
static void list_merge(rc_gchead *from, rc_gchead *to) {
    if (!list_is_empty(from)) {
        rc_gchead *tail = gc_prev(to), *first = gc_next(from), *last = gc_prev(from);
        tail->next = (uintptr_t)first;
        set_prev(first, tail);
        last->next = (uintptr_t)to;
        to->prev = (uintptr_t)last;
    }
    list_init(from);
}

/* Moves the nodes of `from` that precede `until` (a node of from, or from
 * itself) to the end of `to`, in O(1). */
static void list_move_prefix(rc_gchead *from, rc_gchead *until, rc_gchead *to) {
    rc_gchead *first = gc_next(from);
    if (first == until)
        return;
    rc_gchead *last = gc_prev(until);
    from->next = (uintptr_t)until;
    set_prev(until, from);
    rc_gchead *tail = gc_prev(to);
    tail->next = (uintptr_t)first;
    set_prev(first, tail);
    last->next = (uintptr_t)to;
    to->prev = (uintptr_t)last;
}

static size_t list_size(const rc_gchead *l) {
    size_t n = 0;
    for (const rc_gchead *g = gc_next(l); g != l; g = gc_next(g))
        n++;
    return n;
}

/* --------------------------------------------------------------- gc_refs */

/* gc_refs is signed: the fused pass lets it dip below zero for a while. */
static inline intptr_t get_refs(const rc_gchead *g) {
    return (intptr_t)g->prev >> RC_GC_REFS_SHIFT;
}
static inline void set_refs(rc_gchead *g, intptr_t refs) {
    g->prev = (g->prev & RC_GC_PREV_FLAGS) | ((uintptr_t)refs << RC_GC_REFS_SHIFT);
}
static inline void set_collecting_refs(rc_gchead *g, intptr_t refs) {
    g->prev = ((uintptr_t)refs << RC_GC_REFS_SHIFT) | RC_GC_PREV_COLLECTING;
}
/* The prev of a root (turned, not RC_GC_PREV_REACHED) whose gc_refs is 1. */
#define ROOT_AT_ONE (((uintptr_t)1 << RC_GC_REFS_SHIFT) | RC_GC_PREV_COLLECTING)
/* An examined object whose turn in the refs passes has not come yet. */
static inline void set_pending_refs(rc_gchead *g, intptr_t refs) {
    set_collecting_refs(g, refs);
    g->prev |= RC_GC_PREV_PENDING;
}
static inline bool is_collecting(const rc_gchead *g) {
    return (g->prev & RC_GC_PREV_COLLECTING) != 0;
}

/* An object's generation tag (RC_F_GEN): kept equal to the generation
 * whose list holds it, at every move between generations, so that the
 * fused pass tells an examined object at a visit. */
static inline void set_gen(rc_gchead *g, uint32_t gen) {
    head_of(g)->info = (head_of(g)->info & ~RC_F_GEN) | gen << RC_F_GEN_SHIFT;
}

/* rc__type, inlined: the collector's loops call it once per object. */
static inline const rc_type *type_of(const rc_heap *h, const rc_gchead *g) {
    return h->types[head_of(g)->info >> RC_TYPE_SHIFT];
}

/* --------------------------------------------------------- trial deletion */

/* The passes that traverse visit referents anywhere in the heap: one cache
 * miss each on a heap whose references jump around, which the list walk's
 * own prefetch does not cover. So a visit only prefetches the referent and
 * queues it; it is handled VISIT_QUEUE visits later, in visit order, when
 * its memory has arrived (a full collection of a random graph of a million
 * objects runs twice as fast). The queue is drained before anything
 * depends on what is in it (the refs passes' queue: refs_queue).
 * Referents near their referrer do without it, and so do passes over a
 * heap where few are far (see SAMPLE). */
#ifndef VISIT_QUEUE /* this and the sizes below: tests build the library with tiny ones */
#define VISIT_QUEUE 64
#endif
typedef struct visit_queue {
    size_t far;              /* referents queued before the queue was last empty */
    size_t n;                /* referents queued since */
    uintptr_t stream;        /* the last referent far from its referrer */
    void *slot[VISIT_QUEUE]; /* the last min(n, VISIT_QUEUE) of them */
} visit_queue;

/* The refs passes' queue: visit_queue's ring, and an index from a
 * referent's address to its place in the ring. Before an object's own
 * turn in the pass, a decrement of it still queued is done, so none arrives
 * after its turn, where it would look like a reference back to an earlier
 * object (refs_count.back). */
#ifndef REFS_INDEX
#define REFS_INDEX 1024 /* a power of two, well above VISIT_QUEUE */
#endif
_Static_assert(VISIT_QUEUE < 256, "refs_queue.index holds a ring place + 1 in a byte");
typedef struct refs_queue {
    visit_queue ring; /* a slot handled early is NULL */
    size_t held;      /* entries of the ring still to be handled */
    bool indexed;     /* index is zeroed (by the first defer: most passes never queue) */
    uint8_t index[REFS_INDEX]; /* ring place + 1 of the referent hashing here, or 0 */
} refs_queue;

static inline size_t index_of(const void *o) {
    return (uintptr_t)o >> 4 & (REFS_INDEX - 1);
}

/* Whether the referent o of the object holding slot may be far from the
 * objects being walked, and so worth queueing. Referents near their
 * referrer are cached, or on their way by prefetch_ahead; so are those
 * near the last far one (q->stream): a large object holding objects in
 * their order (a list of the heap's nodes) is a stream the processor
 * fetches ahead by itself, and queueing it only cost (the live pairs'
 * collection 0.91x). */
static inline bool is_far(visit_queue *q, void **slot, const void *o) {
#ifdef RCGC_GC_FAR_BY_HASH /* tests: about half the referents, at random */
    (void)slot;
    (void)q;
    return (((uintptr_t)o >> 4) * 0x9E3779B97F4A7C15u) >> 63;
#else
    if ((uintptr_t)o - (uintptr_t)slot + PREFETCH_DISTANCE < 2 * PREFETCH_DISTANCE)
        return false;
    uintptr_t last = q->stream;
    q->stream = (uintptr_t)o;
    return (uintptr_t)o - last + PREFETCH_DISTANCE >= 2 * PREFETCH_DISTANCE;
#endif
}

/* Queues o (not NULL); returns the referent it displaces, or NULL. */
static inline void *enqueue(visit_queue *q, void *o) {
    __builtin_prefetch((char *)o - 16, 1); /* gc prev and rc_head: one line */
    void **s = &q->slot[q->n % VISIT_QUEUE];
    void *old = q->n++ >= VISIT_QUEUE ? *s : NULL;
    *s = o;
    return old;
}

/* Hands what the queue holds to fn, oldest first, and empties it. */
#define DRAIN(q, fn, arg)                                                   \
    do {                                                                    \
        size_t n_ = (q)->n, k_ = n_ < VISIT_QUEUE ? n_ : VISIT_QUEUE;       \
        for (size_t i_ = n_ - k_; i_ != n_; i_++)                           \
            if ((q)->slot[i_ % VISIT_QUEUE])                                \
                (fn)(arg, (q)->slot[i_ % VISIT_QUEUE]);                     \
        (q)->far += n_;                                                     \
        (q)->n = 0;                                                         \
    } while (0)

/* A refs pass over a big generation gives the first SAMPLE objects of every
 * PERIOD the queued visitor, and the rest of the period too if it paid for
 * them (one far referent per 8 objects or more); a large object, which may
 * hold any number of far references, always gets it. A pass over fewer
 * than QUEUE_MIN objects, which are in cache, does without; the fused
 * pass, which does not know how many objects a young collection has, takes
 * its first period after QUEUE_MIN of them. */
#ifndef SAMPLE
#define SAMPLE 1024
#endif
#ifndef PERIOD
#define PERIOD 65536
#endif
#ifndef QUEUE_MIN
#define QUEUE_MIN 8192
#endif

static inline bool pays(size_t far, size_t objects) { return far >= objects / 8; }

/* Whether a pass over n objects is big enough for the queue. */
static inline bool big_pass(size_t n) {
    static const size_t queue_min = QUEUE_MIN; /* a variable: tests set it to 0 */
    return n >= queue_min;
}

static inline size_t far_so_far(const visit_queue *q) { return q->far + q->n; }

/* Where a big refs pass is in its period. */
typedef struct sampler {
    size_t left;   /* objects left in the present state */
    size_t mark;   /* far_so_far when the sample began */
    bool sampling; /* the first SAMPLE objects of the period */
    bool queued;   /* the objects now get the queue */
} sampler;

#define SAMPLER_INIT {0, 0, false, false}

/* The sampler of the fused pass (`young`: not a full collection). */
static inline sampler fused_sampler(bool young) {
    sampler s = SAMPLER_INIT;
    if (young)
        s.left = QUEUE_MIN;
    return s;
}

/* Ends the present state: a sample begins, or ends and decides the rest
 * of its period. */
static void sampler_advance(sampler *s, const visit_queue *q) {
    if (s->sampling) {
        s->queued = pays(far_so_far(q) - s->mark, SAMPLE);
        s->left = PERIOD - SAMPLE;
    } else {
        s->mark = far_so_far(q);
        s->queued = true;
        s->left = SAMPLE;
    }
    s->sampling = !s->sampling;
}

/* Whether the next object gets the queue. */
static inline bool sample(sampler *s, const visit_queue *q) {
    if (RC_UNLIKELY(s->left == 0))
        sampler_advance(s, q);
    s->left--;
    return s->queued;
}

/* A loop compiled twice, with and without the queue (its bool parameter a
 * constant at each call): a pass that does without pays nothing for it. */
#define TWICE static inline __attribute__((always_inline))

/* The tracked object o is (NULL for an untracked one). */
static inline rc_gchead *tracked(void *o) {
    return rc_head_of(o)->info & RC_F_GC ? rc_gc_of(o) : NULL;
}

/* Nonzero unless the object with this info dies without running user
 * code: a plain type (RC_F_PLAIN) and no weak references. */
static inline uint32_t not_plain(uint32_t info) {
    return (info ^ RC_F_PLAIN) & (RC_F_PLAIN | RC_F_WEAKREFS);
}

/* What the light pass keeps so that a failure need not count its prefix
 * again (restore_prefix): each object it took whose count less the
 * references from the objects before it was above zero at its turn, with
 * that sum, in turn order; and the referents of the references back it met
 * (it only noted them). Past LIGHT_KEPT or LIGHT_BACKS of them a failure
 * counts the prefix again (recount_prefix). */
#ifndef LIGHT_KEPT /* tests build the library with tiny ones */
#define LIGHT_KEPT 256
#endif
#ifndef LIGHT_BACKS
#define LIGHT_BACKS 64
#endif
typedef struct light_kept {
    rc_gchead *g;
    intptr_t refs;
} light_kept;

/* What the passes computing gc_refs count on the way: how many examined
 * objects end with gc_refs 0 (none: nothing can be unreachable; all: all
 * are), how many the fused pass examined, whether it met one with a count
 * of zero or immortal (move_immortals counts the immortal ones left in
 * young), whether any examined object is not plain
 * (not_plain), whether any refers to an object not examined (untracked,
 * or in another generation), and whether any refers back: to an examined
 * object whose turn came before its own (or to itself), or has a count of
 * zero (false: no cycle, see deduce_unreachable). */
typedef struct refs_count {
    size_t zeros;
    size_t examined;
    bool immortals;
    uint32_t mixed;
    bool escapes;
    bool back;
    /* a root (not RC_GC_PREV_REACHED) saw its gc_refs go to 0; note_drop
     * writes the other when none did */
    bool root_dropped, no_root_dropped;
    bool roots_lost;      /* roots not all marked so (roots_hold) */
    bool light;     /* the fused pass tries the light pass first */
    bool relinked;  /* light_pass gave every object its prev pointer back */
    uint32_t epoch; /* a full collection's: RC_F_EPOCH or 0 */
    uint32_t young_tags; /* the fused pass: an examined object's RC_F_GEN is at most this */
    uint32_t turn_keep, turn_set; /* its info at its turn: (info & keep) | set */
    const rc_heap *h; /* the heap collected */
    refs_queue q;
    /* the light pass's record (light_kept), set up by light_pass */
    uint32_t nkept, nbacks;
    bool lost; /* it overflowed */
    light_kept kept[LIGHT_KEPT];
    void *backs[LIGHT_BACKS];
} refs_count;

/* Before a decrement of g, turned: notes whether it takes a root to 0
 * (roots_hold). A store, not an addition to a count: the live pairs'
 * holder drops each pair's first node so, and a count kept in memory cost
 * its first collection about 1.06x. */
static inline void note_drop(refs_count *c, const rc_gchead *g) {
    *(g->prev == ROOT_AT_ONE ? &c->root_dropped : &c->no_root_dropped) = true;
}

/* enqueue, keeping the index. *early: the referent whose index entry o
 * takes (older than o, so probably arrived), to handle now too, or NULL. */
static inline void *defer(refs_queue *q, void *o, void **early) {
    if (RC_UNLIKELY(!q->indexed)) {
        memset(q->index, 0, sizeof q->index);
        q->indexed = true;
    }
    uint8_t *x = &q->index[index_of(o)];
    void **slot = q->ring.slot;
    *early = NULL;
    if (*x) {
        *early = slot[*x - 1];
        slot[*x - 1] = NULL;
        q->held--;
    }
    size_t place = q->ring.n % VISIT_QUEUE;
    void *old = enqueue(&q->ring, o);
    if (old)
        q->index[index_of(old)] = 0;
    else
        q->held++;
    *x = (uint8_t)(place + 1);
    return old;
}

/* DRAIN for the refs queue: its index emptied too. */
#define DRAIN_REFS(q, fn, arg)                                              \
    do {                                                                    \
        visit_queue *r_ = &(q)->ring;                                       \
        size_t n_ = r_->n, k_ = n_ < VISIT_QUEUE ? n_ : VISIT_QUEUE;        \
        for (size_t i_ = n_ - k_; i_ != n_; i_++)                           \
            if (r_->slot[i_ % VISIT_QUEUE])                                 \
                (q)->index[index_of(r_->slot[i_ % VISIT_QUEUE])] = 0;       \
        DRAIN(r_, fn, arg);                                                 \
        (q)->held = 0;                                                      \
    } while (0)

/* Before the turn of obj, while no reference back is found: its queued
 * decrement, if any, is done; before the turn of an object whose visits
 * are not queued, every one is. Once one is found, the passes use enqueue
 * and no longer read the index. */
#define SETTLE(c, obj, queued, fn)                                          \
    do {                                                                    \
        refs_queue *q_ = &(c)->q;                                           \
        if (RC_UNLIKELY(q_->held)) {                                        \
            uint8_t *x_ = &q_->index[index_of(obj)];                        \
            if (!(queued)) {                                                \
                DRAIN_REFS(q_, fn, c);                                      \
            } else if (*x_ && q_->ring.slot[*x_ - 1] == (obj)) {            \
                q_->ring.slot[*x_ - 1] = NULL;                              \
                *x_ = 0;                                                    \
                q_->held--;                                                 \
                fn(c, obj);                                                 \
            }                                                               \
        }                                                                   \
    } while (0)

/* gc_refs = refcount for each object of young, which is marked collecting
 * (the unreachable set examined again: collections use the fused pass).
 * Returns how many objects young holds. */
static size_t update_refs(rc_gchead *young, refs_count *c) {
    size_t n = 0;
    uint32_t mixed = 0;
    bool zero = false;
    uintptr_t stride = 0;
    for (rc_gchead *g = gc_next(young); g != young; g = walk_next(g, &stride)) {
        prefetch_ahead(g);
        rc_head hd = *head_of(g);
        set_pending_refs(g, hd.refcnt);
        zero |= hd.refcnt == 0;
        mixed |= not_plain(hd.info);
        n++;
    }
    c->mixed = mixed;
    c->back = zero;
    return n;
}

static _Noreturn void refcount_too_small(rc_gchead *g) {
    rc__fatal("rc_gc_collect", "found more references than the count of", obj_of(g));
}

/* One reference less for o, a referent of an examined object. */
static void decref(refs_count *c, void *o) {
    rc_gchead *g = tracked(o);
    if (g && is_collecting(g)) {
        c->back |= !(g->prev & RC_GC_PREV_PENDING);
        intptr_t refs = get_refs(g);
        if (RC_UNLIKELY(refs == 0))
            refcount_too_small(g);
        c->zeros += refs == 1;
        g->prev -= (uintptr_t)1 << RC_GC_REFS_SHIFT;
    } else {
        c->escapes = true;
    }
}

/* The visitors of a refs pass's handler fn(refs_count *, void *o): one for
 * every referent, one that queues the far ones (refs_queue), and one that
 * also keeps the queue's index. */
#define REFS_VISITORS(fn)                                                   \
    RC_HOT static void visit_##fn(void **slot, void *arg) {                 \
        if (*slot)                                                          \
            fn(arg, *slot);                                                 \
    }                                                                       \
    RC_HOT static void visit_##fn##_queued(void **slot, void *arg) {        \
        refs_count *c = arg;                                                \
        void *o = *slot;                                                    \
        if (o && (!is_far(&c->q.ring, slot, o) ||                           \
                  (o = enqueue(&c->q.ring, o))))                            \
            fn(c, o);                                                       \
    }                                                                       \
    RC_HOT static void visit_##fn##_indexed(void **slot, void *arg) {       \
        refs_count *c = arg;                                                \
        void *o = *slot, *early;                                            \
        if (o == NULL)                                                      \
            return;                                                         \
        if (is_far(&c->q.ring, slot, o)) {                                  \
            o = defer(&c->q, o, &early);                                    \
            if (early)                                                      \
                fn(c, early);                                               \
        }                                                                   \
        if (o)                                                              \
            fn(c, o);                                                       \
    }

/* The visitor of fn for an object: `queued` (its far referents wait in the
 * queue), `dag` (no reference back found yet: the queue keeps its index).
 * Each refs pass runs its turns with dag true until it finds a reference
 * back, then in a second copy of its loop with dag false. */
#define REFS_VISITOR(fn, queued, dag)                                       \
    ((queued) ? ((dag) ? visit_##fn##_indexed : visit_##fn##_queued) : visit_##fn)

REFS_VISITORS(decref)

/* subtract_refs's turn of g (`dag`: no reference back found yet). */
TWICE void subtract_turn(rc_heap *h, refs_count *c, sampler *s, rc_gchead *g, bool big,
                         bool dag) {
    prefetch_ahead(g);
    uint32_t info = head_of(g)->info;
    bool queued = big && (sample(s, &c->q.ring) || (info & RC_F_LARGE));
    if (big && dag)
        SETTLE(c, obj_of(g), queued, decref);
    g->prev &= ~RC_GC_PREV_PENDING; /* its turn */
    h->types[info >> RC_TYPE_SHIFT]->traverse(obj_of(g), REFS_VISITOR(decref, queued, dag), c);
}

TWICE void subtract_loop(rc_heap *h, rc_gchead *young, refs_count *c, bool big) {
    sampler s = SAMPLER_INIT;
    uintptr_t stride = 0;
    rc_gchead *g = gc_next(young);
    for (; g != young && !c->back; g = walk_next(g, &stride))
        subtract_turn(h, c, &s, g, big, true);
    for (; g != young; g = walk_next(g, &stride))
        subtract_turn(h, c, &s, g, big, false);
    DRAIN_REFS(&c->q, decref, c);
}

/* Subtracts the references between the n objects of young (marked by
 * update_refs) from their gc_refs. */
static void subtract_refs(rc_heap *h, rc_gchead *young, size_t n, refs_count *c) {
    if (!big_pass(n))
        subtract_loop(h, young, c, false);
    else
        subtract_loop(h, young, c, true);
}

/* decref for the fused pass, where o's turn may not have come yet: it is
 * then below zero until its turn, so only a drop from 1 makes a zero (in a
 * heap whose counts are right; a count too small is caught by the scan).
 * An object of another heap has no turn: like an untracked one, it is
 * outside (its own heap's lists are left alone). `between_heaps` (a
 * constant at each use): other heaps are alive, so o may be theirs. */
static inline void decref_all_in(refs_count *c, void *o, bool between_heaps) {
    rc_gchead *g = tracked(o);
    if (g == NULL) {
        c->escapes = true;
        return;
    }
    if (is_collecting(g)) {
        c->back |= !(g->prev & RC_GC_PREV_PENDING);
        c->zeros += get_refs(g) == 1;
        note_drop(c, g);
        g->prev -= (uintptr_t)1 << RC_GC_REFS_SHIFT;
    } else if ((head_of(g)->info & RC_F_GEN) <= c->young_tags &&
               (!between_heaps || rc_obj_heap(o) == c->h)) {
        set_pending_refs(g, -1); /* its turn comes later and adds its count */
    } else {
        c->escapes = true;
    }
}

static void decref_all(refs_count *c, void *o) { decref_all_in(c, o, false); }
static void decref_between_heaps(refs_count *c, void *o) { decref_all_in(c, o, true); }

REFS_VISITORS(decref_all)
REFS_VISITORS(decref_between_heaps)

/* Notes in c what the count and info of an examined object say: tests
 * rather than ORs, which the pass would keep in memory across each
 * traverse. */
static inline void note_examined(refs_count *c, rc_head hd) {
    if (RC_UNLIKELY(hd.refcnt + 1 <= 1))
        c->immortals = true;
    if (RC_UNLIKELY(not_plain(hd.info)))
        c->mixed |= not_plain(hd.info);
}

/* The rest of fused_turn, with hd g's header (`queued`: its far
 * referents wait in the queue). */
TWICE void fused_turn_as(rc_heap *h, refs_count *c, size_t *zeros, rc_gchead *g, rc_head hd,
                         bool between_heaps, bool dag, bool queued) {
    if (dag && between_heaps)
        SETTLE(c, obj_of(g), queued, decref_between_heaps);
    else if (dag)
        SETTLE(c, obj_of(g), queued, decref_all);
    uintptr_t prev = g->prev;
    intptr_t refs = (intptr_t)hd.refcnt + (prev & RC_GC_PREV_COLLECTING ? get_refs(g) : 0);
    *zeros += refs == 0;
    note_examined(c, hd);
    /* its turn: PENDING goes; REACHED comes if an earlier object refers
     * to it (it is collecting: without a branch, two instructions) */
    g->prev = ((uintptr_t)refs << RC_GC_REFS_SHIFT) + RC_GC_PREV_COLLECTING +
              (prev & RC_GC_PREV_COLLECTING) * 2;
    head_of(g)->info = (hd.info & c->turn_keep) | c->turn_set;
    rc_visit_fn visit = between_heaps ? REFS_VISITOR(decref_between_heaps, queued, dag)
                                      : REFS_VISITOR(decref_all, queued, dag);
    h->types[hd.info >> RC_TYPE_SHIFT]->traverse(obj_of(g), visit, c);
}

/* The fused pass's turn of g, counting a gc_refs of 0 in *zeros (`dag`:
 * no reference back found yet; `sampled`: the sampler gives its objects
 * the queue, which a large object always gets). A copy of the turn for
 * each, so that the visitor is a constant (the live ring 0.97x the
 * instructions). */
TWICE void fused_turn(rc_heap *h, refs_count *c, size_t *zeros, rc_gchead *g,
                      bool between_heaps, bool dag, bool sampled) {
    prefetch_ahead(g);
    rc_head hd = *head_of(g);
    if (sampled || RC_LIKELY(!(hd.info & RC_F_LARGE)))
        fused_turn_as(h, c, zeros, g, hd, between_heaps, dag, sampled);
    else
        fused_turn_as(h, c, zeros, g, hd, between_heaps, dag, true);
}

/* The fused pass's turns from g on while the sampler's state lasts (its
 * objects `sampled` or not, a constant: the choice is made once per state,
 * not per object), up to young or, if `dag`, a reference back. Returns
 * where it stopped. Its counts stay in registers (young collections of
 * binary-trees 6% faster than with a sample and the counts per object). */
TWICE rc_gchead *fused_span(rc_heap *h, rc_gchead *young, refs_count *c, sampler *s,
                            rc_gchead *g, bool between_heaps, bool dag, bool sampled) {
    size_t left = s->left, zeros = 0;
    for (; left && g != young && (!dag || !c->back); left--, g = gc_next(g))
        fused_turn(h, c, &zeros, g, between_heaps, dag, sampled);
    c->zeros += zeros;
    c->examined += s->left - left;
    s->left = left;
    return g;
}

/* The fused pass's turns from g on, span by span, up to young or, if
 * `dag`, a reference back. */
TWICE rc_gchead *fused_turns(rc_heap *h, rc_gchead *young, refs_count *c, sampler *s,
                             rc_gchead *g, bool between_heaps, bool dag) {
    while (g != young && (!dag || !c->back)) {
        if (s->left == 0)
            sampler_advance(s, &c->q.ring);
        g = s->queued ? fused_span(h, young, c, s, g, between_heaps, dag, true)
                      : fused_span(h, young, c, s, g, between_heaps, dag, false);
    }
    return g;
}

/* ------------------------------------------------------------ light pass
 *
 * A full collection of a heap whose last one found no reference back (the
 * same heap grown, typically) first tries to do without the relink pass
 * too. Every full collection flips the heap's epoch and gives each object
 * the new one at its turn (rc_head.info's RC_F_EPOCH; new objects get the
 * heap's), so an object of the new epoch has had its turn: a visit tells a
 * reference back by the referent's epoch, with no mark in prev. A turn
 * then takes the object's count and the decrements waiting on it, checks
 * the sum, and gives the object its prev pointer back at once. If no
 * reference back turns up, every list is linked at the end: one pass in
 * all. If one does, or a count is 0 or immortal, the objects taken so far
 * (the prefix) are counted again as the fused pass would have counted them
 * (recount_prefix) and the fused pass goes on from there: a prefix lost,
 * two more passes over it. An object joining generation 0 late is stamped
 * with the heap's epoch (rc_gc_stamp); one of the new epoch that had no
 * turn all the same is taken for a reference back and costs a stop, and
 * its skipped references are counted by the recount. */

/* One reference less for g, whose turn has not come. */
static inline void decref_ahead(rc_gchead *g) {
    if (is_collecting(g))
        g->prev -= (uintptr_t)1 << RC_GC_REFS_SHIFT;
    else
        set_pending_refs(g, -1); /* its turn comes later and adds its count */
}

/* The light pass's decrement of o, a referent of an object taken. A
 * reference to a taken object is noted (light_kept) and left for
 * restore_prefix or recount_prefix. */
static void light_decref(refs_count *c, void *o) {
    rc_gchead *g = tracked(o);
    if (g == NULL) {
        c->escapes = true;
    } else if ((head_of(g)->info & RC_F_EPOCH) == c->epoch) {
        c->back = true;
        if (c->nbacks < LIGHT_BACKS)
            c->backs[c->nbacks++] = o;
        else
            c->lost = true;
    } else {
        decref_ahead(g);
    }
}

REFS_VISITORS(light_decref)

/* The light pass's turn of g, whose predecessor is prev; false when g is
 * not taken (a count of zero, or immortal: left to the fused pass). */
static bool light_turn(rc_heap *h, refs_count *c, sampler *s, rc_gchead *g, rc_gchead *prev) {
    prefetch_ahead(g);
    rc_head hd = *head_of(g);
    bool queued = sample(s, &c->q.ring) || (hd.info & RC_F_LARGE);
    SETTLE(c, obj_of(g), queued, light_decref);
    if (hd.refcnt + 1 <= 1)
        return false;
    intptr_t refs = (intptr_t)hd.refcnt + (is_collecting(g) ? get_refs(g) : 0);
    if (RC_UNLIKELY(refs < 0))
        refcount_too_small(g); /* every reference from an earlier object is counted */
    if (refs > 0) {
        if (c->nkept < LIGHT_KEPT)
            c->kept[c->nkept++] = (light_kept){g, refs};
        else
            c->lost = true;
    }
    g->prev = (uintptr_t)prev;
    head_of(g)->info = (hd.info & c->turn_keep) | c->turn_set;
    note_examined(c, hd);
    c->examined++;
    h->types[hd.info >> RC_TYPE_SHIFT]->traverse(obj_of(g),
                                                 REFS_VISITOR(light_decref, queued, true), c);
    return true;
}

/* recount_prefix's visit. A reference to a taken object (collecting and
 * not pending by now) counts. One to an object of the new epoch that was
 * not taken (made, or tracked again, while a collection was on) was taken
 * for a reference back and skipped: it counts now, as the light pass
 * counts. Any other was counted. */
static void visit_recount(void **slot, void *arg) {
    refs_count *c = arg;
    rc_gchead *g = *slot ? tracked(*slot) : NULL;
    if (g == NULL)
        return;
    if ((g->prev & (RC_GC_PREV_COLLECTING | RC_GC_PREV_PENDING)) == RC_GC_PREV_COLLECTING) {
        c->zeros += get_refs(g) == 1;
        note_drop(c, g);
        g->prev -= (uintptr_t)1 << RC_GC_REFS_SHIFT;
    } else if ((head_of(g)->info & RC_F_EPOCH) == c->epoch) {
        decref_ahead(g);
    }
}

/* Gives the objects of young up to last, which the light pass took, what
 * the fused pass would have left them: gc_refs their count less the
 * references among them, their turn over. */
static void recount_prefix(rc_heap *h, rc_gchead *young, rc_gchead *last, refs_count *c) {
    if (last == young)
        return;
    rc_gchead *end = gc_next(last);
    for (rc_gchead *g = gc_next(young); g != end; g = gc_next(g))
        set_collecting_refs(g, head_of(g)->refcnt);
    for (rc_gchead *g = gc_next(young); g != end; g = gc_next(g))
        type_of(h, g)->traverse(obj_of(g), visit_recount, c);
}

/* recount_prefix from what the light pass kept (light_kept), when it kept
 * it all: gc_refs the sum at an object's turn (0 unless kept), less the
 * references back it noted. One sequential pass, not two passes, one of
 * them traversing: a ring whose chain had been through a full collection
 * (the collector on while it was built) was taken whole and met its only
 * reference back at its last node (17-22 -> 13.5-15.7 ns an object; the
 * ring alone 7.7-8.3). Out of line: inlined, the plain ring ran about 1.1x
 * slower (the layout of the passes beside it). */
static __attribute__((noinline)) void restore_prefix(rc_gchead *young, rc_gchead *last,
                                                     refs_count *c) {
    const light_kept *k = c->kept, *kept_end = k + c->nkept;
    rc_gchead *end = gc_next(last);
    for (rc_gchead *g = gc_next(young); g != end; g = gc_next(g)) {
        intptr_t refs = k != kept_end && k->g == g ? (k++)->refs : 0;
        set_collecting_refs(g, refs);
        g->prev |= refs > 0 ? 0 : RC_GC_PREV_REACHED; /* a root's was above 0 (roots_hold) */
        c->zeros += refs == 0;
    }
    for (uint32_t i = 0; i < c->nbacks; i++)
        visit_recount(&c->backs[i], c);
}

/* The light pass (above): returns where the fused pass goes on, young when
 * it is done (c->relinked). */
static rc_gchead *light_pass(rc_heap *h, rc_gchead *young, refs_count *c, sampler *s) {
    rc_gchead *prev = young, *g = gc_next(young);
    uintptr_t stride = 0;
    c->nkept = c->nbacks = 0;
    c->lost = false;
    while (g != young && !c->back && light_turn(h, c, s, g, prev)) {
        prev = g;
        g = walk_next(g, &stride);
    }
    DRAIN_REFS(&c->q, light_decref, c);
    if (g == young && !c->back) {
        c->relinked = true;
        return young;
    }
    if (c->lost)
        recount_prefix(h, young, prev, c);
    else if (prev != young)
        restore_prefix(young, prev, c);
    return g;
}

/* update_and_subtract_refs's walk, compiled for one heap alive and for
 * several (between_heaps: a referent may be another heap's). */
TWICE size_t fused_loop(rc_heap *h, rc_gchead *young, refs_count *c, bool between_heaps) {
    sampler s = fused_sampler(c->young_tags < (RC_GC_GENERATIONS - 1) << RC_F_GEN_SHIFT);
    rc_gchead *g = gc_next(young);
    if (!between_heaps && c->light)
        g = light_pass(h, young, c, &s);
    g = fused_turns(h, young, c, &s, g, between_heaps, true);
    fused_turns(h, young, c, &s, g, between_heaps, false);
    if (between_heaps)
        DRAIN_REFS(&c->q, decref_between_heaps, c);
    else
        DRAIN_REFS(&c->q, decref_all, c);
    c->back |= c->immortals;
    return c->examined;
}

/* update_refs and subtract_refs in one pass, for a collection of
 * generation (young: every object of h whose generation tag is at most
 * that, when alive and linked). An unmarked object of h a traverse visits
 * with such a tag is one whose turn has not come yet (it starts below zero
 * and adds its count at its turn; the subtraction commutes, so the queue's
 * delay changes nothing); any other is outside. At its turn an object
 * takes the tag of the generation it goes to if it survives (a survivor,
 * or anything resurrected, goes there), and in a full collection the
 * heap's new epoch (the light pass). A count too small shows as a negative
 * sum, which move_unreachable reports. Immortal objects stay (their huge
 * count keeps them reachable), counted to go to the permanent generation
 * afterwards. */
static size_t update_and_subtract_refs(rc_heap *h, rc_gchead *young, int generation,
                                       refs_count *c) {
    uint32_t dest = generation + 1 < RC_GC_GENERATIONS ? (uint32_t)generation + 1 : RC_GC_GENERATIONS - 1;
    c->young_tags = (uint32_t)generation << RC_F_GEN_SHIFT;
    c->turn_keep = ~RC_F_GEN;
    c->turn_set = dest << RC_F_GEN_SHIFT;
    if (generation == RC_GC_GENERATIONS - 1) {
        h->gc.epoch ^= RC_F_EPOCH;
        h->last_info ^= RC_F_EPOCH;
        c->epoch = h->gc.epoch;
        c->turn_keep &= ~RC_F_EPOCH;
        c->turn_set |= c->epoch;
        c->light = h->gc.acyclic && list_is_empty(&h->gc.permanent);
    }
    return rc__one_heap() ? fused_loop(h, young, c, false) : fused_loop(h, young, c, true);
}

/* Moves the immortal objects of young (scanned, so linked both ways again)
 * to the permanent generation; returns how many. */
static size_t move_immortals(rc_heap *h, rc_gchead *young) {
    size_t n = 0;
    rc_gchead *next;
    for (rc_gchead *g = gc_next(young); g != young; g = next) {
        next = gc_next(g);
        if (head_of(g)->refcnt == RC_IMMORTAL) {
            set_gen(g, RC_GC_PERMANENT);
            list_move(g, &h->gc.permanent);
            n++;
        }
    }
    return n;
}

/* What move_unreachable found: how many objects, and whether any of them
 * needs more than clearing (a finalizer due, weak references to it, or it
 * is one) — an over-estimate, as objects found reachable later keep it —
 * and, for deduce_unreachable's passes, their state. */
typedef struct found {
    size_t unreachable;
    bool special;
    uint32_t mixed; /* some of them may not be plain (not_plain): the same over-estimate */
    bool linked;    /* their prev pointers are back (false: they hold gc_refs) */
    bool escapes;   /* some examined object refers to one not examined (refs_count) */
    bool far;       /* most references examined point far away (visit_queue) */
    size_t weakrefs_made; /* gc.weakrefs_made once weak references to them were cleared */
    rc_gchead *young;
    /* while the queue drains during the scan: the first object not scanned
     * (or young itself), whose prev may hold gc_refs, and the scanned
     * object before it; edge is NULL otherwise */
    rc_gchead *edge, *edge_prev;
    /* in a scan from the last object (scan_from_last): the first object
     * of young not yet marked UNREACHABLE (every one before it is; it and
     * those after it, up to the last, hold gc_refs 0), or the last object
     * once all are, and the object before it */
    rc_gchead *unmarked, *unmarked_prev;
    uint32_t plain; /* a type index whose objects are never special, or -1 */
    visit_queue q;
} found;

/* Notes in f whether g needs more than clearing. The type of the last
 * object that did not, if no object of that type can, is remembered: most
 * objects then cost a comparison. */
static void note_special(const rc_heap *h, found *f, const rc_gchead *g) {
    uint32_t info = head_of(g)->info;
    f->mixed |= not_plain(info);
    if (info & RC_F_WEAKREFS) {
        f->special = true;
    } else if (info >> RC_TYPE_SHIFT != f->plain) {
        const rc_type *t = h->types[info >> RC_TYPE_SHIFT];
        if (t == &rc__weakref_type || (t->finalize && !(info & RC_F_FINALIZED)))
            f->special = true;
        else if (t->finalize == NULL)
            f->plain = info >> RC_TYPE_SHIFT;
    }
}

/* Puts g, just unlinked, at the end of young, to be scanned in turn
 * (CPython's move back from the unreachable list, with gc_refs 1). Its prev
 * pointer is back at once: what is past young's objects of before is
 * reachable, so its gc_refs need not be kept (a visit finds it no longer
 * collecting, as a scanned object, and leaves it), and once nothing is
 * set aside the scan can end without a pass over it (scan). */
static inline void append_reached(found *f, rc_gchead *g) {
    rc_gchead *young = f->young, *last = gc_prev(young);
    last->next = (uintptr_t)g;
    g->next = (uintptr_t)young;
    young->prev = (uintptr_t)g;
    g->prev = (uintptr_t)last;
    f->unreachable--;
}

/* Takes g, marked UNREACHABLE, from its place after prev to the end of
 * young. The object after it may hold gc_refs in prev, which stays.
 * `from_last`: in a scan from the last object (a constant at each call, as
 * for the functions below: the ordinary scan's code stays as it was). */
TWICE void move_back(found *f, rc_gchead *g, rc_gchead *prev, bool from_last) {
    rc_gchead *next = gc_next(g);
    prev->next = (uintptr_t)next;
    if (from_last && next == f->unmarked)
        f->unmarked_prev = prev;
    else if (next != f->edge || next == f->young) /* an edge object's prev holds gc_refs */
        set_prev(next, prev);
    if (next == f->edge)
        f->edge_prev = prev;
    append_reached(f, g);
}

/* In a scan from the last object: marks UNREACHABLE, as the scan would
 * have at their turns, the objects from f->unmarked up to `until` (an
 * object after them, or the last object). The refs pass's count of zeros
 * also counts an object whose gc_refs went past 0 (a count too small):
 * the scan's check of each object's sum is made here. */
static void mark_until(found *f, rc_gchead *until) {
    rc_gchead *prev = f->unmarked_prev, *g = f->unmarked;
    rc_gchead *negative = NULL; /* no branch in the loop: the live ring 0.97x */
    for (; g != until; g = gc_next(g)) {
        negative = get_refs(g) < 0 ? g : negative;
        g->prev = (uintptr_t)prev | RC_GC_PREV_COLLECTING | RC_GC_PREV_UNREACHABLE;
        prev = g;
    }
    if (RC_UNLIKELY(negative != NULL))
        refcount_too_small(negative);
    f->unmarked = until;
    f->unmarked_prev = prev;
}

/* Tells move_unreachable that o, a referent of a reachable object, is
 * reachable: if it was set aside as unreachable, it leaves its place and
 * goes to the end of young to be scanned, else if it is still to be
 * scanned it gets gc_refs 1. In a scan from the last object, every object
 * before the last with gc_refs 0 is set aside, marked or not yet. */
TWICE void reach_in(found *f, void *o, bool from_last) {
    if (from_last && rc_gc_of(o) == f->unmarked &&
        (f->unmarked->prev & ~RC_GC_PREV_REACHED) == RC_GC_PREV_COLLECTING) {
        /* a chain's next, tested first (o's header unread): f->unmarked
         * is tracked and holds gc_refs 0 (prev COLLECTING, with REACHED
         * or not: a random graph's first collection 1.1x without it),
         * unless it is the last object (scanned by now: prev a pointer) or
         * its sum went past 0 (left for mark_until to report). Marking it
         * would only be undone; what follows it holds gc_refs 0, is not
         * the edge (which is at or after the last object), and becomes
         * the first unmarked. */
        rc_gchead *g = f->unmarked;
        f->unmarked = gc_next(g);
        f->unmarked_prev->next = (uintptr_t)f->unmarked;
        append_reached(f, g);
        return;
    }
    rc_gchead *g = tracked(o);
    if (g == NULL || !is_collecting(g))
        return; /* another generation, or already scanned */
    if (g->prev & RC_GC_PREV_UNREACHABLE) {
        move_back(f, g, gc_prev(g), from_last);
    } else if (get_refs(g) == 0) {
        if (from_last) {
            mark_until(f, gc_next(g));
            move_back(f, g, gc_prev(g), true);
        } else {
            set_refs(g, 1);
        }
    }
}

/* Whether reach would move g, a tracked object, to the end of young. */
TWICE bool may_move(const rc_gchead *g, bool from_last) {
    return (g->prev & RC_GC_PREV_UNREACHABLE) ||
           (from_last && is_collecting(g) && get_refs(g) == 0);
}

/* The scan's handler of a referent fn(found *, void *o), and its visitors:
 * one for every referent, and one that queues the far ones. The queued
 * one handles a near referent at once, unless it would move to the end of
 * young while referents still queued may move there first (the order of
 * young is CPython's): the other cases commute with what is queued. */
#define SCAN_VISITORS(fn, from_last)                                        \
    static void fn(found *f, void *o) { reach_in(f, o, from_last); }        \
    static void visit_##fn(void **slot, void *arg) {                        \
        if (*slot)                                                          \
            fn(arg, *slot);                                                 \
    }                                                                       \
    static void visit_##fn##_queued(void **slot, void *arg) {               \
        found *f = arg;                                                     \
        void *o = *slot;                                                    \
        if (o == NULL)                                                      \
            return;                                                         \
        if (is_far(&f->q, slot, o) ||                                       \
            (f->q.n && tracked(o) && may_move(rc_gc_of(o), from_last))) {   \
            if ((o = enqueue(&f->q, o)) == NULL)                            \
                return;                                                     \
        }                                                                   \
        fn(f, o);                                                           \
    }

SCAN_VISITORS(reach, false)
SCAN_VISITORS(reach_from_last, true)

/* Moves the objects of young marked unreachable to the end of unreachable,
 * in their order. */
static void split_unreachable(rc_gchead *young, rc_gchead *unreachable, bool all) {
    if (all) { /* one splice */
        list_merge(young, unreachable);
        return;
    }
    uintptr_t stride = 0;
    rc_gchead *next;
    for (rc_gchead *g = gc_next(young); g != young; g = next) {
        prefetch_ahead(g);
        next = walk_next(g, &stride);
        if (g->prev & RC_GC_PREV_UNREACHABLE)
            list_move(g, unreachable);
    }
}

/* Gives the objects of young after prev their prev pointers back, in one
 * sequential pass without traversing, and checks their sums; returns the
 * last object. */
static rc_gchead *relink_after(rc_gchead *young, rc_gchead *prev) {
    uintptr_t stride = 0;
    for (rc_gchead *g = gc_next(prev); g != young; g = walk_next(g, &stride)) {
        prefetch_ahead(g);
        if (RC_UNLIKELY(get_refs(g) < 0))
            refcount_too_small(g);
        g->prev = (uintptr_t)prev;
        prev = g;
    }
    return prev;
}

/* move_unreachable's scan, with or without the queue; returns the last
 * object of young. A scan from the last object starts there (its prev is
 * set at the end, by scan_from_last). Once the scan is past young's
 * objects of before (in the objects moved back to its end, reachable,
 * their prev pointers back since their move: append_reached) and no
 * object is left set aside, a traverse can move nothing: the scan ends
 * there, the rest untouched, and what is still queued would find nothing
 * to move either. With the queue the test is made at every turn (the live
 * random graph's holder reaches every node, whose scan then read two far
 * referents each for nothing); without it, once in 64 turns (at every
 * turn it cost the live ring 1.05x): live pairs 11.0 -> 9.2 ns an
 * object, the random graph 19.1 -> 17.5, the ring 1.01x. */
TWICE rc_gchead *scan(rc_heap *h, rc_gchead *young, found *f, bool queued, bool from_last) {
    visit_queue *q = &f->q;
    uintptr_t stride = 0;
    rc_gchead *prev = young, *g = from_last ? gc_prev(young) : gc_next(young);
    rc_gchead *last_before = gc_prev(young); /* once scanned: only moved ones */
    bool moved_ones = false;                  /* g is one (its prev is back) */
    unsigned turns = 0;
    for (;;) {
        if (queued && q->n && (g == young || (!moved_ones && get_refs(g) == 0))) {
            /* g (or the end of young) waits for the queued visits */
            f->edge = g;
            f->edge_prev = prev;
            DRAIN(q, from_last ? reach_from_last : reach, f);
            f->edge = NULL;
            prev = f->edge_prev;
            g = gc_next(prev);
        }
        if (g == young)
            return prev;
        if (moved_ones && f->unreachable == 0 && (queued || ++turns % 64 == 0)) {
            q->far += q->n;
            q->n = 0;
            return gc_prev(young);
        }
        prefetch_ahead(g);
        /* from the last object, every object scanned has gc_refs > 0: the
         * last (move_unreachable checked), then those reached (1) */
        intptr_t refs = from_last || moved_ones ? 1 : get_refs(g);
        if (RC_UNLIKELY(refs < 0))
            refcount_too_small(g);
        if (refs) {
            g->prev = (uintptr_t)prev;
            /* traverse may append to young: read next only afterwards */
            rc_visit_fn visit = from_last ? (queued ? visit_reach_from_last_queued
                                                    : visit_reach_from_last)
                                          : (queued ? visit_reach_queued : visit_reach);
            type_of(h, g)->traverse(obj_of(g), visit, f);
        } else {
            g->prev = (uintptr_t)prev | RC_GC_PREV_COLLECTING | RC_GC_PREV_UNREACHABLE;
            f->unreachable++;
            note_special(h, f, g);
        }
        moved_ones |= g == last_before;
        prev = g;
        g = walk_next(g, &stride);
    }
}

/* move_unreachable when the only object of young with gc_refs > 0 is the
 * last (a structure whose holder was made after what it holds): the scan
 * would mark every other object and only then find one reachable. It
 * starts at the last object instead, and the others are marked only as a
 * move back needs them (the object moved, and those before it not yet
 * marked: f->unmarked), so that a live heap of that shape is not walked
 * once more just to be marked. What stays at the front is the unreachable
 * set, in CPython's order. Out of line, and its code apart from the
 * ordinary scan's: inlined, it changed how the compiler laid out the refs
 * pass around it (binary-trees' young collections 1.17x slower). */
static __attribute__((noinline)) void scan_from_last(rc_heap *h, rc_gchead *young,
                                                     size_t zeros, rc_gchead *unreachable,
                                                     found *f) {
    rc_gchead *last = gc_prev(young);
    f->unmarked = gc_next(young);
    f->unmarked_prev = young;
    f->unreachable = zeros;
    young->prev = (uintptr_t)(f->far ? scan(h, young, f, true, true)
                                     : scan(h, young, f, false, true));
    mark_until(f, last);
    last->prev = (uintptr_t)f->unmarked_prev;
    for (rc_gchead *g = gc_next(young); g != last; g = gc_next(g))
        note_special(h, f, g);
    list_move_prefix(young, last, unreachable);
}

/* Moves what is not reachable from outside young to unreachable (CPython's
 * move_unreachable, same result and same order). The scan walks young: an
 * object with gc_refs > 0 is reachable and its referents are made so; one
 * with gc_refs 0 may still be reached from an object scanned later, so it
 * is only marked UNREACHABLE where it stands (CPython moves it to the
 * unreachable list right away) and, when reached, moves to the end of
 * young to be scanned in turn. What stays marked moves to unreachable at
 * the end, in scan order, which is CPython's order. Scanned objects have
 * their prev pointer back (with the flags of the marked ones), so the
 * scanned part is doubly linked; right of the scan, prev holds gc_refs and
 * young is singly linked, but for the objects moved to its end, whose prev
 * is back from their move (append_reached). Every queued visit is handled
 * before an object with gc_refs 0 is judged, and before the scan ends (or
 * dropped when nothing is left to move: scan). young holds n
 * objects, `zeros` of them with gc_refs 0; the refs pass has told whether
 * the queue pays (f->far).
 *
 * When the only object with gc_refs > 0 is the last, scan_from_last.
 */
static void move_unreachable(rc_heap *h, rc_gchead *young, size_t n, size_t zeros,
                             rc_gchead *unreachable, found *f) {
    if (zeros == n - 1 && get_refs(gc_prev(young)) > 0) {
        scan_from_last(h, young, zeros, unreachable, f);
        return;
    }
    young->prev = (uintptr_t)(f->far ? scan(h, young, f, true, false)
                                     : scan(h, young, f, false, false));
    if (f->unreachable)
        split_unreachable(young, unreachable, f->unreachable == n);
}

/* Whether the scan would find every examined object reachable at its turn
 * and move none, from what the refs passes marked: no root (an object
 * whose turn came with no reference to it from an earlier one, marked
 * without RC_GC_PREV_REACHED; in the light pass's prefix, one it kept)
 * saw its gc_refs go to 0 afterwards. Then each object is reachable when
 * its turn comes, by induction in list order: a root from outside, any
 * other through a referrer whose turn came before its own, reachable,
 * whose traverse reached it first. CPython's scan moves nothing then, so
 * a relink gives its result and order. References back do not matter
 * here, unlike for c->back (a pair's second node refers back to its
 * first, which the holder reached). A heap the scan ordered and left
 * unchanged is so (each object it moved went behind the object that
 * reached it): collected again, it costs no scan, a traverse of each
 * object (live pairs, the holder now first, 10.3-11.3 -> 8.5-9.3 ns an
 * object; the random graph 25.4-31.3 -> 12.7-14.3). False when the roots
 * were not all marked (the light pass's record overflowed, or the
 * separate passes ran), or an immortal object (or one with a count of
 * zero) was examined. */
static bool roots_hold(const refs_count *c) {
    return !c->roots_lost && !c->lost && !c->immortals && !c->root_dropped;
}

/* Whether delete_garbage may sweep plain garbage: not while it is to be
 * saved (RC_GC_DEBUG_SAVEALL). */
static bool may_sweep(const rc_heap *h) {
    return !(h->gc.debug & RC_GC_DEBUG_SAVEALL);
}

/* The three steps: base keeps what is reachable from outside it, the rest
 * goes to unreachable. `generation`: base is that generation with the
 * younger ones merged in (the first two steps fuse), or -1: base is any
 * list (the unreachable set, examined again). `sweep`: the caller
 * hands what is found to delete_garbage, which may sweep it; then, when
 * every object of base is plain garbage, the third step is skipped: base
 * is garbage as it stands, its prev pointers still holding gc_refs (0).
 * The third step is also skipped, for one sequential pass that relinks,
 * when no object has gc_refs 0 or no reference between examined objects
 * points back (c.back false: each points to an object whose turn came
 * later, and every count is above zero). Then everything is reachable, by
 * induction in list order: an object with gc_refs 0 has a referrer among
 * the examined, all of them earlier, so reachable, and CPython's scan
 * would have found each object reachable at its turn, moving none: the
 * order is CPython's too. Lists are in allocation order unless a scan
 * moved something, so a structure built parents first (a tree, a list of
 * new items) is examined in two passes, one of them traversing; in one
 * when the light pass took it all (c.relinked, full collections only).
 * Returns how many objects were examined; *f says what was found. */
static size_t deduce_unreachable(rc_heap *h, rc_gchead *base, rc_gchead *unreachable,
                                 int generation, bool sweep, found *f) {
    refs_count c; /* zero up to the queue's slots: its index is zeroed when used */
    memset(&c, 0, offsetof(refs_count, q.ring.slot));
    c.q.held = 0;
    c.q.indexed = false;
    c.lost = false; /* the light pass's, if it runs */
    c.h = h;
    size_t n;
    if (generation >= 0) {
        n = update_and_subtract_refs(h, base, generation, &c);
    } else {
        n = update_refs(base, &c);
        subtract_refs(h, base, n, &c);
        c.roots_lost = true; /* update_refs marks every object at once */
    }
    list_init(unreachable);
    f->unreachable = 0;
    f->special = false;
    f->mixed = 0;
    f->linked = true;
    f->escapes = c.escapes;
    f->q.n = f->q.far = 0;
    f->q.stream = 0;
    f->far = big_pass(n) && pays(far_so_far(&c.q.ring), n);
    f->young = base;
    f->edge = NULL;
    f->plain = UINT32_MAX;
    if (sweep && c.zeros == n && !c.mixed && n) {
        /* list_merge, but singly linked: the first object's prev is its gc_refs */
        unreachable->next = base->next;
        unreachable->prev = base->prev;
        gc_prev(base)->next = (uintptr_t)unreachable;
        list_init(base);
        f->unreachable = n;
        f->linked = false;
    } else if (c.zeros && c.back && !roots_hold(&c)) {
        move_unreachable(h, base, n, c.zeros, unreachable, f);
    } else if (!c.relinked) {
        relink_after(base, base); /* everything is reachable, nothing moves */
    }
    if (generation == RC_GC_GENERATIONS - 1)
        h->gc.acyclic = !c.back;
    if (RC_UNLIKELY(c.immortals))
        n -= move_immortals(h, base);
    return n;
}

/* Ends a list's part in the collection: no collector flag left. */
static void clear_flags(rc_gchead *list) {
    uintptr_t stride = 0;
    for (rc_gchead *g = gc_next(list); g != list; g = walk_next(g, &stride))
        g->prev &= ~RC_GC_PREV_FLAGS;
}

/* --------------------------------------------------------- the unreachable */

/* A weak reference whose target is garbage: its callback runs if the weak
 * reference itself is not garbage and not dying (CPython's handle_weakrefs).
 * It waits on the callbacks list, held by a reference. */
static void weakref_due(rc_weakref *ref, void *callbacks) {
    rc_gchead *g = rc_gc_of(ref);
    if (is_collecting(g))
        return;
    rc_incref(ref);
    list_move(g, callbacks);
}

/* For unreachable objects that need more than clearing (move_unreachable
 * saw some): clears every weak reference to them and every weak reference
 * among them (CPython's handle_weakrefs, first half) — no callback may run
 * before all are cleared, lest it reach garbage through a weak reference —
 * and returns whether a finalizer is due. Callbacks that are due wait on
 * `callbacks`. Runs no user code. */
static bool scan_unreachable(rc_heap *h, rc_gchead *unreachable, rc_gchead *callbacks) {
    bool finalizers = false;
    uintptr_t stride = 0;
    for (rc_gchead *g = gc_next(unreachable); g != unreachable; g = walk_next(g, &stride)) {
        prefetch_ahead(g);
        rc_head *hd = head_of(g);
        const rc_type *t = type_of(h, g);
        finalizers |= t->finalize && !(hd->info & RC_F_FINALIZED);
        if (RC_UNLIKELY(t == &rc__weakref_type))
            rc__weakref_clear_ref(h, obj_of(g));
        if (RC_UNLIKELY(hd->info & RC_F_WEAKREFS))
            rc__weakref_clear_all(h, obj_of(g), weakref_due, callbacks);
    }
    return finalizers;
}

/* Runs the callbacks scan_unreachable queued, each with the weak reference
 * held; those that survive go to old, generation old_gen (a weak reference
 * of any generation may be there). Returns how many died when that hold
 * was dropped (gc.collect() counts them). */
static size_t run_weakref_callbacks(rc_gchead *callbacks, rc_gchead *old, int old_gen) {
    size_t freed = 0;
    while (!list_is_empty(callbacks)) {
        rc_gchead *g = gc_next(callbacks);
        rc__weakref_fire(obj_of(g));
        rc_decref(obj_of(g));
        if (gc_next(callbacks) == g) {
            set_gen(g, (uint32_t)old_gen);
            list_move(g, old);
        } else {
            freed++;
        }
    }
    return freed;
}

static bool needs_finalizer(const rc_heap *h, const rc_gchead *g) {
    return !(head_of(g)->info & RC_F_FINALIZED) && type_of(h, g)->finalize;
}

/* Runs each finalizer that has not run yet, once, with a reference held.
 * A finalizer may free or resurrect anything, so the object is moved to a
 * `seen` list before its finalizer runs and the loop always resumes at the
 * head of what is left (runs of objects needing nothing move in one step).
 * Returns whether any finalizer ran. */
static bool finalize_garbage(rc_heap *h, rc_gchead *collectable) {
    rc_gchead seen;
    list_init(&seen);
    bool ran = false;
    for (;;) {
        rc_gchead *g = gc_next(collectable);
        while (g != collectable && !needs_finalizer(h, g))
            g = gc_next(g);
        list_move_prefix(collectable, g, &seen);
        if (g == collectable)
            break;
        list_move(g, &seen);
        void *obj = obj_of(g);
        head_of(g)->info |= RC_F_FINALIZED;
        rc_incref(obj);
        type_of(h, g)->finalize(obj);
        rc_decref(obj);
        ran = true;
    }
    list_merge(&seen, collectable);
    return ran;
}

/* After finalizers: examines the unreachable set again; what is reachable
 * from outside it now (resurrected, with all it reaches) goes to old, the
 * rest to still, which *f describes, for delete_garbage. */
static void handle_resurrected(rc_heap *h, rc_gchead *unreachable, rc_gchead *still,
                               rc_gchead *old, found *f) {
    clear_flags(unreachable);
    deduce_unreachable(h, unreachable, still, -1, may_sweep(h), f);
    list_merge(unreachable, old);
}

/* Room for n more entries in the garbage list; -1 + ENOMEM. */
static int garbage_reserve(rc_heap *h, size_t n) {
    rc_gcstate *gc = &h->gc;
    if (gc->garbage_cap - gc->ngarbage >= n)
        return 0;
    size_t cap = gc->garbage_cap ? gc->garbage_cap : 16;
    while (cap - gc->ngarbage < n)
        cap *= 2;
    void **a = rc__sys_alloc(h, gc->garbage, gc->garbage_cap * sizeof *a, cap * sizeof *a);
    if (a == NULL)
        return -1;
    gc->garbage = a;
    gc->garbage_cap = cap;
    return 0;
}

/* delete_garbage holds every object before it clears any (clear_held)
 * when the garbage is at least HELD_MIN objects whose references mostly
 * point far away (the refs pass's queue paid), and no weak reference was
 * made since those to the garbage were cleared; RCGC_GC_ALWAYS_HELD, for
 * tests, whenever it can. */
#ifndef HELD_MIN
#define HELD_MIN 8192
#endif
#define HELD_AHEAD 16 /* objects between a prefetch of referents and their use */

static inline bool held_pays(size_t n, bool far) {
#ifdef RCGC_GC_ALWAYS_HELD
    (void)n, (void)far;
    return true;
#else
    return far && n >= HELD_MIN;
#endif
}

static void visit_prefetch(void **slot, void *arg) {
    (void)arg;
    if (*slot)
        __builtin_prefetch(rc_head_of(*slot), 1);
}

/* Asks for the memory of the referents of g, about to be dropped. */
static inline void prefetch_referents(rc_heap *h, rc_gchead *g) {
    type_of(h, g)->traverse(obj_of(g), visit_prefetch, NULL);
}

/* Where sweep_garbage's walk is: whether it stopped, how many visits the
 * current object's traverse has made before, and the untracked plain
 * objects it took every count from (doomed[0..ndoomed): count 0, freed
 * when the walk goes through; the array from rc__sys_alloc, cap slots).
 * outside_seen's walk uses stop, h and `survivors`: a full collection
 * that ran no user code since its scan, where every tracked object of the
 * heap outside the garbage (and the permanent generation) is reachable
 * from outside, so no clear of the garbage can end it. */
typedef struct sweep_state {
    bool stop;
    size_t visits;
    rc_heap *h;
    void **doomed;
    size_t ndoomed, cap;
    bool survivors;
} sweep_state;

/* Drops the references of each object of list, in order, with visit
 * (rc__drop_references when NULL); when far, the referents of the object
 * HELD_AHEAD places on are asked for first. Stops early when s->stop
 * becomes true, returning the object whose traverse was running, or (visit
 * NULL: clear_held) when RC_GC_DEBUG_SAVEALL is on at an object's turn,
 * returning that object, not cleared; NULL when the walk went through. */
static rc_gchead *drop_in_order(rc_heap *h, rc_gchead *list, bool far, rc_visit_fn visit,
                                sweep_state *s) {
    rc_gchead *ahead = gc_next(list);
    if (far)
        for (int i = 0; i < HELD_AHEAD && ahead != list; i++, ahead = gc_next(ahead))
            prefetch_referents(h, ahead);
    for (rc_gchead *g = gc_next(list); g != list; g = gc_next(g)) {
        prefetch_ahead(g);
        if (far && ahead != list) {
            prefetch_referents(h, ahead);
            ahead = gc_next(ahead);
        }
        if (visit == NULL) {
            if (RC_UNLIKELY(h->gc.debug & RC_GC_DEBUG_SAVEALL))
                return g;
            rc__drop_references(type_of(h, g), obj_of(g));
        } else {
            s->visits = 0;
            type_of(h, g)->traverse(obj_of(g), visit, s);
            if (s->stop)
                return g;
        }
    }
    return NULL;
}

/* Clearing garbage one object at a time frees others on the spot, and on a
 * heap whose references jump around each such death is a chain of cache
 * misses (a random graph of a million objects spent 200 ns per object).
 * So here every object is held first and then cleared in list order: no
 * death can happen among them, and the referents of the object HELD_AHEAD
 * places on are asked for before they are dropped. delete_garbage then
 * drops the holds; each object dies with nothing left to drop. The same
 * objects die as when they are cleared in turns (CPython's way); their
 * clears all come before their deaths, so a weak reference held by garbage
 * to garbage would die before its target (delete_garbage does not come
 * here when one may exist). No object leaves the list meanwhile: all are
 * held. SAVEALL is read at each object's turn, as CPython's delete_garbage
 * reads it: when a clear (or a death it caused outside the garbage) has
 * turned it on, the clears stop there and the object whose turn it is is
 * returned, not cleared (else NULL); delete_garbage then goes on as
 * CPython would (release_held). */
static rc_gchead *clear_held(rc_heap *h, rc_gchead *collectable) {
    for (rc_gchead *g = gc_next(collectable); g != collectable; g = gc_next(g)) {
        prefetch_ahead(g);
        head_of(g)->refcnt++; /* garbage is never immortal */
    }
    return drop_in_order(h, collectable, true, NULL, NULL);
}

/* clear_held stopped at `stopped`, its turn finding SAVEALL on: brings the
 * garbage to where CPython's turn-by-turn clearing would have it then.
 * The holds on the cleared objects before it are dropped (those only
 * garbage kept die, with nothing left to drop; the others go to old, as
 * CPython moves a cleared object that is still alive), then the holds on
 * the rest, in order: what CPython's clears had already freed by then
 * (nothing but the hold keeps it) dies now, the same objects, its
 * references dropped as any death drops them. What is left, uncleared, stays
 * in collectable for delete_garbage's turns, SAVEALL read at each. An
 * object after the one whose hold is dropped is still held and cannot
 * die meanwhile, so the walk's next step is safe. */
static void release_held(rc_gchead *collectable, rc_gchead *stopped, rc_gchead *old) {
    rc_gchead cleared;
    list_init(&cleared);
    list_move_prefix(collectable, stopped, &cleared);
    while (!list_is_empty(&cleared)) {
        rc_gchead *g = gc_next(&cleared);
        rc_decref(obj_of(g));
        if (gc_next(&cleared) == g) {
            g->prev &= ~RC_GC_PREV_FLAGS;
            list_move(g, old);
        }
    }
    for (rc_gchead *g = gc_next(collectable), *next; g != collectable; g = next) {
        next = gc_next(g);
        rc_decref(obj_of(g));
    }
}

/* Whether o, a referent of garbage, is garbage too (marked collecting) or
 * immortal: the sweep leaves those alone. */
static inline bool sweep_ignores(void *o) {
    const rc_head *hd = rc_head_of(o);
    return hd->refcnt == RC_IMMORTAL || ((hd->info & RC_F_GC) && is_collecting(rc_gc_of(o)));
}

/* Adds o to s's doomed objects; false (nothing changed) when the array
 * cannot grow, which only makes the sweep stop. */
static bool doom(sweep_state *s, void *o) {
    if (s->ndoomed == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 64;
        void **a = rc__sys_alloc(s->h, s->doomed, s->cap * sizeof *a, cap * sizeof *a);
        if (a == NULL)
            return false;
        s->doomed = a;
        s->cap = cap;
    }
    s->doomed[s->ndoomed++] = o;
    return true;
}

/* sweep_garbage's visitor (arg: its sweep_state). Of a referent that is
 * not sweep_ignores: one that someone else keeps too (count above 1) loses
 * a count; one whose death runs nothing (untracked, plain, no weak
 * references) and that only this reference keeps dies now, unseen, unless
 * this sweep may have taken a count from it before (RC_F_SWEPT: a slot
 * visited earlier may still point to it, which a stop would make the undo
 * touch): then its count goes to 0 and it is doomed, freed after the walk;
 * anything else, a death that could be seen, stops the walk. Every visit
 * before that is counted. RC_F_SWEPT stays on survivors (harmless: such an
 * object is doomed rather than freed at once). */
static void visit_sweep(void **slot, void *arg) {
    sweep_state *s = arg;
    void *o = *slot;
    if (s->stop)
        return;
    if (o && !sweep_ignores(o)) {
        rc_head *hd = rc_head_of(o);
        bool unseen = !(hd->info & RC_F_GC) && !not_plain(hd->info);
        if (hd->refcnt > 1) {
            hd->refcnt--;
            if (unseen)
                hd->info |= RC_F_SWEPT;
        } else if (unseen && hd->refcnt == 1 && !(hd->info & RC_F_SWEPT)) {
            *slot = NULL;
            rc_decref(o);
        } else if (unseen && hd->refcnt == 1 && doom(s, o)) {
            hd->refcnt = 0;
        } else {
            s->stop = true;
            return;
        }
    }
    s->visits++;
}

/* Undoes visit_sweep's lost counts, for the first *left visits of a
 * traverse: those referents are alive still (only one never counted down
 * died), and their slots set. */
static void visit_unsweep(void **slot, void *left) {
    void *o = *slot;
    if (*(size_t *)left == 0)
        return;
    --*(size_t *)left;
    if (o && !sweep_ignores(o)) {
        rc_head_of(o)->refcnt++;
        rc_head_of(o)->info &= ~RC_F_SWEPT;
    }
}

/* Gives back the counts a sweep took until it stopped in the traverse of
 * stopped, after s->visits visits. */
static void undo_sweep(rc_heap *h, rc_gchead *collectable, rc_gchead *stopped,
                       const sweep_state *s) {
    for (rc_gchead *g = gc_next(collectable); g != stopped; g = gc_next(g)) {
        size_t all = SIZE_MAX;
        type_of(h, g)->traverse(obj_of(g), visit_unsweep, &all);
    }
    size_t visits = s->visits;
    type_of(h, stopped)->traverse(obj_of(stopped), visit_unsweep, &visits);
}

/* Gives garbage swept with nothing stopping it back; !linked: the prev
 * pointers hold gc_refs, which must be 0. */
static void free_swept(rc_heap *h, rc_gchead *collectable, bool linked) {
    rc_gchead *next;
    for (rc_gchead *g = gc_next(collectable); g != collectable; g = next) {
        prefetch_ahead(g);
        next = gc_next(g);
        if (!linked && RC_UNLIKELY(get_refs(g) != 0))
            refcount_too_small(g);
        rc__free_swept(h, obj_of(g));
    }
    list_init(collectable);
}

/* What deduce_unreachable left singly linked (!linked) gets its prev
 * pointers back, marked as move_unreachable marks the unreachable. */
static void link_unreachable(rc_gchead *collectable) {
    rc_gchead *prev = collectable;
    uintptr_t stride = 0;
    for (rc_gchead *g = gc_next(collectable); g != collectable; g = walk_next(g, &stride)) {
        prefetch_ahead(g);
        if (RC_UNLIKELY(get_refs(g) != 0))
            refcount_too_small(g);
        g->prev = (uintptr_t)prev | RC_GC_PREV_COLLECTING | RC_GC_PREV_UNREACHABLE;
        prev = g;
    }
    collectable->prev = (uintptr_t)prev;
}

/* Whether o, a referent of the garbage, may die as the garbage is cleared
 * in a way someone can see: not garbage or immortal (sweep_ignores), and
 * tracked but no survivor, or untracked and not plain (an untracked plain
 * object holds no reference and runs no code). Counts are not asked: an
 * object the garbage holds once of many is taken to die too. */
static void visit_outside(void **slot, void *arg) {
    sweep_state *s = arg;
    void *o = *slot;
    if (o == NULL || sweep_ignores(o))
        return;
    uint32_t info = rc_head_of(o)->info;
    if (info & RC_F_GC)
        s->stop |= !s->survivors || (info & RC_F_GEN) == RC_GC_PERMANENT << RC_F_GEN_SHIFT ||
                   (!rc__one_heap() && rc_obj_heap(o) != s->h);
    else
        s->stop |= not_plain(info) != 0;
}

/* Whether clearing the garbage in collectable (not plain) may end an object
 * outside it that someone can see die: then it is cleared in turns, as
 * CPython clears it, where a death one clear causes drops its references
 * on the spot (clear_held would drop them only at the dead object's own
 * turn, and the deaths outside would come in another order). One read of
 * every reference, unless none left the examined objects (f->escapes
 * false) and those are all survivors. */
static bool outside_seen(rc_heap *h, rc_gchead *collectable, const found *f, bool survivors) {
    if (!f->escapes && survivors)
        return false;
    sweep_state s = {.h = h, .survivors = survivors};
    return drop_in_order(h, collectable, f->far, visit_outside, &s) != NULL;
}

/* Garbage of plain objects (not_plain) whose references outside itself
 * kill nothing but what dies unseen (visit_sweep) runs no user code as it
 * dies, so no one can tell in which order its objects die: here none is
 * unlinked or counted down; their references are looked at in one walk
 * (what they keep alive loses a count) and then all are freed in another.
 * So their prev pointers are never read, and deduce_unreachable need not
 * put them back (!linked). Returns false, having changed nothing anyone
 * could see (counts given back, the list linked again), when a death that
 * could be seen is met: CPython's way then decides in which order such
 * deaths come. f describes the garbage; when its scan was skipped and no
 * reference left it (f->escapes false), there is nothing to look at: the
 * free walk alone runs. */
static bool sweep_garbage(rc_heap *h, rc_gchead *collectable, const found *f) {
    sweep_state s = {.h = h};
    rc_gchead *stopped = NULL;
    if (f->linked || f->escapes)
        stopped = drop_in_order(h, collectable, f->far, visit_sweep, &s);
    if (stopped == NULL) {
        free_swept(h, collectable, f->linked);
        for (size_t i = 0; i < s.ndoomed; i++) /* a leaf may be another heap's */
            rc__free_swept(rc_obj_heap(s.doomed[i]), s.doomed[i]);
    } else {
        undo_sweep(h, collectable, stopped, &s);
        if (!f->linked)
            link_unreachable(collectable);
    }
    rc__sys_free(h, s.doomed, s.cap * sizeof *s.doomed);
    return stopped == NULL;
}

/* Breaks the cycles that *f describes: drops each object's references with
 * a reference of our own held, so clearing one object may free another
 * safely (or, for far linked objects, holds and clears them all first:
 * clear_held; or, for plain ones, sweeps them: sweep_garbage). What is
 * still alive afterwards (kept by RC_GC_DEBUG_SAVEALL, or held from outside
 * by a death still pending) moves to old. SAVEALL is read for each object,
 * as CPython's delete_garbage does: what clearing one object runs (a clear,
 * a release, the finalizer of an object only garbage held) may turn it on
 * or off for the next (the sweep reads it once: it runs no user code;
 * clear_held reads it at each object's turn too, and stops holding when it
 * is on). An object that
 * should be saved but finds no room in the garbage list is neither saved
 * nor cleared and waits in old for the next collection: returns how many
 * objects wait so (0 when all went). */
static size_t delete_garbage(rc_heap *h, rc_gchead *collectable, const found *f, rc_gchead *old,
                             bool survivors) {
    rc_gcstate *gc = &h->gc;
    size_t waiting = 0;
    size_t n = f->unreachable;
    bool save = (gc->debug & RC_GC_DEBUG_SAVEALL) != 0;
    /* a sweep that stopped met a death outside the garbage that can be seen
     * (or could not grow its array of doomed objects) */
    bool seen = false;
    if (!save && (!f->linked || !f->mixed)) {
        if (sweep_garbage(h, collectable, f))
            return 0;
        seen = true;
    }
    /* Swept garbage left singly linked (deduce_unreachable with SAVEALL off)
     * that is to be saved after all: user code run since the scan (the log
     * function, for DEBUG_COLLECTABLE's lines) turned SAVEALL on. */
    if (save && !f->linked)
        link_unreachable(collectable);
    if (save && garbage_reserve(h, n) != 0) {
        clear_flags(collectable);
        list_merge(collectable, old);
        return n;
    }
    /* A weak reference a finalizer or callback made to garbage must see its
     * target die as clearing in turns has it die (CPython's: a death as one
     * object is cleared may run the callback of a weak reference another,
     * not yet cleared, holds); clear_held would clear that holder first.
     * So must what the garbage ends outside it that can be seen (seen): in
     * turns, an object another's clear frees drops its references on the
     * spot; held, only at its own turn. */
    bool cleared = !save && !seen && held_pays(n, f->far) &&
                   gc->weakrefs_made == f->weakrefs_made &&
                   !outside_seen(h, collectable, f, survivors);
    if (cleared) {
        rc_gchead *stopped = clear_held(h, collectable);
        if (stopped) {
            release_held(collectable, stopped, old);
            cleared = false;
        }
    }
    while (!list_is_empty(collectable)) {
        rc_gchead *g = gc_next(collectable);
        prefetch_ahead(g);
        void *obj = obj_of(g);
        if (cleared) {
            rc_decref(obj); /* clear_held's hold */
        } else if (gc->debug & RC_GC_DEBUG_SAVEALL) {
            if (garbage_reserve(h, 1) == 0) /* reserved for all n when it was on at first */
                gc->garbage[gc->ngarbage++] = rc_incref(obj);
            else
                waiting++;
        } else {
            head_of(g)->refcnt++; /* garbage is never immortal */
            rc__drop_references(type_of(h, g), obj);
            rc_decref(obj);
        }
        if (gc_next(collectable) == g) {
            g->prev &= ~RC_GC_PREV_FLAGS;
            list_move(g, old);
        }
    }
    return waiting;
}

/* ------------------------------------------------------------- debugging */

static void log_object(rc_heap *h, const char *what, void *obj) {
    rc__gc_logf(h, "gc: %s <%s %p>", what, rc__type_name(h, obj), obj);
}

/* One line per object of list. When the list is linked both ways, each
 * object moves to `seen` before its line is written and the walk resumes
 * at the head of what is left (as finalize_garbage): the log function may
 * reach an object through a weak reference and drop what it refers to,
 * that object itself included. */
static void log_objects(rc_heap *h, const char *what, rc_gchead *list, bool linked) {
    if (!linked) {
        for (rc_gchead *g = gc_next(list); g != list; g = gc_next(g))
            log_object(h, what, obj_of(g));
        return;
    }
    rc_gchead seen;
    list_init(&seen);
    while (!list_is_empty(list)) {
        rc_gchead *g = gc_next(list);
        list_move(g, &seen);
        log_object(h, what, obj_of(g));
    }
    list_merge(&seen, list);
}

static void log_generations(rc_heap *h) {
    rc__gc_logf(h, "gc: objects in each generation: %zu %zu %zu", list_size(&h->gc.gen[0].head),
                list_size(&h->gc.gen[1].head), list_size(&h->gc.gen[2].head));
    rc__gc_logf(h, "gc: objects in permanent generation: %zu", list_size(&h->gc.permanent));
}

static double seconds_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A line longer than the buffer (a long type name) is formatted again in
 * memory from the heap's allocator; cut short only if that fails. */
void rc__gc_logf(rc_heap *h, const char *fmt, ...) {
    char buf[256], *line = buf;
    va_list ap;
    va_start(ap, fmt);
    int n = rc__vsnprintf_c(buf, sizeof buf, fmt, ap); /* "%.4fs elapsed" as CPython's */
    va_end(ap);
    size_t size = n >= (int)sizeof buf ? (size_t)n + 1 : 0;
    char *whole = size ? rc__sys_alloc(h, NULL, 0, size) : NULL;
    if (whole) {
        va_start(ap, fmt);
        rc__vsnprintf_c(whole, size, fmt, ap);
        va_end(ap);
        line = whole;
    }
    if (h->gc.log)
        h->gc.log(line, h->gc.log_arg);
    else
        fprintf(stderr, "%s\n", line);
    if (whole)
        rc__sys_free(h, whole, size);
}

/* ------------------------------------------------------------ collection */

/* What one collection found. CPython's "uncollectable" objects are those
 * with a legacy tp_del; C types have no such slot, so it is always 0. */
typedef struct collect_result {
    size_t collected, uncollectable;
    int status; /* -1: the garbage list could not grow (ENOMEM) */
} collect_result;

/* Collections running in this thread, of any heap (below). */
static _Thread_local unsigned thread_collections;

/* visit_within's state: the heap, and whether a referent was another's. */
typedef struct within {
    const rc_heap *h;
    bool foreign;
} within;

static void visit_within(void **slot, void *arg) {
    within *w = arg;
    if (*slot && rc_obj_heap(*slot) != w->h)
        w->foreign = true;
}

/* Whether no object of list (of h) refers to an object of another heap. */
static bool list_refers_within(rc_heap *h, rc_gchead *list) {
    within w = {h, false};
    for (rc_gchead *g = gc_next(list); g != list && !w.foreign; g = gc_next(g))
        type_of(h, g)->traverse(obj_of(g), visit_within, &w);
    return !w.foreign;
}

/* In a collection nested in another heap's, after user code ran: whether
 * the unreachable set now refers to another heap's object, whose marks a
 * second look at the set would take for its own; then the set is kept as
 * it is, as resurrected, for a later collection: every object gets its
 * prev pointer back (the list may be singly linked, prev holding gc_refs)
 * and goes to old. Out of line: collect's common path stays as it was. */
static __attribute__((noinline)) bool keep_unreachable(rc_heap *h, rc_gchead *unreachable,
                                                       rc_gchead *old) {
    if (list_refers_within(h, unreachable))
        return false;
    rc_gchead *prev = unreachable;
    for (rc_gchead *g = gc_next(unreachable); g != unreachable; g = gc_next(g)) {
        g->prev = (uintptr_t)prev;
        prev = g;
    }
    unreachable->prev = (uintptr_t)prev;
    list_merge(unreachable, old);
    return true;
}

static bool refers_within(rc_heap *h, int generation);

/* The counts a collection of generation sets, as CPython's; returns the
 * list of generation with every younger one merged into it (0, 1, ...). */
static rc_gchead *gather_young(rc_gcstate *gc, int generation) {
    if (generation + 1 < RC_GC_GENERATIONS)
        gc->gen[generation + 1].count++;
    for (int i = 0; i <= generation; i++)
        gc->gen[i].count = 0;
    for (int i = 0; i < generation; i++)
        list_merge(&gc->gen[i].head, &gc->gen[generation].head);
    return &gc->gen[generation].head;
}

/* Moves the survivors of a collection of generation to the next one (the
 * oldest keeps them), and keeps the long-lived counts: the oldest's
 * survivors are long_lived_total, the next-oldest's add to
 * long_lived_pending. They go before any user code runs, as CPython's:
 * young may be generation 0, where what user code makes (or a finalizer of
 * a death it causes tracks again) is linked, and must stay, with its tag
 * 0. */
static void promote_survivors(rc_gcstate *gc, int generation, size_t survivors) {
    if (generation + 1 < RC_GC_GENERATIONS) {
        if (generation == RC_GC_GENERATIONS - 2)
            gc->long_lived_pending += survivors;
        list_merge(&gc->gen[generation].head, &gc->gen[generation + 1].head);
    } else {
        gc->long_lived_pending = 0;
        gc->long_lived_total = survivors;
    }
}

/* One collection of generations 0..generation (gc_collect_main). */
static collect_result collect(rc_heap *h, int generation) {
    rc_gcstate *gc = &h->gc;
    collect_result r = {0, 0, 0};
    double t0 = 0;
    if (gc->debug & RC_GC_DEBUG_STATS) {
        rc__gc_logf(h, "gc: collecting generation %d...", generation);
        log_generations(h);
        t0 = seconds_now();
    }
    /* Nested: the "start" callbacks and the log function, user code run
     * since rc_gc_collect's refers_within, may have made a reference out. */
    if (RC_UNLIKELY(thread_collections > 1) &&
        (gc->ncallbacks || (gc->debug & RC_GC_DEBUG_STATS)) && !refers_within(h, generation))
        return r;
    rc_gchead *young = gather_young(gc, generation);
    rc_gchead *old = generation + 1 < RC_GC_GENERATIONS ? &gc->gen[generation + 1].head : young;
    rc_gchead unreachable, still, callbacks;
    list_init(&callbacks);
    found f;
    size_t examined = deduce_unreachable(h, young, &unreachable, generation, may_sweep(h), &f);
    promote_survivors(gc, generation, examined - f.unreachable);
    /* before weak references to the garbage are cleared, as CPython: the log
     * function may follow one and resurrect what it reaches (the garbage is
     * then special, so linked both ways: see deduce_unreachable) */
    bool logged = (gc->debug & RC_GC_DEBUG_COLLECTABLE) && f.unreachable;
    if (logged)
        log_objects(h, "collectable", &unreachable, f.linked);
    bool finalizers = f.special && scan_unreachable(h, &unreachable, &callbacks);
    f.weakrefs_made = gc->weakrefs_made;

    /* user code may resurrect: the log function, a finalizer, or a callback
     * whose argument is garbage (C hands it a pointer where Python could not) */
    bool user_code = !list_is_empty(&callbacks) || (logged && f.special);
    r.collected = run_weakref_callbacks(&callbacks, old, generation + (young != old));
    rc_gchead *garbage = &unreachable;
    user_code = (finalizers && finalize_garbage(h, &unreachable)) || user_code;
    /* the log function is user code too (the list may be singly linked) */
    if (RC_UNLIKELY(thread_collections > 1) &&
        (user_code || logged) &&
        keep_unreachable(h, &unreachable, old))
        goto done;
    if (user_code) {
        handle_resurrected(h, &unreachable, &still, old, &f);
        garbage = &still;
    }
    /* what waits for room in the garbage list is not collected: the next
     * collection finds it again, and counts it then; a live heap's
     * collections have no garbage, and set up no sweep */
    size_t waiting = list_is_empty(garbage)
                         ? 0
                         : delete_garbage(h, garbage, &f, old,
                                          generation == RC_GC_GENERATIONS - 1 && !user_code &&
                                              !logged);
    r.collected += f.unreachable - waiting;
    r.status = waiting ? -1 : 0;
done:
    if (gc->debug & RC_GC_DEBUG_STATS)
        rc__gc_logf(h, "gc: done, %zu unreachable, %zu uncollectable, %.4fs elapsed",
                    r.collected + r.uncollectable, r.uncollectable, seconds_now() - t0);
    gc->stats[generation].collections++;
    gc->stats[generation].collected += r.collected;
    gc->stats[generation].uncollectable += r.uncollectable;
    return r;
}

/* Calls every callback with phase and info. The list may change under a
 * callback (one removing itself): it is read afresh at each step. */
static void invoke_callbacks(rc_heap *h, const char *phase, const rc_gc_info *info) {
    rc_gcstate *gc = &h->gc;
    for (size_t i = 0; i < gc->ncallbacks; i++) {
        rc_gc_cb c = gc->callbacks[i];
        c.cb(h, phase, info, c.arg);
    }
}

/* A collection between the "start" and "stop" callbacks; the caller marks
 * it running (start_collecting). Returns what rc_gc_collect returns. */
static long collect_with_callbacks(rc_heap *h, int generation) {
    rc_gc_info info = {generation, 0, 0};
    invoke_callbacks(h, "start", &info);
    collect_result r = collect(h, generation);
    info.collected = r.collected;
    info.uncollectable = r.uncollectable;
    invoke_callbacks(h, "stop", &info);
    if (r.status != 0) {
        errno = ENOMEM;
        return -1;
    }
    return (long)(r.collected + r.uncollectable);
}

/* thread_collections (above): collections running in this thread, of any
 * heap (a heap is used by one thread at a time). While one of a heap runs,
 * no other of that heap starts (rc_gc_collect from a finalizer returns 0).
 * Its marks (collecting, gc_refs in prev) are on its own objects, which
 * another heap's collection would misread if it reached them through a
 * reference between heaps: so a nested collection of another heap runs
 * only if none of the objects it examines refers to another heap's
 * (refers_within), keeps its garbage if user code it ran made a reference
 * out (collect: list_refers_within), and an automatic one waits. */
static bool busy(const rc_gcstate *gc) { return gc->walks || gc->collecting; }

static void start_collecting(rc_heap *h) {
    h->gc.collecting = true;
    thread_collections++;
}

static void stop_collecting(rc_heap *h) {
    h->gc.collecting = false;
    thread_collections--;
}

/* Whether no object of generations 0..generation of h refers to an object
 * of another heap: one traverse each, only for a collection nested in
 * another heap's. */
static bool refers_within(rc_heap *h, int generation) {
    for (int i = 0; i <= generation; i++)
        if (!list_refers_within(h, &h->gc.gen[i].head))
            return false;
    return true;
}

/* The automatic collection: the oldest generation over its threshold, a
 * full one only when enough objects reached generation 2 since the last
 * (pending >= total / 4, CPython's issue #4074 rule). */
static void collect_generations(rc_heap *h) {
    rc_gcstate *gc = &h->gc;
    int saved_errno = errno;
    start_collecting(h);
    for (int i = RC_GC_GENERATIONS - 1; i >= 0; i--) {
        if (gc->gen[i].count > gc->gen[i].threshold) {
            if (i == RC_GC_GENERATIONS - 1 && gc->long_lived_pending < gc->long_lived_total / 4)
                continue;
            collect_with_callbacks(h, i);
            break;
        }
    }
    stop_collecting(h);
    errno = saved_errno;
}

/* Also forgets the type the heap made last (object.c, type_info_of): a
 * plugin host collects before it unloads code whose types have no object
 * left, and the code it loads next may put another rc_type at that
 * address, whose functions must be read anew. */
long rc_gc_collect(rc_heap *h, int generation) {
    if (h == NULL || generation < 0 || generation >= RC_GC_GENERATIONS) {
        errno = EINVAL;
        return -1;
    }
    long n = 0;
    /* h->dying: rc_heap_free's release of every object is under way; what
     * it released may not be traversed (see released) */
    if (!busy(&h->gc) && !h->dying && (!thread_collections || refers_within(h, generation))) {
        start_collecting(h);
        n = collect_with_callbacks(h, generation);
        stop_collecting(h);
    }
    h->last_type = NULL;
    return n;
}

/* ------------------------------------------------- object.c's entry points */

void rc__gc_init(rc_heap *h) {
    static const long thresholds[RC_GC_GENERATIONS] = {700, 10, 10};
    for (int i = 0; i < RC_GC_GENERATIONS; i++) {
        list_init(&h->gc.gen[i].head);
        h->gc.gen[i].threshold = thresholds[i];
    }
    list_init(&h->gc.permanent);
    h->gc.enabled = true;
}

/* The automatic collection of a tracked allocation, when count0 passed
 * threshold0 (CPython's _PyObject_GC_Link conditions, checked when the new
 * object is made). */
void rc__gc_collect_auto(rc_heap *h) {
    rc_gcstate *gc = &h->gc;
    if (gc->gen[0].count > gc->gen[0].threshold && gc->enabled && gc->gen[0].threshold &&
        !busy(gc) && !thread_collections && !h->dying)
        collect_generations(h);
}

/* The garbage list's references are not dropped: the heap is going away
 * and every object with it. */
void rc__gc_fini(rc_heap *h) {
    rc_gcstate *gc = &h->gc;
    rc__sys_free(h, gc->garbage, gc->garbage_cap * sizeof *gc->garbage);
    rc__sys_free(h, gc->callbacks, gc->callbacks_cap * sizeof *gc->callbacks);
    gc->garbage = NULL;
    gc->callbacks = NULL;
    gc->ngarbage = gc->garbage_cap = gc->ncallbacks = gc->callbacks_cap = 0;
}

/* ------------------------------------------------------------ settings */

/* A NULL heap (or out array): the setters do nothing, the getters give
 * false, 0 or nothing, as tracemalloc's do. */

void rc_gc_enable(rc_heap *h) {
    if (h)
        h->gc.enabled = true;
}

void rc_gc_disable(rc_heap *h) {
    if (h)
        h->gc.enabled = false;
}

bool rc_gc_isenabled(const rc_heap *h) { return h && h->gc.enabled; }

void rc_gc_set_threshold(rc_heap *h, long threshold0, long threshold1, long threshold2) {
    if (h == NULL)
        return;
    h->gc.gen[0].threshold = threshold0;
    h->gc.gen[1].threshold = threshold1;
    h->gc.gen[2].threshold = threshold2;
}

void rc_gc_get_threshold(const rc_heap *h, long out[3]) {
    for (int i = 0; h && out && i < RC_GC_GENERATIONS; i++)
        out[i] = h->gc.gen[i].threshold;
}

void rc_gc_get_count(const rc_heap *h, long out[3]) {
    for (int i = 0; h && out && i < RC_GC_GENERATIONS; i++)
        out[i] = h->gc.gen[i].count;
}

void rc_gc_get_stats(const rc_heap *h, rc_gc_stats out[3]) {
    if (h && out)
        memcpy(out, h->gc.stats, sizeof h->gc.stats);
}

void rc_gc_set_debug(rc_heap *h, unsigned flags) {
    if (h)
        h->gc.debug = flags;
}

unsigned rc_gc_get_debug(const rc_heap *h) { return h ? h->gc.debug : 0; }

void rc_gc_set_log(rc_heap *h, void (*log)(const char *line, void *arg), void *arg) {
    if (h == NULL)
        return;
    h->gc.log = log;
    h->gc.log_arg = log ? arg : NULL;
}

rc_gc_log_fn rc_gc_get_log(const rc_heap *h, void **arg) {
    if (arg)
        *arg = h ? h->gc.log_arg : NULL;
    return h ? h->gc.log : NULL;
}

/* --------------------------------------------------------------- freezing */

/* Whether obj's release ran: rc_heap_free, which dropped its references
 * first, releases objects long before it frees them, and their traverse
 * may read what the release freed (a vector's items). Nothing traverses
 * them: a collection waits (rc_gc_collect). They are dead, as a CPython
 * object is from its dealloc on (untracked first), though still on their
 * lists: not tracked, walked or counted frozen. */
static bool released(const void *obj) { return (rc_head_of(obj)->info & RC_F_RELEASED) != 0; }

/* A walk's callback moving objects between lists would derail the walk. */
static void check_not_walking(rc_heap *h, const char *call) {
    if (h->gc.walks)
        rc__fatal_ptr(NULL, call, "called from a walk's callback", h);
}

/* rc_heap_free from a finalizer, callback or walk of the heap would free
 * the lists and objects the collection or walk is going through. */
void rc__gc_check_idle(rc_heap *h, const char *call) {
    if (h->gc.collecting)
        rc__fatal_ptr(NULL, call, "called during a collection of the heap", h);
    check_not_walking(h, call);
    if (h->gc.holds)
        rc__fatal_ptr(NULL, call, "called from a walk's callback", h);
}

/* Moves the objects of from to the end of to, generation gen. */
static void list_merge_as(rc_gchead *from, rc_gchead *to, uint32_t gen) {
    for (rc_gchead *g = gc_next(from); g != from; g = gc_next(g))
        set_gen(g, gen);
    list_merge(from, to);
}

void rc_gc_freeze(rc_heap *h) {
    if (h == NULL)
        return;
    check_not_walking(h, "rc_gc_freeze");
    for (int i = 0; i < RC_GC_GENERATIONS; i++) {
        list_merge_as(&h->gc.gen[i].head, &h->gc.permanent, RC_GC_PERMANENT);
        h->gc.gen[i].count = 0; /* every count, as CPython's gc_freeze_impl */
    }
}

void rc_gc_unfreeze(rc_heap *h) {
    if (h == NULL)
        return;
    check_not_walking(h, "rc_gc_unfreeze");
    list_merge_as(&h->gc.permanent, &h->gc.gen[RC_GC_GENERATIONS - 1].head,
                  RC_GC_GENERATIONS - 1);
}

/* The frozen objects; during rc_heap_free's releases, those not released. */
size_t rc_gc_get_freeze_count(const rc_heap *h) {
    if (h == NULL)
        return 0;
    if (!h->dying)
        return list_size(&h->gc.permanent);
    size_t n = 0;
    for (const rc_gchead *g = gc_next(&h->gc.permanent); g != &h->gc.permanent; g = gc_next(g))
        n += !released(obj_of(g));
    return n;
}

/* ----------------------------------------------------------------- walks */

typedef struct find_ref { const void *target; bool found; } find_ref;

static void visit_find(void **slot, void *arg) {
    find_ref *f = arg;
    if (*slot == f->target)
        f->found = true;
}

static bool refers_to(const rc_heap *h, const rc_gchead *g, const void *target) {
    find_ref f = {target, false};
    type_of(h, g)->traverse(obj_of(g), visit_find, &f);
    return f.found;
}

/* Calls fn on each object of list (each one that refers to `referent`, when
 * not NULL), in order, without allocating: the objects on it when the walk
 * starts, as CPython's get_objects lists them (objects fn makes join the
 * list's end, after the last one, which ends the walk). No collection
 * starts meanwhile, so objects stay on their lists; the current, the next
 * and the last object are held, so fn may drop any reference, even the last
 * one. Objects on a list have a count of at least 1 whenever user code
 * runs, so the holds are safe. */
static int walk_list(rc_heap *h, rc_gchead *list, const void *referent, rc_each_fn fn,
                     void *arg) {
    rc_gchead *g = gc_next(list), *last = gc_prev(list);
    if (g == list)
        return 0;
    rc_incref(obj_of(last));
    rc_incref(obj_of(g));
    int r = 0;
    while (g != list) {
        void *obj = obj_of(g);
        if (!released(obj) && (referent == NULL || refers_to(h, g, referent)))
            r = fn(obj, arg);
        rc_gchead *next = r || g == last ? list : gc_next(g);
        if (next != list)
            rc_incref(obj_of(next));
        rc_decref(obj);
        g = next;
    }
    rc_decref(obj_of(last));
    return r;
}

/* Walks generations lo..hi (never the permanent one). */
static int walk_generations(rc_heap *h, int lo, int hi, const void *referent, rc_each_fn fn,
                            void *arg) {
    int r = 0;
    h->gc.walks++;
    for (int i = lo; i <= hi && r == 0; i++)
        r = walk_list(h, &h->gc.gen[i].head, referent, fn, arg);
    h->gc.walks--;
    return r;
}

int rc_gc_get_objects(rc_heap *h, int generation, rc_each_fn fn, void *arg) {
    if (h == NULL || fn == NULL || generation < -1 || generation >= RC_GC_GENERATIONS) {
        errno = EINVAL;
        return -1;
    }
    if (generation < 0)
        return walk_generations(h, 0, RC_GC_GENERATIONS - 1, NULL, fn, arg);
    return walk_generations(h, generation, generation, NULL, fn, arg);
}

int rc_gc_get_referrers(rc_heap *h, const void *obj, rc_each_fn fn, void *arg) {
    if (h == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (obj == NULL)
        return 0;
    /* freed: named, as rc_gc_get_referents names it, not answered with an
     * empty walk (a live object of another heap is fine: references may
     * cross heaps) */
    rc_check_not_freed(obj, "rc_gc_get_referrers");
    return walk_generations(h, 0, RC_GC_GENERATIONS - 1, obj, fn, arg);
}

typedef struct referents { rc_each_fn fn; void *arg; int result; } referents;

static void visit_referent(void **slot, void *arg) {
    referents *w = arg;
    void *o = *slot;
    if (o == NULL || w->result != 0)
        return;
    /* Dying (count 0, not freed): a slot its holder's clear dropped with
     * rc_decref and sets to NULL after it (api.md allows that order), walked
     * from the death the drop started (a weak reference's callback, a
     * release). It holds no reference any more, as a NULL one; a count
     * taken here would be fatal. A freed referent (its arena gone back
     * too) is still named below. */
    if (rc_head_of(o)->refcnt == 0 && !rc_is_freed(o))
        return;
    rc_incref(o);
    w->result = w->fn(o, w->arg);
    rc_decref(o);
}

int rc_gc_get_referents(const void *obj, rc_each_fn fn, void *arg) {
    if (fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    if (obj == NULL)
        return 0;
    /* freed (or in an arena gone back, all zeros): named as such, not as
     * the rc_incref below, and not answered with an empty walk */
    rc_check_not_freed(obj, "rc_gc_get_referents");
    const rc_head *hd = rc_head_of(obj);
    rc_heap *h = rc_obj_heap(obj);
    const rc_type *t = rc__type(h, hd);
    if (t->traverse == NULL || released(obj))
        return 0;
    referents w = {fn, arg, 0};
    /* Dying by its count (its weak references' callbacks, clear or release
     * running: count 0) it is not freed yet, and is not until they return:
     * it answers, as the other queries do, without a count taken (a NULL
     * slot, one its clear dropped, is not a referent). */
    bool dying = hd->refcnt == 0;
    void *self = dying ? (void *)obj : rc_incref((void *)obj);
    h->gc.holds++;
    t->traverse(self, visit_referent, &w);
    h->gc.holds--;
    if (!dying)
        rc_decref(self);
    return w.result;
}

bool rc_gc_is_tracked(const void *obj) {
    if (obj == NULL)
        return false;
    rc_check_not_freed(obj, "rc_gc_is_tracked");
    return (rc_head_of(obj)->info & RC_F_GC) && rc_gc_of(obj)->next != 0 && !released(obj);
}

bool rc_gc_is_finalized(const void *obj) {
    if (obj == NULL)
        return false;
    rc_check_not_freed(obj, "rc_gc_is_finalized");
    if (!(rc_head_of(obj)->info & RC_F_FINALIZED))
        return false;
    /* dying by its count: finalized when its finalizer returns */
    return !rc_finalizing_has(rc_obj_heap(obj)->finalizing, obj);
}

/* --------------------------------------------------------------- garbage */

int rc_gc_garbage(rc_heap *h, rc_each_fn fn, void *arg) {
    if (h == NULL || fn == NULL) {
        errno = EINVAL;
        return -1;
    }
    rc_gcstate *gc = &h->gc;
    int r = 0;
    gc->holds++;
    for (size_t i = 0; i < gc->ngarbage && r == 0; i++) {
        void *obj = rc_incref(gc->garbage[i]);
        r = fn(obj, arg);
        rc_decref(obj);
    }
    gc->holds--;
    return r;
}

size_t rc_gc_garbage_count(const rc_heap *h) { return h ? h->gc.ngarbage : 0; }

/* The list is detached before its references are dropped: a dying object's
 * finalizer may run a collection that fills a new one. */
void rc_gc_garbage_clear(rc_heap *h) {
    if (h == NULL)
        return;
    rc_gcstate *gc = &h->gc;
    void **objs = gc->garbage;
    size_t n = gc->ngarbage, cap = gc->garbage_cap;
    gc->garbage = NULL;
    gc->ngarbage = gc->garbage_cap = 0;
    for (size_t i = n; i-- > 0;) /* last first, as CPython's list clear */
        rc_decref(objs[i]);
    rc__sys_free(h, objs, cap * sizeof *objs);
}

/* ------------------------------------------------------------- callbacks */

int rc_gc_callback_add(rc_heap *h, rc_gc_callback cb, void *arg) {
    if (h == NULL || cb == NULL) {
        errno = EINVAL;
        return -1;
    }
    rc_gcstate *gc = &h->gc;
    if (gc->ncallbacks == gc->callbacks_cap) {
        size_t cap = gc->callbacks_cap ? gc->callbacks_cap * 2 : 4;
        rc_gc_cb *a = rc__sys_alloc(h, gc->callbacks, gc->callbacks_cap * sizeof *a,
                                    cap * sizeof *a);
        if (a == NULL)
            return -1;
        gc->callbacks = a;
        gc->callbacks_cap = cap;
    }
    gc->callbacks[gc->ncallbacks++] = (rc_gc_cb){cb, arg};
    return 0;
}

int rc_gc_callback_remove(rc_heap *h, rc_gc_callback cb, void *arg) {
    if (h == NULL) {
        errno = EINVAL;
        return -1;
    }
    rc_gcstate *gc = &h->gc;
    for (size_t i = 0; i < gc->ncallbacks; i++) {
        if (gc->callbacks[i].cb == cb && gc->callbacks[i].arg == arg) {
            memmove(&gc->callbacks[i], &gc->callbacks[i + 1],
                    (gc->ncallbacks - i - 1) * sizeof *gc->callbacks);
            gc->ncallbacks--;
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}
