/*
 * test_support.h — what several test files share: an alloc function that
 * counts and fails on demand, workload sizes scaled for Valgrind, the heap's
 * figures as a value, and adding a test as its own tcase (with or without a
 * fixture), a frame provider that hands out a scripted stack, and a
 * process with no file descriptor left.
 *
 * counting_fn counts every byte and block it hands out and gets back, checks
 * that the heap passes each block's true old_size, and can refuse its Nth
 * request for memory or any request above a size limit.
 *
 *   counting_alloc c = {0};
 *   rc_heap *h = rc_heap_new_with(counting_fn, &c);
 *   ...                       bytes_reserved == c.outstanding at any moment
 *   counting_fail_next(&c, 3); the third request from now fails
 *   rc_heap_free(h);          c.outstanding == 0 && c.blocks == 0
 */
#ifndef RCGC_TEST_SUPPORT_H
#define RCGC_TEST_SUPPORT_H
#include <check.h>
#include <errno.h>
#include <rcgc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* TEST_ASAN: built with AddressSanitizer (GCC says __SANITIZE_ADDRESS__;
 * Clang before 16 only __has_feature). */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif

typedef struct counting_alloc {
    size_t outstanding;  /* bytes handed out and not returned */
    size_t blocks;       /* blocks handed out and not returned */
    size_t requests;     /* calls that asked for memory (new_size > 0) */
    size_t fail_at;      /* the request number to refuse; 0: none */
    size_t limit;        /* refuse any request above this many bytes; 0: none */
    size_t refused;      /* requests refused */
    size_t bad_old_size; /* calls whose old_size was not the block's size */
} counting_alloc;

/* The block's size is kept in front of it; 16 bytes keep the alignment. */
#define COUNTING_PAD 16

static inline void *counting_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    counting_alloc *c = ud;
    char *base = NULL;
    size_t have = 0;
    if (ptr) {
        base = (char *)ptr - COUNTING_PAD;
        memcpy(&have, base, sizeof have);
        if (have != old_size)
            c->bad_old_size++;
    } else if (old_size != 0) {
        c->bad_old_size++;
    }
    if (new_size == 0) {
        if (ptr) {
            c->outstanding -= have;
            c->blocks--;
            free(base);
        }
        return NULL;
    }
    c->requests++;
    if (c->requests == c->fail_at || (c->limit && new_size > c->limit) ||
        new_size > SIZE_MAX - COUNTING_PAD) {
        c->refused++;
        return NULL;
    }
    char *grown = realloc(base, new_size + COUNTING_PAD);
    if (grown == NULL) {
        c->refused++;
        return NULL;
    }
    memcpy(grown, &new_size, sizeof new_size);
    c->outstanding += new_size - have;
    c->blocks += ptr == NULL;
    return grown + COUNTING_PAD;
}

/* Makes the nth request for memory from now on fail (n >= 1). */
static inline void counting_fail_next(counting_alloc *c, size_t n) {
    c->fail_at = c->requests + n;
}

/* Requests made since counting_fail_next armed the failure at n. */
static inline size_t counting_since_armed(const counting_alloc *c, size_t n) {
    return c->requests - (c->fail_at - n);
}

/* A workload of n items, 10 times smaller under Valgrind (RCGC_VALGRIND is
 * set by the "valgrind" CTest twins), which runs some 50 times slower. */
static inline size_t scaled(size_t n) { return getenv("RCGC_VALGRIND") ? n / 10 : n; }

/* The heap's figures, as a value. */
static inline rc_heap_stats stats_of(const rc_heap *h) {
    rc_heap_stats s;
    rc_heap_get_stats(h, &s);
    return s;
}

/* Adds test as the only test of tc: CTest runs each tcase as its own process
 * (check_main.h), found by the literal tcase_create("name") at the call. */
/* No file descriptor left (RLIMIT_NOFILE at the lowest free one: every
 * open fails with EMFILE, as in a program at its limit); returns the limit
 * to give back to descriptors_restore. */
static inline struct rlimit descriptors_exhaust(void) {
    struct rlimit was;
    ck_assert_int_eq(getrlimit(RLIMIT_NOFILE, &was), 0);
    int lowest = dup(0);
    ck_assert_int_ge(lowest, 0);
    close(lowest);
    struct rlimit none = {(rlim_t)lowest, was.rlim_max};
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &none), 0);
    ck_assert_int_eq(dup(0), -1);
    return was;
}
static inline void descriptors_restore(struct rlimit was) {
    ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &was), 0);
}

/* The process's first tracer start, with no descriptor left, fails with
 * EMFILE (it reads the program's file to know the library's frames) and
 * leaves h not tracing; then, descriptors back, a start succeeds. */
static inline void start_after_descriptors_ran_out(rc_heap *h, int nframe) {
    struct rlimit was = descriptors_exhaust();
    errno = 0;
    ck_assert_int_eq(rc_tracemalloc_start(h, nframe), -1);
    ck_assert_int_eq(errno, EMFILE);
    ck_assert(!rc_tracemalloc_is_tracing(h));
    descriptors_restore(was);
    ck_assert_int_eq(rc_tracemalloc_start(h, nframe), 0);
}

/* Whether a frame's file is one of the library's sources (under
 * RCGC_SOURCE_DIR/src/, which CTest sets): no traceback shows one. Not a
 * search for "src/" in the path, which a checkout under ~/src has. */
static inline bool in_library_source(const char *file) {
    const char *source_dir = getenv("RCGC_SOURCE_DIR");
    ck_assert_msg(source_dir != NULL, "RCGC_SOURCE_DIR is not set (run the test through ctest)");
    size_t n = strlen(source_dir);
    return file != NULL && strncmp(file, source_dir, n) == 0 && strncmp(file + n, "/src/", 5) == 0;
}

static inline void add_case(Suite *s, TCase *tc, const TTest *test) {
    tcase_add_test(tc, test);
    suite_add_tcase(s, tc);
}

/* add_case with setup and teardown run around the test in its own process. */
static inline void add_case_fixture(Suite *s, TCase *tc, const TTest *test, SFun setup,
                                    SFun teardown) {
    tcase_add_checked_fixture(tc, setup, teardown);
    add_case(s, tc, test);
}
/* A frame provider's script: the frames of the next traced allocation,
 * most recent first. Set it before each allocation and pass it as the
 * provider's argument:
 *   scripted_frames sf;
 *   rc_tracemalloc_set_frame_provider(h, scripted_provider, &sf); */
typedef struct scripted_frames {
    const rc_frame *frames;
    int n;
} scripted_frames;

static inline int scripted_provider(rc_frame *frames, int max, void *arg) {
    const scripted_frames *sf = arg;
    int n = sf->n < max ? sf->n : max;
    memcpy(frames, sf->frames, (size_t)n * sizeof *frames);
    return n;
}

#endif
