// ThreadSanitizer's suppressions for libvips, compiled into the function and its tests.
//
// libvips and the codecs under it are not instrumented, and libvips synchronises its worker
// threads with glib's futex-based locks, which ThreadSanitizer cannot see: every handover of
// a buffer between a libvips worker and the calling thread would look like a race, and
// reporting (even suppressing) each one makes a decode take minutes. So the memory functions
// those libraries call (memcpy, memset, malloc, free...) are not tracked at all
// (`called_from_lib`), and what remains of their races is dropped. Races between muster's own
// threads (the io_context, the CPU pool, the SQLite thread) are still reported.
#if defined(__SANITIZE_THREAD__)
extern "C" const char* __tsan_default_suppressions() {
    return "called_from_lib:libvips.so\n"
           "called_from_lib:libvips-cpp.so\n"
           "called_from_lib:libjpeg.so\n"
           "called_from_lib:libpng16.so\n"
           "called_from_lib:libspng.so\n"
           "called_from_lib:libwebp.so\n"
           "called_from_lib:libwebpmux.so\n"
           "called_from_lib:libwebpdemux.so\n"
           "called_from_lib:libsharpyuv.so\n"
           "called_from_lib:libexif.so\n"
           "called_from_lib:libz.so\n"
           "called_from_lib:liborc-0.4.so\n"
           "called_from_lib:libglib-2.0.so\n"
           "called_from_lib:libgobject-2.0.so\n"
           "race:libvips.so\n"
           "race:libglib-2.0.so\n"
           "race:libgobject-2.0.so\n"
           // glib's recursive class lock, taken again by the thread that holds it while a
           // GType class initialises, reads to ThreadSanitizer as a double lock.
           "mutex:libgobject-2.0.so\n"
           "mutex:libglib-2.0.so\n";
}
#endif
