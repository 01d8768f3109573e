// Exits 0 when malloc and operator new of this process are served by
// mimalloc, 1 otherwise. Linked the same way as the *_mimalloc benchmarks.
#include <mimalloc.h>

#include <cstdio>
#include <cstdlib>
#include <memory>

int main() {
    void* from_malloc = std::malloc(64);
    auto from_new = std::make_unique<char[]>(64);
    const bool malloc_replaced = mi_is_in_heap_region(from_malloc);
    const bool new_replaced = mi_is_in_heap_region(from_new.get());
    std::free(from_malloc);

    std::printf("mimalloc %d: malloc %s, operator new %s\n", mi_version(),
                malloc_replaced ? "replaced" : "NOT replaced",
                new_replaced ? "replaced" : "NOT replaced");
    return malloc_replaced && new_replaced ? 0 : 1;
}
