// CUDA emulation: kernel execution. A launch spreads its blocks over OpenMP threads; inside a
// block, each CUDA thread runs on a fiber (emu_fiber.h) of that OS thread, and fibers switch
// only where a GPU thread would wait for others: __syncthreads, __syncwarp and the warp
// collectives (__shfl_*_sync, votes). Fibers are taken lazily: when a thread ends, its fiber goes
// on with the next thread not started yet, so a kernel without barriers runs with no
// switches between threads and one stack per OS thread (the fast path); a block that does wait
// needs a stack per waiting thread, up to blockDim threads.
//
// What a GPU or compute-sanitizer would reject stops the program with one line naming the
// kernel, block and thread, exit status 1:
//   - launch limits: block > 1024 threads (or x/y > 1024, z > 64), grid y/z > 65535, x > 2^31-1,
//     an empty grid or block, dynamic shared memory over 48 KiB without
//     cudaFuncSetAttribute(MaxDynamicSharedMemorySize), over 227 KiB (sm_90) with it;
//   - a kernel pointer argument outside every device allocation (a host pointer);
//   - __syncthreads not reached by every thread of the block (one exited or waits elsewhere);
//   - a warp collective whose mask names a lane that exited, waits at another collective, uses
//     another mask, or does not exist; a shuffle reading a lane outside the mask;
//   - a misaligned 16-byte access (the Packed loads/stores in llmc/cuda/common.cuh check).
// Out-of-bounds accesses are the AddressSanitizer build's job (device memory is host heap).
// Static __shared__ arrays are `static thread_local`: one copy per OS thread, which runs one block
// at a time. Their size is not known here; nvcc's ptxas rejects static shared memory over 48 KiB at
// compile time (CI compiles every CUDA target with nvcc).
#pragma once
#include <omp.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstring>
#include <mutex>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

#include "emu_fiber.h"

struct uint3 {
    unsigned int x, y, z;
};
struct dim3 {
    unsigned int x, y, z;
    constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
    constexpr dim3(uint3 v) : x(v.x), y(v.y), z(v.z) {}
};

namespace cuda_emu {

// ----------------------------------------------------------------------------
// the built-in variables of the thread running now (set by the block scheduler)
inline thread_local uint3 tl_thread_idx{0, 0, 0}, tl_block_idx{0, 0, 0};
inline thread_local dim3 tl_block_dim, tl_grid_dim;
inline thread_local unsigned char* tl_dynamic_smem = nullptr;

constexpr int WARP = 32;
constexpr int MAX_THREADS_PER_BLOCK = 1024;
constexpr size_t SMEM_DEFAULT_LIMIT = 48 * 1024;  // without the opt-in attribute
constexpr size_t SMEM_OPTIN_LIMIT = 232448;       // 227 KiB: sm_90's per-block opt-in maximum
#if defined(CUDA_EMU_ASAN)
constexpr size_t FIBER_STACK = 512 * 1024;        // ASan frames carry redzones
#else
constexpr size_t FIBER_STACK = 128 * 1024;
#endif

// ----------------------------------------------------------------------------
// device allocations (cudaMalloc), for pointer checks

struct Allocations {
    std::mutex mu;
    std::vector<std::pair<uintptr_t, size_t>> live;  // sorted by address
    size_t bytes = 0;
};
// Never destroyed: a static destructor freeing device memory may run after it would have been.
inline Allocations& allocations() {
    static Allocations* a = new Allocations();
    return *a;
}
// The allocation holding [p, p + n), as (base, size); (0, 0) if none. n = 0 accepts one-past-the-end.
inline std::pair<uintptr_t, size_t> find_allocation(const void* p, size_t n) {
    Allocations& a = allocations();
    std::lock_guard<std::mutex> lock(a.mu);
    const uintptr_t x = (uintptr_t)p;
    auto it = std::upper_bound(a.live.begin(), a.live.end(), std::make_pair(x, SIZE_MAX));
    if (it == a.live.begin()) return {0, 0};
    --it;
    if (x >= it->first && x + n <= it->first + it->second && (n > 0 || x <= it->first + it->second)) return *it;
    return {0, 0};
}

// ----------------------------------------------------------------------------
// one block's threads

enum class State : uint8_t { NotStarted, Ready, Running, AtBarrier, AtWarp, Done };
enum class Op : uint8_t { SyncWarp, ShflIdx, ShflXor, ShflDown, ShflUp, Ballot, All, Any };
inline const char* op_name(Op op) {
    static const char* names[] = {"__syncwarp", "__shfl_sync", "__shfl_xor_sync", "__shfl_down_sync",
                                  "__shfl_up_sync", "__ballot_sync", "__all_sync", "__any_sync"};
    return names[(int)op];
}

struct Fiber {
    Context ctx;
    int tid = -1;  // block-linear thread index it runs now
};

// One lane's part in a warp collective.
struct Slot {
    Op op;
    uint32_t mask;
    int arg, width;
    uint64_t val, result;
};

struct Kernel {
    const char* name;
    void (*body)(void*);  // runs the kernel for the thread in tl_thread_idx
    void* ctx;
};

struct Fault {
    std::mutex mu;
    std::atomic<bool> raised{false};
    long long block = -1;  // linear index of the lowest faulting block: the same report every run
    std::string msg;
};
inline Fault& fault_state() {
    static Fault* f = new Fault();
    return *f;
}

// Per OS thread: the fiber pool and the state of the block it is running.
struct Block {
    Context os;                       // the scheduler's own context
    std::vector<Fiber*> pool, free_fibers;
    Fiber* current = nullptr;
    const Kernel* kernel = nullptr;
    long long linear = 0;
    int nthreads = 0;
    std::vector<State> state;
    std::vector<Fiber*> fiber_of;
    std::vector<int> ready;           // FIFO of thread ids
    size_t ready_head = 0;
    std::vector<Slot> slot;
    std::vector<uint32_t> warp_arrived;   // per warp: lanes waiting at a collective
    std::vector<uint32_t> warp_exited;    // per warp: lanes that have exited
    std::vector<uint32_t> warp_at_barrier;  // per warp: lanes waiting at __syncthreads
    int next = 0;                     // threads [next, nthreads) have not started
    int barrier_arrived = 0, exited = 0, first_exited = -1;
    bool faulted = false;
    std::vector<unsigned char> dyn_smem;
};
inline thread_local Block* tl_block = nullptr;

// Fiber resumes by the block schedulers since the program started: one per block for a kernel
// whose threads never wait (the fast path), one more per thread each time it waits.
inline std::atomic<long long>& fiber_resumes() {
    static std::atomic<long long>* n = new std::atomic<long long>(0);
    return *n;
}
inline Block& block_state() {
    if (!tl_block) tl_block = new Block();  // lives as long as the OS thread (fibers point into it)
    return *tl_block;
}

inline uint3 thread_coords(int tid) {
    const dim3 d = tl_block_dim;
    if (d.y == 1 && d.z == 1) return uint3{(unsigned)tid, 0, 0};
    return uint3{tid % d.x, (tid / d.x) % d.y, tid / (d.x * d.y)};
}
inline std::string where(const Block& b, int tid) {
    char buf[160];
    const uint3 t = thread_coords(tid);
    snprintf(buf, sizeof buf, "%s block (%u,%u,%u) thread (%u,%u,%u)", b.kernel ? b.kernel->name : "?", tl_block_idx.x,
             tl_block_idx.y, tl_block_idx.z, t.x, t.y, t.z);
    return buf;
}
inline std::string describe_thread(const Block& b, int tid) {
    const uint3 t = thread_coords(tid);
    char buf[160];
    const char* what = "";
    switch (b.state[tid]) {
        case State::Done: what = "has exited"; break;
        case State::AtBarrier: what = "waits at __syncthreads"; break;
        case State::AtWarp: what = op_name(b.slot[tid].op); break;
        default: what = "is running"; break;
    }
    if (b.state[tid] == State::AtWarp) {
        snprintf(buf, sizeof buf, "thread (%u,%u,%u) waits at %s (mask 0x%08x)", t.x, t.y, t.z, what, b.slot[tid].mask);
    } else {
        snprintf(buf, sizeof buf, "thread (%u,%u,%u) %s", t.x, t.y, t.z, what);
    }
    return buf;
}

// Records the first fault of the launch (lowest block) and abandons this block.
inline void raise_fault(Block& b, int tid, const char* fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Fault& f = fault_state();
    {
        std::lock_guard<std::mutex> lock(f.mu);
        if (f.block < 0 || b.linear < f.block) {
            f.block = b.linear;
            f.msg = where(b, tid) + ": " + msg;
        }
    }
    f.raised = true;
    b.faulted = true;
}

// Called on a fiber: report and never come back (the scheduler drops the block).
[[noreturn]] inline void kernel_fault(const char* fmt, ...) {
    Block& b = block_state();
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const int tid = b.current ? b.current->tid : 0;
    raise_fault(b, tid, "%s", msg);
    context_switch(&b.current->ctx, &b.os);
    abort();  // unreachable: a faulted block is never resumed
}

inline void make_ready(Block& b, int tid) {
    b.state[tid] = State::Ready;
    b.ready.push_back(tid);
}

// Back to the scheduler; returns when this thread is resumed.
inline void yield_thread(Block& b) { context_switch(&b.current->ctx, &b.os); }

// What a fiber runs: claim the next thread of the block that has not started and run it to its
// end; repeat. So a block whose threads never wait runs on one fiber with no switch between
// threads; a thread that waits keeps its fiber, and the scheduler starts another for the rest.
inline void fiber_entry() {
    for (;;) {
        Block& b = block_state();
        while (b.next < b.nthreads) {
            const int tid = b.next++;
            b.current->tid = tid;
            b.fiber_of[tid] = b.current;
            b.state[tid] = State::Running;
            tl_thread_idx = thread_coords(tid);
            b.kernel->body(b.kernel->ctx);
            b.state[tid] = State::Done;
            b.warp_exited[tid / WARP] |= 1u << (tid % WARP);
            if (b.exited++ == 0) b.first_exited = tid;
            if (b.barrier_arrived > 0) {
                raise_fault(b, tid, "exited while %d other thread(s) wait at __syncthreads (every thread must reach it)",
                            b.barrier_arrived);
            }
            const int base = tid / WARP * WARP, lane = tid % WARP;
            for (int j = 0; b.warp_arrived[tid / WARP] && j < WARP && base + j < b.nthreads && !b.faulted; j++) {
                const int t = base + j;
                if (b.state[t] == State::AtWarp && (b.slot[t].mask >> lane & 1u)) {
                    raise_fault(b, tid, "exited while lane %d waits at %s with mask 0x%08x naming it", j, op_name(b.slot[t].op),
                                b.slot[t].mask);
                }
            }
            if (b.faulted) break;
        }
        b.current->tid = -1;  // idle: back to the free list
        yield_thread(b);      // resumed later to run threads of a later block
    }
}

inline Fiber* acquire_fiber(Block& b) {
    if (!b.free_fibers.empty()) {
        Fiber* f = b.free_fibers.back();
        b.free_fibers.pop_back();
        return f;
    }
    Fiber* f = new Fiber();
    tl_fiber_entry = &fiber_entry;
    fiber_init(&f->ctx, FIBER_STACK);
    b.pool.push_back(f);
    return f;
}

// Runs every thread of block `linear` of kernel k to its end, or until a fault.
inline void run_block(const Kernel& k, long long linear, dim3 grid, dim3 blockdim, size_t dyn_smem) {
    Block& b = block_state();
    b.kernel = &k;
    b.linear = linear;
    tl_block_idx = uint3{(unsigned)(linear % grid.x), (unsigned)((linear / grid.x) % grid.y), (unsigned)(linear / ((long long)grid.x * grid.y))};
    tl_block_dim = blockdim;
    tl_grid_dim = grid;
    const int n = (int)(blockdim.x * blockdim.y * blockdim.z);
    b.nthreads = n;
    b.state.assign(n, State::NotStarted);
    b.fiber_of.assign(n, nullptr);
    b.slot.resize(n);
    b.warp_arrived.assign((n + WARP - 1) / WARP, 0u);
    b.warp_exited.assign((n + WARP - 1) / WARP, 0u);
    b.warp_at_barrier.assign((n + WARP - 1) / WARP, 0u);
    b.ready.clear();
    b.ready_head = 0;
    b.barrier_arrived = b.exited = 0;
    b.first_exited = -1;
    b.faulted = false;
    if (dyn_smem > 0) {
        b.dyn_smem.assign(dyn_smem + 16, 0xff);  // poisoned: NaN as float and bf16
        tl_dynamic_smem = (unsigned char*)(((uintptr_t)b.dyn_smem.data() + 15) & ~(uintptr_t)15);
    } else {
        tl_dynamic_smem = nullptr;
    }
    b.next = 0;
    long long resumes = 0;
    while (!b.faulted) {
        Fiber* f;
        if (b.ready_head < b.ready.size()) {  // a thread that waited may go on
            const int tid = b.ready[b.ready_head++];
            if (b.ready_head == b.ready.size()) {
                b.ready.clear();
                b.ready_head = 0;
            }
            f = b.fiber_of[tid];
            b.state[tid] = State::Running;
            tl_thread_idx = thread_coords(tid);
        } else if (b.next < n) {  // a fresh fiber claims the threads not started yet
            f = acquire_fiber(b);
        } else {
            break;
        }
        b.current = f;
        resumes++;
        context_switch(&b.os, &f->ctx);
        if (b.faulted) break;
        if (f->tid < 0) b.free_fibers.push_back(f);
    }
    fiber_resumes() += resumes;
    if (!b.faulted && b.exited < n) {
        // nothing can run and not everyone finished: name a waiting thread and what it waits for
        int w = 0;
        while (w < n && b.state[w] == State::Done) w++;
        std::string detail = describe_thread(b, w);
        if (b.state[w] == State::AtWarp) {
            const int base = w / WARP * WARP;
            for (int j = 0; j < WARP; j++) {
                if ((b.slot[w].mask >> j & 1u) && base + j < n && b.state[base + j] != State::AtWarp) {
                    detail += "; lane " + std::to_string(j) + ": " + describe_thread(b, base + j);
                    break;
                }
            }
        } else {
            for (int t = 0; t < n; t++) {
                if (b.state[t] != State::AtBarrier) {
                    detail += "; " + describe_thread(b, t);
                    break;
                }
            }
        }
        tl_thread_idx = thread_coords(w);
        raise_fault(b, w, "deadlock: %s", detail.c_str());
    }
    if (b.faulted) {
        // abandoned fibers hold stale frames: drop the pool (stacks stay mapped; the launch exits)
        b.pool.clear();
        b.free_fibers.clear();
    }
}

// ----------------------------------------------------------------------------
// barriers and warp collectives (called from kernel code, on a fiber)

inline void syncthreads() {
    Block& b = block_state();
    const int tid = b.current->tid;
    if (b.exited > 0) {
        kernel_fault("__syncthreads reached after %s: every thread of the block must reach it",
                     describe_thread(b, b.first_exited).c_str());
    }
    b.state[tid] = State::AtBarrier;
    b.warp_at_barrier[tid / WARP] |= 1u << (tid % WARP);
    if (++b.barrier_arrived == b.nthreads) {
        b.barrier_arrived = 0;
        std::fill(b.warp_at_barrier.begin(), b.warp_at_barrier.end(), 0u);
        for (int t = 0; t < b.nthreads; t++) make_ready(b, t);
    }
    yield_thread(b);
}

inline void finish_collective(Block& b, int base, uint32_t mask) {
    const Op op = b.slot[base + __builtin_ctz(mask)].op;
    for (int j = 0; j < WARP; j++) {
        const Slot& s = b.slot[base + j];
        if ((mask >> j & 1u) && (s.op != op || s.mask != mask)) {
            tl_thread_idx = thread_coords(base + j);
            raise_fault(b, base + j, "%s (mask 0x%08x) while lane %d is at %s (mask 0x%08x)", op_name(s.op), s.mask,
                        __builtin_ctz(mask), op_name(op), mask);
            return;
        }
    }
    for (int j = 0; j < WARP; j++) {
        if (!(mask >> j & 1u)) continue;
        Slot& s = b.slot[base + j];
        const int seg = j & ~(s.width - 1);  // first lane of this lane's width-segment
        int src = j;
        switch (s.op) {
            case Op::ShflIdx: src = seg + (s.arg & (s.width - 1)); break;
            case Op::ShflXor: src = j ^ s.arg; if (src < seg || src >= seg + s.width) src = j; break;
            case Op::ShflDown: src = j + s.arg; if (src >= seg + s.width) src = j; break;
            case Op::ShflUp: src = j - s.arg; if (src < seg) src = j; break;
            default: break;
        }
        if (s.op == Op::Ballot || s.op == Op::All || s.op == Op::Any) {
            uint32_t votes = 0;
            for (int i = 0; i < WARP; i++) {
                if ((mask >> i & 1u) && b.slot[base + i].val) votes |= 1u << i;
            }
            s.result = s.op == Op::Ballot ? votes : s.op == Op::All ? (votes == mask) : (votes != 0);
        } else if (s.op != Op::SyncWarp) {
            if (!(mask >> src & 1u)) {
                tl_thread_idx = thread_coords(base + j);
                raise_fault(b, base + j, "%s reads lane %d, which is not in the mask 0x%08x", op_name(s.op), src, mask);
                return;
            }
            s.result = b.slot[base + src].val;
        }
    }
    b.warp_arrived[base / WARP] &= ~mask;
    for (int j = 0; j < WARP; j++) {
        if (mask >> j & 1u) make_ready(b, base + j);
    }
}

inline uint64_t warp_collective(Op op, uint32_t mask, uint64_t val, int arg, int width) {
    Block& b = block_state();
    const int tid = b.current->tid, lane = tid % WARP, base = tid - lane, warp = tid / WARP;
    const int lanes = std::min(WARP, b.nthreads - base);
    if (!(mask >> lane & 1u)) kernel_fault("%s with mask 0x%08x that leaves out the calling lane %d", op_name(op), mask, lane);
    if (lanes < WARP && (mask >> lanes) != 0u) {
        kernel_fault("%s mask 0x%08x names lanes past the end of the block (%d threads in this warp)", op_name(op), mask, lanes);
    }
    if (width < 1 || width > WARP || (width & (width - 1))) kernel_fault("%s width %d is not a power of 2 <= 32", op_name(op), width);
    // O(1) checks on arrival (bit masks); finish_collective compares every lane's op and mask
    if (const uint32_t gone = mask & b.warp_exited[warp]) {
        kernel_fault("%s (mask 0x%08x) but lane %d has exited", op_name(op), mask, __builtin_ctz(gone));
    }
    if (const uint32_t waiting = mask & b.warp_at_barrier[warp]) {
        kernel_fault("%s (mask 0x%08x) but lane %d waits at __syncthreads", op_name(op), mask, __builtin_ctz(waiting));
    }
    if (const uint32_t there = mask & b.warp_arrived[warp]) {
        const Slot& o = b.slot[base + __builtin_ctz(there)];
        if (o.op != op || o.mask != mask) {
            kernel_fault("%s (mask 0x%08x) but lane %d waits at %s (mask 0x%08x)", op_name(op), mask, __builtin_ctz(there),
                         op_name(o.op), o.mask);
        }
    }
    Slot& s = b.slot[tid];
    s.op = op;
    s.mask = mask;
    s.arg = arg;
    s.width = width;
    s.val = val;
    b.state[tid] = State::AtWarp;
    b.warp_arrived[warp] |= 1u << lane;
    if ((b.warp_arrived[warp] & mask) == mask) {
        finish_collective(b, base, mask);
        if (b.faulted) kernel_fault("%s", "collective failed");
    }
    yield_thread(b);
    return b.slot[tid].result;
}

template <typename T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable<T>::value, "shuffles move up to 8 bytes");
    uint64_t u = 0;
    memcpy(&u, &v, sizeof v);
    return u;
}
template <typename T>
inline T from_bits(uint64_t u) {
    T v;
    memcpy(&v, &u, sizeof v);
    return v;
}

// ----------------------------------------------------------------------------
// launch

inline void launch_error(const char* name, dim3 g, dim3 b, size_t smem, const char* fmt, ...) {
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "error: CUDA emulator: launch of %s <<<(%u,%u,%u), (%u,%u,%u), %zu>>>: %s\n", name, g.x, g.y, g.z, b.x,
            b.y, b.z, smem, msg);
    exit(1);
}

struct FuncAttributes {
    std::mutex mu;
    std::vector<std::pair<const void*, int>> max_dynamic_smem;
};
inline FuncAttributes& func_attributes() {
    static FuncAttributes* a = new FuncAttributes();
    return *a;
}
inline int max_dynamic_smem_of(const void* fn) {
    FuncAttributes& a = func_attributes();
    std::lock_guard<std::mutex> lock(a.mu);
    for (auto& p : a.max_dynamic_smem) {
        if (p.first == fn) return p.second;
    }
    return (int)SMEM_DEFAULT_LIMIT;
}

inline bool stream_valid(const void* stream);  // cuda_runtime.h

inline void check_launch(const char* name, const void* fn, dim3 g, dim3 b, size_t smem, const void* stream) {
    const unsigned long long threads = (unsigned long long)b.x * b.y * b.z;
    if (threads == 0 || (unsigned long long)g.x * g.y * g.z == 0) {
        launch_error(name, g, b, smem, "empty grid or block (a GPU returns cudaErrorInvalidConfiguration)");
    }
    if (b.x > 1024 || b.y > 1024 || b.z > 64 || threads > (unsigned)MAX_THREADS_PER_BLOCK) {
        launch_error(name, g, b, smem, "%llu threads per block; the limit is 1024 (x, y <= 1024, z <= 64)", threads);
    }
    if (g.x > 2147483647u || g.y > 65535u || g.z > 65535u) {
        launch_error(name, g, b, smem, "grid exceeds (2^31-1, 65535, 65535)");
    }
    const int limit = max_dynamic_smem_of(fn);
    if (smem > (size_t)limit) {
        if (limit == (int)SMEM_DEFAULT_LIMIT) {
            launch_error(name, g, b, smem, "%zu bytes of dynamic shared memory need cudaFuncSetAttribute("
                         "cudaFuncAttributeMaxDynamicSharedMemorySize) above 48 KiB", smem);
        }
        launch_error(name, g, b, smem, "%zu bytes of dynamic shared memory exceed the %d set with cudaFuncSetAttribute", smem, limit);
    }
    if (!stream_valid(stream)) launch_error(name, g, b, smem, "invalid stream handle");
}

template <typename T>
inline void check_pointer_arg(const char* name, int i, const T& v, dim3 g, dim3 b, size_t smem) {
    if constexpr (std::is_pointer<T>::value) {
        if (v != nullptr && find_allocation((const void*)v, 0).second == 0) {
            launch_error(name, g, b, smem, "argument %d (%p) is not device memory (a host pointer, or freed)", i, (const void*)v);
        }
    }
}

inline void run_grid(const Kernel& k, dim3 grid, dim3 blockdim, size_t smem) {
    const long long nblocks = (long long)grid.x * grid.y * grid.z;
    Fault& f = fault_state();
    if (nblocks == 1 || omp_get_max_threads() == 1) {
        for (long long i = 0; i < nblocks && !f.raised; i++) run_block(k, i, grid, blockdim, smem);
    } else {
        #pragma omp parallel for schedule(dynamic, 1)
        for (long long i = 0; i < nblocks; i++) {
            if (!f.raised) run_block(k, i, grid, blockdim, smem);
        }
    }
    if (f.raised) {
        fflush(stdout);
        fprintf(stderr, "error: CUDA emulator: %s\n", f.msg.c_str());
        exit(1);
    }
}

template <typename Tuple, size_t... I>
inline void check_pointer_args(const char* name, const Tuple& t, dim3 g, dim3 b, size_t smem, std::index_sequence<I...>) {
    (check_pointer_arg(name, (int)I, std::get<I>(t), g, b, smem), ...);
}

// kernel<<<grid, block, smem, stream>>>(args...): arguments are copied into the kernel's
// parameter types once, as a launch does; every thread calls the kernel with those values.
template <typename... P, typename... A>
inline void launch(const char* name, void (*fn)(P...), dim3 grid, dim3 blockdim, size_t smem, const void* stream, A&&... args) {
    static_assert(sizeof...(P) == sizeof...(A), "kernel launched with the wrong number of arguments");
    check_launch(name, (const void*)fn, grid, blockdim, smem, stream);
    using Params = std::tuple<std::decay_t<P>...>;
    Params params(std::forward<A>(args)...);
    check_pointer_args(name, params, grid, blockdim, smem, std::index_sequence_for<P...>{});
    struct Call {
        void (*fn)(P...);
        Params* params;
    } call{fn, &params};
    Kernel k{name, [](void* c) {
                 Call* cl = static_cast<Call*>(c);
                 std::apply(cl->fn, *cl->params);
             },
             &call};
    run_grid(k, grid, blockdim, smem);
}

// A 16-byte access must be 16-byte aligned (a GPU raises cudaErrorMisalignedAddress).
inline void check_aligned(const void* p, size_t align, const char* what) {
    if ((uintptr_t)p % align != 0) kernel_fault("misaligned %zu-byte %s at %p", align, what, p);
}

}  // namespace cuda_emu

// ----------------------------------------------------------------------------
// the device-side names kernels use

#define threadIdx (::cuda_emu::tl_thread_idx)
#define blockIdx (::cuda_emu::tl_block_idx)
#define blockDim (::cuda_emu::tl_block_dim)
#define gridDim (::cuda_emu::tl_grid_dim)
constexpr int warpSize = 32;

inline void __syncthreads() { cuda_emu::syncthreads(); }
inline void __syncwarp(unsigned mask = 0xffffffffu) { cuda_emu::warp_collective(cuda_emu::Op::SyncWarp, mask, 0, 0, 32); }
template <typename T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    return cuda_emu::from_bits<T>(cuda_emu::warp_collective(cuda_emu::Op::ShflIdx, mask, cuda_emu::to_bits(v), src, width));
}
template <typename T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    return cuda_emu::from_bits<T>(cuda_emu::warp_collective(cuda_emu::Op::ShflXor, mask, cuda_emu::to_bits(v), lane_mask, width));
}
template <typename T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return cuda_emu::from_bits<T>(cuda_emu::warp_collective(cuda_emu::Op::ShflDown, mask, cuda_emu::to_bits(v), (int)delta, width));
}
template <typename T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    return cuda_emu::from_bits<T>(cuda_emu::warp_collective(cuda_emu::Op::ShflUp, mask, cuda_emu::to_bits(v), (int)delta, width));
}
inline unsigned __ballot_sync(unsigned mask, int pred) {
    return (unsigned)cuda_emu::warp_collective(cuda_emu::Op::Ballot, mask, pred != 0, 0, 32);
}
inline int __all_sync(unsigned mask, int pred) { return (int)cuda_emu::warp_collective(cuda_emu::Op::All, mask, pred != 0, 0, 32); }
inline int __any_sync(unsigned mask, int pred) { return (int)cuda_emu::warp_collective(cuda_emu::Op::Any, mask, pred != 0, 0, 32); }
