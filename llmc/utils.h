// Shared host utilities: fatal errors, checked file I/O, arenas (checked allocation and carving),
// the clock. Every failure prints one line "error: ..." naming the file and the problem (plus the
// source location of the check for debugging) and exits with status 1.
#pragma once
#include <unistd.h>

#include <cerrno>
#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#ifdef LLMC_DIE_THROWS
// Built with -DLLMC_DIE_THROWS (the dev/fuzz/ harnesses only): die() throws this instead of
// printing and exiting, so a harness can catch a reader's error and go on to the next input.
struct DieError {
    std::string message;  // the line die() would print, without "error: "
};
#endif

// printf-style fatal error: one line on stderr, exit 1 (or throw DieError, see above).
[[noreturn]] inline void die(const char* fmt, ...) {
#ifdef LLMC_DIE_THROWS
    char buf[1024];
    va_list aq;
    va_start(aq, fmt);
    vsnprintf(buf, sizeof buf, fmt, aq);
    va_end(aq);
    throw DieError{buf};
#else
    fflush(stdout);
    // formatted first and written with one call: the processes of an MPI job share stderr, and
    // separate writes of "error: ", the text and the newline would interleave between them
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(buf, sizeof buf, "error: ");
    n += vsnprintf(buf + n, sizeof buf - n - 1, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
    buf[n++] = '\n';
    fwrite(buf, 1, (size_t)n, stderr);
    exit(EXIT_FAILURE);
#endif
}

// FILE* owned by a unique_ptr so every early return closes it.
struct FileCloser {
    void operator()(FILE* f) const { if (f) fclose(f); }
};
using FilePtr = std::unique_ptr<FILE, FileCloser>;

inline FILE* fopen_check_(const char* path, const char* mode, const char* file, int line) {
    FILE* f = fopen(path, mode);
    if (!f) die("cannot open %s (mode %s): %s [%s:%d]", path, mode, strerror(errno), file, line);
    return f;
}
#define fopenCheck(path, mode) fopen_check_(path, mode, __FILE__, __LINE__)

// Reads exactly n items or dies naming the file: a short read means a truncated file.
inline void fread_check_(void* ptr, size_t size, size_t n, FILE* f, const char* what,
                         const char* file, int line) {
    size_t got = fread(ptr, size, n, f);
    if (got != n) {
        die("%s: truncated or unreadable (wanted %zu items of %zu bytes, got %zu) [%s:%d]",
            what, n, size, got, file, line);
    }
}
#define freadCheck(ptr, size, n, f, what) fread_check_(ptr, size, n, f, what, __FILE__, __LINE__)

inline void fwrite_check_(const void* ptr, size_t size, size_t n, FILE* f, const char* what,
                          const char* file, int line) {
    if (fwrite(ptr, size, n, f) != n) {
        die("%s: write failed: %s [%s:%d]", what, strerror(errno), file, line);
    }
}
#define fwriteCheck(ptr, size, n, f, what) fwrite_check_(ptr, size, n, f, what, __FILE__, __LINE__)


// 64-byte aligned zeroed allocation for arenas (AVX-512 loads, no false sharing between threads).
struct AlignedFree {
    void operator()(void* p) const { free(p); }
};
template <typename T>
using Arena = std::unique_ptr<T[], AlignedFree>;

template <typename T>
inline Arena<T> arena_alloc(size_t n, const char* what) {
    size_t bytes = (n * sizeof(T) + 63) / 64 * 64;
    void* p = aligned_alloc(64, bytes ? bytes : 64);
    if (!p) die("out of memory allocating %s (%zu bytes)", what, bytes);
    memset(p, 0, bytes);
    return Arena<T>(static_cast<T*>(p));
}

// Size of an open file in bytes (64-bit; shards can exceed 2 GiB).
inline int64_t file_size(FILE* f, const char* what) {
    if (fseeko(f, 0, SEEK_END) != 0) die("%s: cannot seek: %s", what, strerror(errno));
    int64_t n = ftello(f);
    if (n < 0) die("%s: cannot tell size: %s", what, strerror(errno));
    if (fseeko(f, 0, SEEK_SET) != 0) die("%s: cannot seek: %s", what, strerror(errno));
    return n;
}

// The temp name AtomicWriter writes p under; it carries the pid, so two processes never write
// the same temp file.
inline std::string atomic_tmp_path(const std::string& p) { return p + "." + std::to_string((long)getpid()) + ".tmp"; }

// Temp files being written right now: die() exits without unwinding, so an exit handler removes
// them (a write that fails on a full disk leaves no partial file behind).
// Any thread may write a file (prepare_shards is multi-threaded): the list has a lock.
struct PendingTmp {
    std::mutex mu;
    std::vector<std::string> files;
};
inline PendingTmp& pending_tmp() {
    static PendingTmp* p = new PendingTmp();  // never destroyed: exit handlers run after static destructors
    return *p;
}
inline void remove_pending_tmp_files() {
    PendingTmp& p = pending_tmp();
    std::lock_guard<std::mutex> lock(p.mu);
    for (const std::string& t : p.files) remove(t.c_str());
    p.files.clear();
}
// Adds a path to the list an error exit removes (a temp file, or a finished file that must not
// outlive its failed group, such as a checkpoint's model file before its DONE marker).
inline void pending_add(const std::string& path) {
    static const bool registered = atexit(remove_pending_tmp_files) == 0;
    (void)registered;
    PendingTmp& p = pending_tmp();
    std::lock_guard<std::mutex> lock(p.mu);
    p.files.push_back(path);
}
inline void pending_forget(const std::string& path) {
    PendingTmp& p = pending_tmp();
    std::lock_guard<std::mutex> lock(p.mu);
    for (size_t i = 0; i < p.files.size(); i++) {
        if (p.files[i] == path) { p.files.erase(p.files.begin() + i); break; }
    }
}

// Atomic file write: write to the temp name, fsync-free fflush, then rename over path.
// A crash mid-write leaves the old file intact and at worst a stale .tmp (a kill -9; any error
// exit removes it, and the trainer clears stale ones from its output dir at startup).
struct AtomicWriter {
    std::string path, tmp;
    FilePtr f;
    explicit AtomicWriter(const std::string& p) : path(p), tmp(atomic_tmp_path(p)) {
        pending_add(tmp);
        f.reset(fopenCheck(tmp.c_str(), "wb"));
    }
    FILE* get() const { return f.get(); }
    void commit() {
        if (fflush(f.get()) != 0 || ferror(f.get())) die("%s: write failed: %s", tmp.c_str(), strerror(errno));
        FILE* raw = f.release();
        if (fclose(raw) != 0) die("%s: close failed: %s", tmp.c_str(), strerror(errno));
        if (rename(tmp.c_str(), path.c_str()) != 0) die("cannot rename %s to %s: %s", tmp.c_str(), path.c_str(), strerror(errno));
        pending_forget(tmp);
    }
    ~AtomicWriter() {
        if (f) { f.reset(); remove(tmp.c_str()); }  // not committed: leave no partial file
        pending_forget(tmp);
    }
};

// Monotonic wall clock in milliseconds.
inline double now_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

// Carves typed views out of one arena, in order, each rounded up to `align` bytes. With base =
// nullptr it only measures: one pass sizes the arena, a second points the views into it.
struct ArenaCarver {
    char* base;
    size_t align = 1;
    size_t offset = 0;
    template <typename T>
    T* take(size_t n) {
        T* p = base ? reinterpret_cast<T*>(base + offset) : nullptr;
        offset += (n * sizeof(T) + align - 1) / align * align;
        return p;
    }
};
