/*
 * rcgc — reads tracemalloc snapshot dumps (rc_snapshot_dump).
 *
 *   rcgc top FILE [--key lineno|filename|traceback] [--cumulative] [--limit N]
 *   rcgc diff OLD NEW [same options]
 *   rcgc show FILE
 *
 * Output is tracemalloc's text: "[ Top N ]" or "[ Top N differences ]" then
 * one statistic per line, as Python's recipes print them; with --key
 * traceback each statistic is followed by its frames, most recent first.
 * Exit status: 0 done, 1 a file could not be read or the output written,
 * 2 bad usage. "--" ends the options (a file named "-x" follows it).
 */
#include "../src/internal.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rcgc top FILE [--key lineno|filename|traceback] [--cumulative] [--limit N]\n"
    "       rcgc diff OLD NEW [--key lineno|filename|traceback] [--cumulative] [--limit N]\n"
    "       rcgc show FILE\n"
    "\n"
    "Reads snapshots written by rc_snapshot_dump and prints tracemalloc's statistics.\n"
    "  top    the biggest allocation sites of FILE\n"
    "  diff   what changed from OLD to NEW, biggest changes first\n"
    "  show   trace count, total size, traceback limit and domains of FILE\n"
    "options:\n"
    "  --key K       group by lineno (default), filename or traceback\n"
    "  --cumulative  count every frame of each traceback, not only the most recent\n"
    "  --limit N     print at most N statistics (default 10)\n"
    "  --help        print this help\n";

typedef struct options {
    rc_key_type key;
    bool cumulative;
    size_t limit;
    const char *files[2];
    int nfiles;
} options;

static int bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "rcgc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'rcgc --help'.\n");
    return 2;
}

/* Parses argv[first..] into o; 0, or the exit status of a usage error. */
static int parse_options(int argc, char **argv, int first, int want_files, bool stats, options *o) {
    *o = (options){RC_KEY_LINENO, false, 10, {NULL, NULL}, 0};
    bool options_end = false; /* after "--" every argument is a file */
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (options_end || a[0] != '-' || a[1] == '\0') { /* a file ("-" too) */
            if (o->nfiles == want_files)
                return bad_usage("unexpected argument '%s'", a);
            o->files[o->nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_end = true;
        } else if (stats && strcmp(a, "--key") == 0) {
            if (++i == argc)
                return bad_usage("%s needs a value", a);
            if (strcmp(argv[i], "lineno") == 0)
                o->key = RC_KEY_LINENO;
            else if (strcmp(argv[i], "filename") == 0)
                o->key = RC_KEY_FILENAME;
            else if (strcmp(argv[i], "traceback") == 0)
                o->key = RC_KEY_TRACEBACK;
            else
                return bad_usage("unknown key '%s' (lineno, filename or traceback)", argv[i]);
        } else if (stats && strcmp(a, "--cumulative") == 0) {
            o->cumulative = true;
        } else if (stats && strcmp(a, "--limit") == 0) {
            if (++i == argc)
                return bad_usage("%s needs a value", a);
            char *end;
            errno = 0;
            unsigned long long n = strtoull(argv[i], &end, 10);
            if (!isdigit((unsigned char)argv[i][0]) || *end != '\0' || errno)
                return bad_usage("bad limit '%s' (a number of lines)", argv[i]);
            o->limit = (size_t)n;
        } else {
            return bad_usage("unknown option '%s'", a);
        }
    }
    if (o->nfiles < want_files)
        return bad_usage("%s", want_files == 2 ? "diff needs two snapshot files"
                                               : "missing snapshot file");
    if (o->cumulative && o->key == RC_KEY_TRACEBACK)
        return bad_usage("%s", "--cumulative works with --key lineno or filename only");
    return 0;
}

static rc_snapshot *load(const char *path) {
    rc_snapshot *s = rc_snapshot_load(path);
    if (s == NULL)
        fprintf(stderr, "rcgc: %s: %s\n", path,
                errno == EINVAL ? "not a valid rcgc snapshot (truncated, corrupted or another format)"
                                : strerror(errno));
    return s;
}

static void print_frames(const rc_traceback *tb) {
    for (unsigned i = 0; i < tb->nframe; i++) {
        const rc_frame *f = &tb->frames[i];
        printf("  File \"%s\", line %u", f->filename, f->lineno);
        if (f->function)
            printf(", in %s", f->function);
        putchar('\n');
    }
}

/* Prints one statistic (or difference) line through the library's text. */
static void print_line(const rc_statistic *st, const rc_statistic_diff *d) {
    char small[512], *buf = small;
    int n = st ? rc_statistic_format(st, small, sizeof small)
               : rc_statistic_diff_format(d, small, sizeof small);
    if (n >= (int)sizeof small && (buf = malloc((size_t)n + 1)) != NULL) {
        if (st)
            rc_statistic_format(st, buf, (size_t)n + 1);
        else
            rc_statistic_diff_format(d, buf, (size_t)n + 1);
    }
    puts(buf ? buf : small);
    if (buf != small)
        free(buf);
}

static int top(const options *o) {
    rc_snapshot *s = load(o->files[0]);
    if (s == NULL)
        return 1;
    size_t n;
    rc_statistic *st = rc_snapshot_statistics(s, o->key, o->cumulative, &n);
    if (st == NULL) {
        fprintf(stderr, "rcgc: %s\n", strerror(errno));
        rc_snapshot_free(s);
        return 1;
    }
    printf("[ Top %zu ]\n", o->limit);
    for (size_t i = 0; i < n && i < o->limit; i++) {
        print_line(&st[i], NULL);
        if (o->key == RC_KEY_TRACEBACK)
            print_frames(&st[i].traceback);
    }
    free(st);
    rc_snapshot_free(s);
    return 0;
}

static int diff(const options *o) {
    rc_snapshot *old = load(o->files[0]);
    rc_snapshot *now = old ? load(o->files[1]) : NULL;
    if (now == NULL) {
        rc_snapshot_free(old);
        return 1;
    }
    size_t n;
    rc_statistic_diff *d = rc_snapshot_compare_to(now, old, o->key, o->cumulative, &n);
    if (d == NULL) {
        fprintf(stderr, "rcgc: %s\n", strerror(errno));
    } else {
        printf("[ Top %zu differences ]\n", o->limit);
        for (size_t i = 0; i < n && i < o->limit; i++) {
            print_line(NULL, &d[i]);
            if (o->key == RC_KEY_TRACEBACK)
                print_frames(&d[i].traceback);
        }
    }
    free(d);
    rc_snapshot_free(old);
    rc_snapshot_free(now);
    return d ? 0 : 1;
}

static int show(const options *o) {
    rc_snapshot *s = load(o->files[0]);
    if (s == NULL)
        return 1;
    rc_snapshot_info info;
    int rc = rc__snapshot_info(s, &info);
    rc_snapshot_free(s);
    if (rc < 0) {
        fprintf(stderr, "rcgc: %s\n", strerror(errno));
        return 1;
    }
    printf("snapshot: %s\n", o->files[0]);
    printf("traces: %zu\n", info.traces);
    printf("total size: %zu B\n", info.size);
    printf("traceback limit: %u\n", info.traceback_limit);
    printf("tracebacks: %zu\n", info.tracebacks);
    printf("untraced allocations: %zu\n", info.untraced);
    printf("domains: %zu\n", info.ndomains);
    for (size_t i = 0; i < info.ndomains; i++)
        printf("  domain %u: %zu traces, %zu B\n", info.domains[i].domain,
               info.domains[i].traces, info.domains[i].size);
    free(info.domains);
    return 0;
}

/* A command's exit status, or 1 when its output could not be written (a
 * full disk; a closed pipe sends SIGPIPE first): a report cut short must
 * not look complete. */
static int written(int rc) {
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "rcgc: writing the output: %s\n", strerror(errno));
        return 1;
    }
    return rc;
}

int main(int argc, char **argv) {
    if (argc < 2)
        return bad_usage("%s", "missing command (top, diff or show)");
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        fputs(usage, stdout);
        return written(0);
    }
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) /* after --: file names */
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return written(0);
        }
    options o;
    int rc;
    if (strcmp(cmd, "top") == 0)
        return (rc = parse_options(argc, argv, 2, 1, true, &o)) ? rc : written(top(&o));
    if (strcmp(cmd, "diff") == 0)
        return (rc = parse_options(argc, argv, 2, 2, true, &o)) ? rc : written(diff(&o));
    if (strcmp(cmd, "show") == 0)
        return (rc = parse_options(argc, argv, 2, 1, false, &o)) ? rc : written(show(&o));
    return bad_usage("unknown command '%s' (top, diff or show)", cmd);
}
