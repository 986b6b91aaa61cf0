/*
 * test_snapshot.c — snapshots against CPython's Lib/test/test_tracemalloc.py:
 * its synthetic snapshots, rebuilt through rc_tracemalloc_track and a frame
 * provider, give exactly its statistics, cumulative statistics, compare_to
 * and filter results; fnmatch against python3; dump and load, including
 * every truncated and corrupted file.
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------- building snapshots */

typedef struct raw_trace {
    unsigned domain;
    size_t size;
    int nframe;
    rc_frame frames[2]; /* most recent first, as _tracemalloc gives them */
} raw_trace;

/* A snapshot (traceback limit 2) holding exactly the traces t[0..n). */
static rc_snapshot *make_snapshot(const raw_trace *t, size_t n) {
    rc_heap *h = rc_heap_new();
    ck_assert_int_eq(rc_tracemalloc_start(h, 2), 0);
    scripted_frames sf;
    rc_tracemalloc_set_frame_provider(h, scripted_provider, &sf);
    for (size_t i = 0; i < n; i++) {
        sf = (scripted_frames){t[i].frames, t[i].nframe};
        ck_assert_int_eq(rc_tracemalloc_track(h, t[i].domain, 0x1000 + i, t[i].size), 0);
    }
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(rc_snapshot_trace_count(s), n);
    rc_heap_free(h);
    return s;
}

#define F(file, line) {file, line, NULL}
#define T2(d, size, f0, f1) {d, size, 2, {f0, f1}}
#define T1(d, size, f0) {d, size, 1, {f0}}

/* test_tracemalloc.create_snapshots() */
static const raw_trace raw1[] = {
    T2(0, 10, F("a.py", 2), F("b.py", 4)), T2(0, 10, F("a.py", 2), F("b.py", 4)),
    T2(0, 10, F("a.py", 2), F("b.py", 4)), T2(1, 2, F("a.py", 5), F("b.py", 4)),
    T1(2, 66, F("b.py", 1)),               T1(3, 7, F("<unknown>", 0)),
};
static const raw_trace raw2[] = {
    T2(0, 10, F("a.py", 2), F("b.py", 4)), T2(0, 10, F("a.py", 2), F("b.py", 4)),
    T2(0, 10, F("a.py", 2), F("b.py", 4)), T2(2, 2, F("a.py", 5), F("b.py", 4)),
    T2(2, 5000, F("a.py", 5), F("b.py", 4)), T1(4, 400, F("c.py", 578)),
};
#define N(a) (sizeof(a) / sizeof((a)[0]))

/* "a.py:2<b.py:4": a traceback's frames, most recent first. */
static char *tb_text(const rc_traceback *tb, char *buf, size_t len) {
    size_t off = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < tb->nframe; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s:%u", i ? "<" : "",
                                tb->frames[i].filename, tb->frames[i].lineno);
    return buf;
}

typedef struct want_stat { const char *tb; size_t size, count; } want_stat;
typedef struct want { const char *tb; size_t size, count; long long size_diff, count_diff; } want;

static void check_stats(rc_statistic *st, size_t n, const want_stat *w, size_t nw) {
    char buf[256];
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(n, nw);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(tb_text(&st[i].traceback, buf, sizeof buf), w[i].tb);
        ck_assert_uint_eq(st[i].size, w[i].size);
        ck_assert_uint_eq(st[i].count, w[i].count);
        ck_assert_uint_eq(st[i].traceback.total_nframe, 0); /* Python's None */
    }
    free(st);
}

static void check_diffs(rc_statistic_diff *d, size_t n, const want *w, size_t nw) {
    char buf[256];
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, nw);
    for (size_t i = 0; i < n; i++) {
        ck_assert_str_eq(tb_text(&d[i].traceback, buf, sizeof buf), w[i].tb);
        ck_assert_uint_eq(d[i].size, w[i].size);
        ck_assert_int_eq(d[i].size_diff, w[i].size_diff);
        ck_assert_uint_eq(d[i].count, w[i].count);
        ck_assert_int_eq(d[i].count_diff, w[i].count_diff);
    }
    free(d);
}

#define STATS(s, key, cum, ...)                                                                    \
    do {                                                                                           \
        size_t n_;                                                                                 \
        const want_stat w_[] = {__VA_ARGS__};                                                      \
        rc_statistic *st_ = rc_snapshot_statistics(s, key, cum, &n_);                              \
        check_stats(st_, n_, w_, N(w_));                                                           \
    } while (0)
#define DIFFS(s, old, key, ...)                                                                    \
    do {                                                                                           \
        size_t n_;                                                                                 \
        const want w_[] = {__VA_ARGS__};                                                           \
        rc_statistic_diff *d_ = rc_snapshot_compare_to(s, old, key, false, &n_);                   \
        check_diffs(d_, n_, w_, N(w_));                                                            \
    } while (0)

/* ------------------------------------------------------ CPython's tests */

START_TEST(group_by_line) {
    rc_snapshot *s1 = make_snapshot(raw1, N(raw1)), *s2 = make_snapshot(raw2, N(raw2));
    STATS(s1, RC_KEY_LINENO, false, {"b.py:1", 66, 1}, {"a.py:2", 30, 3}, {"<unknown>:0", 7, 1},
          {"a.py:5", 2, 1});
    STATS(s2, RC_KEY_LINENO, false, {"a.py:5", 5002, 2}, {"c.py:578", 400, 1}, {"a.py:2", 30, 3});
    DIFFS(s2, s1, RC_KEY_LINENO, {"a.py:5", 5002, 2, 5000, 1}, {"c.py:578", 400, 1, 400, 1},
          {"b.py:1", 0, 0, -66, -1}, {"<unknown>:0", 0, 0, -7, -1}, {"a.py:2", 30, 3, 0, 0});
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
}
END_TEST

START_TEST(group_by_file) {
    rc_snapshot *s1 = make_snapshot(raw1, N(raw1)), *s2 = make_snapshot(raw2, N(raw2));
    STATS(s1, RC_KEY_FILENAME, false, {"b.py:0", 66, 1}, {"a.py:0", 32, 4}, {"<unknown>:0", 7, 1});
    STATS(s2, RC_KEY_FILENAME, false, {"a.py:0", 5032, 5}, {"c.py:0", 400, 1});
    DIFFS(s2, s1, RC_KEY_FILENAME, {"a.py:0", 5032, 5, 5000, 1}, {"c.py:0", 400, 1, 400, 1},
          {"b.py:0", 0, 0, -66, -1}, {"<unknown>:0", 0, 0, -7, -1});
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
}
END_TEST

START_TEST(group_by_traceback) {
    rc_snapshot *s1 = make_snapshot(raw1, N(raw1)), *s2 = make_snapshot(raw2, N(raw2));
    STATS(s1, RC_KEY_TRACEBACK, false, {"b.py:1", 66, 1}, {"a.py:2<b.py:4", 30, 3},
          {"<unknown>:0", 7, 1}, {"a.py:5<b.py:4", 2, 1});
    STATS(s2, RC_KEY_TRACEBACK, false, {"a.py:5<b.py:4", 5002, 2}, {"c.py:578", 400, 1},
          {"a.py:2<b.py:4", 30, 3});
    DIFFS(s2, s1, RC_KEY_TRACEBACK, {"a.py:5<b.py:4", 5002, 2, 5000, 1},
          {"c.py:578", 400, 1, 400, 1}, {"b.py:1", 0, 0, -66, -1}, {"<unknown>:0", 0, 0, -7, -1},
          {"a.py:2<b.py:4", 30, 3, 0, 0});
    size_t n = 7;
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_statistics(s1, RC_KEY_TRACEBACK, true, &n));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_compare_to(s1, s2, RC_KEY_TRACEBACK, true, &n));
    ck_assert_int_eq(errno, EINVAL);
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
}
END_TEST

START_TEST(group_by_cumulative) {
    rc_snapshot *s1 = make_snapshot(raw1, N(raw1)), *s2 = make_snapshot(raw2, N(raw2));
    STATS(s1, RC_KEY_FILENAME, true, {"b.py:0", 98, 5}, {"a.py:0", 32, 4}, {"<unknown>:0", 7, 1});
    STATS(s1, RC_KEY_LINENO, true, {"b.py:1", 66, 1}, {"b.py:4", 32, 4}, {"a.py:2", 30, 3},
          {"<unknown>:0", 7, 1}, {"a.py:5", 2, 1});
    size_t n;
    rc_statistic_diff *d = rc_snapshot_compare_to(s2, s1, RC_KEY_LINENO, true, &n);
    check_diffs(d, n,
                (const want[]){{"b.py:4", 5032, 5, 5000, 1}, {"a.py:5", 5002, 2, 5000, 1},
                               {"c.py:578", 400, 1, 400, 1}, {"b.py:1", 0, 0, -66, -1},
                               {"<unknown>:0", 0, 0, -7, -1}, {"a.py:2", 30, 3, 0, 0}},
                6);
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
}
END_TEST

/* Python orders file names by code point: a byte that is not UTF-8 is
 * U+DC80..U+DCFF (surrogateescape), after U+00E9 whatever the bytes say. */
START_TEST(order_of_names_not_utf8) {
    static const raw_trace raw[] = {T1(0, 8, F("\xc3\xa9.c", 1)), T1(0, 8, F("\x80.c", 1)),
                                    T1(0, 8, F("\xee\x80\x80.c", 1)), T1(0, 8, F("\xc3", 1))};
    rc_snapshot *s = make_snapshot(raw, N(raw));
    STATS(s, RC_KEY_FILENAME, false, {"\xee\x80\x80.c:0", 8, 1}, {"\xc3:0", 8, 1},
          {"\x80.c:0", 8, 1}, {"\xc3\xa9.c:0", 8, 1});
    rc_snapshot_free(s);
}
END_TEST

/* Recursion: Python adds a trace once per frame, so a line twice in one
 * traceback counts it twice. */
START_TEST(cumulative_counts_every_frame) {
    const raw_trace raw[] = {T2(0, 10, F("r.py", 3), F("r.py", 3)), T2(0, 1, F("r.py", 3), F("s.py", 9))};
    rc_snapshot *s = make_snapshot(raw, N(raw));
    STATS(s, RC_KEY_LINENO, true, {"r.py:3", 21, 3}, {"s.py:9", 1, 1});
    STATS(s, RC_KEY_FILENAME, true, {"r.py:0", 21, 3}, {"s.py:0", 1, 1});
    rc_snapshot_free(s);
}
END_TEST

/* What a snapshot holds, domain by domain: "d0 a.py:2<b.py:4 30/3; ..." */
static char *contents(const rc_snapshot *s, char *buf, size_t len) {
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    size_t off = 0;
    buf[0] = '\0';
    for (size_t d = 0; d < info.ndomains; d++) {
        rc_filter only = {true, NULL, 0, false, (int)info.domains[d].domain};
        rc_snapshot *part = rc_snapshot_filter_traces(s, &only, 1);
        size_t n;
        rc_statistic *st = rc_snapshot_statistics(part, RC_KEY_TRACEBACK, false, &n);
        for (size_t i = 0; i < n; i++) {
            char tb[128];
            off += (size_t)snprintf(buf + off, len - off, "%sd%u %s %zu/%zu", off ? "; " : "",
                                    info.domains[d].domain, tb_text(&st[i].traceback, tb, sizeof tb),
                                    st[i].size, st[i].count);
        }
        free(st);
        rc_snapshot_free(part);
    }
    free(info.domains);
    return buf;
}

static void check_filtered(const rc_snapshot *s, const rc_filter *f, size_t n, const char *want) {
    char buf[1024];
    rc_snapshot *r = rc_snapshot_filter_traces(s, f, n);
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(contents(r, buf, sizeof buf), want);
    rc_snapshot_free(r);
}

START_TEST(filter_traces) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    char before[1024], after[1024];
    contents(s, before, sizeof before);
    ck_assert_str_eq(before, "d0 a.py:2<b.py:4 30/3; d1 a.py:5<b.py:4 2/1; d2 b.py:1 66/1; "
                             "d3 <unknown>:0 7/1");
    rc_filter exclude_b = {false, "b.py", 0, false, -1};
    rc_filter a2 = {true, "a.py", 2, false, -1}, a5 = {true, "a.py", 5, false, -1};
    rc_snapshot *s3 = rc_snapshot_filter_traces(s, &exclude_b, 1);
    ck_assert_str_eq(contents(s3, after, sizeof after),
                     "d0 a.py:2<b.py:4 30/3; d1 a.py:5<b.py:4 2/1; d3 <unknown>:0 7/1");
    ck_assert_str_eq(contents(s, after, sizeof after), before); /* s untouched */
    check_filtered(s3, (rc_filter[]){a2, a5}, 2, "d0 a.py:2<b.py:4 30/3; d1 a.py:5<b.py:4 2/1");
    check_filtered(s, NULL, 0, before); /* no filter: a copy */
    rc_snapshot *copy = rc_snapshot_filter_traces(s, NULL, 0);
    ck_assert_ptr_ne(copy, s);
    ck_assert_uint_eq(rc_snapshot_trace_count(copy), 6);
    rc_snapshot_free(copy);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_filter_traces(s, NULL, 1));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_filter_traces(NULL, &a2, 1));
    ck_assert_int_eq(errno, EINVAL);
    rc_snapshot_free(s3);
    rc_snapshot_free(s);
}
END_TEST

START_TEST(filter_traces_domain) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    rc_filter f1 = {false, "a.py", 0, false, 1};
    check_filtered(s, &f1, 1, "d0 a.py:2<b.py:4 30/3; d2 b.py:1 66/1; d3 <unknown>:0 7/1");
    rc_filter f2 = {true, "a.py", 0, false, 1};
    check_filtered(s, &f2, 1, "d1 a.py:5<b.py:4 2/1");
    rc_filter d1 = {false, NULL, 0, false, 3}, d2 = {true, NULL, 0, false, 3};
    check_filtered(s, &d1, 1, "d0 a.py:2<b.py:4 30/3; d1 a.py:5<b.py:4 2/1; d2 b.py:1 66/1");
    check_filtered(s, &d2, 1, "d3 <unknown>:0 7/1");
    rc_filter any = {true, NULL, 0, false, -1};
    rc_snapshot *all = rc_snapshot_filter_traces(s, &any, 1);
    ck_assert_uint_eq(rc_snapshot_trace_count(all), 6);
    rc_snapshot_free(all);
    /* another negative domain is one no trace has (Python: DomainFilter(True, -5)) */
    rc_filter none = {true, NULL, 0, false, -5}, not_none = {false, NULL, 0, false, -5};
    rc_snapshot *empty = rc_snapshot_filter_traces(s, &none, 1);
    ck_assert_uint_eq(rc_snapshot_trace_count(empty), 0);
    rc_snapshot_free(empty);
    all = rc_snapshot_filter_traces(s, &not_none, 1);
    ck_assert_uint_eq(rc_snapshot_trace_count(all), 6);
    rc_snapshot_free(all);
    rc_filter a_none = {true, "a.py", 0, false, -5};
    empty = rc_snapshot_filter_traces(s, &a_none, 1);
    ck_assert_uint_eq(rc_snapshot_trace_count(empty), 0);
    rc_snapshot_free(empty);
    rc_snapshot_free(s);
}
END_TEST

START_TEST(filter_match_trace) {
    /* t1, t2, t3, unknown of test_filter_match_trace, in domains 1..4 */
    const raw_trace raw[] = {T2(1, 1, F("a.py", 2), F("b.py", 3)), T2(2, 1, F("b.py", 4), F("b.py", 5)),
                             T2(3, 1, F("c.py", 5), F("<unknown>", 0)), T1(4, 1, F("<unknown>", 0))};
    rc_snapshot *s = make_snapshot(raw, N(raw));
    const struct { rc_filter f; const char *kept; } cases[] = {
        {{true, "b.py", 0, true, -1}, "12"},     {{true, "b.py", 0, false, -1}, "2"},
        {{false, "b.py", 0, true, -1}, "34"},    {{false, "b.py", 0, false, -1}, "134"},
        {{false, "<unknown>", 0, false, -1}, "123"}, {{true, "<unknown>", 0, true, -1}, "34"},
        {{false, "<unknown>", 0, true, -1}, "12"},
        {{true, "b.py", 4, false, -1}, "2"},     {{true, "b.py", 5, false, -1}, ""},
        {{true, "b.py", 5, true, -1}, "2"},      {{false, "b.py", 3, true, -1}, "234"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        rc_snapshot *r = rc_snapshot_filter_traces(s, &cases[i].f, 1);
        rc_snapshot_info info;
        rc__snapshot_info(r, &info);
        char kept[8] = "";
        for (size_t d = 0; d < info.ndomains && d + 1 < sizeof kept; d++)
            kept[d] = (char)('0' + info.domains[d].domain);
        ck_assert_msg(strcmp(kept, cases[i].kept) == 0, "case %zu kept %s, want %s", i, kept,
                      cases[i].kept);
        free(info.domains);
        rc_snapshot_free(r);
    }
    rc_snapshot_free(s);
}
END_TEST

/* Filter._match_frame of python3 decides, for names x patterns (fnmatch,
 * the .pyc rule, UTF-8). */
static const char *const names[] = {
    "", "abc", "bbc", "xbc", "ax", "bx", "]x", "!x", "-x", "ex", "dx", "zx", "a.py", "a.pyc",
    "a.pyo", "dir/b/c.c", "\xc3\xa9", ("\xc3\xa9" "a"), "\xc3\xb1x", "\\x", "^x", "&x", "b-x", "aaxz",
    "cqa", "a[", "[", "aqq", "ABC", "a/b", "a\\b", "abcdcx", "abcdce", "abcbdefeg", "abcdd",
    /* not UTF-8 (Python: a code point U+DC80.. per byte): a surrogate, overlong
     * forms, past U+10FFFF, a lead byte above F4, a stray byte */
    "\xed\xa0\x80", "\xe0\x80\x80", "\xf0\x80\x80\x80", "\xf4\x90\x80\x80", "\xf8\x88\x80",
    "\x80x",
};
static const char *const patterns[] = {
    "", "*", "abc", "a*", "a*c", "?bc", "[abc]bc", "[!a]bc", "[a-c]*", "[z-a]x", "[!z-a]x",
    "[a-]x", "[]]x", "[!]]x", "[", "a[", "[a-c-e]x", "[c-a-e]x", "[z-a!]x", "[!c-a-e]x", "*.py",
    "*.pyc", "a.py", "a.pyc", "*/b/*", "\xc3\xa9*", "[\xc3\xa9-\xc3\xbc]x", "**a**", "[\\]x",
    "[a\\-z]x", "[--0]x", "[!-]x", "[^a]x", "[&]x", "[a-c]?[!x-z]*", "?", "??", "*x", "[!]",
    "a\\b", "a/b", "ABc", "a*cx", "a*c*e", "a*bd*eg", "[b-b]x", "[a-a-a]x", "[z-ab-c]x", "[!a-]x",
    "???", "????", "\xe0\x80\x80", "\xed*", "[\x80-\xff]x",
};

/* Under valgrind (RCGC_VALGRIND=1) python3 would run inside it for
 * minutes: the valgrind twin runs every filter without the oracle. */
START_TEST(fnmatch_against_python) {
    bool oracle = getenv("RCGC_VALGRIND") == NULL;
    char script[] = "/tmp/rcgc_fnmatch_XXXXXX";
    int fd = mkstemp(script);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import sys, tracemalloc\nnames = [");
    for (size_t i = 0; i < N(names); i++) {
        fprintf(f, "b'");
        for (const char *p = names[i]; *p; p++)
            fprintf(f, "\\x%02x", (unsigned char)*p);
        fprintf(f, "'.decode('utf-8', 'surrogateescape'),");
    }
    fprintf(f, "]\npats = [");
    for (size_t i = 0; i < N(patterns); i++) {
        fprintf(f, "b'");
        for (const char *p = patterns[i]; *p; p++)
            fprintf(f, "\\x%02x", (unsigned char)*p);
        fprintf(f, "'.decode('utf-8', 'surrogateescape'),");
    }
    fprintf(f, "]\nfor p in pats:\n    f = tracemalloc.Filter(True, p)\n"
               "    print(''.join('1' if f._match_frame(n, 0) else '0' for n in names))\n");
    fclose(f);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "python3 %s", script);
    FILE *py = oracle ? popen(cmd, "r") : NULL;
    ck_assert(!oracle || py != NULL);
    raw_trace *raw = calloc(N(names), sizeof *raw);
    for (size_t i = 0; i < N(names); i++)
        raw[i] = (raw_trace){(unsigned)i, 1, 1, {{names[i], 1, NULL}}};
    rc_snapshot *s = make_snapshot(raw, N(names));
    for (size_t p = 0; p < N(patterns); p++) {
        char want[128] = "", got[128];
        ck_assert(!oracle || fgets(want, sizeof want, py) != NULL);
        want[strcspn(want, "\n")] = '\0';
        memset(got, '0', N(names));
        got[N(names)] = '\0';
        rc_filter flt = {true, patterns[p], 0, false, -1};
        rc_snapshot *r = rc_snapshot_filter_traces(s, &flt, 1);
        rc_snapshot_info info;
        rc__snapshot_info(r, &info);
        for (size_t d = 0; d < info.ndomains; d++)
            got[info.domains[d].domain] = '1';
        free(info.domains);
        rc_snapshot_free(r);
        ck_assert_msg(!oracle || strcmp(got, want) == 0, "pattern '%s': got %s, python %s",
                      patterns[p], got, want);
    }
    if (py)
        ck_assert_int_eq(pclose(py), 0);
    unlink(script);
    rc_snapshot_free(s);
    free(raw);
}
END_TEST

/* Random snapshots with many ties (few sizes, files and lines): every
 * statistics list and compare_to list, in order, equals python3's
 * tracemalloc.Snapshot on the same raw traces. */
static const char *const files[] = {"a.c", "b.c", "lib/c.c", "\xc3\xa9.c", "B.c"};
enum { RANDOM_TRACES = 400 };

static unsigned rnd_state = 12345;
static unsigned rnd(unsigned n) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 16) % n;
}

static void random_traces(raw_trace *t, size_t n) {
    static const size_t sizes[] = {8, 16, 24, 40, 1000};
    for (size_t i = 0; i < n; i++) {
        t[i].domain = rnd(3);
        t[i].size = sizes[rnd(5)];
        t[i].nframe = 1 + (int)rnd(2);
        for (int k = 0; k < t[i].nframe; k++)
            t[i].frames[k] = (rc_frame){files[rnd(5)], 1 + rnd(4), NULL};
    }
}

static void py_traces(FILE *f, const char *name, const raw_trace *t, size_t n) {
    fprintf(f, "%s = tracemalloc.Snapshot([", name);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "(%u, %zu, (", t[i].domain, t[i].size);
        for (int k = 0; k < t[i].nframe; k++)
            fprintf(f, "('%s', %u),", t[i].frames[k].filename, t[i].frames[k].lineno);
        fprintf(f, "), %d),\n", t[i].nframe);
    }
    fprintf(f, "], 2)\n");
}

/* One line per statistic: "size count [size_diff count_diff] frames". */
static void c_line(char *buf, size_t len, const rc_traceback *tb, size_t size, size_t count,
                   const long long *diff) {
    char t[256];
    if (diff)
        snprintf(buf, len, "%zu %zu %lld %lld %s", size, count, diff[0], diff[1],
                 tb_text(tb, t, sizeof t));
    else
        snprintf(buf, len, "%zu %zu %s", size, count, tb_text(tb, t, sizeof t));
}

START_TEST(random_against_python) {
    raw_trace *t1 = calloc(RANDOM_TRACES, sizeof *t1), *t2 = calloc(RANDOM_TRACES, sizeof *t2);
    random_traces(t1, RANDOM_TRACES);
    random_traces(t2, RANDOM_TRACES / 2);
    rc_snapshot *s1 = make_snapshot(t1, RANDOM_TRACES), *s2 = make_snapshot(t2, RANDOM_TRACES / 2);
    /* the filtered snapshots go through filter_traces as well */
    rc_filter flt = {false, "lib/*", 0, true, -1};
    rc_snapshot *f1 = rc_snapshot_filter_traces(s1, &flt, 1);
    char script[] = "/tmp/rcgc_stats_XXXXXX";
    int fd = mkstemp(script);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import tracemalloc\n");
    py_traces(f, "s1", t1, RANDOM_TRACES);
    py_traces(f, "s2", t2, RANDOM_TRACES / 2);
    fprintf(f, "f1 = s1.filter_traces([tracemalloc.Filter(False, 'lib/*', all_frames=True)])\n"
               "def tb(t): return '<'.join('%%s:%%d' %% (x.filename, x.lineno) for x in reversed(t))\n"
               "for a, b in ((s1, None), (s2, None), (f1, None), (s2, s1), (s1, f1)):\n"
               "    for key, cum in (('lineno', False), ('filename', False), ('traceback', False),\n"
               "                     ('lineno', True), ('filename', True)):\n"
               "        if b is None:\n"
               "            for st in a.statistics(key, cum):\n"
               "                print(st.size, st.count, tb(st.traceback))\n"
               "        else:\n"
               "            for d in a.compare_to(b, key, cum):\n"
               "                print(d.size, d.count, d.size_diff, d.count_diff, tb(d.traceback))\n"
               "        print('--')\n");
    fclose(f);
    bool oracle = getenv("RCGC_VALGRIND") == NULL; /* see fnmatch_against_python */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "python3 %s", script);
    FILE *py = oracle ? popen(cmd, "r") : NULL;
    ck_assert(!oracle || py != NULL);
    const rc_snapshot *pairs[][2] = {{s1, NULL}, {s2, NULL}, {f1, NULL}, {s2, s1}, {s1, f1}};
    const struct { rc_key_type key; bool cum; } keys[] = {
        {RC_KEY_LINENO, false}, {RC_KEY_FILENAME, false}, {RC_KEY_TRACEBACK, false},
        {RC_KEY_LINENO, true}, {RC_KEY_FILENAME, true}};
    size_t lines = 0;
    for (size_t p = 0; p < N(pairs); p++)
        for (size_t k = 0; k < N(keys); k++) {
            size_t n;
            char got[512], want[512] = "";
            rc_statistic *st = NULL;
            rc_statistic_diff *d = NULL;
            if (pairs[p][1])
                d = rc_snapshot_compare_to(pairs[p][0], pairs[p][1], keys[k].key, keys[k].cum, &n);
            else
                st = rc_snapshot_statistics(pairs[p][0], keys[k].key, keys[k].cum, &n);
            ck_assert(st || d);
            for (size_t i = 0; i <= n; i++) {
                if (i == n)
                    strcpy(got, "--");
                else if (d)
                    c_line(got, sizeof got, &d[i].traceback, d[i].size, d[i].count,
                           (long long[]){d[i].size_diff, d[i].count_diff});
                else
                    c_line(got, sizeof got, &st[i].traceback, st[i].size, st[i].count, NULL);
                if (!oracle)
                    continue;
                ck_assert_ptr_nonnull(fgets(want, sizeof want, py));
                want[strcspn(want, "\n")] = '\0';
                ck_assert_msg(strcmp(got, want) == 0, "pair %zu key %zu line %zu: got '%s', python '%s'",
                              p, k, i, got, want);
                lines++;
            }
            free(st);
            free(d);
        }
    if (py) {
        ck_assert_int_eq(pclose(py), 0);
        ck_assert_uint_gt(lines, 200);
    }
    unlink(script);
    rc_snapshot_free(f1);
    rc_snapshot_free(s1);
    rc_snapshot_free(s2);
    free(t1);
    free(t2);
}
END_TEST

/* ------------------------------------------------------- dump and load */

static char path[64];

static void dump_setup(void) {
    strcpy(path, "/tmp/rcgc_snap_XXXXXX");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static void dump_teardown(void) { unlink(path); }

static unsigned char *read_all(const char *p, size_t *len) {
    FILE *f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    rewind(f);
    unsigned char *d = malloc(*len);
    ck_assert_uint_eq(fread(d, 1, *len, f), *len);
    fclose(f);
    return d;
}

static void write_all(const char *p, const unsigned char *d, size_t len) {
    FILE *f = fopen(p, "wb");
    ck_assert_uint_eq(fwrite(d, 1, len, f), len);
    fclose(f);
}

START_TEST(dump_load_roundtrip) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    rc_snapshot *l = rc_snapshot_load(path);
    ck_assert_ptr_nonnull(l);
    char a[1024], b[1024];
    ck_assert_str_eq(contents(l, a, sizeof a), contents(s, b, sizeof b));
    rc_snapshot_info info;
    rc__snapshot_info(l, &info);
    ck_assert_uint_eq(info.traceback_limit, 2);
    ck_assert_uint_eq(info.traces, 6);
    ck_assert_uint_eq(info.size, 105);
    free(info.domains);
    size_t n;
    rc_statistic_diff *d = rc_snapshot_compare_to(l, s, RC_KEY_TRACEBACK, false, &n);
    ck_assert_uint_eq(n, 4);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(d[i].size_diff, 0);
        ck_assert_int_eq(d[i].count_diff, 0);
    }
    free(d);
    /* A real snapshot: functions and total_nframe survive too. */
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 4);
    void *p = rc_malloc(h, 33); const unsigned line = __LINE__;
    rc_snapshot *real = rc_tracemalloc_take_snapshot(h);
    ck_assert_int_eq(rc_snapshot_dump(real, path), 0);
    rc_snapshot *back = rc_snapshot_load(path);
    rc_statistic *st = rc_snapshot_statistics(back, RC_KEY_TRACEBACK, false, &n);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(st[0].size, 33);
    ck_assert_uint_eq(st[0].traceback.nframe, tb->nframe);
    ck_assert_str_eq(st[0].traceback.frames[0].filename, __FILE__);
    ck_assert_uint_eq(st[0].traceback.frames[0].lineno, line);
    ck_assert_str_eq(st[0].traceback.frames[0].function, __func__);
    for (unsigned i = 1; i < tb->nframe; i++) {
        ck_assert_str_eq(st[0].traceback.frames[i].filename, tb->frames[i].filename);
        ck_assert_uint_eq(st[0].traceback.frames[i].lineno, tb->frames[i].lineno);
    }
    free(st);
    rc_free(h, p);
    rc_heap_free(h);
    /* The snapshot outlives its heap. */
    st = rc_snapshot_statistics(real, RC_KEY_LINENO, false, &n);
    ck_assert_str_eq(st[0].traceback.frames[0].filename, __FILE__);
    free(st);
    rc_snapshot_free(real);
    rc_snapshot_free(back);
    rc_snapshot_free(l);
    rc_snapshot_free(s);
}
END_TEST

/* Two calls on one line are two return addresses, so the tracer keeps two
 * tracebacks, but both show the same frames: the snapshot stores that
 * traceback once (`rcgc show` counts distinct ones), and so does a load
 * of a file that holds it twice, whose traces keep their sizes. */
static __attribute__((noinline)) void *make_block(rc_heap *h) {
    void *p = rc_malloc(h, 16);
    __asm__ volatile("" ::: "memory"); /* no tail call: the caller stays on the stack */
    return p;
}

START_TEST(identical_tracebacks_stored_once) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 2);
    void *a = make_block(h), *b = make_block(h);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.traces, 2);
    ck_assert_uint_eq(info.tracebacks, 1);
    free(info.domains);
    /* the same traceback twice in a file (parsed without its checksum) */
    unsigned char file[48 + 8 + 2 * 20 + 2 * 16 + 4] = "RCGCSNAP";
    unsigned char *at = file + 8;
    const uint32_t head[] = {1, 2, 1, 0, 2, 0, 2, 0, 0, 0}; /* version, limit, S, B, T, untraced */
    const uint32_t tb[] = {1, 1, 0, 7, 0};                 /* a.py:7, no function */
    memcpy(at, head, sizeof head); /* little-endian, as the tests' machines are */
    at += sizeof head;
    memcpy(at, "\4\0\0\0a.py", 8);
    at += 8;
    for (int t = 0; t < 2; t++, at += sizeof tb)
        memcpy(at, tb, sizeof tb);
    for (uint32_t t = 0; t < 2; t++, at += 16)
        memcpy(at, (const uint32_t[]){0, t, 10 + t, 0}, 16);
    rc_snapshot *l = rc__snapshot_parse(file, sizeof file, false);
    ck_assert_ptr_nonnull(l);
    ck_assert_int_eq(rc__snapshot_info(l, &info), 0);
    ck_assert_uint_eq(info.tracebacks, 1);
    ck_assert_uint_eq(info.size, 21);
    free(info.domains);
    size_t n;
    rc_statistic *st = rc_snapshot_statistics(l, RC_KEY_TRACEBACK, false, &n);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(st[0].size, 21);
    ck_assert_uint_eq(st[0].count, 2);
    free(st);
    rc_snapshot_free(l);
    rc_free(h, a);
    rc_free(h, b);
    rc_snapshot_free(s);
    rc_heap_free(h);
}
END_TEST

/* A snapshot being built finds each traceback it holds again after its
 * index grew many times over (it is rehashed from the hashes kept). */
START_TEST(tracebacks_found_after_the_index_grows) {
    enum { N = 5000 };
    rc_snapshot *s = rc__snapshot_new(2, 0);
    ck_assert_ptr_nonnull(s);
    const char *file = rc__snapshot_string(s, "a.py", 4), *fn = rc__snapshot_string(s, "f", 1);
    ck_assert_ptr_nonnull(file);
    for (int round = 0; round < 2; round++)
        for (unsigned k = 0; k < N; k++) {
            rc_frame frames[2] = {{file, k + 1, fn}, {file, k % 7 + 1, NULL}};
            ck_assert_int_eq(rc__snapshot_add_traceback(s, frames, 2, 2 + k % 3), (int64_t)k);
        }
    rc_frame other[2] = {{file, 1, fn}, {file, 1, NULL}}; /* k = 0 but total 3 */
    ck_assert_int_eq(rc__snapshot_add_traceback(s, other, 2, 3), N);
    ck_assert_int_eq(rc__snapshot_seal(s), 0);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.tracebacks, N + 1);
    free(info.domains);
    rc_snapshot_free(s);
}
END_TEST

static int trace_line_cmp(const void *a, const void *b) { return strcmp(a, b); }

/* The traces of s read through rc_snapshot_get_trace, "d<domain> <size>
 * <traceback>" each, sorted (Snapshot.traces has no order to keep). */
static char *listing(const rc_snapshot *s, char *buf, size_t len) {
    size_t n = rc_snapshot_trace_count(s);
    char lines[8][64];
    ck_assert_uint_le(n, 8);
    for (size_t i = 0; i < n; i++) {
        rc_trace t;
        char tb[48];
        ck_assert_int_eq(rc_snapshot_get_trace(s, i, &t), 0);
        snprintf(lines[i], sizeof lines[i], "d%u %zu %s", t.domain, t.size,
                 tb_text(&t.traceback, tb, sizeof tb));
    }
    qsort(lines, n, sizeof lines[0], trace_line_cmp);
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, len - off, "%s%s", i ? "; " : "", lines[i]);
    return buf;
}

/* Snapshot.traces and Snapshot.traceback_limit: every trace, with its
 * domain, size and traceback, in the snapshot taken, loaded back and
 * filtered; the limit the tracing had. */
START_TEST(traces_and_traceback_limit) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    char buf[512];
    const char *want = "d0 10 a.py:2<b.py:4; d0 10 a.py:2<b.py:4; d0 10 a.py:2<b.py:4; "
                       "d1 2 a.py:5<b.py:4; d2 66 b.py:1; d3 7 <unknown>:0";
    ck_assert_str_eq(listing(s, buf, sizeof buf), want);
    ck_assert_int_eq(rc_snapshot_traceback_limit(s), 2);
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    rc_snapshot *l = rc_snapshot_load(path);
    ck_assert_ptr_nonnull(l);
    ck_assert_str_eq(listing(l, buf, sizeof buf), want);
    ck_assert_int_eq(rc_snapshot_traceback_limit(l), 2);
    rc_filter no_a = {false, "a.py", 0, false, -1};
    rc_snapshot *f = rc_snapshot_filter_traces(s, &no_a, 1);
    ck_assert_str_eq(listing(f, buf, sizeof buf), "d2 66 b.py:1; d3 7 <unknown>:0");
    ck_assert_int_eq(rc_snapshot_traceback_limit(f), 2);
    rc_trace t = {9, 9, {0, 0, NULL}};
    errno = 0;
    ck_assert_int_eq(rc_snapshot_get_trace(s, 6, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    ck_assert_uint_eq(t.size, 9); /* untouched */
    errno = 0;
    ck_assert_int_eq(rc_snapshot_get_trace(NULL, 0, &t), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_get_trace(s, 0, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_traceback_limit(NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    /* a real snapshot: tracing's nframe, the traceback's functions */
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 7);
    void *p = rc_malloc(h, 48); const unsigned line = __LINE__;
    rc_snapshot *real = rc_tracemalloc_take_snapshot(h);
    ck_assert_uint_eq(rc_snapshot_trace_count(real), 1);
    ck_assert_int_eq(rc_snapshot_get_trace(real, 0, &t), 0);
    ck_assert_uint_eq(t.domain, 0);
    ck_assert_uint_eq(t.size, 48);
    ck_assert_str_eq(t.traceback.frames[0].filename, __FILE__);
    ck_assert_uint_eq(t.traceback.frames[0].lineno, line);
    ck_assert_str_eq(t.traceback.frames[0].function, __func__);
    ck_assert_int_eq(rc_snapshot_traceback_limit(real), 7);
    rc_free(h, p);
    rc_heap_free(h);
    rc_snapshot_free(real);
    rc_snapshot_free(f);
    rc_snapshot_free(l);
    rc_snapshot_free(s);
}
END_TEST

/* A snapshot comes through a pipe (`cat snap | rcgc top /dev/stdin`) as
 * from a file; a stream of anything else ends in EINVAL without being
 * read to its end (/dev/zero never ends). */
START_TEST(load_from_pipe_and_devices) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    size_t len;
    unsigned char *bytes = read_all(path, &len);
    ck_assert_uint_lt(len, 4096); /* fits a pipe's buffer: written before the load */
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], bytes, len), (ssize_t)len);
    close(fds[1]);
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fds[0]);
    rc_snapshot *l = rc_snapshot_load(fd_path);
    close(fds[0]);
    ck_assert_ptr_nonnull(l);
    char a[1024], b[1024];
    ck_assert_str_eq(contents(l, a, sizeof a), contents(s, b, sizeof b));
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load("/dev/zero"));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load("/dev/null"));
    ck_assert_int_eq(errno, EINVAL);
    rc_snapshot_free(l);
    rc_snapshot_free(s);
    free(bytes);
}
END_TEST

/* rc_snapshot_load of a pipe whose writer (a child) sends head[0..n) and
 * then tail[0..m) over and over, 64 MiB of it. *all_read: the child wrote
 * it all (the load read past what the format declares) rather than
 * finding the pipe closed. */
static rc_snapshot *load_endless(const unsigned char *head, size_t n, const char *tail, size_t m,
                                 bool *all_read) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        close(fds[0]);
        signal(SIGPIPE, SIG_IGN);
        if (write(fds[1], head, n) != (ssize_t)n)
            _exit(1);
        char buf[4096];
        for (size_t i = 0; i < sizeof buf; i++)
            buf[i] = tail[i % m];
        for (size_t sent = 0; sent < (64u << 20); sent += sizeof buf)
            if (write(fds[1], buf, sizeof buf - sizeof buf % m) < 0)
                _exit(0); /* the reader is gone */
        _exit(2);
    }
    close(fds[1]);
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fds[0]);
    errno = 0;
    rc_snapshot *l = rc_snapshot_load(fd_path);
    int err = errno, status;
    close(fds[0]);
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) != 1);
    *all_read = WEXITSTATUS(status) == 2;
    errno = err;
    return l;
}

/* A load reads what the format declares and one byte more: a valid
 * snapshot followed by an endless stream (`(cat snap; yes) | rcgc top -`),
 * or a valid header followed by zeros, is EINVAL at once, not read and
 * kept in memory to its end. */
START_TEST(load_stops_at_declared_end) {
    rc_snapshot *s = make_snapshot(raw1, N(raw1));
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    rc_snapshot_free(s);
    size_t len;
    unsigned char *bytes = read_all(path, &len);
    struct { size_t n; const char *tail; size_t m; } cases[] = {
        {len, "y\n", 2}, {len, "", 1}, {48, "", 1} /* its header, then zeros */
    };
    for (size_t i = 0; i < N(cases); i++) {
        bool all_read;
        ck_assert_ptr_null(load_endless(bytes, cases[i].n, cases[i].tail, cases[i].m, &all_read));
        ck_assert_int_eq(errno, EINVAL);
        ck_assert_msg(!all_read, "case %zu read to the end", i);
    }
    free(bytes);
}
END_TEST

START_TEST(load_rejects_bad_files) {
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load("/nonexistent/rcgc.snap"));
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load("/tmp"));
    ck_assert_int_eq(errno, EISDIR);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load(NULL));
    ck_assert_int_eq(errno, EINVAL);
    write_all(path, (const unsigned char *)"", 0);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load(path));
    ck_assert_int_eq(errno, EINVAL);
    unsigned char pickle[64] = "\x80\x04\x95pickle of a Python snapshot";
    write_all(path, pickle, sizeof pickle);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_load(path));
    ck_assert_int_eq(errno, EINVAL);

    rc_snapshot *s = make_snapshot(raw2, N(raw2));
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    rc_snapshot_free(s);
    size_t len;
    unsigned char *good = read_all(path, &len);
    unsigned char *bad = malloc(len + 1);
    /* Every truncation, every flipped byte, one byte too many. */
    for (size_t cut = 0; cut < len; cut++) {
        errno = 0;
        ck_assert_ptr_null(rc__snapshot_parse(good, cut, true));
        ck_assert_int_eq(errno, EINVAL);
        rc_snapshot_free(rc__snapshot_parse(good, cut, false)); /* never reads past cut */
    }
    for (size_t i = 0; i < len; i++) {
        memcpy(bad, good, len);
        bad[i] ^= 0x5A;
        errno = 0;
        ck_assert_ptr_null(rc__snapshot_parse(bad, len, true));
        ck_assert_int_eq(errno, EINVAL);
    }
    memcpy(bad, good, len);
    bad[len] = 0;
    errno = 0;
    ck_assert_ptr_null(rc__snapshot_parse(bad, len + 1, true));
    ck_assert_int_eq(errno, EINVAL);
    /* Without the checksum, the structure is still checked. */
    memcpy(bad, good, len);
    bad[8] = 2; /* version 2 */
    ck_assert_ptr_null(rc__snapshot_parse(bad, len, false));
    memcpy(bad, good, len);
    bad[12] = 0; /* traceback limit 0 */
    ck_assert_ptr_null(rc__snapshot_parse(bad, len, false));
    memcpy(bad, good, len);
    bad[len - 4 - 12] = 0xFF; /* last trace's traceback index out of range */
    ck_assert_ptr_null(rc__snapshot_parse(bad, len, false));
    rc_snapshot *ok = rc__snapshot_parse(good, len, true);
    ck_assert_ptr_nonnull(ok);
    ck_assert_uint_eq(rc_snapshot_trace_count(ok), 6);
    rc_snapshot_free(ok);
    free(bad);
    free(good);
}
END_TEST

START_TEST(dump_errors) {
    rc_snapshot *s = make_snapshot(raw1, 1);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_dump(s, "/nonexistent/dir/x.snap"), -1);
    ck_assert_int_eq(errno, ENOENT);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_dump(NULL, path), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_dump(s, NULL), -1);
    ck_assert_int_eq(errno, EINVAL);
    rc_snapshot_free(s);
}
END_TEST

/* A snapshot of n traces of one traceback, sizes 1..n. */
static rc_snapshot *many_traces(size_t n) {
    rc_heap *h = rc_heap_new();
    ck_assert_int_eq(rc_tracemalloc_start(h, 1), 0);
    static const rc_frame frame = {"big.py", 1, NULL};
    scripted_frames sf = {&frame, 1};
    rc_tracemalloc_set_frame_provider(h, scripted_provider, &sf);
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(rc_tracemalloc_track(h, 0, 0x1000 + 16 * i, i + 1), 0);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_ptr_nonnull(s);
    rc_heap_free(h);
    return s;
}

/* Whether sig is pending for this thread or the process. */
static bool signal_pending(int sig) {
    sigset_t pending;
    ck_assert_int_eq(sigpending(&pending), 0);
    return sigismember(&pending, sig);
}

/* A dump past RLIMIT_FSIZE: the write raised SIGXFSZ, whose default action
 * ended the program (CPython ignores it: its dump raises OSError, EFBIG).
 * -1 + EFBIG, the signal not left pending; with the limit lifted the dump
 * is whole. */
START_TEST(dump_past_file_size_limit) {
    rc_snapshot *s = many_traces(1000);
    struct rlimit was, limit;
    ck_assert_int_eq(getrlimit(RLIMIT_FSIZE, &was), 0);
    limit = was;
    limit.rlim_cur = 100;
    /* no check until the limit is lifted: Check's own file is past it */
    int limited = setrlimit(RLIMIT_FSIZE, &limit);
    errno = 0;
    int dumped = rc_snapshot_dump(s, path), err = errno;
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &was), 0);
    ck_assert_int_eq(limited, 0);
    ck_assert_int_eq(dumped, -1);
    ck_assert_int_eq(err, EFBIG);
    ck_assert(!signal_pending(SIGXFSZ));
    ck_assert_int_eq(rc_snapshot_dump(s, path), 0);
    rc_snapshot *back = rc_snapshot_load(path);
    ck_assert_ptr_nonnull(back);
    ck_assert_uint_eq(rc_snapshot_trace_count(back), 1000);
    rc_snapshot_free(back);
    rc_snapshot_free(s);
}
END_TEST

/* A dump into a pipe whose reader (a child) goes away after one byte: the
 * write raised SIGPIPE, which ended the program; now -1 + EPIPE, the
 * signal not left pending. The dump (some 200 KB) is more than the pipe
 * holds, so its writes outlast the reader. */
START_TEST(dump_into_a_pipe_left_unread) {
    rc_snapshot *s = many_traces(20000);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        char byte;
        close(fds[1]);
        _exit(read(fds[0], &byte, 1) == 1 ? 0 : 1);
    }
    close(fds[0]);
    char fd_path[64];
    snprintf(fd_path, sizeof fd_path, "/proc/self/fd/%d", fds[1]);
    errno = 0;
    int dumped = rc_snapshot_dump(s, fd_path), err = errno;
    close(fds[1]);
    int status;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    ck_assert_int_eq(dumped, -1);
    ck_assert_int_eq(err, EPIPE);
    ck_assert(!signal_pending(SIGPIPE));
    rc_snapshot_free(s);
}
END_TEST

static volatile sig_atomic_t ticks;
static void tick(int sig) {
    (void)sig;
    ticks++;
}

/* The child of dump_and_load_through_interrupted_pipes that reads the dump:
 * after a pause (the pipe fills, the dump's write blocks), all of it, into
 * path. */
static int slow_reader(int fd) {
    usleep(50000);
    FILE *out = fopen(path, "wb");
    char buf[4096];
    ssize_t n;
    while (out && (n = read(fd, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, out);
    return out && fclose(out) == 0 ? 0 : 1;
}

/* The child that writes bytes[0..len) in 4 KiB pieces, a pause before each
 * (the load's read blocks). */
static int slow_writer(int fd, const unsigned char *bytes, size_t len) {
    for (size_t done = 0; done < len; done += 4096) {
        usleep(3000);
        size_t k = len - done < 4096 ? len - done : 4096;
        if (write(fd, bytes + done, k) != (ssize_t)k)
            return 1;
    }
    return 0;
}

/* Runs child(fd, bytes, len) in a child process given one end of a pipe
 * (its read end when `reads`); returns the other end's /proc path in
 * fd_path and its descriptor. */
static int pipe_to_child(bool reads, const unsigned char *bytes, size_t len, pid_t *pid,
                         char *fd_path, size_t size) {
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    *pid = fork();
    ck_assert_int_ge(*pid, 0);
    if (*pid == 0) {
        close(fds[reads ? 1 : 0]);
        _exit(reads ? slow_reader(fds[0]) : slow_writer(fds[1], bytes, len));
    }
    close(fds[reads ? 0 : 1]);
    int fd = fds[reads ? 1 : 0];
    snprintf(fd_path, size, "/proc/self/fd/%d", fd);
    return fd;
}

static void expect_child_done(pid_t pid) {
    int status;
    pid_t got;
    while ((got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    ck_assert_int_eq(got, pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* A dump into, then a load from, a pipe whose other end (a child) is slow,
 * while a timer's handler, installed without SA_RESTART (as CPython
 * installs its own), interrupts the blocked write and read (EINTR): stdio
 * gave up, and the dump failed with EINTR. Both are made again, as
 * CPython's are (PEP 475): the snapshot comes back whole. */
START_TEST(dump_and_load_through_interrupted_pipes) {
    rc_snapshot *s = many_traces(20000);
    struct sigaction on = {.sa_handler = tick}, was;
    sigemptyset(&on.sa_mask);
    ck_assert_int_eq(sigaction(SIGALRM, &on, &was), 0);
    struct itimerval every = {{0, 2000}, {0, 2000}}, off = {{0, 0}, {0, 0}};
    ticks = 0;
    ck_assert_int_eq(setitimer(ITIMER_REAL, &every, NULL), 0);
    pid_t pid;
    char fd_path[64];
    int fd = pipe_to_child(true, NULL, 0, &pid, fd_path, sizeof fd_path);
    errno = 0;
    int dumped = rc_snapshot_dump(s, fd_path), err = errno;
    close(fd);
    expect_child_done(pid);
    ck_assert_msg(dumped == 0, "dump: %s", strerror(err));
    size_t len;
    unsigned char *bytes = read_all(path, &len);
    fd = pipe_to_child(false, bytes, len, &pid, fd_path, sizeof fd_path);
    rc_snapshot *back = rc_snapshot_load(fd_path);
    err = errno;
    close(fd);
    expect_child_done(pid);
    ck_assert_int_eq(setitimer(ITIMER_REAL, &off, NULL), 0);
    ck_assert_int_eq(sigaction(SIGALRM, &was, NULL), 0);
    ck_assert_msg(back != NULL, "load: %s", strerror(err));
    ck_assert_uint_eq(rc_snapshot_trace_count(back), 20000);
    ck_assert_int_gt(ticks, 10);
    rc_snapshot_free(back);
    rc_snapshot_free(s);
    free(bytes);
}
END_TEST

START_TEST(statistics_errors_and_empty) {
    size_t n = 99;
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_statistics(NULL, RC_KEY_LINENO, false, &n));
    ck_assert_int_eq(errno, EINVAL);
    rc_snapshot *s = make_snapshot(raw1, 0);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_statistics(s, RC_KEY_LINENO, false, NULL));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_statistics(s, (rc_key_type)7, false, &n));
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_ptr_null(rc_snapshot_compare_to(s, NULL, RC_KEY_LINENO, false, &n));
    ck_assert_int_eq(errno, EINVAL);
    rc_statistic *st = rc_snapshot_statistics(s, RC_KEY_LINENO, true, &n);
    ck_assert_ptr_nonnull(st);
    ck_assert_uint_eq(n, 0);
    free(st);
    rc_statistic_diff *d = rc_snapshot_compare_to(s, s, RC_KEY_FILENAME, false, &n);
    ck_assert_ptr_nonnull(d);
    ck_assert_uint_eq(n, 0);
    free(d);
    ck_assert_uint_eq(rc_snapshot_trace_count(NULL), 0);
    rc_snapshot_free(s);
    rc_snapshot_free(NULL);
}
END_TEST

START_TEST(print_top_text) {
    rc_snapshot *s = make_snapshot(raw2, N(raw2));
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    ck_assert_int_eq(rc_snapshot_print_top(out, s, RC_KEY_LINENO, 2), 0);
    ck_assert_int_eq(rc_snapshot_print_top(out, s, RC_KEY_FILENAME, 10), 0);
    fclose(out);
    ck_assert_str_eq(text, "[ Top 2 ]\n"
                           "a.py:5: size=5002 B, count=2, average=2501 B\n"
                           "c.py:578: size=400 B, count=1, average=400 B\n"
                           "[ Top 10 ]\n"
                           "a.py:0: size=5032 B, count=5, average=1006 B\n"
                           "c.py:0: size=400 B, count=1, average=400 B\n");
    free(text);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_print_top(NULL, s, RC_KEY_LINENO, 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_snapshot_print_top(stdout, NULL, RC_KEY_LINENO, 2), -1);
    ck_assert_int_eq(errno, EINVAL);
    FILE *full = fopen("/dev/full", "w"); /* a short report still in the buffer fails too */
    if (full) {
        errno = 0;
        ck_assert_int_eq(rc_snapshot_print_top(full, s, RC_KEY_LINENO, 2), -1);
        ck_assert_int_eq(errno, ENOSPC);
        fclose(full);
    }
    rc_snapshot_free(s);
}
END_TEST

/* rc__snapshot_info (`rcgc show`) with many domains, their traces
 * interleaved as a loaded file may have them: every domain's totals, in
 * domain order, in time linear in the traces (a search of the domains per
 * run took O(traces * domains): 0.5 s here, 12 s for 200000 domains). */
START_TEST(info_many_domains) {
    enum { D = 20000, ROUNDS = 8 };
    rc_snapshot *s = rc__snapshot_new(1, 0);
    ck_assert_ptr_nonnull(s);
    rc_frame f = {rc__snapshot_string(s, "a.c", 3), 1, NULL};
    ck_assert_int_eq(rc__snapshot_add_traceback(s, &f, 1, 1), 0);
    for (unsigned r = 0; r < ROUNDS; r++)
        for (unsigned d = 0; d < D; d++) /* domains in a scrambled order, each round */
            ck_assert_int_eq(rc__snapshot_add_trace(s, (d * 7919u + r) % D * 3u, 0, d + 1), 0);
    ck_assert_int_eq(rc__snapshot_seal(s), 0);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.traces, (size_t)D * ROUNDS);
    ck_assert_uint_eq(info.ndomains, D);
    size_t total = 0;
    for (size_t d = 0; d < D; d++) {
        ck_assert_uint_eq(info.domains[d].domain, d * 3);
        ck_assert_uint_eq(info.domains[d].traces, ROUNDS);
        total += info.domains[d].size;
    }
    ck_assert_uint_eq(total, info.size);
    free(info.domains);
    rc_snapshot_free(s);
}
END_TEST

/* Domains that differ only in their high bits (i << 15), each totalled
 * right. (A hash that kept the low bits of a product put them all on 8
 * slots of the index: 4 s for these 131072 domains in a Debug build, 0.01
 * s for 0..131071; no clock here, bench territory.) */
START_TEST(info_domains_differing_in_high_bits) {
    const unsigned D = getenv("RCGC_VALGRIND") ? 16384 : 131072;
    rc_snapshot *s = rc__snapshot_new(1, 0);
    ck_assert_ptr_nonnull(s);
    rc_frame f = {rc__snapshot_string(s, "a.c", 3), 1, NULL};
    ck_assert_int_eq(rc__snapshot_add_traceback(s, &f, 1, 1), 0);
    for (unsigned d = 0; d < D; d++)
        ck_assert_int_eq(rc__snapshot_add_trace(s, d << 15, 0, d + 1), 0);
    ck_assert_int_eq(rc__snapshot_seal(s), 0);
    rc_snapshot_info info;
    ck_assert_int_eq(rc__snapshot_info(s, &info), 0);
    ck_assert_uint_eq(info.ndomains, D);
    for (size_t d = 0; d < D; d++) {
        ck_assert_uint_eq(info.domains[d].domain, (unsigned)d << 15);
        ck_assert_uint_eq(info.domains[d].traces, 1);
        ck_assert_uint_eq(info.domains[d].size, d + 1);
    }
    free(info.domains);
    rc_snapshot_free(s);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("snapshot");
    add_case(s, tcase_create("group_by_line"), group_by_line);
    add_case(s, tcase_create("group_by_file"), group_by_file);
    add_case(s, tcase_create("group_by_traceback"), group_by_traceback);
    add_case(s, tcase_create("group_by_cumulative"), group_by_cumulative);
    add_case(s, tcase_create("order_of_names_not_utf8"), order_of_names_not_utf8);
    add_case(s, tcase_create("cumulative_counts_every_frame"), cumulative_counts_every_frame);
    add_case(s, tcase_create("filter_traces"), filter_traces);
    add_case(s, tcase_create("filter_traces_domain"), filter_traces_domain);
    add_case(s, tcase_create("filter_match_trace"), filter_match_trace);
    add_case(s, tcase_create("fnmatch_against_python"), fnmatch_against_python);
    add_case(s, tcase_create("random_against_python"), random_against_python);
    add_case_fixture(s, tcase_create("dump_load_roundtrip"), dump_load_roundtrip,
                     dump_setup, dump_teardown);
    add_case(s, tcase_create("identical_tracebacks_stored_once"), identical_tracebacks_stored_once);
    add_case(s, tcase_create("tracebacks_found_after_the_index_grows"),
             tracebacks_found_after_the_index_grows);
    add_case_fixture(s, tcase_create("traces_and_traceback_limit"), traces_and_traceback_limit,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("load_from_pipe_and_devices"), load_from_pipe_and_devices,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("load_stops_at_declared_end"), load_stops_at_declared_end,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("load_rejects_bad_files"), load_rejects_bad_files,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("dump_errors"), dump_errors, dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("dump_past_file_size_limit"), dump_past_file_size_limit,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("dump_into_a_pipe_left_unread"), dump_into_a_pipe_left_unread,
                     dump_setup, dump_teardown);
    add_case_fixture(s, tcase_create("dump_and_load_through_interrupted_pipes"),
                     dump_and_load_through_interrupted_pipes, dump_setup, dump_teardown);
    add_case(s, tcase_create("statistics_errors_and_empty"), statistics_errors_and_empty);
    add_case(s, tcase_create("print_top_text"), print_top_text);
    add_case(s, tcase_create("info_many_domains"), info_many_domains);
    add_case(s, tcase_create("info_domains_differing_in_high_bits"),
             info_domains_differing_in_high_bits);
    return s;
}
