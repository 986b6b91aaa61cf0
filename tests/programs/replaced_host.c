/* replaced_host.c — tracebacks of code whose files were replaced on disk
 * while it ran (a deploy or a package upgrade renames a new build over
 * each): with two arguments, the first is renamed over the library it
 * linked (libdl1.so, from debuglink_lib.c), the second over the program
 * itself, before the traceback is first resolved. Prints the library's
 * frame and the program's, as function:line, or "offset" for a frame
 * named file+0xOFFSET. */
#include <rcgc.h>
#include <stdio.h>
#include <string.h>

void *lib_call(void *(*make)(void));

static rc_heap *h;

static void *make(void) {
    return rc_malloc(h, 32);
}

static void show(const rc_frame *f) {
    if (f->function == NULL && strstr(f->filename, "+0x"))
        printf(" offset");
    else
        printf(" %s:%u", f->function, f->lineno);
}

int main(int argc, char **argv) {
    h = rc_heap_new();
    rc_tracemalloc_start(h, 4);
    void *p = lib_call(make); /* MAIN: line 30 */
    if (argc > 2 && (rename(argv[1], "libdl1.so") != 0 || rename(argv[2], argv[0]) != 0))
        return 2;
    const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, p);
    if (tb == NULL || tb->nframe < 3)
        return 1;
    show(&tb->frames[1]);
    show(&tb->frames[2]);
    printf("\n");
    rc_free(h, p);
    return (int)rc_heap_free(h);
}
