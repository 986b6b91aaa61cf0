/*
 * fuzz_gc.c — libFuzzer target for the cycle collector: the input is a
 * program of heap operations for tests/gc_model.h (its first bytes choose
 * automatic collections, thresholds and a leaking end), checked after
 * every operation against the model's own reachability; any difference
 * aborts. The objects are tracked nodes, leaves, weak references and
 * holders (untracked objects whose clear drops references: cycles through
 * them leak, long chains of them die past the destructor's nesting limit,
 * and some are made while the heap's rc_alloc_fn fails, so that rc_new
 * reports ENOMEM when the slot for a deferred death needs memory). Each
 * input runs twice: as its bytes say, then with most objects plain
 * (gm_config.plain, which no byte chooses, so that the corpus keeps its
 * meaning) and tracemalloc on (gm_config.tracing: collections, deaths and
 * starved allocations then free and make traced objects; once every object
 * is gone, no byte may stay traced). Both runs set gm_config.spawn (no
 * byte chooses it either): in a program that ends with objects alive,
 * their releases at rc_heap_free make objects as the program's bytes say,
 * of plain kinds too, kept, dropped at once (dying by their counts in the
 * middle of the teardown, their releases making more) or in cycles, and
 * each must be released exactly once, finalized only if it died by its
 * count, and unseen by the collector's walks; they also make weak
 * references, with and without callbacks, to released objects and live
 * ones, which must give NULL exactly once their target is released or
 * dead, and whose callbacks run at most once, only for a death by count.
 * The corpus, tests/fuzz/corpus/gc/, replays as fuzz_replay.gc.
 */
#include "../gc_model.h"

_Noreturn static void gm_fail(const char *msg) {
    fprintf(stderr, "fuzz_gc: %s\n", msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_reader rd = {data, data + size};
    gm_config cfg = gm_config_of_bytes(&rd);
    cfg.spawn = true;
    gm_run(rd.p, (size_t)(rd.end - rd.p), &cfg);
    cfg.plain = true;
    cfg.tracing = true;
    gm_run(rd.p, (size_t)(rd.end - rd.p), &cfg);
    return 0;
}
