/* stack_limit.c — tracebacks resolved on the main thread where its stack
 * cannot grow. The main thread's stack is mapped as it is touched, within
 * RLIMIT_STACK and the address space RLIMIT_AS leaves, and a touch past
 * them is a SIGSEGV; libdw reading a line table takes over 100 KiB of it.
 * The library is linked in statically and tracing starts on another
 * thread, whose stack takes the library search (libdw too), so that the
 * main thread's is only what the kernel mapped at exec. Prints the
 * block's first frame resolved with the stack limited to what is mapped,
 * then (not under AddressSanitizer) what resolution gives with 32 MiB of
 * address space, then of data, left (ENOMEM: libdw is not called with
 * less than 64 MiB), and the frame once the limit is lifted. */
#include <errno.h>
#include <pthread.h>
#include <rcgc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* AddressSanitizer reserves terabytes of address space: no RLIMIT_AS */
#if defined(__SANITIZE_ADDRESS__) /* GCC */
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) /* Clang */
#define UNDER_ASAN 1
#endif
#endif

static rc_heap *h;

static void *start(void *arg) {
    (void)arg;
    h = rc_heap_new();
    return h && rc_tracemalloc_start(h, 16) == 0 ? h : NULL;
}

/* The size of the main thread's stack mapping. */
static size_t stack_mapped(void) {
    FILE *maps = fopen("/proc/self/maps", "r");
    char line[512];
    size_t size = 0;
    while (maps && fgets(line, sizeof line, maps))
        if (strstr(line, "[stack]")) {
            unsigned long lo, hi;
            if (sscanf(line, "%lx-%lx", &lo, &hi) == 2)
                size = hi - lo;
        }
    if (maps)
        fclose(maps);
    return size;
}

/* Field `field` of /proc/self/statm (0: the whole, 5: data and stack), in
 * bytes. */
static size_t mapped(int field) {
    FILE *statm = fopen("/proc/self/statm", "r");
    unsigned long pages[6] = {0};
    if (statm == NULL || fscanf(statm, "%lu %lu %lu %lu %lu %lu", &pages[0], &pages[1], &pages[2],
                                &pages[3], &pages[4], &pages[5]) != 6)
        pages[field] = 0;
    if (statm)
        fclose(statm);
    return pages[field] * (size_t)sysconf(_SC_PAGESIZE);
}

static void print_frame(const char *when, const rc_traceback *tb) {
    if (tb)
        printf("%s: %s:%u\n", when, tb->frames[0].filename, tb->frames[0].lineno);
    else
        printf("%s: %s\n", when, strerror(errno));
}

/* Resolves a block of a new traced heap with `resource` limited to 32 MiB
 * more than is mapped (statm's `field`), then again without; prints both. */
static int resolve_limited(const char *what, int resource, int field) {
    rc_heap *other = rc_heap_new();
    void *more = other && rc_tracemalloc_start(other, 16) == 0 ? rc_malloc(other, 100) : NULL; /* MORE: line 78 */
    struct rlimit was, limit;
    if (more == NULL || getrlimit(resource, &was) != 0)
        return 1;
    limit = was;
    limit.rlim_cur = mapped(field) + ((size_t)32 << 20);
    if (setrlimit(resource, &limit) != 0)
        return 1;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(other, more);
    int err = errno;
    setrlimit(resource, &was);
    errno = err;
    print_frame(what, tb);
    print_frame("then", rc_tracemalloc_get_object_traceback(other, more));
    rc_free(other, more);
    return rc_heap_free(other) == 0 ? 0 : 1;
}

int main(void) {
    pthread_t t;
    void *started = NULL;
    if (pthread_create(&t, NULL, start, NULL) != 0 || pthread_join(t, &started) != 0 ||
        started == NULL)
        return 1;
    void *block = rc_malloc(h, 100); /* ALLOC: line 102 */
    struct rlimit was, limit;
    if (block == NULL || getrlimit(RLIMIT_STACK, &was) != 0)
        return 1;
    limit = was;
    limit.rlim_cur = stack_mapped();
    if (limit.rlim_cur == 0 || setrlimit(RLIMIT_STACK, &limit) != 0)
        return 1;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    setrlimit(RLIMIT_STACK, &was);
    print_frame("stack limited", tb);
#ifndef UNDER_ASAN
    if (resolve_limited("address space short", RLIMIT_AS, 0) != 0 ||
        resolve_limited("data short", RLIMIT_DATA, 5) != 0)
        return 1;
#endif
    rc_free(h, block);
    return rc_heap_free(h) == 0 ? 0 : 1;
}
