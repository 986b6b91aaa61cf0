/*
 * test_tracemalloc_format.c — rc_statistic_format and
 * rc_statistic_diff_format print exactly what python3's tracemalloc
 * Statistic and StatisticDiff print, for thousands of random values
 * (python3 runs once, as the oracle, over the whole batch).
 */
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <errno.h>
#include <limits.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ------------------------------------------------------- Traceback.format */

/* The files the frames below name, written in a directory of their own:
 * line ends of all three kinds, a BOM, whitespace str.strip() takes
 * (Unicode's too) and keeps (U+200B), text that is not UTF-8 as Python's
 * strict decoder sees it (any of it: the file shows no line at all). */
static const struct { const char *name, *bytes; } format_files[] = {
    {"a.c", "int main(void) {\n    return 0;   \n\t}\t\n\n  \x0c\x0bvt\n"},
    {"crlf.c", "first\r\nsecond\r\n\tthird\r\n"},
    {"cr.c", "one\rtwo\r  three"},
    {"bom.c", "\xef\xbb\xbf  bom line\nnext\n"},
    {"bad.c", "fine\nalso fine\n\xff bad\n"},
    {"uni.c", "\xc2\xa0nbsp line\xe3\x80\x80\n\x1c" "fs\x1f\n\xe2\x80\x85x\xe2\x80\x8a\n\xc2\x85nel\n"
              "\xe2\x80\x8bzw\xe2\x80\x8b\n\xef\xbc\xa1" "full\n"},
    {"surrogate.c", "ok\n\xed\xa0\x80\n"},
    {"overlong.c", "ok\n\xc0\xaf\n"},
    {"trunc.c", "ok\n\xe2\x80"},
    {"max.c", "ok\n\xf4\x8f\xbf\xbf\n"},
    {"past.c", "ok\n\xf4\x90\x80\x80\n"},
};

/* What python3.12 prints for the same files and frames (tracemalloc's
 * Traceback(frames).format(limit, most_recent_first), a line each), with
 * the directory as its working directory: missing.c is missing, dir.c a
 * directory. */
static const rc_frame format_frames[] = {
    {"a.c", 1, NULL},
    {"a.c", 2, NULL},
    {"a.c", 3, NULL},
    {"a.c", 4, NULL},
    {"a.c", 5, NULL},
    {"a.c", 6, NULL},
    {"a.c", 7, NULL},
    {"a.c", 0, NULL},
    {"crlf.c", 1, NULL},
    {"crlf.c", 2, NULL},
    {"crlf.c", 3, NULL},
    {"crlf.c", 4, NULL},
    {"cr.c", 1, NULL},
    {"cr.c", 2, NULL},
    {"cr.c", 3, NULL},
    {"bom.c", 1, NULL},
    {"bom.c", 2, NULL},
    {"bad.c", 1, NULL},
    {"uni.c", 1, NULL},
    {"uni.c", 2, NULL},
    {"uni.c", 3, NULL},
    {"uni.c", 4, NULL},
    {"uni.c", 5, NULL},
    {"uni.c", 6, NULL},
    {"surrogate.c", 1, NULL},
    {"overlong.c", 1, NULL},
    {"trunc.c", 1, NULL},
    {"max.c", 1, NULL},
    {"past.c", 1, NULL},
    {"missing.c", 1, NULL},
    {"<unknown>", 0, NULL},
    {"<stdin>", 1, NULL},
    {"dir.c", 1, NULL},
    {"a.c", 1, NULL},
};
static const char format_all[] = "  File \"a.c\", line 1\n"
    "    int main(void) {\n"
    "  File \"dir.c\", line 1\n"
    "  File \"<stdin>\", line 1\n"
    "  File \"<unknown>\", line 0\n"
    "  File \"missing.c\", line 1\n"
    "  File \"past.c\", line 1\n"
    "  File \"max.c\", line 1\n"
    "    ok\n"
    "  File \"trunc.c\", line 1\n"
    "  File \"overlong.c\", line 1\n"
    "  File \"surrogate.c\", line 1\n"
    "  File \"uni.c\", line 6\n"
    "    \xef""\xbc""\xa1""full\n"
    "  File \"uni.c\", line 5\n"
    "    \xe2""\x80""\x8b""zw\xe2""\x80""\x8b""\n"
    "  File \"uni.c\", line 4\n"
    "    nel\n"
    "  File \"uni.c\", line 3\n"
    "    x\n"
    "  File \"uni.c\", line 2\n"
    "    fs\n"
    "  File \"uni.c\", line 1\n"
    "    nbsp line\n"
    "  File \"bad.c\", line 1\n"
    "  File \"bom.c\", line 2\n"
    "    next\n"
    "  File \"bom.c\", line 1\n"
    "    bom line\n"
    "  File \"cr.c\", line 3\n"
    "    three\n"
    "  File \"cr.c\", line 2\n"
    "    two\n"
    "  File \"cr.c\", line 1\n"
    "    one\n"
    "  File \"crlf.c\", line 4\n"
    "  File \"crlf.c\", line 3\n"
    "    third\n"
    "  File \"crlf.c\", line 2\n"
    "    second\n"
    "  File \"crlf.c\", line 1\n"
    "    first\n"
    "  File \"a.c\", line 0\n"
    "  File \"a.c\", line 7\n"
    "  File \"a.c\", line 6\n"
    "  File \"a.c\", line 5\n"
    "    vt\n"
    "  File \"a.c\", line 4\n"
    "  File \"a.c\", line 3\n"
    "    }\n"
    "  File \"a.c\", line 2\n"
    "    return 0;\n"
    "  File \"a.c\", line 1\n"
    "    int main(void) {\n"
    "";
static const char format_all_recent_first[] = "  File \"a.c\", line 1\n"
    "    int main(void) {\n"
    "  File \"a.c\", line 2\n"
    "    return 0;\n"
    "  File \"a.c\", line 3\n"
    "    }\n"
    "  File \"a.c\", line 4\n"
    "  File \"a.c\", line 5\n"
    "    vt\n"
    "  File \"a.c\", line 6\n"
    "  File \"a.c\", line 7\n"
    "  File \"a.c\", line 0\n"
    "  File \"crlf.c\", line 1\n"
    "    first\n"
    "  File \"crlf.c\", line 2\n"
    "    second\n"
    "  File \"crlf.c\", line 3\n"
    "    third\n"
    "  File \"crlf.c\", line 4\n"
    "  File \"cr.c\", line 1\n"
    "    one\n"
    "  File \"cr.c\", line 2\n"
    "    two\n"
    "  File \"cr.c\", line 3\n"
    "    three\n"
    "  File \"bom.c\", line 1\n"
    "    bom line\n"
    "  File \"bom.c\", line 2\n"
    "    next\n"
    "  File \"bad.c\", line 1\n"
    "  File \"uni.c\", line 1\n"
    "    nbsp line\n"
    "  File \"uni.c\", line 2\n"
    "    fs\n"
    "  File \"uni.c\", line 3\n"
    "    x\n"
    "  File \"uni.c\", line 4\n"
    "    nel\n"
    "  File \"uni.c\", line 5\n"
    "    \xe2""\x80""\x8b""zw\xe2""\x80""\x8b""\n"
    "  File \"uni.c\", line 6\n"
    "    \xef""\xbc""\xa1""full\n"
    "  File \"surrogate.c\", line 1\n"
    "  File \"overlong.c\", line 1\n"
    "  File \"trunc.c\", line 1\n"
    "  File \"max.c\", line 1\n"
    "    ok\n"
    "  File \"past.c\", line 1\n"
    "  File \"missing.c\", line 1\n"
    "  File \"<unknown>\", line 0\n"
    "  File \"<stdin>\", line 1\n"
    "  File \"dir.c\", line 1\n"
    "  File \"a.c\", line 1\n"
    "    int main(void) {\n"
    "";
/* Traceback(frames[:5]).format(limit, most_recent_first), as the lines of
 * a.c its frames name, in python3.12's order; each frame's text is
 * a_c_frame's. */
static const char *const a_c_frame[] = {
    NULL,
    "  File \"a.c\", line 1\n    int main(void) {\n",
    "  File \"a.c\", line 2\n    return 0;\n",
    "  File \"a.c\", line 3\n    }\n",
    "  File \"a.c\", line 4\n",
    "  File \"a.c\", line 5\n    vt\n",
};
static const struct { int limit; bool recent_first; const char *lines; } format_limits[] = {
    {1, false, "1"},      {1, true, "1"},       {2, false, "21"},     {2, true, "12"},
    {5, false, "54321"},  {5, true, "12345"},   {9, false, "54321"},  {9, true, "12345"},
    {0, false, ""},       {0, true, ""},        {-1, false, "5432"},  {-1, true, "2345"},
    {-2, false, "543"},   {-2, true, "345"},    {-5, false, ""},      {-5, true, ""},
    {-9, false, ""},      {-9, true, ""},
};

/* Writes format_files into a new directory and makes it the working
 * directory; returns its name (static), for format_dir_end. */
static const char *format_dir(void) {
    static char dir[] = "/tmp/rcgc_tbformat_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(chdir(dir), 0);
    for (size_t i = 0; i < sizeof format_files / sizeof *format_files; i++) {
        FILE *f = fopen(format_files[i].name, "wb");
        ck_assert_ptr_nonnull(f);
        fputs(format_files[i].bytes, f);
        ck_assert_int_eq(fclose(f), 0);
    }
    ck_assert_int_eq(mkdir("dir.c", 0700), 0);
    ck_assert_int_eq(mkfifo("fifo.c", 0600), 0);
    return dir;
}

static void format_dir_end(const char *dir) {
    for (size_t i = 0; i < sizeof format_files / sizeof *format_files; i++)
        unlink(format_files[i].name);
    unlink("fifo.c");
    rmdir("dir.c");
    ck_assert_int_eq(chdir("/"), 0);
    ck_assert_int_eq(rmdir(dir), 0);
}

/* Formats tb into a buffer of its own; checks the length returned. */
static char *tb_text(const rc_traceback *tb, int limit, bool recent_first) {
    static char buf[4096];
    int n = rc_traceback_format(tb, limit, recent_first, buf, sizeof buf);
    ck_assert_int_eq(n, (int)strlen(buf));
    return buf;
}

START_TEST(traceback_format_as_python) {
    const char *dir = format_dir();
    unsigned n = sizeof format_frames / sizeof *format_frames;
    rc_traceback tb = {n, n, format_frames};
    ck_assert_str_eq(tb_text(&tb, INT_MAX, false), format_all);
    ck_assert_str_eq(tb_text(&tb, INT_MAX, true), format_all_recent_first);
    rc_traceback five = {5, 7, format_frames};
    for (size_t i = 0; i < sizeof format_limits / sizeof *format_limits; i++) {
        char want[1024] = "";
        for (const char *l = format_limits[i].lines; *l; l++)
            strcat(want, a_c_frame[*l - '0']);
        ck_assert_msg(strcmp(tb_text(&five, format_limits[i].limit, format_limits[i].recent_first),
                             want) == 0,
                      "limit %d, most recent first %d", format_limits[i].limit,
                      format_limits[i].recent_first);
    }
    ck_assert_str_eq(tb_text(&five, INT_MIN, false), "");
    /* a FIFO (which linecache would wait on for a writer) is not read */
    const rc_frame fifo = {"fifo.c", 1, NULL};
    rc_traceback one = {1, 1, &fifo};
    ck_assert_str_eq(tb_text(&one, INT_MAX, false), "  File \"fifo.c\", line 1\n");
    format_dir_end(dir);
}
END_TEST

/* snprintf's contract, as rc_statistic_format; bad arguments. */
START_TEST(traceback_format_contract) {
    const char *dir = format_dir();
    rc_traceback tb = {2, 2, format_frames};
    const char *whole = "  File \"a.c\", line 2\n    return 0;\n  File \"a.c\", line 1\n"
                        "    int main(void) {\n";
    int len = (int)strlen(whole);
    ck_assert_int_eq(rc_traceback_format(&tb, INT_MAX, false, NULL, 0), len);
    char small[10];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(rc_traceback_format(&tb, INT_MAX, true, small, sizeof small), len);
    ck_assert_str_eq(small, "  File \"a");
    ck_assert_int_eq(rc_traceback_format(&tb, INT_MAX, true, small, 1), len);
    ck_assert_str_eq(small, "");
    rc_traceback empty = {0, 0, NULL};
    ck_assert_int_eq(rc_traceback_format(&empty, INT_MAX, false, small, sizeof small), 0);
    ck_assert_str_eq(small, "");
    errno = 0;
    ck_assert_int_eq(rc_traceback_format(NULL, INT_MAX, false, small, sizeof small), -1);
    ck_assert_int_eq(errno, EINVAL);
    const rc_frame nameless = {NULL, 3, "f"};
    rc_traceback bad = {1, 1, &nameless};
    errno = 0;
    ck_assert_int_eq(rc_traceback_format(&bad, INT_MAX, false, small, sizeof small), -1);
    ck_assert_int_eq(errno, EINVAL);
    errno = 0;
    ck_assert_int_eq(rc_traceback_format(&tb, INT_MAX, false, NULL, 5), -1);
    ck_assert_int_eq(errno, EINVAL);
    format_dir_end(dir);
}
END_TEST

/* Numbers read as CPython prints them whatever the program's locale: one
 * with a decimal comma (de_DE, compiled here by localedef into a temporary
 * LOCPATH) printed "size=15,5 KiB" and the collector's "0,0001s elapsed". */
static char gc_done_line[256];
static void keep_done_line(const char *line, void *arg) {
    (void)arg;
    if (strncmp(line, "gc: done", 8) == 0)
        snprintf(gc_done_line, sizeof gc_done_line, "%s", line);
}

START_TEST(numbers_ignore_the_program_locale) {
    char dir[] = "/tmp/rcgc_locale_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char cmd[256];
    snprintf(cmd, sizeof cmd, "localedef -i de_DE -f UTF-8 %s/de_DE.UTF-8 2>&1", dir);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(setenv("LOCPATH", dir, 1), 0);
    ck_assert_ptr_nonnull(setlocale(LC_ALL, "de_DE.UTF-8"));
    char probe[16];
    snprintf(probe, sizeof probe, "%.1f", 1.5);
    ck_assert_str_eq(probe, "1,5"); /* the premise: the program's printf writes a comma */
    char buf[256];
    ck_assert_str_eq(stat_text(15 * 1024 + 512, 1, buf, sizeof buf),
                     "demo.c:42: size=15.5 KiB, count=1, average=15.5 KiB");
    ck_assert_str_eq(diff_text(15 * 1024 + 512, 15 * 1024 + 512, 1, 1, buf, sizeof buf),
                     "demo.c:42: size=15.5 KiB (+15.5 KiB), count=1 (+1), average=15.5 KiB");
    rc_heap *h = rc_heap_new();
    ck_assert_ptr_nonnull(h);
    rc_gc_set_log(h, keep_done_line, NULL);
    rc_gc_set_debug(h, RC_GC_DEBUG_STATS);
    rc_gc_collect(h, 2);
    const char *elapsed = strstr(gc_done_line, "s elapsed");
    ck_assert_ptr_nonnull(elapsed);
    ck_assert(elapsed - gc_done_line >= 6 && elapsed[-5] == '.'); /* "%.4fs": d.dddd */
    rc_heap_free(h);
    setlocale(LC_ALL, "C");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("tracemalloc_format");
    add_case(s, tcase_create("known_texts"), known_texts);
    add_case(s, tcase_create("buffer_contract"), buffer_contract);
    add_case(s, tcase_create("traceback_format_as_python"), traceback_format_as_python);
    add_case(s, tcase_create("traceback_format_contract"), traceback_format_contract);
    add_case(s, tcase_create("python_oracle"), python_oracle);
    add_case(s, tcase_create("numbers_ignore_the_program_locale"),
             numbers_ignore_the_program_locale);
    return s;
}
