/* coroutine.h — what tests/programs/coroutine*.c share: running a function
 * on a stack of their own (makecontext), and a seccomp filter that makes
 * process_vm_readv fail with EPERM, as Docker's default profile does
 * without CAP_SYS_PTRACE. */
#ifndef RCGC_TEST_COROUTINE_H
#define RCGC_TEST_COROUTINE_H
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>

/* Runs entry on the size bytes at stack, as a coroutine, until it returns. */
static void run_on_stack(void (*entry)(void), char *stack, size_t size) {
    static ucontext_t main_ctx, co_ctx;
    getcontext(&co_ctx);
    co_ctx.uc_stack.ss_sp = stack;
    co_ctx.uc_stack.ss_size = size;
    co_ctx.uc_link = &main_ctx;
    makecontext(&co_ctx, entry, 0);
    swapcontext(&main_ctx, &co_ctx);
}

/* The filter from now on: 0, or -1 when it cannot be installed. */
static int deny_process_vm_readv(void) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {sizeof code / sizeof code[0], code};
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
                   prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog)
               ? -1
               : 0;
}
#endif
