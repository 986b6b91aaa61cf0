/*
 * fuzz_snapshot_load.c — libFuzzer target for the snapshot loader: any
 * bytes must give a snapshot or NULL + EINVAL/ENOMEM, never a crash or an
 * out-of-bounds read. Each input is parsed twice: as rc_snapshot_load does
 * (checksum checked) and with the checksum skipped, so that mutations reach
 * the structure checks behind it. A snapshot that loads is then used by
 * every reader: statistics, differences (with itself and, both ways, with
 * a filtered copy, whose strings are another snapshot's), filters, text
 * and dump; what it dumps must load again (checksum checked) and equal it:
 * the same totals and domains, no difference under any key. The bytes are
 * also read as rc_snapshot_load reads a file (its window refilled from a
 * descriptor, here a memfd): the answer must be the parse's.
 */
#define _GNU_SOURCE /* memfd_create */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

_Noreturn static void fail(const char *msg) {
    fprintf(stderr, "fuzz_snapshot_load: %s\n", msg);
    abort();
}

/* Every difference between a and b under every key is zero. */
static void check_same(const rc_snapshot *a, const rc_snapshot *b) {
    size_t n;
    for (int key = RC_KEY_FILENAME; key <= RC_KEY_TRACEBACK; key++)
        for (int cumulative = 0; cumulative < 2; cumulative++) {
            rc_statistic_diff *d = rc_snapshot_compare_to(a, b, (rc_key_type)key, cumulative, &n);
            for (size_t i = 0; d && i < n; i++)
                if (d[i].size_diff != 0 || d[i].count_diff != 0)
                    fail("a dumped snapshot loads with a difference");
            free(d);
        }
}

/* s, dumped and loaded again, is the same snapshot. The dump's file is
 * made for this call and removed as soon as it has loaded, before any
 * check can abort: no file is left behind (libFuzzer's timeouts and
 * crashes skip atexit handlers). Its directory is $TMPDIR whole, or /tmp. */
static void round_trip(const rc_snapshot *s) {
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    size_t len = strlen(dir) + sizeof "/fuzz_snapshot_XXXXXX";
    char *path = malloc(len);
    if (path == NULL)
        return;
    snprintf(path, len, "%s/fuzz_snapshot_XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0)
        fail("mkstemp");
    close(fd);
    int dumped = rc_snapshot_dump(s, path);
    rc_snapshot *t = dumped == 0 ? rc_snapshot_load(path) : NULL;
    int load_errno = errno;
    unlink(path);
    free(path);
    if (dumped != 0)
        return; /* out of memory or disk: nothing to compare */
    if (t == NULL) {
        if (load_errno == ENOMEM)
            return;
        fail("a dumped snapshot does not load");
    }
    rc_snapshot_info a = {0}, b = {0}; /* each may fail alone (ENOMEM): both are freed */
    bool have_a = rc__snapshot_info(s, &a) == 0, have_b = rc__snapshot_info(t, &b) == 0;
    if (have_a && have_b) {
        if (a.traceback_limit != b.traceback_limit || a.traces != b.traces || a.size != b.size ||
            a.tracebacks != b.tracebacks || a.untraced != b.untraced || a.ndomains != b.ndomains)
            fail("a dumped snapshot loads with other totals");
        for (size_t i = 0; i < a.ndomains; i++)
            if (a.domains[i].domain != b.domains[i].domain ||
                a.domains[i].traces != b.domains[i].traces || a.domains[i].size != b.domains[i].size)
                fail("a dumped snapshot loads with other domains");
    }
    free(a.domains);
    free(b.domains);
    check_same(s, t);
    check_same(t, s);
    rc_snapshot_free(t);
}

/* The bytes read from a descriptor (rc__snapshot_load_fd, rc_snapshot_load's
 * reader) give what their parse in memory gave (parsed, NULL + parse_errno):
 * both NULL, or the same snapshot; a shortage of memory in either is no
 * answer. */
static void load_as_file(const uint8_t *data, size_t size, const rc_snapshot *parsed,
                         int parse_errno) {
    int fd = memfd_create("fuzz_snapshot", MFD_CLOEXEC);
    if (fd < 0)
        fail("memfd_create");
    for (size_t done = 0; done < size;) {
        ssize_t n = write(fd, data + done, size - done);
        if (n <= 0)
            fail("write to the memfd");
        done += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        fail("lseek");
    rc_snapshot *t = rc__snapshot_load_fd(fd);
    int load_errno = errno;
    close(fd);
    if ((parsed == NULL && parse_errno == ENOMEM) || (t == NULL && load_errno == ENOMEM)) {
        rc_snapshot_free(t);
        return;
    }
    if ((t == NULL) != (parsed == NULL))
        fail(t ? "bytes the parse refuses load from a file" : "bytes that parse do not load from a file");
    if (t) {
        check_same(parsed, t);
        check_same(t, parsed);
    }
    rc_snapshot_free(t);
}

static void use(const rc_snapshot *s) {
    size_t n;
    char line[256];
    for (int key = RC_KEY_FILENAME; key <= RC_KEY_TRACEBACK; key++)
        for (int cumulative = 0; cumulative < 2; cumulative++) {
            rc_statistic *st = rc_snapshot_statistics(s, (rc_key_type)key, cumulative, &n);
            for (size_t i = 0; st && i < n && i < 8; i++)
                rc_statistic_format(&st[i], line, sizeof line);
            free(st);
            rc_statistic_diff *d = rc_snapshot_compare_to(s, s, (rc_key_type)key, cumulative, &n);
            for (size_t i = 0; d && i < n && i < 8; i++)
                rc_statistic_diff_format(&d[i], line, sizeof line);
            free(d);
        }
    const rc_filter filters[] = {{true, "*[a-c]?.c", 0, true, -1}, {false, "<unknown>", 0, false, 0},
                                 {true, NULL, 0, false, 1}};
    rc_snapshot *f = rc_snapshot_filter_traces(s, filters, 3);
    for (int key = RC_KEY_FILENAME; f && key <= RC_KEY_TRACEBACK; key++) {
        rc_statistic_diff *d = rc_snapshot_compare_to(s, f, (rc_key_type)key, key & 1, &n);
        for (size_t i = 0; d && i < n && i < 8; i++)
            rc_statistic_diff_format(&d[i], line, sizeof line);
        free(d);
        /* (cumulative only where allowed: not with RC_KEY_TRACEBACK) */
        d = rc_snapshot_compare_to(f, s, (rc_key_type)key, key != RC_KEY_TRACEBACK && !(key & 1),
                                   &n);
        for (size_t i = 0; d && i < n && i < 8; i++)
            rc_statistic_diff_format(&d[i], line, sizeof line);
        free(d);
    }
    rc_snapshot_free(f);
    rc_snapshot_info info;
    if (rc__snapshot_info(s, &info) == 0)
        free(info.domains);
    round_trip(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    for (int check = 1; check >= 0; check--) {
        rc_snapshot *s = rc__snapshot_parse(data, size, check);
        int parse_errno = errno;
        if (check)
            load_as_file(data, size, s, parse_errno);
        if (s)
            use(s);
        rc_snapshot_free(s);
    }
    return 0;
}
