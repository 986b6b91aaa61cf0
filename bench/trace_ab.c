/*
 * trace_ab.c — what tracing costs while it is off: the churn of churn.h run
 * by the library as built (tracing off: one test of h->tracer per call) and
 * by the same library with tracing compiled out, in one process.
 *
 * The compiled-out library is rcgc_notrace (CMakeLists.txt: the sources
 * with every `h->tracer` test on the allocation paths replaced by a null
 * constant, so the compiler drops the tracing branches and calls), its
 * global symbols renamed nt_* so that both link into this program. Each
 * library has its own heap and live set; they take turns in `--blocks`
 * blocks (20) of `--ops` steps (1M), in quads AB BA BA AB so that each
 * runs first as often as second; each block gives one time per library,
 * and each quad the ratio of their sums. A drift in the machine's speed
 * falls on both halves of a quad alike, which separate processes on a busy
 * machine cannot promise.
 *
 *     bench_trace_ab [objects] [--blocks N] [--ops N] [--live N]
 */
#include "churn.h"
#include "rcgc.h"

/* The compiled-out library. */
rc_heap *nt_rc_heap_new(void);
size_t nt_rc_heap_free(rc_heap *h);
void *nt_rc_malloc_at(rc_heap *h, size_t size, const char *file, int line, const char *func);
void nt_rc_free(rc_heap *h, void *ptr);
void *nt_rc_new_sized_at(rc_heap *h, const rc_type *type, size_t size, const char *file,
                         int line, const char *func);
void nt_rc_decref(void *obj);

static rc_heap *heap_off, *heap_out;
static const rc_type blob_type = {.name = "blob", .size = CHURN_MIN_SIZE};

/* Both call the same way the rc_malloc/rc_new_sized macros do. */
static void *off_malloc(size_t n) { return rc_malloc(heap_off, n); }
static void off_free(void *p) { rc_free(heap_off, p); }
static void *out_malloc(size_t n) {
    return nt_rc_malloc_at(heap_out, n, __FILE__, __LINE__, __func__);
}
static void out_free(void *p) { nt_rc_free(heap_out, p); }
static void *off_new(size_t n) { return rc_new_sized(heap_off, &blob_type, n); }
static void off_drop(void *p) { rc_decref(p); }
static void *out_new(size_t n) {
    return nt_rc_new_sized_at(heap_out, &blob_type, n, __FILE__, __LINE__, __func__);
}
static void out_drop(void *p) { nt_rc_decref(p); }

typedef struct side {
    churn_set set;
    double seconds; /* of the current block */
} side;

/* Calls f with the constant ops of one side and library. */
#define ON_SIDE(objects, outside, f, ...)                                                \
    do {                                                                                 \
        if (objects && outside)                                                          \
            f(&(const churn_ops){out_new, out_drop}, __VA_ARGS__);                       \
        else if (objects)                                                                \
            f(&(const churn_ops){off_new, off_drop}, __VA_ARGS__);                       \
        else if (outside)                                                                \
            f(&(const churn_ops){out_malloc, out_free}, __VA_ARGS__);                    \
        else                                                                             \
            f(&(const churn_ops){off_malloc, off_free}, __VA_ARGS__);                    \
    } while (0)

CHURN_INLINE void timed_steps(const churn_ops *ops, side *sd, long nops) {
    double t0 = bench_now();
    churn_steps(ops, &sd->set, nops);
    sd->seconds = bench_now() - t0;
}

int main(int argc, char **argv) {
    int objects = bench_flag(argc, argv, "objects");
    long blocks = bench_arg(argc, argv, "--blocks", 20);
    long nops = bench_arg(argc, argv, "--ops", 1000000);
    long live = bench_arg(argc, argv, "--live", 100000);
    const char *what = objects ? "rc_new/rc_decref churn" : "malloc/free churn";
    if ((heap_off = rc_heap_new()) == NULL || (heap_out = nt_rc_heap_new()) == NULL)
        bench_fail("rc_heap_new failed");
    bench_info("version", "rcgc %s", rc_version());
    side sides[2]; /* 0: tracing off, 1: tracing compiled out */
    for (int i = 0; i < 2; i++) {
        sides[i].set = (churn_set){.live = live,
                                   .min_size = CHURN_MIN_SIZE,
                                   .max_size = CHURN_MAX_SIZE,
                                   .slot = calloc((size_t)live, sizeof(void *))};
        if (sides[i].set.slot == NULL)
            bench_fail("no memory for the live sets");
        ON_SIDE(objects, i, churn_fill, &sides[i].set);
    }
    char off_name[64], out_name[64], ratio_name[80];
    snprintf(off_name, sizeof off_name, "%s, tracing off", what);
    snprintf(out_name, sizeof out_name, "%s, tracing compiled out", what);
    snprintf(ratio_name, sizeof ratio_name, "%s: off / compiled out", what);
    /* Blocks run in quads AB BA BA AB: within a quad each side runs first
     * twice and second twice, and follows itself once, so what the order
     * does to a block's time (seen here: up to 40% either way) cancels in
     * the quad's sums, which give the ratio. */
    double quad[2] = {0, 0};
    for (long b = 0; b < blocks; b++) {
        int first = (int)(b & 1) ^ (int)((b >> 1) & 1); /* A B B A ... */
        ON_SIDE(objects, first, timed_steps, &sides[first], nops);
        ON_SIDE(objects, !first, timed_steps, &sides[!first], nops);
        bench_result(off_name, sides[0].seconds / (double)nops * 1e9, "ns/pair");
        bench_result(out_name, sides[1].seconds / (double)nops * 1e9, "ns/pair");
        quad[0] += sides[0].seconds;
        quad[1] += sides[1].seconds;
        if (b % 4 == 3) {
            bench_result(ratio_name, quad[0] / quad[1], "x");
            quad[0] = quad[1] = 0;
        }
    }
    for (int i = 0; i < 2; i++) {
        ON_SIDE(objects, i, churn_empty, &sides[i].set);
        free(sides[i].set.slot);
    }
    bench_info("check", "%llu %llu", (unsigned long long)sides[0].set.check,
               (unsigned long long)sides[1].set.check);
    rc_heap_free(heap_off);
    nt_rc_heap_free(heap_out);
    return 0;
}
