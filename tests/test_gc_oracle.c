/*
 * test_gc_oracle.c — the collector against a reachability oracle.
 *
 * Each round runs a seeded random program of heap operations on a fresh heap
 * (tests/gc_model.h reads bytes as create / link a slot / unlink / drop /
 * collect(g) / build a chain or a ring / pop the resurrected list / weak
 * references / freeze ...) beside a model that computes reachability itself;
 * among the objects are holders, untracked objects that hold references,
 * whose cycles the collector cannot see.
 * After every operation exactly the objects the model found dead were
 * released, every finalizer and weak reference callback ran when the model
 * says and at most once, every reference count is the model's, and
 * rc_gc_collect returned the model's count of unreachable objects; ASan (in
 * `make test`) sees that nothing live or dead is touched wrongly.
 *
 * Every third seed runs with most objects plain (gm_config.plain), so that
 * the collector sweeps whole collections' garbage, or falls back.
 *
 * Environment: RCGC_ORACLE_ROUNDS=n runs n rounds per test (default 800 or
 * 1500, a few seconds under ASan), RCGC_ORACLE_SEED=s starts at seed s,
 * RCGC_ORACLE_TRACE=1 prints every operation. A failing program is saved
 * (path in the message) in the fuzz target's format: `fuzz_gc FILE`, or
 * replay_fuzz_gc on a directory holding it, runs it again (both with and
 * without plain objects).
 */
#include "check_main.h"
#include "test_support.h"
#include "gc_model.h"

#include <limits.h>

static char failed_path[PATH_MAX];

/* The program being run, saved when it fails. */
static const uint8_t *current_program;
static size_t current_length;
static uint64_t current_seed;

_Noreturn static void gm_fail(const char *msg) {
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(failed_path, sizeof failed_path, "%s/rcgc_oracle_%llu.bin", dir,
             (unsigned long long)current_seed);
    FILE *f = fopen(failed_path, "wb");
    if (f) {
        fwrite(current_program, 1, current_length, f);
        fclose(f);
    }
    ck_abort_msg("seed %llu: %s (program saved as %s)", (unsigned long long)current_seed, msg,
                 failed_path);
    abort();
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned long env_number(const char *name, unsigned long fallback) {
    const char *v = getenv(name);
    return v && *v ? strtoul(v, NULL, 0) : fallback;
}

/* What a test varies: the config byte, and how often chain/ring ops come. */
typedef struct program_shape {
    unsigned flags_set, flags_clear;  /* forced config bits (see gm_config_of_bytes) */
    unsigned ops;                      /* operations per program */
    unsigned chain_percent;            /* extra share of chain/ring operations */
} program_shape;

/* Runs `rounds` seeded programs of the given shape, one in three plain. */
static void run_rounds(const program_shape *shape, unsigned long rounds) {
    static uint8_t program[2 + 4 * 2048];
    uint64_t base = env_number("RCGC_ORACLE_SEED", 1);
    bool trace = env_number("RCGC_ORACLE_TRACE", 0) != 0;
    for (unsigned long round = 0; round < rounds; round++) {
        uint64_t s = current_seed = base + round;
        size_t n = 0;
        program[n++] = (uint8_t)(((unsigned)splitmix(&s) | shape->flags_set) & ~shape->flags_clear);
        program[n++] = (uint8_t)splitmix(&s);
        unsigned ops = shape->ops / 2 + (unsigned)(splitmix(&s) % shape->ops);
        for (unsigned i = 0; i < ops && n + 4 <= sizeof program; i++) {
            uint64_t r = splitmix(&s);
            program[n++] = (uint8_t)r;
            if (r % 100 < shape->chain_percent)
                program[n - 1] = (uint8_t)(27 + (r >> 8) % 2);
            program[n++] = (uint8_t)(r >> 16);
            program[n++] = (uint8_t)(r >> 24);
            program[n++] = (uint8_t)(r >> 32);
        }
        current_program = program;
        current_length = n;
        gm_reader rd = {program, program + n};
        gm_config cfg = gm_config_of_bytes(&rd);
        cfg.plain = current_seed % 3 == 0;
        cfg.trace = trace;
        if (trace)
            fprintf(stderr, "gc_oracle: seed %llu%s\n", (unsigned long long)current_seed,
                    cfg.plain ? " (plain)" : "");
        gm_run(rd.p, (size_t)(rd.end - rd.p), &cfg);
    }
}

static unsigned long rounds_for(unsigned long fallback) {
    unsigned long n = env_number("RCGC_ORACLE_ROUNDS", fallback);
    return getenv("RCGC_VALGRIND") ? (n + 4) / 5 : n;
}

/* Random graphs, explicit collections only: exact counts for every generation. */
START_TEST(random_graphs) {
    program_shape shape = {.flags_set = 0, .flags_clear = 1 | 6, .ops = 160, .chain_percent = 0};
    run_rounds(&shape, rounds_for(1500));
}
END_TEST

/* Automatic collections on, with small thresholds: each runs when CPython's
 * rules say, on the generation they pick, and finds what the model finds. */
START_TEST(automatic_collections) {
    program_shape shape = {.flags_set = 1, .flags_clear = 6, .ops = 160, .chain_percent = 0};
    run_rounds(&shape, rounds_for(1500));
}
END_TEST

/* Long chains and rings (up to 96 nodes, deeper than the destructor's
 * recursion limit) with finalizers and resurrection along them. */
START_TEST(chains_and_rings) {
    program_shape shape = {.flags_set = 0, .flags_clear = 6, .ops = 60, .chain_percent = 25};
    run_rounds(&shape, rounds_for(800));
}
END_TEST

/* Programs that end holding references: rc_heap_free collects, finalizes
 * what is left once, releases everything and returns the leak count. */
START_TEST(teardown_with_leaks) {
    program_shape shape = {.flags_set = 6, .flags_clear = 0, .ops = 80, .chain_percent = 5};
    run_rounds(&shape, rounds_for(800));
}
END_TEST

Suite *test_suite(void) {
    Suite *s = suite_create("gc_oracle");
    add_case(s, tcase_create("random_graphs"), random_graphs);
    add_case(s, tcase_create("automatic_collections"), automatic_collections);
    add_case(s, tcase_create("chains_and_rings"), chains_and_rings);
    add_case(s, tcase_create("teardown_with_leaks"), teardown_with_leaks);
    return s;
}
