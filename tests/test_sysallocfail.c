/*
 * test_sysallocfail.c — failure of the system allocator, which snapshots
 * (their statistics, filters and files) and tracemalloc's stack walks and
 * symbol resolution use (the heap's own memory comes from rc_alloc_fn:
 * test_allocfail.c). This program replaces malloc, calloc, realloc and
 * strdup with versions that, once armed, refuse the Nth request (or every
 * one from the Nth on), or grant it leaving errno ENOMEM; by
 * default only requests made by the program's own code count (rcgc is
 * linked in statically), for libdw does not survive every failure of its
 * own (docs/tracemalloc.md); libdw_records_refused counts only the blocks
 * of libdw's records, whose failure it does survive. For every N until the
 * call succeeds: NULL or -1 with ENOMEM, no block left behind, the inputs
 * as they were, and a success equal to a run without failures.
 */
#define _GNU_SOURCE /* dl_iterate_phdr */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef TEST_ASAN
#include <sanitizer/lsan_interface.h>
#endif

/* ------------------------------------------- the replaced allocator */

#ifdef TEST_ASAN
void *__interceptor_malloc(size_t);
void *__interceptor_calloc(size_t, size_t);
void *__interceptor_realloc(void *, size_t);
void __interceptor_free(void *);
#define REAL_MALLOC __interceptor_malloc
#define REAL_CALLOC __interceptor_calloc
#define REAL_REALLOC __interceptor_realloc
#define REAL_FREE __interceptor_free
#else
void *__libc_malloc(size_t);
void *__libc_calloc(size_t, size_t);
void *__libc_realloc(void *, size_t);
void __libc_free(void *);
#define REAL_MALLOC __libc_malloc
#define REAL_CALLOC __libc_calloc
#define REAL_REALLOC __libc_realloc
#define REAL_FREE __libc_free
#endif

extern char __executable_start[], etext[];

/* The replacements run before the sanitizer is set up (its own start asks
 * malloc through dlsym), when the shadow memory an instrumented access
 * reads is not there yet: they and their helpers are not instrumented
 * (an unoptimized build instruments every access to sys and segfaulted). */
#define NOT_INSTRUMENTED __attribute__((no_sanitize("address", "undefined")))

/* Blocks handed out while counting: a set of addresses, so that a block
 * freed later (counting or not) leaves it, and those left are leaks. */
#define LIVE_SLOTS (1u << 16)
static struct {
    bool counting;      /* requests are counted (and may fail) */
    bool any_caller;    /* libc's and libdw's requests count too */
    size_t only_size;   /* if not 0, only libdw's requests of this size count */
    uintptr_t libdw_lo, libdw_hi; /* libdw's code, for only_size */
    size_t requests;    /* counted since armed */
    size_t fail_at;     /* the request to refuse; 0: none */
    bool refuse_rest;   /* and every one after it */
    size_t errno_at;    /* the request to grant leaving errno ENOMEM; 0: none */
    size_t refused;
    size_t live;        /* blocks of the set */
    void *set[LIVE_SLOTS];
} sys;

NOT_INSTRUMENTED static size_t live_slot(void *p, void *want) {
    size_t i = ((uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 48;
    while (sys.set[i] != want && sys.set[i] != NULL)
        i = (i + 1) & (LIVE_SLOTS - 1);
    return i;
}

NOT_INSTRUMENTED static void live_add(void *p) {
    if (p && sys.live < LIVE_SLOTS / 2) {
        sys.set[live_slot(p, p)] = p;
        sys.live++;
    }
}

NOT_INSTRUMENTED static void live_remove(void *p) {
    if (p == NULL || sys.live == 0)
        return;
    size_t i = live_slot(p, p);
    if (sys.set[i] != p)
        return;
    /* backward-shift deletion keeps every probe chain whole */
    sys.set[i] = NULL;
    sys.live--;
    for (size_t j = (i + 1) & (LIVE_SLOTS - 1); sys.set[j]; j = (j + 1) & (LIVE_SLOTS - 1)) {
        void *q = sys.set[j];
        sys.set[j] = NULL;
        sys.set[live_slot(q, NULL)] = q;
    }
}

/* Whether this request counts, and whether it is the one refused. */
NOT_INSTRUMENTED static bool counted(const void *caller, size_t size) {
    if (sys.only_size)
        return sys.counting && size == sys.only_size && (uintptr_t)caller >= sys.libdw_lo &&
               (uintptr_t)caller < sys.libdw_hi;
    return sys.counting &&
           (sys.any_caller || ((const char *)caller >= __executable_start &&
                               (const char *)caller < etext));
}

NOT_INSTRUMENTED static bool refuse(void) {
    ++sys.requests;
    if (sys.fail_at == 0 || sys.requests < sys.fail_at ||
        (sys.requests > sys.fail_at && !sys.refuse_rest))
        return false;
    sys.refused++;
    errno = ENOMEM;
    return true;
}

/* A granted request's end: the block is in the set, and errno ENOMEM if it
 * is the errno_at-th (POSIX leaves errno unspecified after a success). */
NOT_INSTRUMENTED static void *granted(bool c, void *p) {
    if (c && p) {
        live_add(p);
        if (sys.requests == sys.errno_at)
            errno = ENOMEM;
    }
    return p;
}

NOT_INSTRUMENTED void *malloc(size_t n) {
    bool c = counted(__builtin_return_address(0), n);
    if (c && refuse())
        return NULL;
    return granted(c, REAL_MALLOC(n));
}

NOT_INSTRUMENTED void *calloc(size_t n, size_t size) {
    bool c = counted(__builtin_return_address(0), n * size);
    if (c && refuse())
        return NULL;
    return granted(c, REAL_CALLOC(n, size));
}

NOT_INSTRUMENTED void *realloc(void *ptr, size_t n) {
    if (ptr && n == 0) {
        live_remove(ptr);
        return REAL_REALLOC(ptr, n);
    }
    bool c = counted(__builtin_return_address(0), n);
    if (c && refuse())
        return NULL;
    void *p = REAL_REALLOC(ptr, n);
    if (p)
        live_remove(ptr);
    return granted(c, p);
}

NOT_INSTRUMENTED void free(void *p) {
    live_remove(p);
    REAL_FREE(p);
}

NOT_INSTRUMENTED char *strdup(const char *s) {
    size_t n = strlen(s) + 1;
    bool c = counted(__builtin_return_address(0), n);
    if (c && refuse())
        return NULL;
    char *p = REAL_MALLOC(n);
    if (p)
        memcpy(p, s, n);
    return granted(c, p);
}

/* mmap of a file, refused with ENOMEM once armed (a process at
 * vm.max_map_count, or at its address-space limit): libelf then reads the
 * file instead, and answers in full. */
void *__mmap(void *, size_t, int, int, int, off_t);
static struct { bool refuse; size_t refused; } maps;

NOT_INSTRUMENTED void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (maps.refuse && fd >= 0) {
        maps.refused++;
        errno = ENOMEM;
        return MAP_FAILED;
    }
    return __mmap(addr, len, prot, flags, fd, off);
}

/* Counts requests from now on and refuses the nth (0: none). */
static void arm(size_t n) {
    sys.requests = sys.refused = 0;
    sys.fail_at = n;
    sys.counting = true;
}

static void disarm(void) { sys.counting = false; }

/* The heap's memory, out of the test's reach. */
static void *heap_fn(void *ud, void *ptr, size_t old_size, size_t new_size) {
    (void)ud, (void)old_size;
    if (new_size == 0) {
        REAL_FREE(ptr);
        return NULL;
    }
    return REAL_REALLOC(ptr, new_size);
}

/* ------------------------------------------------------------- text */

/* Every statistic of every key, with all frames, and the dump's bytes
 * (with_dump: they follow the order traces had in the heap's tables). */
static char *snapshot_text(const rc_snapshot *s, bool with_dump) {
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ck_assert_ptr_nonnull(f);
    fprintf(f, "traces %zu\n", rc_snapshot_trace_count(s));
    for (int key = RC_KEY_FILENAME; key <= RC_KEY_TRACEBACK; key++)
        for (int cumulative = 0; cumulative < 2 - (key == RC_KEY_TRACEBACK); cumulative++) {
            size_t n;
            rc_statistic *st = rc_snapshot_statistics(s, key, cumulative, &n);
            ck_assert_ptr_nonnull(st);
            for (size_t i = 0; i < n; i++) {
                const rc_traceback *tb = &st[i].traceback;
                fprintf(f, "%d%d %zu %zu", key, cumulative, st[i].size, st[i].count);
                for (unsigned k = 0; k < tb->nframe; k++)
                    fprintf(f, " %s:%u:%s", tb->frames[k].filename, tb->frames[k].lineno,
                            tb->frames[k].function ? tb->frames[k].function : "-");
                fputc('\n', f);
            }
            free(st);
        }
    char path[] = "/tmp/rcgc_sysallocfail_XXXXXX";
    int fd = with_dump ? mkstemp(path) : -1;
    if (!with_dump) {
        fclose(f);
        return text;
    }
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    FILE *in = fopen(path, "rb");
    ck_assert_ptr_nonnull(in);
    for (int c; (c = getc(in)) != EOF;)
        fprintf(f, "%02x", c);
    fclose(in);
    unlink(path);
    fclose(f);
    return text;
}

/* ---------------------------------------------------------- filters */

static const rc_frame frames_a[] = {{"src/a.py", 2, "f"}, {"lib/b.py", 4, NULL}};
static const rc_frame frames_b[] = {{"src/sub/c.pyc", 7, NULL}, {"zz/d.py", 1, "g"}};

/* A snapshot (traceback limit 2) of a few traces in a few files. */
static rc_snapshot *small_snapshot(void) {
    rc_heap *h = rc_heap_new_with(heap_fn, NULL);
    ck_assert_int_eq(rc_tracemalloc_start(h, 2), 0);
    scripted_frames sf;
    rc_tracemalloc_set_frame_provider(h, scripted_provider, &sf);
    for (unsigned i = 0; i < 40; i++) {
        sf = (scripted_frames){i % 3 ? frames_a : frames_b, 2};
        ck_assert_int_eq(rc_tracemalloc_track(h, i % 2, 0x1000 + i, 10 + i), 0);
    }
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(s);
    rc_heap_free(h);
    return s;
}

/* A pattern with two bracket sets: the second set's room, or its
 * tokens', can be refused after the first set's was given. */
START_TEST(filter_pattern_failure_frees_it) {
    rc_snapshot *s = small_snapshot();
    char *before = snapshot_text(s, true);
    const rc_filter filters[] = {
        {.inclusive = true, .filename_pattern = "[a-s]*/[!q-z]*.py", .domain = -1},
        {.inclusive = false, .filename_pattern = "*/[d]*", .all_frames = true, .domain = -1},
    };
    rc_snapshot *good = rc_snapshot_filter_traces(s, filters, 2);
    ck_assert_ptr_nonnull(good);
    ck_assert_uint_gt(rc_snapshot_trace_count(good), 0);
    ck_assert_uint_lt(rc_snapshot_trace_count(good), rc_snapshot_trace_count(s));
    char *want = snapshot_text(good, true);
    rc_snapshot_free(good);
    size_t failures = 0;
    for (size_t n = 1;; n++) {
        arm(n);
        rc_snapshot *d = rc_snapshot_filter_traces(s, filters, 2);
        int err = errno;
        disarm();
        if (d == NULL) {
            ck_assert_uint_eq(sys.refused, 1);
            ck_assert_int_eq(err, ENOMEM);
            ck_assert_msg(sys.live == 0, "request %zu refused: %zu blocks left", n, sys.live);
            failures++;
            continue;
        }
        char *got = snapshot_text(d, true);
        ck_assert_str_eq(got, want);
        free(got);
        rc_snapshot_free(d);
        ck_assert_uint_eq(sys.live, 0);
        if (sys.refused == 0)
            break;
    }
    ck_assert_uint_gt(failures, 4);
    char *after = snapshot_text(s, true);
    ck_assert_str_eq(after, before);
    free(after);
    free(before);
    free(want);
    rc_snapshot_free(s);
}
END_TEST

/* ------------------------------------------------------ resolution */

static const rc_type leaf_type = {"leaf", 24, NULL, NULL, NULL, NULL};

static __attribute__((noinline)) void *leaf(rc_heap *h, int i) {
    void *p = i % 2 ? rc_new(h, &leaf_type) : (rc_malloc)(h, 40);
    __asm__ volatile("" ::: "memory");
    return p;
}

static __attribute__((noinline)) void *middle(rc_heap *h, int depth, int i) {
    void *p = depth ? middle(h, depth - 1, i) : leaf(h, i);
    __asm__ volatile("" ::: "memory");
    return p;
}

/* A traced heap (16 frames) holding blocks made at a few depths, not yet
 * resolved; blocks[] receives them. */
static rc_heap *traced_heap(void **blocks, int n) {
    rc_heap *h = rc_heap_new_with(heap_fn, NULL);
    ck_assert_int_eq(rc_tracemalloc_start(h, 16), 0);
    for (int i = 0; i < n; i++) {
        blocks[i] = middle(h, i % 4, i);
        ck_assert_ptr_nonnull(blocks[i]);
    }
    return h;
}

static void drop_blocks(rc_heap *h, void **blocks, int n) {
    for (int i = 0; i < n; i++)
        if (i % 2)
            rc_decref(blocks[i]);
        else
            rc_free(h, blocks[i]);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}

/* Takes a snapshot of a new traced heap with its nth system request and
 * every later one refused (0: none; a resolution that fails with ENOMEM
 * is tried once more, which a single refusal would not fail), then, if
 * that failed with ENOMEM, again, with memory; the
 * snapshot's text. *refused: whether a request was refused, *failed:
 * whether the first snapshot failed. No block is left once the heap (its
 * resolver) is freed. */
static char *snapshot_refused(size_t n, bool *refused, bool *failed) {
    void *blocks[16];
    rc_heap *h = traced_heap(blocks, 16);
    arm(n);
    sys.refuse_rest = true;
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    int err = errno;
    *refused = sys.refused > 0;
    disarm();
    sys.refuse_rest = false;
    *failed = s == NULL;
    if (s == NULL) {
        ck_assert_int_eq(err, ENOMEM);
        s = rc_tracemalloc_take_snapshot(h); /* the same, with memory */
        ck_assert_ptr_nonnull(s);
    }
    char *text = snapshot_text(s, false);
    rc_snapshot_free(s);
    drop_blocks(h, blocks, 16);
    ck_assert_msg(sys.live == 0, "request %zu refused: %zu blocks left", n, sys.live);
    return text;
}

/* A snapshot whose resolution of return addresses is refused memory (a
 * copy of a name, the resolver's tables): NULL + ENOMEM, and nothing of
 * it is kept: the next snapshot is whole, not "<unknown>" frames. Run on
 * the copy without .debug_aranges (noaranges.test_sysallocfail.*), the
 * requests include those of the index of units (src/frames.c): refused,
 * the units are walked instead and the snapshot is the same. */
START_TEST(resolution_failure_is_not_kept) {
    bool refused = false, failed;
    char *want = NULL;
    size_t failures = 0;
    for (size_t n = 0; n < 2 || refused; n++) { /* n 0: the text wanted */
        char *got = snapshot_refused(n, &refused, &failed);
        if (want == NULL)
            want = got;
        ck_assert_msg(strcmp(got, want) == 0, "request %zu refused: the snapshot is\n%s", n, got);
        failures += failed;
        if (got != want)
            free(got);
    }
    ck_assert_ptr_nonnull(strstr(want, ":middle "));
    ck_assert_uint_gt(failures, 4);
    free(want);
}
END_TEST

/* A malloc that succeeds may leave ENOMEM in errno (glibc's does with
 * GLIBC_TUNABLES=glibc.malloc.hugetlb=2 when a huge page fails and it
 * falls back): rcgc reads a libdw call that answers nothing with errno
 * ENOMEM as a shortage, and a snapshot failed with ENOMEM. A resolution
 * that fails so is tried again: with every 5th request of a snapshot
 * (libc's and libdw's too) in turn granted leaving ENOMEM, the snapshot
 * is the one taken without. */
START_TEST(errno_left_by_granted_requests) {
    char *want = NULL;
    size_t reached = 1;
    sys.any_caller = true;
    for (size_t n = 0; n <= reached; n += 5) {
        void *blocks[16];
        rc_heap *h = traced_heap(blocks, 16);
        arm(0);
        sys.errno_at = n;
        rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
        int err = errno;
        reached = sys.requests;
        disarm();
        sys.errno_at = 0;
        ck_assert_msg(s != NULL, "request %zu left ENOMEM: %s", n, strerror(err));
        char *got = snapshot_text(s, false);
        rc_snapshot_free(s);
        drop_blocks(h, blocks, 16);
        if (want == NULL)
            want = got;
        ck_assert_msg(strcmp(got, want) == 0, "request %zu left ENOMEM: the snapshot is\n%s", n,
                      got);
        if (got != want)
            free(got);
    }
    sys.any_caller = false;
    ck_assert_ptr_nonnull(strstr(want, ":middle "));
    free(want);
}
END_TEST

/* The text of a snapshot of a new traced heap, taken with file mappings
 * refused or not; NULL when it failed (*err: its errno). */
static char *snapshot_maps(bool refuse, int *err) {
    void *blocks[16];
    rc_heap *h = traced_heap(blocks, 16);
    maps.refuse = refuse;
    maps.refused = 0;
    errno = 0;
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    *err = errno;
    maps.refuse = false;
    char *text = s ? snapshot_text(s, false) : NULL;
    rc_snapshot_free(s);
    drop_blocks(h, blocks, 16);
    return text;
}

/* libelf maps each file it reads, and reads it when the mapping is
 * refused: the ENOMEM that mmap left in errno is no shortage of malloc,
 * and the snapshot is the one taken with mappings. */
START_TEST(resolution_with_file_maps_refused) {
    char *want = NULL, *got = NULL;
    int err = 0;
    for (int refuse = 0; refuse < 2; refuse++)
        *(refuse ? &got : &want) = snapshot_maps(refuse, &err);
    ck_assert_ptr_nonnull(want);
    ck_assert_uint_gt(maps.refused, 0);
    ck_assert_msg(got != NULL, "snapshot failed: %s", strerror(err));
    ck_assert_msg(strcmp(got, want) == 0, "the snapshot is\n%.2000s", got);
    free(got);
    free(want);
}
END_TEST

#ifdef RCGC_HAVE_LIBDW
static int find_libdw(struct dl_phdr_info *info, size_t size, void *arg) {
    (void)size, (void)arg;
    if (strstr(info->dlpi_name, "/libdw") == NULL)
        return 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            sys.libdw_lo = info->dlpi_addr + ph->p_vaddr;
            sys.libdw_hi = sys.libdw_lo + ph->p_memsz;
        }
    }
    return 1;
}
#endif

/* libdw takes the blocks of its records (a page less four pointers, in
 * elfutils 0.188) from malloc and, refused one, calls the Dwarf's
 * out-of-memory handler, whose default exits the program ("libdw: Cannot
 * allocate memory"): a snapshot taken near the process's `ulimit -v`
 * ended it. Each of those requests refused in turn: the snapshot fails
 * with ENOMEM, the next one is whole, and no such block is left. What
 * libdw had allocated for the call it loses (LeakSanitizer is not told).
 * Every other request of libdw's succeeds: elfutils 0.188 crashes on some
 * of their failures (docs/tracemalloc.md). */
START_TEST(libdw_records_refused) {
#ifdef RCGC_HAVE_LIBDW
    dl_iterate_phdr(find_libdw, NULL);
    ck_assert_msg(sys.libdw_hi > sys.libdw_lo, "libdw is not loaded");
    sys.only_size = (size_t)sysconf(_SC_PAGESIZE) - 4 * sizeof(void *);
    bool refused = false, failed;
    char *want = NULL;
    size_t failures = 0, n;
    for (n = 0; n < 2 || refused; n++) { /* n 0: the text wanted */
#ifdef TEST_ASAN
        __lsan_disable();
#endif
        char *got = snapshot_refused(n, &refused, &failed);
#ifdef TEST_ASAN
        __lsan_enable();
#endif
        if (want == NULL)
            want = got;
        ck_assert_msg(strcmp(got, want) == 0, "request %zu refused: the snapshot is\n%s", n, got);
        ck_assert_int_eq(failed, refused);
        failures += failed;
        if (got != want)
            free(got);
    }
    sys.only_size = 0;
    ck_assert_ptr_nonnull(strstr(want, ":middle "));
    ck_assert_uint_gt(failures, 0);
    free(want);
#endif
}
END_TEST

/* ------------------------------------------------------------ walks */

static __attribute__((noinline)) void *one_site(rc_heap *h) {
    void *p = rc_new(h, &leaf_type);
    __asm__ volatile("" ::: "memory");
    return p;
}

/* A walk through code loaded after the table of loaded code was made (at
 * rc_tracemalloc_start) needs a new one (malloc): here a plugin's
 * (tests/programs/walk_plugin.c) calling alloc_in_host. Refused: the
 * traced allocation fails with ENOMEM, as when the tracer's own memory is
 * short; it is not made with a traceback cut to its call site, nor are the
 * next ones at that site. */
static void *alloc_in_host(void *h) {
    void *p = one_site(h);
    __asm__ volatile("" ::: "memory");
    return p;
}

START_TEST(walk_failure_fails_the_allocation) {
    rc_heap *h = rc_heap_new_with(heap_fn, NULL);
    ck_assert_int_eq(rc_tracemalloc_start(h, 16), 0);
    void *dl = dlopen(RCGC_WALK_PLUGIN, RTLD_NOW | RTLD_LOCAL);
    ck_assert_ptr_nonnull(dl);
    void *(*call)(void *(*)(void *), void *, int);
    *(void **)&call = dlsym(dl, "plugin_call");
    ck_assert_ptr_nonnull(call);
    void *p[5];
    int err[5];
    arm(1);
    for (int i = 0; i < 5; i++) {
        errno = 0;
        p[i] = call(alloc_in_host, h, 0);
        err[i] = errno;
    }
    disarm();
    ck_assert_uint_eq(sys.refused, 1);
    ck_assert_ptr_null(p[0]);
    ck_assert_int_eq(err[0], ENOMEM);
    for (int i = 1; i < 5; i++) {
        ck_assert_ptr_nonnull(p[i]);
        const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p[i]);
        ck_assert_ptr_nonnull(tb);
        ck_assert_msg(tb->nframe >= 4, "allocation %d: %u frames", i, tb->nframe);
        ck_assert_str_eq(tb->frames[1].function, "alloc_in_host");
        ck_assert_str_eq(tb->frames[2].function, "down");
        rc_decref(p[i]);
    }
    ck_assert_uint_eq(rc_heap_free(h), 0);
    dlclose(dl);
}
END_TEST

/* The first tracer start of a program linked with librcgc.a finds the
 * library's own code through libdw; libdw refused memory at once
 * (dwfl_begin), and all the start asked after: the start fails with
 * ENOMEM, the heap not tracing, and a later one tries again: rcgc's frames
 * never show in a traceback (none of the library's source directory). */
START_TEST(library_lookup_failure_is_tried_again) {
    rc_heap *h = rc_heap_new_with(heap_fn, NULL);
    sys.any_caller = true;
    arm(1);
    sys.refuse_rest = true; /* a lookup short of memory looks twice */
    errno = 0;
    int started = rc_tracemalloc_start(h, 16), err = errno;
    disarm();
    sys.refuse_rest = false;
    sys.any_caller = false;
    ck_assert_uint_ge(sys.refused, 1);
#ifdef RCGC_HAVE_LIBDW
    ck_assert_uint_eq(sys.refused, 2); /* dwfl_begin, in each look */
    ck_assert_int_eq(started, -1);
    ck_assert_int_eq(err, ENOMEM);
    ck_assert(!rc_tracemalloc_is_tracing(h));
#else /* the symbol table is read with mmap: the refusal was another's */
    if (started == 0)
        rc_tracemalloc_stop(h);
#endif
    ck_assert_int_eq(rc_tracemalloc_start(h, 16), 0);
    void *p = one_site(h);
    ck_assert_ptr_nonnull(p);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_ge(tb->nframe, 3);
    ck_assert_str_eq(tb->frames[0].function, "one_site");
    ck_assert_str_eq(tb->frames[1].function, "library_lookup_failure_is_tried_again_fn");
    for (unsigned i = 0; i < tb->nframe; i++)
        ck_assert_msg(!in_library_source(tb->frames[i].filename), "frame %u is %s:%u", i,
                      tb->frames[i].filename, tb->frames[i].lineno);
    rc_decref(p);
    ck_assert_uint_eq(rc_heap_free(h), 0);
}
END_TEST

/* The first tracer start's lookup of the library's code with the nth
 * request (libc's and libdw's too) granted leaving ENOMEM in errno, in a
 * child of its own for each n (the lookup is made once per process): the
 * start succeeds (the lookup is tried again), where it failed with ENOMEM.
 * What the child exits with: 0, 1 when the start failed, 2 when the nth
 * request was not reached. */
static int start_with_errno_left(size_t n) {
    rc_heap *h = rc_heap_new_with(heap_fn, NULL);
    sys.any_caller = true;
    arm(0);
    sys.errno_at = n;
    int started = rc_tracemalloc_start(h, 16);
    bool reached = sys.requests >= n;
    disarm();
    return started != 0 ? 1 : reached ? 0 : 2;
}

START_TEST(library_lookup_with_errno_left) {
    int status = 0;
    size_t n;
    for (n = 1; n < 100000; n += 3) {
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0)
            _exit(start_with_errno_left(n));
        while (waitpid(pid, &status, 0) < 0)
            ck_assert_int_eq(errno, EINTR);
        ck_assert(WIFEXITED(status));
        ck_assert_msg(WEXITSTATUS(status) != 1, "request %zu left ENOMEM: the start failed", n);
        if (WEXITSTATUS(status) == 2)
            break;
    }
    ck_assert_uint_gt(n, 10);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("sysallocfail");
    add_case(s, tcase_create("filter_pattern_failure_frees_it"), filter_pattern_failure_frees_it);
    add_case(s, tcase_create("resolution_failure_is_not_kept"), resolution_failure_is_not_kept);
    add_case(s, tcase_create("errno_left_by_granted_requests"), errno_left_by_granted_requests);
    add_case(s, tcase_create("resolution_with_file_maps_refused"),
             resolution_with_file_maps_refused);
    add_case(s, tcase_create("libdw_records_refused"), libdw_records_refused);
    add_case(s, tcase_create("walk_failure_fails_the_allocation"),
             walk_failure_fails_the_allocation);
    add_case(s, tcase_create("library_lookup_with_errno_left"), library_lookup_with_errno_left);
    add_case(s, tcase_create("library_lookup_failure_is_tried_again"),
             library_lookup_failure_is_tried_again);
    return s;
}
