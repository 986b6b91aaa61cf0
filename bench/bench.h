/*
 * bench.h — what every benchmark program shares: a clock, a seeded random
 * sequence, resident memory, and the one output format bench/bench.py reads.
 *
 * A benchmark program measures one peer (one allocator, one configuration)
 * and prints, for each repetition, one line
 *
 *     result<TAB>workload<TAB>value<TAB>unit
 *
 * plus any number of "info<TAB>key<TAB>text" lines (versions, check sums,
 * what a collection found). It never judges its figures: the driver takes
 * medians, ratios and targets across peers measured in the same run.
 */
#ifndef RCGC_BENCH_H
#define RCGC_BENCH_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define BENCH_NOINLINE __attribute__((noinline))

/* Seconds on the benchmark clock: the monotonic wall clock, or, when
 * RCGC_BENCH_CPUTIME is set in the environment, the CPU time of the process
 * (which does not count the time other programs hold the processor on a busy
 * machine; every peer measured here is single-threaded). */
static inline double bench_now(void) {
    static int clock_id = -1;
    if (clock_id < 0)
        clock_id = getenv("RCGC_BENCH_CPUTIME") ? CLOCK_PROCESS_CPUTIME_ID : CLOCK_MONOTONIC;
    struct timespec ts;
    clock_gettime(clock_id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline void bench_result(const char *workload, double value, const char *unit) {
    printf("result\t%s\t%.6g\t%s\n", workload, value, unit);
    fflush(stdout);
}

static inline __attribute__((format(printf, 2, 3))) void bench_info(const char *key,
                                                                    const char *fmt, ...) {
    va_list ap;
    printf("info\t%s\t", key);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

/* A benchmark that cannot run prints why and exits non-zero; the driver
 * shows the message in place of the figures. */
static inline _Noreturn void bench_fail(const char *what) {
    fprintf(stderr, "bench: %s\n", what);
    exit(2);
}

/* The shared random sequence: a 64-bit LCG (Knuth's MMIX constants) whose
 * high bits are used. bench/py/common.py computes the very same numbers, so C
 * and Python build identical graphs and replay identical churn. */
typedef struct bench_rng { uint64_t state; } bench_rng;

static inline uint32_t bench_next(bench_rng *r) {
    r->state = r->state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->state >> 33);
}

/* A number in [0, n), n < 2^31 (the modulo bias is irrelevant here). */
static inline uint32_t bench_below(bench_rng *r, uint32_t n) { return bench_next(r) % n; }

/* Resident set size in bytes, from /proc/self/statm. */
static inline long bench_rss(void) {
    long size = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
        bench_fail("cannot read /proc/self/statm");
    fclose(f);
    return resident * sysconf(_SC_PAGESIZE);
}

/* The value of "--name N" in argv, or def. */
static inline long bench_arg(int argc, char **argv, const char *name, long def) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return strtol(argv[i + 1], NULL, 10);
    return def;
}

/* Whether the bare word appears in argv. */
static inline int bench_flag(int argc, char **argv, const char *word) {
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], word) == 0)
            return 1;
    return 0;
}

#endif /* RCGC_BENCH_H */
