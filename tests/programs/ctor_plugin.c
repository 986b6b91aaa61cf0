/* ctor_plugin.c — a plugin whose constructor, run by dlopen with the
 * dynamic linker's lock held, calls back into the host (ctor_host.c),
 * which makes a traced allocation there. */
extern void host_in_constructor(void);

__attribute__((constructor)) static void plugin_init(void) { host_in_constructor(); }
