/* A plugin that test_threads.c loads in several threads at once, a copy
 * each: it calls the host back from `depth` calls down, so that a traced
 * allocation there walks through depth + 2 frames of code just loaded. */
#include <stddef.h>

typedef void *(*host_fn)(void *arg);

__attribute__((noinline)) static void *down(host_fn fn, void *arg, int depth) {
    void *p = depth ? down(fn, arg, depth - 1) : fn(arg);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return p;
}

__attribute__((noinline)) void *plugin_call(host_fn fn, void *arg, int depth) {
    void *p = down(fn, arg, depth);
    __asm__ volatile("" ::: "memory");
    return p;
}
