/* no_proc.c — tail_call.c in a process that cannot read /proc (a chroot, a
 * sandbox), simulated without privileges: readlink of /proc/self/exe and
 * pthread_getattr_np of the main thread fail as they do there (glibc reads
 * /proc/self/maps for the main thread's stack); the library linked
 * statically calls these definitions. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

ssize_t readlink(const char *path, char *buf, size_t len) {
    if (strncmp(path, "/proc/", 6) == 0) {
        errno = ENOENT;
        return -1;
    }
    return syscall(SYS_readlinkat, AT_FDCWD, path, buf, len); /* AArch64 has no readlink */
}

int pthread_getattr_np(pthread_t thread, pthread_attr_t *attr) {
    (void)thread;
    (void)attr;
    return ENOENT; /* what glibc's getline of /proc/self/maps failing gives */
}

#include "tail_call.c"
