// Shared by the libFuzzer harnesses in dev/fuzz/ (built by `make fuzz` with -DLLMC_DIE_THROWS, so
// die() throws DieError instead of exiting): a per-process scratch dir for the files the readers
// open, writing a fuzz input there, and the checks a harness makes. A failed check is a finding:
// it prints "FUZZ CHECK FAILED: ..." and aborts, which libFuzzer reports as a crash with the input.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdarg>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "llmc/utils.h"

#ifndef LLMC_DIE_THROWS
#error "build the fuzz harnesses with -DLLMC_DIE_THROWS (make fuzz does)"
#endif

[[noreturn]] inline void fuzz_fail(const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("FUZZ CHECK FAILED: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

// The files written into the scratch dir, removed with it at exit (a crash leaves them behind).
inline std::vector<std::string>& fuzz_files() {
    static std::vector<std::string>* files = new std::vector<std::string>();
    return *files;
}

// /tmp/llmc_fuzz.<pid>.XXXXXX, made on first use (one per process, so parallel runs never share it).
inline const std::string& fuzz_dir() {
    static const std::string* dir = [] {  // never destroyed: the exit handler below still needs it
        std::string tmpl = "/tmp/llmc_fuzz." + std::to_string((long)getpid()) + ".XXXXXX";
        if (!mkdtemp(&tmpl[0])) fuzz_fail("cannot create a scratch dir %s", tmpl.c_str());
        atexit([] {
            for (const std::string& f : fuzz_files()) remove(f.c_str());
            rmdir(fuzz_dir().c_str());
        });
        return new std::string(tmpl);
    }();
    return *dir;
}

// Writes size bytes to <scratch dir>/name (replacing it) and returns the path.
inline std::string fuzz_write(const char* name, const void* data, size_t size) {
    const std::string path = fuzz_dir() + "/" + name;
    FILE* f = fopen(path.c_str(), "wb");
    if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) fuzz_fail("cannot write %s", path.c_str());
    bool known = false;
    for (const std::string& p : fuzz_files()) known |= p == path;
    if (!known) fuzz_files().push_back(path);
    return path;
}

// A reader's error is one line that names the file it was reading: "PATH: problem" (die() prints
// it as "error: PATH: problem"). paths: the files the reader was given (any one may be named).
// LLMC_FUZZ_VERBOSE=1 prints each error (to see what the seeds or a corpus reach).
inline void fuzz_check_error(const std::string& message, const std::vector<std::string>& paths) {
    static const bool verbose = getenv("LLMC_FUZZ_VERBOSE") != nullptr;
    if (verbose) fprintf(stderr, "error: %s\n", message.c_str());
    if (message.find('\n') != std::string::npos) fuzz_fail("error message spans lines: %s", message.c_str());
    for (const std::string& p : paths) {
        if (message.find(p) != std::string::npos) return;
    }
    fuzz_fail("error message does not name the file (%s): %s", paths.empty() ? "?" : paths[0].c_str(), message.c_str());
}
