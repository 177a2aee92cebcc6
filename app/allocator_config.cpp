// jemalloc's settings for every command of the binary, read by jemalloc before the first
// allocation (a MALLOC_CONF environment variable still overrides them). Measured choices are in
// docs/DEPLOY.md: no thread caches (with some 70 threads, mostly ONNX Runtime's and the HTTP
// server's, the caches held about 40 MB at idle after a mixed load), four arenas as on glibc, and
// freed pages returned after a second by jemalloc's background threads, so an idle server shrinks
// without a request to trigger it.
#if defined(ONNX_CHAT_JEMALLOC)
extern "C" {
extern const char* malloc_conf;
const char* malloc_conf = "narenas:4,tcache:false,background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0";
}
#endif
