/* ctor_host.c — built with librcgc.a and stripped. Thread Y loads
 * ctor_plugin.so, whose constructor makes a traced allocation (a stack
 * walk) while the dynamic linker's lock is held; meanwhile the main thread
 * makes the process's first walk, which finds librcgc's own code. That
 * search used to look for separate debug information, which made libdw
 * dlopen its debuginfod client and wait for the lock Y held, while Y's
 * walk waited for the search: a deadlock. The sleep only orders the two. */
#include <dlfcn.h>
#include <pthread.h>
#include <rcgc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

static atomic_int in_constructor, main_walking;
static rc_heap *heap_y;

void host_in_constructor(void) {
    in_constructor = 1;
    while (!main_walking)
        ;
    usleep(20000); /* the main thread's first walk is under way */
    rc_free(heap_y, rc_malloc(heap_y, 16));
}

static void *load(void *path) {
    heap_y = rc_heap_new();
    rc_tracemalloc_start(heap_y, 16);
    if (dlopen(path, RTLD_NOW) == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return (void *)1;
    }
    return NULL;
}

int main(void) {
    rc_heap *h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    pthread_t y;
    pthread_create(&y, NULL, load, "./ctor_plugin.so");
    while (!in_constructor)
        ;
    main_walking = 1;
    rc_free(h, rc_malloc(h, 16)); /* the process's first walk */
    void *failed;
    pthread_join(y, &failed);
    puts(failed ? "dlopen failed" : "no deadlock");
    rc_heap_free(heap_y);
    return (int)rc_heap_free(h);
}
