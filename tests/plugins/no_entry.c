/* A shared object without the entry point: wsd must refuse it and not start. */
__attribute__((visibility("default"))) int not_a_wsd_plugin(void) { return 42; }
