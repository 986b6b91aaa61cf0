/* coroutine.c — an allocation on a coroutine's stack (makecontext, a
 * mapping of its own) under code that keeps a value in the frame pointer
 * register, as code built without frame pointers may: here the address of
 * an inaccessible page above that stack and below the thread's. The walk
 * followed it and crashed (the thread's own stack is the only memory known
 * to be mapped from a frame up to its top); it must end there instead.
 * With the argument "deny", where process_vm_readv is refused
 * (coroutine.h), it must too. */
#include "coroutine.h"
#include <rcgc.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

static rc_heap *h;
static void *block;
uintptr_t fp_value; /* what mid() leaves in the frame pointer */

__attribute__((noinline)) void inner(void) {
    block = rc_malloc(h, 100); /* ALLOC: line 21 */
}

/* calls inner() with fp_value in the frame pointer register */
void mid(void);
#if defined(__x86_64__)
__asm__(".text\n.globl mid\n.type mid,@function\nmid:\n"
        "push %rbp\nmov fp_value(%rip), %rbp\ncall inner\npop %rbp\nret\n");
#elif defined(__aarch64__)
__asm__(".text\n.globl mid\n.type mid,%function\nmid:\n"
        "stp x29, x30, [sp, #-16]!\nadrp x9, fp_value\nldr x29, [x9, :lo12:fp_value]\n"
        "bl inner\nldp x29, x30, [sp], #16\nret\n");
#else
void mid(void) { inner(); }
#endif

static void entry(void) {
    mid();
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "deny") == 0 && deny_process_vm_readv() != 0)
        return 2;
    h = rc_heap_new();
    rc_tracemalloc_start(h, 16);
    size_t size = 1 << 20, page = 4096;
    /* the stack, then an inaccessible page just above it */
    char *stack = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (stack == MAP_FAILED || mprotect(stack + size, page, PROT_NONE) != 0)
        return 1;
    fp_value = (uintptr_t)(stack + size);
    run_on_stack(entry, stack, size);
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, block);
    if (tb == NULL)
        return 1;
    printf("%s:%u\n", tb->frames[0].filename, tb->frames[0].lineno);
    return 0;
}
