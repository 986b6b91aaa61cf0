/*
 * collector_boehm.c — Boehm GC's full collection, GC_gcollect(), on the
 * live shapes of collector.c (same nodes, same seeded edges; the holder is
 * a GC_MALLOC'ed array reached from a static root). Prints ns per node.
 * With `again`, the collection timed is the second (as collector.c's).
 *
 *     bench_collector_boehm pairs|ring|random [again] [--count N] [--reps N]
 */
#include "bench.h"

#include <gc/gc.h>

typedef struct node {
    struct node *a, *b;
} node;

/* The holder, in the data segment, which Boehm scans; volatile, or the
 * compiler would drop the stores to a variable the program never reads. */
static node **volatile root;

static void *must(void *p) {
    if (p == NULL)
        bench_fail("allocation failed");
    return p;
}

static void build(const char *shape, size_t count) {
    node **nodes = must(GC_MALLOC(count * sizeof *nodes));
    for (size_t i = 0; i < count; i++)
        nodes[i] = must(GC_MALLOC(sizeof(node)));
    if (strcmp(shape, "pairs") == 0) {
        root = must(GC_MALLOC(count / 2 * sizeof *root));
        for (size_t i = 0; i + 1 < count; i += 2) {
            nodes[i]->a = nodes[i + 1];
            nodes[i + 1]->a = nodes[i];
            root[i / 2] = nodes[i];
        }
    } else if (strcmp(shape, "ring") == 0) {
        root = must(GC_MALLOC(sizeof *root));
        for (size_t i = 0; i < count; i++)
            nodes[i]->a = nodes[(i + 1) % count];
        root[0] = nodes[0];
    } else if (strcmp(shape, "random") == 0) {
        bench_rng rng = {7};
        root = nodes; /* the holder references every node */
        for (size_t i = 0; i < count; i++) {
            nodes[i]->a = nodes[bench_below(&rng, (uint32_t)count)];
            nodes[i]->b = nodes[bench_below(&rng, (uint32_t)count)];
        }
        return;
    } else {
        bench_fail("shape must be pairs, ring or random");
    }
    GC_FREE(nodes); /* so that no stale stack word keeps it for the marker */
}

int main(int argc, char **argv) {
    if (argc < 2)
        bench_fail("usage: bench_collector_boehm pairs|ring|random [again] [--count N] [--reps N]");
    int again = bench_flag(argc, argv, "again");
    long count = bench_arg(argc, argv, "--count", 1000000);
    long reps = bench_arg(argc, argv, "--reps", 1);
    GC_INIT();
    unsigned v = GC_get_version();
    bench_info("version", "Boehm GC %u.%u.%u", v >> 16, (v >> 8) & 0xff, v & 0xff);
    char workload[64];
    snprintf(workload, sizeof workload, again ? "live heap collected again, %s" : "live heap, %s",
             argv[1]);
    for (long r = 0; r < reps; r++) {
        build(argv[1], (size_t)count);
        if (again)
            GC_gcollect();
        double t0 = bench_now();
        GC_gcollect();
        double t = bench_now() - t0;
        bench_result(workload, t / (double)count * 1e9, "ns/object");
        root = NULL;
        GC_gcollect(); /* frees the shape before the next repetition */
    }
    return 0;
}
