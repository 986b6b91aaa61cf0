/*
 * rcgc — CPython's memory model for C programs.
 *
 * Reference-counted objects that die the moment their last reference goes, a
 * generational cycle collector for the cycles counting cannot free, PEP 442
 * finalizers, weak references, a small-object allocator, and tracemalloc-style
 * allocation tracing with snapshots.
 *
 * Conventions used in every contract below:
 *   - "new reference": the caller owns one reference and must drop it.
 *   - "borrowed": the caller gets no reference; the pointer is valid while the
 *     owner keeps the object alive.
 *   - "stolen": the callee takes over the caller's reference.
 *   - A call that can fail returns NULL or -1 and sets errno.
 *   - NULL where a heap, object, callback or out-array is wanted: a call
 *     that can fail gives NULL or -1 + EINVAL; a setter does nothing; a
 *     getter gives false, 0, NULL or nothing (rc_free(NULL, p) of a pointer
 *     is a misuse; rc_incref/rc_decref(NULL) do nothing).
 *   - A heap and all its objects are used by one thread at a time.
 *   - An object may refer to an object of another heap that the same thread
 *     uses: each heap's collector counts such references as coming from
 *     outside, so a cycle through two heaps is never collected (break it by
 *     hand). rc_heap_free drops the references of the objects it releases,
 *     those into other heaps too; references from other heaps into the heap
 *     it frees are left dangling: free a heap once no object of another
 *     heap refers to its objects, and make none refer to them while
 *     rc_heap_free runs (a finalizer its drops run, say).
 *
 * The allocating calls (rc_new, rc_new_sized, rc_malloc, rc_calloc, rc_realloc,
 * rc_weakref_new) are macros that pass the caller's __FILE__, __LINE__ and
 * __func__ (in C++, __builtin_FUNCTION(): see RC_CALLER_) to the library for
 * tracemalloc; every argument is evaluated once.
 * Real functions of the same names exist too: (rc_new)(h, type) calls one.
 */
#ifndef RCGC_H
#define RCGC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RC_VERSION_MAJOR 0
#define RC_VERSION_MINOR 1
#define RC_VERSION_PATCH 0
#define RC_VERSION_STRING "0.1.0"
/* RC_VERSION: major * 10000 + minor * 100 + patch, for #if comparisons. */
#define RC_VERSION (RC_VERSION_MAJOR * 10000 + RC_VERSION_MINOR * 100 + RC_VERSION_PATCH)

/* The library's version string ("0.1.0"); may differ from RC_VERSION_STRING
 * when a program runs against a newer shared library than it was built with. */
const char *rc_version(void);

/* ------------------------------------------------------------------ heaps */

typedef struct rc_heap rc_heap;

/* lua_Alloc's contract: new_size == 0 frees ptr (NULL allowed) and returns
 * NULL; otherwise it behaves as realloc(ptr, new_size) and returns NULL on
 * failure (leaving ptr untouched). old_size is the size ptr was obtained with
 * (0 when ptr is NULL). Returned memory must be 16-byte aligned (else the
 * library aborts, naming the misuse). */
typedef void *(*rc_alloc_fn)(void *ud, void *ptr, size_t old_size, size_t new_size);

/* A new heap whose memory comes from malloc. NULL + ENOMEM.
 * With RCGC_DEBUG=1 in the environment, freed memory is poisoned and held
 * back (quarantine) so that use of a dead object is detected. Where the
 * system has transparent huge pages (Linux), the heap's memory past its
 * first 2 MiB of small objects asks for them (faster collections and
 * allocation on big heaps; resident memory grows 2 MiB at a time there);
 * RCGC_HUGEPAGES=0 in the environment turns that off. */
rc_heap *rc_heap_new(void);

/* A new heap all of whose memory, bookkeeping included, comes from alloc
 * (called with ud). NULL + EINVAL when alloc is NULL; NULL + ENOMEM. One
 * exception: tracemalloc's native stacks. Its symbol resolver (file:line
 * for native frames, one per process, which the tracing heaps share: made
 * the first time a traceback deeper than its call site is shown, freed when
 * the last of them stops tracing), its cache of resolved frames and libdw
 * beneath it, the
 * stack walker's process-wide table of loaded code (made at the first walk
 * and at each dlopen/dlclose after) and glibc's pthread_getattr_np (a walk
 * reads the thread's stack bounds) take their memory from malloc; if that
 * fails, the traced call fails with ENOMEM. */
rc_heap *rc_heap_new_with(rc_alloc_fn alloc, void *ud);

/* Runs a full collection, then the finalizer of every object still alive
 * that was not finalized, then releases every object and all memory of the
 * heap. Returns how many objects were still alive after that full
 * collection: references the program forgot to drop (0 without leaks), and
 * objects kept by the garbage list or frozen. Those are then released in
 * no set order, each as a death would: its references dropped (its clear,
 * or each slot traverse visits set to NULL), then its release, once. The
 * drops end no object of this heap (all die together, and no weak
 * reference callback runs); a reference into another heap is dropped as
 * any drop is. NULL is allowed and returns 0. */
size_t rc_heap_free(rc_heap *h);

typedef struct rc_heap_stats {
    size_t objects;        /* live objects */
    size_t tracked;        /* of which tracked by the collector */
    size_t bytes_in_use;   /* bytes of live objects and rc_malloc blocks, headers included */
    size_t bytes_reserved; /* bytes obtained from the system (or rc_alloc_fn) and not returned */
} rc_heap_stats;

/* Fills *out with the heap's current figures. Allocates nothing; O(pools):
 * bytes_in_use is added up over the heap's pools (64 KiB each) when asked,
 * not kept by every allocation and free. */
void rc_heap_get_stats(const rc_heap *h, rc_heap_stats *out);

/* ------------------------------------------------------ types and objects */

/* Called by traverse once per reference slot; slot points at the field. */
typedef void (*rc_visit_fn)(void **slot, void *arg);

/* Py_VISIT: inside a traverse whose parameters are named visit and arg,
 * visits the field (a pointer to an rc object, of any type) through its
 * own address (a C++ cast in C++: RC_FIELD_SLOT_ below). */
#define RC_VISIT(field) visit(RC_FIELD_SLOT_(&(field)), arg)

typedef struct rc_type {
    const char *name; /* shown in reports: "<node 0x55d0c0ffee10>" */
    size_t size;      /* bytes of a new object made by rc_new */
    /* Calls visit(&self->field, arg) for each field holding a strong
     * reference to an rc object. NULL: the type holds no rc references, its
     * objects are not tracked and carry no collector header. */
    void (*traverse)(void *self, rc_visit_fn visit, void *arg);
    /* Drops every reference with rc_decref/RC_CLEAR. Optional: without it
     * the library clears each slot traverse visits. Runs when the object
     * dies (tracked or not), and on cyclic garbage before that: it may run
     * twice on one object, so it leaves every field it drops NULL. */
    void (*clear)(void *self);
    /* Runs at most once, before the object dies (PEP 442); may resurrect. */
    void (*finalize)(void *self);
    /* Frees what the object owns that is not an rc object; runs exactly
     * once, after its references were dropped (at rc_heap_free too). */
    void (*release)(void *self);
} rc_type;

/* A new reference to a zeroed object of type->size bytes, 16-byte aligned,
 * count 1, tracked when the type has traverse. The type must outlive its
 * objects, and its functions must not change meanwhile (which of them it
 * has is read when its objects are made); it may go (a plugin's dlclose)
 * once none of its objects is left and rc_gc_collect ran since, which
 * makes the heap read a type found at its address anew. NULL + EINVAL for
 * a NULL heap or type or a size of 0; NULL + ENOMEM (also past 2^20
 * distinct types in a heap). */
void *rc_new(rc_heap *h, const rc_type *type);

/* As rc_new with size bytes instead of type->size (variable-sized objects). */
void *rc_new_sized(rc_heap *h, const rc_type *type, size_t size);

/* The object's type (borrowed). */
const rc_type *rc_type_of(const void *obj);

/* The heap the object lives in (borrowed). */
rc_heap *rc_heap_of(const void *obj);

/* Bytes the object costs in its heap, header and rounding included. */
size_t rc_sizeof(const void *obj);

/* ------------------------------------------------------- reference counts */

/* Takes a new reference; returns obj. NULL is allowed and ignored. A count
 * never wraps: past its maximum it saturates and the object is immortal. */
void *rc_incref(void *obj);

/* Drops a reference; at zero the object dies: finalizer (once), weak
 * references cleared and their callbacks run, references dropped, release,
 * memory freed. NULL is allowed and ignored. Dropping below zero aborts,
 * naming the object, while its memory has not been reused (a large
 * object's, past 4096 bytes with its header, is held back among the heap's last 16 to die,
 * 1 MiB in all, and given back at once when an allocation of the heap would
 * fail without it). */
void rc_decref(void *obj);

/* The object's true reference count (sys.getrefcount minus its argument). */
size_t rc_refcount(const void *obj);

/* The macros' casts: C++'s named ones there (-Wold-style-cast). RC_VOID_
 * makes a void * of any object pointer, const or not; RC_FIELD_SLOT_ a
 * void ** of a field's address (T **). */
#ifdef __cplusplus
#define RC_VOID_(p) const_cast<void *>(static_cast<const void *>(p))
#define RC_SLOT_(p) static_cast<void **>(p)
#define RC_FIELD_SLOT_(p) reinterpret_cast<void **>(p)
#else
#define RC_VOID_(p) ((void *)(p))
#define RC_SLOT_(p) ((void **)(p))
#define RC_FIELD_SLOT_(p) ((void **)(p))
#endif

/* Sets the lvalue ptr to NULL, then drops the reference it held (Py_CLEAR). */
#define RC_CLEAR(ptr)                                                       \
    do {                                                                    \
        __typeof__(ptr) *rc_slot_ = &(ptr);                                 \
        void *rc_old_ = RC_VOID_(*rc_slot_);                                \
        *rc_slot_ = NULL;                                                   \
        rc_decref(rc_old_);                                                 \
    } while (0)

/* Stores value (a new reference, stolen) in the lvalue ptr, then drops the
 * reference ptr held before (Py_XSETREF). */
#define RC_SET(ptr, value)                                                  \
    do {                                                                    \
        __typeof__(ptr) *rc_slot_ = &(ptr);                                 \
        void *rc_old_ = RC_VOID_(*rc_slot_);                                \
        *rc_slot_ = (value);                                                \
        rc_decref(rc_old_);                                                 \
    } while (0)

/* Scope-bound reference: `rc_auto node *n = rc_new(h, &node_type);` drops n
 * (rc_decref) when n goes out of scope. GCC and Clang. */
static inline void rc_auto_drop_(void *slot) { rc_decref(*RC_SLOT_(slot)); }
#define rc_auto __attribute__((cleanup(rc_auto_drop_)))

/* Hands over the reference ptr holds: evaluates to ptr's value (a new
 * reference for whoever takes it, or NULL) and leaves ptr NULL, so that an
 * rc_auto variable's reference can be returned or stored without being
 * dropped at scope exit: `return RC_STEAL(n);`. GCC and Clang. Its locals
 * are named apart from RC_SET's, so RC_SET(field, RC_STEAL(n)) shadows
 * nothing (-Wshadow). */
#define RC_STEAL(ptr)                                                       \
    __extension__({                                                         \
        __typeof__(ptr) *rc_steal_slot_ = &(ptr);                           \
        __typeof__(ptr) rc_steal_ref_ = *rc_steal_slot_;                    \
        *rc_steal_slot_ = NULL;                                             \
        rc_steal_ref_;                                                      \
    })

/* --------------------------------------------------------- raw memory */

/* size bytes, 16-byte aligned, uninitialised; rc_malloc(h, 0) returns a
 * unique block. NULL + ENOMEM; NULL + EINVAL for a NULL heap. */
void *rc_malloc(rc_heap *h, size_t size);
/* n * size zeroed bytes; NULL + ENOMEM when n * size overflows. */
void *rc_calloc(rc_heap *h, size_t n, size_t size);
/* realloc's contract: ptr NULL acts as rc_malloc; on failure NULL + ENOMEM
 * and ptr is untouched; NULL + EINVAL for a NULL heap. size 0 gives a
 * minimal block (ptr is freed). */
void *rc_realloc(rc_heap *h, void *ptr, size_t size);
/* Frees a block of rc_malloc/rc_calloc/rc_realloc. NULL is allowed. A
 * pointer the heap does not own (or a NULL heap) aborts with a message. */
void rc_free(rc_heap *h, void *ptr);

/* ------------------------------------------------------ the cycle collector */

#define RC_GC_GENERATIONS 3

/* Collects generations 0..generation (2 = full). Returns the number of
 * unreachable objects found (as gc.collect(): not those a finalizer
 * resurrected); -1 + EINVAL for a generation outside 0..2; 0 without
 * collecting when a collection of h is already running (called from a
 * finalizer, callback, clear or release), while rc_heap_free(h) releases
 * the heap's objects (called from a release, or a death its drops cause
 * in another heap: what it released is never traversed), or when one of
 * another heap runs in this thread and an object of h it would examine
 * refers to an object of another heap (automatic collections wait for
 * it), also when its gc
 * callbacks or log function made such a reference before it began; such a
 * nested collection whose finalizers, weak reference callbacks or log
 * function make its garbage refer to another heap's object keeps that
 * garbage, as resurrected, for a later collection (and does not count
 * it); -1 + ENOMEM when
 * RC_GC_DEBUG_SAVEALL's garbage list cannot grow (the garbage then waits,
 * uncleared and not counted as collected, for the next collection). */
long rc_gc_collect(rc_heap *h, int generation);
/* Automatic collection on (the default) or off; rc_gc_collect works either
 * way. rc_gc_isenabled says which. When on, the tracked allocation
 * (rc_new of a type with traverse, rc_weakref_new) that takes count 0 past
 * threshold 0 collects once its object is made (CPython 3.12's timing): the
 * oldest generation over its threshold, generation 2 only if the objects
 * that reached it since the last full collection are at least a quarter of
 * that collection's survivors. The new object takes part, zeroed (traverse
 * must accept a zeroed object), and survives. */
void rc_gc_enable(rc_heap *h);
void rc_gc_disable(rc_heap *h);
bool rc_gc_isenabled(const rc_heap *h);
/* Defaults 700, 10, 10. threshold0 == 0 disables automatic collection. */
void rc_gc_set_threshold(rc_heap *h, long threshold0, long threshold1, long threshold2);
/* Copies the three thresholds into out. */
void rc_gc_get_threshold(const rc_heap *h, long out[3]);
/* Copies the counts into out, as gc.get_count(): tracked allocations minus
 * deallocations since the last collection, then collections of the
 * younger generation since the last collection of this one. */
void rc_gc_get_count(const rc_heap *h, long out[3]);

typedef struct rc_gc_stats { size_t collections, collected, uncollectable; } rc_gc_stats;
/* Copies each generation's figures since the heap was made (gc.get_stats());
 * uncollectable is always 0: C types have no legacy finalizer. */
void rc_gc_get_stats(const rc_heap *h, rc_gc_stats out[3]);

/* Walk callback: obj is borrowed; return non-zero to stop the walk. */
typedef int (*rc_each_fn)(void *obj, void *arg);
/* Calls fn for each tracked object of generation (0..2, -1 for all three;
 * frozen objects are left out, as gc.get_objects() does, and those
 * rc_heap_free released, dead); returns fn's first
 * non-zero value, or 0; -1 + EINVAL for a bad generation. The walks allocate
 * nothing; they see the objects there when they start (objects fn makes are
 * not walked, as a list from gc.get_objects() does not hold them); no
 * collection starts while one runs (rc_gc_collect returns 0), and fn must
 * not freeze or unfreeze. */
int rc_gc_get_objects(rc_heap *h, int generation, rc_each_fn fn, void *arg);
/* Calls fn for each tracked, unfrozen object of h whose traverse visits
 * obj (not one rc_heap_free released: its traverse is not called); obj may
 * be another heap's; returns as rc_gc_get_objects. NULL obj: none, 0. */
int rc_gc_get_referrers(rc_heap *h, const void *obj, rc_each_fn fn, void *arg);
/* Calls fn for each object obj's traverse visits (none for an untracked
 * type, a NULL obj, or one rc_heap_free released), but one dying (count 0:
 * a field a clear dropped and has not set to NULL yet); returns fn's first
 * non-zero value, or 0. */
int rc_gc_get_referents(const void *obj, rc_each_fn fn, void *arg);
/* Whether obj is on a collector list (false for types without traverse,
 * and for an object rc_heap_free released). */
bool rc_gc_is_tracked(const void *obj);
/* Whether obj's finalizer has run: inside it, true when the collector
 * called it (it was marked first), false when its count reached zero (it is
 * marked when the finalizer returns), as CPython's gc.is_finalized. */
bool rc_gc_is_finalized(const void *obj);

/* Moves every tracked object to the permanent generation, never examined,
 * and sets every generation's count to 0 (as gc.freeze() does).
 * It writes each object's header once (its generation), so call it before
 * fork(), as gc.freeze() is meant to be: collections in the child then
 * leave those pages alone. */
void rc_gc_freeze(rc_heap *h);
/* Moves the permanent generation back into the oldest generation (a walk). */
void rc_gc_unfreeze(rc_heap *h);
size_t rc_gc_get_freeze_count(const rc_heap *h);

#define RC_GC_DEBUG_STATS         1
#define RC_GC_DEBUG_COLLECTABLE   2
#define RC_GC_DEBUG_UNCOLLECTABLE 4
#define RC_GC_DEBUG_SAVEALL       32
#define RC_GC_DEBUG_LEAK (RC_GC_DEBUG_COLLECTABLE | RC_GC_DEBUG_UNCOLLECTABLE | RC_GC_DEBUG_SAVEALL)
/* The RC_GC_DEBUG_* flags, as gc.set_debug()/gc.get_debug(). */
void rc_gc_set_debug(rc_heap *h, unsigned flags);
unsigned rc_gc_get_debug(const rc_heap *h);
/* Debug lines go to log, one line per call without its newline; NULL
 * restores the default (stderr, with a newline). */
void rc_gc_set_log(rc_heap *h, void (*log)(const char *line, void *arg), void *arg);
/* A log function's type, and the one set with its arg (NULL and NULL: the
 * default), so that a log function can pass lines on to the one it
 * replaced, or put it back. An addition to the contract. */
typedef void (*rc_gc_log_fn)(const char *line, void *arg);
rc_gc_log_fn rc_gc_get_log(const rc_heap *h, void **arg);

/* Walks the garbage list (objects kept by RC_GC_DEBUG_SAVEALL; each object
 * is borrowed from the list); returns fn's first non-zero value, or 0. */
int rc_gc_garbage(rc_heap *h, rc_each_fn fn, void *arg);
/* len(gc.garbage). */
size_t rc_gc_garbage_count(const rc_heap *h);
/* Drops the garbage list's references, last first (del gc.garbage[:]); the
 * list is empty while they are dropped. */
void rc_gc_garbage_clear(rc_heap *h);

typedef struct rc_gc_info { int generation; size_t collected, uncollectable; } rc_gc_info;
/* phase is "start" or "stop"; info's counts are meaningful at "stop". */
typedef void (*rc_gc_callback)(rc_heap *h, const char *phase, const rc_gc_info *info, void *arg);
/* 0, or -1 + ENOMEM. The same (cb, arg) may be added more than once. */
int rc_gc_callback_add(rc_heap *h, rc_gc_callback cb, void *arg);
/* Removes the first (cb, arg) added; 0, or -1 + ENOENT. */
int rc_gc_callback_remove(rc_heap *h, rc_gc_callback cb, void *arg);

/* ---------------------------------------------------------- weak references */

typedef struct rc_weakref rc_weakref; /* itself an rc object */
typedef void (*rc_weakref_callback)(rc_weakref *ref, void *arg);

/* A new reference to a weak reference to target. Without a callback the
 * existing callback-less weak reference is reused, as weakref.ref does.
 * cb(ref, arg) runs when target dies, if ref is still alive; callbacks on one
 * target run newest first. NULL + EINVAL for a NULL target or a weak
 * reference (not weakly referenceable, as in CPython); NULL + ENOMEM. */
rc_weakref *rc_weakref_new(void *target, rc_weakref_callback cb, void *arg);
/* A new strong reference to the target, or NULL once it is dead. */
void *rc_weakref_get(rc_weakref *ref);
/* How many weak references point at target. */
size_t rc_weakref_count(const void *target);
/* Whether obj is a weak reference (PyWeakref_Check); false for NULL. */
bool rc_weakref_check(const void *obj);

/* ---------------------------------------------------------- tracemalloc */

#define RC_TRACEMALLOC_MAX_NFRAME 128
typedef struct rc_frame { const char *filename; unsigned lineno; const char *function; } rc_frame;
typedef struct rc_traceback { unsigned nframe, total_nframe; const rc_frame *frames; } rc_traceback;

/* Starts tracing with up to nframe frames per traceback. 0; -1 + EINVAL for
 * nframe outside 1..RC_TRACEMALLOC_MAX_NFRAME; -1 + ENOMEM; -1 + EMFILE or
 * ENFILE when the file the library is linked into, read once per process
 * to tell its frames from the caller's, could not be opened; no-op (0)
 * when already tracing. */
int rc_tracemalloc_start(rc_heap *h, int nframe);
/* Stops tracing and forgets every trace. Misuse (a fatal report), as for
 * clear_traces: called by the heap's rc_alloc_fn while the heap's
 * tracebacks are being resolved (a snapshot, get_object_traceback), which
 * would free what is being worked on. */
void rc_tracemalloc_stop(rc_heap *h);
bool rc_tracemalloc_is_tracing(const rc_heap *h);
/* Forgets every trace and traceback; tracing goes on. */
void rc_tracemalloc_clear_traces(rc_heap *h);
/* Bytes of the live traces (sizes asked for) and the most there were since
 * tracing started, the traces were cleared or the peak was reset; 0 and 0
 * when not tracing. Either pointer may be NULL. */
void rc_tracemalloc_get_traced_memory(const rc_heap *h, size_t *current, size_t *peak);
/* Sets the peak to the current size. */
void rc_tracemalloc_reset_peak(rc_heap *h);
/* Bytes tracemalloc itself uses to store traces and tracebacks. */
size_t rc_tracemalloc_get_tracemalloc_memory(const rc_heap *h);
/* nframe of the running trace, or of the last one (1 before any, and for a
 * NULL heap). */
int rc_tracemalloc_get_traceback_limit(const rc_heap *h);
/* The traceback where ptr (an object or rc_malloc block) was allocated, or
 * NULL when it is not traced (NULL + ENOMEM, EMFILE or ENFILE when its
 * frames could not be resolved for want of memory or of file descriptors
 * to read the loaded files: a later call tries again; NULL + EDEADLK when
 * called by a heap's rc_alloc_fn while this thread resolves frames for
 * another call). Valid until the block dies, clear_traces or tracing
 * stops. */
const rc_traceback *rc_tracemalloc_get_object_traceback(rc_heap *h, const void *ptr);
/* 0, -1 + ENOMEM, or -2 when not tracing (or h is NULL). Tracking again
 * replaces the trace (kept when that fails). */
int rc_tracemalloc_track(rc_heap *h, unsigned domain, uintptr_t ptr, size_t size);
/* Forgets (domain, ptr)'s trace if any: 0, or -2 when not tracing (or h is
 * NULL). */
int rc_tracemalloc_untrack(rc_heap *h, unsigned domain, uintptr_t ptr);

/* Fills frames[0..max) with the caller's stack, most recent first; returns
 * how many it wrote, or, for a stack deeper than max (max written), its
 * depth, which becomes the traceback's total_nframe (an addition: a return
 * of at most max stays as it was). Replaces native frames (an interpreter's
 * script stack). */
typedef int (*rc_frame_provider)(rc_frame *frames, int max, void *arg);
/* A heap setting, kept across stop and start; NULL: native frames again. */
void rc_tracemalloc_set_frame_provider(rc_heap *h, rc_frame_provider fn, void *arg);
/* The frame provider set and its arg (NULL and NULL: native frames), to
 * put it back after a while. An addition to the contract. */
rc_frame_provider rc_tracemalloc_get_frame_provider(const rc_heap *h, void **arg);

/* ------------------------------------------------------------- snapshots */

typedef struct rc_snapshot rc_snapshot;
typedef enum rc_key_type { RC_KEY_FILENAME, RC_KEY_LINENO, RC_KEY_TRACEBACK } rc_key_type;
typedef struct rc_statistic { rc_traceback traceback; size_t size, count; } rc_statistic;
typedef struct rc_statistic_diff {
    rc_traceback traceback; size_t size; long long size_diff; size_t count; long long count_diff;
} rc_statistic_diff;
typedef struct rc_filter {
    bool inclusive; const char *filename_pattern; unsigned lineno; bool all_frames; int domain;
} rc_filter; /* lineno 0: any line; domain -1: any domain (another negative one
                matches none, as in Python); pattern as fnmatch;
                filename_pattern NULL: a domain-only filter (tracemalloc.DomainFilter) */

/* A new snapshot (the caller frees it) of every live trace, with its
 * frames resolved to file:line. NULL + EINVAL when not tracing; NULL +
 * ENOMEM; NULL + EMFILE or ENFILE when a loaded file could not be opened
 * to resolve a frame; NULL + EDEADLK as for get_object_traceback. Heaps on
 * other threads resolving at the same time wait for each other. Snapshots
 * are independent of the heap and use malloc. */
rc_snapshot *rc_tracemalloc_take_snapshot(rc_heap *h);
/* Frees a snapshot and the tracebacks its statistics point into. NULL is
 * allowed. */
void rc_snapshot_free(rc_snapshot *s);
/* Writes s to path in rcgc's versioned binary format (docs/tracemalloc.md).
 * 0, or -1 + errno (EINVAL, or what opening/writing the file set: EFBIG
 * past RLIMIT_FSIZE, EPIPE into a pipe nobody reads; the SIGXFSZ or
 * SIGPIPE the write raised is taken back). */
int rc_snapshot_dump(const rc_snapshot *s, const char *path);
/* A new snapshot read from path (a regular file, or a pipe or device read
 * to its end); NULL + ENOENT/EISDIR/... for a file that cannot be read, NULL + EINVAL for a truncated, corrupted, foreign or
 * other-version file. Never reads out of bounds. */
rc_snapshot *rc_snapshot_load(const char *path);
/* How many traces s holds. */
size_t rc_snapshot_trace_count(const rc_snapshot *s);
/* A trace of a snapshot (tracemalloc.Trace): one live allocation. */
typedef struct rc_trace { unsigned domain; size_t size; rc_traceback traceback; } rc_trace;
/* Snapshot.traces[i]: trace i of s, for i below rc_snapshot_trace_count(s),
 * in no particular order (as Python's); its traceback points into s and
 * lives as long as it does. 0, or -1 + EINVAL for a NULL argument or an i
 * past the end. */
int rc_snapshot_get_trace(const rc_snapshot *s, size_t i, rc_trace *out);
/* Snapshot.traceback_limit: the nframe of the tracing that took s (kept by
 * dump and load, and by filter_traces); -1 + EINVAL for NULL. */
int rc_snapshot_traceback_limit(const rc_snapshot *s);
/* A new snapshot with the traces of s that the n filters keep
 * (Snapshot.filter_traces: inclusive filters OR-ed, exclusive ones AND-ed).
 * NULL + EINVAL for a NULL s, or NULL filters with n > 0; NULL + ENOMEM. */
rc_snapshot *rc_snapshot_filter_traces(const rc_snapshot *s, const rc_filter *filters, size_t n);
/* Snapshot.statistics(key, cumulative): a malloc'ed array (the caller frees
 * it) of *count statistics, sorted as tracemalloc sorts them; its
 * tracebacks point into s. NULL + EINVAL for cumulative with
 * RC_KEY_TRACEBACK or a NULL argument; NULL + ENOMEM. */
rc_statistic *rc_snapshot_statistics(const rc_snapshot *s, rc_key_type key, bool cumulative,
                                     size_t *count);
/* Snapshot.compare_to(old, key, cumulative): as rc_snapshot_statistics,
 * with the differences from old; tracebacks point into s or old. */
rc_statistic_diff *rc_snapshot_compare_to(const rc_snapshot *s, const rc_snapshot *old,
                                          rc_key_type key, bool cumulative, size_t *count);
/* str(Statistic) into buf, snprintf's contract: returns the length the text
 * needs (it is cut to fit len); -1 + EINVAL for a NULL statistic. */
int rc_statistic_format(const rc_statistic *st, char *buf, size_t len);
/* str(StatisticDiff), as rc_statistic_format. */
int rc_statistic_diff_format(const rc_statistic_diff *d, char *buf, size_t len);
/* Traceback.format(limit, most_recent_first) into buf, each line ending in
 * a newline (what Python's `for line in tb.format(): print(line)` prints):
 * '  File "demo.c", line 42' and, when the file can be read, '    ' and that
 * source line stripped (read as linecache reads it: a regular file, UTF-8).
 * limit > 0: the limit most recent frames (INT_MAX: all, Python's None);
 * limit < 0: all but the -limit most recent (Python's tb[:limit]); 0: none.
 * Oldest first, as Python, unless most_recent_first. snprintf's contract;
 * -1 + EINVAL for a NULL traceback or a frame without a filename. */
int rc_traceback_format(const rc_traceback *tb, int limit, bool most_recent_first, char *buf,
                        size_t len);
/* Prints "[ Top N ]" and the first `limit` statistics by key, a line each,
 * as the tracemalloc documentation's recipe does, and flushes out. 0, or
 * -1 + errno (a write or the flush failed). */
int rc_snapshot_print_top(FILE *out, const rc_snapshot *s, rc_key_type key, size_t limit);

/* ------------------------------------------- call-site capturing variants */

/* The allocating calls with the caller's site, for tracemalloc's frames[0].
 * Use the macros below. The tracer copies file and func (they may go, a
 * plugin's with it at dlclose), but knows a site again by their addresses
 * and line: a buffer passed as file or func must not hold another name
 * later while tracing runs. String literals do not, but for a plugin's:
 * code loaded after its dlclose may have others at those addresses, and
 * its allocations at the same line are then named as the plugin's were
 * (docs/tracemalloc.md, "Tracebacks"). */
void *rc_new_at(rc_heap *h, const rc_type *type, const char *file, int line, const char *func);
void *rc_new_sized_at(rc_heap *h, const rc_type *type, size_t size,
                      const char *file, int line, const char *func);
void *rc_malloc_at(rc_heap *h, size_t size, const char *file, int line, const char *func);
void *rc_calloc_at(rc_heap *h, size_t n, size_t size, const char *file, int line, const char *func);
void *rc_realloc_at(rc_heap *h, void *ptr, size_t size, const char *file, int line, const char *func);
rc_weakref *rc_weakref_new_at(void *target, rc_weakref_callback cb, void *arg,
                              const char *file, int line, const char *func);

/* The function name the macros pass: __func__, which C++ leaves undefined
 * outside a function (g++ warns at a default member initialiser or a
 * namespace-scope initialiser that allocates); there GCC's and Clang's
 * __builtin_FUNCTION() names the enclosing function, or gives "". */
#if defined(__cplusplus) && defined(__GNUC__)
#define RC_CALLER_ __builtin_FUNCTION()
#else
#define RC_CALLER_ __func__
#endif

/* Variadic, so that an argument may hold a comma the preprocessor does not
 * see as nested (a compound literal: rc_weakref_new(o, cb, &(ctx){1, 2})),
 * as a function's may; the _at functions' fixed parameters still reject a
 * wrong number of arguments: rc_new(h, type), rc_new_sized(h, type, size),
 * rc_malloc(h, size), rc_calloc(h, n, size), rc_realloc(h, ptr, size),
 * rc_weakref_new(target, cb, arg). */
#define rc_new(...) rc_new_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)
#define rc_new_sized(...) rc_new_sized_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)
#define rc_malloc(...) rc_malloc_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)
#define rc_calloc(...) rc_calloc_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)
#define rc_realloc(...) rc_realloc_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)
#define rc_weakref_new(...) rc_weakref_new_at(__VA_ARGS__, __FILE__, __LINE__, RC_CALLER_)

#ifdef __cplusplus
}
#endif
#endif /* RCGC_H */
