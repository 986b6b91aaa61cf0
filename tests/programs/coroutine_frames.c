/* coroutine_frames.c — a traceback taken on a coroutine's stack (made by
 * makecontext), whose frame records the walk reads only where the kernel
 * says it can (process_vm_readv). With the argument "deny", a seccomp
 * filter first makes that call fail with EPERM, as Docker's default
 * profile does without CAP_SYS_PTRACE: the frames must be the same.
 * Prints function:line of the first three. */
#include "seccomp_deny.h"
#include <rcgc.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>

static ucontext_t main_ctx, co_ctx;
static rc_heap *h;
static void *volatile block;

__attribute__((noinline)) void inner(void) {
    block = rc_malloc(h, 100); /* INNER: line 19 */
}

__attribute__((noinline)) void outer(void) {
    inner(); /* OUTER: line 23 */
    block = block;
}

static void entry(void) {
    outer(); /* ENTRY: line 28 */
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
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, entry, 0);
    swapcontext(&main_ctx, &co_ctx);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    if (tb == NULL || tb->nframe < 3)
        return 1;
    for (unsigned i = 0; i < 3; i++)
        printf("%s%s:%u", i ? " " : "", tb->frames[i].function, tb->frames[i].lineno);
    printf("\n");
    rc_free(h, block);
    return (int)rc_heap_free(h);
}
