/*
 * frames_nolibdw.c — tracebacks from a library built without libdw
 * (tests/CMakeLists.txt links this suite with rcgc_nolibdw): a user whose
 * machine has no elfutils headers gets this build. The documented
 * behaviour (docs/design.md, "Tracebacks"): a call site the allocation
 * macros pass keeps its file, line and function; a return address is named
 * by dladdr, as its exported function (the name stands for the file too,
 * line 0), or as "binary+0xOFFSET" in code no exported symbol covers.
 * This executable exports its functions (ENABLE_EXPORTS), so dladdr sees
 * the non-static ones.
 */
#define _GNU_SOURCE /* dladdr */
#include "check_main.h"
#include "test_support.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>

static rc_heap *h;
void *volatile sink;

static void setup(void) {
    h = rc_heap_new();
    ck_assert_ptr_nonnull(h);
    ck_assert_int_eq(rc_tracemalloc_start(h, 8), 0);
}

static void teardown(void) {
    rc_heap_free(h);
}

/* Exported helpers: frames[0] comes from unwinding (the function, not the
 * macro), so every frame of the traceback is dladdr's. */
__attribute__((noinline)) void *nolibdw_leaf(rc_heap *hp) {
    void *p = (rc_malloc)(hp, 40);
    sink = p;
    return p;
}
__attribute__((noinline)) void *nolibdw_middle(rc_heap *hp) {
    void *p = nolibdw_leaf(hp);
    sink = p;
    return p;
}

START_TEST(exported_functions_named) {
    void *p = nolibdw_middle(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_ge(tb->nframe, 3);
    ck_assert_str_eq(tb->frames[0].function, "nolibdw_leaf");
    ck_assert_str_eq(tb->frames[0].filename, "nolibdw_leaf");
    ck_assert_uint_eq(tb->frames[0].lineno, 0);
    ck_assert_str_eq(tb->frames[1].function, "nolibdw_middle");
    ck_assert_str_eq(tb->frames[1].filename, "nolibdw_middle");
    ck_assert_uint_eq(tb->frames[1].lineno, 0);
    rc_free(h, p);
}
END_TEST

/* A static function is in no dynamic symbol: "binary+0xOFFSET" (the
 * file's name), the return address less the binary's load address, which
 * lands inside it. */
__attribute__((noinline)) static void *static_leaf(rc_heap *hp) {
    void *p = (rc_malloc)(hp, 24);
    sink = p;
    return p;
}

START_TEST(static_function_is_an_offset) {
    void *p = static_leaf(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    Dl_info self;
    ck_assert(dladdr((void *)static_leaf, &self) != 0 && self.dli_fname != NULL);
    ck_assert_ptr_null(self.dli_sname); /* the premise: dladdr does not name it */
    ck_assert_ptr_null(tb->frames[0].function);
    ck_assert_uint_eq(tb->frames[0].lineno, 0);
    const char *name = tb->frames[0].filename, *binary = strrchr(self.dli_fname, '/');
    binary = binary ? binary + 1 : self.dli_fname; /* the file's name, without its directory */
    size_t n = strlen(binary);
    ck_assert_int_eq(strncmp(name, binary, n), 0);
    ck_assert_int_eq(strncmp(name + n, "+0x", 3), 0);
    unsigned long offset = strtoul(name + n + 3, NULL, 16);
    unsigned long start = (unsigned long)((uintptr_t)static_leaf - (uintptr_t)self.dli_fbase);
    ck_assert_uint_gt(offset, start); /* a return address, after the call */
    ck_assert_uint_lt(offset, start + 256);
    rc_free(h, p);
}
END_TEST

/* The macros' call site needs no debug information: file, line and
 * function as written, the caller after it from dladdr. */
__attribute__((noinline)) void *nolibdw_by_macro(rc_heap *hp) {
    void *p = rc_malloc(hp, 16); /* line below */
    sink = p;
    return p;
}
enum { MACRO_LINE = __LINE__ - 4 };

START_TEST(call_site_keeps_file_and_line) {
    void *p = nolibdw_by_macro(h);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_uint_ge(tb->nframe, 2);
    ck_assert_str_eq(tb->frames[0].filename, __FILE__);
    ck_assert_uint_eq(tb->frames[0].lineno, MACRO_LINE);
    ck_assert_str_eq(tb->frames[0].function, "nolibdw_by_macro");
    /* its caller is this static test function: an offset, no line */
    ck_assert_ptr_null(tb->frames[1].function);
    ck_assert_uint_eq(tb->frames[1].lineno, 0);
    ck_assert_ptr_nonnull(strstr(tb->frames[1].filename, "+0x"));
    rc_free(h, p);
}
END_TEST

/* Snapshots group by those names as by any file name. */
START_TEST(statistics_group_by_name) {
    void *a = nolibdw_middle(h), *b = nolibdw_middle(h), *c = nolibdw_leaf(h);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(s);
    size_t n = 0;
    rc_statistic *stats = rc_snapshot_statistics(s, RC_KEY_FILENAME, false, &n);
    ck_assert_ptr_nonnull(stats);
    ck_assert_uint_eq(n, 1); /* frames[0] of all three: nolibdw_leaf */
    ck_assert_str_eq(stats[0].traceback.frames[0].filename, "nolibdw_leaf");
    ck_assert_uint_eq(stats[0].count, 3);
    ck_assert_uint_eq(stats[0].size, 120);
    free(stats);
    rc_snapshot_free(s);
    rc_free(h, a);
    rc_free(h, b);
    rc_free(h, c);
}
END_TEST

/* The library's code is found in the program's symbol table, read when
 * the first tracer starts: without a descriptor to open the file the start
 * fails, and a later one reads it (it started, and every traceback of the
 * process began in the library). */
START_TEST(start_without_descriptors_fails) {
    rc_heap *fresh = rc_heap_new();
    ck_assert_ptr_nonnull(fresh);
    start_after_descriptors_ran_out(fresh, 8);
    void *p = nolibdw_middle(fresh);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(fresh, p);
    ck_assert_ptr_nonnull(tb);
    ck_assert_str_eq(tb->frames[0].function, "nolibdw_leaf");
    ck_assert_str_eq(tb->frames[1].function, "nolibdw_middle");
    rc_free(fresh, p);
    ck_assert_uint_eq(rc_heap_free(fresh), 0);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("frames_nolibdw");
    add_case_fixture(s, tcase_create("exported_functions_named"), exported_functions_named, setup,
                     teardown);
    add_case_fixture(s, tcase_create("static_function_is_an_offset"), static_function_is_an_offset,
                     setup, teardown);
    add_case_fixture(s, tcase_create("call_site_keeps_file_and_line"),
                     call_site_keeps_file_and_line, setup, teardown);
    add_case_fixture(s, tcase_create("statistics_group_by_name"), statistics_group_by_name, setup,
                     teardown);
    add_case(s, tcase_create("start_without_descriptors_fails"), start_without_descriptors_fails);
    return s;
}
