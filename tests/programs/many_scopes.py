#!/usr/bin/env python3
"""many_scopes.py N > many.c — a program whose unit has N functions and whose
eval() inlines N calls, one per `case` line (test_tracemalloc_e2e.c's
scopes_of_big_units): past SCOPE_SCAN (src/frames.c), both are searched
through indexes. many.c allocates once per case and prints the frames of
the allocations of the cases given on its command line, a line each:
"file:line function ...". Case k's op_k is on line 5 + k, its `case` on
line N + 7 + k, main's call of eval on line 2N + 16."""
import sys

n = int(sys.argv[1])
lines = ["#include <rcgc.h>", "#include <stdio.h>", "#include <stdlib.h>",
         "static void *volatile sink;"]
for i in range(n):
    lines.append("static inline __attribute__((always_inline)) void *op_%d(rc_heap *h) "
                 "{ void *p = rc_malloc(h, %d); sink = p; return p; }" % (i, 16 + i % 7))
lines.append("__attribute__((noinline)) void *eval(rc_heap *h, int op) {")
lines.append("    switch (op) {")
for i in range(n):
    lines.append("    case %d: return op_%d(h);" % (i, i))
lines += ["    default: return NULL;", "    }", "}",
          "int main(int argc, char **argv) {",
          "    rc_heap *h = rc_heap_new();",
          "    if (rc_tracemalloc_start(h, 3) != 0)",
          "        return 1;",
          "    void *made[%d];" % n,
          "    for (int i = 0; i < %d; i++)" % n]
lines += ["        sink = made[i] = eval(h, i);",
          "    for (int a = 1; a < argc; a++) {",
          "        int k = atoi(argv[a]);",
          "        const rc_traceback *tb = rc_tracemalloc_get_object_traceback(h, made[k]);",
          "        for (unsigned i = 0; tb && i < tb->nframe; i++)",
          "            printf(\"%s%s:%u %s\", i ? \" \" : \"\", tb->frames[i].filename, tb->frames[i].lineno,",
          "                   tb->frames[i].function ? tb->frames[i].function : \"?\");",
          "        printf(\"\\n\");",
          "    }",
          "    for (int i = 0; i < %d; i++)" % n,
          "        rc_free(h, made[i]);",
          "    return (int)rc_heap_free(h);",
          "}"]
print("\n".join(lines))
