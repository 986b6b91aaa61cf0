/* seccomp_deny.h — deny_process_vm_readv(): a seccomp filter that makes
 * process_vm_readv fail with EPERM from now on, as Docker's default
 * profile does without CAP_SYS_PTRACE (tests/programs/coroutine*.c). 0, or
 * -1 when the filter cannot be installed. */
#ifndef RCGC_SECCOMP_DENY_H
#define RCGC_SECCOMP_DENY_H
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

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
