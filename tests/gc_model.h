/*
 * gc_model.h — a reachability oracle for the cycle collector, shared by the
 * seeded random test (tests/test_gc_oracle.c) and the libFuzzer target
 * (tests/fuzz/fuzz_gc.c).
 *
 * gm_run() reads bytes as a program of heap operations (create an object,
 * link a slot, unlink, drop a reference, collect a generation, ...), runs it
 * on a fresh heap and, beside it, on a model that knows every reference the
 * program made. The model does its own reference counting and its own trial
 * deletion, so after every operation it knows which objects must have died,
 * which finalizers must have run, every true reference count, what
 * rc_gc_collect must return (CPython's figure: the unreachable objects that
 * were not resurrected), the generation of every tracked object and the
 * collector's counts and statistics. The objects' own callbacks record what
 * really happened; any difference calls gm_fail(), which the includer defines
 * and which must not return.
 *
 * The objects: nodes (tracked, GM_SLOTS reference slots, with or without a
 * clear function), leaves (untracked, no references) and holders (untracked
 * yet with GM_SLOTS slots: their type has clear but no traverse). The
 * collector does not see a holder's references, so what a holder refers to
 * is reachable, and a cycle through a holder is never garbage: it leaks, as
 * in CPython, and the model's trial deletion says so as the collector's
 * does (the program breaks such cycles before its end). The death of an
 * untracked object that runs code (a holder; a leaf, whose type has a
 * release; a plain leaf with weak references) past the destructor's
 * nesting limit waits in a slot taken when it was made, or got its first
 * weak reference (src/object.c, untracked_stack; gm_slot_kind); the heap's
 * rc_alloc_fn can fail on demand while a holder is made, and once such
 * objects fill that stack rc_new must then fail with ENOMEM, changing
 * nothing. Any object
 * may have a finalizer that only logs, or one that resurrects the object
 * into a global list (the program's "resurrected" roots); a node or holder
 * may have one that drops the reference in its slot 0, which may free
 * other garbage by reference counting in the middle of a collection. Any
 * may be large (past the small-object allocator). Chains and rings mix
 * holders into their links, so that long chains of holders, and of
 * holders and nodes, die past the nesting limit. With gm_config.plain,
 * most objects are plain (their types have at most traverse: no
 * finalizer, clear or release), so that the garbage of whole collections
 * is often plain and the collector sweeps it, or falls back to clearing it
 * object by object when some of it refers to what it may not sweep (a live
 * object, a leaf held elsewhere too or with a finalizer, a holder); a plain
 * object's death runs nothing the model could see, so the heap's object
 * counts are checked after every operation, and ASan sees to the rest.
 * Weak references, with or without a callback, to any of them are held
 * and stored in slots like any object: the model knows when each is
 * cleared, which callbacks run (never that of a weak reference that is
 * garbage itself) and counts garbage weak references in rc_gc_collect's
 * result, as CPython does. Programs also freeze and unfreeze the heap, set
 * RC_GC_DEBUG_SAVEALL (the garbage is then kept whole in the garbage list,
 * its finalizers still run once) and clear the garbage list, and
 * get_referrers/get_referents are checked against the model. The type
 * callbacks check the collector's manners: traverse and clear never see a
 * released object, a finalizer sees all its referents alive (PEP 442: no
 * garbage is cleared before every finalizer of that garbage ran), release
 * finds its references dropped, and rc_gc_collect called from a finalizer,
 * callback or release during a collection returns 0 without collecting.
 *
 * Where CPython's answer depends on an order that is the implementation's
 * (its list order) the model accepts either answer:
 *   - the generation of an object resurrected by its finalizer while dying
 *     by reference counting (CPython re-tracks it into generation 0, a
 *     detail of subtype_dealloc), and, in a collection whose finalizers drop
 *     references, of the garbage they resurrect: the model takes the
 *     collector's answer at the next collection;
 *   - the callback of a weak reference dying by reference counting in the
 *     same operation as its target, where the order of those deaths is not
 *     the program's (inside a collection, past the destructor's nesting
 *     limit, at teardown);
 * rc_heap_free runs no callbacks when it releases what is left (rcgc's
 * choice, which CPython's shutdown does not define); with gm_config.spawn
 * the releases it runs make objects (plain ones too) and weak references
 * (gm_spawn), and the callback of one whose target then dies by its count
 * may run (gm_spawn_mourn). Everything else is checked exactly.
 */
#ifndef RCGC_TEST_GC_MODEL_H
#define RCGC_TEST_GC_MODEL_H

#include "rcgc.h"

#include "internal.h" /* generation tags (gm_sync_generations), holders' slots */

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GM_SLOTS 4
#define GM_MAX_ALIVE 256     /* objects the model lets live at once */
#define GM_MAX_OBJECTS 4096  /* objects created by one program */
#define GM_MAX_ROOTS 64      /* references the program holds itself */
#define GM_MAX_EVENTS (4 * GM_MAX_OBJECTS)
#define GM_MEDIUM_SIZE 640   /* past RC_SMALL_MAX: a medium pool block */
#define GM_LARGE_SIZE 4200   /* past RC_MEDIUM_MAX: a large block */
#define GM_FROZEN 3          /* the permanent generation (rc_gc_freeze) */
#define GM_STASH 64          /* references teardown's releases keep (gm_spawn) */
#define GM_SPAWN_REFS 192    /* weak references teardown's releases may make */
#define GM_LIVE 0x4c495645u
#define GM_DEAD 0xdeadbeefu

/* The includer's: reports msg and does not return. */
_Noreturn static void gm_fail(const char *msg);

/* ------------------------------------------------------------ objects */

/* Kind bits of an object. A leaf has none of GM_NODE, GM_CLEAR, GM_WEAKREF,
 * GM_HOLDER. A plain object has none of GM_CLEAR, GM_WEAKREF, GM_HOLDER
 * and the finalizers. */
enum {
    GM_NODE = 1,      /* a node: its type has traverse */
    GM_CLEAR = 2,     /* its type has clear (else the collector uses traverse) */
    GM_LARGE = 4,     /* rc_new_sized(gm_big_size()) */
    GM_FIN_LOG = 8,   /* finalizer that only records that it ran */
    GM_FIN_RES = 16,  /* finalizer that resurrects into the global list */
    GM_WEAKREF = 32,  /* an rc_weakref */
    GM_CALLBACK = 64, /* a weak reference with a callback */
    GM_FIN_DROP = 128, /* a finalizer that drops the reference in slot 0 (node, holder) */
    GM_PLAIN = 256,   /* a plain type: no release either, so no event at its death */
    GM_HOLDER = 512,  /* untracked with slots: its type has clear, no traverse */
};

static bool gm_has_finalizer(unsigned kind) {
    return kind & (GM_FIN_LOG | GM_FIN_RES | GM_FIN_DROP);
}

/* Whether objects of this kind are tracked by the collector: nodes, and weak
 * references (as in CPython, so that garbage weak references are found). */
static bool gm_tracked(unsigned kind) { return kind & (GM_NODE | GM_WEAKREF); }

/* Whether objects of this kind have GM_SLOTS reference slots. */
static bool gm_has_slots(unsigned kind) { return kind & (GM_NODE | GM_HOLDER); }

/* Whether objects of this kind take a slot of the heap's stack of deaths
 * that wait (internal.h, untracked_holders) when made: untracked ones whose
 * death runs code (a release, a clear or a finalizer). An untracked plain
 * one takes a slot while it has weak references (gm_weak_change). */
static bool gm_slot_kind(unsigned kind) { return !gm_tracked(kind) && !(kind & GM_PLAIN); }

/* A real object; a leaf uses only id and magic. */
typedef struct gm_real {
    uint32_t id;
    uint32_t magic;  /* GM_LIVE until release, then GM_DEAD */
    void *slot[GM_SLOTS];
} gm_real;

/* What the model knows of one object, and what its callbacks saw. A weak
 * reference's ptr is an rc_weakref, never read as a gm_real. */
typedef struct gm_obj {
    gm_real *ptr;
    int32_t slot[GM_SLOTS];  /* ids, -1 when empty */
    uint32_t rc;             /* true reference count */
    uint32_t alive_pos;      /* index in gm_world.alive */
    uint16_t kind;
    int8_t gen;              /* 0..2, GM_FROZEN for a live node; -1 otherwise */
    bool alive, finalized, in_res;
    bool in_garbage;         /* held by the collector's garbage list (SAVEALL) */
    bool loose_gen;          /* generation taken from the collector at next sync */
    bool early;              /* dies while the finalizers of a collection run */
    uint32_t seen;           /* sync stamp */
    int32_t target;          /* a weak reference's target, -1 once cleared */
    uint32_t nweak;          /* weak references to this object not cleared */
    uint8_t fin_runs, releases, callbacks;  /* what really happened */
} gm_obj;

/* Events: what << 32 | id, GM_EV_OPTIONAL set on an expected event that may
 * or may not happen (see gm_relax_callbacks). */
enum { GM_EV_FIN = 1, GM_EV_REL = 2, GM_EV_CB = 3 };
#define GM_EV_OPTIONAL ((uint64_t)1 << 63)
/* Deaths nested this deep may be deferred by the library (RC_DEALLOC_DEPTH
 * is 50), so that their order is no longer the model's. */
#define GM_ORDERED_DEPTH 40

/* Byte-stream options; the fuzz target takes them from the first bytes. */
typedef struct gm_config {
    bool automatic;          /* automatic collections on, with small thresholds */
    long threshold[3];
    bool leak;               /* end with objects alive: rc_heap_free cleans up */
    bool plain;              /* most objects plain (gm_plainer, gm_create) */
    bool trace;              /* print each operation to stderr */
    bool tracing;            /* tracemalloc on from the start (invisible to the model) */
    bool spawn;              /* releases at rc_heap_free make objects (gm_spawn) */
} gm_config;

typedef struct gm_world {
    rc_heap *h;
    gm_config cfg;
    gm_obj *obj;             /* GM_MAX_OBJECTS, indexed by id */
    uint32_t nobj;
    uint32_t alive[GM_MAX_OBJECTS], nalive, ntracked;
    uint32_t wrefs[GM_MAX_OBJECTS], nwrefs; /* ids of every weak reference made */
    int32_t roots[GM_MAX_ROOTS];
    uint32_t nroots;
    gm_real *res[GM_MAX_OBJECTS]; /* the resurrected list: strong references */
    uint32_t nres;
    /* events the model expects during the current operation, and those seen */
    uint64_t expect[GM_MAX_EVENTS], seen[GM_MAX_EVENTS];
    uint32_t nexpect, nseen;
    /* deaths by reference counting in the current operation whose order
     * decides whether a callback runs: callbacks expected (indexes into
     * expect), and weak references with a callback that died before their
     * target (pairs); see gm_relax_callbacks */
    uint32_t rc_callbacks[GM_MAX_EVENTS], nrc_callbacks;
    int32_t doomed[GM_MAX_OBJECTS][2];
    uint32_t ndoomed;
    unsigned depth, max_depth;   /* nesting of deaths by reference counting */
    /* live holders, and the slots the heap must have for their deaths: 0,
     * then RC_UNTRACKED_FIRST, doubled whenever a holder is made with all
     * taken (src/object.c, grow_untracked_stack); never shrinks */
    uint32_t nholders;
    size_t holder_cap;
    bool starved;            /* the heap's rc_alloc_fn fails (gm_new_starved) */
    bool unordered;              /* a collection or teardown ran in this operation */
    /* the collector, as the model sees it */
    bool saveall;            /* RC_GC_DEBUG_SAVEALL is set */
    uint32_t ngarbage;       /* objects in the garbage list */
    long count[3];
    size_t long_lived_total, long_lived_pending;
    rc_gc_stats stats[3];
    /* the collection in progress (between the "start" and "stop" callbacks) */
    bool collecting;
    int cur_gen;             /* its generation */
    long cur_result;         /* what it must return */
    uint32_t trash_fins;     /* finalizers of its garbage still to run */
    bool finalizing;         /* the model is running those finalizers */
    int want_gen;            /* generation the next collection must have, -1: none */
    uint32_t starts, stops;
    /* an object being created by rc_new; an automatic collection may see it */
    int pending_kind;        /* -1 when none */
    int32_t pending_id;
    bool tearing_down;       /* inside rc_heap_free */
    /* the program's bytes, read again from its end to steer what releases
     * make at teardown (gm_spawn), and how many objects they made */
    const uint8_t *spawn_begin, *spawn_p;
    size_t nspawn_bytes;
    uint32_t nspawned;
    gm_real *stash[GM_STASH]; /* references releases keep for later ones to drop */
    uint32_t nstash;
    uint32_t spawn_stash[GM_STASH], nspawn_stash; /* weak references kept so (ids) */
    uint32_t spawn_refs[GM_SPAWN_REFS], nspawn_refs; /* every weak reference they made */
    int32_t left[GM_MAX_ALIVE];  /* objects alive at step 4, no weak references */
    uint32_t nleft;
    uint32_t stamp;          /* the current walk, for gm_obj.seen */
    /* scratch space of gm_model_collect, GM_MAX_OBJECTS each */
    uint8_t *mark;           /* 0 not examined, 1 garbage, 2 reachable, 3 resurrected */
    uint32_t *gc_refs;       /* references from outside the examined objects */
    int32_t *work, *garbage, *dead;
    unsigned long op;        /* operations run, for messages */
    char what[128];          /* the current operation, for messages */
} gm_world;

static gm_world *gm_w; /* the world the type callbacks report to */

_Noreturn static void gm_failf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void gm_failf(const char *fmt, ...) {
    char msg[768];
    int n = snprintf(msg, sizeof msg, "op %lu (%s): ", gm_w ? gm_w->op : 0,
                     gm_w ? gm_w->what : "-");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    gm_fail(msg);
}

#define GM_CHECK(cond, ...)                                                  \
    do {                                                                     \
        if (!(cond))                                                         \
            gm_failf(__VA_ARGS__);                                           \
    } while (0)

/* The model entry of a real object the collector hands us; checks it is one
 * of ours and alive (a released object has GM_DEAD; under ASan reading a
 * freed one aborts first). */
static gm_obj *gm_of(const void *p, const char *who) {
    const gm_real *r = p;
    GM_CHECK(r->magic == GM_LIVE, "%s: %p is not a live object (magic %#x)", who, p, r->magic);
    GM_CHECK(r->id < gm_w->nobj && gm_w->obj[r->id].ptr == r, "%s: %p has a bad id", who, p);
    return &gm_w->obj[r->id];
}

static bool gm_is_ours(const void *p); /* not a weak reference: defined with the types */
static void gm_spawn(gm_world *w, gm_real *self, unsigned kind); /* defined with the types */

static void gm_seen_event(int what, uint32_t id) {
    gm_world *w = gm_w;
    GM_CHECK(w->nseen < GM_MAX_EVENTS, "too many events");
    w->seen[w->nseen++] = (uint64_t)what << 32 | id;
}

static void gm_expect_event(gm_world *w, int what, uint32_t id) {
    GM_CHECK(w->nexpect < GM_MAX_EVENTS, "too many expected events");
    w->expect[w->nexpect++] = (uint64_t)what << 32 | id;
}

/* A collection re-entered from a finalizer, callback or release during a
 * collection returns 0 and collects nothing. */
static void gm_check_reentry(const char *who) {
    if (gm_w->collecting) {
        uint32_t starts = gm_w->starts;
        long n = rc_gc_collect(gm_w->h, 2);
        GM_CHECK(n == 0 && gm_w->starts == starts,
                 "rc_gc_collect from %s during a collection returned %ld", who, n);
    }
}

static void gm_traverse(void *self, rc_visit_fn visit, void *arg) {
    gm_real *r = self;
    /* The object rc_new is creating is zeroed until rc_new returns. */
    if (!(r->magic == 0 && gm_w->pending_kind >= 0))
        gm_of(self, "traverse");
    for (int s = 0; s < GM_SLOTS; s++)
        visit(&r->slot[s], arg);
}

static void gm_clear(void *self) {
    gm_real *r = gm_of(self, "clear")->ptr;
    for (int s = 0; s < GM_SLOTS; s++)
        RC_CLEAR(r->slot[s]);
}

static void gm_finalize(void *self) {
    gm_obj *o = gm_of(self, "finalize");
    gm_real *r = o->ptr;
    GM_CHECK(o->fin_runs == 0, "finalizer of #%u ran twice", r->id);
    o->fin_runs++;
    if (gm_has_slots(o->kind))
        for (int s = 0; s < GM_SLOTS; s++)
            if (r->slot[s] && gm_is_ours(r->slot[s]))
                gm_of(r->slot[s], "a finalizer's referent");
    gm_seen_event(GM_EV_FIN, r->id);
    if (gm_w->collecting && (gm_w->mark[r->id] == 1 || gm_w->mark[r->id] == 3)) {
        GM_CHECK(gm_w->trash_fins > 0, "finalizer of garbage #%u was not expected", r->id);
        gm_w->trash_fins--;
    }
    gm_check_reentry("a finalizer");
    if (o->kind & GM_FIN_RES)
        gm_w->res[gm_w->nres++] = rc_incref(r);
    if (o->kind & GM_FIN_DROP)
        RC_CLEAR(r->slot[0]);
}

static void gm_release(void *self) {
    gm_obj *o = gm_of(self, "release");
    gm_real *r = o->ptr;
    GM_CHECK(o->releases == 0, "#%u released twice", r->id);
    o->releases++;
    if (gm_has_slots(o->kind) && !gm_w->tearing_down)
        for (int s = 0; s < GM_SLOTS; s++)
            GM_CHECK(r->slot[s] == NULL, "#%u released with slot %d still set", r->id, s);
    GM_CHECK(!gm_w->collecting || gm_w->trash_fins == 0 || o->early,
             "#%u released before every finalizer of the garbage ran", r->id);
    r->magic = GM_DEAD;
    gm_seen_event(GM_EV_REL, r->id);
    gm_check_reentry("release");
    if (gm_w->tearing_down && gm_w->cfg.spawn && gm_w->h->dying) /* step 4 (guide.md) */
        gm_spawn(gm_w, r, o->kind);
}

/* Types: nodes by (clear; no finalizer, one that logs or drops, one that
 * resurrects), then leaves by finalizer, then the plain node and leaf, then
 * holders by finalizer. */
#define GM_NODE_TYPE(name, clr, fin) {name, sizeof(gm_real), gm_traverse, clr, fin, gm_release}
#define GM_LEAF_TYPE(name, fin) {name, 2 * sizeof(uint32_t), NULL, NULL, fin, gm_release}
#define GM_HOLDER_TYPE(name, fin) {name, sizeof(gm_real), NULL, gm_clear, fin, gm_release}
static const rc_type gm_types[14] = {
    GM_NODE_TYPE("node", NULL, NULL),
    GM_NODE_TYPE("node_fin", NULL, gm_finalize),
    GM_NODE_TYPE("node_res", NULL, gm_finalize),
    GM_NODE_TYPE("cnode", gm_clear, NULL),
    GM_NODE_TYPE("cnode_fin", gm_clear, gm_finalize),
    GM_NODE_TYPE("cnode_res", gm_clear, gm_finalize),
    GM_LEAF_TYPE("leaf", NULL),
    GM_LEAF_TYPE("leaf_fin", gm_finalize),
    GM_LEAF_TYPE("leaf_res", gm_finalize),
    {"pnode", sizeof(gm_real), gm_traverse, NULL, NULL, NULL},
    {"pleaf", 2 * sizeof(uint32_t), NULL, NULL, NULL, NULL},
    GM_HOLDER_TYPE("holder", NULL),
    GM_HOLDER_TYPE("holder_fin", gm_finalize),
    GM_HOLDER_TYPE("holder_res", gm_finalize),
};

/* Whether p (a live rc object) is a node, leaf or holder, not a weak reference. */
static bool gm_is_ours(const void *p) {
    const rc_type *t = rc_type_of(p);
    for (size_t i = 0; i < sizeof gm_types / sizeof gm_types[0]; i++)
        if (t == &gm_types[i])
            return true;
    return false;
}

/* The model entry of any object the collector hands us: ours are checked
 * live (gm_of); a weak reference is found by address, newest first (an
 * address is reused once freed). NULL for a node rc_new has not returned. */
static gm_obj *gm_find(gm_world *w, const void *p, const char *who) {
    if (gm_is_ours(p))
        return ((const gm_real *)p)->magic == 0 && w->pending_kind >= 0 ? NULL : gm_of(p, who);
    for (uint32_t i = w->nwrefs; i-- > 0;)
        if (w->obj[w->wrefs[i]].ptr == p)
            return &w->obj[w->wrefs[i]];
    return NULL;
}

/* The callback of every weak reference that has one; arg is its id. */
static void gm_callback(rc_weakref *ref, void *arg) {
    gm_world *w = gm_w;
    uint32_t id = (uint32_t)(uintptr_t)arg;
    GM_CHECK(id < w->nobj && w->obj[id].ptr == (gm_real *)ref, "callback of a stranger");
    GM_CHECK(w->obj[id].callbacks++ == 0, "callback of weak reference #%u ran twice", id);
    GM_CHECK(rc_weakref_get(ref) == NULL, "weak reference #%u alive in its callback", id);
    gm_seen_event(GM_EV_CB, id);
    gm_check_reentry("a weak reference callback");
}

static const rc_type *gm_type_of_kind(unsigned kind) {
    if (kind & GM_PLAIN)
        return &gm_types[(kind & GM_NODE) ? 9 : 10];
    unsigned fin = (kind & GM_FIN_RES) ? 2 : gm_has_finalizer(kind) ? 1 : 0;
    if (kind & GM_HOLDER)
        return &gm_types[11 + fin];
    if (!(kind & GM_NODE))
        return &gm_types[6 + fin];
    return &gm_types[((kind & GM_CLEAR) ? 3 : 0) + fin];
}

/* A kind from a byte: mostly nodes, some leaves, some holders, some
 * finalizers. */
static unsigned gm_kind_of_byte(unsigned b) {
    unsigned kind = (b & 7) < 6 ? GM_NODE : (b & 7) == 7 ? GM_HOLDER : 0;
    if ((kind & GM_NODE) && (b & 8))
        kind |= GM_CLEAR;
    if ((b >> 4) % 4 == 1)
        kind |= GM_FIN_LOG;
    else if ((b >> 4) % 4 == 2)
        kind |= GM_FIN_RES;
    else if ((b >> 4) % 4 == 3 && kind)
        kind |= GM_FIN_DROP;
    if ((b >> 6) == 3 && (b & 1))
        kind |= GM_LARGE;
    return kind;
}

/* ------------------------------------------- what releases make at teardown */

#define GM_SPAWN_MAX 192 /* objects the releases of one teardown may make */

/* The next byte steering teardown's objects: the program's, from its end
 * backwards, round again; 0 for an empty program. */
static unsigned gm_spawn_byte(gm_world *w) {
    if (w->spawn_begin == w->spawn_p)
        return 0;
    unsigned b = *--w->spawn_p;
    if (w->spawn_p == w->spawn_begin)
        w->spawn_p += w->nspawn_bytes;
    return b;
}

/* The model entry of p (of kind), made at teardown: rc 1 while it may be
 * alive, 0 once it died by its count (gm_spawn_dies) or, for a weak
 * reference, was dropped for good (gm_spawn_drop_ref). */
static uint32_t gm_spawn_register(gm_world *w, unsigned kind, gm_real *p) {
    w->nspawned++;
    uint32_t id = w->nobj++;
    gm_obj *o = &w->obj[id];
    memset(o, 0, sizeof *o);
    o->ptr = p;
    o->kind = (uint16_t)kind;
    o->gen = o->target = -1;
    o->rc = 1;
    return id;
}

/* The size of the next GM_LARGE object: medium and large by turns. */
static size_t gm_big_size(const gm_world *w) {
    return w->nobj & 1 ? GM_LARGE_SIZE : GM_MEDIUM_SIZE;
}

/* An object of a kind byte b made by a release at teardown, or NULL when
 * the budget is spent; plain (a pnode or pleaf: no finalizer, clear or
 * release) if asked. The model knows it only for gm_finish's check: it
 * must be released once (as every object is; a plain one has no release
 * to see), and finalized only if it dies by its count (gm_spawn_dies); no
 * finalizer resurrects or drops. */
static gm_real *gm_spawn_new(gm_world *w, unsigned b, bool plain) {
    if (w->nspawned >= GM_SPAWN_MAX || w->nobj >= GM_MAX_OBJECTS)
        return NULL;
    unsigned kind = gm_kind_of_byte(b);
    if (plain)
        kind = (kind & (GM_NODE | GM_LARGE)) | GM_PLAIN;
    else if (kind & (GM_FIN_RES | GM_FIN_DROP))
        kind = (kind & ~(unsigned)(GM_FIN_RES | GM_FIN_DROP)) | GM_FIN_LOG;
    const rc_type *t = gm_type_of_kind(kind);
    gm_real *p = kind & GM_LARGE ? rc_new_sized(w->h, t, gm_big_size(w)) : rc_new(w->h, t);
    GM_CHECK(p != NULL, "a release at teardown could not make kind %#x", kind);
    uint32_t id = gm_spawn_register(w, kind, p);
    p->id = id;
    p->magic = GM_LIVE;
    if (!plain)
        gm_expect_event(w, GM_EV_REL, id);
    return p;
}

/* Object id (made at teardown) may die now by its count: the callbacks
 * of the weak references to it that teardown's releases made and still
 * hold run then (guide.md, section 6), unless the reference dies first in
 * the same cascade (one in a slot of the dying object, past the
 * destructor's nesting limit): the model takes either answer, and
 * gm_callback sees each runs at most once, its reference dead. */
static void gm_spawn_mourn(gm_world *w, uint32_t id) {
    for (uint32_t i = 0; i < w->nspawn_refs; i++) {
        const gm_obj *r = &w->obj[w->spawn_refs[i]];
        if (r->target == (int32_t)id && (r->kind & GM_CALLBACK) && r->rc > 0) {
            gm_expect_event(w, GM_EV_CB, w->spawn_refs[i]);
            w->expect[w->nexpect - 1] |= GM_EV_OPTIONAL;
        }
    }
}

/* p (made by gm_spawn_new) will die by its count: its finalizer runs. */
static void gm_spawn_dies(gm_world *w, const gm_real *p) {
    gm_obj *o = &w->obj[p->id];
    o->rc = 0;
    if (gm_has_finalizer(o->kind)) {
        o->finalized = true;
        gm_expect_event(w, GM_EV_FIN, p->id);
    }
    gm_spawn_mourn(w, p->id);
}

/* Whether object id is dead at teardown for a weak reference to it (1: it
 * was released, or died by its count), alive (0: an object with a release
 * not run yet) or either (-1: a plain one the walk may have released). */
static int gm_spawn_released(const gm_world *w, int32_t id) {
    const gm_obj *o = &w->obj[id];
    if (o->rc == 0 || o->releases > 0)
        return 1;
    return (o->kind & GM_PLAIN) ? -1 : 0;
}

/* rc_weakref_get of weak reference id (made at teardown) gives its target
 * while that is alive, NULL once it is released (step 4, guide.md) or
 * dead. */
static void gm_spawn_check_ref(gm_world *w, uint32_t id) {
    const gm_obj *o = &w->obj[id];
    gm_real *got = rc_weakref_get((rc_weakref *)o->ptr);
    int dead = gm_spawn_released(w, o->target);
    GM_CHECK(got == NULL || got == w->obj[o->target].ptr,
             "teardown: weak reference #%u gave a stranger", id);
    GM_CHECK(dead < 0 || (got == NULL) == dead, "teardown: weak reference #%u to %s #%d gave %p",
             id, dead ? "released" : "live", o->target, (void *)got);
    if (got)
        rc_decref(got);
}

/* Drops the reference to weak reference id teardown's releases held; the
 * last one ends it, and its callback with it. */
static void gm_spawn_drop_ref(gm_world *w, uint32_t id) {
    rc_weakref *ref = (rc_weakref *)w->obj[id].ptr;
    if (rc_refcount(ref) == 1)
        w->obj[id].rc = 0;
    rc_decref(ref);
}

/* The target byte c chooses for a weak reference made at teardown, or -1:
 * the releasing object self once the walk released it, x (just made), an
 * object left alive at step 4, or one in the stash. */
static int32_t gm_spawn_target(gm_world *w, gm_real *self, gm_real *x, unsigned c) {
    unsigned i = gm_spawn_byte(w);
    switch (c % 4) {
    case 0: return rc_refcount(self) == RC_IMMORTAL ? (int32_t)self->id : -1;
    case 1: return x ? (int32_t)x->id : -1;
    case 2: return w->nleft ? w->left[i % w->nleft] : -1;
    default: return w->nstash ? (int32_t)w->stash[i % w->nstash]->id : -1;
    }
}

/* Where a weak reference made at teardown goes, by byte c: dropped at
 * once, into the stash of weak references (a later release checks and
 * drops it), or into the last slot of x or of self (x's death or release
 * drops it; self's never does: the walk releases it). */
static void gm_spawn_keep_ref(gm_world *w, gm_real *self, gm_real *x, uint32_t id, unsigned c) {
    unsigned where = (c >> 5) % 4;
    gm_real *in = where == 2 ? x : where == 3 ? self : NULL;
    if (where == 1 && w->nspawn_stash < GM_STASH) {
        w->spawn_stash[w->nspawn_stash++] = id;
    } else if (in && gm_has_slots(w->obj[in->id].kind) && in->slot[GM_SLOTS - 1] == NULL) {
        in->slot[GM_SLOTS - 1] = w->obj[id].ptr;
    } else {
        gm_spawn_drop_ref(w, id);
    }
}

/* A weak reference made at teardown (byte c: its target, whether it has a
 * callback, where it goes), checked at once. */
static void gm_spawn_weakref(gm_world *w, gm_real *self, gm_real *x, unsigned c) {
    int32_t t = gm_spawn_target(w, self, x, c);
    if (t < 0 || w->nspawned >= GM_SPAWN_MAX || w->nobj >= GM_MAX_OBJECTS ||
        w->nspawn_refs >= GM_SPAWN_REFS)
        return;
    unsigned kind = GM_WEAKREF | ((c & 16) ? GM_CALLBACK : 0);
    uint32_t planned = w->nobj;
    rc_weakref *ref = rc_weakref_new(w->obj[t].ptr, (kind & GM_CALLBACK) ? gm_callback : NULL,
                                     (void *)(uintptr_t)planned);
    GM_CHECK(ref != NULL, "teardown: rc_weakref_new of #%d failed", t);
    uint32_t id = gm_spawn_register(w, kind, (gm_real *)ref);
    w->obj[id].target = t;
    w->spawn_refs[w->nspawn_refs++] = id;
    gm_spawn_check_ref(w, id);
    gm_spawn_keep_ref(w, self, x, id, c);
}

/* Checks and drops the weak reference an earlier release put in the stash
 * last. */
static void gm_spawn_unstash_ref(gm_world *w) {
    if (w->nspawn_stash > 0) {
        uint32_t id = w->spawn_stash[--w->nspawn_stash];
        gm_spawn_check_ref(w, id);
        gm_spawn_drop_ref(w, id);
    }
}

/* The stash's object s (or what it holds in slot 0) dies by its count
 * when its reference is dropped, unless the walk released it already
 * (immortal); either way it has no finalizer. */
static void gm_spawn_doomed(gm_world *w, gm_real *s) {
    if (s != NULL && rc_refcount(s) == 1) {
        w->obj[s->id].rc = 0;
        gm_spawn_mourn(w, s->id);
    }
}

/* Drops the stash's last object. */
static void gm_spawn_unstash(gm_world *w) {
    gm_real *s = w->stash[--w->nstash];
    if (rc_refcount(s) == 1 && gm_has_slots(w->obj[s->id].kind))
        gm_spawn_doomed(w, s->slot[0]);
    gm_spawn_doomed(w, s);
    rc_decref(s);
}

static int gm_count_one(void *p, void *arg) {
    (void)p;
    ++*(uint32_t *)arg;
    return 0;
}

/* What the releasing object self (of kind) keeps, x, must be unseen by the
 * collector's walks: self is released (by the walk of rc_heap_free: then
 * self has no referents either) or dead (by its count). */
static void gm_spawn_kept(gm_world *w, gm_real *self, unsigned kind, gm_real *x) {
    if (gm_has_slots(kind) && self->slot[0] == NULL)
        self->slot[0] = x; /* else nobody holds it */
    uint32_t n = 0;
    GM_CHECK(rc_gc_get_referrers(w->h, x, gm_count_one, &n) == 0 && n == 0,
             "teardown: #%u kept by a released object has %u referrers", x->id, n);
    if (rc_refcount(self) == RC_IMMORTAL) {
        GM_CHECK(rc_gc_get_referents(self, gm_count_one, &n) == 0 && n == 0,
                 "teardown: released #%u has %u referents", self->id, n);
    }
}

/* Whether x (made by gm_spawn_new, holding y or not) and what it holds
 * have no finalizer: x may then go to the stash (gm_spawn). */
static bool gm_spawn_unfinalized(const gm_world *w, const gm_real *x, const gm_real *y) {
    return !gm_has_finalizer(w->obj[x->id].kind) && !(y && gm_has_finalizer(w->obj[y->id].kind));
}

/* At rc_heap_free (gm_config.spawn), the release of self (of kind) makes
 * objects as the program's bytes say (byte b: what % 8, then whether
 * they are plain, whether a weak reference is made, whether one from the
 * stash of weak references is checked and dropped first): none; one self
 * keeps (gm_spawn_kept); one put in the stash, whose reference a later
 * release drops (the walk may have released it by then: it must be
 * immortal, and so be released once, finalizer or not; so none has a
 * finalizer); one dropped at once, holding a second and, with no
 * finalizer to look at it, self when the walk released it (immortal):
 * both die by their counts; or two, the first holding the second, which
 * holds the first back when it can (a cycle), kept by nobody. Before x's
 * fate, a weak reference may be made to self, x, an object left alive at
 * step 4 or one in the stash (gm_spawn_weakref). The walks must release
 * each once, those made behind them and ahead, and rc_gc_collect collects
 * nothing. */
static void gm_spawn(gm_world *w, gm_real *self, unsigned kind) {
    unsigned b = gm_spawn_byte(w), what = b % 8;
    if ((b >> 3) % 4 == 3)
        gm_spawn_unstash_ref(w);
    if (what < 4)
        return;
    GM_CHECK(rc_gc_collect(w->h, 2) == 0, "rc_gc_collect during teardown collected");
    bool plain = b & 32;
    gm_real *x = gm_spawn_new(w, gm_spawn_byte(w), plain);
    if (b >> 6)
        gm_spawn_weakref(w, self, x, gm_spawn_byte(w));
    if (x == NULL)
        return;
    unsigned xk = w->obj[x->id].kind;
    gm_real *y = gm_has_slots(xk) ? gm_spawn_new(w, gm_spawn_byte(w), plain) : NULL;
    if (y)
        x->slot[0] = y;
    if (what == 5 && w->nstash > 0)
        gm_spawn_unstash(w);
    if (what == 5 && w->nstash < GM_STASH && gm_spawn_unfinalized(w, x, y)) {
        w->stash[w->nstash++] = x;
    } else if (what < 6) {
        gm_spawn_kept(w, self, kind, x);
    } else if (what == 6) {
        if (gm_has_slots(xk) && !gm_has_finalizer(xk) && rc_refcount(self) == RC_IMMORTAL)
            x->slot[1] = rc_incref(self);
        gm_spawn_dies(w, x);
        if (y)
            gm_spawn_dies(w, y);
        rc_decref(x);
    } else if (y && gm_has_slots(w->obj[y->id].kind)) {
        y->slot[0] = x;
    }
}

/* In a plain program (gm_config.plain), seven kinds in eight (by byte b)
 * lose their clear and finalizer, so become plain (gm_create): the garbage
 * of whole collections is then often plain. A holder stays one (its clear
 * is what makes it a holder). */
static unsigned gm_plainer(const gm_world *w, unsigned kind, unsigned b) {
    if (w->cfg.plain && b % 8)
        kind &= ~(unsigned)(GM_CLEAR | GM_FIN_LOG | GM_FIN_RES | GM_FIN_DROP);
    return kind;
}

/* ------------------------------------------------------ the model itself */

static void gm_model_decref(gm_world *w, int32_t id);

/* One more live object with a slot for its deferred death: the heap
 * doubles its stack when it is full (RC_UNTRACKED_FIRST slots at first). */
static void gm_take_slot(gm_world *w) {
    if (w->nholders == w->holder_cap)
        w->holder_cap = w->holder_cap ? 2 * w->holder_cap : RC_UNTRACKED_FIRST;
    w->nholders++;
}

/* Object id gains (d = 1) or loses (d = -1) a weak reference not cleared:
 * an untracked plain object holds a slot while it has any. */
static void gm_weak_change(gm_world *w, int32_t id, int d) {
    gm_obj *o = &w->obj[id];
    bool slot = !gm_tracked(o->kind) && (o->kind & GM_PLAIN);
    if (d > 0 && o->nweak++ == 0 && slot)
        gm_take_slot(w);
    if (d < 0 && --o->nweak == 0 && slot)
        w->nholders--;
}

static uint32_t gm_register(gm_world *w, unsigned kind, gm_real *p, int gen) {
    uint32_t id = w->nobj++;
    gm_obj *o = &w->obj[id];
    memset(o, 0, sizeof *o);
    o->ptr = p;
    for (int s = 0; s < GM_SLOTS; s++)
        o->slot[s] = -1;
    o->rc = 1;
    o->kind = (uint16_t)kind;
    o->gen = gm_tracked(kind) ? (int8_t)gen : -1;
    o->target = -1;
    o->alive = true;
    o->alive_pos = w->nalive;
    w->alive[w->nalive++] = id;
    w->ntracked += gm_tracked(kind);
    if (gm_slot_kind(kind))
        gm_take_slot(w);
    if (kind & GM_WEAKREF) {
        w->wrefs[w->nwrefs++] = id;
    } else {
        p->id = id;
        p->magic = GM_LIVE;
    }
    return id;
}

/* The object leaves the model: it must be released during this operation
 * (a plain one, which has no release, freed: see gm_check_population). */
static void gm_model_free(gm_world *w, int32_t id) {
    gm_obj *o = &w->obj[id];
    o->alive = false;
    uint32_t last = w->alive[--w->nalive];
    w->alive[o->alive_pos] = last;
    w->obj[last].alive_pos = o->alive_pos;
    o->early = w->finalizing;
    w->nholders -= gm_slot_kind(o->kind);
    if (gm_tracked(o->kind)) {
        w->ntracked--;
        if (w->count[0] > 0)
            w->count[0]--;
    }
    if (o->target >= 0) {
        if ((o->kind & GM_CALLBACK) && w->ndoomed < GM_MAX_OBJECTS) {
            w->doomed[w->ndoomed][0] = id;
            w->doomed[w->ndoomed++][1] = o->target;
        }
        gm_weak_change(w, o->target, -1);
        o->target = -1;
    }
    if (!(o->kind & (GM_WEAKREF | GM_PLAIN)))
        gm_expect_event(w, GM_EV_REL, (uint32_t)id);
}

/* Clears the weak references to id; their callbacks run, except those of
 * weak references that are garbage of the current collection (mark 1). */
static void gm_clear_weakrefs(gm_world *w, int32_t id, bool collecting) {
    for (uint32_t i = 0; w->obj[id].nweak > 0 && i < w->nwrefs; i++) {
        gm_obj *r = &w->obj[w->wrefs[i]];
        if (r->alive && r->target == id) {
            r->target = -1;
            gm_weak_change(w, id, -1);
            if (!(r->kind & GM_CALLBACK) || (collecting && w->mark[w->wrefs[i]] == 1))
                continue;
            if (!collecting)
                w->rc_callbacks[w->nrc_callbacks++] = w->nexpect;
            gm_expect_event(w, GM_EV_CB, w->wrefs[i]);
        }
    }
}

/* A finalizer runs (once): it may resurrect its object into the resurrected
 * list, or drop the reference in its slot 0. */
static void gm_model_finalize(gm_world *w, int32_t id) {
    gm_obj *o = &w->obj[id];
    o->finalized = true;
    gm_expect_event(w, GM_EV_FIN, (uint32_t)id);
    if (w->finalizing && w->mark[id] == 1)
        w->trash_fins++;
    if (o->kind & GM_FIN_RES) {
        o->rc++;
        o->in_res = true;
    }
    if ((o->kind & GM_FIN_DROP) && o->slot[0] >= 0) {
        int32_t t = o->slot[0];
        o->slot[0] = -1;
        gm_model_decref(w, t);
    }
}

/* Reference counting: the count reached zero. The finalizer runs once and
 * may resurrect; otherwise the object dies and drops its references. */
static void gm_model_die(gm_world *w, int32_t id) {
    gm_obj *o = &w->obj[id];
    if (++w->depth > w->max_depth)
        w->max_depth = w->depth;
    if (gm_has_finalizer(o->kind) && !o->finalized) {
        gm_model_finalize(w, id);
        if (o->rc > 0) {
            o->loose_gen = true;
            w->depth--;
            return;
        }
    }
    gm_clear_weakrefs(w, id, false);
    gm_model_free(w, id);
    for (int s = 0; s < GM_SLOTS; s++) {
        int32_t t = o->slot[s];
        o->slot[s] = -1;
        if (t >= 0)
            gm_model_decref(w, t);
    }
    w->depth--;
}

static void gm_model_decref(gm_world *w, int32_t id) {
    GM_CHECK(w->obj[id].rc > 0, "model: count of #%d below zero", id);
    if (--w->obj[id].rc == 0)
        gm_model_die(w, id);
}

/* Marks (mark[] = value) every object reachable from those already marked
 * with value, through slots, among objects marked `among`. */
static uint32_t gm_model_spread(gm_world *w, uint8_t value, uint8_t among) {
    uint32_t n = 0, top = 0;
    for (uint32_t i = 0; i < w->nalive; i++)
        if (w->mark[w->alive[i]] == value)
            w->work[top++] = (int32_t)w->alive[i], n++;
    while (top > 0) {
        gm_obj *o = &w->obj[w->work[--top]];
        for (int s = 0; s < GM_SLOTS; s++) {
            int32_t t = o->slot[s];
            if (t >= 0 && w->mark[t] == among) {
                w->mark[t] = value;
                w->work[top++] = t;
                n++;
            }
        }
    }
    return n;
}

/* The collection of generations 0..g, as CPython's gc_collect_main does it;
 * returns what rc_gc_collect must return: the garbage that no finalizer
 * resurrected. Leaves w->mark telling which objects were garbage. */
static long gm_model_collect(gm_world *w, int g) {
    w->unordered = true;
    if (g + 1 < 3)
        w->count[g + 1]++;
    for (int i = 0; i <= g; i++)
        w->count[i] = 0;
    memset(w->mark, 0, w->nobj);
    /* trial deletion: references from outside the examined set */
    uint32_t *gc_refs = w->gc_refs;
    for (uint32_t i = 0; i < w->nalive; i++) {
        gm_obj *o = &w->obj[w->alive[i]];
        if (gm_tracked(o->kind) && o->gen <= g) {
            w->mark[w->alive[i]] = 1;
            gc_refs[w->alive[i]] = o->rc;
        }
    }
    for (uint32_t i = 0; i < w->nalive; i++) {
        uint32_t id = w->alive[i];
        if (w->mark[id] == 1)
            for (int s = 0; s < GM_SLOTS; s++)
                if (w->obj[id].slot[s] >= 0 && w->mark[w->obj[id].slot[s]] == 1)
                    gc_refs[w->obj[id].slot[s]]--;
    }
    for (uint32_t i = 0; i < w->nalive; i++)
        if (w->mark[w->alive[i]] == 1 && gc_refs[w->alive[i]] > 0)
            w->mark[w->alive[i]] = 2;
    uint32_t reachable = gm_model_spread(w, 2, 1);
    int older = g < 2 ? g + 1 : 2;
    if (g == 1)
        w->long_lived_pending += reachable;
    if (g == 2) {
        w->long_lived_pending = 0;
        w->long_lived_total = reachable;
    }
    /* weak references: garbage ones are cleared, those to garbage too, and
     * the callbacks of the latter run unless they are garbage themselves */
    for (uint32_t i = 0; i < w->nwrefs; i++) {
        gm_obj *r = &w->obj[w->wrefs[i]];
        if (r->alive && r->target >= 0 && w->mark[w->wrefs[i]] == 1) {
            gm_weak_change(w, r->target, -1);
            r->target = -1;
        }
    }
    for (uint32_t i = 0; i < w->nalive; i++)
        if (w->mark[w->alive[i]] == 1)
            gm_clear_weakrefs(w, (int32_t)w->alive[i], true);
    /* finalizers of the garbage, each once: some resurrect, some drop a
     * reference, which may free objects by reference counting right away
     * (garbage among them is not counted, as in CPython) */
    int32_t *garbage = w->garbage;
    uint32_t ngarbage = 0;
    for (uint32_t i = 0; i < w->nalive; i++) {
        uint32_t id = w->alive[i];
        if (w->mark[id] == 2)
            w->obj[id].gen = (int8_t)older;
        else if (w->mark[id] == 1)
            garbage[ngarbage++] = (int32_t)id;
    }
    w->trash_fins = 0;
    w->finalizing = true;
    bool dropped = false;
    for (uint32_t k = 0; k < ngarbage; k++) {
        gm_obj *o = &w->obj[garbage[k]];
        if (o->alive && gm_has_finalizer(o->kind) && !o->finalized) {
            dropped |= (o->kind & GM_FIN_DROP) && o->slot[0] >= 0;
            gm_model_finalize(w, garbage[k]);
        }
    }
    w->finalizing = false;
    /* Whether a garbage object's finalizer ran in this loop or as it died by
     * reference counting (a dropped reference) is the order of the
     * collector's list; CPython moves the latter, when resurrected, to
     * generation 0 (subtype_dealloc), the rest to the older generation. */
    for (uint32_t k = 0; dropped && k < ngarbage; k++)
        w->obj[garbage[k]].loose_gen = true;
    /* trial deletion again among the garbage left: what is referred to from
     * outside it now was resurrected, and survives with all it reaches */
    for (uint32_t k = 0; k < ngarbage; k++)
        gc_refs[garbage[k]] = w->obj[garbage[k]].rc;
    for (uint32_t k = 0; k < ngarbage; k++)
        for (int s = 0; w->obj[garbage[k]].alive && s < GM_SLOTS; s++) {
            int32_t t = w->obj[garbage[k]].slot[s];
            if (t >= 0 && w->mark[t] == 1 && w->obj[t].alive)
                gc_refs[t]--;
        }
    for (uint32_t k = 0; k < ngarbage; k++)
        if (w->obj[garbage[k]].alive && gc_refs[garbage[k]] > 0)
            w->mark[garbage[k]] = 3;
    gm_model_spread(w, 3, 1);
    int32_t *dead = w->dead;
    long ndead = 0;
    for (uint32_t k = 0; k < ngarbage; k++) {
        int32_t id = garbage[k];
        if (!w->obj[id].alive)
            continue;
        if (w->mark[id] == 3)
            w->obj[id].gen = (int8_t)older;
        else
            dead[ndead++] = id;
    }
    w->stats[g].collections++;
    w->stats[g].collected += (size_t)ndead;
    if (w->saveall) {
        /* SAVEALL: the garbage is kept, whole, in the garbage list */
        for (long i = 0; i < ndead; i++) {
            w->obj[dead[i]].gen = (int8_t)older;
            w->obj[dead[i]].rc++;
            w->obj[dead[i]].in_garbage = true;
        }
        w->ngarbage += (uint32_t)ndead;
        return ndead;
    }
    for (long i = 0; i < ndead; i++)
        gm_model_free(w, dead[i]);
    for (long i = 0; i < ndead; i++) {
        gm_obj *o = &w->obj[dead[i]];
        for (int s = 0; s < GM_SLOTS; s++) {
            int32_t t = o->slot[s];
            o->slot[s] = -1;
            if (t >= 0 && w->obj[t].alive)
                gm_model_decref(w, t);
        }
    }
    return ndead;
}

/* The generation an automatic collection must pick (CPython's
 * gc_collect_generations, with the long-lived rule), -1 for none. */
static int gm_auto_generation(const gm_world *w) {
    for (int i = 2; i >= 0; i--)
        if (w->count[i] > w->cfg.threshold[i]) {
            if (i == 2 && w->long_lived_pending < w->long_lived_total / 4)
                continue;
            return i;
        }
    return -1;
}

/* ------------------------------------------ syncing with the collector */

typedef struct gm_sync { gm_world *w; int gen; } gm_sync;

static int gm_sync_one(void *p, void *arg) {
    gm_sync *sy = arg;
    gm_world *w = sy->w;
    gm_obj *o = gm_find(w, p, "rc_gc_get_objects");
    if ((o == NULL || !o->alive) && w->pending_kind >= 0 && w->pending_id < 0) {
        GM_CHECK(w->nobj < GM_MAX_OBJECTS, "too many objects");
        GM_CHECK(sy->gen == 0, "the new object is in generation %d", sy->gen);
        w->pending_id = (int32_t)gm_register(w, (unsigned)w->pending_kind, p, sy->gen);
        o = &w->obj[w->pending_id];
    }
    GM_CHECK(o != NULL && o->alive, "get_objects reports a dead or unknown object %p", p);
    uint32_t id = (uint32_t)(o - w->obj);
    GM_CHECK(gm_tracked(o->kind), "get_objects reports untracked #%u", id);
    GM_CHECK(o->seen != w->stamp, "get_objects reports #%u twice", id);
    GM_CHECK((rc_head_of(p)->info & RC_F_GEN) >> RC_F_GEN_SHIFT == (uint32_t)sy->gen,
             "#%u is in generation %d, its tag says %u", id, sy->gen,
             (rc_head_of(p)->info & RC_F_GEN) >> RC_F_GEN_SHIFT);
    o->seen = w->stamp;
    if (o->gen != sy->gen) {
        GM_CHECK(o->loose_gen || (int32_t)id == w->pending_id,
                 "#%u (kind %#x, finalized %d) is in generation %d, the model says %d", id,
                 o->kind, o->finalized, sy->gen, o->gen);
        o->gen = (int8_t)sy->gen;
    }
    o->loose_gen = false;
    return 0;
}

/* Reads the generation of every tracked object from rc_gc_get_objects; the
 * objects it does not report must be frozen. */
static void gm_sync_generations(gm_world *w) {
    w->stamp++;
    for (int g = 0; g < 3; g++) {
        gm_sync sy = {w, g};
        GM_CHECK(rc_gc_get_objects(w->h, g, gm_sync_one, &sy) == 0, "get_objects failed");
    }
    size_t frozen = 0;
    for (uint32_t i = 0; i < w->nalive; i++) {
        gm_obj *o = &w->obj[w->alive[i]];
        if (gm_tracked(o->kind) && o->seen != w->stamp) {
            GM_CHECK(o->gen == GM_FROZEN || o->loose_gen,
                     "get_objects does not report #%u (generation %d)", w->alive[i], o->gen);
            o->gen = GM_FROZEN;
            o->loose_gen = false;
            frozen++;
        }
    }
    GM_CHECK(rc_gc_get_freeze_count(w->h) == frozen, "freeze count %zu, the model %zu",
             rc_gc_get_freeze_count(w->h), frozen);
    const rc_gchead *perm = &w->h->gc.permanent;
    for (const rc_gchead *g = rc_gc_prev(perm); g != perm; g = rc_gc_prev(g))
        GM_CHECK((((const rc_head *)(g + 1))->info & RC_F_GEN) >> RC_F_GEN_SHIFT == RC_GC_PERMANENT,
                 "a frozen object's tag says generation %u",
                 (((const rc_head *)(g + 1))->info & RC_F_GEN) >> RC_F_GEN_SHIFT);
}

static void gm_gc_callback(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg) {
    gm_world *w = arg;
    if (strcmp(phase, "start") == 0) {
        GM_CHECK(!w->collecting, "\"start\" inside a collection");
        GM_CHECK(w->want_gen >= 0, "an unexpected collection of generation %d", info->generation);
        GM_CHECK(info->generation == w->want_gen, "collection of generation %d, expected %d",
                 info->generation, w->want_gen);
        w->want_gen = -1;
        w->starts++;
        gm_sync_generations(w);
        w->cur_gen = info->generation;
        w->cur_result = gm_model_collect(w, info->generation);
        w->collecting = true;
    } else {
        GM_CHECK(strcmp(phase, "stop") == 0, "phase \"%s\"", phase);
        GM_CHECK(w->collecting, "\"stop\" without \"start\"");
        GM_CHECK(info->generation == w->cur_gen && (long)info->collected == w->cur_result &&
                     info->uncollectable == 0,
                 "stop info: generation %d collected %zu uncollectable %zu; expected %d %ld 0",
                 info->generation, info->collected, info->uncollectable, w->cur_gen,
                 w->cur_result);
        GM_CHECK(w->trash_fins == 0, "%u finalizers of the garbage did not run", w->trash_fins);
        w->collecting = false;
        w->stops++;
    }
    (void)h;
}

/* ----------------------------------------------------------- operations */

/* Events in order of (what, id), optional copies after required ones. */
static int cmp_event(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    uint64_t kx = x & ~GM_EV_OPTIONAL, ky = y & ~GM_EV_OPTIONAL;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* When a weak reference and its target both die by reference counting in
 * one operation, the callback runs if the target dies first. Where the
 * order of those deaths is the library's business (inside a collection:
 * its list order; past the destructor's nesting limit; at teardown), the
 * model cannot know it: such callbacks become optional. */
static void gm_relax_callbacks(gm_world *w) {
    if (w->unordered || w->max_depth >= GM_ORDERED_DEPTH) {
        for (uint32_t i = 0; i < w->nrc_callbacks; i++) {
            uint64_t *e = &w->expect[w->rc_callbacks[i]];
            if (!w->obj[*e & 0xffffffffu].alive)
                *e |= GM_EV_OPTIONAL;
        }
        for (uint32_t i = 0; i < w->ndoomed; i++) {
            if (!w->obj[w->doomed[i][1]].alive) {
                gm_expect_event(w, GM_EV_CB, (uint32_t)w->doomed[i][0]);
                w->expect[w->nexpect - 1] |= GM_EV_OPTIONAL;
            }
        }
    }
    w->nrc_callbacks = w->ndoomed = 0;
    w->max_depth = 0;
    w->unordered = false;
}

/* The events of the operation just run must be the model's, as multisets
 * (the order inside one collection is the collector's list order): for each
 * event, as many as the model requires, plus at most its optional ones. */
static void gm_check_events(gm_world *w) {
    gm_relax_callbacks(w);
    qsort(w->expect, w->nexpect, sizeof w->expect[0], cmp_event);
    qsort(w->seen, w->nseen, sizeof w->seen[0], cmp_event);
    uint32_t i = 0, j = 0;
    while (i < w->nexpect || j < w->nseen) {
        uint64_t ke = i < w->nexpect ? w->expect[i] & ~GM_EV_OPTIONAL : UINT64_MAX;
        uint64_t key = j < w->nseen && w->seen[j] < ke ? w->seen[j] : ke;
        uint32_t required = 0, optional = 0, seen = 0;
        for (; i < w->nexpect && (w->expect[i] & ~GM_EV_OPTIONAL) == key; i++) {
            if (w->expect[i] & GM_EV_OPTIONAL)
                optional++;
            else
                required++;
        }
        for (; j < w->nseen && w->seen[j] == key; j++)
            seen++;
        if (seen < required || seen > required + optional)
            gm_failf("%s of #%u: %u seen, %u expected%s (%u events expected, %u seen)",
                     (key >> 32) == GM_EV_FIN   ? "finalizer"
                     : (key >> 32) == GM_EV_REL ? "release"
                                                : "callback",
                     (unsigned)(key & 0xffffffffu), seen, required,
                     optional ? " (and some optional)" : "", w->nexpect, w->nseen);
    }
    w->nexpect = w->nseen = 0;
}

/* What weak reference id returns is its target, or NULL once cleared. */
static void gm_check_weakref(gm_world *w, int32_t id) {
    gm_obj *o = &w->obj[id];
    void *t = rc_weakref_get((rc_weakref *)o->ptr);
    GM_CHECK(t == (o->target < 0 ? NULL : w->obj[o->target].ptr),
             "weak reference #%d returns %p, the model #%d", id, t, o->target);
    rc_decref(t);
}

typedef struct gm_walk { gm_world *w; uint32_t n; int32_t of; } gm_walk;

/* rc_gc_get_referents: each call is the next non-empty slot. */
static int gm_referent(void *p, void *arg) {
    gm_walk *wk = arg;
    gm_obj *o = &wk->w->obj[wk->of];
    int s = 0;
    for (uint32_t seen = 0; s < GM_SLOTS; s++)
        if (o->slot[s] >= 0 && seen++ == wk->n)
            break;
    GM_CHECK(s < GM_SLOTS && wk->w->obj[o->slot[s]].ptr == p, "get_referents of #%d: %p",
             wk->of, p);
    wk->n++;
    return 0;
}

/* rc_gc_get_referrers: each call is a distinct unfrozen node referring to wk->of. */
static int gm_referrer(void *p, void *arg) {
    gm_walk *wk = arg;
    gm_obj *o = gm_find(wk->w, p, "get_referrers");
    GM_CHECK(o && o->alive, "get_referrers of #%d: a dead or unknown object", wk->of);
    uint32_t id = (uint32_t)(o - wk->w->obj);
    GM_CHECK((o->gen != GM_FROZEN || o->loose_gen) && o->seen != wk->w->stamp,
             "get_referrers of #%d: #%u", wk->of, id);
    o->seen = wk->w->stamp;
    bool refers = false;
    for (int s = 0; s < GM_SLOTS; s++)
        refers |= o->slot[s] == wk->of;
    GM_CHECK(refers, "get_referrers of #%d: #%u does not refer to it", wk->of, id);
    wk->n++;
    return 0;
}

/* The walks over the references of object id, and to it, find the model's. */
static void gm_check_walks(gm_world *w, int32_t id) {
    gm_obj *o = &w->obj[id];
    gm_walk wk = {w, 0, id};
    if (gm_has_slots(o->kind)) { /* a holder has no traverse: no referents */
        uint32_t slots = 0;
        GM_CHECK(rc_gc_get_referents(o->ptr, gm_referent, &wk) == 0, "get_referents failed");
        for (int s = 0; (o->kind & GM_NODE) && s < GM_SLOTS; s++)
            slots += o->slot[s] >= 0;
        GM_CHECK(wk.n == slots, "get_referents of #%d: %u objects, %u expected", id, wk.n, slots);
    }
    w->stamp++;
    wk.n = 0;
    GM_CHECK(rc_gc_get_referrers(w->h, o->ptr, gm_referrer, &wk) == 0, "get_referrers failed");
    /* a frozen object resurrected since the last sync may have been thawed
     * (CPython re-tracks it into generation 0) */
    uint32_t referrers = 0, maybe = 0;
    for (uint32_t i = 0; i < w->nalive; i++) {
        gm_obj *r = &w->obj[w->alive[i]];
        bool refers = false;
        for (int s = 0; (r->kind & GM_NODE) && s < GM_SLOTS; s++)
            refers |= r->slot[s] == id;
        referrers += refers && r->gen != GM_FROZEN;
        maybe += refers && r->gen == GM_FROZEN && r->loose_gen;
    }
    GM_CHECK(wk.n >= referrers && wk.n <= referrers + maybe,
             "get_referrers of #%d: %u objects, %u expected", id, wk.n, referrers);
}

/* The heap holds the objects the model says are alive, no more: the one
 * check that a plain object died (it has no release), cheap enough to run
 * after every operation, so that it died in the right one. Each live
 * holder has its slot for a deferred death (internal.h), and no death
 * waits. */
static void gm_check_population(gm_world *w) {
    rc_heap_stats hs;
    rc_heap_get_stats(w->h, &hs);
    GM_CHECK(hs.objects == w->nalive && hs.tracked == w->ntracked,
             "heap stats: %zu objects, %zu tracked; model %u, %u", hs.objects, hs.tracked,
             w->nalive, w->ntracked);
    const rc_heap *h = w->h;
    GM_CHECK(h->untracked_holders == w->nholders && h->untracked_stack_cap == w->holder_cap &&
                 h->deferred_untracked == 0 && h->deferred == NULL,
             "holders: %zu live, %zu slots, %zu deaths waiting; model %u, %zu, 0",
             h->untracked_holders, h->untracked_stack_cap, h->deferred_untracked, w->nholders,
             w->holder_cap);
}

/* Everything observable about the heap agrees with the model. */
static void gm_check_state(gm_world *w) {
    for (uint32_t i = 0; i < w->nalive; i++) {
        uint32_t id = w->alive[i];
        gm_obj *o = &w->obj[id];
        gm_real *r = o->ptr;
        GM_CHECK(rc_refcount(r) == o->rc, "#%u has count %zu, the model %u", id, rc_refcount(r),
                 o->rc);
        GM_CHECK(rc_gc_is_tracked(r) == gm_tracked(o->kind), "#%u tracked wrong", id);
        if (gm_tracked(o->kind))
            GM_CHECK(rc_gc_is_finalized(r) == o->finalized, "#%u is_finalized wrong", id);
        if (o->kind & GM_WEAKREF) {
            gm_check_weakref(w, (int32_t)id);
            continue;
        }
        GM_CHECK(o->releases == 0 && r->magic == GM_LIVE, "#%u released but reachable", id);
        GM_CHECK(o->fin_runs == o->finalized, "#%u finalizer ran %u times, expected %d", id,
                 o->fin_runs, o->finalized);
        GM_CHECK(rc_weakref_count(r) == o->nweak, "#%u has %zu weak references, the model %u",
                 id, rc_weakref_count(r), o->nweak);
        for (int s = 0; gm_has_slots(o->kind) && s < GM_SLOTS; s++)
            GM_CHECK(r->slot[s] == (o->slot[s] < 0 ? NULL : w->obj[o->slot[s]].ptr),
                     "#%u slot %d changed", id, s);
    }
    uint32_t inres = 0;
    for (uint32_t i = 0; i < w->nres; i++)
        inres += gm_of(w->res[i], "the resurrected list")->in_res;
    GM_CHECK(inres == w->nres, "an object in the resurrected list was not resurrected");
    GM_CHECK(rc_gc_garbage_count(w->h) == w->ngarbage, "garbage list of %zu, the model %u",
             rc_gc_garbage_count(w->h), w->ngarbage);
    if (w->nalive)
        gm_check_walks(w, (int32_t)w->alive[w->op % w->nalive]);
    gm_check_population(w);
    long count[3];
    rc_gc_get_count(w->h, count);
    GM_CHECK(count[0] == w->count[0] && count[1] == w->count[1] && count[2] == w->count[2],
             "counts %ld %ld %ld, model %ld %ld %ld", count[0], count[1], count[2], w->count[0],
             w->count[1], w->count[2]);
    rc_gc_stats st[3];
    rc_gc_get_stats(w->h, st);
    for (int g = 0; g < 3; g++)
        GM_CHECK(st[g].collections == w->stats[g].collections &&
                     st[g].collected == w->stats[g].collected && st[g].uncollectable == 0,
                 "stats of generation %d: %zu %zu %zu, model %zu %zu 0", g, st[g].collections,
                 st[g].collected, st[g].uncollectable, w->stats[g].collections,
                 w->stats[g].collected);
}

/* Creates an object the program holds as a new root: with rc_new, or for a
 * weak reference with rc_weakref_new on target. In a plain program, a kind
 * with neither clear nor finalizer that is not a weak reference is plain.
 * An automatic collection may run inside, exactly when CPython's rules
 * say, once the object is made: it is in generation 0 then, and survives
 * (CPython 3.12). Returns its id or -1. */
static int32_t gm_create(gm_world *w, unsigned kind, int32_t target) {
    if (w->nalive >= GM_MAX_ALIVE || w->nobj >= GM_MAX_OBJECTS || w->nroots >= GM_MAX_ROOTS)
        return -1;
    if (w->cfg.plain && !(kind & (GM_CLEAR | GM_WEAKREF | GM_HOLDER)) && !gm_has_finalizer(kind))
        kind |= GM_PLAIN;
    if (gm_tracked(kind)) {
        w->count[0]++;
        if (w->cfg.automatic && w->count[0] > w->cfg.threshold[0])
            w->want_gen = gm_auto_generation(w);
    }
    w->pending_kind = (int)kind;
    w->pending_id = -1;
    uint32_t planned = w->nobj, starts = w->starts;
    gm_real *p;
    if (kind & GM_WEAKREF)
        p = (gm_real *)rc_weakref_new(w->obj[target].ptr, (kind & GM_CALLBACK) ? gm_callback : NULL,
                                      (void *)(uintptr_t)planned);
    else if (kind & GM_LARGE)
        p = rc_new_sized(w->h, gm_type_of_kind(kind), gm_big_size(w));
    else
        p = rc_new(w->h, gm_type_of_kind(kind));
    w->pending_kind = -1;
    if (p == NULL && w->starved) {
        GM_CHECK(errno == ENOMEM, "creating kind %#x with no memory: errno %d", kind, errno);
        return -1;
    }
    GM_CHECK(p != NULL, "creating kind %#x failed", kind);
    GM_CHECK(w->want_gen < 0 && w->starts == w->stops,
             "an automatic collection of generation %d did not run", w->want_gen);
    int32_t id = w->pending_id;
    if (id >= 0)
        GM_CHECK(w->obj[id].ptr == p, "the object in a collection was not the new one");
    else
        id = (int32_t)gm_register(w, kind, p, 0);
    GM_CHECK((id == w->pending_id) == (w->starts > starts),
             "the new object %s in the automatic collection",
             w->starts > starts ? "was not" : "was, without one");
    GM_CHECK(id == (int32_t)planned, "objects registered during rc_new");
    if (kind & GM_WEAKREF) {
        w->obj[id].target = target;
        gm_weak_change(w, target, 1);
    }
    w->roots[w->nroots++] = id;
    return id;
}

static int32_t gm_new(gm_world *w, unsigned kind) { return gm_create(w, kind, -1); }

/* A holder made while the heap's rc_alloc_fn fails every request. Once the
 * live objects with slots fill the stack of deferred deaths past its first
 * RC_UNTRACKED_FIRST slots (in the heap), a new one's slot needs memory:
 * rc_new must fail with ENOMEM. Otherwise it may be made, or fail for want
 * of a pool, a large block or room in the type table. A failure changes
 * nothing (the population and holder counts are checked after the
 * operation), but that the first holder may have taken the heap's own
 * slots, which costs no memory, before it failed. */
static void gm_new_starved(gm_world *w, unsigned kind) {
    bool must_fail = w->nholders == w->holder_cap && w->holder_cap > 0;
    w->starved = true;
    errno = 0;
    int32_t id = gm_create(w, kind, -1);
    w->starved = false;
    GM_CHECK(id < 0 || !must_fail, "holder #%d made with no room for its deferred death", id);
    if (id < 0 && w->holder_cap == 0 && w->h->untracked_stack_cap == RC_UNTRACKED_FIRST)
        w->holder_cap = RC_UNTRACKED_FIRST;
}

/* A new weak reference to target, held as a root. Without a callback, an
 * existing callback-less one is returned again (weakref.ref's rule). */
static void gm_weakref(gm_world *w, int32_t target, bool callback) {
    if (w->nroots >= GM_MAX_ROOTS)
        return;
    for (uint32_t i = 0; !callback && i < w->nwrefs; i++) {
        gm_obj *r = &w->obj[w->wrefs[i]];
        if (r->alive && r->target == target && !(r->kind & GM_CALLBACK)) {
            rc_weakref *p = rc_weakref_new(w->obj[target].ptr, NULL, NULL);
            GM_CHECK(p == (rc_weakref *)r->ptr, "weak reference #%u not reused", w->wrefs[i]);
            r->rc++;
            w->roots[w->nroots++] = (int32_t)w->wrefs[i];
            return;
        }
    }
    gm_create(w, GM_WEAKREF | (callback ? GM_CALLBACK : 0), target);
}


/* Stores a new reference to object b in slot s of node or holder a. */
static void gm_link(gm_world *w, int32_t a, int s, int32_t b) {
    gm_obj *o = &w->obj[a];
    int32_t old = o->slot[s];
    w->obj[b].rc++;
    o->slot[s] = b;
    RC_SET(o->ptr->slot[s], rc_incref(w->obj[b].ptr));
    if (old >= 0)
        gm_model_decref(w, old);
}

static void gm_unlink(gm_world *w, int32_t a, int s) {
    gm_obj *o = &w->obj[a];
    int32_t old = o->slot[s];
    o->slot[s] = -1;
    RC_CLEAR(o->ptr->slot[s]);
    if (old >= 0)
        gm_model_decref(w, old);
}

static void gm_hold(gm_world *w, int32_t id) {
    if (id < 0 || w->nroots >= GM_MAX_ROOTS)
        return;
    w->obj[id].rc++;
    rc_incref(w->obj[id].ptr);
    w->roots[w->nroots++] = id;
}

static void gm_drop_root(gm_world *w, uint32_t i) {
    int32_t id = w->roots[i];
    w->roots[i] = w->roots[--w->nroots];
    rc_decref(w->obj[id].ptr);
    gm_model_decref(w, id);
}

static void gm_res_pop(gm_world *w) {
    gm_real *r = w->res[--w->nres];
    gm_obj *o = gm_of(r, "the resurrected list");
    GM_CHECK(o->in_res, "#%u in the resurrected list", r->id);
    o->in_res = false;
    rc_decref(r);
    gm_model_decref(w, (int32_t)(o - w->obj));
}

/* rc_gc_freeze: every tracked object to the permanent generation, every
 * count reset (CPython's gc_freeze_impl); rc_gc_unfreeze: back into
 * generation 2. */
static void gm_freeze(gm_world *w, bool freeze) {
    for (uint32_t i = 0; i < w->nalive; i++) {
        gm_obj *o = &w->obj[w->alive[i]];
        if (gm_tracked(o->kind))
            o->gen = freeze ? GM_FROZEN : o->gen == GM_FROZEN ? 2 : o->gen;
    }
    if (freeze) {
        for (int g = 0; g < RC_GC_GENERATIONS; g++)
            w->count[g] = 0;
        rc_gc_freeze(w->h);
    } else {
        rc_gc_unfreeze(w->h);
    }
}

/* RC_GC_DEBUG_SAVEALL on or off. */
static void gm_saveall(gm_world *w, bool on) {
    w->saveall = on;
    rc_gc_set_debug(w->h, on ? RC_GC_DEBUG_SAVEALL : 0);
}

typedef struct gm_walk_garbage { gm_world *w; uint32_t n; } gm_walk_garbage;

static int gm_garbage_one(void *p, void *arg) {
    gm_walk_garbage *wg = arg;
    gm_obj *o = gm_find(wg->w, p, "rc_gc_garbage");
    GM_CHECK(o && o->alive && o->in_garbage, "rc_gc_garbage reports %p", p);
    wg->n++;
    return 0;
}

/* The garbage list holds what the model says; rc_gc_garbage_clear drops
 * its references (the objects stay, cyclic garbage again). */
static void gm_garbage_clear(gm_world *w) {
    gm_walk_garbage wg = {w, 0};
    GM_CHECK(rc_gc_garbage(w->h, gm_garbage_one, &wg) == 0, "rc_gc_garbage failed");
    GM_CHECK(wg.n == w->ngarbage && rc_gc_garbage_count(w->h) == w->ngarbage,
             "garbage list of %u (count %zu), the model %u", wg.n, rc_gc_garbage_count(w->h),
             w->ngarbage);
    rc_gc_garbage_clear(w->h);
    int32_t *held = w->garbage;
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->nalive; i++)
        if (w->obj[w->alive[i]].in_garbage)
            held[n++] = (int32_t)w->alive[i];
    for (uint32_t k = 0; k < n; k++) {
        w->obj[held[k]].in_garbage = false;
        gm_model_decref(w, held[k]);
    }
    w->ngarbage = 0;
}

static void gm_collect(gm_world *w, int g) {
    uint32_t starts = w->starts;
    w->want_gen = g;
    long n = rc_gc_collect(w->h, g);
    GM_CHECK(w->starts == starts + 1 && w->stops == starts + 1,
             "rc_gc_collect(%d) did not call the callbacks once", g);
    GM_CHECK(n == w->cur_result, "rc_gc_collect(%d) returned %ld, the model says %ld", g, n,
             w->cur_result);
}

/* A list (ring) of k nodes and holders linked through slot 0; the program
 * holds the head. Link i is a holder when bit i % 3 of holders is set. In a
 * plain program, all plain unless plainbits says otherwise (gm_plainer). A
 * ring with a holder in it is never garbage. */
static void gm_chain(gm_world *w, unsigned k, unsigned kindbits, unsigned plainbits,
                     unsigned holders, bool ring) {
    unsigned kind = gm_kind_of_byte(kindbits) & ~(unsigned)(GM_NODE | GM_HOLDER);
    kind = holders & 1 ? (kind & ~(unsigned)GM_CLEAR) | GM_HOLDER : kind | GM_NODE;
    int32_t head = gm_new(w, gm_plainer(w, kind, plainbits));
    if (head < 0)
        return;
    int32_t prev = head;
    for (unsigned i = 1; i < k; i++) {
        static const unsigned fins[4] = {0, GM_FIN_LOG, GM_FIN_RES, GM_FIN_DROP};
        kind = (holders >> (i % 3)) & 1 ? GM_HOLDER : GM_NODE | (i % 3 == 0 ? GM_CLEAR : 0);
        kind |= fins[(kindbits >> (i % 7)) & 3];
        int32_t n = gm_new(w, gm_plainer(w, kind, plainbits));
        if (n < 0)
            break;
        gm_link(w, prev, 0, n);
        gm_drop_root(w, w->nroots - 1);
        prev = n;
    }
    if (ring)
        gm_link(w, prev, 0, head);
}

typedef struct gm_reader { const uint8_t *p, *end; } gm_reader;

static unsigned gm_byte(gm_reader *r) { return r->p < r->end ? *r->p++ : 0; }

/* The root a byte names, -1 when the program holds none. */
static int gm_root_index(gm_world *w, unsigned b) {
    return w->nroots ? (int)(b % w->nroots) : -1;
}

enum gm_op {
    GM_OP_NEW, GM_OP_LINK, GM_OP_UNLINK, GM_OP_DROP, GM_OP_DUP, GM_OP_LOAD, GM_OP_COLLECT,
    GM_OP_COLLECT_FULL, GM_OP_POP_RESURRECTED, GM_OP_CHAIN, GM_OP_RING, GM_OP_DROP_ALL,
    GM_OP_FREEZE, GM_OP_WEAKREF, GM_OP_WEAKREF_GET, GM_OP_SAVEALL,
};

/* An operation's first byte, modulo 40, picks it with these odds. */
static const uint8_t gm_ops[40] = {
    GM_OP_NEW, GM_OP_NEW, GM_OP_NEW, GM_OP_NEW, GM_OP_NEW, GM_OP_NEW, GM_OP_NEW,
    GM_OP_LINK, GM_OP_LINK, GM_OP_LINK, GM_OP_LINK, GM_OP_LINK, GM_OP_LINK, GM_OP_LINK,
    GM_OP_UNLINK, GM_OP_UNLINK, GM_OP_DROP, GM_OP_DROP, GM_OP_DROP, GM_OP_DROP, GM_OP_DUP,
    GM_OP_LOAD, GM_OP_LOAD, GM_OP_COLLECT, GM_OP_COLLECT, GM_OP_COLLECT,
    GM_OP_POP_RESURRECTED, GM_OP_CHAIN, GM_OP_RING, GM_OP_DROP_ALL, GM_OP_COLLECT_FULL,
    GM_OP_FREEZE, GM_OP_WEAKREF, GM_OP_WEAKREF, GM_OP_WEAKREF, GM_OP_WEAKREF_GET,
    GM_OP_WEAKREF_GET, GM_OP_LINK, GM_OP_LINK, GM_OP_SAVEALL,
};

/* Runs one operation read from rd: an operation byte, then three operands
 * (a and c pick roots, b a slot, generation, length or flag; the kinds of
 * new objects come from those the operation leaves unused). */
static void gm_step(gm_world *w, gm_reader *rd) {
    unsigned op = gm_ops[gm_byte(rd) % 40], a = gm_byte(rd), b = gm_byte(rd), c = gm_byte(rd);
    int i = gm_root_index(w, a), j = gm_root_index(w, c);
    int32_t ida = i >= 0 ? w->roots[i] : -1, idc = j >= 0 ? w->roots[j] : -1;
    unsigned kind = ida >= 0 ? w->obj[ida].kind : 0;
    bool slots = ida >= 0 && gm_has_slots(kind);
    unsigned slot = b % GM_SLOTS;
    char *what = w->what;
    size_t n = sizeof w->what;
    w->op++;
    snprintf(what, n, "skipped");
    switch (op) {
    case GM_OP_NEW: {
        unsigned k = gm_plainer(w, gm_kind_of_byte(a), b);
        bool starved = (k & GM_HOLDER) && b >= 0xe0; /* b % 8 is gm_plainer's */
        snprintf(what, n, "new kind %#x%s", k, starved ? " with no memory" : "");
        if (starved)
            gm_new_starved(w, k);
        else
            gm_new(w, k);
        break;
    }
    case GM_OP_LINK:
        if (slots && idc >= 0) {
            snprintf(what, n, "link #%d.%u = #%d", ida, slot, idc);
            gm_link(w, ida, (int)slot, idc);
        }
        break;
    case GM_OP_UNLINK:
        if (slots) {
            snprintf(what, n, "unlink #%d.%u", ida, slot);
            gm_unlink(w, ida, (int)slot);
        }
        break;
    case GM_OP_DROP:
        if (i >= 0) {
            snprintf(what, n, "drop #%d", ida);
            gm_drop_root(w, (uint32_t)i);
        }
        break;
    case GM_OP_DUP:
        if (i >= 0) {
            snprintf(what, n, "dup #%d", ida);
            gm_hold(w, ida);
        }
        break;
    case GM_OP_LOAD:
        if (slots) {
            snprintf(what, n, "load #%d.%u", ida, slot);
            gm_hold(w, w->obj[ida].slot[slot]);
        }
        break;
    case GM_OP_COLLECT:
    case GM_OP_COLLECT_FULL: {
        int g = op == GM_OP_COLLECT ? (int)(b % 3) : 2;
        snprintf(what, n, "collect %d", g);
        gm_collect(w, g);
        break;
    }
    case GM_OP_POP_RESURRECTED:
        if (w->nres) {
            snprintf(what, n, "pop resurrected");
            gm_res_pop(w);
        }
        break;
    case GM_OP_CHAIN:
    case GM_OP_RING: {
        unsigned holders = a & 0x80 ? (a >> 4) & 7 : 0; /* a % 8 is gm_plainer's */
        snprintf(what, n, "%s of %u (holders %u)", op == GM_OP_CHAIN ? "chain" : "ring",
                 1 + b % 96, holders);
        gm_chain(w, 1 + b % 96, c, a, holders, op == GM_OP_RING);
        break;
    }
    case GM_OP_DROP_ALL:
        snprintf(what, n, "drop all");
        while (w->nroots)
            gm_drop_root(w, w->nroots - 1);
        break;
    case GM_OP_FREEZE:
        snprintf(what, n, "%s", b & 1 ? "freeze" : "unfreeze");
        gm_freeze(w, b & 1);
        break;
    case GM_OP_WEAKREF:
        if (ida >= 0 && !(kind & GM_WEAKREF)) {
            snprintf(what, n, "weakref to #%d%s", ida, b & 3 ? " with callback" : "");
            gm_weakref(w, ida, b & 3);
        }
        break;
    case GM_OP_WEAKREF_GET:
        if (kind & GM_WEAKREF) {
            snprintf(what, n, "get weakref #%d", ida);
            gm_check_weakref(w, ida);
        }
        break;
    default: /* GM_OP_SAVEALL */
        snprintf(what, n, "%s", b % 4 == 0 ? "saveall on" : b % 4 == 1 ? "saveall off"
                                                                          : "garbage clear");
        if (b % 4 < 2)
            gm_saveall(w, b % 4 == 0);
        else
            gm_garbage_clear(w);
        break;
    }
    if (w->cfg.trace)
        fprintf(stderr, "gc_model: op %lu: %s\n", w->op, what);
    gm_check_events(w);
    gm_check_population(w);
    if (w->op % 8 == 0 || op == GM_OP_COLLECT || op == GM_OP_COLLECT_FULL)
        gm_check_state(w);
}

/* Empties every holder's slots: a cycle through a holder is never garbage,
 * so the program breaks it, as a CPython program must. */
static void gm_empty_holders(gm_world *w) {
    int32_t *holders = w->garbage;
    uint32_t n = 0;
    for (uint32_t i = 0; i < w->nalive; i++)
        if (w->obj[w->alive[i]].kind & GM_HOLDER)
            holders[n++] = (int32_t)w->alive[i];
    for (uint32_t k = 0; k < n; k++)
        for (int s = 0; s < GM_SLOTS; s++)
            if (w->obj[holders[k]].alive && w->obj[holders[k]].slot[s] >= 0)
                gm_unlink(w, holders[k], s);
}

/* Ends the program: without cfg.leak, unfreezes, breaks the cycles through
 * holders, drops everything and collects until nothing is left, then
 * rc_heap_free must find no leak; with
 * cfg.leak, rc_heap_free must collect (frozen objects stay, as in a full
 * collection), finalize and release what is still alive. */
static void gm_finish(gm_world *w) {
    if (!w->cfg.leak) {
        snprintf(w->what, sizeof w->what, "cleanup");
        gm_saveall(w, false);
        gm_garbage_clear(w);
        gm_freeze(w, false);
        for (unsigned round = 0; w->nalive > 0; round++) {
            GM_CHECK(round <= GM_MAX_OBJECTS, "objects survive every collection");
            gm_empty_holders(w);
            while (w->nroots)
                gm_drop_root(w, w->nroots - 1);
            while (w->nres)
                gm_res_pop(w);
            gm_collect(w, 2);
            gm_check_events(w);
        }
        gm_check_state(w);
        if (w->cfg.tracing) { /* every object gone: so is every trace */
            size_t current, peak;
            rc_tracemalloc_get_traced_memory(w->h, &current, &peak);
            GM_CHECK(current == 0, "%zu bytes still traced with no object alive", current);
        }
    }
    snprintf(w->what, sizeof w->what, "rc_heap_free");
    if (w->cfg.leak) { /* what rc_heap_free does with the garbage list is its own business */
        gm_saveall(w, false);
        gm_garbage_clear(w);
        gm_check_events(w);
    }
    GM_CHECK(rc_gc_callback_remove(w->h, gm_gc_callback, w) == 0, "callback_remove failed");
    long left = 0;
    if (w->cfg.leak) {
        gm_model_collect(w, 2);
        left = w->nalive;
        /* every finalizer not run yet runs (one dropping a reference may
         * free objects by reference counting); then everything goes */
        int32_t *unfinalized = w->garbage;
        uint32_t n = 0;
        for (uint32_t i = 0; i < w->nalive; i++)
            if (gm_has_finalizer(w->obj[w->alive[i]].kind) && !w->obj[w->alive[i]].finalized)
                unfinalized[n++] = (int32_t)w->alive[i];
        for (uint32_t k = 0; k < n; k++)
            if (w->obj[unfinalized[k]].alive && !w->obj[unfinalized[k]].finalized)
                gm_model_finalize(w, unfinalized[k]);
        for (uint32_t i = 0; i < w->nalive; i++) /* targets for gm_spawn_weakref */
            if (!(w->obj[w->alive[i]].kind & GM_WEAKREF))
                w->left[w->nleft++] = (int32_t)w->alive[i];
        while (w->nalive)
            gm_model_free(w, (int32_t)w->alive[0]);
    }
    w->tearing_down = true;
    size_t n = rc_heap_free(w->h);
    w->h = NULL;
    GM_CHECK((long)n == left, "rc_heap_free returned %zu, expected %ld", n, left);
    gm_check_events(w);
    for (uint32_t id = 0; id < w->nobj; id++)
        GM_CHECK((w->obj[id].kind & GM_WEAKREF) ||
                     (w->obj[id].releases == !(w->obj[id].kind & GM_PLAIN) &&
                      w->obj[id].fin_runs == w->obj[id].finalized),
                 "#%u: released %u times, finalized %u times, expected %d, %d", id,
                 w->obj[id].releases, w->obj[id].fin_runs, !(w->obj[id].kind & GM_PLAIN),
                 w->obj[id].finalized);
}

/* Config from the first bytes (the fuzz target's way). No byte chooses
 * plain, lest the corpus change its meaning: the includer sets it. */
static gm_config gm_config_of_bytes(gm_reader *rd) {
    unsigned flags = gm_byte(rd);
    gm_config cfg = {0};
    cfg.automatic = flags & 1;
    cfg.leak = (flags & 6) == 6;
    cfg.threshold[0] = 1 + (long)(gm_byte(rd) % 24);
    cfg.threshold[1] = 1 + (long)(flags >> 3) % 4;
    cfg.threshold[2] = 1 + (long)(flags >> 5) % 4;
    return cfg;
}

/* The heap's rc_alloc_fn: realloc and free, failing every request while
 * the world is starved (gm_new_starved). */
static void *gm_alloc(void *ud, void *ptr, size_t old_size, size_t new_size) {
    const gm_world *w = ud;
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    return w->starved ? NULL : realloc(ptr, new_size);
}

/* Runs the program in data (what follows the bytes gm_config_of_bytes
 * read) on a fresh heap against the model, configured by cfg. */
static void gm_run(const uint8_t *data, size_t len, const gm_config *cfg) {
    gm_reader rd = {data, data + len};
    gm_world *w = calloc(1, sizeof *w);
    gm_obj *obj = calloc(GM_MAX_OBJECTS, sizeof *obj);
    uint8_t *mark = calloc(GM_MAX_OBJECTS, 1);
    uint32_t *gc_refs = calloc(GM_MAX_OBJECTS, sizeof *gc_refs);
    int32_t *work = calloc(GM_MAX_OBJECTS, sizeof *work);
    int32_t *garbage = calloc(GM_MAX_OBJECTS, sizeof *garbage);
    int32_t *dead = calloc(GM_MAX_OBJECTS, sizeof *dead);
    if (!w || !obj || !mark || !gc_refs || !work || !garbage || !dead)
        gm_fail("out of memory");
    w->obj = obj;
    w->mark = mark;
    w->gc_refs = gc_refs;
    w->work = work;
    w->garbage = garbage;
    w->dead = dead;
    w->cfg = *cfg;
    w->pending_kind = -1;
    w->want_gen = -1;
    w->spawn_begin = data;
    w->spawn_p = data + len;
    w->nspawn_bytes = len;
    gm_w = w;
    snprintf(w->what, sizeof w->what, "setup");
    w->h = rc_heap_new_with(gm_alloc, w);
    GM_CHECK(w->h != NULL, "rc_heap_new_with failed");
    if (w->cfg.tracing)
        GM_CHECK(rc_tracemalloc_start(w->h, 1 + (int)(w->cfg.threshold[0] % 4)) == 0,
                 "rc_tracemalloc_start failed");
    if (w->cfg.automatic)
        rc_gc_set_threshold(w->h, w->cfg.threshold[0], w->cfg.threshold[1], w->cfg.threshold[2]);
    else
        rc_gc_disable(w->h);
    GM_CHECK(rc_gc_callback_add(w->h, gm_gc_callback, w) == 0, "callback_add failed");
    while (rd.p < rd.end)
        gm_step(w, &rd);
    gm_check_state(w);
    gm_finish(w);
    gm_w = NULL;
    free(dead);
    free(garbage);
    free(work);
    free(gc_refs);
    free(mark);
    free(obj);
    free(w);
}

#endif /* RCGC_TEST_GC_MODEL_H */
