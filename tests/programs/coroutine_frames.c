/* coroutine_frames.c — a traceback taken on a coroutine's stack (made by
 * makecontext), whose frame records the walk reads only where the kernel
 * says it can (process_vm_readv). With the argument "deny", a seccomp
 * filter first makes that call fail with EPERM, as Docker's default
 * profile does without CAP_SYS_PTRACE: the frames must be the same. With
 * "above", the coroutine runs on a thread, its stack mapped above that
 * thread's own (in the gap the kernel leaves below the main thread's
 * stack), which the walk never entered. Prints function:line of the first
 * three. */
#define _GNU_SOURCE /* pthread_getattr_np */
#include "coroutine.h"
#include <pthread.h>
#include <stdint.h>
#include <rcgc.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static rc_heap *h;
static void *volatile block;

__attribute__((noinline)) void inner(void) {
    block = rc_malloc(h, 100); /* INNER: line 24 */
}

__attribute__((noinline)) void outer(void) {
    inner(); /* OUTER: line 28 */
    block = block;
}

static void entry(void) {
    outer(); /* ENTRY: line 33 */
    block = block;
}

#define SIZE ((size_t)1 << 20)

/* "above": runs the coroutine on stack, which must lie above the thread's
 * own stack; NULL when it does. */
static void *on_thread(void *stack) {
    pthread_attr_t attr;
    void *lo;
    size_t size;
    if (pthread_getattr_np(pthread_self(), &attr) != 0 ||
        pthread_attr_getstack(&attr, &lo, &size) != 0 || (char *)stack < (char *)lo + size)
        return stack;
    pthread_attr_destroy(&attr);
    run_on_stack(entry, stack, SIZE);
    return NULL;
}

int main(int argc, char **argv) {
    bool above = argc > 1 && strcmp(argv[1], "above") == 0;
    if (argc > 1 && strcmp(argv[1], "deny") == 0 && deny_process_vm_readv() != 0)
        return 2;
    h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    /* above: 64 MiB below this frame, above every mapping but the stack */
    char *hint = above ? (char *)(((uintptr_t)&argc - (64u << 20)) & ~(uintptr_t)0xFFFF) : NULL;
    char *stack = mmap(hint, SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | (above ? MAP_FIXED_NOREPLACE : 0), -1, 0);
    if (stack == MAP_FAILED)
        return 1;
    pthread_t t;
    void *failed = NULL;
    if (above && (pthread_create(&t, NULL, on_thread, stack) != 0 ||
                  pthread_join(t, &failed) != 0 || failed != NULL))
        return 3;
    if (!above)
        run_on_stack(entry, stack, SIZE);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    if (tb == NULL || tb->nframe < 3)
        return 1;
    for (unsigned i = 0; i < 3; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
    rc_free(h, block);
    return (int)rc_heap_free(h);
}
