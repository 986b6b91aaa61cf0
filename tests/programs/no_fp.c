/* no_fp.c — busy() is built without frame pointers (-O2; not instrumented
 * by ASan, which in Clang gives it one) and keeps a pointer into its own
 * stack array where a frame pointer would be, so the frame record the walk
 * finds above it is the array's bytes: not a return address into any code,
 * where the walk must end (it reported a made-up frame, and Valgrind saw
 * the walk test unwritten stack bytes). x86-64's GCC gives the pointer the
 * frame pointer register by itself; AArch64's leaves x29 alone, so there
 * the pointer is put in it. */
#include <rcgc.h>
void *leaf(rc_heap *h, long k);

__attribute__((noinline, no_sanitize("address"))) long busy(rc_heap *h, long *a, void **out, int n) {
    long buf[16];
#if defined(__aarch64__) /* where GCC leaves x29 alone, it is made so */
    register long *q __asm__("x29") = buf;
#else
    long *q = buf;
#endif
    long s0 = 0, s1 = 1, s2 = 2, s3 = 3, s4 = 4, s5 = 5;
    for (int i = 0; i < n; i++) {
        buf[i & 15] = a[i];
#if defined(__aarch64__)
        __asm__ volatile("" : "+r"(q)); /* q in x29 at the call */
#endif
        void *p = leaf(h, (long)q + i); /* BUSY: line 25 */
        s0 += a[i] ^ (long)p;
        s1 += s0 * a[i];
        s2 ^= s1 + (long)q;
        s3 += s2 >> 1;
        s4 -= s3;
        s5 += s4 * 3;
        out[i] = p;
        q = buf + ((s5 ^ i) & 7);
    }
    return s0 + s1 + s2 + s3 + s4 + s5 + buf[3];
}
