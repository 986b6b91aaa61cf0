/*
 * weakref.c — weak references to many objects: the cost of making one
 * (rc_weakref_new, no callback) and of a target's death that clears it,
 * beside CPython's weakref.ref (bench/py/weakref_bench.py).
 *
 *     bench_weakref [--count N] [in-order|shuffled]
 *
 * N tracked 2-slot objects are made first (untimed), then one weak
 * reference to each, in the order they were made or in a seeded shuffled
 * order (the same in Python); then the objects are dropped in that order,
 * each death clearing its weak reference; then the weak references. The
 * collector is disabled (as gc.disable() in Python): no collection runs.
 */
#include "bench.h"

#include <rcgc.h>

typedef struct node { void *a, *b; } node;

static void node_traverse(void *self, rc_visit_fn visit, void *arg) {
    node *n = self;
    visit(&n->a, arg);
    visit(&n->b, arg);
}

static const rc_type node_type = {"node", sizeof(node), node_traverse, NULL, NULL, NULL};

static long arg_of(int argc, char **argv, const char *name, long dflt) {
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return atol(argv[i + 1]);
    return dflt;
}

int main(int argc, char **argv) {
    size_t n = (size_t)arg_of(argc, argv, "--count", 1000000);
    const char *order = argc > 1 && strcmp(argv[argc - 1], "shuffled") == 0 ? "shuffled"
                                                                             : "in-order";
    rc_heap *h = rc_heap_new();
    node **objs = malloc(n * sizeof *objs);
    uint32_t *idx = malloc(n * sizeof *idx);
    rc_weakref **refs = malloc(n * sizeof *refs);
    if (h == NULL || objs == NULL || idx == NULL || refs == NULL)
        bench_fail("out of memory");
    rc_gc_disable(h);
    for (size_t i = 0; i < n; i++) {
        if ((objs[i] = rc_new(h, &node_type)) == NULL)
            bench_fail("rc_new failed");
        idx[i] = (uint32_t)i;
    }
    if (strcmp(order, "shuffled") == 0) { /* Fisher-Yates, as weakref_bench.py */
        bench_rng rng = {12345};
        for (size_t i = n - 1; i > 0; i--) {
            uint32_t j = bench_below(&rng, (uint32_t)(i + 1)), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
        }
    }
    memset(refs, 0, n * sizeof *refs); /* its pages touched before the clock */
    double t0 = bench_now();
    for (size_t i = 0; i < n; i++)
        if ((refs[i] = rc_weakref_new(objs[idx[i]], NULL, NULL)) == NULL)
            bench_fail("rc_weakref_new failed");
    double t1 = bench_now();
    for (size_t i = 0; i < n; i++)
        rc_decref(objs[idx[i]]);
    double t2 = bench_now();
    size_t cleared = 0;
    for (size_t i = 0; i < n; i++) {
        cleared += rc_weakref_get(refs[i]) == NULL;
        rc_decref(refs[i]);
    }
    char wl[96];
    snprintf(wl, sizeof wl, "weak reference made (%s)", order);
    bench_result(wl, (t1 - t0) * 1e9 / (double)n, "ns");
    snprintf(wl, sizeof wl, "target's death clearing it (%s)", order);
    bench_result(wl, (t2 - t1) * 1e9 / (double)n, "ns");
    bench_info("cleared", "%zu of %zu", cleared, n);
    rc_heap_free(h);
    free(objs);
    free(idx);
    free(refs);
    return 0;
}
