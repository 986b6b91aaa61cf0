/*
 * test_misuse.c — detected programming errors abort with one line on stderr
 * naming the error, the type and the address: a count dropped below zero
 * (rc_decref or rc_incref of a dead object), rc_free/rc_realloc of a pointer
 * the heap does not own, of a block already freed, of an object. With
 * RCGC_DEBUG=1 freed memory is poisoned (0xDB) and quarantined, so a dead
 * object is recognised even after many allocations, and while tracing the
 * line names where the object or block was allocated. Each misuse runs in a
 * forked child whose stderr and death the test reads.
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TEST_ASAN
#include <sanitizer/asan_interface.h>
#endif
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define TEST_VALGRIND 1
#endif

/* ------------------------------------------------------------- fixtures */

typedef struct node { struct node *next; } node;
static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit((void **)&((node *)self)->next, arg);
}
static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, NULL};
static const rc_type leaf_type = {"leaf", 24, NULL, NULL, NULL, NULL};

/* A heap with RCGC_DEBUG=1 (read when the heap is made) or without. */
static rc_heap *heap(bool debug) {
    if (debug)
        setenv("RCGC_DEBUG", "1", 1);
    else
        unsetenv("RCGC_DEBUG");
    rc_heap *h = rc_heap_new();
    ck_assert_ptr_nonnull(h);
    ck_assert(h->debug == debug);
    return h;
}

typedef void (*misuse_fn)(rc_heap *h, void *p);

/* Runs misuse(h, p) in a child process and checks that it aborted, having
 * written exactly `want` to stderr. */
static void expect_fatal(misuse_fn misuse, rc_heap *h, void *p, const char *want) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        close(fds[1]);
        misuse(h, p);
        _exit(0); /* not detected */
    }
    close(fds[1]);
    char got[4096];
    size_t n = 0;
    ssize_t r;
    while (n < sizeof got - 1 && (r = read(fds[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
                  "no abort (status %#x) for: %s; stderr: '%s'", status, want, got);
    ck_assert_str_eq(got, want);
}

/* The line for an object: "rcgc: fatal: CALL WHAT <TYPE 0x...>". */
static const char *object_line(const char *call, const char *what, const char *type,
                               const void *obj) {
    static char line[256];
    snprintf(line, sizeof line, "rcgc: fatal: %s %s <%s %p>\n", call, what, type, obj);
    return line;
}

/* The line for a pointer that is not an object: "... (0x...)". */
static const char *pointer_line(const char *call, const char *what, const void *p) {
    static char line[256];
    snprintf(line, sizeof line, "rcgc: fatal: %s %s (%p)\n", call, what, p);
    return line;
}

static void do_decref(rc_heap *h, void *p) { (void)h; rc_decref(p); }
static void do_incref(rc_heap *h, void *p) { (void)h; rc_incref(p); }
static void do_free(rc_heap *h, void *p) { rc_free(h, p); }
static void do_realloc(rc_heap *h, void *p) { rc_realloc(h, p, 100); }
static const char *sited_pointer_line(const char *call, const char *what, const void *p,
                                      unsigned line);

/* ----------------------------------------------------- counts below zero */

/* rc_decref, rc_incref, rc_free and rc_realloc of a dead object, small or
 * medium (tracked and not) and, in a debug heap where its memory is held
 * back, large: each names a dead object of its type. */
static void check_dead(bool debug, size_t size) {
    rc_heap *h = heap(debug);
    for (int k = 0; k < 2; k++) {
        const rc_type *t = k ? &node_type : &leaf_type;
        void *sibling = rc_new_sized(h, t, size); /* keeps the pool in use */
        void *o = rc_new_sized(h, t, size);
        rc_decref(o);
        expect_fatal(do_decref, h, o, object_line("rc_decref", "of a dead object", t->name, o));
        expect_fatal(do_incref, h, o, object_line("rc_incref", "of a dead object", t->name, o));
        expect_fatal(do_free, h, o, object_line("rc_free", "of a dead object", t->name, o));
        expect_fatal(do_realloc, h, o, object_line("rc_realloc", "of a dead object", t->name, o));
        rc_decref(sibling);
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(decref_dead_object) {
    check_dead(false, 16);
    check_dead(false, 600);  /* medium: a pool block, as small ones */
    check_dead(false, 3000);
}
END_TEST

/* Whether this process's realloc shrinks a big block in place, as glibc's
 * does (ASan's and Valgrind's always move it: they catch a dead object's
 * use themselves). */
static bool realloc_shrinks_in_place(void) {
    char *p = malloc(RC_QUARANTINE_BYTES + 1);
    ck_assert_ptr_nonnull(p);
    char *q = realloc(p, RC_LARGE_OFFSET);
    ck_assert_ptr_nonnull(q);
    free(q);
    return q == p;
}

/* One bigger than the whole quarantine keeps only its head there, when
 * rc_alloc_fn shrinks it in place. */
START_TEST(decref_dead_large_debug) {
    check_dead(true, 3000);
    check_dead(true, 5000);
    if (realloc_shrinks_in_place())
        check_dead(true, RC_QUARANTINE_BYTES + 1);
}
END_TEST

/* rc_decref and rc_incref of an rc_malloc block: a large one carries a
 * head that says so, with a count of 0 (rc_incref of it went unseen: the
 * count of 1 it had took its fast path), also once rc_realloc moved it; a
 * small one is caught when its false count (the bytes before it) takes a
 * slow path: zero (below zero) or one (a death). */
START_TEST(decref_raw_block) {
    rc_heap *h = heap(false);
    char *large = rc_malloc(h, 5000), *zeroed = rc_calloc(h, 1, 5000);
    char *blocker = rc_malloc(h, 5000), *moved = rc_realloc(h, zeroed, 1 << 20);
    ck_assert_ptr_ne(moved, zeroed);
    const char *raw = "of an rc_malloc block (use rc_free)";
    void *blocks[] = {large, moved};
    for (size_t b = 0; b < 2; b++) {
        expect_fatal(do_decref, h, blocks[b], pointer_line("rc_decref", raw, blocks[b]));
        expect_fatal(do_incref, h, blocks[b], pointer_line("rc_incref", raw, blocks[b]));
    }
    rc_free(h, large);
    rc_free(h, moved);
    rc_free(h, blocker);
    /* A small one whose false count (the block before's last bytes) is 0. */
    char *before = rc_calloc(h, 1, 64), *small = rc_malloc(h, 64);
    ck_assert_ptr_eq(small, before + 64);
    expect_fatal(do_decref, h, small, pointer_line("rc_decref", raw, small));
    expect_fatal(do_incref, h, small, pointer_line("rc_incref", raw, small));
    rc_free(h, small);
    rc_free(h, before);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    /* A large one freed: its head held in a debug heap's quarantine says
     * an rc_malloc block, and it is named freed (it was named an rc_malloc
     * block, as if rc_free had not been called). */
    h = heap(true);
    large = rc_malloc(h, 5000);
    rc_free(h, large);
    expect_fatal(do_decref, h, large, pointer_line("rc_decref", "of a block already freed", large));
    expect_fatal(do_incref, h, large, pointer_line("rc_incref", "of a block already freed", large));
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* rc_decref and rc_incref of a live small rc_malloc block made while
 * tracing: the word before it, its false count, is its prefix's, which
 * reads as a count of 0 whatever the trace's epoch, so both name the block
 * and where it was made, and rc_refcount answers 0. After two
 * rc_tracemalloc_clear_traces, rc_decref lowered the epoch, ending the
 * trace unseen; after one, it named the block without its site. */
START_TEST(decref_traced_block) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        const char *raw_what = "of an rc_malloc block (use rc_free)";
        for (int clears = 0; clears < 3; clears++) {
            char *raw = rc_malloc(h, 64); const unsigned line = __LINE__;
            ck_assert_uint_eq(rc__pool_lookup(h, raw)->kind, RC_KIND_RAW_TRACED);
            ck_assert_uint_eq(rc_refcount(raw), 0);
            expect_fatal(do_decref, h, raw, sited_pointer_line("rc_decref", raw_what, raw, line));
            expect_fatal(do_incref, h, raw, sited_pointer_line("rc_incref", raw_what, raw, line));
            ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, raw));
            rc_free(h, raw);
            rc_tracemalloc_clear_traces(h);
        }
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* rc_decref and rc_incref of a small traced rc_malloc block once freed:
 * the word before it, its false count, is its free mark, which reads as a
 * count of 0, so both name the block freed, with its site (a debug heap's
 * quarantine keeps it, the tracer's table of deaths otherwise), and
 * rc_refcount answers 0, as for a dead object. rc_decref lowered the
 * mark, so that a second rc_free of the block passed (it went on the free
 * list twice) and rc_refcount answered the mark. */
START_TEST(decref_freed_traced_block) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        char *sibling = rc_malloc(h, 64);
        char *raw = rc_malloc(h, 64); const unsigned line = __LINE__;
        ck_assert_uint_eq(rc__pool_lookup(h, raw)->kind, RC_KIND_RAW_TRACED);
        rc_free(h, raw);
        ck_assert_uint_eq(rc_refcount(raw), 0);
        const char *freed = "of a block already freed";
        const char *calls[] = {"rc_decref", "rc_incref", "rc_free"};
        misuse_fn fns[] = {do_decref, do_incref, do_free};
        for (int c = 0; c < 3; c++)
            expect_fatal(fns[c], h, raw, sited_pointer_line(calls[c], freed, raw, line));
        rc_free(h, sibling);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* An arena whose objects all died goes back to the system but stays
 * mapped (its pages read as zeros), so a second drop of one of them is
 * named, though its type no longer is (a freed arena made it segfault). */
/* Fills three arenas of h with 32-byte objects and lets them all die;
 * returns the first object of the second arena, which went back (the first
 * to empty is kept whole). *v: the array of them, for the caller to free. */
static void *dead_in_retired_arena(rc_heap *h, void ***v) {
    enum { N = 3 * RC_ARENA_SIZE / 32 };
    *v = malloc(N * sizeof **v);
    for (size_t i = 0; i < N; i++)
        (*v)[i] = rc_new(h, &leaf_type);
    size_t second = 0;
    while (rc_pool_of((*v)[second])->arena == rc_pool_of((*v)[0])->arena)
        second++;
    for (size_t i = 0; i < N; i++)
        rc_decref((*v)[i]);
    return (*v)[second];
}

START_TEST(decref_dead_in_retired_arena) {
    rc_heap *h = heap(false);
    void **v, *o = dead_in_retired_arena(h, &v);
    expect_fatal(do_decref, h, o, pointer_line("rc_decref", "of a dead object", o));
    expect_fatal(do_incref, h, o, pointer_line("rc_incref", "of a dead object", o));
    rc_heap_stats st = stats_of(h);
    ck_assert_uint_eq(st.objects, 0);
    ck_assert_uint_lt(st.bytes_reserved, 3 * RC_ARENA_SIZE); /* retired arenas hold nothing */
    free(v);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Every build holds back the last large objects that died (16, 1 MiB in
 * all), the last bigger one up to 32 MiB whole, and the head of those
 * bigger still when rc_alloc_fn shrinks in place (freed whole, their
 * memory was unmapped: a second rc_decref segfaulted). */
START_TEST(decref_dead_large) {
    check_dead(false, 5000);
    check_dead(false, 300000);
    check_dead(false, (size_t)2 << 20);
    check_dead(false, RC_LARGE_DEAD_BIG_BYTES - 4096);
    if (realloc_shrinks_in_place())
        check_dead(false, RC_LARGE_DEAD_BIG_BYTES + 1);
    rc_heap *h = heap(false);
    void *o = rc_new_sized(h, &node_type, 100000);
    rc_decref(o);
    for (int i = 0; i < 15; i++) /* the held ones: o stays among them */
        rc_decref(rc_new_sized(h, &leaf_type, 5000 + (size_t)i * 5000));
    expect_fatal(do_decref, h, o, object_line("rc_decref", "of a dead object", "node", o));
    expect_fatal(do_free, h, o, object_line("rc_free", "of a dead object", "node", o));
    rc_heap_stats st;
    rc_heap_get_stats(h, &st);
    ck_assert_uint_eq(st.objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A medium block freed into a full pool is held for the next allocation
 * of its class (alloc.c, medium_hold) with its free mark, or an object's
 * dead header: a second free, or a drop of the dead object, is named as
 * for any freed block. Two pools of 1000-byte blocks filled: the first
 * is full and off its list, the second full at its head. */
START_TEST(free_of_held_medium_block) {
    for (int object = 0; object < 2; object++) {
        rc_heap *h = heap(false);
        enum { MAX = 256 };
        void *b[MAX];
        size_t n = 0;
        do {
            b[n] = object ? rc_new_sized(h, &leaf_type, 1000) : rc_malloc(h, 1000);
            n++;
        } while (n < 2 * rc_pool_of(b[0])->capacity && n < MAX);
        ck_assert(!rc_pool_of(b[0])->in_list);
        if (object) {
            rc_decref(b[0]);
            expect_fatal(do_decref, h, b[0], object_line("rc_decref", "of a dead object", "leaf", b[0]));
        } else {
            rc_free(h, b[0]);
            expect_fatal(do_free, h, b[0], pointer_line("rc_free", "of a block already freed", b[0]));
        }
        ck_assert(!rc_pool_of(b[0])->in_list); /* it was held */
        for (size_t i = 1; i < n; i++) {
            if (object)
                rc_decref(b[i]);
            else
                rc_free(h, b[i]);
        }
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* Freed large rc_malloc blocks are held back as dead large objects are,
 * so rc_decref and rc_incref of one (a raw block's count reads 0, and
 * says freed) are named in every build; freed at once, a block past 1 MiB
 * was unmapped, and they segfaulted (rc_free, which reads no memory at the
 * pointer, named it already). */
START_TEST(decref_freed_large_block) {
    size_t sizes[] = {5000, 300000, (size_t)2 << 20, RC_LARGE_DEAD_BIG_BYTES - 4096,
                      RC_LARGE_DEAD_BIG_BYTES + 1};
    const char *freed = "of a block already freed";
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        if (sizes[i] > RC_LARGE_DEAD_BIG_BYTES && !realloc_shrinks_in_place())
            continue; /* it goes back whole */
        rc_heap *h = heap(false);
        char *raw = rc_malloc(h, sizes[i]);
        ck_assert_ptr_nonnull(raw);
        rc_free(h, raw);
        expect_fatal(do_decref, h, raw, pointer_line("rc_decref", freed, raw));
        expect_fatal(do_incref, h, raw, pointer_line("rc_incref", freed, raw));
        expect_fatal(do_free, h, raw, pointer_line("rc_free", freed, raw));
        ck_assert_uint_eq(rc_refcount(raw), 0);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* The dead object held whole past 1 MiB goes back when the next one that
 * big is made, before it (for the allocator to reuse), or dies; one past
 * 32 MiB keeps only its head when counting_fn's realloc shrinks in place
 * (not under Valgrind or ASan). */
START_TEST(dead_big_object_held_until_next) {
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    rc_decref(rc_new_sized(h, &leaf_type, 5000)); /* the large map is made */
    size_t big = (size_t)2 << 20, before = c.outstanding;
    void *o = rc_new_sized(h, &node_type, big);
    size_t block = c.outstanding - before;
    ck_assert_uint_ge(block, big);
    rc_decref(o);
    ck_assert_uint_eq(c.outstanding, before + block);
    expect_fatal(do_decref, h, o, object_line("rc_decref", "of a dead object", "node", o));
    size_t peak = c.outstanding;
    void *p = rc_new_sized(h, &leaf_type, big);
    ck_assert_uint_eq(c.outstanding, peak); /* o's block went first */
    rc_decref(p);
    void *q = rc_new_sized(h, &leaf_type, big + 4096);
    rc_decref(q); /* its block replaces p's */
    ck_assert_uint_eq(c.outstanding, before + block + 4096);
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    void *huge = rc_new_sized(h, &node_type, RC_LARGE_DEAD_BIG_BYTES + 1);
    ck_assert_uint_eq(c.outstanding, before + block + RC_LARGE_DEAD_BIG_BYTES + 1 - big);
    rc_decref(huge);
    bool in_place = realloc_shrinks_in_place(); /* else it went back whole */
    ck_assert_uint_eq(c.outstanding, before + (in_place ? RC_LARGE_OFFSET : 0));
    if (in_place)
        expect_fatal(do_decref, h, huge,
                     object_line("rc_decref", "of a dead object", "node", huge));
    ck_assert_uint_eq(stats_of(h).objects, 0);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* While tracing, a misuse line names where the object was made: a live
 * object from its trace, a dead one (small, tracked, medium, large) from
 * the record RCGC_DEBUG's quarantine keeps or, without it, from the
 * tracer's record of the last deaths (objects and table-traced blocks),
 * until the traces are cleared. */
static const char *sited_line(const char *call, const char *what, const char *type,
                              const void *obj, unsigned line) {
    static char buf[512];
    snprintf(buf, sizeof buf, "rcgc: fatal: %s %s <%s %p> allocated at %s:%u\n", call, what,
             type, obj, __FILE__, line);
    return buf;
}

static void check_names_site(bool debug) {
    rc_heap *h = heap(debug);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    size_t sizes[] = {16, 16, 3000, 5000}; /* small, medium, large */
    for (int k = 0; k < 4; k++) {
        const rc_type *t = k == 1 ? &node_type : &leaf_type;
        void *sibling = rc_new_sized(h, t, sizes[k]); /* keeps the pool in use */
        void *o = rc_new_sized(h, t, sizes[k]); const unsigned line = __LINE__;
        rc_incref(o);
        rc_decref(o);
        expect_fatal(do_free, h, o, sited_line("rc_free", "of an rc object (use rc_decref)", t->name, o, line));
        rc_decref(o);
        expect_fatal(do_decref, h, o, sited_line("rc_decref", "of a dead object", t->name, o, line));
        expect_fatal(do_incref, h, o, sited_line("rc_incref", "of a dead object", t->name, o, line));
        rc_decref(sibling);
    }
    void *o = rc_new(h, &leaf_type);
    rc_decref(o);
    rc_tracemalloc_clear_traces(h);
    expect_fatal(do_decref, h, o, object_line("rc_decref", "of a dead object", "leaf", o));
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

/* The record of the last deaths never names a live object after the one
 * that died at its address before: untracking its trace forgets the site. */
START_TEST(untracked_object_not_named_for_another) {
    rc_heap *h = heap(false);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    void *sibling = rc_new(h, &leaf_type), *first = rc_new(h, &leaf_type);
    rc_decref(first);
    void *second = rc_new(h, &leaf_type);
    ck_assert_ptr_eq(second, first); /* the block again */
    ck_assert_int_eq(rc_tracemalloc_untrack(h, 0, (uintptr_t)second), 0);
    expect_fatal(do_free, h, second,
                 object_line("rc_free", "of an rc object (use rc_decref)", "leaf", second));
    rc_decref(second);
    rc_decref(sibling);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

START_TEST(misuse_names_site_debug) { check_names_site(true); }
END_TEST

START_TEST(misuse_names_site) { check_names_site(false); }
END_TEST

/* The same for raw blocks: a second free of a small block (its trace in a
 * prefix, which its free overwrote: the tracer's table of deaths keeps its
 * site; it was named without one), of one allocated before tracing began
 * (in the table), and of a large one names where it was allocated. */
static const char *sited_pointer_line(const char *call, const char *what, const void *p,
                                      unsigned line) {
    static char buf[512];
    snprintf(buf, sizeof buf, "rcgc: fatal: %s %s (%p) allocated at %s:%u\n", call, what, p,
             __FILE__, line);
    return buf;
}

static void check_raw_names_site(bool debug) {
    rc_heap *h = heap(debug);
    const char *freed = "of a block already freed";
    char *sibling = rc_malloc(h, 64), *big = rc_malloc(h, 5000);
    rc_free(h, big);
    expect_fatal(do_free, h, big, pointer_line("rc_free", freed, big)); /* not traced */
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    size_t sizes[] = {64, 5000};
    for (int k = 0; k < 2; k++) {
        char *raw = rc_malloc(h, sizes[k]); const unsigned line = __LINE__;
        rc_free(h, raw);
        expect_fatal(do_free, h, raw, sited_pointer_line("rc_free", freed, raw, line));
        expect_fatal(do_realloc, h, raw, sited_pointer_line("rc_realloc", freed, raw, line));
    }
    rc_tracemalloc_clear_traces(h);
    char *raw = rc_malloc(h, 64);
    rc_free(h, raw);
    rc_tracemalloc_clear_traces(h);
    expect_fatal(do_free, h, raw, pointer_line("rc_free", freed, raw)); /* its trace is gone */
    rc_free(h, sibling);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(raw_misuse_names_site_debug) { check_raw_names_site(true); }
END_TEST

START_TEST(raw_misuse_names_site) { check_raw_names_site(false); }
END_TEST

/* A small traced block that rc_realloc moved (to another class, or to a
 * large block) is freed as rc_free frees it: its site is kept (with
 * RCGC_DEBUG by its quarantined memory, else by the tracer's table of
 * deaths), so a later free of the old pointer names where it was allocated
 * (it was named without: the move dropped the traceback its trace ended
 * with). */
static void check_realloc_moved_names_site(bool debug) {
    rc_heap *h = heap(debug);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    const char *freed = "of a block already freed";
    char *sibling = rc_malloc(h, 64);
    size_t sizes[] = {200, 5000};
    for (int k = 0; k < 2; k++) {
        char *raw = rc_malloc(h, 64); const unsigned line = __LINE__;
        char *moved = rc_realloc(h, raw, sizes[k]);
        ck_assert_ptr_ne(moved, raw);
        expect_fatal(do_free, h, raw, sited_pointer_line("rc_free", freed, raw, line));
        expect_fatal(do_realloc, h, raw, sited_pointer_line("rc_realloc", freed, raw, line));
        rc_free(h, moved);
    }
    rc_free(h, sibling);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

START_TEST(realloc_moved_names_site_debug) { check_realloc_moved_names_site(true); }
END_TEST

START_TEST(realloc_moved_names_site) { check_realloc_moved_names_site(false); }
END_TEST

/* Without RCGC_DEBUG the next object of the same class takes the dead one's
 * block at once (so a stale pointer then names a live object) ... */
START_TEST(reuse_without_debug) {
    rc_heap *h = heap(false);
    node *o = rc_new(h, &node_type);
    rc_decref(o);
    node *next = rc_new(h, &node_type);
    ck_assert_ptr_eq(next, o);
    rc_decref(next);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ... with it the block is held back, and the dead object is still caught
 * after a thousand allocations of its class. */
START_TEST(dead_caught_after_reuse_debug) {
    rc_heap *h = heap(true);
    for (int k = 0; k < 2; k++) {
        const rc_type *t = k ? &node_type : &leaf_type;
        void *o = rc_new(h, t);
        rc_decref(o);
        void *later[1000];
        int reused = 0;
        for (int i = 0; i < 1000; i++)
            reused += (later[i] = rc_new(h, t)) == o;
        ck_assert_int_eq(reused, 0);
        expect_fatal(do_decref, h, o, object_line("rc_decref", "of a dead object", t->name, o));
        for (int i = 0; i < 1000; i++)
            rc_decref(later[i]);
    }
    char *raw = rc_malloc(h, 64);
    rc_free(h, raw);
    void *more[1000];
    int reused = 0;
    for (int i = 0; i < 1000; i++)
        reused += (more[i] = rc_malloc(h, 64)) == raw;
    ck_assert_int_eq(reused, 0);
    expect_fatal(do_free, h, raw, pointer_line("rc_free", "of a block already freed", raw));
    for (int i = 0; i < 1000; i++)
        rc_free(h, more[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ----------------------------------------------------------------- rc_free */

START_TEST(free_foreign_pointer) {
    rc_heap *h = heap(false), *other = heap(false);
    char *raw = rc_malloc(h, 64), *big = rc_malloc(h, 5000);
    char *theirs = rc_malloc(other, 64), *their_big = rc_malloc(other, 5000);
    char *mine = malloc(64);
    int local;
    const char *no = "of a pointer the heap does not own";
    void *bad[] = {mine, &local, raw + 16, raw + 8, raw + 1, big + 16, theirs, their_big};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        expect_fatal(do_free, h, bad[i], pointer_line("rc_free", no, bad[i]));
        expect_fatal(do_realloc, h, bad[i], pointer_line("rc_realloc", no, bad[i]));
    }
    free(mine);
    rc_free(h, raw);
    rc_free(h, big);
    rc_free(other, theirs);
    rc_free(other, their_big);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* The same while tracing, for blocks that carry their trace in a prefix
 * (rc_free checks those at sight too): a pointer into one, and a second
 * free of one (with its site), are named; so after tracing stopped (no
 * site: its traces are forgotten). */
START_TEST(traced_free_misuse) {
    rc_heap *h = heap(false);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    char *sibling = rc_malloc(h, 64), *raw = rc_malloc(h, 64); const unsigned line = __LINE__;
    char *later = rc_malloc(h, 64);
    ck_assert_uint_eq(rc__pool_lookup(h, raw)->kind, RC_KIND_RAW_TRACED);
    const char *no = "of a pointer the heap does not own";
    void *bad[] = {raw + 16, raw + 8, raw + 1, raw - 16};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        expect_fatal(do_free, h, bad[i], pointer_line("rc_free", no, bad[i]));
    rc_free(h, raw);
    expect_fatal(do_free, h, raw, sited_pointer_line("rc_free", "of a block already freed", raw,
                                                     line));
    rc_tracemalloc_stop(h);
    rc_free(h, later);
    expect_fatal(do_free, h, later, pointer_line("rc_free", "of a block already freed", later));
    rc_free(h, sibling);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Medium raw blocks (past RC_SMALL_MAX, up to RC_MEDIUM_MAX) are pool
 * blocks: a pointer into one or past the last, a second free (traced or
 * not; traced, with its site), and rc_decref of one (its false count, the
 * last bytes of the block before, zeroed whole, is 0) are named, as for a
 * small block. */
START_TEST(medium_free_misuse) {
    for (int traced = 0; traced < 2; traced++) {
        rc_heap *h = heap(false);
        if (traced)
            ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        char *before = rc_calloc(h, 1, traced ? 3072 - RC_TRACE_PREFIX : 3072);
        char *raw = rc_malloc(h, 3000); const unsigned line = __LINE__;
        char *later = rc_malloc(h, 3000);
        rc_pool *p = rc__pool_lookup(h, raw);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(p->kind, traced ? RC_KIND_RAW_TRACED : RC_KIND_RAW);
        ck_assert_uint_eq(p->block_size, 3072); /* 256-byte steps past 2 KiB */
        ck_assert_ptr_eq(raw, before + p->block_size);
        const char *no = "of a pointer the heap does not own";
        void *bad[] = {raw + 16, raw + 8, raw + 1, raw + 3072 + 16, raw - 16};
        for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
            expect_fatal(do_free, h, bad[i], pointer_line("rc_free", no, bad[i]));
            expect_fatal(do_realloc, h, bad[i], pointer_line("rc_realloc", no, bad[i]));
        }
        const char *raw_use = "of an rc_malloc block (use rc_free)";
        if (!traced) /* (traced: the prefix, tested at decref_traced_block) */
            expect_fatal(do_decref, h, raw, pointer_line("rc_decref", raw_use, raw));
        rc_free(h, raw);
        const char *freed = "of a block already freed";
        expect_fatal(do_free, h, raw, traced ? sited_pointer_line("rc_free", freed, raw, line)
                                             : pointer_line("rc_free", freed, raw));
        expect_fatal(do_realloc, h, raw,
                     traced ? sited_pointer_line("rc_realloc", freed, raw, line)
                            : pointer_line("rc_realloc", freed, raw));
        rc_free(h, later);
        rc_free(h, before);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

START_TEST(free_with_null_heap) {
    rc_heap *h = heap(false);
    char *raw = rc_malloc(h, 64);
    expect_fatal(do_free, NULL, raw, pointer_line("rc_free", "with a NULL heap", raw));
    rc_free(h, raw);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* An rc_alloc_fn that, once asked to, hands out memory 8 bytes past a
 * 16-byte boundary: skew_buf + 8. */
static _Alignas(16) char skew_buf[1 << 20];
static void *skew_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)old_size;
    if (new_size == 0) {
        free(ptr);
        return NULL;
    }
    if (*(bool *)ud && ptr == NULL && new_size + 8 <= sizeof skew_buf)
        return skew_buf + 8;
    return realloc(ptr, new_size);
}

static void skewed_malloc(rc_heap *h, void *skew) {
    *(bool *)skew = true;
    rc_malloc(h, 5000);
}

static void skewed_heap(rc_heap *h, void *skew) {
    (void)h;
    *(bool *)skew = true;
    rc_heap_new_with(skew_fn, skew);
}

/* rc_alloc_fn must give 16-byte aligned memory (objects are): one that
 * does not is named, when the heap is made or later, instead of handing
 * out misaligned objects and blocks. */
START_TEST(alloc_fn_misaligned) {
    bool skew = false;
    rc_heap *h = rc_heap_new_with(skew_fn, &skew);
    ck_assert_ptr_nonnull(h);
    const char *want = pointer_line("rc_alloc_fn", "returned memory not 16-byte aligned",
                                    skew_buf + 8);
    expect_fatal(skewed_malloc, h, &skew, want);
    expect_fatal(skewed_heap, NULL, &skew, want);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A second rc_free of a small block is named as such; so is one of a
 * large block, which went back to the system (it was named "not owned"),
 * freed or moved by rc_realloc, while it is among the last 16 to go. */
START_TEST(free_twice) {
    rc_heap *h = heap(false);
    char *sibling = rc_malloc(h, 64), *raw = rc_malloc(h, 64), *big = rc_malloc(h, 5000);
    char *grown = rc_malloc(h, 5000), *blocker = rc_malloc(h, 5000), *later[16];
    for (int i = 0; i < 16; i++)
        later[i] = rc_malloc(h, RC_MEDIUM_MAX + 1); /* large */
    rc_free(h, raw);
    rc_free(h, big);
    char *moved = rc_realloc(h, grown, 1 << 20);
    ck_assert_ptr_ne(moved, grown); /* blocker is in its way */
    const char *freed = "of a block already freed";
    expect_fatal(do_free, h, raw, pointer_line("rc_free", freed, raw));
    expect_fatal(do_realloc, h, raw, pointer_line("rc_realloc", freed, raw));
    expect_fatal(do_free, h, big, pointer_line("rc_free", freed, big));
    expect_fatal(do_realloc, h, big, pointer_line("rc_realloc", freed, big));
    expect_fatal(do_free, h, grown, pointer_line("rc_free", freed, grown));
    for (int i = 0; i < 16; i++) /* the 16 last to go: big is no longer among them */
        rc_free(h, later[i]);
    expect_fatal(do_free, h, big,
                 pointer_line("rc_free", "of a pointer the heap does not own", big));
    rc_free(h, moved);
    rc_free(h, blocker);
    rc_free(h, sibling);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A pool whose last block went back is parked (kept for its class) or
 * retired to its arena; either way a free of one of its blocks, freed or
 * never handed out, is named, and reads nothing in the pool's blocks
 * (ASan would report a read of a retired pool's poisoned memory). A parked
 * pool still knows what it had carved: a second free of its last block is
 * named as such. */
START_TEST(free_in_empty_pool) {
    rc_heap *h = heap(false);
    const char *no = "of a pointer the heap does not own";
    char *alone = rc_malloc(h, 48);
    rc_pool *parked = rc_pool_of(alone);
    rc_free(h, alone);
    ck_assert(parked->parked);
    expect_fatal(do_free, h, alone, pointer_line("rc_free", "of a block already freed", alone));
    expect_fatal(do_realloc, h, alone,
                 pointer_line("rc_realloc", "of a block already freed", alone));
    expect_fatal(do_free, h, alone + 48, pointer_line("rc_free", no, alone + 48));
    /* Fill that pool and put one block in a second; free one of the first
     * (it rejoins the class list), then the second's only block. */
    size_t n = parked->capacity + 1;
    char **b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = rc_malloc(h, 48);
    rc_pool *retired = rc_pool_of(b[n - 1]);
    ck_assert_ptr_ne(retired, parked);
    ck_assert_ptr_eq(rc_pool_of(b[0]), parked);
    rc_free(h, b[0]);
    rc_free(h, b[n - 1]);
    ck_assert_ptr_eq(retired->arena->free_pools, retired);
    ck_assert_ptr_eq(rc__pool_lookup(h, b[n - 1]), retired); /* still a carved pool */
    /* it remembers what it held (rc_pool.was): one block */
    const char *freed = "of a block already freed";
    expect_fatal(do_free, h, b[n - 1], pointer_line("rc_free", freed, b[n - 1]));
    expect_fatal(do_free, h, b[n - 1] + 48, pointer_line("rc_free", no, b[n - 1] + 48));
    expect_fatal(do_realloc, h, b[n - 1], pointer_line("rc_realloc", freed, b[n - 1]));
    for (size_t i = 1; i < n - 1; i++)
        rc_free(h, b[i]);
    free(b);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The free mark is a hint, never a verdict: a live block whose program
 * stored exactly the mark in its second word is freed like any other (the
 * free lists say it is live), and once freed, freeing it again is still
 * caught; in debug mode a block held in the quarantine is caught too. */
START_TEST(free_mark_in_live_block) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        char *other = rc_malloc(h, 32);
        rc_free(h, other); /* the pool's free list is not empty */
        char *raw = rc_malloc(h, 32), *keep = rc_malloc(h, 32);
        uintptr_t mark = rc_raw_mark(h, raw, RC_KIND_RAW);
        memcpy(raw + sizeof(char *), &mark, sizeof mark);
        ck_assert(rc__pool_block_live(h, rc_pool_of(raw), raw));
        rc_free(h, raw);
        ck_assert(!rc__pool_block_live(h, rc_pool_of(raw), raw));
        expect_fatal(do_free, h, raw, pointer_line("rc_free", "of a block already freed", raw));
        rc_free(h, keep);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* A stale pointer to a raw block whose pool emptied and was carved again
 * for objects of another size, not at one's start, is named freed, as it
 * was before the pool was reused: the pool remembers what it held when it
 * was retired (rc_pool.was). It was named not owned. */
START_TEST(free_stale_in_reused_raw_pool) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        void *keep = rc_malloc(h, 100); /* keeps the arena */
        /* past the debug quarantine's 4096 blocks: the pools empty */
        enum { RAW = 4 * (RC_POOL_SIZE / 48), LEAVES = 8 * (RC_POOL_SIZE / 32) };
        static char *raw[RAW];
        static void *leaves[LEAVES];
        for (int i = 0; i < RAW; i++)
            raw[i] = rc_malloc(h, 48);
        for (int i = 0; i < RAW; i++)
            rc_free(h, raw[i]);
        for (int i = 0; i < LEAVES; i++)
            leaves[i] = rc_new_sized(h, &leaf_type, 24); /* 32-byte blocks */
        int named = 0;
        for (int i = 0; i < RAW; i += 97) {
            rc_pool *p = rc__pool_lookup(h, raw[i]);
            if (p == NULL || p->kind != RC_KIND_PLAIN || rc__pool_payload_at(p, raw[i]))
                continue;
            named++;
            expect_fatal(do_free, h, raw[i],
                         pointer_line("rc_free", "of a block already freed", raw[i]));
        }
        ck_assert_int_gt(named, 0);
        for (int i = 0; i < LEAVES; i++)
            rc_decref(leaves[i]);
        rc_free(h, keep);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* A pool of raw blocks that empties goes back to its arena and may come
 * back holding objects: rc_free of one of them is still named, not taken
 * for a raw block of the pool it was (rc_free's pool slots, src/alloc.c). */
START_TEST(free_object_in_reused_raw_pool) {
    rc_heap *h = heap(false);
    void *keep = rc_malloc(h, 100); /* keeps the arena */
    enum { RAW = 20 * (RC_POOL_SIZE / RC_SMALL_MAX), NODES = 5 * (RC_POOL_SIZE / 32) };
    static void *raw[RAW], *nodes[NODES];
    for (int i = 0; i < RAW; i++)
        raw[i] = rc_malloc(h, RC_SMALL_MAX);
    for (int i = 0; i < RAW; i++)
        rc_free(h, raw[i]);
    bool reused = false;
    for (int i = 0; i < NODES; i++) {
        nodes[i] = rc_new(h, &node_type); /* a 32-byte block: its payload at a raw block start */
        bool was_raw = false;
        for (int j = 0; j < RAW; j++)
            was_raw |= rc_pool_of(raw[j]) == rc_pool_of(nodes[i]);
        if (was_raw && (i == 0 || rc_pool_of(nodes[i - 1]) != rc_pool_of(nodes[i]))) {
            reused = true;
            expect_fatal(do_free, h, nodes[i], object_line("rc_free", "of an rc object (use rc_decref)",
                                                           "node", nodes[i]));
        }
    }
    ck_assert(reused);
    for (int i = 0; i < NODES; i++)
        rc_decref(nodes[i]);
    rc_free(h, keep);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* Objects are dropped with rc_decref, never rc_free: live or dead, small
 * or large, tracked or not. */
START_TEST(free_object) {
    rc_heap *h = heap(false);
    for (int k = 0; k < 2; k++) {
        const rc_type *t = k ? &node_type : &leaf_type;
        void *small = rc_new(h, t), *large = rc_new_sized(h, t, 5000), *dead = rc_new(h, t);
        void *medium = rc_new_sized(h, t, 3000);
        rc_decref(dead);
        const char *obj = "of an rc object (use rc_decref)";
        expect_fatal(do_free, h, small, object_line("rc_free", obj, t->name, small));
        expect_fatal(do_free, h, medium, object_line("rc_free", obj, t->name, medium));
        expect_fatal(do_realloc, h, medium, object_line("rc_realloc", obj, t->name, medium));
        expect_fatal(do_free, h, large, object_line("rc_free", obj, t->name, large));
        expect_fatal(do_realloc, h, small, object_line("rc_realloc", obj, t->name, small));
        expect_fatal(do_free, h, dead, object_line("rc_free", "of a dead object", t->name, dead));
        rc_decref(small);
        rc_decref(medium);
        rc_decref(large);
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ---------------------------------------------------------- RCGC_DEBUG */

/* Copies n bytes of a freed (poisoned) region for inspection, then poisons
 * it again, except the words at offsets kept[0..nkept) (those the allocator
 * keeps readable: it reads them again, at the latest in rc_heap_free). */
static void peek(void *p, size_t n, unsigned char *out, const size_t *kept, size_t nkept) {
    rc_mem_live(p, n, true);
    memcpy(out, p, n);
    rc_mem_dead(p, n);
    for (size_t i = 0; i < nkept; i++)
        rc_mem_word((char *)p + kept[i]);
}

/* The first byte of b[from..to) that is not 0xDB, or to. */
static size_t poisoned_until(const unsigned char *b, size_t from, size_t to) {
    while (from < to && b[from] == 0xDB)
        from++;
    return from;
}

/* Freed memory is filled with 0xDB, except the words the allocator keeps:
 * a raw block's free-list link and free mark, a dead object's header (count
 * 0, marked dead). */
START_TEST(debug_poisons_freed_memory) {
    rc_heap *h = heap(true);
    unsigned char b[5000];

    char *raw = rc_malloc(h, 64); /* link at 0, mark at 8 */
    memset(raw, 0x11, 64);
    rc_free(h, raw);
    peek(raw, 64, b, (size_t[]){0, 8}, 2);
    ck_assert_uint_eq(poisoned_until(b, 16, 64), 64);
    uintptr_t mark;
    memcpy(&mark, b + 8, sizeof mark);
    ck_assert_uint_eq(mark, rc_raw_mark(h, raw, RC_KIND_RAW));

    char *medium = rc_malloc(h, 3000); /* a pool block: link at 0, mark at 8 */
    memset(medium, 0x11, 3000);
    rc_free(h, medium);
    peek(medium, 3000, b, (size_t[]){0, 8}, 2);
    ck_assert_uint_eq(poisoned_until(b, 16, 3000), 3000);

    char *big = rc_malloc(h, 5000);
    memset(big, 0x11, 5000);
    rc_free(h, big);
    peek(big, 5000, b, NULL, 0);
    ck_assert_uint_eq(poisoned_until(b, 0, 5000), 5000);

    /* leaf block: [head 8][link 8][16 bytes]; node block: [gc next 8][link 8]
     * [head 8][24 bytes]. */
    char *leaf = rc_new(h, &leaf_type), *tracked = rc_new_sized(h, &node_type, 24);
    memset(leaf, 0x11, 24);
    memset(tracked + 8, 0x11, 16);
    rc_decref(leaf);
    rc_decref(tracked);
    peek(leaf - 8, 32, b, (size_t[]){0, 8}, 2);
    ck_assert_uint_eq(poisoned_until(b, 16, 32), 32);
    rc_head hd;
    memcpy(&hd, b, sizeof hd);
    ck_assert_uint_eq(hd.refcnt, 0);
    ck_assert(hd.info & RC_F_DEAD);
    peek(tracked - 24, 48, b, (size_t[]){8, 16}, 2);
    ck_assert_uint_eq(poisoned_until(b, 0, 8), 8);
    ck_assert_uint_eq(poisoned_until(b, 24, 48), 48);
    memcpy(&hd, b + 16, sizeof hd);
    ck_assert_uint_eq(hd.refcnt, 0);
    ck_assert(hd.info & RC_F_DEAD);

    char *medium_obj = rc_new_sized(h, &leaf_type, 3000); /* a pool block, as leaf's */
    memset(medium_obj, 0x11, 3000);
    rc_decref(medium_obj);
    peek(medium_obj - 8, 3008, b, (size_t[]){0, 8}, 2);
    ck_assert_uint_eq(poisoned_until(b, 16, 3008), 3008);
    memcpy(&hd, b, sizeof hd);
    ck_assert_uint_eq(hd.refcnt, 0);
    ck_assert(hd.info & RC_F_DEAD);

    char *large_obj = rc_new_sized(h, &leaf_type, 4500);
    memset(large_obj, 0x11, 4500);
    rc_decref(large_obj);
    peek(large_obj, 4500, b, NULL, 0);
    ck_assert_uint_eq(poisoned_until(b, 0, 4500), 4500);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The quarantine is bounded: blocks come back into use once enough others
 * were freed after them, memory stays bounded, and every byte goes back
 * with the heap. */
START_TEST(debug_quarantine_bounded) {
    setenv("RCGC_DEBUG", "1", 1);
    counting_alloc c = {0};
    rc_heap *h = rc_heap_new_with(counting_fn, &c);
    ck_assert(h->debug);
    char *first = rc_malloc(h, 64);
    rc_free(h, first);
    bool first_back = false;
    for (int i = 0; i < 3 * RC_QUARANTINE_SLOTS; i++) {
        char *p = rc_malloc(h, 64);
        first_back |= p == first;
        rc_free(h, p);
        rc_decref(rc_new(h, &node_type));
    }
    ck_assert(first_back);
    rc_heap_stats s = stats_of(h);
    ck_assert_uint_lt(s.bytes_reserved, 4 * RC_ARENA_SIZE);
    ck_assert_uint_eq(s.bytes_reserved, c.outstanding);
    /* A block bigger than the whole quarantine goes back at once but for
     * its head, which is held in one slot (the oldest block leaves) when
     * rc_alloc_fn shrinks it in place (counting_fn's realloc); else it goes
     * back whole. Either way a second free is named so. */
    rc_free(h, rc_malloc(h, RC_QUARANTINE_BYTES + 1)); /* the large map is made */
    size_t held = h->q_len, outstanding = c.outstanding;
    ck_assert_uint_eq(held, RC_QUARANTINE_SLOTS);
    char *huge = rc_malloc(h, RC_QUARANTINE_BYTES + 1);
    ck_assert_ptr_nonnull(huge);
    rc_free(h, huge);
    bool in_place = realloc_shrinks_in_place();
    ck_assert_uint_eq(h->q_len, held);
    ck_assert_uint_eq(c.outstanding, outstanding + (in_place ? RC_LARGE_OFFSET : 0));
    ck_assert_uint_eq(stats_of(h).bytes_reserved, c.outstanding);
    expect_fatal(do_free, h, huge, pointer_line("rc_free", "of a block already freed", huge));
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(c.outstanding, 0);
    ck_assert_uint_eq(c.blocks, 0);
    ck_assert_uint_eq(c.bad_old_size, 0);
}
END_TEST

/* With RCGC_DEBUG=1 a store into a dead object or freed block, which the
 * count checks cannot see, is named when the quarantine lets the block go
 * (here at rc_heap_free): the fill its death wrote is not whole. ASan and
 * Valgrind catch the store itself, so the library does not look there. */
static void write_then_free_heap(rc_heap *h, void *p) {
    ((char *)p)[1] = 1;
    rc_heap_free(h);
}
static void write_past_link_then_free_heap(rc_heap *h, void *p) { /* a block's words 0, 1 are kept */
    ((char *)p)[17] = 1;
    rc_heap_free(h);
}

/* Whether ASan or Valgrind runs this test: they catch a store into freed
 * memory themselves and keep it unreadable, so the fill is not checked. */
static bool checker_guards_memory(void) {
#if defined(TEST_ASAN)
    return true;
#elif defined(TEST_VALGRIND)
    return RUNNING_ON_VALGRIND;
#else
    return false;
#endif
}

START_TEST(debug_write_after_death) {
    if (checker_guards_memory())
        return;
    rc_heap *h = heap(true);
    node *o = rc_new(h, &node_type);
    void *big = rc_new_sized(h, &leaf_type, 5000), *medium = rc_new_sized(h, &leaf_type, 3000);
    char *raw = rc_malloc(h, 40), *large = rc_malloc(h, 5000);
    rc_decref(o);
    rc_decref(big);
    rc_decref(medium);
    rc_free(h, raw);
    rc_free(h, large);
    expect_fatal(write_then_free_heap, h, o, object_line("write", "to a dead object", "node", o));
    expect_fatal(write_then_free_heap, h, big, object_line("write", "to a dead object", "leaf", big));
    expect_fatal(write_past_link_then_free_heap, h, medium, object_line("write", "to a dead object", "leaf", medium));
    expect_fatal(write_past_link_then_free_heap, h, raw, pointer_line("write", "to a freed block", raw));
    expect_fatal(write_past_link_then_free_heap, h, large, pointer_line("write", "to a freed block", large));
    ck_assert_uint_eq(rc_heap_free(h), 0); /* untouched: no report */
}
END_TEST

/* The same store named while tracing, when the quarantine lets the block
 * go because later frees push it out (the tracer still runs: at
 * rc_heap_free it has ended): the line names where the block was
 * allocated, from the record the quarantine kept of it, so the check must
 * read that record before the block leaves the ring. */
static char *pushers[RC_QUARANTINE_SLOTS];
static void write_then_push_out(rc_heap *h, void *p) {
    ((char *)p)[17] = 1;
    for (size_t i = 0; i < RC_QUARANTINE_SLOTS; i++)
        rc_free(h, pushers[i]);
}

START_TEST(debug_write_after_free_names_site) {
    if (checker_guards_memory())
        return;
    rc_heap *h = heap(true);
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    for (size_t i = 0; i < RC_QUARANTINE_SLOTS; i++)
        pushers[i] = rc_malloc(h, 40);
    char *raw = rc_malloc(h, 40); const unsigned line = __LINE__;
    rc_free(h, raw);
    expect_fatal(write_then_push_out, h, raw, sited_pointer_line("write", "to a freed block", raw, line));
    for (size_t i = 0; i < RC_QUARANTINE_SLOTS; i++)
        rc_free(h, pushers[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The allocator knows which pool blocks are live (free mark and free lists
 * for raw blocks, the dead header for objects) and tells the tools: under
 * ASan the freed block is poisoned; under Valgrind it is not addressable,
 * except the words the allocator keeps. */
START_TEST(tools_see_freed_blocks) {
    rc_heap *h = heap(false);
    char *keep = rc_malloc(h, 64), *gone = rc_malloc(h, 64);
    node *o = rc_new(h, &node_type), *dead = rc_new(h, &node_type);
    rc_free(h, gone);
    rc_decref(dead);
    rc_pool *p = rc_pool_of(keep);
    ck_assert(rc__pool_block_live(h, p, keep));
    ck_assert(!rc__pool_block_live(h, p, gone));
    ck_assert(rc__pool_block_live(h, rc_pool_of(o), (char *)o - RC_GC_HEAD_SIZE));
    ck_assert(!rc__pool_block_live(h, rc_pool_of(dead), (char *)dead - RC_GC_HEAD_SIZE));
#ifdef TEST_ASAN
    ck_assert(!__asan_region_is_poisoned(keep, 64));
    ck_assert(!__asan_region_is_poisoned(o, sizeof *o));
    ck_assert(__asan_address_is_poisoned(gone + 16));
    ck_assert(__asan_address_is_poisoned(gone + 63));
    ck_assert(__asan_address_is_poisoned((char *)dead + sizeof(void *)));
#endif
#ifdef TEST_VALGRIND
    if (RUNNING_ON_VALGRIND) { /* GET_VBITS: 1 addressable, 3 not */
        char vbits[64];
        ck_assert_int_eq(VALGRIND_GET_VBITS(keep, vbits, 64), 1);
        ck_assert_int_eq(VALGRIND_GET_VBITS(gone + 16, vbits, 8), 3);
        ck_assert_int_eq(VALGRIND_GET_VBITS((char *)dead + 8, vbits, 8), 3);
    }
#endif
    rc_free(h, keep);
    rc_decref(o);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* rc_heap_free of the heap from its own collection (a finalizer), from a
 * death in it (the same finalizer, the object dying by its count) or from a
 * walk of it would pull the heap from under them. */
static rc_heap *doomed;
static void free_heap_in_finalizer(void *self) {
    (void)self;
    rc_heap_free(doomed);
}
static int free_heap_in_walk(void *obj, void *arg) {
    (void)obj;
    rc_heap_free(arg);
    return 0;
}
static void do_collect(rc_heap *h, void *p) { (void)p; rc_gc_collect(h, 2); }
static void do_decref_only(rc_heap *h, void *p) { (void)h; rc_decref(p); }
static void do_walk(rc_heap *h, void *p) { (void)p; rc_gc_get_objects(h, -1, free_heap_in_walk, h); }

START_TEST(heap_free_while_collecting) {
    static const rc_type freeing = {"freeing", sizeof(node), node_traverse, NULL,
                                    free_heap_in_finalizer, NULL};
    rc_heap *h = doomed = heap(false);
    node *n = rc_new(h, &freeing);
    char want[128];
    snprintf(want, sizeof want, "rcgc: fatal: rc_heap_free called during a death in the heap (%p)\n", (void *)h);
    expect_fatal(do_decref_only, h, n, want);
    n->next = rc_incref(n);
    rc_decref(n); /* garbage now */
    snprintf(want, sizeof want, "rcgc: fatal: rc_heap_free called during a collection of the heap (%p)\n", (void *)h);
    expect_fatal(do_collect, h, NULL, want);
    snprintf(want, sizeof want, "rcgc: fatal: rc_heap_free called from a walk's callback (%p)\n", (void *)h);
    expect_fatal(do_walk, h, NULL, want);
    doomed = NULL; /* the finalizer's rc_heap_free(NULL) does nothing */
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A heap's rc_alloc_fn, called for a traceback's memory while the heap's
 * tracebacks are resolved, that stops or clears the heap's tracing would
 * free the tracer and tracebacks being worked on: named, not a use after
 * free. */
static rc_heap *stop_armed;
static bool stop_clears;

static void *stopping_fn(void *ud, void *ptr, size_t old, size_t size) {
    (void)ud, (void)old;
    if (stop_armed && size) {
        rc_heap *h = stop_armed;
        stop_armed = NULL; /* once */
        if (stop_clears)
            rc_tracemalloc_clear_traces(h);
        else
            rc_tracemalloc_stop(h);
    }
    if (size == 0) {
        free(ptr);
        return NULL;
    }
    return realloc(ptr, (size + 15) & ~(size_t)15);
}

static void do_resolve(rc_heap *h, void *p) {
    stop_armed = h; /* h's next request for memory: p's traceback's */
    rc_tracemalloc_get_object_traceback(h, p);
}

START_TEST(tracing_stopped_while_resolving) {
    unsetenv("RCGC_DEBUG");
    rc_heap *h = rc_heap_new_with(stopping_fn, NULL);
    ck_assert_int_eq(rc_tracemalloc_start(h, 4), 0);
    void *p = rc_malloc(h, 40);
    char want[160];
    snprintf(want, sizeof want,
             "rcgc: fatal: rc_tracemalloc_stop called while the heap's tracebacks are being "
             "resolved (%p)\n",
             (void *)h);
    expect_fatal(do_resolve, h, p, want);
    stop_clears = true;
    snprintf(want, sizeof want,
             "rcgc: fatal: rc_tracemalloc_clear_traces called while the heap's tracebacks are "
             "being resolved (%p)\n",
             (void *)h);
    expect_fatal(do_resolve, h, p, want);
    ck_assert_ptr_nonnull(rc_tracemalloc_get_object_traceback(h, p)); /* unarmed: fine */
    rc_tracemalloc_clear_traces(h); /* outside a resolution: fine */
    rc_tracemalloc_stop(h);
    rc_free(h, p);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* ... or from what rc_heap_free itself runs: the finalizer of a leaked
 * object, or a release, during the teardown; or from the walks that hold
 * an object while their callback runs (the garbage list, referents), where
 * a collection may run. */
static void release_frees_heap(void *self) {
    (void)self;
    rc_heap_free(doomed);
}
static void do_heap_free(rc_heap *h, void *p) { (void)p; rc_heap_free(h); }
static void do_garbage_walk(rc_heap *h, void *p) { (void)p; rc_gc_garbage(h, free_heap_in_walk, h); }
static void do_referents_walk(rc_heap *h, void *p) { rc_gc_get_referents(p, free_heap_in_walk, h); }

START_TEST(heap_free_while_freeing_or_holding) {
    static const rc_type finalizing = {"finalizing", sizeof(node), node_traverse, NULL,
                                       free_heap_in_finalizer, NULL};
    static const rc_type releasing = {"releasing", sizeof(node), node_traverse, NULL, NULL,
                                      release_frees_heap};
    char want[128];
    for (int k = 0; k < 2; k++) {
        rc_heap *h = doomed = heap(false);
        rc_new(h, k ? &releasing : &finalizing); /* leaked: rc_heap_free runs its code */
        snprintf(want, sizeof want,
                 "rcgc: fatal: rc_heap_free called during rc_heap_free of the heap (%p)\n",
                 (void *)h);
        expect_fatal(do_heap_free, h, NULL, want);
        doomed = NULL;
        ck_assert_uint_eq(rc_heap_free(h), 1);
    }
    rc_heap *h = heap(false);
    node *a = rc_new(h, &node_type), *b = rc_new(h, &node_type);
    a->next = b; /* a holds b */
    snprintf(want, sizeof want, "rcgc: fatal: rc_heap_free called from a walk's callback (%p)\n",
             (void *)h);
    expect_fatal(do_referents_walk, h, a, want);
    b->next = rc_incref(a);
    rc_gc_set_debug(h, RC_GC_DEBUG_SAVEALL);
    rc_decref(a); /* a cycle, kept in the garbage list */
    ck_assert_int_eq(rc_gc_collect(h, 2), 2);
    expect_fatal(do_garbage_walk, h, NULL, want);
    rc_gc_set_debug(h, 0);
    rc_gc_garbage_clear(h); /* the cycle again, for rc_heap_free's collection */
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A block freed twice by the releases rc_heap_free runs (two objects
 * sharing a buffer, each freeing it): named as any second free, small or
 * large, traced or not (the teardown's frees give nothing back, and the
 * second went unseen). Freeing a block once there, and one made there, is
 * fine. */
static rc_heap *teardown_heap;
static char *shared_buffer;
static bool keep_shared; /* the releases leave shared_buffer as it is */
static void release_shared(void *self) {
    (void)self;
    rc_free(teardown_heap, shared_buffer);
    if (!keep_shared)
        shared_buffer = NULL;
    rc_free(teardown_heap, rc_malloc(teardown_heap, 40));
}
START_TEST(free_twice_in_teardown) {
    static const rc_type sharer = {"sharer", 16, NULL, NULL, NULL, release_shared};
    for (int k = 0; k < 4; k++) {
        rc_heap *h = teardown_heap = heap(false);
        if (k & 2)
            ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
        rc_malloc(h, 64); /* keeps the pool in use */
        shared_buffer = rc_malloc(h, k & 1 ? 5000 : 64); const unsigned line = __LINE__;
        rc_new(h, &sharer);
        rc_new(h, &sharer);
        const char *freed = "of a block already freed";
        keep_shared = true; /* while tracing, the table of deaths names it */
        expect_fatal(do_heap_free, h, NULL,
                     k & 2 ? sited_pointer_line("rc_free", freed, shared_buffer, line)
                            : pointer_line("rc_free", freed, shared_buffer));
        keep_shared = false;
        ck_assert_uint_eq(rc_heap_free(h), 2);
    }
}
END_TEST

/* A finalizer that drops the reference its object's death holds for it
 * (its own count, 1 while it runs) takes the count below zero: named as
 * it happens, tracked or not, small or large, before the object is freed
 * under the finalizer (the death's own drop afterwards wrapped the dead
 * count to immortal, so that later drops of it went unseen). A finalizer
 * that takes a reference and drops it again is fine. */
static void *kept_by_finalizer;
static void drop_self(void *self) { rc_decref(self); }
static void take_and_drop_self(void *self) {
    kept_by_finalizer = rc_incref(self);
    RC_CLEAR(kept_by_finalizer);
}
START_TEST(finalizer_drops_its_own_reference) {
    static const rc_type tracked = {"self dropping", sizeof(node), node_traverse, NULL,
                                    drop_self, NULL};
    static const rc_type untracked = {"self dropping leaf", 24, NULL, NULL, drop_self, NULL};
    static const rc_type fine = {"self taking", sizeof(node), node_traverse, NULL,
                                 take_and_drop_self, NULL};
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        for (int k = 0; k < 4; k++) {
            const rc_type *t = k & 1 ? &untracked : &tracked;
            void *o = k & 2 ? rc_new_sized(h, t, 5000) : rc_new(h, t);
            expect_fatal(do_decref, h, o, object_line("rc_decref", "below zero", t->name, o));
            rc_decref(rc_incref(o)); /* alive still: the misuse ran in the child only */
        }
        node *n = rc_new(h, &fine);
        rc_decref(n);
        ck_assert_uint_eq(stats_of(h).objects, 4); /* the four above, leaked on purpose */
        ck_assert_uint_eq(rc_heap_free(h), 4);
    }
}
END_TEST

/* ... or from the frame provider, called while an allocation of the heap
 * is traced: the allocation would go on in the freed heap. */
static int provider_frees_heap(rc_frame *frames, int max, void *arg) {
    (void)frames, (void)max;
    rc_heap_free(arg);
    return 0;
}
static void do_traced_new(rc_heap *h, void *p) { (void)p; rc_new(h, &node_type); }
static void do_traced_malloc(rc_heap *h, void *p) { (void)p; rc_malloc(h, 24); }

START_TEST(heap_free_from_frame_provider) {
    rc_heap *h = heap(false);
    rc_tracemalloc_set_frame_provider(h, provider_frees_heap, h);
    ck_assert_int_eq(rc_tracemalloc_start(h, 4), 0);
    char want[128];
    snprintf(want, sizeof want, "rcgc: fatal: rc_heap_free called from the frame provider (%p)\n",
             (void *)h);
    expect_fatal(do_traced_new, h, NULL, want);
    expect_fatal(do_traced_malloc, h, NULL, want);
    rc_tracemalloc_set_frame_provider(h, NULL, NULL);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* A weak reference to an object whose count reached zero (from its
 * release) would outlive it and hand out whatever takes its place. */
static void weakref_to_self(void *self) { rc_weakref_new(self, NULL, NULL); }
START_TEST(weakref_new_of_dead_object) {
    static const rc_type t = {"mourner", 16, NULL, NULL, NULL, weakref_to_self};
    rc_heap *h = heap(false);
    void *o = rc_new(h, &t);
    expect_fatal(do_decref_only, h, o, object_line("rc_weakref_new", "of a dead object", "mourner", o));
    ck_assert_uint_eq(rc_heap_free(h), 1); /* released, silently: no count reaches zero */
}
END_TEST

static void do_weakref_new(rc_heap *h, void *p) { (void)h; rc_weakref_new(p, NULL, NULL); }

/* rc_gc_get_referents of a dead object, tracked or not, with and without
 * RCGC_DEBUG: named as the call it is (it used to read "rc_incref of a dead
 * object", a call the program never made, or, for a type without
 * traverse, to return 0 as for a live one). */
static int no_walk(void *obj, void *arg) { (void)obj, (void)arg; return 0; }
static void do_referents(rc_heap *h, void *p) { (void)h; rc_gc_get_referents(p, no_walk, NULL); }
static void do_referrers(rc_heap *h, void *p) { rc_gc_get_referrers(h, p, no_walk, NULL); }
static int count_walk(void *obj, void *arg) { (void)obj, ++*(int *)arg; return 0; }

/* A walk (call, done by walk) of a dead object, tracked or not, of h or
 * of another heap, is named, not answered with an empty walk. */
static void check_walk_of_dead(misuse_fn walk, const char *call) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug), *other = heap(debug);
        rc_heap *heaps[] = {h, other};
        for (int in = 0; in < 2; in++) {
            node *keep = rc_new(heaps[in], &node_type); /* keeps the pools in use */
            void *keep_leaf = rc_new(heaps[in], &leaf_type);
            for (int k = 0; k < 2; k++) {
                const rc_type *t = k ? &leaf_type : &node_type;
                void *o = rc_new(heaps[in], t);
                rc_decref(o);
                expect_fatal(walk, h, o, object_line(call, "of a dead object", t->name, o));
            }
            rc_decref(keep);
            rc_decref(keep_leaf);
        }
        ck_assert_uint_eq(rc_heap_free(h), 0);
        ck_assert_uint_eq(rc_heap_free(other), 0);
    }
}

START_TEST(referents_of_dead_object) { check_walk_of_dead(do_referents, "rc_gc_get_referents"); }
END_TEST

/* rc_gc_get_referrers too (it answered 0, quietly). A live object of
 * another heap is no misuse: objects may refer across heaps, and the walk
 * finds h's referrers of it. */
START_TEST(referrers_of_dead_object) {
    check_walk_of_dead(do_referrers, "rc_gc_get_referrers");
    rc_heap *h = heap(false), *other = heap(false);
    node *theirs = rc_new(other, &node_type), *mine = rc_new(h, &node_type);
    mine->next = rc_incref(theirs);
    int n = 0;
    ck_assert_int_eq(rc_gc_get_referrers(h, theirs, count_walk, &n), 0);
    ck_assert_int_eq(n, 1);
    rc_decref(mine);
    rc_decref(theirs);
    ck_assert_uint_eq(rc_heap_free(h), 0);
    ck_assert_uint_eq(rc_heap_free(other), 0);
}
END_TEST

/* rc_gc_get_referents of an object dying by its count, from its release or
 * clear, or from a weak reference's callback (count 0 in each): it is not
 * freed yet and answers, as the other queries do (guide.md, section 8):
 * what its slots hold then (nothing, in clear after the drops and in
 * release; its referents in the callback, which runs before they go). A
 * type without traverse answered 0 before rc_gc_get_referents named dead
 * objects, and must again. */
static int dying_walks, dying_seen;
static void walk_self(void *self) {
    int n = 0;
    ck_assert_int_eq(rc_gc_get_referents(self, count_walk, &n), 0);
    ck_assert_uint_gt(rc_sizeof(self), 0);
    dying_walks++;
    dying_seen += n;
}
static void walk_self_clear(void *self) {
    RC_CLEAR(((node *)self)->next);
    walk_self(self);
}
static void walk_target(rc_weakref *ref, void *target) { (void)ref; walk_self(target); }
START_TEST(referents_of_dying_object) {
    static const rc_type bare_walking = {"bare_walking", 16, NULL, NULL, NULL, walk_self};
    static const rc_type walking = {"walking", sizeof(node), node_traverse, NULL, NULL, walk_self};
    static const rc_type clear_walking = {"clear_walking", sizeof(node), node_traverse,
                                          walk_self_clear, NULL, NULL};
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        dying_walks = dying_seen = 0;
        rc_decref(rc_new(h, &bare_walking));
        node *o = rc_new(h, &walking);
        o->next = rc_new(h, &leaf_type);
        rc_decref(o);
        o = rc_new(h, &clear_walking);
        o->next = rc_new(h, &leaf_type);
        rc_decref(o);
        ck_assert_int_eq(dying_walks, 3);
        ck_assert_int_eq(dying_seen, 0);
        o = rc_new(h, &node_type);
        o->next = rc_new(h, &leaf_type);
        rc_weakref *w = rc_weakref_new(o, walk_target, o);
        rc_decref(o);
        ck_assert_int_eq(dying_walks, 4);
        ck_assert_int_eq(dying_seen, 1); /* the callback runs before the drops */
        rc_decref(w);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* A clear that drops a field with rc_decref and sets it to NULL after
 * (the order api.md allows), the drop ending the referent, whose weak
 * reference's callback walks the holder: the slot, not yet NULL, holds a
 * dying object, which is no referent any more (the walk took a count of
 * it: "rc_incref of a dead object"). The holder dying by its count, and
 * cleared by the collector (count > 0). */
typedef struct pair { void *a, *b; } pair;
static void pair_traverse(void *self, rc_visit_fn visit, void *arg) {
    visit(&((pair *)self)->a, arg);
    visit(&((pair *)self)->b, arg);
}
static void pair_clear_decref_then_null(void *self) {
    pair *p = self;
    rc_decref(p->a);
    p->a = NULL;
    rc_decref(p->b);
    p->b = NULL;
}
static int walk_holder_seen;
static void walk_holder(rc_weakref *ref, void *holder) {
    (void)ref;
    int n = 0;
    ck_assert_int_eq(rc_gc_get_referents(holder, count_walk, &n), 0);
    walk_holder_seen = n;
}
START_TEST(referents_skip_slot_dropped_not_yet_null) {
    static const rc_type pair_type = {"pair", sizeof(pair), pair_traverse,
                                      pair_clear_decref_then_null, NULL, NULL};
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        pair *p = rc_new(h, &pair_type);
        p->a = rc_new(h, &leaf_type);
        p->b = rc_new(h, &leaf_type);
        rc_weakref *w = rc_weakref_new(p->a, walk_holder, p);
        walk_holder_seen = -1;
        rc_decref(p); /* dying by its count */
        ck_assert_int_eq(walk_holder_seen, 1); /* b only */
        rc_decref(w);
        p = rc_new(h, &pair_type);
        p->a = rc_new(h, &leaf_type);
        p->b = rc_incref(p); /* a cycle */
        w = rc_weakref_new(p->a, walk_holder, p);
        walk_holder_seen = -1;
        rc_decref(p);
        ck_assert_int_eq(rc_gc_collect(h, 2), 1);
        ck_assert_int_eq(walk_holder_seen, 1); /* b, itself */
        rc_decref(w);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* The queries of an object already freed (its block not reused yet), with
 * and without RCGC_DEBUG: each named as the call it is (they used to
 * answer from the freed block: rc_gc_is_tracked said true in a debug heap,
 * whose poison it read, and false in another). */
typedef struct query { const char *call; void (*ask)(const void *o); } query;
static void ask_type(const void *o) { (void)rc_type_of(o); }
static void ask_heap(const void *o) { (void)rc_heap_of(o); }
static void ask_size(const void *o) { (void)rc_sizeof(o); }
static void ask_tracked(const void *o) { (void)rc_gc_is_tracked(o); }
static void ask_finalized(const void *o) { (void)rc_gc_is_finalized(o); }
static void ask_weakrefs(const void *o) { (void)rc_weakref_count(o); }
static const query *asked;
static void do_query(rc_heap *h, void *p) { (void)h; asked->ask(p); }
static const query queries[] = {
    {"rc_type_of", ask_type},           {"rc_heap_of", ask_heap},
    {"rc_sizeof", ask_size},            {"rc_gc_is_tracked", ask_tracked},
    {"rc_gc_is_finalized", ask_finalized}, {"rc_weakref_count", ask_weakrefs},
};
START_TEST(queries_of_freed_object) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        node *keep = rc_new(h, &node_type); /* keeps the pools in use */
        void *keep_leaf = rc_new(h, &leaf_type);
        for (size_t q = 0; q < sizeof queries / sizeof *queries; q++)
            for (int k = 0; k < 2; k++) {
                const rc_type *t = k ? &leaf_type : &node_type;
                void *o = rc_new(h, t);
                rc_decref(o);
                asked = &queries[q];
                expect_fatal(do_query, h, o,
                             object_line(queries[q].call, "of a dead object", t->name, o));
            }
        rc_decref(keep);
        rc_decref(keep_leaf);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* Each query, rc_gc_get_referents, rc_gc_get_referrers and rc_weakref_new
 * of the rc_malloc block p names it as rc_decref does. */
static void expect_raw_block_named(rc_heap *h, void *p) {
    const char *what = "of an rc_malloc block (use rc_free)";
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        asked = &queries[q];
        expect_fatal(do_query, h, p, pointer_line(queries[q].call, what, p));
    }
    expect_fatal(do_referents, h, p, pointer_line("rc_gc_get_referents", what, p));
    expect_fatal(do_referrers, h, p, pointer_line("rc_gc_get_referrers", what, p));
    expect_fatal(do_weakref_new, h, p, pointer_line("rc_weakref_new", what, p));
}

/* The same queries, rc_gc_get_referents, rc_gc_get_referrers and
 * rc_weakref_new of an rc_malloc block, with and without RCGC_DEBUG: small (the first block of
 * a fresh heap, whose false header is the pool's, and one after it, whose
 * false header is the first's last bytes: zeros, or a count of one and
 * flags a program wrote) or large (whose head says raw): each named as
 * rc_decref names it. rc_type_of and rc_gc_get_referents read a type from
 * the false header and faulted; the other queries answered from it;
 * rc_weakref_new of a large block gave a weak reference that handed the
 * block out even after rc_free. */
START_TEST(queries_of_raw_block) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        uint32_t *first = rc_calloc(h, 1, 64);
        char *small = rc_malloc(h, 64), *large = rc_malloc(h, 5000);
        ck_assert_ptr_eq(small, (char *)first + 64);
        void *blocks[] = {first, small, large};
        for (int k = 0; k < 2; k++) {
            first[14] = k; /* small's count */
            first[15] = k ? 0xfffff000u | RC_F_PLAIN : 0; /* a type index past the table */
            for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++) {
                expect_raw_block_named(h, blocks[b]);
            }
        }
        rc_free(h, small);
        rc_free(h, large);
        rc_free(h, first);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* A pool of objects that empties goes back to its arena and may come back
 * holding raw blocks: a stale rc_decref, rc_incref or query of an object
 * that died there is named a dead object, not an rc_malloc block (it was:
 * the pool's kind alone decided), as its address is no block's payload in
 * the pool now; one of those blocks is still named as such. */
START_TEST(dead_object_in_reused_object_pool) {
    rc_heap *h = heap(false);
    void *keep = rc_malloc(h, 100); /* keeps the arena */
    enum { N = 5 * (RC_POOL_SIZE / 32) };
    static void *leaves[N], *raw[N];
    for (int i = 0; i < N; i++)
        leaves[i] = rc_new(h, &leaf_type); /* 32-byte blocks */
    for (int i = 0; i < N; i++)
        rc_decref(leaves[i]);
    for (int i = 0; i < N; i++)
        raw[i] = rc_malloc(h, 24); /* 32-byte blocks, 16 bytes off the objects */
    int k = 0;
    while (k < N && rc_pool_of(leaves[k])->kind != RC_KIND_RAW)
        k++;
    ck_assert_int_lt(k, N);
    void *o = leaves[k];
    expect_fatal(do_decref, h, o, pointer_line("rc_decref", "of a dead object", o));
    expect_fatal(do_incref, h, o, pointer_line("rc_incref", "of a dead object", o));
    asked = &queries[0];
    expect_fatal(do_query, h, o, pointer_line(queries[0].call, "of a dead object", o));
    void *block = (char *)o + 16;
    ck_assert_ptr_eq(rc__pool_lookup(h, block), rc_pool_of(o));
    expect_fatal(do_query, h, block,
                 pointer_line(queries[0].call, "of an rc_malloc block (use rc_free)", block));
    for (int i = 0; i < N; i++)
        rc_free(h, raw[i]);
    rc_free(h, keep);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The same queries, rc_gc_get_referents and rc_weakref_new of an object
 * freed in an arena that went back since (retired: its pages read as
 * zeros, no heap), as decref_dead_in_retired_arena: each named (they
 * segfaulted, answered NULL or 0, or, for rc_weakref_new, read a type from
 * a NULL heap). And a live holder whose slot still points there: its walk
 * names the referent, as it did before dying referents were skipped (the
 * zeros read as a dying one, and the walk skipped it silently). */
START_TEST(queries_of_object_in_retired_arena) {
    rc_heap *h = heap(false);
    void **v, *o = dead_in_retired_arena(h, &v);
    node *holder = rc_new(h, &node_type);
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        asked = &queries[q];
        expect_fatal(do_query, h, o, pointer_line(queries[q].call, "of a dead object", o));
    }
    expect_fatal(do_referents, h, o, pointer_line("rc_gc_get_referents", "of a dead object", o));
    expect_fatal(do_weakref_new, h, o, pointer_line("rc_weakref_new", "of a dead object", o));
    holder->next = o; /* a stale pointer, as a missing rc_incref leaves */
    expect_fatal(do_referents, h, holder, pointer_line("rc_incref", "of a dead object", o));
    holder->next = NULL;
    rc_decref(holder);
    free(v);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* rc_weakref_get of a weak reference already dropped (a cache that kept the
 * pointer): its fields are a free block's, poisoned in a debug heap, so it
 * must be named, not followed. */
static void do_weakref_get(rc_heap *h, void *p) { (void)h; rc_decref(rc_weakref_get(p)); }
static void no_callback(rc_weakref *ref, void *arg) { (void)ref, (void)arg; }
START_TEST(weakref_get_of_dead_weakref) {
    for (int debug = 0; debug < 2; debug++) {
        rc_heap *h = heap(debug);
        node *target = rc_new(h, &node_type);
        rc_weakref *sibling = rc_weakref_new(target, NULL, NULL); /* keeps the pool in use */
        rc_weakref *dead = rc_weakref_new(target, no_callback, NULL); /* its own object */
        const char *name = rc_type_of(dead)->name;
        rc_decref(dead);
        expect_fatal(do_weakref_get, h, dead,
                     object_line("rc_weakref_get", "of a dead object", name, dead));
        rc_decref(sibling);
        rc_decref(target);
        ck_assert_uint_eq(rc_heap_free(h), 0);
    }
}
END_TEST

/* The queries, rc_gc_get_referents and rc_weakref_new of a small rc_malloc
 * block whose neighbour before it was freed in a debug heap: its false
 * header is then the freed block's fill (0xDB...: a count and flags with
 * RC_F_LARGE but not RC_F_RAW), or, for 16-byte blocks, its free mark.
 * Each is named as an rc_malloc block, not taken for a large object whose
 * rc_large (the fill) names a heap at 0xdbdb... ASan and Valgrind would
 * report the read of the freed neighbour's bytes: not run under them. */
START_TEST(queries_of_raw_block_after_freed_one) {
    if (checker_guards_memory())
        return;
    for (int debug = 0; debug < 2; debug++)
        for (size_t size = 16; size <= 64; size += 48) {
            rc_heap *h = heap(debug);
            char *before[64], *after[64];
            size_t n = 0;
            for (size_t i = 0; i < 64; i++) {
                char *a = rc_malloc(h, size), *b = rc_malloc(h, size);
                if (b == a + size) /* neighbours */
                    before[n] = a, after[n++] = b;
                else
                    rc_free(h, a), rc_free(h, b);
            }
            ck_assert_uint_gt(n, 0);
            for (size_t i = 0; i < n; i++)
                rc_free(h, before[i]);
            for (size_t i = 0; i < n; i++) {
                expect_raw_block_named(h, after[i]);
            }
            for (size_t i = 0; i < n; i++)
                rc_free(h, after[i]);
            ck_assert_uint_eq(rc_heap_free(h), 0);
        }
}
END_TEST

/* The queries of a 16-byte rc_malloc block after three the program filled
 * so that the 48 bytes before it read as a large object's rc_large and
 * head: a total within a sixteenth above the request a word of 0 gives
 * (the tag alone), the head saying large and alive. A freed neighbour's
 * free mark made that shape by chance in about one heap in twenty
 * (queries_of_raw_block_after_freed_one was flaky), and the queries read
 * a heap at address 0: every query names the block, since no large
 * block's total is past RC_LARGE_MAX. Its own bytes: run under ASan and
 * Valgrind too. */
START_TEST(queries_of_raw_block_after_large_looking_words) {
    rc_heap *h = heap(0);
    uint64_t *w[4];
    for (int i = 0; i < 4; i++) /* a fresh pool carves them in a row */
        w[i] = rc_malloc(h, 16);
    ck_assert(w[1] == w[0] + 2 && w[2] == w[0] + 4 && w[3] == w[0] + 6);
    void *p = w[3];
    size_t request = (size_t)RC_LARGE_TAG(p); /* what a tagged request of 0 says */
    ck_assert_uint_ge(request, RC_LARGE_MAX);
    w[0][0] = 0;                                   /* rc_large.heap */
    w[0][1] = request + 1 + RC_LARGE_OFFSET;       /* .total: cap = request + 1 */
    w[1][0] = 0;                                   /* .request_tagged */
    w[2][1] = (uint64_t)(RC_F_LARGE | 1u << RC_TYPE_SHIFT) << 32 | 1; /* count 1, large */
    expect_raw_block_named(h, p);
    for (int i = 0; i < 4; i++)
        rc_free(h, w[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("misuse");
    add_case(s, tcase_create("decref_dead_object"), decref_dead_object);
    add_case(s, tcase_create("free_object_in_reused_raw_pool"), free_object_in_reused_raw_pool);
    add_case(s, tcase_create("free_stale_in_reused_raw_pool"), free_stale_in_reused_raw_pool);
    add_case(s, tcase_create("decref_dead_large_debug"), decref_dead_large_debug);
    add_case(s, tcase_create("decref_dead_large"), decref_dead_large);
    add_case(s, tcase_create("decref_freed_large_block"), decref_freed_large_block);
    add_case(s, tcase_create("free_of_held_medium_block"), free_of_held_medium_block);
    add_case(s, tcase_create("dead_big_object_held_until_next"), dead_big_object_held_until_next);
    add_case(s, tcase_create("decref_dead_in_retired_arena"), decref_dead_in_retired_arena);
    add_case(s, tcase_create("decref_raw_block"), decref_raw_block);
    add_case(s, tcase_create("decref_freed_traced_block"), decref_freed_traced_block);
    add_case(s, tcase_create("decref_traced_block"), decref_traced_block);
    add_case(s, tcase_create("reuse_without_debug"), reuse_without_debug);
    add_case(s, tcase_create("misuse_names_site_debug"), misuse_names_site_debug);
    add_case(s, tcase_create("raw_misuse_names_site_debug"), raw_misuse_names_site_debug);
    add_case(s, tcase_create("misuse_names_site"), misuse_names_site);
    add_case(s, tcase_create("untracked_object_not_named_for_another"),
             untracked_object_not_named_for_another);
    add_case(s, tcase_create("raw_misuse_names_site"), raw_misuse_names_site);
    add_case(s, tcase_create("realloc_moved_names_site_debug"), realloc_moved_names_site_debug);
    add_case(s, tcase_create("realloc_moved_names_site"), realloc_moved_names_site);
    add_case(s, tcase_create("dead_caught_after_reuse_debug"), dead_caught_after_reuse_debug);
    add_case(s, tcase_create("free_foreign_pointer"), free_foreign_pointer);
    add_case(s, tcase_create("free_twice"), free_twice);
    add_case(s, tcase_create("medium_free_misuse"), medium_free_misuse);
    add_case(s, tcase_create("free_with_null_heap"), free_with_null_heap);
    add_case(s, tcase_create("alloc_fn_misaligned"), alloc_fn_misaligned);
    add_case(s, tcase_create("free_in_empty_pool"), free_in_empty_pool);
    add_case(s, tcase_create("traced_free_misuse"), traced_free_misuse);
    add_case(s, tcase_create("free_object"), free_object);
    add_case(s, tcase_create("free_mark_in_live_block"), free_mark_in_live_block);
    add_case(s, tcase_create("debug_poisons_freed_memory"), debug_poisons_freed_memory);
    add_case(s, tcase_create("debug_quarantine_bounded"), debug_quarantine_bounded);
    add_case(s, tcase_create("debug_write_after_death"), debug_write_after_death);
    add_case(s, tcase_create("debug_write_after_free_names_site"), debug_write_after_free_names_site);
    add_case(s, tcase_create("tools_see_freed_blocks"), tools_see_freed_blocks);
    add_case(s, tcase_create("heap_free_while_collecting"), heap_free_while_collecting);
    add_case(s, tcase_create("heap_free_from_frame_provider"), heap_free_from_frame_provider);
    add_case(s, tcase_create("free_twice_in_teardown"), free_twice_in_teardown);
    add_case(s, tcase_create("finalizer_drops_its_own_reference"),
             finalizer_drops_its_own_reference);
    add_case(s, tcase_create("heap_free_while_freeing_or_holding"),
             heap_free_while_freeing_or_holding);
    add_case(s, tcase_create("weakref_new_of_dead_object"), weakref_new_of_dead_object);
    add_case(s, tcase_create("weakref_get_of_dead_weakref"), weakref_get_of_dead_weakref);
    add_case(s, tcase_create("queries_of_raw_block_after_freed_one"),
             queries_of_raw_block_after_freed_one);
    add_case(s, tcase_create("queries_of_raw_block_after_large_looking_words"),
             queries_of_raw_block_after_large_looking_words);
    add_case(s, tcase_create("referents_of_dead_object"), referents_of_dead_object);
    add_case(s, tcase_create("referrers_of_dead_object"), referrers_of_dead_object);
    add_case(s, tcase_create("referents_of_dying_object"), referents_of_dying_object);
    add_case(s, tcase_create("referents_skip_slot_dropped_not_yet_null"),
             referents_skip_slot_dropped_not_yet_null);
    add_case(s, tcase_create("queries_of_freed_object"), queries_of_freed_object);
    add_case(s, tcase_create("tracing_stopped_while_resolving"), tracing_stopped_while_resolving);
    add_case(s, tcase_create("queries_of_raw_block"), queries_of_raw_block);
    add_case(s, tcase_create("dead_object_in_reused_object_pool"),
             dead_object_in_reused_object_pool);
    add_case(s, tcase_create("queries_of_object_in_retired_arena"),
             queries_of_object_in_retired_arena);
    return s;
}
