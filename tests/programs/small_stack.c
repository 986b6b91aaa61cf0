/* small_stack.c — the first traced allocation with nframe > 1, on a thread whose stack is
 * small (PTHREAD_STACK_MIN, 16 KiB), the library linked in statically: finding its own code
 * read the program's debug information (libdw) there and overflowed it; start does it now. */
#include <limits.h>
#include <pthread.h>
#include <rcgc.h>
#include <stdio.h>

static rc_heap *h;
static void *block;
#ifndef __has_feature /* GCC says __SANITIZE_ADDRESS__, Clang has the feature */
#define __has_feature(x) 0
#endif
#if defined(__SANITIZE_ADDRESS__) || __has_feature(address_sanitizer) /* ASan: big frames */
#define STACK (4 * PTHREAD_STACK_MIN)
#else
#define STACK PTHREAD_STACK_MIN
#endif

static void *worker(void *arg) {
    (void)arg;
    block = rc_malloc(h, 100); /* ALLOC: line 22 */
    return NULL;
}

int main(void) {
    h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstacksize(&attr, STACK) != 0 ||
        pthread_create(&t, &attr, worker, NULL) != 0 || pthread_join(t, NULL) != 0)
        return 1;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    if (tb == NULL)
        return 1;
    printf("%s:%u\n", tb->frames[0].filename, tb->frames[0].lineno);
    rc_free(h, block);
    rc_heap_free(h);
    return 0;
}
