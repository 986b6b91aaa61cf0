/*
 * rcgc — reads tracemalloc snapshot dumps (rc_snapshot_dump).
 *
 *   rcgc top FILE [--key lineno|filename|traceback] [--cumulative] [--limit N]
 *            [FILTERS]
 *   rcgc diff OLD NEW [same options]
 *   rcgc show FILE [FILTERS]
 *
 * FILTERS are Snapshot.filter_traces's, applied to every snapshot read
 * before anything is counted: --include/--exclude PATTERN[:LINE] (fnmatch
 * on the most recent frame's file name), --include-any/--exclude-any
 * PATTERN[:LINE] (on any frame: all_frames=True), --all-frames (every file
 * filter on any frame), --domain/--exclude-domain N.
 *
 * Output is tracemalloc's text: "[ Top N ]" or "[ Top N differences ]" then
 * one statistic per line, as Python's recipes print them; with --key
 * traceback each statistic is followed by its frames, most recent first.
 * Exit status: 0 done, 1 a file could not be read or the output written,
 * 2 bad usage. "--" ends the options (a file named "-x" follows it); a
 * FILE of "-" is the standard input. `rcgc --version` prints the version.
 */
#include "../src/internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: rcgc top FILE [--key lineno|filename|traceback] [--cumulative] [--limit N]\n"
    "                [FILTERS]\n"
    "       rcgc diff OLD NEW [--key lineno|filename|traceback] [--cumulative] [--limit N]\n"
    "                [FILTERS]\n"
    "       rcgc show FILE [FILTERS]\n"
    "       rcgc --help | --version\n"
    "\n"
    "Reads snapshots written by rc_snapshot_dump (FILE - : the standard input) and\n"
    "prints tracemalloc's statistics.\n"
    "  top    the biggest allocation sites of FILE\n"
    "  diff   what changed from OLD to NEW, biggest changes first\n"
    "  show   trace count, total size, traceback limit and domains of FILE\n"
    "options:\n"
    "  --key K       group by lineno (default), filename or traceback\n"
    "  --cumulative  count every frame of each traceback, not only the most recent\n"
    "  --limit N     print at most N statistics (default 10)\n"
    "  --help        print this help\n"
    "An option's value follows it, or an '=': --limit 5, --limit=5.\n"
    "filters (tracemalloc's Filter and DomainFilter; the snapshots keep the traces\n"
    "that match an --include, --include-any or --domain, if any is given, and no\n"
    "--exclude, --exclude-any or --exclude-domain):\n"
    "  --include PATTERN[:LINE]  traces allocated in a file matching PATTERN\n"
    "                            (fnmatch: * ? [...]), at line LINE if given\n"
    "  --exclude PATTERN[:LINE]  traces not allocated there\n"
    "  --include-any PATTERN[:LINE]\n"
    "                            traces with any frame of their traceback there\n"
    "  --exclude-any PATTERN[:LINE]\n"
    "                            traces with no frame there\n"
    "  --all-frames              every --include and --exclude looks at every frame\n"
    "                            of a traceback, as --include-any and --exclude-any\n"
    "  --domain N                traces of domain N\n"
    "  --exclude-domain N        traces of any other domain\n";

typedef struct options {
    rc_key_type key;
    bool cumulative;
    size_t limit;
    const char *files[2];
    int nfiles;
    rc_filter *filters; /* malloc'ed; their patterns point into argv */
    size_t nfilters;
    bool all_frames;    /* --all-frames: every file filter on every frame */
} options;

static int bad_usage(const char *fmt, const char *arg) {
    fprintf(stderr, "rcgc: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'rcgc --help'.\n");
    return 2;
}

/* A decimal number of at most max in *out; false if a is not one. */
static bool parse_number(const char *a, unsigned long long max, unsigned long long *out) {
    char *end;
    errno = 0;
    unsigned long long n = strtoull(a, &end, 10);
    if (!isdigit((unsigned char)a[0]) || *end != '\0' || errno || n > max)
        return false;
    *out = n;
    return true;
}

/* Appends f to o's filters; 0, or 1 (the exit status) when memory runs out. */
static int add_filter(options *o, rc_filter f) {
    rc_filter *grown = realloc(o->filters, (o->nfilters + 1) * sizeof *grown);
    if (grown == NULL) {
        fprintf(stderr, "rcgc: %s\n", strerror(errno));
        return 1;
    }
    o->filters = grown;
    o->filters[o->nfilters++] = f;
    return 0;
}

/* A file filter's value: PATTERN, or PATTERN:LINE when what follows the
 * last colon is a number (the colon is cut from the argument); the filter
 * looks at every frame when all_frames (--include-any, --exclude-any). */
static int add_file_filter(options *o, bool inclusive, bool all_frames, char *value) {
    unsigned long long line = 0;
    char *colon = strrchr(value, ':');
    if (colon && isdigit((unsigned char)colon[1])) {
        if (!parse_number(colon + 1, UINT_MAX, &line) || line == 0)
            return bad_usage("bad line number in '%s' (PATTERN:LINE, LINE from 1)", value);
        *colon = '\0';
    }
    return add_filter(o, (rc_filter){inclusive, value, (unsigned)line, all_frames, -1});
}

/* --domain/--exclude-domain's value. */
static int add_domain_filter(options *o, bool inclusive, const char *value) {
    unsigned long long domain;
    if (!parse_number(value, INT_MAX, &domain))
        return bad_usage("bad domain '%s' (a number)", value);
    return add_filter(o, (rc_filter){inclusive, NULL, 0, false, (int)domain});
}

enum { NOT_A_FILTER, FILE_FILTER, DOMAIN_FILTER };

/* The options: whether a value follows, whether only the commands that
 * print statistics (top, diff) take it; for a filter, its kind and its
 * Filter.inclusive and all_frames. */
static const struct option_kind {
    const char *name;
    bool valued, stats;
    unsigned char filter;
    bool inclusive, all_frames;
} option_kinds[] = {
    {"--key", true, true, NOT_A_FILTER, false, false},
    {"--cumulative", false, true, NOT_A_FILTER, false, false},
    {"--limit", true, true, NOT_A_FILTER, false, false},
    {"--all-frames", false, false, NOT_A_FILTER, false, false},
    {"--include", true, false, FILE_FILTER, true, false},
    {"--exclude", true, false, FILE_FILTER, false, false},
    {"--include-any", true, false, FILE_FILTER, true, true},
    {"--exclude-any", true, false, FILE_FILTER, false, true},
    {"--domain", true, false, DOMAIN_FILTER, true, false},
    {"--exclude-domain", true, false, DOMAIN_FILTER, false, false},
};

/* One option of argv at *i, "--name value" or "--name=value" (*i moves
 * past a separate value); 0, or the exit status of an error. `stats`: the
 * command prints statistics. */
static int parse_option(int argc, char **argv, int *i, bool stats, options *o) {
    char *arg = argv[*i], *eq = strchr(arg, '=');
    size_t len = eq ? (size_t)(eq - arg) : strlen(arg);
    const struct option_kind *k = NULL;
    for (size_t j = 0; j < sizeof option_kinds / sizeof option_kinds[0] && !k; j++)
        if (strncmp(arg, option_kinds[j].name, len) == 0 && option_kinds[j].name[len] == '\0' &&
            (stats || !option_kinds[j].stats))
            k = &option_kinds[j];
    if (k == NULL)
        return bad_usage("unknown option '%s'", arg);
    const char *a = k->name;
    if (eq && !k->valued)
        return bad_usage("%s takes no value", a);
    if (k->valued && !eq && *i + 1 == argc)
        return bad_usage("%s needs a value", a);
    char *value = eq ? eq + 1 : k->valued ? argv[++*i] : NULL;
    if (k->filter == FILE_FILTER)
        return add_file_filter(o, k->inclusive, k->all_frames, value);
    if (k->filter == DOMAIN_FILTER)
        return add_domain_filter(o, k->inclusive, value);
    unsigned long long n;
    if (strcmp(a, "--key") == 0) {
        if (strcmp(value, "lineno") == 0)
            o->key = RC_KEY_LINENO;
        else if (strcmp(value, "filename") == 0)
            o->key = RC_KEY_FILENAME;
        else if (strcmp(value, "traceback") == 0)
            o->key = RC_KEY_TRACEBACK;
        else
            return bad_usage("unknown key '%s' (lineno, filename or traceback)", value);
    } else if (strcmp(a, "--cumulative") == 0) {
        o->cumulative = true;
    } else if (strcmp(a, "--limit") == 0) {
        if (!parse_number(value, SIZE_MAX, &n))
            return bad_usage("bad limit '%s' (a number of lines)", value);
        o->limit = (size_t)n;
    } else { /* --all-frames */
        o->all_frames = true;
    }
    return 0;
}

/* Parses argv[first..] into o (whose filters the caller frees, whatever
 * this returns); 0, or the exit status of an error. */
static int parse_options(int argc, char **argv, int first, int want_files, bool stats, options *o) {
    *o = (options){RC_KEY_LINENO, false, 10, {NULL, NULL}, 0, NULL, 0, false};
    bool options_end = false; /* after "--" every argument is a file */
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (options_end || a[0] != '-' || a[1] == '\0') { /* a file ("-" too) */
            if (o->nfiles == want_files)
                return bad_usage("unexpected argument '%s'", a);
            o->files[o->nfiles++] = a;
        } else if (strcmp(a, "--") == 0) {
            options_end = true;
        } else if ((rc = parse_option(argc, argv, &i, stats, o)) != 0) {
            return rc;
        }
    }
    if (o->nfiles < want_files)
        return bad_usage("%s", want_files == 2 ? "diff needs two snapshot files"
                                               : "missing snapshot file");
    if (o->cumulative && o->key == RC_KEY_TRACEBACK)
        return bad_usage("%s", "--cumulative works with --key lineno or filename only");
    for (size_t k = 0; k < o->nfilters; k++)
        o->filters[k].all_frames |= o->all_frames && o->filters[k].filename_pattern;
    return 0;
}

/* The snapshot in path ("-": the standard input), with o's filters
 * applied; NULL after a message. */
static rc_snapshot *load(const options *o, const char *path) {
    rc_snapshot *s = strcmp(path, "-") == 0 ? rc__snapshot_load_fd(0) : rc_snapshot_load(path);
    if (s == NULL) {
        fprintf(stderr, "rcgc: %s: %s\n", path,
                errno == EINVAL ? "not a valid rcgc snapshot (truncated, corrupted or another format)"
                                : strerror(errno));
        return NULL;
    }
    if (o->nfilters == 0)
        return s;
    rc_snapshot *kept = rc_snapshot_filter_traces(s, o->filters, o->nfilters);
    if (kept == NULL)
        fprintf(stderr, "rcgc: %s: %s\n", path, strerror(errno));
    rc_snapshot_free(s);
    return kept;
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
    rc_snapshot *s = load(o, o->files[0]);
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
    rc_snapshot *old = load(o, o->files[0]);
    rc_snapshot *now = old ? load(o, o->files[1]) : NULL;
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
    rc_snapshot *s = load(o, o->files[0]);
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
    if (strcmp(cmd, "--version") == 0) {
        printf("rcgc %s\n", rc_version());
        return written(0);
    }
    for (int i = 2; i < argc && strcmp(argv[i], "--") != 0; i++) /* after --: file names */
        if (strcmp(argv[i], "--help") == 0) {
            fputs(usage, stdout);
            return written(0);
        }
    int (*run)(const options *) = strcmp(cmd, "top") == 0    ? top
                                  : strcmp(cmd, "diff") == 0 ? diff
                                  : strcmp(cmd, "show") == 0 ? show
                                                             : NULL;
    if (run == NULL)
        return bad_usage("unknown command '%s' (top, diff or show)", cmd);
    options o;
    int rc = parse_options(argc, argv, 2, run == diff ? 2 : 1, run != show, &o);
    if (rc == 0)
        rc = written(run(&o));
    free(o.filters);
    return rc;
}
