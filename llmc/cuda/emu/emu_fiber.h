// CUDA emulation: fibers, the stacks the threads of one emulated block run on.
// A fiber is a stack plus a saved stack pointer. emu_switch saves the callee-saved registers
// (and the SSE/x87 control words) on the current stack, stores the stack pointer, loads the
// other fiber's and pops its registers: a switch costs a few nanoseconds (ucontext's
// swapcontext makes a signal-mask syscall on every switch, ~100x slower).
// x86-64 (System V) only for the assembly; elsewhere ucontext is used.
// Under AddressSanitizer every switch is announced with the sanitizer's fiber API so it
// tracks the right stack.
#pragma once
#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define CUDA_EMU_ASAN 1
#endif

#if !defined(__x86_64__)
#include <ucontext.h>
#endif

namespace cuda_emu {

#if defined(__x86_64__)
// void emu_switch(void** save_sp, void* load_sp): weak, so two translation units may both
// include this header.
asm(R"(
    .text
    .weak cuda_emu_switch
    .type cuda_emu_switch, @function
cuda_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size cuda_emu_switch, .-cuda_emu_switch
)");
extern "C" void cuda_emu_switch(void** save_sp, void* load_sp);
#endif

// The OS thread's own context (the block scheduler) or one fiber.
struct Context {
#if defined(__x86_64__)
    void* sp = nullptr;
#else
    ucontext_t uc;
#endif
    char* stack_lo = nullptr;  // usable stack (above the guard page); null for the OS thread
    size_t stack_size = 0;
    void* asan_fake_stack = nullptr;
};

// ASan: the stack the OS thread runs the scheduler on, learnt on the first switch into a fiber.
inline thread_local const void* tl_os_stack_lo = nullptr;
inline thread_local size_t tl_os_stack_size = 0;

// Switches from `from` to `to`; returns when something switches back to `from`.
__attribute__((noinline)) inline void context_switch(Context* from, Context* to) {
#if defined(CUDA_EMU_ASAN)
    const void* lo = to->stack_lo ? (const void*)to->stack_lo : tl_os_stack_lo;
    const size_t size = to->stack_lo ? to->stack_size : tl_os_stack_size;
    __sanitizer_start_switch_fiber(&from->asan_fake_stack, lo, size);
#endif
#if defined(__x86_64__)
    cuda_emu_switch(&from->sp, to->sp);
#else
    swapcontext(&from->uc, &to->uc);
#endif
#if defined(CUDA_EMU_ASAN)
    const void* old_lo;
    size_t old_size;
    __sanitizer_finish_switch_fiber(from->asan_fake_stack, &old_lo, &old_size);
    if (!from->stack_lo && !tl_os_stack_lo) {
        tl_os_stack_lo = old_lo;
        tl_os_stack_size = old_size;
    }
#endif
    asm volatile("" ::: "memory");
}

// First code a new fiber runs: ASan bookkeeping, then entry() (which never returns).
inline thread_local void (*tl_fiber_entry)() = nullptr;
[[noreturn]] inline void fiber_start() {
#if defined(CUDA_EMU_ASAN)
    const void* old_lo;
    size_t old_size;
    __sanitizer_finish_switch_fiber(nullptr, &old_lo, &old_size);
    if (!tl_os_stack_lo) {
        tl_os_stack_lo = old_lo;
        tl_os_stack_size = old_size;
    }
#endif
    tl_fiber_entry();
    fprintf(stderr, "error: CUDA emulator: a fiber's entry function returned\n");
    abort();
}

// A fiber stack of `size` bytes under a PROT_NONE guard page (an overflow faults instead of
// silently writing into the neighbour), set up so the first switch into it calls fiber_start.
inline void fiber_init(Context* c, size_t size) {
    const size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size = (size + page - 1) / page * page;
    char* base = (char*)mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) {
        fprintf(stderr, "error: CUDA emulator: cannot map a %zu-byte fiber stack\n", size);
        exit(1);
    }
    mprotect(base, page, PROT_NONE);
    c->stack_lo = base + page;
    c->stack_size = size;
#if defined(__x86_64__)
    // Frame emu_switch pops: control words, r15..r12, rbx, rbp, then `ret` into fiber_start
    // with the stack as a call would leave it (rsp % 16 == 8 at entry).
    uintptr_t top = ((uintptr_t)(c->stack_lo + size)) & ~(uintptr_t)15;
    uint64_t* sp = (uint64_t*)top;
    *--sp = 0;                               // fiber_start's return address: never used
    *--sp = (uint64_t)(uintptr_t)&fiber_start;
    for (int i = 0; i < 6; i++) *--sp = 0;   // rbp rbx r12 r13 r14 r15
    *--sp = 0x037F00001F80ull;               // mxcsr 0x1f80 (low half), x87 control word 0x037f
    c->sp = sp;
#else
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = c->stack_lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = nullptr;
    makecontext(&c->uc, (void (*)())fiber_start, 0);
#endif
}

}  // namespace cuda_emu
