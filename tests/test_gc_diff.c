/*
 * test_gc_diff.c — the collector against CPython itself.
 *
 * tests/gc_diff/gen.py writes random programs of heap operations (create a
 * node, link or unlink a slot, drop a handle, collect(g), finalizers that
 * log, resurrect into a global list or drop a reference, weak references
 * with callbacks). run.py runs them in python3 (classes with __slots__,
 * __del__, weakref.ref with callbacks, gc.disable()) and the driver
 * (tests/gc_diff/driver.c) runs them on rcgc; both print an event log
 * (collect return values, finalizer runs, callback runs, deaths, what weak
 * references return, each collection's start and stop as the collector's
 * callbacks see them) and the logs must be identical, program by program,
 * in their order, inside collections too (rcgc keeps CPython's order of the
 * generation lists, which decides it there: run.py).
 *
 * Those programs run with the collector disabled: only their collect
 * operations collect. The "auto" and "sched" profiles turn it on, so
 * automatic collections start at allocations on both sides, and add
 * operations on the collector (thresholds, enable/disable, freeze/unfreeze)
 * and reads of its state (counts, freeze count, statistics, each
 * generation's objects in their order): they must agree too, which needs
 * CPython 3.12's timing (the collection runs once the new object is made,
 * with it) and run.py's care to keep CPython's gc counts to the program's
 * own objects (run.py's docstring). The "log" profile's lines of
 * RC_GC_DEBUG_COLLECTABLE, written by user code between young's merge into
 * old and the clearing of weak references, need CPython 3.12 as well.
 * Without CPython 3.12 those cases
 * compare with CPython 3.12's logs of their programs, recorded
 * (recordings below); with other programs
 * (RCGC_DIFF_SEED, more of them) it says on stderr that it could not
 * compare, and passes.
 *
 * The python is CPython 3.12 if the build found one when it was configured,
 * else python3 (RCGC_GC_DIFF_PYTHON, tests/gc_diff/CMakeLists.txt); the
 * environment variable RCGC_GC_DIFF_PYTHON names another.
 *
 * A mismatch random programs found once stays tested by a program written
 * by hand for it, with CPython 3.12's log (tests/gc_diff/fixed/, and
 * fixed_program below).
 *
 * Environment: RCGC_DIFF_PROGRAMS=n runs n programs per test (default a few
 * hundred; thousands for a long run), RCGC_DIFF_SEED=s changes the seed,
 * RCGC_DIFF_SORTED=1 compares what happens inside each collection as a set
 * (sort_collections). On a mismatch the programs, both logs and the failing
 * program alone are kept in the directory the message names; `python3
 * run.py FILE` and `gc_diff_driver FILE` rerun it.
 */
#include "check_main.h"
#include "test_support.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* Runs argv[0] (searched in PATH) with stdout into out_path; its exit status. */
static int run_to_file(char *const argv[], const char *out_path) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, out_path, O_WRONLY | O_CREAT | O_TRUNC,
                                     0644);
    pid_t pid;
    int err = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    ck_assert_msg(err == 0, "cannot run %s: %s", argv[0], strerror(err));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ck_assert_msg(errno == EINTR, "waitpid: %s", strerror(errno));
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The whole file, NUL-terminated (malloc'ed). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s: %s", path, strerror(errno));
    size_t len = 0, cap = 1 << 16, n;
    char *buf = malloc(cap);
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    ck_assert_msg(buf != NULL, "out of memory");
    buf[len] = '\0';
    return buf;
}

/* The block of text from "program N\n" to the next "program " line (or the
 * end), after *pos; NULL at the end. Sets *len and advances *pos. */
static const char *next_block(const char **pos, size_t *len) {
    const char *start = *pos;
    if (*start == '\0')
        return NULL;
    const char *end = start;
    do {
        end = strchr(end, '\n');
        end = end ? end + 1 : start + strlen(start);
    } while (*end && strncmp(end, "program ", 8) != 0);
    *len = (size_t)(end - start);
    *pos = end;
    return start;
}

/* Length of the line at s, within n bytes. */
static int line_length(const char *s, size_t n) {
    const char *nl = memchr(s, '\n', n);
    return (int)(nl ? (size_t)(nl - s) : n);
}

/* The first line where a and b (of lengths la, lb) differ, both shown
 * under their names. */
static void first_difference(const char *name_a, const char *a, size_t la, const char *name_b,
                             const char *b, size_t lb, char *out, size_t size) {
    size_t i = 0, line = 0;
    while (i < la && i < lb && a[i] == b[i])
        if (a[i++] == '\n')
            line = i;
    snprintf(out, size, "%s: \"%.*s\", %s: \"%.*s\"", name_a, line_length(a + line, la - line),
             a + line, name_b, line_length(b + line, lb - line), b + line);
}

static unsigned long env_number(const char *name, unsigned long fallback) {
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 0) : fallback;
}

/* The python that runs the programs, and the driver that runs them on
 * rcgc: the environment's, else the build's (file comment). */
static char *python_path(void) {
    char *p = getenv("RCGC_GC_DIFF_PYTHON");
    return p ? p : RCGC_GC_DIFF_PYTHON;
}

static const char *driver_path(void) {
    const char *p = getenv("RCGC_GC_DIFF_DRIVER");
    return p ? p : RCGC_GC_DIFF_DRIVER;
}

/* The files of one run, in a fresh directory; recorded: python's log is
 * CPython 3.12's recorded one. */
typedef struct run_files { char dir[PATH_MAX], programs[PATH_MAX + 32], py_log[PATH_MAX + 32],
                           rc_log[PATH_MAX + 32]; bool recorded; } run_files;

/* run.py's exit status when this python3 cannot run the programs at all
 * (automatic collections need CPython 3.12). */
#define PYTHON_UNSUITED 77

/* CPython 3.12's logs of the first `count` programs of a profile's seed,
 * compared with when there is no CPython 3.12 (Debian 12 has 3.11). Made,
 * and made again when gen.py or run.py change (the test says so when
 * CPython 3.12's log differs from one), by
 *   python3.12 tests/gc_diff/run.py --seed 4 --count 500 --profile auto \
 *       | gzip -9n > tests/gc_diff/auto-seed4.cpython3.12.log.gz
 * (and the same for each line below). A program's log does not depend on
 * how many programs follow it. */
typedef struct recording {
    const char *profile;
    unsigned long seed, count;
    const char *log;
} recording;

static const recording recordings[] = {
    {"auto", 4, 500, RCGC_GC_DIFF_DIR "/auto-seed4.cpython3.12.log.gz"},
    {"sched", 6, 100, RCGC_GC_DIFF_DIR "/sched-seed6.cpython3.12.log.gz"},
    {"log", 7, 100, RCGC_GC_DIFF_DIR "/log-seed7.cpython3.12.log.gz"},
    {"active", 8, 500, RCGC_GC_DIFF_DIR "/active-seed8.cpython3.12.log.gz"},
    {"garbage", 9, 300, RCGC_GC_DIFF_DIR "/garbage-seed9.cpython3.12.log.gz"},
};

/* The recording that covers count programs of profile's seed, or NULL. */
static const recording *recording_of(const char *profile, unsigned long seed,
                                     unsigned long count) {
    for (size_t i = 0; i < sizeof recordings / sizeof *recordings; i++)
        if (strcmp(profile, recordings[i].profile) == 0 && seed == recordings[i].seed &&
            count <= recordings[i].count)
            return &recordings[i];
    return NULL;
}

/* A recorded log (gzip'ed), decompressed into path. */
static void gunzip(const char *log, const char *path) {
    char *argv[] = {"gzip", "-dc", (char *)log, NULL};
    int status = run_to_file(argv, path);
    ck_assert_msg(status == 0, "gzip -dc %s failed (status %d)", log, status);
}

/* Cuts log (in place) after its first count programs. */
static void first_programs(char *log, unsigned long count) {
    const char *pos = log;
    size_t len;
    for (unsigned long n = 0; n < count && next_block(&pos, &len); n++)
        ;
    log[pos - log] = '\0';
}

/* Generates `count` programs of a profile, runs them in python3 (run.py
 * saves them) and on rcgc (the driver), each log into its file. When
 * python3 is unsuited, python's log is the recorded one if that covers the
 * programs (f->recorded); otherwise false (the files are removed). */
static bool run_both(run_files *f, const char *profile, unsigned long seed, unsigned long count) {
    snprintf(f->dir, sizeof f->dir, "%s/rcgc_diff_XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(f->dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(f->programs, sizeof f->programs, "%s/programs.txt", f->dir);
    snprintf(f->py_log, sizeof f->py_log, "%s/python.log", f->dir);
    snprintf(f->rc_log, sizeof f->rc_log, "%s/rcgc.log", f->dir);
    char run_py[PATH_MAX], seed_s[32], count_s[32];
    snprintf(run_py, sizeof run_py, "%s/run.py", RCGC_GC_DIFF_DIR);
    snprintf(seed_s, sizeof seed_s, "%lu", seed);
    snprintf(count_s, sizeof count_s, "%lu", count);
    char *python = python_path();
    char *py_argv[] = {python, run_py, "--seed", seed_s, "--count", count_s,
                       "--profile", (char *)profile, "--save", f->programs, NULL};
    int status = run_to_file(py_argv, f->py_log);
    const recording *r = recording_of(profile, seed, count);
    f->recorded = status == PYTHON_UNSUITED && r;
    if (f->recorded) {
        gunzip(r->log, f->py_log);
        fprintf(stderr, "%s programs compared with CPython 3.12's recorded log\n", profile);
    } else if (status == PYTHON_UNSUITED) {
        unlink(f->programs);
        unlink(f->py_log);
        rmdir(f->dir);
        return false;
    }
    ck_assert_msg(f->recorded || status == 0, "%s %s failed (status %d); see %s", python, run_py,
                  status, f->dir);
    const char *driver = driver_path();
    char *rc_argv[] = {(char *)driver, f->programs, NULL};
    status = run_to_file(rc_argv, f->rc_log);
    ck_assert_msg(status == 0, "%s failed (status %d); see %s", driver, status, f->dir);
    return true;
}

/* CPython 3.12 ran programs that recording r covers: its log py (cut to
 * count programs) must be the recording's beginning, or r is stale. */
static void check_recording(const recording *r, const run_files *f, const char *py,
                            unsigned long count) {
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/recorded.log", f->dir);
    gunzip(r->log, path);
    char *recorded = slurp(path);
    first_programs(recorded, count);
    char diff[512] = "";
    if (strcmp(py, recorded) != 0)
        first_difference("python", py, strlen(py), "recorded", recorded, strlen(recorded), diff,
                         sizeof diff);
    ck_assert_msg(diff[0] == '\0', "%s is stale (%s): record it again (test_gc_diff.c)",
                  r->log, diff);
    free(recorded);
    unlink(path);
}

static int cmp_line(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorts, in place, the lines between each "K: gc start" line and the "K: gc
 * stop" line after it. With RCGC_DIFF_SORTED set (the rcgc_gcheld build,
 * which holds garbage until all of it is cleared, so that its deaths come
 * in another order than CPython's), both logs compare as sets there. */
static void sort_collections(char *log) {
    size_t len = strlen(log), n = 0, k = 0;
    for (size_t i = 0; i < len; i++)
        n += log[i] == '\n';
    char **line = malloc((n + 1) * sizeof *line), *copy = strdup(log);
    ck_assert_msg(line != NULL && copy != NULL, "out of memory");
    char *rest = copy, *nl; /* after the loop: an unfinished last line */
    for (; (nl = strchr(rest, '\n')) != NULL; rest = nl + 1) {
        *nl = '\0';
        line[k++] = rest;
    }
    for (size_t i = 0; i < k; i++) {
        if (strstr(line[i], ": gc start ") == NULL)
            continue;
        size_t j = i + 1;
        while (j < k && strstr(line[j], ": gc stop ") == NULL)
            j++;
        qsort(line + i + 1, j - i - 1, sizeof *line, cmp_line);
        i = j;
    }
    char *out = log; /* the same lines: the same length */
    for (size_t i = 0; i < k; i++)
        out += sprintf(out, "%s\n", line[i]);
    strcpy(out, rest);
    free(line);
    free(copy);
}

/* Generates programs, runs them both ways and requires identical logs,
 * program by program; the first that differs is saved alone. */
static void differential(const char *profile, unsigned long seed, unsigned long count) {
    count = env_number("RCGC_DIFF_PROGRAMS", count);
    if (getenv("RCGC_VALGRIND")) /* python3 runs under valgrind too */
        count = (count + 29) / 30;
    seed = env_number("RCGC_DIFF_SEED", seed);
    run_files f;
    if (!run_both(&f, profile, seed, count)) {
        fprintf(stderr, "%s programs not compared: python3 cannot run them (see above)\n",
                profile);
        return;
    }
    char *py = slurp(f.py_log), *rc = slurp(f.rc_log), *text = slurp(f.programs);
    const recording *r = recording_of(profile, seed, count);
    if (r) {
        first_programs(py, count);
        if (!f.recorded)
            check_recording(r, &f, py, count);
    }
    if (getenv("RCGC_DIFF_SORTED")) {
        sort_collections(py);
        sort_collections(rc);
    }
    const char *pp = py, *rp = rc, *tp = text, *a, *b, *prog;
    size_t la, lb, lp = 0;
    unsigned long n = 0;
    for (; (a = next_block(&pp, &la)) != NULL; n++) {
        b = next_block(&rp, &lb);
        prog = next_block(&tp, &lp);
        if (b != NULL && la == lb && memcmp(a, b, la) == 0)
            continue;
        char path[PATH_MAX + 32], diff[512] = "rcgc's log ends early";
        snprintf(path, sizeof path, "%s/failing.txt", f.dir);
        FILE *out = fopen(path, "w");
        if (out && prog)
            fwrite(prog, 1, lp, out);
        if (out)
            fclose(out);
        if (b)
            first_difference("python", a, la, "rcgc", b, lb, diff, sizeof diff);
        ck_abort_msg("program %lu of seed %lu (%s): %s; program in %s", n, seed, profile, diff,
                     path);
    }
    ck_assert_msg(n == count && next_block(&rp, &lb) == NULL,
                  "%lu programs in python's log, expected %lu, or rcgc's log is longer", n, count);
    free(py);
    free(rc);
    free(text);
    unlink(f.programs);
    unlink(f.py_log);
    unlink(f.rc_log);
    rmdir(f.dir);
}

/* Mixed programs: cycles, leaves, weak references, a third of the nodes
 * with finalizers. */
START_TEST(random_programs) { differential("mixed", 1, 500); }
END_TEST

/* Most nodes have finalizers (logging, resurrecting, dropping a slot), more
 * weak references and pops of the resurrected list. */
START_TEST(finalizer_programs) { differential("finalizers", 2, 500); }
END_TEST

/* The collector on, automatic collections of every generation, with
 * thresholds, freezing and reads of the counts and statistics between the
 * operations. */
START_TEST(automatic_programs) { differential("auto", 4, 500); }
END_TEST

/* The automatic schedule itself: the counts read after every operation,
 * odd thresholds (negative, 0, huge), trees big enough for the default
 * ones, finalizers that read the counts, allocate, freeze or unfreeze, and
 * gc callbacks that read counts and statistics, collect, freeze, unfreeze
 * or make cycles. */
START_TEST(schedule_programs) { differential("sched", 6, 100); }
END_TEST

/* RC_GC_DEBUG_SAVEALL with weak references and finalizers: garbage kept in
 * the garbage list, read back in order (and into handles), the objects of
 * every generation and the referrers of one, weak reference counts,
 * finalizers and deaths that turn SAVEALL on or off, finalizers making a
 * weak reference to themselves, callbacks making weak references or cycles
 * or dropping handles, plain nodes (swept when SAVEALL is off). Not run
 * on the held build (gc_diff/CMakeLists.txt says why). */
START_TEST(saveall_programs) { differential("saveall", 5, 300); }
END_TEST

/* The garbage list at the centre (gen.py's "garbage" profile): SAVEALL
 * mostly on, saved objects loaded back from the list, unlinked, weakly
 * referenced, then freed by clearing it (deaths by counting, callbacks, no
 * second finalizer). Not run on the held build, whose clears come before a
 * death that turns SAVEALL on, as for saveall_programs. */
START_TEST(garbage_list_programs) { differential("garbage", 9, 300); }
END_TEST

/* RC_GC_DEBUG_COLLECTABLE with a log function that runs user code (in
 * CPython, a sys.stderr whose write acts on each "gc: collectable" line),
 * after young is merged into old and before weak references to the garbage
 * are cleared: it follows weak references into the garbage and keeps what
 * they return (resurrection), makes nodes and weak references (with
 * callbacks) to it, drops handles, unlinks slots (never freeing the object
 * being written: gen.py), collects (0) or flips SAVEALL; the lines, by
 * object, compared in order with their count per collection. Needs CPython
 * 3.12 (its log recorded, as the sched profile's). */
START_TEST(log_programs) { differential("log", 7, 100); }
END_TEST

/* Finalizers and weak reference callbacks that act (gen.py's scripts):
 * they allocate nodes, cycles and weak references (with scripted callbacks
 * in turn), store them into handles, the resurrection list or the
 * finalized node's slots, link and unlink slots (of other garbage too,
 * through the finalized node's slots: a death by counting in the middle of
 * a collection), drop handles, resurrect, follow weak references (into
 * garbage already cleared, when a finalizer made one) and collect (0 in a
 * collection). A third of the programs turn automatic collection on with
 * small thresholds, so that an action's allocation starts a collection
 * (but not inside one, as CPython), and their actions turn automatic
 * collection off and on, freeze and unfreeze; the counts, generations and
 * statistics are compared. Those need CPython 3.12 (recorded log). The
 * other programs turn SAVEALL on and off and load back and free the
 * garbage list. */
START_TEST(active_programs) { differential("active", 8, 500); }
END_TEST

/* py_argv's log must be want (CPython 3.12's, recorded) when python can
 * run it (else the recording is stale), and rc_argv's must be want; each
 * is written to out. */
static void against_recording(const char *name, char *const py_argv[], char *const rc_argv[],
                              const char *want, const char *out) {
    int status = run_to_file(py_argv, out);
    if (status != PYTHON_UNSUITED) {
        char *py = slurp(out);
        ck_assert_msg(status == 0 && strcmp(py, want) == 0,
                      "%s: python's log (status %d) is not the recorded one: record it again",
                      name, status);
        free(py);
    }
    ck_assert_int_eq(run_to_file(rc_argv, out), 0);
    char *rc = slurp(out), diff[512] = "";
    if (strcmp(rc, want) != 0)
        first_difference("python", want, strlen(want), "rcgc", rc, strlen(rc), diff,
                         sizeof diff);
    ck_assert_msg(diff[0] == '\0', "%s: %s", name, diff);
    free(rc);
}

/* Programs written by hand for what random programs once found, each in
 * tests/gc_diff/fixed/NAME.txt with CPython 3.12's log of it beside it
 * (NAME.cpython3.12.log, made by `python3.12 run.py NAME.txt`): the
 * driver's log must be that log, and so must python's when it can run the
 * program (else the recording is stale). Random programs reach such a
 * case too rarely to keep it tested (the first below: once in about
 * 45,000 programs of a generator since changed). */
static void fixed_program(const char *name) {
    char prog[PATH_MAX], recorded[PATH_MAX], dir[PATH_MAX], out[PATH_MAX + 16];
    snprintf(prog, sizeof prog, "%s/fixed/%s.txt", RCGC_GC_DIFF_DIR, name);
    snprintf(recorded, sizeof recorded, "%s/fixed/%s.cpython3.12.log", RCGC_GC_DIFF_DIR, name);
    snprintf(dir, sizeof dir, "%s/rcgc_fixed_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(out, sizeof out, "%s/log", dir);
    char *want = slurp(recorded);
    char run_py[PATH_MAX];
    snprintf(run_py, sizeof run_py, "%s/run.py", RCGC_GC_DIFF_DIR);
    char *py_argv[] = {python_path(), run_py, prog, NULL};
    char *rc_argv[] = {(char *)driver_path(), prog, NULL};
    against_recording(name, py_argv, rc_argv, want, out);
    free(want);
    unlink(out);
    rmdir(dir);
}

/* The driver's set is CPython's setattr, which drops its arguments in
 * order: the node, then the value. Here the old value's finalizer clears
 * the slot and empties both handles, so the node dies before the value
 * (death 1, then fin 3): a driver dropping the value first logged fin 3
 * first. */
START_TEST(set_drops_node_first) { fixed_program("set-drops-node-first"); }
END_TEST

/* An application written twice, tests/gc_diff/dom.py and dom.c (dom.py's
 * docstring): a document model (elements in cycles through strong parent
 * pointers, attributes, listeners, a weak-valued id index, undo and redo
 * stacks of detached subtrees, finalizers that log, resurrect, keep a
 * child, collect or edit a document, weak reference callbacks that edit it,
 * runs of leaves that die nested past the trashcan's depth) edited at
 * random, with automatic collections
 * (default and small thresholds), explicit ones, and freeze/unfreeze; the
 * logs (finalizers, callbacks, collections, counts, statistics, the
 * generations' objects in order) must be CPython 3.12's, recorded by
 *   python3.12 tests/gc_diff/dom.py ARGS | gzip -9n > \
 *       tests/gc_diff/dom-seedSEED.cpython3.12.log.gz
 * for each line of dom_runs (ARGS: seed, operations, then dom.py's
 * options). Under Valgrind only the last, the smallest. */
static const char *const dom_runs[][10] = {
    {"1", "10000"},
    {"2", "12000", "2", "4", "0", "700", "10", "0", "4"},
    {"3", "6000", "0", "10", "0", "50", "4", "1", "7"},
    {"4", "3000", "1", "6", "1", "1", "1", "1"},
};

static const char *dom_path(void) {
    const char *p = getenv("RCGC_GC_DIFF_DOM");
    return p ? p : RCGC_GC_DIFF_DOM;
}

START_TEST(dom_programs) {
    char dir[PATH_MAX], out[PATH_MAX + 16], recorded[PATH_MAX + 16], gz[PATH_MAX], dom_py[PATH_MAX];
    snprintf(dir, sizeof dir, "%s/rcgc_dom_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    ck_assert_msg(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(out, sizeof out, "%s/log", dir);
    snprintf(recorded, sizeof recorded, "%s/recorded", dir);
    snprintf(dom_py, sizeof dom_py, "%s/dom.py", RCGC_GC_DIFF_DIR);
    size_t nruns = sizeof dom_runs / sizeof *dom_runs;
    for (size_t i = getenv("RCGC_VALGRIND") ? nruns - 1 : 0; i < nruns; i++) {
        const char *const *args = dom_runs[i];
        snprintf(gz, sizeof gz, "%s/dom-seed%s.cpython3.12.log.gz", RCGC_GC_DIFF_DIR, args[0]);
        gunzip(gz, recorded);
        char *want = slurp(recorded);
        char *py_argv[13] = {python_path(), dom_py}, *rc_argv[12] = {(char *)dom_path()};
        for (size_t k = 0; k < 10 && args[k]; k++)
            py_argv[k + 2] = rc_argv[k + 1] = (char *)args[k];
        against_recording(gz, py_argv, rc_argv, want, out);
        free(want);
    }
    unlink(out);
    unlink(recorded);
    rmdir(dir);
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("gc_diff");
    add_case(s, tcase_create("random_programs"), random_programs);
    add_case(s, tcase_create("finalizer_programs"), finalizer_programs);
    add_case(s, tcase_create("automatic_programs"), automatic_programs);
    add_case(s, tcase_create("schedule_programs"), schedule_programs);
    add_case(s, tcase_create("saveall_programs"), saveall_programs);
    add_case(s, tcase_create("garbage_list_programs"), garbage_list_programs);
    add_case(s, tcase_create("log_programs"), log_programs);
    add_case(s, tcase_create("active_programs"), active_programs);
    add_case(s, tcase_create("set_drops_node_first"), set_drops_node_first);
    add_case(s, tcase_create("dom_programs"), dom_programs);
    return s;
}
