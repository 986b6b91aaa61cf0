/* coroutine_frames.c — a traceback taken on a coroutine's stack (made by
 * makecontext), whose frame records the walk reads only where the kernel
 * says it can (process_vm_readv). With the argument "deny", a seccomp
 * filter first makes that call fail with EPERM, as Docker's default
 * profile does without CAP_SYS_PTRACE: the frames must be the same.
 * Prints function:line of the first three. */
#include "coroutine.h"
#include <rcgc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static rc_heap *h;
static void *volatile block;

__attribute__((noinline)) void inner(void) {
    block = rc_malloc(h, 100); /* INNER: line 17 */
}

__attribute__((noinline)) void outer(void) {
    inner(); /* OUTER: line 21 */
    block = block;
}

static void entry(void) {
    outer(); /* ENTRY: line 26 */
    block = block;
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "deny") == 0 && deny_process_vm_readv() != 0)
        return 2;
    h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    size_t size = 1 << 20;
    char *stack = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED)
        return 1;
    run_on_stack(entry, stack, size);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    if (tb == NULL || tb->nframe < 3)
        return 1;
    for (unsigned i = 0; i < 3; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
    rc_free(h, block);
    return (int)rc_heap_free(h);
}
