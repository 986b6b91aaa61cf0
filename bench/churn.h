/*
 * churn.h — the allocation churn shared by churn.c and trace_ab.c: a live
 * set of blocks of random sizes (16..256 B unless told), of which a random one is freed
 * and replaced, step after step. Every allocator replays the same seeded
 * sequence; each block is written when allocated and read before it is
 * freed, as a program would (and so no compiler can drop a malloc/free
 * pair).
 *
 * The functions are always inlined with a constant churn_ops, so the
 * allocator is called directly, not through a pointer.
 */
#ifndef RCGC_BENCH_CHURN_H
#define RCGC_BENCH_CHURN_H

#include "bench.h"

#include <stdint.h>

#define CHURN_MIN_SIZE 16
#define CHURN_MAX_SIZE 256
#define CHURN_SEED 42
#define CHURN_INLINE static inline __attribute__((always_inline))

typedef struct churn_ops {
    void *(*alloc)(size_t n);
    void (*free)(void *p);
} churn_ops;

/* One allocator's live set, its sizes and its place in the sequence. */
typedef struct churn_set {
    void **slot;
    long live;
    size_t min_size, max_size; /* sizes drawn from [min_size, max_size] */
    bench_rng rng;
    uint64_t check; /* sum of the sizes read back from freed blocks */
} churn_set;

CHURN_INLINE size_t churn_size(churn_set *s) {
    return s->min_size + bench_below(&s->rng, (uint32_t)(s->max_size - s->min_size + 1));
}

/* A block of n bytes with n stored in its first word; exits on failure. */
CHURN_INLINE void *churn_block(const churn_ops *ops, size_t n) {
    uint64_t *p = ops->alloc(n);
    if (p == NULL)
        bench_fail("allocation failed");
    p[0] = n;
    return p;
}

/* Starts the sequence and fills s->slot[0..s->live). */
CHURN_INLINE void churn_fill(const churn_ops *ops, churn_set *s) {
    s->rng = (bench_rng){CHURN_SEED};
    s->check = 0;
    for (long i = 0; i < s->live; i++)
        s->slot[i] = churn_block(ops, churn_size(s));
}

/* The next nops steps of the sequence: free a random block, allocate one
 * of a random size in its place. */
CHURN_INLINE void churn_steps(const churn_ops *ops, churn_set *s, long nops) {
    for (long k = 0; k < nops; k++) {
        uint32_t j = bench_below(&s->rng, (uint32_t)s->live);
        size_t n = churn_size(s);
        s->check += *(uint64_t *)s->slot[j];
        ops->free(s->slot[j]);
        s->slot[j] = churn_block(ops, n);
    }
}

/* Frees the live set. */
CHURN_INLINE void churn_empty(const churn_ops *ops, churn_set *s) {
    for (long i = 0; i < s->live; i++) {
        s->check += *(uint64_t *)s->slot[i];
        ops->free(s->slot[i]);
        s->slot[i] = NULL;
    }
}

#endif /* RCGC_BENCH_CHURN_H */
