/* debuglink_lib.c — a library whose debug information the e2e test moves
 * to a separate file named by .gnu_debuglink (objcopy --only-keep-debug):
 * its frame keeps its line only if the resolver finds that file. */
void *lib_call(void *(*make)(void)) {
    void *p = make(); /* LIB_CALL: line 5 */
    return p;
}
