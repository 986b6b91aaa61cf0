/*
 * fuzz_gc.c — libFuzzer target for the cycle collector: the input is a
 * program of heap operations for tests/gc_model.h (its first bytes choose
 * automatic collections, thresholds and a leaking end), checked after
 * every operation against the model's own reachability; any difference
 * aborts. The corpus, tests/fuzz/corpus/gc/, replays as fuzz_replay.gc.
 */
#include "../gc_model.h"

_Noreturn static void gm_fail(const char *msg) {
    fprintf(stderr, "fuzz_gc: %s\n", msg);
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_run(data, size, NULL);
    return 0;
}
