/*
 * test_threads.c — different heaps in different threads, with no locking
 * between them (the contract's Conventions): each thread runs a workload of
 * its own on a heap of its own (objects tracked and not, cycles collected
 * by hand and automatically, finalizers, weak references with callbacks,
 * raw blocks, tracemalloc with snapshots, freezing) and checks exact
 * results as it goes. The library's process-wide state (the count of live
 * heaps, the symbol tables, the CRC table, Valgrind's flag) must stand
 * that. The tsan.* twin runs it on the library built with ThreadSanitizer
 * (tests/CMakeLists.txt), which names any data race.
 * walks_while_loading: threads load and unload plugins (copies of
 * tests/programs/walk_plugin.c, RCGC_WALK_PLUGIN) and allocate from inside
 * them at once, so that the table of loaded code is replaced under their
 * walks: every traceback must hold every frame.
 * resolves_on_small_stack: a heap handed to a thread with a small stack,
 * which takes a snapshot there (libdw reads the debug information).
 */
#include "check_main.h"
#include "test_support.h"

#include <rcgc.h>

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4
#define ROUNDS 100

typedef struct node {
    struct node *a, *b;
    int *finalized; /* the thread's counter */
} node;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit((void **)&n->a, arg);
    visit((void **)&n->b, arg);
}

static void node_finalize(void *self) { ++*((node *)self)->finalized; }

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, node_finalize, NULL};
static const rc_type leaf_type = {"leaf", 40, NULL, NULL, NULL, NULL};

static void count_callback(rc_weakref *ref, void *arg) {
    (void)ref;
    ++*(int *)arg;
}

/* What one thread found wrong: the first failed check, or NULL. */
typedef struct worker {
    unsigned seed;
    const char *failed;
    int line;
} worker;

#define CHECK(w, cond)                                                      \
    do {                                                                    \
        if (!(cond) && (w)->failed == NULL) {                               \
            (w)->failed = #cond;                                            \
            (w)->line = __LINE__;                                           \
        }                                                                   \
    } while (0)

static unsigned next_random(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 16;
}

/* k two-node cycles (finalizers count into *finalized), dropped. */
static void make_cycles(rc_heap *h, int k, int *finalized) {
    for (int i = 0; i < k; i++) {
        node *x = rc_new(h, &node_type), *y = rc_new(h, &node_type);
        x->finalized = y->finalized = finalized;
        x->a = y;
        y->a = x;
    }
}

/* One round: cycles found exactly by a full collection, a weak reference
 * cleared with its callback, raw blocks that keep their contents across
 * rc_realloc, leaves held and dropped. */
static void round_of(worker *w, rc_heap *h) {
    int finalized = 0, callbacks = 0;
    int k = 1 + (int)(next_random(&w->seed) % 50);
    make_cycles(h, k, &finalized);
    node *target = rc_new(h, &node_type);
    target->finalized = &finalized;
    target->a = rc_incref(target);
    rc_weakref *wr = rc_weakref_new(target, count_callback, &callbacks);
    rc_decref(target);
    CHECK(w, rc_gc_collect(h, 2) == 2 * k + 1);
    CHECK(w, finalized == 2 * k + 1);
    CHECK(w, callbacks == 1);
    CHECK(w, rc_weakref_get(wr) == NULL);
    rc_decref(wr);

    size_t n = 1 + next_random(&w->seed) % 2000;
    unsigned char *raw = rc_malloc(h, n);
    memset(raw, (int)(n & 0xff), n);
    raw = rc_realloc(h, raw, n * 2);
    for (size_t i = 0; i < n; i++)
        CHECK(w, raw[i] == (unsigned char)(n & 0xff));
    rc_free(h, raw);

    void *leaves[64];
    for (int i = 0; i < 64; i++)
        leaves[i] = rc_new(h, &leaf_type);
    for (int i = 0; i < 64; i++)
        rc_decref(leaves[i]);
}

/* Automatic collections (threshold 50) find the cycles that pass through
 * generation 0; tracemalloc sees this thread's raw blocks only. */
static void automatic_and_traced(worker *w, rc_heap *h) {
    int finalized = 0;
    rc_gc_set_threshold(h, 50, 10, 10);
    make_cycles(h, 500, &finalized);
    rc_gc_collect(h, 2);
    CHECK(w, finalized == 1000);
    rc_gc_stats stats[RC_GC_GENERATIONS];
    rc_gc_get_stats(h, stats);
    CHECK(w, stats[0].collections + stats[1].collections >= 1000 / 51);

    CHECK(w, rc_tracemalloc_start(h, 4) == 0);
    void *blocks[100];
    for (int i = 0; i < 100; i++)
        blocks[i] = rc_malloc(h, 100);
    size_t current, peak;
    rc_tracemalloc_get_traced_memory(h, &current, &peak);
    CHECK(w, current == 100 * 100);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    CHECK(w, s != NULL && rc_snapshot_trace_count(s) == 100);
    size_t nstats = 0;
    rc_statistic *st = rc_snapshot_statistics(s, RC_KEY_LINENO, false, &nstats);
    CHECK(w, st != NULL && nstats == 1 && st[0].count == 100 && st[0].size == 10000);
    free(st);
    rc_snapshot_free(s);
    CHECK(w, rc_tracemalloc_get_object_traceback(h, blocks[7]) != NULL);
    for (int i = 0; i < 100; i++)
        rc_free(h, blocks[i]);
    rc_tracemalloc_stop(h);
}

static void *work(void *arg) {
    worker *w = arg;
    rc_heap *h = rc_heap_new();
    CHECK(w, h != NULL);
    if (h == NULL)
        return NULL;
    rc_gc_disable(h);
    int kept_finalized = 0;
    node *kept = rc_new(h, &node_type); /* frozen: never examined */
    kept->finalized = &kept_finalized;
    rc_gc_freeze(h);
    for (int r = 0; r < ROUNDS; r++)
        round_of(w, h);
    rc_gc_enable(h);
    automatic_and_traced(w, h);
    CHECK(w, rc_gc_get_freeze_count(h) == 1);
    rc_decref(kept);
    CHECK(w, kept_finalized == 1 && rc_gc_get_freeze_count(h) == 0);
    CHECK(w, rc_heap_free(h) == 0);
    return NULL;
}

START_TEST(heaps_in_threads) {
    pthread_t threads[THREADS];
    worker workers[THREADS];
    for (int i = 0; i < THREADS; i++) {
        workers[i] = (worker){.seed = 1000u + (unsigned)i};
        ck_assert_int_eq(pthread_create(&threads[i], NULL, work, &workers[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    for (int i = 0; i < THREADS; i++)
        ck_assert_msg(workers[i].failed == NULL, "thread %d: %s failed (line %d)", i,
                      workers[i].failed, workers[i].line);
}
END_TEST

/* ------------------------------------- heaps made and freed everywhere */

/* Heaps made and freed on several threads at once take their arenas from
 * the process's cache and give them back (heap.c): every object is zeroed
 * however the heap before left its memory, and each heap is whole. */
static const rc_type pair_type = {"pair", 2 * sizeof(long), NULL, NULL, NULL, NULL};

static void *make_and_free_heaps(void *arg) {
    int *failures = arg;
    for (long round = 0; round < 3000; round++) {
        rc_heap *h = rc_heap_new();
        for (int i = 0; i < 8; i++) {
            long *o = rc_new(h, &pair_type);
            if (o == NULL || o[0] != 0 || o[1] != 0)
                (*failures)++;
            else
                o[0] = o[1] = ~round; /* left for the next heap */
        }
        if (rc_heap_free(h) != 8) /* all eight leaked */
            (*failures)++;
    }
    return NULL;
}

START_TEST(heaps_made_and_freed_in_threads) {
    pthread_t threads[THREADS];
    int failures[THREADS] = {0};
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, make_and_free_heaps, &failures[i]), 0);
    for (int i = 0; i < THREADS; i++) {
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
        ck_assert_int_eq(failures[i], 0);
    }
}
END_TEST

/* ------------------------------------------- walks while code is loaded */

#define LOADERS 8

/* One loading thread: its copy of the plugin, its heap, what it found. */
typedef struct loader {
    char path[4096];
    int rounds;
    rc_heap *h;
    void *blocks[2000];
    int depths[2000];
    const char *failed;
    int line;
} loader;

__attribute__((noinline)) static void *traced_alloc(void *arg) {
    void *p = rc_malloc(((loader *)arg)->h, 16);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}

typedef void *(*plugin_fn)(void *(*)(void *), void *, int);

/* Every loader has loaded and unloaded its plugin before any resolves:
 * libelf's mappings of the files it reads, made and unmapped in another
 * thread at an address the loader maps a plugin at next, are writes to
 * ThreadSanitizer, which does not see the loader's own mmap. */
static pthread_barrier_t loaded;

/* Allocates from inside the plugin, loaded anew each round, at depths
 * 0-4; then checks that each traceback has depth + 2 frames more than one
 * taken here directly (the plugin's frames show as <unknown> once it is
 * unloaded: only their count is checked). A walk that used a table of
 * loaded code made before the plugin's dlopen ended stopped at the
 * plugin's first frame. */
static void *load_and_walk(void *arg) {
    loader *w = arg;
    w->h = rc_heap_new();
    CHECK(w, w->h != NULL && rc_tracemalloc_start(w->h, RC_TRACEMALLOC_MAX_NFRAME) == 0);
    void *direct = w->failed ? NULL : traced_alloc(w);
    for (int r = 0; r < w->rounds && w->failed == NULL; r++) {
        void *dl = dlopen(w->path, RTLD_NOW | RTLD_LOCAL);
        CHECK(w, dl != NULL);
        if (dl == NULL)
            break;
        plugin_fn call = (plugin_fn)dlsym(dl, "plugin_call");
        w->depths[r] = r % 5;
        w->blocks[r] = call(traced_alloc, w, w->depths[r]);
        CHECK(w, w->blocks[r] != NULL);
        dlclose(dl);
    }
    pthread_barrier_wait(&loaded); /* failed or not */
    if (w->failed)
        return NULL;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(w->h, direct);
    CHECK(w, tb != NULL);
    unsigned base = tb ? tb->total_nframe : 0;
    for (int r = 0; r < w->rounds && w->failed == NULL; r++) {
        tb = rc_tracemalloc_get_object_traceback(w->h, w->blocks[r]);
        CHECK(w, tb != NULL && tb->total_nframe == base + (unsigned)w->depths[r] + 2);
    }
    for (int r = 0; r < w->rounds; r++)
        rc_free(w->h, w->blocks[r]);
    rc_free(w->h, direct);
    CHECK(w, rc_heap_free(w->h) == 0);
    return NULL;
}

START_TEST(walks_while_loading) {
    /* a copy of the plugin per thread: each dlopen loads it, each dlclose
     * unloads it */
    char dir[] = "/tmp/rcgc_threads_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    FILE *in = fopen(RCGC_WALK_PLUGIN, "rb");
    ck_assert_ptr_nonnull(in);
    static char image[1 << 20];
    size_t len = fread(image, 1, sizeof image, in);
    ck_assert(len > 0 && len < sizeof image);
    fclose(in);
    static loader loaders[LOADERS];
    pthread_t threads[LOADERS];
    for (int i = 0; i < LOADERS; i++) {
        loaders[i] = (loader){.rounds = (int)scaled(1500)};
        snprintf(loaders[i].path, sizeof loaders[i].path, "%s/walk_%d.so", dir, i);
        FILE *out = fopen(loaders[i].path, "wb");
        ck_assert_ptr_nonnull(out);
        ck_assert_uint_eq(fwrite(image, 1, len, out), len);
        ck_assert_int_eq(fclose(out), 0);
    }
    ck_assert_int_eq(pthread_barrier_init(&loaded, NULL, LOADERS), 0);
    for (int i = 0; i < LOADERS; i++)
        ck_assert_int_eq(pthread_create(&threads[i], NULL, load_and_walk, &loaders[i]), 0);
    for (int i = 0; i < LOADERS; i++)
        ck_assert_int_eq(pthread_join(threads[i], NULL), 0);
    pthread_barrier_destroy(&loaded);
    for (int i = 0; i < LOADERS; i++)
        unlink(loaders[i].path);
    rmdir(dir);
    for (int i = 0; i < LOADERS; i++)
        ck_assert_msg(loaders[i].failed == NULL, "thread %d: %s failed (line %d)", i,
                      loaders[i].failed, loaders[i].line);
}
END_TEST

/* ------------------------------------- resolution on a small stack */

/* 64 KiB, or the least a thread may have where that is more (AArch64's
 * glibc: 128 KiB; pthread_attr_setstacksize refused 64). */
#define SMALL_STACK ((size_t)PTHREAD_STACK_MIN > 64 * 1024 ? (size_t)PTHREAD_STACK_MIN : 64 * 1024)

typedef struct handed {
    rc_heap *h;
    void *block, *own;
    const char *failed;
    int line;
} handed;

/* Allocates a block on this thread's small stack (its traceback ends in
 * libc's start_thread), then resolves w's traces there: a snapshot, then
 * the other block's traceback (cached by then). */
static void *resolve_here(void *arg) {
    handed *w = arg;
    w->own = rc_malloc(w->h, 50);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(w->h);
    CHECK(w, s != NULL && rc_snapshot_trace_count(s) == 2);
    rc_snapshot_free(s);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(w->h, w->block);
    CHECK(w, tb != NULL && strstr(tb->frames[0].filename, "test_threads.c") != NULL);
    return NULL;
}

/* A heap handed to a thread made with a stack of `size`, which resolves
 * its traces there. */
static void resolve_on_stack(size_t size) {
    handed w = {rc_heap_new(), NULL, NULL, NULL, 0};
    ck_assert_ptr_nonnull(w.h);
    ck_assert_int_eq(rc_tracemalloc_start(w.h, 16), 0);
    w.block = rc_malloc(w.h, 100);
    pthread_attr_t attr;
    pthread_t t;
    ck_assert_int_eq(pthread_attr_init(&attr), 0);
    ck_assert_int_eq(pthread_attr_setstacksize(&attr, size), 0);
    ck_assert_int_eq(pthread_create(&t, &attr, resolve_here, &w), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    pthread_attr_destroy(&attr);
    ck_assert_msg(w.failed == NULL, "%s failed (line %d)", w.failed, w.line);
    rc_free(w.h, w.block);
    rc_free(w.h, w.own);
    ck_assert_uint_eq(rc_heap_free(w.h), 0);
}

/* A 64 KiB stack: libdw's reading of a line table (libc's
 * pthread_create.c, when libc's debug information is installed) takes more
 * than 100 KiB of stack and overflowed it (SIGSEGV; under Valgrind, reads
 * of the heap's blocks after it were invalid). */
START_TEST(resolves_on_small_stack) { resolve_on_stack(SMALL_STACK); }
END_TEST

/* The smallest stack a thread may have (16 KiB): the traceback was built
 * in three arrays of 128 frames on the stack (9 KiB), under the
 * resolution, and overflowed it. (ASan's frames are larger: its builds
 * take 64 KiB here too.) */
START_TEST(resolves_on_smallest_stack) {
#ifdef TEST_ASAN
    resolve_on_stack(SMALL_STACK);
#else
    resolve_on_stack(PTHREAD_STACK_MIN);
#endif
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("threads");
    add_case(s, tcase_create("heaps_in_threads"), heaps_in_threads);
    add_case(s, tcase_create("heaps_made_and_freed_in_threads"), heaps_made_and_freed_in_threads);
    add_case(s, tcase_create("walks_while_loading"), walks_while_loading);
    add_case(s, tcase_create("resolves_on_small_stack"), resolves_on_small_stack);
    add_case(s, tcase_create("resolves_on_smallest_stack"), resolves_on_smallest_stack);
    return s;
}
