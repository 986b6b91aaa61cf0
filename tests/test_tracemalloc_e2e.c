/*
 * test_tracemalloc_e2e.c — end to end: compiles a small program with
 * `cc -g` (the compiler that built the library) against it, runs it with
 * nframe 1 and 8 (it dumps
 * a snapshot), and finds the exact file:line of its allocations, and of
 * their callers, in `rcgc top`/`diff`/`show` output; then the command's
 * error messages and exit codes. Paths come from RCGC_SOURCE_DIR and
 * RCGC_BINARY_DIR (set by CTest).
 */
#define _GNU_SOURCE
#include "check_main.h"
#include "test_support.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The sanitizer flags this test was built with, which programs linked with
 * librcgc.a need too. */
#ifdef TEST_ASAN
#define TEST_SAN "-fsanitize=address,undefined"
#else
#define TEST_SAN ""
#endif

/* The compiler that built the library (CTest sets RCGC_CC, shell words:
 * "'/path/to/cc'" or "'/usr/bin/ccache' gcc"): a sanitizer's runtime, and
 * the code it links, are the compiler's own. */
static const char *compiler(void) {
    const char *cc = getenv("RCGC_CC");
    return cc && *cc ? cc : "cc";
}

/* The program; markers name the lines the test looks for. */
static const char *const program[] = {
    "#include <rcgc.h>",
    "#include <stdlib.h>",
    "static void *volatile keep[32];",
    "__attribute__((noinline)) static void *make_node(rc_heap *h, int i) {",
    "    void *p = rc_malloc(h, 100 + (size_t)i); /* ALLOC */",
    "    return p;",
    "}",
    "__attribute__((noinline)) static void build(rc_heap *h) {",
    "    for (int i = 0; i < 20; i++)",
    "        keep[i] = make_node(h, i); /* CALL */",
    "}",
    "int main(int argc, char **argv) {",
    "    rc_heap *h = rc_heap_new();",
    "    if (argc != 3 || rc_tracemalloc_start(h, atoi(argv[1])) != 0)",
    "        return 2;",
    "    build(h); /* MAIN */",
    "    void *big = rc_malloc(h, 1 << 20); /* BIG */",
    "    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);",
    "    if (s == NULL || rc_snapshot_dump(s, argv[2]) != 0)",
    "        return 3;",
    "    rc_snapshot_free(s);",
    "    for (int i = 0; i < 20; i++)",
    "        rc_free(h, keep[i]);",
    "    rc_free(h, big);",
    "    return (int)rc_heap_free(h);",
    "}",
};

static unsigned line_of(const char *marker) {
    for (size_t i = 0; i < sizeof program / sizeof program[0]; i++)
        if (strstr(program[i], marker))
            return (unsigned)i + 1;
    ck_abort_msg("no marker %s", marker);
    return 0;
}

static char dir[64];
static char *rcgc; /* path of the rcgc command */
/* The source and build trees as links in dir (dir/.src, dir/.bin): their
 * own paths may hold spaces, which the shell commands here do not quote. */
static char src_tree[80], bin_tree[80];

static const char *env(const char *name) {
    const char *v = getenv(name);
    ck_assert_msg(v != NULL, "%s is not set (run the test through ctest)", name);
    return v;
}

static void setup(void) {
    strcpy(dir, "/tmp/rcgc_e2e_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(src_tree, sizeof src_tree, "%s/.src", dir);
    snprintf(bin_tree, sizeof bin_tree, "%s/.bin", dir);
    ck_assert_int_eq(symlink(env("RCGC_SOURCE_DIR"), src_tree), 0);
    ck_assert_int_eq(symlink(env("RCGC_BINARY_DIR"), bin_tree), 0);
    ck_assert_int_ge(asprintf(&rcgc, "%s/rcgc", bin_tree), 0);
}

static void teardown(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(rcgc);
}

/* Runs cmd through the shell; its stdout in *out (malloc'ed), exit code. */
static int run(const char *cmd, char **out) {
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0)
        if ((len += n) + 1 == cap)
            buf = realloc(buf, cap *= 2);
    buf[len] = '\0';
    int status = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Writes prog.c and compiles it with flags into dir/out, linked with
 * librcgc.a, or with a copy without debug information (nodebug). */
static void compile_program(const char *flags, const char *out_name, bool nodebug) {
    char path[128];
    snprintf(path, sizeof path, "%s/prog.c", dir);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    for (size_t i = 0; i < sizeof program / sizeof program[0]; i++)
        fprintf(f, "%s\n", program[i]);
    fclose(f);
    const char *san = TEST_SAN;
    char *cmd, *out, lib[128];
    snprintf(lib, sizeof lib, "%s/librcgc.a", bin_tree);
    if (nodebug) {
        ck_assert_int_ge(asprintf(&cmd, "objcopy --strip-debug %s %s/nodebug.a", lib, dir), 0);
        ck_assert_int_eq(run(cmd, NULL), 0);
        free(cmd);
        snprintf(lib, sizeof lib, "%s/nodebug.a", dir);
    }
    ck_assert_int_ge(asprintf(&cmd,
                              "cd %s && %s %s %s -I%s/include prog.c %s "
                              "$(pkg-config --libs libdw) -lpthread -lm -o %s 2>&1",
                              dir, compiler(), flags, san, src_tree, lib, out_name),
                     0);
    int rc = run(cmd, &out);
    ck_assert_msg(rc == 0, "compiling failed: %.300s", out);
    free(out);
    free(cmd);
}

/* Runs dir/prog with nframe; the dump's path in dump. */
static const char *trace_program(const char *prog, int nframe, char *dump, size_t len) {
    snprintf(dump, len, "%s/%s%d.snap", dir, prog, nframe);
    char cmd[256];
    snprintf(cmd, sizeof cmd, "cd %s && ./%s %d %s", dir, prog, nframe, dump);
    ck_assert_int_eq(run(cmd, NULL), 0);
    return dump;
}

/* Runs script (sh) in dir, with $SRC the source tree, $BIN the build tree,
 * $CC the compiler and $SAN the sanitizer flags (TEST_SAN); its output
 * (stderr too) and exit code. */
static int run_script(const char *script, char **out) {
    setenv("CC", "rcgc_cc", 1); /* $CC, split by the shell, calls: */
    setenv("SAN", TEST_SAN, 1);
    setenv("SRC", src_tree, 1);
    setenv("BIN", bin_tree, 1);
    char *cmd;
    ck_assert_int_ge(asprintf(&cmd, "rcgc_cc() { %s \"$@\"; }; cd %s && { %s; } 2>&1", compiler(),
                              dir, script),
                     0);
    int rc = run(cmd, out);
    free(cmd);
    return rc;
}

/* Runs script as run_script does and checks that it succeeds with output
 * want. Not under Valgrind: see rcgc_finds_lines_and_callers. */
static void expect_script(const char *script, const char *want) {
    if (getenv("RCGC_VALGRIND"))
        return;
    char *out;
    ck_assert_int_eq(run_script(script, &out), 0);
    ck_assert_str_eq(out, want);
    free(out);
}

/* rcgc with args; its stdout, and its exit code checked. */
static char *rcgc_out(int want_rc, const char *args) {
    char *cmd, *out;
    ck_assert_int_ge(asprintf(&cmd, "%s %s 2>&1", rcgc, args), 0);
    int rc = run(cmd, &out);
    ck_assert_msg(rc == want_rc, "`rcgc %s` exited %d, not %d: %.300s", args, rc, want_rc, out);
    free(cmd);
    return out;
}

static void expect_line(const char *out, const char *fmt, unsigned line) {
    char want[256];
    snprintf(want, sizeof want, fmt, line);
    ck_assert_msg(strstr(out, want) != NULL, "no '%s' in:\n%.500s", want, out);
}

/* Under valgrind (RCGC_VALGRIND=1) every child runs inside it too: the
 * compiler would take minutes and proves nothing about our memory use, so
 * the valgrind twin of this test stops here; rcgc_errors runs rcgc there. */
START_TEST(rcgc_finds_lines_and_callers) {
    if (getenv("RCGC_VALGRIND"))
        return;
    compile_program("-g -O0", "prog", false);
    unsigned alloc = line_of("ALLOC"), call = line_of("CALL"), main_line = line_of("MAIN"),
             big = line_of("BIG");
    char d1[128], d8[128], args[512];
    trace_program("prog", 1, d1, sizeof d1);
    trace_program("prog", 8, d8, sizeof d8);

    /* nframe 1: the allocation lines, exactly, and no caller. */
    snprintf(args, sizeof args, "top %s", d1);
    char *out = rcgc_out(0, args);
    ck_assert_msg(strncmp(out, "[ Top 10 ]\n", 11) == 0, "%s", out);
    expect_line(out, "\nprog.c:%u: size=1024 KiB, count=1, average=1024 KiB\n", big);
    expect_line(out, "\nprog.c:%u: size=2190 B, count=20, average=110 B\n", alloc);
    free(out);
    snprintf(args, sizeof args, "top %s --cumulative", d1);
    out = rcgc_out(0, args);
    char no_caller[64];
    snprintf(no_caller, sizeof no_caller, "prog.c:%u:", call);
    ck_assert_ptr_null(strstr(out, no_caller));
    free(out);

    /* nframe 8: the callers, through DWARF. */
    snprintf(args, sizeof args, "top %s --cumulative --limit 50", d8);
    out = rcgc_out(0, args);
    ck_assert_msg(strncmp(out, "[ Top 50 ]\n", 11) == 0, "%s", out);
    expect_line(out, "\nprog.c:%u: size=2190 B, count=20, average=110 B\n", alloc);
    expect_line(out, "\nprog.c:%u: size=2190 B, count=20, average=110 B\n", call);
    expect_line(out, "\nprog.c:%u: size=2190 B, count=20, average=110 B\n", main_line);
    expect_line(out, "\nprog.c:%u: size=1024 KiB, count=1, average=1024 KiB\n", big);
    free(out);
    snprintf(args, sizeof args, "top %s --key traceback", d8);
    out = rcgc_out(0, args);
    expect_line(out, "\nprog.c:%u: size=2190 B, count=20, average=110 B\n", alloc);
    expect_line(out, "\n  File \"prog.c\", line %u, in make_node\n", alloc);
    expect_line(out, "\n  File \"prog.c\", line %u, in build\n", call);
    expect_line(out, "\n  File \"prog.c\", line %u, in main\n", main_line);
    free(out);
    snprintf(args, sizeof args, "top %s --key filename --limit 1", d8);
    out = rcgc_out(0, args);
    ck_assert_str_eq(out, "[ Top 1 ]\nprog.c:0: size=1026 KiB, count=21, average=48.9 KiB\n");
    free(out);

    /* diff: the same lines on both sides. */
    snprintf(args, sizeof args, "diff %s %s", d1, d8);
    out = rcgc_out(0, args);
    ck_assert_msg(strncmp(out, "[ Top 10 differences ]\n", 23) == 0, "%s", out);
    expect_line(out, "\nprog.c:%u: size=2190 B (+0 B), count=20 (+0), average=110 B\n", alloc);
    free(out);

    snprintf(args, sizeof args, "show %s", d8);
    out = rcgc_out(0, args);
    ck_assert(strstr(out, "\ntraces: 21\n") != NULL);
    ck_assert(strstr(out, "\ntotal size: 1050766 B\n") != NULL);
    ck_assert(strstr(out, "\ntraceback limit: 8\n") != NULL);
    ck_assert(strstr(out, "\ndomains: 1\n  domain 0: 21 traces, 1050766 B\n") != NULL);
    free(out);
}
END_TEST

/* Without debug information (program and library) the callers are named
 * by their function; without symbols either, as binary+0xOFFSET (and the
 * library's own frames cannot be told apart). frames[0] is the call site
 * in both. */
START_TEST(callers_without_debug_info) {
    if (getenv("RCGC_VALGRIND"))
        return; /* see rcgc_finds_lines_and_callers */
    compile_program("-O0", "plain", true); /* librcgc found by its symbols */
    compile_program("-O0 -s", "stripped", false);
    unsigned alloc = line_of("ALLOC");
    char dump[128], args[512];
    trace_program("plain", 8, dump, sizeof dump);
    snprintf(args, sizeof args, "top %s --key traceback", dump);
    char *out = rcgc_out(0, args);
    expect_line(out, "\n  File \"prog.c\", line %u, in make_node\n", alloc);
    char want[128];
    snprintf(want, sizeof want, "\n  File \"prog.c\", line %u, in make_node\n"
                                "  File \"build\", line 0, in build\n", alloc);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out); /* no library frame between */
    ck_assert_msg(strstr(out, "\n  File \"main\", line 0, in main\n") != NULL, "%s", out);
    free(out);
    trace_program("stripped", 8, dump, sizeof dump);
    snprintf(args, sizeof args, "top %s --key traceback", dump);
    out = rcgc_out(0, args);
    expect_line(out, "\n  File \"prog.c\", line %u, in make_node\n", alloc);
    ck_assert_msg(strstr(out, "\n  File \"stripped+0x") != NULL, "%s", out);
    free(out);
}
END_TEST

/* Without .debug_aranges (Clang writes none unless asked; here the section
 * is removed from a GCC build), where libdw 0.188 finds no compilation unit
 * by address: each unit's own ranges are searched (src/frames.c, unit_at),
 * so the lines and callers are found as with it, and the library's own
 * frames are still told apart. */
START_TEST(callers_without_aranges) {
    if (getenv("RCGC_VALGRIND"))
        return; /* see rcgc_finds_lines_and_callers */
    compile_program("-g -O0", "noaranges", false);
    char *cmd, *out;
    ck_assert_int_ge(asprintf(&cmd, "cd %s && objcopy --remove-section=.debug_aranges noaranges "
                                    "&& ! readelf -S noaranges | grep -q debug_aranges 2>&1", dir),
                     0);
    ck_assert_int_eq(run(cmd, &out), 0);
    free(cmd);
    free(out);
    unsigned alloc = line_of("ALLOC"), call = line_of("CALL"), main_line = line_of("MAIN");
    char dump[128], args[512], want[256];
    trace_program("noaranges", 8, dump, sizeof dump);
    snprintf(args, sizeof args, "top %s --key traceback", dump);
    out = rcgc_out(0, args);
    snprintf(want, sizeof want, "\n  File \"prog.c\", line %u, in make_node\n"
                                "  File \"prog.c\", line %u, in build\n"
                                "  File \"prog.c\", line %u, in main\n", alloc, call, main_line);
    ck_assert_msg(strstr(out, want) != NULL, "%s", out); /* no library frame between */
    free(out);
}
END_TEST

START_TEST(rcgc_errors) {
    char good[128], bad[128], args[512];
    snprintf(good, sizeof good, "%s/good.snap", dir);
    snprintf(bad, sizeof bad, "%s/bad.snap", dir);
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 1);
    void *p = rc_malloc(h, 10);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_int_eq(rc_snapshot_dump(s, good), 0);
    rc_snapshot_free(s);
    rc_free(h, p);
    rc_heap_free(h);
    FILE *f = fopen(bad, "w");
    fputs("not a snapshot\n", f);
    fclose(f);

    /* Under valgrind each run costs seconds: the twin keeps the runs that
     * load files (missing, invalid, valid). */
    bool quick = getenv("RCGC_VALGRIND") != NULL;
    char *out;
    if (quick)
        goto files;
    out = rcgc_out(0, "--help");
    ck_assert(strstr(out, "usage: rcgc top FILE") != NULL);
    free(out);
    out = rcgc_out(2, "");
    ck_assert_str_eq(out, "rcgc: missing command (top, diff or show)\nTry 'rcgc --help'.\n");
    free(out);
    out = rcgc_out(2, "frob x");
    ck_assert_str_eq(out, "rcgc: unknown command 'frob' (top, diff or show)\nTry 'rcgc --help'.\n");
    free(out);
    out = rcgc_out(2, "top");
    ck_assert_str_eq(out, "rcgc: missing snapshot file\nTry 'rcgc --help'.\n");
    free(out);
    snprintf(args, sizeof args, "diff %s", good);
    out = rcgc_out(2, args);
    ck_assert_str_eq(out, "rcgc: diff needs two snapshot files\nTry 'rcgc --help'.\n");
    free(out);
    snprintf(args, sizeof args, "top %s --key bogus", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "top %s --limit -3", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "top %s --limit ' -1'", good); /* strtoull would take it */
    out = rcgc_out(2, args);
    ck_assert_str_eq(out, "rcgc: bad limit ' -1' (a number of lines)\nTry 'rcgc --help'.\n");
    free(out);
    snprintf(args, sizeof args, "top --limit 1 -- %s", good); /* "--" ends the options */
    out = rcgc_out(0, args);
    ck_assert(strncmp(out, "[ Top 1 ]\n", 10) == 0);
    free(out);
    snprintf(args, sizeof args, "top -- %s %s", good, good);
    free(rcgc_out(2, args));
    out = rcgc_out(1, "top -- --help"); /* after --, a file name */
    ck_assert_str_eq(out, "rcgc: --help: No such file or directory\n");
    free(out);
    snprintf(args, sizeof args, "cat %s | %s top /dev/stdin", good, rcgc); /* a pipe */
    ck_assert_int_eq(run(args, &out), 0);
    ck_assert(strncmp(out, "[ Top 10 ]\n", 11) == 0);
    free(out);
    snprintf(args, sizeof args, "cat %s | %s show -", good, rcgc); /* "-": the same */
    ck_assert_int_eq(run(args, &out), 0);
    ck_assert(strstr(out, "snapshot: -\ntraces: 1\n") != NULL);
    free(out);
    /* "-" is read where it is: a socket, which /dev/stdin cannot reopen
     * (ENXIO), and a closed standard input is EBADF */
    snprintf(args, sizeof args,
             "python3 -c 'import socket, subprocess, sys\n"
             "a, b = socket.socketpair()\n"
             "b.sendall(open(sys.argv[1], \"rb\").read())\n"
             "b.close()\n"
             "sys.exit(subprocess.run([sys.argv[2], \"show\", \"-\"], stdin=a).returncode)' %s %s",
             good, rcgc);
    ck_assert_int_eq(run(args, &out), 0);
    ck_assert_msg(strstr(out, "snapshot: -\ntraces: 1\n") != NULL, "%s", out);
    free(out);
    out = rcgc_out(1, "show - <&-");
    ck_assert_str_eq(out, "rcgc: -: Bad file descriptor\n");
    free(out);
    out = rcgc_out(0, "--version");
    ck_assert_str_eq(out, "rcgc " RC_VERSION_STRING "\n");
    free(out);
    free(rcgc_out(1, "--help > /dev/full"));
    /* output lost: not success (2>&1 follows stdout to /dev/full: no message to read) */
    snprintf(args, sizeof args, "top %s > /dev/full", good);
    free(rcgc_out(1, args));
    snprintf(args, sizeof args, "top %s --limit", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "top %s --cumulative --key traceback", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "top %s --frob", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "show %s --limit 3", good);
    free(rcgc_out(2, args));
    snprintf(args, sizeof args, "top %s %s", good, good);
    free(rcgc_out(2, args));

files:
    snprintf(args, sizeof args, "top %s/missing.snap", dir);
    out = rcgc_out(1, args);
    ck_assert(strstr(out, "missing.snap: No such file or directory\n") != NULL);
    free(out);
    snprintf(args, sizeof args, "show %s", bad);
    out = rcgc_out(1, args);
    ck_assert(strstr(out, "bad.snap: not a valid rcgc snapshot") != NULL);
    free(out);
    if (!quick) {
        snprintf(args, sizeof args, "diff %s %s", good, bad);
        free(rcgc_out(1, args));
    }
    snprintf(args, sizeof args, "top %s --limit 0", good);
    out = rcgc_out(0, args);
    ck_assert_str_eq(out, "[ Top 0 ]\n");
    free(out);
}
END_TEST

/* The frames rcgc_filters's provider hands out (test_support.h). */
static scripted_frames script;

/* An allocation of size bytes in the script at these two frames (the
 * second: NULL for none); domain 0 an rc_malloc block, else a trace of
 * rc_tracemalloc_track at address addr. */
static void *script_alloc(rc_heap *h, const char *file, unsigned line, const char *caller,
                          unsigned caller_line, size_t size, unsigned domain, uintptr_t addr) {
    rc_frame f[2] = {{file, line, "f"}, {caller, caller_line, "g"}};
    script = (scripted_frames){f, caller ? 2 : 1};
    if (domain == 0)
        return rc_malloc(h, size);
    ck_assert_int_eq(rc_tracemalloc_track(h, domain, addr, size), 0);
    return NULL;
}

/* The filters of `rcgc top`, `diff` and `show` (Snapshot.filter_traces),
 * with the statistics python3's tracemalloc prints for the same traces
 * (Snapshot built from the raw traces, filter_traces, statistics and
 * compare_to by lineno). */
START_TEST(rcgc_filters) {
    char one[128], two[128], args[512];
    snprintf(one, sizeof one, "%s/one.snap", dir);
    snprintf(two, sizeof two, "%s/two.snap", dir);
    rc_heap *h = rc_heap_new();
    ck_assert_int_eq(rc_tracemalloc_start(h, 8), 0);
    rc_tracemalloc_set_frame_provider(h, scripted_provider, &script);
    void *a = script_alloc(h, "app/parser.c", 10, "app/main.c", 5, 100, 0, 0);
    void *b = script_alloc(h, "app/parser.c", 20, "app/main.c", 5, 200, 0, 0);
    void *c = script_alloc(h, "lib/util.c", 7, "app/parser.c", 10, 400, 0, 0);
    script_alloc(h, "lib/util.c", 7, NULL, 0, 1000, 5, 0x1000);
    rc_snapshot *s = rc_tracemalloc_take_snapshot(h);
    ck_assert_int_eq(rc_snapshot_dump(s, one), 0);
    rc_snapshot_free(s);
    rc_free(h, b);
    void *e = script_alloc(h, "app/parser.c", 10, "app/main.c", 5, 50, 0, 0);
    s = rc_tracemalloc_take_snapshot(h);
    ck_assert_int_eq(rc_snapshot_dump(s, two), 0);
    rc_snapshot_free(s);
    rc_free(h, a);
    rc_free(h, c);
    rc_free(h, e);
    rc_heap_free(h);

    static const struct {
        const char *options, *want;
    } tops[] = {
        {"--include 'app/*'", "[ Top 10 ]\n"
                              "app/parser.c:20: size=200 B, count=1, average=200 B\n"
                              "app/parser.c:10: size=100 B, count=1, average=100 B\n"},
        {"--include 'app/*' --all-frames", "[ Top 10 ]\n"
                                           "lib/util.c:7: size=400 B, count=1, average=400 B\n"
                                           "app/parser.c:20: size=200 B, count=1, average=200 B\n"
                                           "app/parser.c:10: size=100 B, count=1, average=100 B\n"},
        {"--exclude app/parser.c:10", "[ Top 10 ]\n"
                                      "lib/util.c:7: size=1400 B, count=2, average=700 B\n"
                                      "app/parser.c:20: size=200 B, count=1, average=200 B\n"},
        {"--domain 5", "[ Top 10 ]\nlib/util.c:7: size=1000 B, count=1, average=1000 B\n"},
        {"--exclude-domain 5", "[ Top 10 ]\n"
                               "lib/util.c:7: size=400 B, count=1, average=400 B\n"
                               "app/parser.c:20: size=200 B, count=1, average=200 B\n"
                               "app/parser.c:10: size=100 B, count=1, average=100 B\n"},
        /* inclusive filters OR-ed */
        {"--include 'lib/*' --include app/parser.c:20",
         "[ Top 10 ]\n"
         "lib/util.c:7: size=1400 B, count=2, average=700 B\n"
         "app/parser.c:20: size=200 B, count=1, average=200 B\n"},
        /* exclusive ones AND-ed, each on every frame */
        {"--all-frames --exclude '*:10' --exclude 'app/main.c'",
         "[ Top 10 ]\nlib/util.c:7: size=1000 B, count=1, average=1000 B\n"},
        {"--include '*.h'", "[ Top 10 ]\n"},
        /* all_frames per filter: c has app/parser.c:10 below lib/util.c:7 */
        {"--include-any 'app/*' --exclude app/parser.c",
         "[ Top 10 ]\nlib/util.c:7: size=400 B, count=1, average=400 B\n"},
        {"--include-any 'app/*' --exclude app/parser.c --all-frames", "[ Top 10 ]\n"},
        {"--exclude-any app/main.c",
         "[ Top 10 ]\nlib/util.c:7: size=1400 B, count=2, average=700 B\n"},
        {"--include app/parser.c:20 --include-any lib/util.c:7",
         "[ Top 10 ]\n"
         "lib/util.c:7: size=1400 B, count=2, average=700 B\n"
         "app/parser.c:20: size=200 B, count=1, average=200 B\n"},
    };
    /* under valgrind each run costs a second: the twin runs the first of
     * each kind */
    bool quick = getenv("RCGC_VALGRIND") != NULL;
    for (size_t i = 0; i < (quick ? 1 : sizeof tops / sizeof tops[0]); i++) {
        snprintf(args, sizeof args, "top %s %s", one, tops[i].options);
        char *out = rcgc_out(0, args);
        ck_assert_msg(strcmp(out, tops[i].want) == 0, "rcgc %s:\n%s", args, out);
        free(out);
    }
    snprintf(args, sizeof args, "diff %s %s --include 'app/*'", one, two);
    char *out = rcgc_out(0, args);
    ck_assert_str_eq(out, "[ Top 10 differences ]\n"
                          "app/parser.c:20: size=0 B (-200 B), count=0 (-1)\n"
                          "app/parser.c:10: size=150 B (+50 B), count=2 (+1), average=75 B\n");
    free(out);
    snprintf(args, sizeof args, "show %s --domain 5", one);
    out = rcgc_out(0, args);
    ck_assert_msg(strstr(out, "\ntraces: 1\ntotal size: 1000 B\n") != NULL, "%s", out);
    ck_assert_msg(strstr(out, "\ndomains: 1\n  domain 5: 1 traces, 1000 B\n") != NULL, "%s", out);
    free(out);

    static const struct {
        const char *options, *message;
    } errors[] = {
        {"--include", "rcgc: --include needs a value\n"},
        {"--exclude-any", "rcgc: --exclude-any needs a value\n"},
        {"--include-any 'app/*:0'", "rcgc: bad line number in 'app/*:0' (PATTERN:LINE, LINE from 1)\n"},
        {"--include 'app/*:0'", "rcgc: bad line number in 'app/*:0' (PATTERN:LINE, LINE from 1)\n"},
        {"--exclude f.c:99999999999", "rcgc: bad line number in 'f.c:99999999999' (PATTERN:LINE, LINE from 1)\n"},
        {"--domain -1", "rcgc: bad domain '-1' (a number)\n"},
        {"--exclude-domain 2147483648", "rcgc: bad domain '2147483648' (a number)\n"},
        {"--all-frames=1", "rcgc: --all-frames takes no value\n"},
        {"--limits=1", "rcgc: unknown option '--limits=1'\n"},
        {"--key=", "rcgc: unknown key '' (lineno, filename or traceback)\n"},
    };
    for (size_t i = 0; i < (quick ? 1 : sizeof errors / sizeof errors[0]); i++) {
        snprintf(args, sizeof args, "top %s %s", one, errors[i].options);
        out = rcgc_out(2, args);
        char want[256];
        snprintf(want, sizeof want, "%sTry 'rcgc --help'.\n", errors[i].message);
        ck_assert_str_eq(out, want);
        free(out);
    }
    /* --name=value as --name value */
    snprintf(args, sizeof args, "diff %s %s --include=app/* --key=filename --limit=1", one, two);
    out = rcgc_out(0, args);
    ck_assert_str_eq(out, "[ Top 1 differences ]\n"
                          "app/parser.c:0: size=150 B (-150 B), count=2 (+0), average=75 B\n");
    free(out);
    /* a colon followed by no number is part of the pattern */
    snprintf(args, sizeof args, "top %s --include 'app/*:x'", one);
    out = rcgc_out(0, args);
    ck_assert_str_eq(out, "[ Top 10 ]\n");
    free(out);
}
END_TEST

/* Code loaded with dlopen and unloaded with dlclose while what it made
 * lives on (tests/programs): the frames of the macros' call sites keep their
 * names (the tracer copies the plugin's __FILE__), a traceback shown while
 * the plugin was loaded keeps its frames, one first shown after the unload
 * has its return address into code gone resolved in the plugin's file (at
 * the address it had), and a plugin loaded since (most likely where the
 * first was) gets its own lines, not what was cached for the address. */
START_TEST(plugins_loaded_and_unloaded) {
    if (getenv("RCGC_VALGRIND"))
        return; /* see rcgc_finds_lines_and_callers */
    char *out;
    ck_assert_int_eq(run_script("cp $SRC/tests/programs/*.[ch] . && for p in plugb plugc; do "
                                "$CC -g -O0 $SAN -fPIC -shared -I$SRC/include $p.c -o $p.so || exit 1; "
                                "done && $CC -g -O0 -fno-omit-frame-pointer -rdynamic $SAN "
                                "-I$SRC/include host.c $BIN/librcgc.a $(pkg-config --libs libdw) "
                                "-ldl -lpthread -o host && ./host", &out), 0);
    ck_assert_str_eq(out, "loaded: 32 B plugb.c:9 plugb.c:15\n"
                          "unloaded: 48 B plugb.c:9 plugb.c:21\n"
                          "unloaded: 32 B plugb.c:9 plugb.c:15\n"
                          "b after unload: plugb.c:9 plugb.c:15\n"
                          "reloaded: 64 B plugc.c:8 plugc.c:14\n"
                          "reloaded: 48 B plugb.c:9 plugb.c:21\n"
                          "reloaded: 32 B plugb.c:9 plugb.c:15\n"
                          "c: plugc.c:8 plugc.c:14\n");
    free(out);
}
END_TEST

/* Tracebacks of a plugin unloaded, first shown after another plugin was
 * loaded (tests/programs/unload_host.c; glibc most likely loads it where
 * the first was): the first plugin's return addresses are never resolved
 * in the second's code (they were: plugc.c:11), but in the first's file,
 * or while that file is changed, named by it and an offset (the file as it
 * was again, its lines); and the second's, met by a walk in a code table
 * made before the unload, are never taken for the first's (plugb.c:9). */
START_TEST(unloaded_plugin_keeps_its_names) {
    expect_script("cp $SRC/tests/programs/*.[ch] . && for p in plugb plugc; do "
                  "$CC -g -O0 $SAN -fPIC -shared -I$SRC/include $p.c -o $p.so || exit 1; "
                  "done && $CC -g -O0 -fno-omit-frame-pointer -rdynamic $SAN "
                  "-I$SRC/include unload_host.c $BIN/librcgc.a $(pkg-config --libs libdw) "
                  "-ldl -lpthread -o unload_host && ./unload_host",
                  "changed: 48 B plugb.c:9 plugb.so+OFF:0\n"
                  "reloaded: 64 B plugc.c:8 plugc.c:14\n"
                  "reloaded: 32 B plugb.c:9 plugb.c:15\n");
}
END_TEST

/* A function that tail-calls the library (tests/programs/tail_call.c, at
 * -O2 a jump to rc_new_at) is gone from the stack: the first native frame
 * is its caller's and stays (it was taken for the function's own and
 * dropped); a function that calls the library normally shows once. */
START_TEST(tail_call_keeps_caller) {
    expect_script("cp $SRC/tests/programs/tail_call.c . && "
                  "$CC -O2 -g -fno-omit-frame-pointer $SAN -I$SRC/include tail_call.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o tail_call "
                  "&& ./tail_call",
                  "tail: make_tail:12 outer:22 main:39\n"
                  "kept: make_kept:16 outer:23 main:40\n");
}
END_TEST

/* The same in code built with the platform's control-flow hardening
 * (AArch64: -mbranch-protection=standard, whose signed return addresses
 * ended the walk at the first such frame; x86-64: -fcf-protection=full):
 * every frame is kept. */
START_TEST(hardened_code_keeps_its_frames) {
    expect_script("cp $SRC/tests/programs/tail_call.c . && "
                  "case $($CC -dumpmachine) in "
                  "aarch64*) hardening=-mbranch-protection=standard ;; "
                  "x86_64*) hardening=-fcf-protection=full ;; esac && "
                  "$CC -O2 -g -fno-omit-frame-pointer $hardening $SAN -I$SRC/include "
                  "tail_call.c $BIN/librcgc.a $(pkg-config --libs libdw) -lpthread "
                  "-o tail_call && ./tail_call",
                  "tail: make_tail:12 outer:22 main:39\n"
                  "kept: make_kept:16 outer:23 main:40\n");
}
END_TEST

/* Separate debug information found on this machine only
 * (tests/programs/debuglink_*.c): by the library's .gnu_debuglink, beside
 * it or in its .debug directory, not when it is another build's (build
 * ID), nor, for a library without a build ID, when the file's CRC is not
 * the one recorded; and with none found, the debuginfod servers
 * DEBUGINFOD_URLS names are not asked (libdwfl's standard search asked
 * them: its client made its cache directory, and waited on the network),
 * unless RCGC_DEBUGINFOD=1 (where libdw's client, libdebuginfod, is
 * installed: gdb brings it, rcgc's dependencies do not). */
START_TEST(separate_debug_information) {
    expect_script("cp $SRC/tests/programs/debuglink_*.c . && "
                  "lib() { $CC -g -fno-omit-frame-pointer $SAN -fPIC -shared debuglink_lib.c "
                  "-o libdl1.so \"$@\" && objcopy --only-keep-debug libdl1.so libdl1.so.debug && "
                  "objcopy --strip-debug --add-gnu-debuglink=libdl1.so.debug libdl1.so; } && "
                  "lib -O1 && mv libdl1.so.debug other.debug && lib -O0 && "
                  "$CC -g -O0 -fno-omit-frame-pointer $SAN -I$SRC/include debuglink_host.c "
                  "-L. -ldl1 -Wl,-rpath,$PWD $BIN/librcgc.a $(pkg-config --libs libdw) "
                  "-lpthread -o host && "
                  "./host && mkdir .debug && mv libdl1.so.debug .debug/ && ./host && "
                  "cp other.debug .debug/libdl1.so.debug && ./host && rm -r .debug && "
                  "lib -O0 -Wl,--build-id=none && ./host && echo changed >> libdl1.so.debug && "
                  "./host && lib -O0 && rm libdl1.so.debug && "
                  "export DEBUGINFOD_URLS=http://127.0.0.1:1/ DEBUGINFOD_CACHE_PATH=$PWD/cache && "
                  "./host && test ! -e cache && RCGC_DEBUGINFOD=1 ./host && "
                  "{ ! ldconfig -p 2>/dev/null | grep -q 'libdebuginfod\\.so\\.1 ' || test -d cache; }",
                  "lib_call:5\n"  /* beside */
                  "lib_call:5\n"  /* in .debug/ */
                  "lib_call:0\n"  /* another build's */
                  "lib_call:5\n"  /* no build ID: by CRC */
                  "lib_call:0\n"  /* changed */
                  "lib_call:0\n"  /* none: debuginfod not asked */
                  "lib_call:0\n"); /* asked (it answers nothing) */
}
END_TEST

/* A process without /proc (a chroot or a sandbox; tests/programs/
 * no_proc.c fails what reads it): glibc finds the main thread's stack in
 * /proc/self/maps and the program's file is /proc/self/exe, so every
 * traceback stopped at frames[0]. The stack now comes from where it began
 * and RLIMIT_STACK, the file from AT_EXECFN: the same tracebacks. Not
 * under the sanitizers, whose runtimes need the real calls. */
START_TEST(tracebacks_without_proc) {
#ifdef TEST_ASAN
    const char *prog = "tail_call.c";
#else
    const char *prog = "no_proc.c";
#endif
    char *script;
    ck_assert_int_ge(asprintf(&script,
                              "cp $SRC/tests/programs/tail_call.c $SRC/tests/programs/no_proc.c . && "
                              "$CC -O2 -g -fno-omit-frame-pointer $SAN -I$SRC/include %s "
                              "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o prog && ./prog",
                              prog),
                     0);
    expect_script(script, "tail: make_tail:12 outer:22 main:39\n"
                          "kept: make_kept:16 outer:23 main:40\n");
    free(script);
}
END_TEST

/* Files replaced on disk while the program runs (tests/programs/
 * replaced_host.c: new builds, their lines 3 further down, renamed over
 * the library and the program before the first resolution): the library's
 * frame is named file+0xOFFSET and the program's still has its line (read
 * through /proc/self/exe); both had the new files' lines, which name other
 * code. A build ID tells the file loaded from the one there now, and
 * without one (-Wl,--build-id=none, the second round), the device and
 * inode /proc/self/maps gives the mapping. */
START_TEST(files_replaced_while_running) {
    expect_script("cp $SRC/tests/programs/debuglink_lib.c $SRC/tests/programs/replaced_host.c . && "
                  "{ printf '\\n\\n\\n'; cat debuglink_lib.c; } > lib_moved.c && "
                  "{ printf '\\n\\n\\n'; cat replaced_host.c; } > host_moved.c && "
                  "for id in sha1 none; do "
                  "$CC -g -O0 -fno-omit-frame-pointer $SAN -Wl,--build-id=$id -fPIC -shared "
                  "debuglink_lib.c -o libdl1.so && "
                  "$CC -g -O0 -fno-omit-frame-pointer $SAN -Wl,--build-id=$id -fPIC -shared "
                  "lib_moved.c -o libdl1.new && "
                  "for h in replaced_host host_moved; do $CC -g -O0 -fno-omit-frame-pointer $SAN "
                  "-Wl,--build-id=$id -I$SRC/include $h.c -L. -ldl1 -Wl,-rpath,$PWD $BIN/librcgc.a "
                  "$(pkg-config --libs libdw) -lpthread -o $h || exit 1; done && "
                  "./replaced_host && ./replaced_host libdl1.new host_moved || exit 1; done",
                  " lib_call:5 main:30\n"
                  " offset main:30\n"
                  " lib_call:5 main:30\n"
                  " offset main:30\n");
}
END_TEST

/* librcgc.a linked into a shared object (tests/programs/in_shared.c), as a
 * library embedding rcgc would: only rcgc's code in that object is left
 * out of tracebacks (all of the object's code was, which lost the
 * object's own frames and the program's caller of a real function). */
START_TEST(static_library_in_shared_object) {
    expect_script("cp $SRC/tests/programs/in_shared*.c . && "
                  "$CC -g -O0 $SAN -fPIC -shared -I$SRC/include in_shared.c -o libin.so "
                  "-Wl,--whole-archive $BIN/librcgc.a -Wl,--no-whole-archive "
                  "$(pkg-config --libs libdw) -lpthread && "
                  "$CC -g -O0 $SAN -I$SRC/include in_shared_main.c -L. -lin "
                  "-Wl,-rpath,. -o in_shared_main && ./in_shared_main",
                  "macro: in_shared.c:10 in_shared.c:16 in_shared_main.c:20\n"
                  "real: in_shared.c:22 in_shared_main.c:21\n");
}
END_TEST

/* Code without frame pointers that keeps a pointer into its own stack
 * where the frame pointer would be (tests/programs/no_fp.c at -O2): the
 * walk finds stack bytes above it, not a return address into code, and
 * ends there instead of reporting a made-up frame. */
START_TEST(walk_ends_outside_code) {
    expect_script("cp $SRC/tests/programs/no_fp*.c . && "
                  "$CC -O2 -g -fomit-frame-pointer $SAN -I$SRC/include -c no_fp.c && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include no_fp_main.c "
                  "no_fp.o $BIN/librcgc.a $(pkg-config --libs libdw) -lpthread "
                  "-o no_fp && ./no_fp",
                  "no_fp_main.c:11\nno_fp.c:25\n");
}
END_TEST

/* A walk on a stack that is not the thread's (a coroutine's, made by
 * makecontext: tests/programs/coroutine.c) under code that left an
 * inaccessible address in the frame pointer register: the walk ends there
 * (it read the record at that address and crashed), also where a seccomp
 * filter refuses process_vm_readv ("deny": the walk tests the memory by
 * writing it into a pipe). Its stderr is shown only when it fails: ASan
 * warns of any swapcontext. */
START_TEST(walk_on_coroutine_stack) {
    expect_script("cp $SRC/tests/programs/coroutine.c $SRC/tests/programs/coroutine.h . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include coroutine.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o coroutine && "
                  "{ ./coroutine 2>coroutine.err || { cat coroutine.err; false; }; } && "
                  "{ ./coroutine deny 2>coroutine.err || { cat coroutine.err; false; }; }",
                  "coroutine.c:21\n"
                  "coroutine.c:21\n");
}
END_TEST

/* A traceback from a coroutine's stack (tests/programs/coroutine_frames.c)
 * keeps every frame there, also where a seccomp filter refuses
 * process_vm_readv, as Docker's default profile does without
 * CAP_SYS_PTRACE: the walk took the refusal for unreadable memory and the
 * traceback ended at its first frame. */
START_TEST(coroutine_frames_without_process_vm_readv) {
    expect_script("cp $SRC/tests/programs/coroutine_frames.c $SRC/tests/programs/coroutine.h . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include coroutine_frames.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o frames && "
                  "{ ./frames 2>frames.err || { cat frames.err; false; }; } && "
                  "{ ./frames deny 2>frames.err || { cat frames.err; false; }; }",
                  "inner:24 outer:28 entry:33\n"
                  "inner:24 outer:28 entry:33\n");
}
END_TEST

/* The same on a coroutine stack mapped above its thread's stack (a
 * mapping made in a hole there): the walk took only the thread's own stack
 * and stacks below it, and the traceback ended at its first frame. */
START_TEST(coroutine_stack_above_the_threads) {
    expect_script("cp $SRC/tests/programs/coroutine_frames.c $SRC/tests/programs/coroutine.h . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include coroutine_frames.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o frames && "
                  "{ ./frames above 2>frames.err || { cat frames.err; false; }; }",
                  "inner:24 outer:28 entry:33\n");
}
END_TEST

/* The first walk on a thread with a small stack (PTHREAD_STACK_MIN), the
 * library linked in statically (tests/programs/small_stack.c): finding the
 * library's own code read the program's debug information on that stack
 * and overflowed it; rc_tracemalloc_start finds it now. */
START_TEST(first_walk_on_small_stack) {
    expect_script("cp $SRC/tests/programs/small_stack.c . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include small_stack.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o small_stack && "
                  "{ ./small_stack 2>small_stack.err || { cat small_stack.err; false; }; }",
                  "small_stack.c:22\n");
}
END_TEST

/* Resolution on the main thread where its stack cannot grow
 * (tests/programs/stack_limit.c): limited to what is mapped, libdw died of
 * SIGSEGV reading the program's line table; it now runs on a thread of
 * its own then. With 32 MiB of address space, or of data, left: ENOMEM
 * (libdw failed assertions, or exited the program, when its memory ran
 * out). */
START_TEST(resolution_where_the_stack_cannot_grow) {
    expect_script("cp $SRC/tests/programs/stack_limit.c . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include stack_limit.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -o stack_limit && "
                  "./stack_limit",
#ifdef TEST_ASAN
                  "stack limited: stack_limit.c:102\n"
#else
                  "stack limited: stack_limit.c:102\n"
                  "address space short: Cannot allocate memory\n"
                  "then: stack_limit.c:78\n"
                  "data short: Cannot allocate memory\n"
                  "then: stack_limit.c:78\n"
#endif
    );
}
END_TEST

/* Call sites in functions inlined into others, two levels deep
 * (tests/programs/inlined.c at -O2): each inlined function is a frame at
 * its line, then the one it was inlined into at the line of that call, as
 * without inlining (the function holding the call site was taken for the
 * site's own frame and dropped, with every function it was inlined into). */
static void expect_inlined_frames(const char *flags) {
    char *script;
    ck_assert_int_ge(asprintf(&script,
                              "cp $SRC/tests/programs/inlined.c . && "
                              "$CC -O2 -g -fno-omit-frame-pointer %s $SAN -I$SRC/include "
                              "inlined.c $BIN/librcgc.a $(pkg-config --libs libdw) -lpthread "
                              "-o inlined && ./inlined | sed 's/ __libc_start_call_main:[0-9]*//'",
                              flags),
                     0);
    expect_script(script, "make:12 make_twice:16 outer:21 main:36\n"
                          "make:12 make_twice:17 outer:21 main:36\n");
    free(script);
}

START_TEST(inlined_functions_keep_their_frames) { expect_inlined_frames(""); }
END_TEST

/* The same program built with -flto: GCC's link-time units hold the
 * inlined instances, their abstract origins stay in the units written
 * before (its early debug information), and elfutils' dwarf_getscopes,
 * which looks for an origin in the instance's own unit, finds no scope:
 * the traceback was "make:12 outer:12 main:36", make_twice lost and outer
 * at make's line. (A compiler that cannot link with -flto builds the
 * program without it.) */
START_TEST(inlined_functions_keep_their_frames_under_lto) {
    expect_inlined_frames("-flto $(echo 'int main(void){return 0;}' | "
                          "$CC -O2 -flto -x c - -o lto_probe 2>/dev/null || echo -fno-lto)");
}
END_TEST

/* librcgc.a without .debug_aranges (as Clang builds it) linked between
 * two units of a program that have them (tests/programs/gap_main.c): for
 * the library's code dwfl_module_addrdie answered the unit below it, whose
 * source directory was then taken for the library's, so the program's
 * frames were dropped as the library's and the library's were shown. */
START_TEST(library_between_units_with_aranges) {
    expect_script("cp $SRC/tests/programs/gap_*.c . && "
                  "objcopy --remove-section=.debug_aranges $BIN/librcgc.a noaranges.a && "
                  "A=; $CC -gdwarf-aranges -c -x c /dev/null -o /dev/null 2>/dev/null && "
                  "A=-gdwarf-aranges; " /* Clang's; GCC writes them anyway */
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN $A -I$SRC/include "
                  "$PWD/gap_main.c noaranges.a $PWD/gap_late.c "
                  "$(pkg-config --libs libdw) -lpthread -o gap && "
                  "readelf -S gap | grep -q debug_aranges && ./gap",
                  "early:15 main:28\n"
                  "late:7 main:29\n");
}
END_TEST

/* Units whose ranges interleave and overlap (tests/programs/overlap_*.c:
 * GCC's assembly of overlap_outer.c edited so that its ranges are o1 to
 * the end of o3, and o2 to o3, both over o2 of overlap_mid.c, which the
 * walk of units meets first), without .debug_aranges: the index of units
 * (src/frames.c) gives each frame the unit the walk gives, so the same
 * lines as with the section; a frame got no line when the index chose
 * the unit later in the walk (o2), or stopped at the ranges ending at o3
 * looking for o3's unit. Then with aranges for overlap_outer.c's unit only
 * (overlap_mid.c's removed, as Clang writes none): o2 lies in a gap of
 * them, where libdwfl answered the unit below, whose ranges reach over o2
 * but whose lines do not (o2:0). */
START_TEST(overlapping_units_without_aranges) {
    expect_script("cp $SRC/tests/programs/overlap_*.c . && "
                  "gcc -S -g -gdwarf-4 -O0 -fno-omit-frame-pointer -ffunction-sections "
                  "-I$SRC/include overlap_outer.c -o plain.s && "
                  "awk '/^\\.Ldebug_ranges0:/ { print; for (i = 0; i < 5; i++) getline q[i]; "
                  "if (q[4] !~ /\\.(quad|8byte)\t0$/) exit 1; d = q[4]; sub(/0$/, \"\", d); "
                  "print q[0]; print q[3]; print d \"o2\"; print q[2]; print q[4]; next } "
                  "{ print }' plain.s > overlap_outer.s && "
                  "$CC -g -O0 -fno-omit-frame-pointer -ffunction-sections $SAN -I$SRC/include "
                  "overlap_mid.c overlap_outer.s $BIN/librcgc.a $(pkg-config --libs libdw) "
                  "-lpthread -Wl,--sort-section=name -o overlap && "
                  "objcopy --remove-section=.debug_aranges overlap noaranges && "
                  "$CC -c -g -O0 -fno-omit-frame-pointer -ffunction-sections $SAN "
                  "-I$SRC/include overlap_mid.c -o mid.o && "
                  "objcopy --remove-section=.debug_aranges mid.o && "
                  "$CC -g -O0 -fno-omit-frame-pointer $SAN mid.o overlap_outer.s $BIN/librcgc.a "
                  "$(pkg-config --libs libdw) -lpthread -Wl,--sort-section=name -o mixed && "
                  "./overlap && ./noaranges && ./mixed",
                  "o3:18 o2:12 o1:12 main:20\n"
                  "o3:18 o2:12 o1:12 main:20\n"
                  "o3:18 o2:12 o1:12 main:20\n");
}
END_TEST

/* A traced allocation in a plugin's constructor (the dynamic linker's lock
 * held) while another thread makes the process's first stack walk, in a
 * stripped program (tests/programs/ctor_host.c): the first walk's search
 * for librcgc's code looked for separate debug information, which dlopened
 * libdw's debuginfod client and waited for the lock the constructor's
 * thread held, while that thread's walk waited for the search. */
START_TEST(first_walk_during_dlopen) {
    expect_script("cp $SRC/tests/programs/ctor_*.c . && "
                  "$CC -g -O0 $SAN -fPIC -shared ctor_plugin.c -o ctor_plugin.so && "
                  "$CC -g -O0 -fno-omit-frame-pointer -rdynamic -s $SAN -I$SRC/include ctor_host.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -ldl -lpthread -o ctor_host && "
                  "timeout 60 ./ctor_host",
                  "no deadlock\n");
}
END_TEST

/* A program that builds rcgc's sources with its own, in one directory
 * (tests/programs/vendored_app.c): the library's code is the units there
 * that define its functions, not every unit of the directory, which took
 * the program's frames for the library's and left only libc's. */
START_TEST(library_sources_beside_the_program) {
    expect_script("cp $SRC/src/*.c $SRC/src/*.h $SRC/tests/programs/vendored_app.c . && "
                  "$CC -O1 -g -fno-omit-frame-pointer $SAN -I$SRC/include -DRCGC_BUILDING "
                  "-DRCGC_HAVE_LIBDW $(pkg-config --cflags libdw) *.c "
                  "$(pkg-config --libs libdw) -lpthread -lm -o app && ./app",
                  "app_alloc main\n");
}
END_TEST

/* The same built with link-time optimization (tests/programs/lto_app.c),
 * by GCC (its own, whatever $CC is) and by Clang (with gold and LLVM's
 * plugin, which clang's package brings). GCC's code is in "<artificial>"
 * units, whose functions only point at the units of their source files:
 * the library's frames were all taken for the program's (capture,
 * prefix_set_slow), and the program's file names were libdw's absolute
 * ones where __FILE__ gave the name compiled. Both inline rc_malloc_at
 * into app_alloc, which showed as a frame of its own. */
START_TEST(library_sources_with_lto) {
    expect_script("cp $SRC/src/*.c $SRC/src/*.h $SRC/tests/programs/lto_app.c . && "
                  "gcc -O1 -g -flto -fno-omit-frame-pointer -I$SRC/include -DRCGC_BUILDING "
                  "-DRCGC_HAVE_LIBDW $(pkg-config --cflags libdw) *.c "
                  "$(pkg-config --libs libdw) -lpthread -lm -o app 2>/dev/null && ./app && "
                  "clang -O2 -g -flto -fuse-ld=gold -fno-omit-frame-pointer -I$SRC/include "
                  "-DRCGC_BUILDING -DRCGC_HAVE_LIBDW $(pkg-config --cflags libdw) *.c "
                  "$(pkg-config --libs libdw) -lpthread -lm -o clang_app && ./clang_app",
                  "lto_app.c:11 app_alloc lto_app.c:17 app_outer lto_app.c:26 main\n"
                  "lto_app.c:11 app_alloc lto_app.c:17 app_outer lto_app.c:26 main\n");
}
END_TEST

/* A program built without -g (tests/programs/lto_app.c) beside a unit
 * with debug information whose code lies before and after the program's
 * (tests/programs/cold_unit.c; GCC's cold parts of librcgc.a itself do the
 * same): libdwfl answered the line below an address in the gap, the
 * other unit's, for each of the program's frames. Now no unit holds it:
 * function:0. */
START_TEST(program_without_debug_information) {
    expect_script("cp $SRC/tests/programs/lto_app.c $SRC/tests/programs/cold_unit.c . && "
                  "gcc -c -g -O1 cold_unit.c && "
                  "$CC -O0 -fno-omit-frame-pointer $SAN -I$SRC/include lto_app.c cold_unit.o "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -lm -o app && ./app",
                  "lto_app.c:11 app_alloc app_outer:0 app_outer main:0 main\n");
}
END_TEST

/* The same program with debug information but no .debug_aranges (Clang's)
 * beside cold_unit.c's GCC-built unit, which has them, around it (as a
 * GCC-built librcgc.a's cold parts and alloc.c are around a Clang-built
 * program's code): libdwfl answered the line of the range below each of
 * the program's frames, cold_unit.c's. Now the line table of the unit
 * that holds the frame is read. */
START_TEST(program_without_aranges_between_units_with_them) {
    expect_script("cp $SRC/tests/programs/lto_app.c $SRC/tests/programs/cold_unit.c . && "
                  "gcc -c -g -O1 cold_unit.c && "
                  "clang -c -g -O0 -fno-omit-frame-pointer -I$SRC/include lto_app.c && "
                  "$CC $SAN lto_app.o cold_unit.o $BIN/librcgc.a $(pkg-config --libs libdw) "
                  "-lpthread -lm -o app && ./app",
                  "lto_app.c:11 app_alloc lto_app.c:17 app_outer lto_app.c:26 main\n");
}
END_TEST

/* A unit of 100 functions, one of which inlines 100 calls, as an
 * interpreter's loop does (tests/programs/many_scopes.py): past SCOPE_SCAN
 * (src/frames.c) their scopes are found through indexes, where a search
 * of the unit's dies one by one for each address took a millisecond an
 * address in a unit of 4000 functions, and a search of the loop's inlined
 * instances 250 us. Then each function in a section of its own
 * (-ffunction-sections): the unit has a range per function, which a check
 * of each lookup read one by one. The frames are the ones a search one by
 * one finds. */
START_TEST(scopes_of_big_units) {
    const char *want = "many.c:5 op_0 many.c:107 eval many.c:216 main\n"
                       "many.c:42 op_37 many.c:144 eval many.c:216 main\n"
                       "many.c:104 op_99 many.c:206 eval many.c:216 main\n";
    char both[512];
    snprintf(both, sizeof both, "%s%s", want, want);
    expect_script("python3 $SRC/tests/programs/many_scopes.py 100 > many.c && "
                  "gcc -c -O1 -g -fno-omit-frame-pointer -I$SRC/include many.c && "
                  "$CC $SAN many.o $BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -lm "
                  "-o many && ./many 0 37 99 && "
                  "gcc -c -O1 -g -ffunction-sections -fno-omit-frame-pointer -I$SRC/include "
                  "many.c && $CC $SAN many.o $BIN/librcgc.a $(pkg-config --libs libdw) "
                  "-lpthread -lm -o many && ./many 0 37 99",
                  both);
}
END_TEST

/* A program started by running the dynamic linker as a command (`ld.so
 * ./app`, tests/programs/lto_app.c): /proc/self/exe is the dynamic
 * linker, whose file was taken for the program's: its frames showed as
 * ld-linux-x86-64.so.2+0x...:0, and linked with librcgc.a, the library's
 * own frames too. The program is the file it was started by (AT_EXECFN). */
START_TEST(program_run_by_the_dynamic_linker) {
    expect_script("cp $SRC/tests/programs/lto_app.c . && "
                  "$CC -O0 -g -fno-omit-frame-pointer $SAN -I$SRC/include lto_app.c "
                  "$BIN/librcgc.a $(pkg-config --libs libdw) -lpthread -lm -o app && "
                  "ld=$(readelf -l app | sed -n 's/.*interpreter: \\(.*\\)]/\\1/p') && "
                  "\"$ld\" ./app",
                  "lto_app.c:11 app_alloc lto_app.c:17 app_outer lto_app.c:26 main\n");
}
END_TEST

/* A plugin loaded by a relative path ("./plugb.so"), then a change of
 * directory (tests/programs/chdir_host.c): the dynamic linker keeps the
 * name as given, which then named no file, and the plugin's frames showed
 * as plugb.so+0x...:0. A relative name is made absolute from
 * /proc/self/maps. */
START_TEST(plugin_loaded_by_relative_path) {
    expect_script("cp $SRC/tests/programs/plugb.c $SRC/tests/programs/chdir_host.c . && "
                  "$CC -g -O0 $SAN -fPIC -shared -I$SRC/include plugb.c -o plugb.so && "
                  "$CC -g -O0 -fno-omit-frame-pointer -rdynamic $SAN -I$SRC/include "
                  "chdir_host.c $BIN/librcgc.a $(pkg-config --libs libdw) -ldl -lpthread "
                  "-o chdir_host && ./chdir_host",
                  "plugb.c:9 plugb.c:15\n");
}
END_TEST

/* A program that runs with more privileges than whoever started it
 * (setuid: AT_SECURE) reads no RCGC_ knob from the environment, as glibc's
 * malloc reads none of its own: the caller must not turn on the debug heap
 * there, nor debuginfod's downloads (RCGC_DEBUGINFOD), which the same
 * function reads (tests/programs/knobs.c shows RCGC_DEBUG's effect). As
 * root only, where a setuid program for another user can be made, and not
 * under ASan, whose realloc always moves a block. */
START_TEST(secure_program_ignores_knobs) {
    const char *script =
        "$CC -O1 $SAN -I$SRC/include $SRC/tests/programs/knobs.c $BIN/librcgc.a "
        "$(pkg-config --libs libdw) -lpthread -o knobs && RCGC_DEBUG=1 ./knobs && "
        "chmod 755 . && chmod 4755 knobs && "
        "RCGC_DEBUG=1 setpriv --reuid=65534 --regid=65534 --clear-groups ./knobs";
#ifndef TEST_ASAN
    /* root of a user namespace may have no user 65534 to become */
    if (geteuid() == 0 &&
        system("setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null") == 0)
        expect_script(script, "moved (RCGC_DEBUG)\nkept in place\n");
#else
    (void)script;
#endif
}
END_TEST

/* Plugins loaded and unloaded over and over with a snapshot each time
 * (tests/programs/churn_host.c): the resolver rebuilt for each keeps no
 * files or memory of the ones before (each was kept, some 17 MB). Under
 * ASan, whose quarantine holds freed memory, only the files tell. */
START_TEST(plugin_churn_keeps_nothing) {
    expect_script("cp $SRC/tests/programs/plugb.c $SRC/tests/programs/churn_host.c . && "
                  "$CC -g -O0 $SAN -fPIC -shared -I$SRC/include plugb.c -o plugb.so && "
                  "$CC -g -O0 -fno-omit-frame-pointer -rdynamic $SAN -I$SRC/include "
                  "churn_host.c $BIN/librcgc.a $(pkg-config --libs libdw) -ldl -lpthread "
                  "-o churn_host && ./churn_host"
#ifdef TEST_ASAN
                  " | cut -d, -f1",
                  "open files same\n");
#else
                  "",
                  "open files same, resident memory within 8 MB\n");
#endif
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("tracemalloc_e2e");
    add_case_fixture(s, tcase_create("rcgc_finds_lines_and_callers"), rcgc_finds_lines_and_callers,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callers_without_debug_info"), callers_without_debug_info,
                     setup, teardown);
    add_case_fixture(s, tcase_create("callers_without_aranges"), callers_without_aranges, setup,
                     teardown);
    add_case_fixture(s, tcase_create("rcgc_errors"), rcgc_errors, setup, teardown);
    add_case_fixture(s, tcase_create("rcgc_filters"), rcgc_filters, setup, teardown);
    add_case_fixture(s, tcase_create("plugins_loaded_and_unloaded"), plugins_loaded_and_unloaded,
                     setup, teardown);
    add_case_fixture(s, tcase_create("tail_call_keeps_caller"), tail_call_keeps_caller, setup,
                     teardown);
    add_case_fixture(s, tcase_create("separate_debug_information"), separate_debug_information,
                     setup, teardown);
    add_case_fixture(s, tcase_create("tracebacks_without_proc"), tracebacks_without_proc, setup,
                     teardown);
    add_case_fixture(s, tcase_create("library_sources_beside_the_program"),
                     library_sources_beside_the_program, setup, teardown);
    add_case_fixture(s, tcase_create("library_sources_with_lto"), library_sources_with_lto,
                     setup, teardown);
    add_case_fixture(s, tcase_create("program_without_debug_information"),
                     program_without_debug_information, setup, teardown);
    add_case_fixture(s, tcase_create("program_without_aranges_between_units_with_them"),
                     program_without_aranges_between_units_with_them, setup, teardown);
    add_case_fixture(s, tcase_create("scopes_of_big_units"), scopes_of_big_units, setup,
                     teardown);
    add_case_fixture(s, tcase_create("program_run_by_the_dynamic_linker"),
                     program_run_by_the_dynamic_linker, setup, teardown);
    add_case_fixture(s, tcase_create("plugin_loaded_by_relative_path"),
                     plugin_loaded_by_relative_path, setup, teardown);
    add_case_fixture(s, tcase_create("secure_program_ignores_knobs"),
                     secure_program_ignores_knobs, setup, teardown);
    add_case_fixture(s, tcase_create("files_replaced_while_running"),
                     files_replaced_while_running, setup, teardown);
    add_case_fixture(s, tcase_create("static_library_in_shared_object"),
                     static_library_in_shared_object, setup, teardown);
    add_case_fixture(s, tcase_create("walk_ends_outside_code"), walk_ends_outside_code, setup,
                     teardown);
    add_case_fixture(s, tcase_create("coroutine_frames_without_process_vm_readv"),
                     coroutine_frames_without_process_vm_readv, setup, teardown);
    add_case_fixture(s, tcase_create("walk_on_coroutine_stack"), walk_on_coroutine_stack, setup,
                     teardown);
    add_case_fixture(s, tcase_create("coroutine_stack_above_the_threads"),
                     coroutine_stack_above_the_threads, setup, teardown);
    add_case_fixture(s, tcase_create("first_walk_on_small_stack"), first_walk_on_small_stack,
                     setup, teardown);
    add_case_fixture(s, tcase_create("hardened_code_keeps_its_frames"),
                     hardened_code_keeps_its_frames, setup, teardown);
    add_case_fixture(s, tcase_create("resolution_where_the_stack_cannot_grow"),
                     resolution_where_the_stack_cannot_grow, setup, teardown);
    add_case_fixture(s, tcase_create("inlined_functions_keep_their_frames"),
                     inlined_functions_keep_their_frames, setup, teardown);
    add_case_fixture(s, tcase_create("inlined_functions_keep_their_frames_under_lto"),
                     inlined_functions_keep_their_frames_under_lto, setup, teardown);
    add_case_fixture(s, tcase_create("library_between_units_with_aranges"),
                     library_between_units_with_aranges, setup, teardown);
    add_case_fixture(s, tcase_create("overlapping_units_without_aranges"),
                     overlapping_units_without_aranges, setup, teardown);
    add_case_fixture(s, tcase_create("unloaded_plugin_keeps_its_names"),
                     unloaded_plugin_keeps_its_names, setup, teardown);
    add_case_fixture(s, tcase_create("first_walk_during_dlopen"), first_walk_during_dlopen, setup,
                     teardown);
    add_case_fixture(s, tcase_create("plugin_churn_keeps_nothing"), plugin_churn_keeps_nothing,
                     setup, teardown);
    return s;
}
