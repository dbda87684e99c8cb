// Minimal check helpers for the C++ tests: one "PASS name" / "FAIL name ..." line per check,
// counted by dev/test/run_tests.sh. test_exit_code() is non-zero if any check failed.
#pragma once
#include <cmath>
#include <cstdio>

static int g_checks_failed = 0;

// check("name", cond, "detail fmt", ...): prints PASS/FAIL with the detail.
#define check(name, cond, ...)                                  \
    do {                                                        \
        bool ok_ = (cond);                                      \
        printf("%s %s", ok_ ? "PASS" : "FAIL", name);           \
        printf(" " __VA_ARGS__);                                \
        printf("\n");                                           \
        if (!ok_) g_checks_failed++;                            \
        fflush(stdout);                                         \
    } while (0)

static inline int test_exit_code() { return g_checks_failed ? 1 : 0; }
