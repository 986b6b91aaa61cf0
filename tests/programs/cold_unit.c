/* cold_unit.c — a unit with debug information whose code is split around
 * another's (test_tracemalloc_e2e.c's program_without_debug_information):
 * its cold function goes to .text.unlikely, which GNU ld places before
 * every .text, its hot one after the program's own code. */
__attribute__((cold, noinline)) int cold_part(int x) { return x * 3; }

int hot_part(int x) { return cold_part(x) + 1; }
