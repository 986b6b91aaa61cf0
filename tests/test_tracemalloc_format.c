/*
 * test_tracemalloc_format.c — rc_statistic_format and
 * rc_statistic_diff_format print exactly what python3's tracemalloc
 * Statistic and StatisticDiff print, for thousands of random values
 * (python3 runs once, as the oracle, over the whole batch).
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const rc_frame demo = {"demo.c", 42, "main"};
static const rc_traceback demo_tb = {1, 1, &demo};

static char *stat_text(size_t size, size_t count, char *buf, size_t len) {
    rc_statistic st = {demo_tb, size, count};
    int n = rc_statistic_format(&st, buf, len);
    ck_assert_int_eq(n, (int)strlen(buf));
    return buf;
}

static char *diff_text(size_t size, long long sd, size_t count, long long cd, char *buf,
                       size_t len) {
    rc_statistic_diff d = {demo_tb, size, sd, count, cd};
    int n = rc_statistic_diff_format(&d, buf, len);
    ck_assert_int_eq(n, (int)strlen(buf));
    return buf;
}

START_TEST(known_texts) {
    char buf[256];
    /* the spec's and test_tracemalloc's examples */
    ck_assert_str_eq(stat_text(3906 * 1024 + 256, 100000, buf, sizeof buf),
                     "demo.c:42: size=3906 KiB, count=100000, average=40 B");
    ck_assert_str_eq(diff_text(40000, 40000, 1000, 1000, buf, sizeof buf),
                     "demo.c:42: size=39.1 KiB (+39.1 KiB), count=1000 (+1000), average=40 B");
    ck_assert_str_eq(stat_text(66, 1, buf, sizeof buf), "demo.c:42: size=66 B, count=1, average=66 B");
    ck_assert_str_eq(diff_text(5002, 5000, 2, 1, buf, sizeof buf),
                     "demo.c:42: size=5002 B (+5000 B), count=2 (+1), average=2501 B");
    ck_assert_str_eq(diff_text(0, -66, 0, -1, buf, sizeof buf),
                     "demo.c:42: size=0 B (-66 B), count=0 (-1)");
    ck_assert_str_eq(stat_text(0, 0, buf, sizeof buf), "demo.c:42: size=0 B, count=0");
}
END_TEST

START_TEST(buffer_contract) {
    char buf[16];
    rc_statistic st = {demo_tb, 66, 1};
    int n = rc_statistic_format(&st, NULL, 0);
    ck_assert_int_eq(n, (int)strlen("demo.c:42: size=66 B, count=1, average=66 B"));
    memset(buf, 'x', sizeof buf);
    ck_assert_int_eq(rc_statistic_format(&st, buf, sizeof buf), n);
    ck_assert_str_eq(buf, "demo.c:42: size");
    errno = 0;
    ck_assert_int_eq(rc_statistic_format(NULL, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_statistic_format(&st, NULL, 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    rc_statistic empty = {{0, 0, NULL}, 1, 1};
    errno = 0;
    ck_assert_int_eq(rc_statistic_format(&empty, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_statistic_diff_format(NULL, buf, sizeof buf), -1);
    ck_assert_int_eq(errno, EINVAL);
    rc_statistic_diff d = {demo_tb, 1, 1, 1, 1};
    ck_assert_int_eq(rc_statistic_diff_format(&d, NULL, 0),
                     (int)strlen("demo.c:42: size=1 B (+1 B), count=1 (+1), average=1 B"));
}
END_TEST

/* xorshift64*: the batch is the same on every run. */
static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next(void) {
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545F4914F6CDD1Dull;
}

/* A value of log-uniform magnitude below 2^bits, so every unit and every
 * rounding boundary region is visited. */
static uint64_t magnitude(unsigned bits) {
    unsigned b = (unsigned)(next() % (bits + 1));
    return b == 0 ? 0 : next() & ((b == 64 ? 0 : (1ull << b)) - 1);
}

enum { BATCH = 4000 };

typedef struct sample {
    size_t size, count;
    long long sd, cd;
    bool diff;
} sample;

/* Under valgrind (RCGC_VALGRIND=1) python3 would run inside it for
 * minutes: the valgrind twin formats the whole batch without the oracle. */
START_TEST(python_oracle) {
    bool oracle = getenv("RCGC_VALGRIND") == NULL;
    static sample s[2 * BATCH];
    size_t n = 0;
    /* boundaries of _format_size, then random values */
    static const size_t edges[] = {0, 1, 99, 100, 101, 10239, 10240, 10241, 102348, 102349,
                                   102399, 102400, 10485759, 10485760, 104805171, 104805172,
                                   (size_t)1 << 40, ((size_t)100 << 40) - 1, (size_t)100 << 40,
                                   ((size_t)10240 << 40) + 12345, (size_t)1 << 62};
    for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++) {
        s[n++] = (sample){edges[i], 1, (long long)edges[i] / 2, 0, false};
        s[n++] = (sample){edges[i], 1, -(long long)(edges[i] / 3), -1, true};
    }
    while (n < 2 * BATCH) {
        bool diff = n % 2;
        size_t size = magnitude(53);
        /* averages are exact below 2^53, as Python's int / int */
        size_t count = magnitude(24);
        long long sd = (long long)magnitude(52) * (next() & 1 ? -1 : 1);
        long long cd = (long long)magnitude(24) * (next() & 1 ? -1 : 1);
        s[n++] = (sample){size, count, sd, cd, diff};
    }
    char got[512];
    if (!oracle) {
        for (size_t i = 0; i < n; i++)
            if (s[i].diff)
                diff_text(s[i].size, s[i].sd, s[i].count, s[i].cd, got, sizeof got);
            else
                stat_text(s[i].size, s[i].count, got, sizeof got);
        return;
    }
    char script[] = "/tmp/rcgc_format_XXXXXX";
    int fd = mkstemp(script);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "w");
    fprintf(f, "import sys, tracemalloc\n"
               "tb = tracemalloc.Traceback((('demo.c', 42),))\n"
               "for line in sys.stdin:\n"
               "    k, *v = line.split()\n"
               "    v = [int(x) for x in v]\n"
               "    if k == 'S': print(tracemalloc.Statistic(tb, v[0], v[1]))\n"
               "    else: print(tracemalloc.StatisticDiff(tb, v[0], v[1], v[2], v[3]))\n");
    fclose(f);
    char input[] = "/tmp/rcgc_format_in_XXXXXX", cmd[256];
    fd = mkstemp(input);
    ck_assert_int_ge(fd, 0);
    FILE *in = fdopen(fd, "w");
    for (size_t i = 0; i < n; i++)
        if (s[i].diff)
            fprintf(in, "D %zu %lld %zu %lld\n", s[i].size, s[i].sd, s[i].count, s[i].cd);
        else
            fprintf(in, "S %zu %zu\n", s[i].size, s[i].count);
    fclose(in);
    snprintf(cmd, sizeof cmd, "python3 %s < %s", script, input);
    FILE *py = popen(cmd, "r");
    ck_assert_ptr_nonnull(py);
    char want[512];
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_ptr_nonnull(fgets(want, sizeof want, py));
        want[strcspn(want, "\n")] = '\0';
        if (s[i].diff)
            diff_text(s[i].size, s[i].sd, s[i].count, s[i].cd, got, sizeof got);
        else
            stat_text(s[i].size, s[i].count, got, sizeof got);
        ck_assert_msg(strcmp(got, want) == 0, "sample %zu: got '%s', python '%s'", i, got, want);
        checked++;
    }
    ck_assert_int_eq(pclose(py), 0);
    ck_assert_uint_eq(checked, 2 * BATCH);
    unlink(script);
    unlink(input);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("tracemalloc_format");
    add_case(s, tcase_create("known_texts"), known_texts);
    add_case(s, tcase_create("buffer_contract"), buffer_contract);
    add_case(s, tcase_create("python_oracle"), python_oracle);
    return s;
}
