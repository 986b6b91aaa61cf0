/*
 * check_main.h — the main() every test program shares. Each test_*.c
 * defines `Suite *test_suite(void)`; `test_x NAME` runs the tcase NAME alone
 * (that is how CTest runs them, one process each), `test_x` runs them all.
 */
#ifndef RCGC_CHECK_MAIN_H
#define RCGC_CHECK_MAIN_H
#include <check.h>
#include <stdio.h>
#include <stdlib.h>

Suite *test_suite(void);

int main(int argc, char **argv) {
    /* The library's knobs as a user leaves them: each test sets what it
     * tests (RCGC_DEBUG=1 in the user's shell changed what twenty tests
     * measure) */
    unsetenv("RCGC_DEBUG");
    unsetenv("RCGC_HUGEPAGES");
    unsetenv("RCGC_DEBUGINFOD");
    SRunner *sr = srunner_create(test_suite());
    srunner_run(sr, NULL, argc > 1 ? argv[1] : NULL, CK_NORMAL);
    int run = srunner_ntests_run(sr), failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (run == 0) {
        fprintf(stderr, "no test case named %s\n", argc > 1 ? argv[1] : "(any)");
        return 1;
    }
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
#endif
