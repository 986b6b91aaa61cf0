/*
 * test_tracemalloc.c — tracing: start/stop, traced sizes, current and
 * peak, tracebacks (call sites, unwound callers, interning, provider),
 * track/untrack, memory per trace, and running out of memory.
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static rc_heap *h;
static void *volatile sink;

static void setup(void) { h = rc_heap_new(); }
static void teardown(void) { ck_assert_uint_eq(rc_heap_free(h), 0); }

static const rc_type plain_type = {"plain", 24, NULL, NULL, NULL, NULL};

static size_t current(void) {
    size_t cur, peak;
    rc_tracemalloc_get_traced_memory(h, &cur, &peak);
    return cur;
}

static size_t peak(void) {
    size_t cur, pk;
    rc_tracemalloc_get_traced_memory(h, &cur, &pk);
    return pk;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

START_TEST(start_and_limits) {
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_start(NULL, 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_start(h, 0), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_start(h, RC_TRACEMALLOC_MAX_NFRAME + 1), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert(!rc_tracemalloc_is_tracing(h));
    ck_assert(!rc_tracemalloc_is_tracing(NULL));
    ck_assert_int_eq(rc_tracemalloc_get_traceback_limit(h), 1);
    ck_assert_uint_eq(rc_tracemalloc_get_tracemalloc_memory(h), 0);
    ck_assert_int_eq(rc_tracemalloc_start(h, RC_TRACEMALLOC_MAX_NFRAME), 0);
    ck_assert(rc_tracemalloc_is_tracing(h));
    ck_assert_int_eq(rc_tracemalloc_get_traceback_limit(h), RC_TRACEMALLOC_MAX_NFRAME);
    ck_assert_int_eq(rc_tracemalloc_start(h, 3), 0); /* already tracing: no-op */
    ck_assert_int_eq(rc_tracemalloc_get_traceback_limit(h), RC_TRACEMALLOC_MAX_NFRAME);
    ck_assert_uint_gt(rc_tracemalloc_get_tracemalloc_memory(h), 0);
    rc_tracemalloc_stop(h);
    ck_assert(!rc_tracemalloc_is_tracing(h));
    rc_tracemalloc_stop(h); /* stopping twice is harmless */
    errno = 0;
    ck_assert_ptr_null(rc_tracemalloc_take_snapshot(h));
    ck_assert_int_eq(errno, EINVAL);
    /* As tracemalloc.get_traceback_limit(): the last start's limit stays. */
    ck_assert_int_eq(rc_tracemalloc_get_traceback_limit(h), RC_TRACEMALLOC_MAX_NFRAME);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    ck_assert_int_eq(rc_tracemalloc_get_traceback_limit(h), 1);
}
END_TEST

START_TEST(sizes_current_peak) {
    rc_tracemalloc_start(h, 1);
    void *a = rc_malloc(h, 100);
    void *b = rc_calloc(h, 10, 30);
    void *big = rc_malloc(h, 100000);
    void *obj = rc_new(h, &plain_type);
    void *var = rc_new_sized(h, &plain_type, 1000);
    ck_assert_uint_eq(current(), 100 + 300 + 100000 + 24 + 1000);
    ck_assert_uint_eq(peak(), current());
    rc_free(h, big);
    ck_assert_uint_eq(current(), 100 + 300 + 24 + 1000);
    ck_assert_uint_eq(peak(), 100 + 300 + 100000 + 24 + 1000);
    a = rc_realloc(h, a, 101);   /* same size class: stays */
    ck_assert_uint_eq(current(), 101 + 300 + 24 + 1000);
    a = rc_realloc(h, a, 5000);  /* moves */
    ck_assert_uint_eq(current(), 5000 + 300 + 24 + 1000);
    rc_tracemalloc_reset_peak(h);
    ck_assert_uint_eq(peak(), current());
    rc_decref(obj);
    rc_decref(var);
    ck_assert_uint_eq(current(), 5000 + 300);
    ck_assert_uint_eq(peak(), 5000 + 300 + 24 + 1000);
    rc_tracemalloc_clear_traces(h);
    ck_assert_uint_eq(current(), 0);
    ck_assert_uint_eq(peak(), 0);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, a));
    rc_free(h, a); /* untraced after clear_traces: nothing changes */
    ck_assert_uint_eq(current(), 0);
    void *c = rc_malloc(h, 7);
    ck_assert_uint_eq(current(), 7);
    rc_tracemalloc_stop(h);
    size_t cur = 1, pk = 1;
    rc_tracemalloc_get_traced_memory(h, &cur, &pk);
    ck_assert_uint_eq(cur, 0);
    ck_assert_uint_eq(pk, 0);
    rc_tracemalloc_get_traced_memory(h, NULL, NULL);
    rc_free(h, b);
    rc_free(h, c);
}
END_TEST

START_TEST(site_is_frame_zero) {
    rc_tracemalloc_start(h, 1);
    void *p = rc_malloc(h, 16); const unsigned line = __LINE__;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_eq(tb->nframe, 1);
    ck_assert_uint_eq(tb->total_nframe, 0); /* nframe 1: the stack is not walked */
    ck_assert_str_eq(tb->frames[0].filename, __FILE__);
    ck_assert_uint_eq(tb->frames[0].lineno, line);
    ck_assert_str_eq(tb->frames[0].function, __func__);
    /* An object's traceback is its rc_new line. */
    void *o = rc_new(h, &plain_type); const unsigned oline = __LINE__;
    tb = rc_tracemalloc_get_object_traceback(h, o);
    ck_assert_uint_eq(tb->frames[0].lineno, oline);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, &line));
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(NULL, p));
    rc_free(h, p);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, p));
    rc_decref(o);
}
END_TEST

/* A call site passed with a negative line (unknown, as CPython's
 * PyCode_Addr2Line -1) is line 0, as tracemalloc_get_frame records it:
 * "gen.c:0", at nframe 1 (the cached site) and with callers alike, and
 * both sites of one file are one statistic. */
START_TEST(negative_site_line_is_zero) {
    for (int nframe = 1; nframe <= 2; nframe++) {
        rc_tracemalloc_start(h, nframe);
        void *p = rc_malloc_at(h, 16, "gen.c", -1, "gen");
        void *q = rc_malloc_at(h, 8, "gen.c", INT_MIN, "gen");
        void *r = rc_malloc_at(h, 4, "gen.c", 0, "gen");
        const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
        ck_assert_ptr_nonnull(tb);
        ck_assert_str_eq(tb->frames[0].filename, "gen.c");
        ck_assert_uint_eq(tb->frames[0].lineno, 0);
        ck_assert_uint_eq(rc_tracemalloc_get_object_traceback(h, q)->frames[0].lineno, 0);
        rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
        size_t n;
        rc_statistic *st = rc_snapshot_statistics(s, RC_KEY_LINENO, false, &n);
        ck_assert_uint_eq(n, 1);
        char text[128];
        rc_statistic_format(&st[0], text, sizeof text);
        ck_assert_str_eq(text, "gen.c:0: size=28 B, count=3, average=9 B");
        free(st);
        rc_snapshot_free(s);
        rc_free(h, p);
        rc_free(h, q);
        rc_free(h, r);
        rc_tracemalloc_stop(h);
    }
}
END_TEST

/* Callers resolved through DWARF: each helper records the line it calls
 * from, on the same line as the call. */
__attribute__((noinline)) static void *leaf(rc_heap *hp) { void *p = rc_malloc(hp, 40); sink = p; return p; } enum { LEAF_LINE = __LINE__ };
__attribute__((noinline)) static void *middle(rc_heap *hp) { void *p = leaf(hp); sink = p; return p; } enum { MIDDLE_LINE = __LINE__ };
__attribute__((noinline)) static void *by_function(rc_heap *hp) { void *p = (rc_malloc)(hp, 8); sink = p; return p; } enum { BYFN_LINE = __LINE__ };

START_TEST(unwound_callers) {
    rc_tracemalloc_start(h, 8);
    void *p = middle(h); const unsigned line = __LINE__;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_ge(tb->nframe, 3);
    ck_assert_uint_ge(tb->total_nframe, tb->nframe);
    ck_assert_str_eq(tb->frames[0].filename, __FILE__);
    ck_assert_uint_eq(tb->frames[0].lineno, LEAF_LINE);
    ck_assert_str_eq(tb->frames[0].function, "leaf");
    ck_assert(ends_with(tb->frames[1].filename, "test_tracemalloc.c"));
    ck_assert_uint_eq(tb->frames[1].lineno, MIDDLE_LINE);
    ck_assert_str_eq(tb->frames[1].function, "middle");
    ck_assert(ends_with(tb->frames[2].filename, "test_tracemalloc.c"));
    ck_assert_uint_eq(tb->frames[2].lineno, line);
    /* The real function (no call site): frames[0] comes from unwinding. */
    void *q = by_function(h);
    tb = rc_tracemalloc_get_object_traceback(h, q);
    ck_assert(ends_with(tb->frames[0].filename, "test_tracemalloc.c"));
    ck_assert_uint_eq(tb->frames[0].lineno, BYFN_LINE);
    ck_assert_str_eq(tb->frames[0].function, "by_function");
    rc_free(h, p);
    rc_free(h, q);
}
END_TEST

/* nframe 1 from thousands of call sites in turn: the cache of tracebacks
 * by site grows (SITE_CACHE_MAX's rule, tracemalloc.c) and every
 * allocation still gets its own site's traceback, lines and functions
 * alike (sites differ by line, by function only, and by file); after
 * clear_traces, whose tracebacks the cache named, too. */
static void *site_blocks[3][3000];

static void alloc_from_sites(bool backwards) {
    static const char *funcs[2] = {"even", "odd"};
    static const char files[2][8] = {"a.c", "b.c"};
    for (int r = 0; r < 3; r++)
        for (int k = 0; k < 3000; k++) {
            int i = backwards ? 2999 - k : k; /* the sites the cache kept last come first */
            site_blocks[r][i] = rc_malloc_at(h, 16, files[i % 4 / 2], 1 + i / 2, funcs[i % 2]);
        }
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 3000; i++) {
            const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, site_blocks[r][i]);
            ck_assert_ptr_nonnull(tb);
            ck_assert_uint_eq(tb->nframe, 1);
            ck_assert_str_eq(tb->frames[0].filename, files[i % 4 / 2]);
            ck_assert_uint_eq(tb->frames[0].lineno, (unsigned)(1 + i / 2));
            ck_assert_str_eq(tb->frames[0].function, funcs[i % 2]);
            rc_free(h, site_blocks[r][i]);
        }
}

START_TEST(many_call_sites) {
    rc_tracemalloc_start(h, 1);
    alloc_from_sites(false);
    rc_tracemalloc_clear_traces(h);
    alloc_from_sites(true);
}
END_TEST

/* Every heap resolves with the process's one resolver (a Dwfl of the
 * loaded files' debug information took 14 MB and 45 ms a heap): the same
 * return address gives two heaps the same strings, which stay while a heap
 * that holds the resolver traces, whoever stops first. */
START_TEST(heaps_share_the_resolver) {
    rc_heap *other = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    rc_tracemalloc_start(other, 8);
    void *p = middle(h), *q = middle(other);
    const rc_traceback *a = rc_tracemalloc_get_object_traceback(h, p);
    const rc_traceback *b = rc_tracemalloc_get_object_traceback(other, q);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_ne(a, b); /* each tracer's own traceback */
    ck_assert_ptr_eq(a->frames[1].filename, b->frames[1].filename);
    ck_assert_ptr_eq(a->frames[1].function, b->frames[1].function);
    ck_assert_uint_eq(b->frames[1].lineno, MIDDLE_LINE);
    rc_free(h, p);
    rc_tracemalloc_stop(h); /* other still holds the resolver: b's strings stay */
    ck_assert_str_eq(b->frames[1].function, "middle");
    ck_assert(ends_with(b->frames[1].filename, "test_tracemalloc.c"));
    rc_tracemalloc_start(h, 8);
    p = middle(h);
    a = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_eq(a->frames[1].function, b->frames[1].function);
    rc_free(h, p);
    rc_free(other, q);
    rc_tracemalloc_stop(other);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* A heap's rc_alloc_fn, called for a traceback's memory while the
 * resolver is this thread's (get_object_traceback of another heap), that
 * asks for a traceback itself: NULL + EDEADLK, not a thread waiting for
 * itself; the outer call goes on. */
static rc_heap *asked_heap;
static void *asked_obj;
static const rc_traceback *inner_tb = (const rc_traceback *)1;
static int inner_errno;

static void *asking_fn(void *ud, void *ptr, size_t old, size_t size) {
    if (asked_heap && size) {
        rc_heap *other = asked_heap;
        asked_heap = NULL; /* once */
        errno = 0;
        inner_tb = rc_tracemalloc_get_object_traceback(other, asked_obj);
        inner_errno = errno;
    }
    return counting_fn(ud, ptr, old, size);
}

/* Makes h a heap of alloc (counting in c) and returns another, both
 * tracing 8 frames. */
static rc_heap *two_tracing_heaps(rc_alloc_fn alloc, counting_alloc *c) {
    rc_heap_free(h);
    h = rc_heap_new_with(alloc, c);
    rc_heap *other = rc_heap_new();
    rc_tracemalloc_start(h, 8);
    rc_tracemalloc_start(other, 8);
    return other;
}

START_TEST(resolution_inside_resolution_fails) {
    static counting_alloc c;
    rc_heap *other = two_tracing_heaps(asking_fn, &c);
    void *p = middle(h);
    asked_obj = middle(other);
    asked_heap = other; /* h's next request for memory: its traceback's */
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_null(asked_heap);
    ck_assert_ptr_null(inner_tb);
    ck_assert_int_eq(inner_errno, EDEADLK);
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(tb->frames[1].function, "middle");
    tb = rc_tracemalloc_get_object_traceback(other, asked_obj); /* afterwards: fine */
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(tb->frames[1].function, "middle");
    rc_free(h, p);
    rc_free(other, asked_obj);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* Many distinct deep tracebacks: each path of choices (left or right, 11
 * deep) is a traceback of its own, its native frames kept as words of 8
 * bytes and its call site once (tracemalloc.c: GIVEN_BIT): 2048 distinct
 * tracebacks of 24 frames cost less than 400 bytes each (about 830 when
 * each frame took 24), and each still shows its path. */
static void *path_blocks[2048];
static unsigned path_n, lefts, rights; /* the counts keep the two apart (no folding) */
__attribute__((noinline)) static void descend(int depth, unsigned bits);
__attribute__((noinline)) static void go_left(int depth, unsigned bits) {
    descend(depth, bits);
    lefts++; /* after the call: no tail call, the frame stays */
}
__attribute__((noinline)) static void go_right(int depth, unsigned bits) {
    descend(depth, bits);
    rights += 2;
}
__attribute__((noinline)) static void descend(int depth, unsigned bits) {
    if (depth == 0) {
        path_blocks[path_n++] = rc_malloc(h, 8);
        return;
    }
    if (bits & 1)
        go_left(depth - 1, bits >> 1);
    else
        go_right(depth - 1, bits >> 1);
    __asm__ volatile("");
}

START_TEST(distinct_deep_tracebacks) {
    rc_tracemalloc_start(h, 24);
    rc_free(h, rc_malloc(h, 1)); /* the tracer's first tables */
    size_t before = rc_tracemalloc_get_tracemalloc_memory(h);
    path_n = 0;
    for (unsigned bits = 0; bits < 2048; bits++)
        descend(11, bits);
    size_t bytes = rc_tracemalloc_get_tracemalloc_memory(h) - before - 2048 * RC_TRACE_PREFIX;
    ck_assert_msg(bytes < 2048 * 400, "%zu bytes a traceback", bytes / 2048);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    size_t n;
    rc_statistic *st = rc_snapshot_statistics(s, RC_KEY_TRACEBACK, false, &n);
    ck_assert_uint_eq(n, 2048);
    free(st);
    rc_snapshot_free(s);
    for (unsigned bits = 0; bits < 2048; bits += 341) {
        const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, path_blocks[bits]);
        ck_assert_ptr_nonnull(tb);
        ck_assert_uint_eq(tb->nframe, 24);
        ck_assert_str_eq(tb->frames[0].function, "descend"); /* the call site */
        /* then the innermost choice's function, the last bit taken */
        for (unsigned k = 0; k < 11; k++) {
            bool left = (bits >> (10 - k)) & 1;
            ck_assert_str_eq(tb->frames[1 + 2 * k].function, left ? "go_left" : "go_right");
            ck_assert_str_eq(tb->frames[2 + 2 * k].function, "descend");
        }
    }
    ck_assert_uint_eq(lefts + rights / 2, 2048 * 11);
    for (unsigned i = 0; i < path_n; i++)
        rc_free(h, path_blocks[i]);
}
END_TEST

/* fork() while another thread is inside a resolver turn (its heap's
 * rc_alloc_fn, called for a traceback's memory, takes its time): the fork
 * waits for the turn to end, and the child resolves a traceback of its own
 * heap. It waited forever on the lock the other thread held at the fork. */
static atomic_int stall_state; /* 1 armed, 2 inside the turn */

static void *stalling_fn(void *ud, void *ptr, size_t old, size_t size) {
    int armed = 1;
    if (size && atomic_compare_exchange_strong(&stall_state, &armed, 2))
        usleep(300 * 1000);
    return counting_fn(ud, ptr, old, size);
}

static void *resolve_stalled(void *obj) {
    return (void *)rc_tracemalloc_get_object_traceback(h, obj);
}

START_TEST(fork_waits_for_another_threads_turn) {
    static counting_alloc c;
    rc_heap *other = two_tracing_heaps(stalling_fn, &c);
    void *p = middle(h), *q = middle(other);
    atomic_store(&stall_state, 1);
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, resolve_stalled, p), 0); /* h is its now */
    while (atomic_load(&stall_state) == 1)
        usleep(1000);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        alarm(30);
        const rc_traceback *tb = rc_tracemalloc_get_object_traceback(other, q);
        _exit(tb && tb->frames[1].lineno == MIDDLE_LINE ? 0 : 1);
    }
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    void *tb;
    ck_assert_int_eq(pthread_join(thread, &tb), 0);
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(((const rc_traceback *)tb)->frames[1].function, "middle");
    rc_free(h, p);
    rc_free(other, q);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* Which frames are the library's is read from the program's file once per
 * process, when the first tracer starts: without a descriptor to open it,
 * the start fails (it started, and every traceback of the process began
 * in the library: capture, tracemalloc.c), and a later one reads it. */
START_TEST(start_without_descriptors_fails) {
    start_after_descriptors_ran_out(h, 8);
    void *q = by_function(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, q);
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(tb->frames[0].function, "by_function");
    ck_assert_uint_eq(tb->frames[0].lineno, BYFN_LINE);
    rc_free(h, q);
}
END_TEST

/* Resolving frames opens the loaded files: without descriptors it fails
 * with EMFILE and keeps nothing (it gave "test_tracemalloc+0x..." for each
 * frame, kept for good), and once descriptors are back the same traceback
 * and a snapshot have their names. */
START_TEST(resolution_without_descriptors_retried) {
    ck_assert_int_eq(rc_tracemalloc_start(h, 8), 0);
    void *p = middle(h);
    struct rlimit was = descriptors_exhaust();
    errno = 0;
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, p));
    ck_assert_int_eq(errno, EMFILE);
    errno = 0;
    ck_assert_ptr_null(rc_tracemalloc_take_snapshot(h));
    ck_assert_int_eq(errno, EMFILE);
    descriptors_restore(was);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(tb->frames[0].function, "leaf");
    ck_assert_uint_eq(tb->frames[0].lineno, LEAF_LINE);
    ck_assert_str_eq(tb->frames[1].function, "middle");
    ck_assert_uint_eq(tb->frames[1].lineno, MIDDLE_LINE);
    rc_snapshot *snap = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(snap);
    rc_snapshot_free(snap);
    rc_free(h, p);
}
END_TEST

/* Code the library calls back (a finalizer inside rc_decref) allocates:
 * its traceback is the finalizer's line, then the program frames under
 * it, with no library frame between (as CPython shows no C frame). */
static void *made_in_finalizer;
static void allocating_finalize(void *o) {
    (void)o;
    made_in_finalizer = rc_malloc(h, 24); /* the call site: frames[0] */
}
static const rc_type allocating_type = {"allocating", 16, NULL, NULL, allocating_finalize, NULL};
__attribute__((noinline)) static void drop_it(void *o) { rc_decref(o); sink = o; } enum { DROP_LINE = __LINE__ };

START_TEST(callbacks_show_no_library_frames) {
    rc_tracemalloc_start(h, 8);
    drop_it(rc_new(h, &allocating_type)); const unsigned line = __LINE__;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, made_in_finalizer);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_ge(tb->nframe, 3);
    ck_assert_str_eq(tb->frames[0].function, "allocating_finalize");
    ck_assert(ends_with(tb->frames[1].filename, "test_tracemalloc.c"));
    ck_assert_uint_eq(tb->frames[1].lineno, DROP_LINE);
    ck_assert_str_eq(tb->frames[1].function, "drop_it");
    ck_assert(ends_with(tb->frames[2].filename, "test_tracemalloc.c"));
    ck_assert_uint_eq(tb->frames[2].lineno, line);
    for (unsigned i = 0; i < tb->nframe; i++)
        ck_assert_msg(!in_library_source(tb->frames[i].filename), "frame %u: %s:%u", i,
                      tb->frames[i].filename, tb->frames[i].lineno);
    rc_free(h, made_in_finalizer);
}
END_TEST

START_TEST(nframe_limits_frames) {
    rc_tracemalloc_start(h, 2);
    void *p = middle(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_uint_eq(tb->nframe, 2);
    ck_assert_uint_gt(tb->total_nframe, 2);
    ck_assert_uint_eq(tb->frames[0].lineno, LEAF_LINE);
    ck_assert_uint_eq(tb->frames[1].lineno, MIDDLE_LINE);
    rc_free(h, p);
}
END_TEST

START_TEST(tracebacks_interned) {
    rc_tracemalloc_start(h, 4);
    void *p[3];
    /* one call instruction (an unrolled loop would make three return
     * addresses: three raw tracebacks that resolve alike) */
    for (volatile int i = 0; i < 3; i++)
        p[i] = leaf(h);
    const rc_traceback *a = rc_tracemalloc_get_object_traceback(h, p[0]);
    ck_assert_ptr_eq(rc_tracemalloc_get_object_traceback(h, p[1]), a);
    ck_assert_ptr_eq(rc_tracemalloc_get_object_traceback(h, p[2]), a);
    size_t mem = rc_tracemalloc_get_tracemalloc_memory(h);
    void *more[100];
    for (int i = 0; i < 100; i++)
        more[i] = leaf(h);
    /* 100 more traces, no new traceback: only trace slots (<= 32 B each) */
    ck_assert_uint_le(rc_tracemalloc_get_tracemalloc_memory(h) - mem, 100 * 32 + 64 * 16);
    for (int i = 0; i < 100; i++)
        rc_free(h, more[i]);
    for (int i = 0; i < 3; i++)
        rc_free(h, p[i]);
}
END_TEST

START_TEST(memory_per_trace) {
    rc_tracemalloc_start(h, 1);
    enum { N = 200000 };
    void **v = malloc(N * sizeof *v);
    size_t base = rc_tracemalloc_get_tracemalloc_memory(h);
    for (int i = 0; i < N; i++)
        v[i] = rc_malloc(h, 8);
    size_t used = rc_tracemalloc_get_tracemalloc_memory(h) - base;
    ck_assert_uint_le(used, (size_t)N * 32);
    ck_assert_uint_eq(current(), (size_t)N * 8);
    for (int i = 0; i < N; i++)
        rc_free(h, v[i]);
    ck_assert_uint_eq(current(), 0);
    ck_assert_uint_eq(peak(), (size_t)N * 8);
    free(v);
}
END_TEST

/* Takes a snapshot of h: it holds `traces` traces of `size` bytes in all. */
static void check_snapshot(size_t traces, size_t size) {
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(s);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.traces, traces);
    ck_assert_uint_eq(info.size, size);
    free(info.domains);
    rc_snapshot_free(s);
}

/* A trace table that held a peak of traces shrinks as they end, in every
 * domain: the tracer's memory (and a snapshot's walk) follows the live
 * traces, as CPython's hashtable does; the traces left are intact. */
START_TEST(trace_tables_shrink_after_peak) {
    rc_tracemalloc_start(h, 1);
    enum { N = 200000, KEEP = 10 };
    void **v = malloc(N * sizeof *v);
    size_t base = rc_tracemalloc_get_tracemalloc_memory(h);
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            v[i] = rc_new(h, &plain_type); /* objects: table traces */
            ck_assert_int_eq(rc_tracemalloc_track(h, 5, (uintptr_t)(i + 1) * 16, 3), 0);
        }
        size_t at_peak = rc_tracemalloc_get_tracemalloc_memory(h);
        ck_assert_uint_gt(at_peak - base, (size_t)N * 2 * 16);
        for (int i = KEEP; i < N; i++) {
            rc_decref(v[i]);
            ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, (uintptr_t)(i + 1) * 16), 0);
        }
        ck_assert(rc__trace_tables_valid(h));
        ck_assert_uint_lt(rc_tracemalloc_get_tracemalloc_memory(h) - base, (at_peak - base) / 20);
        ck_assert_uint_eq(current(), KEEP * 24 + KEEP * 3);
        check_snapshot(2 * KEEP, KEEP * 24 + KEEP * 3);
        for (int i = 0; i < KEEP; i++) {
            ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, v[i]));
            rc_decref(v[i]);
            ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, (uintptr_t)(i + 1) * 16), 0);
        }
        ck_assert_uint_eq(current(), 0);
    }
    free(v);
}
END_TEST

/* A small rc_malloc block made while tracing keeps its trace in a prefix
 * before it (its pool is of the traced raw kind): every way a trace ends
 * or changes works on it as on a table trace. */
START_TEST(prefix_traces) {
    rc_tracemalloc_start(h, 1);
    char *a = rc_malloc(h, 40), *b = rc_malloc(h, 40), *c = rc_malloc(h, 100);
    rc_pool *pool = rc__pool_lookup(h, a);
    ck_assert_uint_eq(pool->kind, RC_KIND_RAW_TRACED);
    ck_assert_ptr_nonnull(rc__trace_prefix_of(h, a));
    ck_assert_uint_eq(current(), 180);
    size_t mem = rc_tracemalloc_get_tracemalloc_memory(h);
    check_snapshot(3, 180);

    /* realloc in the same class keeps the block and takes the new size */
    ck_assert_ptr_eq(rc_realloc(h, a, 48), a);
    ck_assert_uint_eq(current(), 188);
    /* a move: the old trace goes before the new one comes (CPython's peak) */
    size_t peak_before = peak();
    char *a2 = rc_realloc(h, a, 300);
    ck_assert_ptr_ne(a2, a);
    ck_assert_uint_eq(current(), 440);
    ck_assert_uint_eq(peak(), peak_before > 440 ? peak_before : 440);
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, a2));

    /* track replaces a prefix trace; untrack ends it; free then counts nothing */
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)b, 7), 0);
    ck_assert_uint_eq(current(), 407);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 0, (uintptr_t)b), 0);
    ck_assert_uint_eq(current(), 400);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, b));
    rc_free(h, b);
    ck_assert_uint_eq(current(), 400);
    check_snapshot(2, 400); /* a2 and c; the freed blocks of their pool are skipped */

    /* clear_traces ends every prefix trace at once; the blocks live on */
    rc_tracemalloc_clear_traces(h);
    ck_assert_uint_eq(current(), 0);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, c));
    rc_free(h, c);
    ck_assert_uint_eq(current(), 0);
    char *d = rc_malloc(h, 64);
    ck_assert_uint_eq(current(), 64);

    /* stop and start again: old prefixes are not traces of the new run */
    rc_tracemalloc_stop(h);
    rc_tracemalloc_start(h, 1);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, d));
    char *e = rc_malloc(h, 64);
    ck_assert_uint_eq(current(), 64);
    rc_free(h, d);
    ck_assert_uint_eq(current(), 64);
    rc_tracemalloc_stop(h);
    rc_free(h, e); /* after stop: nothing to count, nothing to break */
    rc_free(h, a2);
    ck_assert_uint_gt(mem, 0);
}
END_TEST

/* The prefix epochs (32 bits: a prefix's second word reads as a count of
 * 0, test_misuse's decref_traced_block) start again after 2^32 clears or
 * stops: the prefixes of blocks traced before then hold no trace, so that
 * none passes for a trace of the new epoch (its traceback id is gone, and
 * its free would take its size off the new count). */
START_TEST(prefix_epoch_wraps) {
    rc_tracemalloc_start(h, 1);
    h->trace_epoch = 7;
    char *old = rc_malloc(h, 64), *keep = rc_malloc(h, 64);
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, old));
    h->trace_epoch = UINT32_MAX;
    rc_tracemalloc_clear_traces(h);
    ck_assert_uint_eq(h->trace_epoch, 0);
    h->trace_epoch = 7; /* 2^32 clears on */
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, old));
    char *new = rc_malloc(h, 40);
    ck_assert_uint_eq(current(), 40);
    rc_free(h, old);
    ck_assert_uint_eq(current(), 40);
    rc_free(h, new);
    rc_free(h, keep);
    ck_assert_uint_eq(current(), 0);
}
END_TEST

/* A block made before tracing started lives in a plain raw pool: when
 * rc_realloc keeps it in place while tracing, it gets one table trace
 * (the old one, if any, is replaced), and its free ends that trace. */
START_TEST(realloc_in_place_while_tracing) {
    char *x = rc_malloc(h, 40);
    rc_tracemalloc_start(h, 1);
    ck_assert_ptr_eq(rc_realloc(h, x, 44), x);
    ck_assert_uint_eq(current(), 44);
    ck_assert_ptr_eq(rc_realloc(h, x, 48), x); /* again: still one trace */
    ck_assert_uint_eq(current(), 48);
    check_snapshot(1, 48);
    rc_free(h, x);
    ck_assert_uint_eq(current(), 0);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, x));
}
END_TEST

/* The home bucket of key in a trace table of nbuckets buckets: the table's
 * own hash (tracemalloc.c, home_of), so that keys can be chosen by bucket. */
static size_t home_bucket(uintptr_t key, size_t nbuckets) {
    uint64_t x = (uint64_t)key * 0x9E3779B97F4A7C15ull;
    return (size_t)(((unsigned __int128)x * nbuckets) >> 64);
}

/* The n-th key (from 0) whose home is bucket b of 16. */
static uintptr_t key_at_home(size_t b, unsigned n) {
    for (uintptr_t key = 16;; key += 16)
        if (home_bucket(key, 16) == b && n-- == 0)
            return key;
}

/* A domain's table starts with 16 buckets of 4 slots. Filling each bucket
 * in turn from its own home keys, spilling one or two past it, then
 * removing the others leaves every bucket with a key placed past it, and
 * only 32 keys in 64 slots (no growth). Looking up a key that is not there
 * must still end: it hung (each bucket's count said "look further"). */
START_TEST(lookup_ends_when_every_bucket_overflowed) {
    alarm(20); /* a hang fails the test, not the run's timeout */
    rc_tracemalloc_start(h, 1);
    for (size_t b = 0; b < 16; b++) {
        for (unsigned n = 0; n < 5; n++)
            ck_assert_int_eq(rc_tracemalloc_track(h, 3, key_at_home(b, n), 1), 0);
        for (unsigned n = 0; n < 3; n++)
            ck_assert_int_eq(rc_tracemalloc_untrack(h, 3, key_at_home(b, n)), 0);
    }
    ck_assert_uint_eq(current(), 32);
    uintptr_t absent = key_at_home(0, 5);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 3, absent), 0);
    ck_assert_int_eq(rc_tracemalloc_track(h, 3, absent, 10), 0); /* looks first */
    ck_assert_uint_eq(current(), 42);
    for (size_t b = 0; b < 16; b++)
        for (unsigned n = 3; n < 5; n++)
            ck_assert_int_eq(rc_tracemalloc_untrack(h, 3, key_at_home(b, n)), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 3, absent), 0);
    ck_assert_uint_eq(current(), 0);
    alarm(0);
}
END_TEST

/* Keys crowded into four of the first table's sixteen home buckets spill
 * far past them; tracked, replaced and untracked in a random order across
 * two domains, through the table's growth, the tables keep their
 * invariants after every step (each bucket's count of keys placed past it
 * follows removals: left too high, lookups of absent keys would walk on)
 * and the traced total stays the model's. */
START_TEST(trace_table_counts_follow_removals) {
    enum { KEYS = 160 };
    static size_t sizes[2][KEYS]; /* per domain (0 and 3), 0: not tracked */
    rc_tracemalloc_start(h, 1);
    uint64_t rng = 12345;
    size_t total = 0;
    for (int step = 0; step < 4000; step++) {
        rng = rng * 6364136223846793005u + 1442695040888963407u;
        unsigned r = (unsigned)(rng >> 33);
        unsigned d = r & 1, k = (r >> 1) % KEYS;
        uintptr_t key = key_at_home(k % 4, k / 4);
        size_t size = 1 + (r >> 9) % 1000;
        if (sizes[d][k] && (r >> 20) % 3 == 0) {
            ck_assert_int_eq(rc_tracemalloc_untrack(h, d * 3, key), 0);
            total -= sizes[d][k];
            sizes[d][k] = 0;
        } else {
            ck_assert_int_eq(rc_tracemalloc_track(h, d * 3, key, size), 0);
            total += size - sizes[d][k];
            sizes[d][k] = size;
        }
        ck_assert_msg(rc__trace_tables_valid(h), "step %d", step);
        ck_assert_uint_eq(current(), total);
    }
}
END_TEST

/* Thousands of domains: each keeps its own traces (found in O(1) by
 * track and untrack), and a snapshot totals them per domain, domain 0
 * (the heap's own blocks) apart. */
START_TEST(many_domains) {
    enum { DOMAINS = 3000 };
    rc_tracemalloc_start(h, 1);
    for (int round = 0; round < 2; round++)
        for (unsigned i = 0; i < DOMAINS; i++)
            for (uintptr_t k = 1; k <= 3; k++) /* again in round 1: replaced */
                ck_assert_int_eq(rc_tracemalloc_track(h, i * 7 + 1, k * 16, i % 100 + k), 0);
    for (unsigned i = 0; i < DOMAINS; i += 2)
        ck_assert_int_eq(rc_tracemalloc_untrack(h, i * 7 + 1, 2 * 16), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, 16), 0); /* a domain never tracked */
    ck_assert(rc__trace_tables_valid(h));
    rc_snapshot *snap = rc_tracemalloc_take_snapshot(h);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(snap, &info), 0);
    ck_assert_uint_eq(info.ndomains, DOMAINS);
    size_t traces = 0;
    for (unsigned i = 0; i < DOMAINS; i++) {
        rc_domain_total d = info.domains[i]; /* sorted by domain */
        bool halved = i % 2 == 0;
        ck_assert_uint_eq(d.domain, i * 7 + 1);
        ck_assert_uint_eq(d.traces, halved ? 2 : 3);
        ck_assert_uint_eq(d.size, halved ? 2 * (i % 100) + 1 + 3 : 3 * (i % 100) + 1 + 2 + 3);
        traces += d.traces;
    }
    ck_assert_uint_eq(info.traces, traces);
    free(info.domains);
    rc_snapshot_free(snap);
}
END_TEST

/* Replaces the fixture's heap with one whose memory comes from a counting
 * allocator (test_support.h), returned (the teardown frees the heap). */
static counting_alloc *counting_heap(void) {
    static counting_alloc c;
    rc_heap_free(h);
    c = (counting_alloc){0};
    h = rc_heap_new_with(counting_fn, &c);
    return &c;
}

/* A frame provider naming a file never seen before at each call, whose
 * copy the tracer must allocate. */
static int fresh_file_provider(rc_frame *frames, int max, void *arg) {
    static char name[32];
    (void)max;
    snprintf(name, sizeof name, "fresh%u.c", ++*(unsigned *)arg);
    frames[0] = (rc_frame){name, 1, NULL};
    return 1;
}

/* A domain's table goes with its last trace: a thousand domains of one
 * trace each cost their tables (16 buckets, about 1 KiB each) while they
 * are tracked, and only their records and index (under 80 bytes a domain) once
 * untracked; domain 0's table stays. A domain tracked again works. */
START_TEST(untracked_domains_free_their_tables) {
    enum { DOMAINS = 1000 };
    rc_tracemalloc_start(h, 1);
    void *p = rc_malloc(h, 8); /* domain 0's table */
    size_t before = rc_tracemalloc_get_tracemalloc_memory(h);
    for (unsigned d = 1; d <= DOMAINS; d++)
        ck_assert_int_eq(rc_tracemalloc_track(h, d, 4096 * d, d), 0);
    size_t tracked = rc_tracemalloc_get_tracemalloc_memory(h);
    ck_assert_uint_ge(tracked - before, DOMAINS * (16 * 65 + 1));
    for (unsigned d = 1; d <= DOMAINS; d++)
        ck_assert_int_eq(rc_tracemalloc_untrack(h, d, 4096 * d), 0);
    size_t untracked = rc_tracemalloc_get_tracemalloc_memory(h);
    ck_assert_uint_lt(untracked - before, DOMAINS * 80);
    ck_assert(rc__trace_tables_valid(h));
    ck_assert_uint_eq(current(), 8);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 7, 4096 * 7), 0); /* none there: fine */
    ck_assert_int_eq(rc_tracemalloc_track(h, 7, 16, 30), 0);
    ck_assert_uint_eq(current(), 38);
    rc_snapshot *snap = rc_tracemalloc_take_snapshot(h);
    ck_assert_uint_eq(rc_snapshot_trace_count(snap), 2);
    rc_snapshot_free(snap);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 7, 16), 0);
    ck_assert_uint_eq(current(), 8);
    rc_free(h, p);
    ck_assert_uint_eq(current(), 0);
}
END_TEST

/* Tracking an address again when the allocator fails each request in
 * turn: track gives -1 + ENOMEM and the old trace stays, as CPython's
 * (which takes the traceback first), until it succeeds; for a traced small
 * block (its prefix: the traceback cannot be had), for a table trace
 * growing past 4 GiB (its size needs a record of its own) and for a traced
 * small block growing past 4 GiB (its trace moves from its prefix to the
 * table, which may have to grow), then again (the table's trace replaced). */
START_TEST(retrack_out_of_memory) {
    counting_alloc *c = counting_heap();
    unsigned calls = 0;
    rc_tracemalloc_set_frame_provider(h, fresh_file_provider, &calls);
    rc_tracemalloc_start(h, 1);
    char *block = rc_malloc(h, 64);
    ck_assert_int_eq(rc_tracemalloc_track(h, 3, 4096, 10), 0);
    const size_t huge = (size_t)UINT32_MAX + 5;
    struct { unsigned domain; uintptr_t ptr; size_t size, old_size; } cases[] = {
        {0, (uintptr_t)block, 100, 64}, {3, 4096, huge, 10}, {0, (uintptr_t)block, huge, 100},
        {0, (uintptr_t)block, huge + 1, huge}};
    size_t others = 64 + 10;
    for (int k = 0; k < 4; k++) {
        if (k == 2) /* the traceback of the first case's */
            ck_assert_uint_eq(rc_tracemalloc_get_object_traceback(h, block)->frames[0].lineno, 1);
        if (k == 1) /* the traceback comes without memory from now on */
            rc_tracemalloc_set_frame_provider(h, NULL, NULL);
        for (size_t n = 1;; n++) {
            counting_fail_next(c, n);
            errno = 0;
            int r = rc_tracemalloc_track(h, cases[k].domain, cases[k].ptr, cases[k].size);
            ck_assert(rc__trace_tables_valid(h));
            if (r == 0)
                break;
            ck_assert_int_eq(r, -1);
            ck_assert_int_eq(errno, ENOMEM);
            ck_assert_uint_eq(current(), others);
            ck_assert_uint_lt(n, 10);
        }
        c->fail_at = 0;
        others += cases[k].size - cases[k].old_size;
        ck_assert_uint_eq(current(), others);
    }
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 3, 4096), 0);
    rc_free(h, block);
    ck_assert_uint_eq(current(), 0);
}
END_TEST

/* rc_tracemalloc_track from one call site, so that every call has the
 * same traceback (interned once, it then needs no memory). */
static __attribute__((noinline)) int track_here(unsigned domain, uintptr_t ptr, size_t size) {
    int r = rc_tracemalloc_track(h, domain, ptr, size);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return r;
}

/* A traced small block whose trace went to the table (a size past 4 GiB:
 * its prefix is dead) tracked again with the table full and no memory:
 * its table trace is replaced, its slot making room, as for any table
 * trace (a reservation first asked the table to grow, and track failed). */
START_TEST(retrack_table_trace_of_small_block_when_full) {
    counting_alloc *c = counting_heap();
    rc_tracemalloc_start(h, 1);
    char *block = rc_malloc(h, 64);
    const size_t huge = (size_t)UINT32_MAX + 5;
    ck_assert_int_eq(track_here(0, (uintptr_t)block, huge), 0);
    ck_assert_int_eq(track_here(0, (uintptr_t)block, huge), 0); /* a free big record */
    c->limit = 1; /* every request refused from now on */
    uintptr_t fake = 0x10000;
    size_t filled = 0;
    while (track_here(0, fake + 16 * filled, 8) == 0) /* until the table is full */
        filled++;
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_gt(filled, 0);
    errno = 0;
    ck_assert_int_eq(track_here(0, (uintptr_t)block, huge + 1), 0);
    ck_assert_uint_eq(current(), huge + 1 + 8 * filled);
    ck_assert(rc__trace_tables_valid(h));
    c->limit = 0;
    for (size_t i = 0; i < filled; i++)
        ck_assert_int_eq(rc_tracemalloc_untrack(h, 0, fake + 16 * i), 0);
    rc_free(h, block);
    ck_assert_uint_eq(current(), 0);
}
END_TEST

/* A new domain when the allocator fails each request in turn: track gives
 * -1 + ENOMEM and changes nothing, until it succeeds. */
START_TEST(new_domain_out_of_memory) {
    counting_alloc *c = counting_heap();
    rc_tracemalloc_start(h, 1);
    for (unsigned d = 1; d <= 8; d++) /* the domain index is half full */
        ck_assert_int_eq(rc_tracemalloc_track(h, d, 16, 1), 0);
    for (size_t n = 1;; n++) {
        counting_fail_next(c, n);
        errno = 0;
        int r = rc_tracemalloc_track(h, 100, 32, 7);
        ck_assert(rc__trace_tables_valid(h));
        if (r == 0)
            break;
        ck_assert_int_eq(r, -1);
        ck_assert_int_eq(errno, ENOMEM);
        ck_assert_uint_eq(current(), 8);
        ck_assert_uint_lt(n, 10);
    }
    c->fail_at = 0;
    ck_assert_uint_eq(current(), 8 + 7);
    for (unsigned d = 1; d <= 8; d++)
        ck_assert_int_eq(rc_tracemalloc_untrack(h, d, 16), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 100, 32), 0);
    ck_assert_uint_eq(current(), 0);
}
END_TEST

START_TEST(track_untrack) {
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 10), -2);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, 0x1000), -2);
    ck_assert_int_eq(rc_tracemalloc_track(NULL, 5, 0x1000, 10), -2);
    rc_tracemalloc_start(h, 4);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 10), 0);
    ck_assert_int_eq(rc_tracemalloc_track(h, 6, 0x1000, 20), 0); /* other domain */
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0, 3), 0);       /* address 0 is fine */
    ck_assert_uint_eq(current(), 33);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 100), 0); /* replaces */
    ck_assert_uint_eq(current(), 123);
    ck_assert_uint_eq(peak(), 123);
    /* Sizes beyond 32 bits are kept whole. */
    size_t huge = (size_t)5 << 30;
    ck_assert_int_eq(rc_tracemalloc_track(h, 7, 0x2000, huge), 0);
    ck_assert_int_eq(rc_tracemalloc_track(h, 7, 0x3000, huge + 1), 0);
    ck_assert_uint_eq(current(), 123 + 2 * huge + 1);
    ck_assert_int_eq(rc_tracemalloc_track(h, 7, 0x2000, 1), 0); /* big -> small */
    ck_assert_uint_eq(current(), 123 + huge + 2);
    ck_assert_int_eq(rc_tracemalloc_track(h, 7, 0x2000, huge), 0); /* small -> big */
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.traces, 5);
    ck_assert_uint_eq(info.ndomains, 3);
    ck_assert_uint_eq(info.domains[0].domain, 5);
    ck_assert_uint_eq(info.domains[0].size, 103);
    ck_assert_uint_eq(info.domains[1].domain, 6);
    ck_assert_uint_eq(info.domains[1].size, 20);
    ck_assert_uint_eq(info.domains[2].domain, 7);
    ck_assert_uint_eq(info.domains[2].size, 2 * huge + 1);
    free(info.domains);
    rc_snapshot_free(s);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 7, 0x3000), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 7, 0x3000), 0); /* twice: fine */
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 9, 0x3000), 0); /* unknown domain */
    ck_assert_uint_eq(current(), 123 + huge);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 7, 0x2000), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, 0x1000), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, 0), 0);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 6, 0x1000), 0);
    ck_assert_uint_eq(current(), 0);
    rc_tracemalloc_stop(h);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 10), -2);
}
END_TEST

/* A track that would take the traced memory past PTRDIFF_MAX (CPython's
 * Py_ssize_t: tracemalloc.get_traced_memory() and the size its track takes)
 * is -1 + EOVERFLOW and changes nothing: SIZE_MAX (a size of -1) wrapped
 * the count to a small one, and real allocations after a track near
 * SIZE_MAX would have. A replaced trace's size is not counted twice. */
START_TEST(track_refuses_overflow) {
    rc_tracemalloc_start(h, 1);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 100), 0);
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x2000, SIZE_MAX), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    ck_assert_uint_eq(current(), 100);
    ck_assert_uint_eq(peak(), 100);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x2000, PTRDIFF_MAX - 100), 0);
    ck_assert_uint_eq(current(), PTRDIFF_MAX);
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_track(h, 6, 0x3000, 1), -1);
    ck_assert_int_eq(errno, EOVERFLOW);
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 101), -1); /* the old trace stays */
    ck_assert_int_eq(errno, EOVERFLOW);
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x2000, PTRDIFF_MAX - 100), 0); /* replaces */
    ck_assert_int_eq(rc_tracemalloc_track(h, 5, 0x1000, 99), 0);
    ck_assert_uint_eq(current(), PTRDIFF_MAX - 1);
    void *m = rc_malloc(h, 64); /* real memory still counts, never wrapping */
    ck_assert_ptr_nonnull(m);
    ck_assert_uint_eq(current(), (size_t)PTRDIFF_MAX + 63);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_uint_eq(rc_snapshot_trace_count(s), 3);
    rc_snapshot_free(s);
    rc_free(h, m);
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 5, 0x2000), 0);
    ck_assert_uint_eq(current(), 99);
    ck_assert_uint_eq(peak(), (size_t)PTRDIFF_MAX + 63);
    rc_tracemalloc_stop(h);
}
END_TEST

/* A snapshot as a file may hold it: traces of domain 4, trace i of size
 * sizes[i] from a.c at line lines[i]. */
static rc_snapshot *sized_snapshot(const size_t *sizes, const unsigned *lines, size_t n) {
    rc_snapshot *s = rc__snapshot_new(1, 0);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++) {
        rc_frame f = {rc__snapshot_string(s, "a.c", 3), lines[i], NULL};
        int64_t tb = rc__snapshot_add_traceback(s, &f, 1, 1);
        ck_assert_int_ge(tb, 0);
        ck_assert_int_eq(rc__snapshot_add_trace(s, 4, (uint32_t)tb, sizes[i]), 0);
    }
    ck_assert_int_eq(rc__snapshot_seal(s), 0);
    return s;
}

/* compare_to with sizes past 2^63 (only a file can hold them: track
 * refuses a traced memory past PTRDIFF_MAX): each difference is held at
 * LLONG_MAX or LLONG_MIN, and each total at SIZE_MAX, never wrapped. */
START_TEST(compare_huge_sizes) {
    rc_snapshot *old = sized_snapshot((size_t[]){SIZE_MAX, 1}, (unsigned[]){1, 2}, 2);
    rc_snapshot *now = sized_snapshot((size_t[]){SIZE_MAX - 1}, (unsigned[]){3}, 1);
    size_t n;
    rc_statistic_diff *d = rc_snapshot_compare_to(now, old, RC_KEY_TRACEBACK, false, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, 3); /* each line its own traceback */
    bool grew = false, gone = false;
    for (size_t i = 0; i < n; i++) {
        grew |= d[i].size == SIZE_MAX - 1 && d[i].size_diff == LLONG_MAX && d[i].count_diff == 1;
        gone |= d[i].size == 0 && d[i].size_diff == LLONG_MIN && d[i].count_diff == -1;
    }
    ck_assert(grew && gone);
    free(d);
    /* Totals past SIZE_MAX are held there, not wrapped to a small size. */
    rc_statistic *st = rc_snapshot_statistics(old, RC_KEY_FILENAME, false, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(st[0].size, SIZE_MAX);
    ck_assert_uint_eq(st[0].count, 2);
    char text[128];
    rc_statistic_format(&st[0], text, sizeof text);
    ck_assert(strstr(text, ": size=16777216 TiB, count=2, average=8388608 TiB")); /* Python's */
    free(st);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(old, &info), 0);
    ck_assert_uint_eq(info.size, SIZE_MAX);
    ck_assert_uint_eq(info.domains[0].size, SIZE_MAX);
    free(info.domains);
    rc_snapshot_free(old);
    rc_snapshot_free(now);
}
END_TEST

/* One trace per address in domain 0, as CPython keeps (tracemalloc_add_trace
 * replaces, a free removes what is there): an allocation at an address that
 * rc_tracemalloc_track left a trace at replaces it (a raw block, whose trace
 * is its prefix, and an object, whose trace is in the table), and a traced
 * raw block that track gave a size beyond the prefix's 32 bits ends that
 * trace when freed or moved by realloc. */
static size_t traces_now(void) {
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    size_t n = rc_snapshot_trace_count(s);
    rc_snapshot_free(s);
    return n;
}

START_TEST(track_then_allocate_there) {
    rc_tracemalloc_start(h, 1);
    char *sibling = rc_malloc(h, 32), *m = rc_malloc(h, 32); /* the sibling keeps the pool */
    rc_free(h, m);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)m, 100), 0);
    ck_assert_ptr_eq(rc_malloc(h, 32), m);
    ck_assert_uint_eq(current(), 64);
    ck_assert_uint_eq(traces_now(), 2);
    rc_free(h, m);
    ck_assert_uint_eq(current(), 32);
    ck_assert_uint_eq(traces_now(), 1);
    void *keep = rc_new(h, &plain_type), *o = rc_new(h, &plain_type);
    rc_decref(o);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)o, 100), 0);
    ck_assert_ptr_eq(rc_new(h, &plain_type), o);
    ck_assert_uint_eq(current(), 32 + 48);
    ck_assert_uint_eq(traces_now(), 3);
    rc_decref(o);
    rc_decref(keep);
    ck_assert_uint_eq(current(), 32);
    ck_assert_uint_eq(traces_now(), 1);

    size_t huge = (size_t)5 << 30;
    char *b = rc_malloc(h, 32);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)b, huge), 0);
    ck_assert_uint_eq(current(), 32 + huge);
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, b));
    rc_free(h, b);
    ck_assert_uint_eq(current(), 32);
    ck_assert_uint_eq(traces_now(), 1);
    b = rc_malloc(h, 32);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)b, huge), 0);
    char *moved = rc_realloc(h, b, 300);
    ck_assert_ptr_ne(moved, b);
    ck_assert_uint_eq(current(), 32 + 300);
    ck_assert_uint_eq(traces_now(), 2);
    rc_free(h, moved);
    rc_free(h, sibling);
    ck_assert_uint_eq(current(), 0);
    ck_assert_uint_eq(traces_now(), 0);
}
END_TEST

/* Random churn of traced blocks and tracked addresses against a model: the
 * tables (buckets, overflow counts, removal, replacement, big sizes) must
 * keep exactly the live traces. */
START_TEST(churn_keeps_traces_exact) {
    rc_tracemalloc_start(h, 1);
    enum { LIVE = 3000, TRACKED = 2000 };
    const int ops = getenv("RCGC_VALGRIND") ? 40000 : 200000; /* valgrind: 50x slower */
    static void *live[LIVE];
    static size_t live_size[LIVE], tracked_size[TRACKED];
    size_t want = 0;
    unsigned x = 7;
    for (int op = 0; op < ops; op++) {
        x = x * 1103515245u + 12345u;
        unsigned r = x >> 8;
        if (r % 3) { /* a block: free and allocate in its place */
            unsigned k = r % LIVE;
            rc_free(h, live[k]);
            want -= live_size[k];
            live_size[k] = 1 + (r >> 12) % 700;
            live[k] = rc_malloc(h, live_size[k]);
            want += live_size[k];
        } else { /* an address of domain 9: track again, or untrack */
            unsigned k = r % TRACKED;
            uintptr_t addr = 0x100000 + (uintptr_t)k * 48;
            want -= tracked_size[k];
            tracked_size[k] = (r >> 12) % 4 == 0 ? 0 : ((r >> 12) % 5 == 0 ? (size_t)1 << 33 : r % 100);
            if (tracked_size[k])
                ck_assert_int_eq(rc_tracemalloc_track(h, 9, addr, tracked_size[k]), 0);
            else
                ck_assert_int_eq(rc_tracemalloc_untrack(h, 9, addr), 0);
            want += tracked_size[k];
        }
        ck_assert_uint_eq(current(), want);
        if (op % 50000 == 0)
            for (int k = 0; k < LIVE; k++)
                ck_assert(live[k] == NULL || rc_tracemalloc_get_object_traceback(h, live[k]));
    }
    rc_snapshot *snap = rc_tracemalloc_take_snapshot(h);
    rc_snapshot_info info;
    rc__snapshot_info(snap, &info);
    size_t blocks = 0, tracked = 0;
    for (int k = 0; k < LIVE; k++)
        blocks += live[k] != NULL;
    for (int k = 0; k < TRACKED; k++)
        tracked += tracked_size[k] != 0;
    ck_assert_uint_eq(info.traces, blocks + tracked);
    ck_assert_uint_eq(info.size, want);
    free(info.domains);
    rc_snapshot_free(snap);
    for (int k = 0; k < LIVE; k++) {
        rc_free(h, live[k]);
        ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, live[k]));
    }
}
END_TEST

/* The provider hands in a script stack: frames[] is copied each call. Like
 * an interpreter's, it allocates from the heap while it works. */
static rc_frame script[3];
static int script_depth, script_answer; /* what it returns past max, if not 0 */
static void *provider_block;
static int provide(rc_frame *frames, int max, void *arg) {
    int n = script_depth < max ? script_depth : max;
    for (int i = 0; i < n; i++)
        frames[i] = script[i];
    if (script_answer && script_depth > max)
        n = script_answer;
    *(int *)arg += 1;
    rc_free(h, provider_block);
    provider_block = rc_malloc(h, 1); const unsigned line = __LINE__;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, provider_block);
    ck_assert_uint_eq(tb->frames[0].lineno, line); /* native frames, no recursion */
    return n;
}

START_TEST(frame_provider) {
    int calls = 0;
    void *arg = &arg;
    ck_assert_ptr_null(rc_tracemalloc_get_frame_provider(h, &arg));
    ck_assert_ptr_null(arg);
    rc_tracemalloc_set_frame_provider(h, provide, &calls); /* set before start: kept */
    ck_assert(rc_tracemalloc_get_frame_provider(h, &arg) == provide);
    ck_assert_ptr_eq(arg, &calls);
    rc_tracemalloc_start(h, 2);
    char file[32] = "script.py", func[32] = "main";
    script[0] = (rc_frame){file, 7, func};
    script[1] = (rc_frame){"lib.py", 3, NULL};
    script[2] = (rc_frame){"deep.py", 1, NULL};
    script_depth = 3;
    void *p = rc_malloc(h, 10);
    ck_assert_int_eq(calls, 1);
    strcpy(file, "changed.py"); /* the provider's buffers may change */
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_uint_eq(tb->nframe, 2);
    ck_assert_uint_eq(tb->total_nframe, 2);
    ck_assert_str_eq(tb->frames[0].filename, "script.py");
    ck_assert_uint_eq(tb->frames[0].lineno, 7);
    ck_assert_str_eq(tb->frames[0].function, "main");
    ck_assert_str_eq(tb->frames[1].filename, "lib.py");
    ck_assert_uint_eq(tb->frames[1].lineno, 3);
    ck_assert_ptr_null(tb->frames[1].function);
    void *p2 = rc_malloc(h, 10); /* the same buffer, other bytes: read again */
    ck_assert_str_eq(rc_tracemalloc_get_object_traceback(h, p2)->frames[0].filename, "changed.py");
    strcpy(file, "script.py"); /* and back: the first copy again */
    void *p3 = rc_malloc(h, 10);
    ck_assert_ptr_eq(rc_tracemalloc_get_object_traceback(h, p3),
                     rc_tracemalloc_get_object_traceback(h, p));
    rc_free(h, p2);
    rc_free(h, p3);
    script_answer = 70000; /* the stack's depth past max: total_nframe, capped */
    void *deep = rc_malloc(h, 10);
    tb = rc_tracemalloc_get_object_traceback(h, deep);
    ck_assert_uint_eq(tb->nframe, 2);
    ck_assert_uint_eq(tb->total_nframe, 65535);
    ck_assert_str_eq(tb->frames[1].filename, "lib.py");
    script_answer = 40;
    void *deep2 = rc_malloc(h, 10);
    ck_assert_uint_eq(rc_tracemalloc_get_object_traceback(h, deep2)->total_nframe, 40);
    ck_assert_ptr_ne(rc_tracemalloc_get_object_traceback(h, deep2), tb);
    script_answer = 0;
    rc_free(h, deep);
    rc_free(h, deep2);
    script_depth = 0; /* no frame: CPython's <unknown>:0 */
    void *q = rc_malloc(h, 10);
    tb = rc_tracemalloc_get_object_traceback(h, q);
    ck_assert_uint_eq(tb->nframe, 1);
    ck_assert_str_eq(tb->frames[0].filename, "<unknown>");
    ck_assert_uint_eq(tb->frames[0].lineno, 0);
    script[0] = (rc_frame){NULL, 4, NULL}; /* a NULL filename is unknown */
    script_depth = 1;
    void *r = rc_malloc(h, 10);
    ck_assert_str_eq(rc_tracemalloc_get_object_traceback(h, r)->frames[0].filename, "<unknown>");
    rc_tracemalloc_set_frame_provider(h, NULL, &calls); /* back to native frames */
    ck_assert_ptr_null(rc_tracemalloc_get_frame_provider(h, &arg));
    ck_assert_ptr_null(arg);
    void *n = rc_malloc(h, 10); const unsigned line = __LINE__;
    ck_assert_uint_eq(rc_tracemalloc_get_object_traceback(h, n)->frames[0].lineno, line);
    ck_assert_int_eq(calls, 7);
    ck_assert_uint_eq(current(), 4 * 10 + 1);
    rc_free(h, provider_block);
    rc_free(h, p);
    rc_free(h, q);
    rc_free(h, r);
    rc_free(h, n);
}
END_TEST

/* A provider that tracks the very block whose track asked it for frames:
 * the outer track's trace replaces the inner one, and the traced total
 * counts the block once. */
static void *tracked_block;
static int tracking_provider(rc_frame *frames, int max, void *arg) {
    (void)max;
    (void)arg;
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)tracked_block, 7), 0);
    frames[0] = (rc_frame){"script.py", 2, NULL};
    return 1;
}

START_TEST(provider_tracks_the_same_block) {
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    tracked_block = rc_malloc(h, 40); /* a prefix trace */
    ck_assert_uint_eq(current(), 40);
    rc_tracemalloc_set_frame_provider(h, tracking_provider, NULL);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)tracked_block, 30), 0);
    ck_assert_uint_eq(current(), 30);
    ck_assert_int_eq(rc_tracemalloc_track(h, 0, (uintptr_t)tracked_block, (size_t)5 << 32), 0);
    ck_assert_uint_eq(current(), (size_t)5 << 32); /* the table's, past 32 bits */
    check_snapshot(1, (size_t)5 << 32);
    rc_tracemalloc_set_frame_provider(h, NULL, NULL);
    rc_free(h, tracked_block);
    ck_assert_uint_eq(current(), 0);
    rc_tracemalloc_stop(h);
}
END_TEST

/* What code run inside a traced allocation does to tracing: a finalizer
 * (of a cycle an automatic collection finds, or of an object a frame
 * provider drops) stops or clears it. The allocation goes on without a
 * trace if tracing is off by then or was started anew, and the provider is
 * still not called from inside itself. */
typedef struct stopper {
    struct stopper *self; /* a cycle */
    int action;           /* 0: stop, 1: clear traces, 2: stop and start again, 3: none */
} stopper;
static void stopper_traverse(void *o, rc_visit_fn visit, void *arg) {
    visit((void **)&((stopper *)o)->self, arg);
}
static void stopper_finalize(void *o) {
    int action = ((stopper *)o)->action;
    if (action == 1)
        rc_tracemalloc_clear_traces(h);
    if (action == 0 || action == 2)
        rc_tracemalloc_stop(h);
    if (action == 2)
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
}
static const rc_type stopper_type = {"stopper", sizeof(stopper), stopper_traverse, NULL,
                                     stopper_finalize, NULL};

static void make_stopper_cycle(int action) {
    stopper *s = rc_new(h, &stopper_type);
    s->self = rc_incref(s);
    s->action = action;
    rc_decref(s); /* garbage, for the next collection */
}

static void ignore_callback(rc_weakref *ref, void *arg) { (void)ref, (void)arg; }

START_TEST(automatic_collection_stops_tracing) {
    static const rc_type leaf = {"leaf", 16, NULL, NULL, NULL, NULL};
    static const rc_type node = {"node", sizeof(stopper), stopper_traverse, NULL, NULL, NULL};
    for (int k = 0; k < 2; k++) {
        rc_gc_collect(h, 2);
        rc_gc_set_threshold(h, 3, 10, 10);
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        make_stopper_cycle(0);
        void *target = rc_new(h, &leaf), *made[8] = {NULL};
        int n = 0;
        while (rc_tracemalloc_is_tracing(h) && n < 8) {
            /* tracked allocations count towards the threshold */
            made[n] = k ? (void *)rc_weakref_new(target, ignore_callback, NULL) : rc_new(h, &node);
            ck_assert_ptr_nonnull(made[n]);
            n++;
        }
        ck_assert_msg(!rc_tracemalloc_is_tracing(h), "k %d", k);
        ck_assert_int_eq(n, 3); /* the third one ran the collection */
        ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, made[n - 1]));
        for (int i = n - 1; i >= 0; i--)
            rc_decref(made[i]);
        rc_decref(target);
    }
    rc_gc_set_threshold(h, 700, 10, 10);
}
END_TEST

static int provider_calls, provider_depth, provider_max_depth;
static int dropping_provider(rc_frame *frames, int max, void *arg) {
    (void)max;
    provider_calls++;
    if (++provider_depth > provider_max_depth)
        provider_max_depth = provider_depth;
    stopper *s = rc_new(h, &stopper_type); /* no cycle: dies at once */
    s->action = *(int *)arg;
    rc_decref(s);
    rc_free(h, rc_malloc(h, 8)); /* after the clear: still not a call of the provider */
    provider_depth--;
    frames[0] = (rc_frame){"script.py", 1, NULL};
    return 1;
}

START_TEST(provider_code_stops_or_clears_tracing) {
    for (int action = 0; action < 3; action++) {
        int mode = action;
        provider_calls = provider_max_depth = 0;
        rc_tracemalloc_set_frame_provider(h, dropping_provider, &mode);
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        void *p = rc_malloc(h, 40);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(provider_max_depth, 1);
        ck_assert_int_eq(provider_calls, 1);
        ck_assert(rc_tracemalloc_is_tracing(h) == (action != 0));
        /* cleared during its own traceback: traced after the clear; traced
         * by the tracer that stopped: not traced by the new one */
        ck_assert_msg(current() == (action == 1 ? 40u : 0u), "action %d: %zu", action, current());
        ck_assert(rc_tracemalloc_get_object_traceback(h, p) == NULL || action == 1);
        rc_free(h, p);
        if (action == 2) { /* the new tracer's provider works as before */
            mode = 3;
            void *q = rc_malloc(h, 24);
            ck_assert_int_eq(provider_calls, 2);
            ck_assert_uint_eq(current(), 24);
            rc_free(h, q);
        }
        if (action == 0) {
            ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
            ck_assert_int_eq(rc_tracemalloc_track(h, 7, 0x1000, 5), -2); /* stopped inside */
            ck_assert(!rc_tracemalloc_is_tracing(h));
        }
        rc_tracemalloc_stop(h);
        rc_tracemalloc_set_frame_provider(h, NULL, NULL);
    }
}
END_TEST

/* An allocator that fails once `budget` bytes of requests have passed. */
static size_t budget;
static void *limited(void *ud, void *ptr, size_t old, size_t size) {
    (void)ud;
    (void)old;
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    if (size > old && size - old > budget)
        return NULL;
    budget -= size > old ? size - old : 0;
    return realloc(ptr, size);
}

/* When a trace cannot be stored, the allocation fails (NULL + ENOMEM, as
 * CPython's tracemalloc_alloc gives the block back), leaving no trace of
 * itself: every object or block handed out is traced. rc_realloc, whose
 * old block is gone by then, succeeds untraced (counted; CPython aborts). */
static unsigned next_line;
static int numbered_provider(rc_frame *frames, int max, void *arg) {
    (void)max, (void)arg;
    frames[0] = (rc_frame){"script.py", ++next_line, NULL}; /* a new traceback each time */
    return 1;
}

START_TEST(out_of_memory_fails_traced_allocation) {
    rc_heap_free(h);
    budget = (size_t)64 << 20;
    h = rc_heap_new_with(limited, NULL);
    rc_gc_disable(h);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    enum { N = 20000 };
    static const rc_type blob = {"blob", 16, NULL, NULL, NULL, NULL};
    static const rc_type cell = {"cell", sizeof(stopper), stopper_traverse, NULL, NULL, NULL};
    void **v = malloc(N * sizeof *v);
    for (int i = 0; i < 100; i++)
        v[i] = rc_new(h, i % 2 ? &blob : &cell);
    const rc_traceback *first = rc_tracemalloc_get_object_traceback(h, v[0]);
    ck_assert_ptr_nonnull(first);
    budget = 0; /* the allocator has its arena; the trace table cannot grow */
    int made = 100;
    rc_heap_stats before, after;
    long count[3], count_before[3];
    for (; made < N; made++) {
        rc_heap_get_stats(h, &before);
        rc_gc_get_count(h, count_before);
        errno = 0;
        if ((v[made] = rc_new(h, made % 2 ? &blob : &cell)) == NULL)
            break;
    }
    ck_assert_int_gt(made, 100);
    ck_assert_int_lt(made, N); /* the table filled */
    ck_assert_int_eq(errno, ENOMEM);
    rc_heap_get_stats(h, &after); /* the failed one left nothing behind */
    ck_assert_uint_eq(after.objects, before.objects);
    ck_assert_uint_eq(after.tracked, before.tracked);
    ck_assert_uint_eq(after.bytes_in_use, before.bytes_in_use);
    rc_gc_get_count(h, count);
    ck_assert_int_eq(count[0], count_before[0]);
    ck_assert_uint_eq(current(), (size_t)(made / 2) * 16 + (size_t)(made - made / 2) * sizeof(stopper));
    ck_assert_uint_eq(rc__tracer_untraced(h), 0);
    size_t objects_traced = current();
    /* Small raw blocks keep their trace in their own prefix: no table to
     * grow, so they are made and traced (while the arena has room). */
    void *raw[100];
    for (int i = 0; i < 100; i++) {
        raw[i] = rc_malloc(h, 16);
        ck_assert_ptr_nonnull(raw[i]);
    }
    ck_assert_uint_eq(current(), objects_traced + 100 * 16);
    /* A new traceback each time: the traceback store fills. */
    rc_tracemalloc_set_frame_provider(h, numbered_provider, NULL);
    void *more[4096];
    int n = 0;
    for (; n < 4096; n++)
        if ((more[n] = rc_malloc(h, 24)) == NULL)
            break;
    ck_assert_int_lt(n, 4096);
    ck_assert_int_eq(errno, ENOMEM);
    ck_assert_uint_eq(current(), objects_traced + 100 * 16 + (size_t)n * 24);
    /* rc_realloc to another class cannot fail on it: untraced, counted. */
    memset(raw[0], 7, 16);
    unsigned char *moved = rc_realloc(h, raw[0], 100);
    ck_assert_ptr_nonnull(moved);
    ck_assert_uint_eq(moved[15], 7);
    ck_assert_uint_eq(rc__tracer_untraced(h), 1);
    ck_assert_ptr_null(rc_tracemalloc_get_object_traceback(h, moved));
    ck_assert_uint_eq(current(), objects_traced + 99 * 16 + (size_t)n * 24);
    raw[0] = moved;
    rc_tracemalloc_set_frame_provider(h, NULL, NULL);
    budget = (size_t)64 << 20; /* resolving a traceback takes memory */
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, raw[99]));
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, v[made - 1]));
    ck_assert_ptr_eq(rc_tracemalloc_get_object_traceback(h, v[0]), first);
    for (int i = 0; i < n; i++)
        rc_free(h, more[i]);
    for (int i = 0; i < 100; i++)
        rc_free(h, raw[i]);
    for (int i = 0; i < made; i++)
        rc_decref(v[i]);
    ck_assert_uint_eq(current(), 0);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    rc_snapshot_info info;
    rc__snapshot_info(s, &info);
    ck_assert_uint_eq(info.untraced, 1);
    ck_assert_uint_eq(info.traces, 0);
    free(info.domains);
    rc_snapshot_free(s);
    rc_tracemalloc_clear_traces(h);
    ck_assert_uint_eq(rc__tracer_untraced(h), 0);
    free(v);
}
END_TEST

START_TEST(describe_for_misuse) {
    char buf[256] = "x";
    rc__trace_describe(h, buf, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    rc_tracemalloc_start(h, 1);
    void *p = rc_malloc(h, 16); const unsigned line = __LINE__;
    char want[256];
    snprintf(want, sizeof want, " allocated at %s:%u", __FILE__, line);
    rc__trace_describe(h, p, buf, sizeof buf);
    ck_assert_str_eq(buf, want);
    rc__trace_describe(h, buf, buf, sizeof buf);
    ck_assert_str_eq(buf, "");
    rc_free(h, p);
}
END_TEST

START_TEST(tracing_survives_heap_free) {
    rc_tracemalloc_start(h, 8);
    for (int i = 0; i < 10; i++)
        sink = middle(h); /* left for rc_heap_free to release with the tracer */
    rc_tracemalloc_track(h, 3, 42, 42);
    ck_assert_uint_eq(current(), 10 * 40 + 42);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("tracemalloc");
    add_case_fixture(s, tcase_create("start_and_limits"), start_and_limits, setup, teardown);
    add_case_fixture(s, tcase_create("sizes_current_peak"), sizes_current_peak, setup, teardown);
    add_case_fixture(s, tcase_create("site_is_frame_zero"), site_is_frame_zero, setup, teardown);
    add_case_fixture(s, tcase_create("negative_site_line_is_zero"), negative_site_line_is_zero,
                     setup, teardown);
    add_case_fixture(s, tcase_create("unwound_callers"), unwound_callers, setup, teardown);
    add_case_fixture(s, tcase_create("start_without_descriptors_fails"),
                     start_without_descriptors_fails, setup, teardown);
    add_case_fixture(s, tcase_create("resolution_without_descriptors_retried"),
                     resolution_without_descriptors_retried, setup, teardown);
    add_case_fixture(s, tcase_create("nframe_limits_frames"), nframe_limits_frames,
                     setup, teardown);
    add_case_fixture(s, tcase_create("tracebacks_interned"), tracebacks_interned, setup, teardown);
    add_case_fixture(s, tcase_create("memory_per_trace"), memory_per_trace, setup, teardown);
    add_case_fixture(s, tcase_create("many_domains"), many_domains, setup, teardown);
    add_case_fixture(s, tcase_create("new_domain_out_of_memory"), new_domain_out_of_memory, setup,
                     teardown);
    add_case_fixture(s, tcase_create("retrack_out_of_memory"), retrack_out_of_memory, setup,
                     teardown);
    add_case_fixture(s, tcase_create("retrack_table_trace_of_small_block_when_full"),
                     retrack_table_trace_of_small_block_when_full, setup, teardown);
    add_case_fixture(s, tcase_create("callbacks_show_no_library_frames"),
                     callbacks_show_no_library_frames, setup, teardown);
    add_case_fixture(s, tcase_create("automatic_collection_stops_tracing"),
                     automatic_collection_stops_tracing, setup, teardown);
    add_case_fixture(s, tcase_create("provider_tracks_the_same_block"),
                     provider_tracks_the_same_block, setup, teardown);
    add_case_fixture(s, tcase_create("provider_code_stops_or_clears_tracing"),
                     provider_code_stops_or_clears_tracing, setup, teardown);
    add_case_fixture(s, tcase_create("trace_tables_shrink_after_peak"),
                     trace_tables_shrink_after_peak, setup, teardown);
    add_case_fixture(s, tcase_create("track_untrack"), track_untrack, setup, teardown);
    add_case_fixture(s, tcase_create("prefix_epoch_wraps"), prefix_epoch_wraps, setup, teardown);
    add_case_fixture(s, tcase_create("track_refuses_overflow"), track_refuses_overflow, setup,
                     teardown);
    add_case_fixture(s, tcase_create("compare_huge_sizes"), compare_huge_sizes, setup, teardown);
    add_case_fixture(s, tcase_create("track_then_allocate_there"), track_then_allocate_there,
                     setup, teardown);
    add_case_fixture(s, tcase_create("lookup_ends_when_every_bucket_overflowed"),
                     lookup_ends_when_every_bucket_overflowed, setup, teardown);
    add_case_fixture(s, tcase_create("trace_table_counts_follow_removals"),
                     trace_table_counts_follow_removals, setup, teardown);
    add_case_fixture(s, tcase_create("prefix_traces"), prefix_traces, setup, teardown);
    add_case_fixture(s, tcase_create("realloc_in_place_while_tracing"),
                     realloc_in_place_while_tracing, setup, teardown);
    add_case_fixture(s, tcase_create("churn_keeps_traces_exact"), churn_keeps_traces_exact,
                     setup, teardown);
    add_case_fixture(s, tcase_create("frame_provider"), frame_provider, setup, teardown);
    add_case_fixture(s, tcase_create("out_of_memory_fails_traced_allocation"),
                     out_of_memory_fails_traced_allocation, setup, teardown);
    add_case_fixture(s, tcase_create("describe_for_misuse"), describe_for_misuse, setup, teardown);
    add_case_fixture(s, tcase_create("many_call_sites"), many_call_sites, setup, teardown);
    add_case_fixture(s, tcase_create("untracked_domains_free_their_tables"),
                     untracked_domains_free_their_tables, setup, teardown);
    add_case_fixture(s, tcase_create("heaps_share_the_resolver"), heaps_share_the_resolver, setup,
                     teardown);
    add_case_fixture(s, tcase_create("distinct_deep_tracebacks"), distinct_deep_tracebacks, setup,
                     teardown);
    add_case_fixture(s, tcase_create("fork_waits_for_another_threads_turn"),
                     fork_waits_for_another_threads_turn, setup, teardown);
    add_case_fixture(s, tcase_create("resolution_inside_resolution_fails"),
                     resolution_inside_resolution_fails, setup, teardown);
    add_case_fixture(s, tcase_create("tracing_survives_heap_free"), tracing_survives_heap_free,
                     setup, teardown);
    return s;
}
