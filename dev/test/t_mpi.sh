#!/usr/bin/env bash
# Data-parallel training under MPI (llmc/train/comm.h): N ranks give the losses and weights of one
# rank accumulating the same rows; ZeRO-1 equals -z 0; runs are deterministic; checkpoints are one
# model file + one state file per rank; resume is exact with the same N and refused with another;
# a killed rank ends the job (never a hang) and the last complete checkpoint resumes exactly.
# Also over Open MPI's TCP transport on the loopback (--mca btl tcp,self), the multi-node path.
# Setting: tiny model (L=1, C=32), B=4 T=32; shards of 12 samples (divisible by 1, 2, 3 ranks and
# by the accumulation steps) so every rank count walks the same shuffled rows. -shuffle 2 (our
# seeded order) splits one order across ranks; llm.c's order (-shuffle 1) gives each rank its own
# generator, so N ranks read other rows than one rank accumulating (that order is tested in t_io).
# One line per check: "PASS name ..." or "FAIL name ..."; exits non-zero if any check failed.
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_mpi
FIX="$PY dev/test/make_fixtures.py"
export OMP_NUM_THREADS=1 OMP_WAIT_POLICY=passive
# CI runs as root in a container; Open MPI refuses root unless told, and 3 ranks on 2 cores
# need --oversubscribe
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
MPIRUN=(mpirun --oversubscribe)

if ! command -v mpirun > /dev/null; then fail mpirun "mpirun not found: bash scripts/install_deps.sh test installs openmpi-bin libopenmpi-dev"; exit 1; fi
if make train_gpt2 2>&1 | grep -q -- '---> MPI: found'; then pass build_with_mpi "$(mpirun --version | head -n 1)"
else fail build_with_mpi "the Makefile did not find mpicxx"; exit 1; fi

$FIX model "$TMP/tiny.bin" && $FIX tokenizer "$TMP/tok.bin" &&
$FIX shard "$TMP/m_train_000000.bin" $((12 * 128 + 1)) --seed 1 && $FIX shard "$TMP/m_train_000001.bin" $((12 * 128 + 1)) --seed 2 &&
$FIX shard "$TMP/m_val_000000.bin" $((6 * 128 + 1)) --seed 3 || { fail fixtures; exit 1; }
FLAGS=(-e "$TMP/tiny.bin" -i "$TMP/m_train_*" -j "$TMP/m_val_*" -tok "$TMP/tok.bin" -b 4 -t 32 -x 20 -n 10
       -shuffle 2 -k cosine -l 1e-3 -u 3 -c 0.1 -v 5 -m 6 -s 0)

# job NAME NP ARGS...: NP ranks (1: no mpirun), output in $TMP/NAME.{out,err}, -o $TMP/NAME
job() {
    local name=$1 np=$2; shift 2
    local cmd=(./train_gpt2)
    [ "$np" -gt 1 ] && cmd=("${MPIRUN[@]}" -np "$np" "${MPI_EXTRA[@]}" ./train_gpt2)
    timeout 120 "${cmd[@]}" "${FLAGS[@]}" -o "$TMP/$name" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
    local rc=$?
    if [ $rc -eq 0 ]; then return 0; fi
    fail "run_$name" "exit $rc: $(grep -m 2 . "$TMP/$name.err" | tr '\n' '|')"
    return 1
}
MPI_EXTRA=()
# close NAME DIR_A DIR_B [STEP]: every train/val loss within 1e-6 relative; final weights within 1e-6 as
# a relative L2 distance, and every weight within 1e-5 absolute. N ranks sum the same gradient
# terms in another order than one rank accumulating (the backward adds each micro-step's products
# onto the running gradient; MPI adds finished per-rank gradients), so a few gradients differ in
# their last bit; Adam's normalized step turns that into up to ~lr-sized moves of weights whose
# gradient is near zero (seen: 2.3e-6 max on 9 of 1.6M weights at lr 1e-3, relative L2 1.6e-7).
# The same rows in dev/test/tolerances.h (DATA_PARALLEL).
close() {
    local out
    if out=$($PY - "$2" "$3" "${4:-20}" <<'EOF'
import sys, re, numpy as np
a, b, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
def losses(d):
    return [float(x) for x in re.findall(r' (?:trl|tel):([0-9.eE+-]+)', open(d + '/main.log').read())]
la, lb = losses(a), losses(b)
if len(la) != len(lb) or len(la) < step: sys.exit(f"{len(la)} vs {len(lb)} loss lines")
rel = max(abs(x - y) / abs(x) for x, y in zip(la, lb))
wa = np.fromfile(f'{a}/model_{step:08d}.bin', dtype=np.float32, offset=1024)
wb = np.fromfile(f'{b}/model_{step:08d}.bin', dtype=np.float32, offset=1024)
if wa.size != wb.size or wa.size == 0: sys.exit("weight files differ in size")
dw = float(np.max(np.abs(wa - wb)))
l2 = float(np.linalg.norm((wa - wb).astype(np.float64)) / np.linalg.norm(wa.astype(np.float64)))
print(f"{len(la)} losses max rel diff {rel:.2e}; {wa.size} final weights: relative L2 {l2:.2e}, max abs {dw:.2e}")
sys.exit(0 if rel <= 1e-6 and l2 <= 1e-6 and dw <= 1e-5 else 1)
EOF
    ); then pass "$1" "$out"; else fail "$1" "$out"; fi
}
same_file() {  # same_file NAME A B
    if [ ! -f "$2" ] || [ ! -f "$3" ]; then fail "$1" "missing: $(ls "$2" "$3" 2>&1 >/dev/null | tr '\n' ' ')"
    elif cmp -s "$2" "$3"; then pass "$1" "$(basename "$2") identical ($(stat -c %s "$2") bytes)"
    else fail "$1" "$2 and $3 differ: $(cmp "$2" "$3" 2>&1 | head -n 1)"; fi
}

# --- 2 and 3 ranks vs 1 rank accumulating the same rows ------------------------------------
job r1_d2 1 -d 256 && job r2 2 -d 256 && close ranks2_vs_accum2 "$TMP/r1_d2" "$TMP/r2"
job r1_d3 1 -d 384 && job r3 3 -d 384 && close ranks3_vs_accum3 "$TMP/r1_d3" "$TMP/r3"
# accumulation inside each rank too: 2 ranks x 2 micro-steps
job r1_d4 1 -d 512 && job r2_d4 2 -d 512 && close ranks2_accum2_vs_accum4 "$TMP/r1_d4" "$TMP/r2_d4"

# --- what a 2-rank run writes and prints: rank 0's model, one state per rank, one log ---------
files=$(cd "$TMP/r2" && ls | tr '\n' ' ')
want="DONE_00000010 DONE_00000020 main.log model_00000010.bin model_00000020.bin state_00000010_00000.bin state_00000010_00001.bin state_00000020_00000.bin state_00000020_00001.bin "
if [ "$files" = "$want" ]; then pass checkpoint_files_per_rank "$files"; else fail checkpoint_files_per_rank "got: $files"; fi
n_step=$(grep -c '^step  *[0-9]*/20 ' "$TMP/r2.out"); n_log=$(grep -c ' trl:' "$TMP/r2/main.log")
if [ "$n_step" -eq 20 ] && [ "$n_log" -eq 20 ] && grep -q '^comm: MPI, 2 processes' "$TMP/r2.out"; then
    pass rank0_output "20 step lines on stdout, 20 in main.log (rank 0 only), 'comm: MPI, 2 processes'"
else fail rank0_output "$n_step step lines, $n_log log lines"; fi
r0=$(od -An -t d4 -j 8 -N 8 "$TMP/r2/state_00000020_00000.bin" | tr -s ' '); r1=$(od -An -t d4 -j 8 -N 8 "$TMP/r2/state_00000020_00001.bin" | tr -s ' ')
if [ "$r0" = " 2 0" ] && [ "$r1" = " 2 1" ]; then pass state_header_ranks "header ints 2,3: processes 2, rank 0 / 1"
else fail state_header_ranks "got '$r0' and '$r1'"; fi

# --- determinism, ZeRO-1, TCP -------------------------------------------------------------------
job r2_again 2 -d 256
same_file deterministic_2_ranks "$TMP/r2/model_00000020.bin" "$TMP/r2_again/model_00000020.bin"
same_file deterministic_2_ranks_state "$TMP/r2/state_00000020_00001.bin" "$TMP/r2_again/state_00000020_00001.bin"
job z2 2 -d 256 -z 1 && close zero1_vs_zero0_2_ranks "$TMP/r2" "$TMP/z2"
same_file zero1_weights_identical_2_ranks "$TMP/r2/model_00000020.bin" "$TMP/z2/model_00000020.bin"
job z3 3 -d 384 -z 1 && close zero1_vs_zero0_3_ranks "$TMP/r3" "$TMP/z3"
s0=$(stat -c %s "$TMP/r2/state_00000020_00000.bin"); s1=$(stat -c %s "$TMP/z2/state_00000020_00000.bin")
m0=$(grep -o 'optimizer state [0-9.]* MiB' "$TMP/r2.out"); m1=$(grep -o 'optimizer state [0-9.]* MiB per process (ZeRO-1: 1/2 of it)' "$TMP/z2.out")
if [ -n "$m1" ] && [ "$s1" -lt $(( s0 / 2 + 65536 )) ]; then pass zero1_memory_and_state "-z 0: $m0, state $s0 bytes; -z 1: $m1, state $s1 bytes per rank"
else fail zero1_memory_and_state "-z 0: $m0 / $s0 bytes; -z 1: '$m1' / $s1 bytes"; fi
MPI_EXTRA=(--mca btl tcp,self)
job tcp 2 -d 256 && same_file tcp_loopback_same_result "$TMP/r2/model_00000020.bin" "$TMP/tcp/model_00000020.bin"
MPI_EXTRA=()

# --- resume: same N exact (also -z 1); another N or -z refused ---------------------------------
for z in 0 1; do
    src=$TMP/r2; [ $z = 1 ] && src=$TMP/z2
    d=$TMP/resume_z$z
    mkdir -p "$d" && cp "$src"/model_00000010.bin "$src"/state_00000010_0000[01].bin "$src"/DONE_00000010 "$d"/
    timeout 120 "${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -z $z -o "$d" -y 1 > "$d.out" 2> "$d.err"
    if grep -q 'resumed from step 10' "$d.out"; then same_file "resume_2_ranks_exact_z$z" "$src/model_00000020.bin" "$d/model_00000020.bin"
    else fail "resume_2_ranks_exact_z$z" "$(grep -m1 . "$d.err")"; fi
done
d=$TMP/resume_np3
mkdir -p "$d" && cp "$TMP"/r2/model_00000010.bin "$TMP"/r2/state_00000010_0000[01].bin "$TMP"/r2/DONE_00000010 "$d"/
timeout 60 "${MPIRUN[@]}" -np 3 ./train_gpt2 "${FLAGS[@]}" -d 384 -o "$d" -y 1 > "$d.out" 2> "$d.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^error: .*written by a job of 2 process(es), this run has 3: resume with the same process count (mpirun -np 2)' "$d.err"; then
    pass resume_other_rank_count_refused "exit $rc: $(grep -m1 '^error' "$d.err" | cut -c1-200)"
else fail resume_other_rank_count_refused "exit $rc: $(grep -m1 . "$d.err")"; fi
d=$TMP/resume_zmix
mkdir -p "$d" && cp "$TMP"/r2/model_00000010.bin "$TMP"/r2/state_00000010_0000[01].bin "$TMP"/r2/DONE_00000010 "$d"/
timeout 60 "${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -z 1 -o "$d" -y 1 > "$d.out" 2> "$d.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^error: ' "$d.err"; then pass resume_other_zero_refused "exit $rc: $(grep -m1 '^error' "$d.err" | cut -c1-200)"
else fail resume_other_zero_refused "exit $rc: $(grep -m1 . "$d.err")"; fi

# --- bad settings: one error line naming the problem, the job ends ------------------------------
timeout 60 "${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 384 -o "$TMP/bad_d" > "$TMP/bad_d.out" 2> "$TMP/bad_d.err"
rc=$?
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^error: -d 384 must be a multiple of B\*T\*processes = 4\*32\*2 = 256' "$TMP/bad_d.err"; then
    pass bad_total_batch "exit $rc: $(grep -m1 '^error' "$TMP/bad_d.err")"
else fail bad_total_batch "exit $rc: $(grep -m1 . "$TMP/bad_d.err")"; fi
if make -s build/nompi/train_gpt2 > "$TMP/nompi.log" 2>&1; then
    timeout 60 "${MPIRUN[@]}" -np 2 build/nompi/train_gpt2 "${FLAGS[@]}" -d 256 > "$TMP/nompi.out" 2> "$TMP/nompi.err"
    rc=$?
    if [ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q '^error: started as one of 2 processes (mpirun), but this binary was built without MPI' "$TMP/nompi.err"; then
        pass built_without_mpi_refused "exit $rc: $(grep -m1 '^error' "$TMP/nompi.err" | cut -c1-120)"
    else fail built_without_mpi_refused "exit $rc: $(grep -m1 . "$TMP/nompi.err")"; fi
else fail built_without_mpi_refused "make build/nompi/train_gpt2 failed"; fi

# --- kill -9 one rank mid-run: the job ends within seconds, non-zero; -y 1 resumes exactly -----
# (60 steps, checkpoints every 10; the kill comes once DONE_00000010 exists)
job ref60 2 -d 256 -x 60
K=$TMP/killed
"${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -x 60 -o "$K" > "$K.out" 2> "$K.err" &
mpid=$!
for _ in $(seq 1 600); do [ -e "$K/DONE_00000010" ] && break; sleep 0.05; done
victim=$(pgrep -f -n "train_gpt2 .*-o $K( |$)")
t0=$(date +%s.%N)
[ -n "$victim" ] && kill -9 "$victim"
for _ in $(seq 1 300); do kill -0 $mpid 2> /dev/null || break; sleep 0.05; done
if kill -0 $mpid 2> /dev/null; then kill -9 $mpid; pkill -9 -f "train_gpt2 .*-o $K( |$)"; rc=hang; else wait $mpid; rc=$?; fi
secs=$(echo "$(date +%s.%N) - $t0" | bc)
last=$(cd "$K" && ls DONE_* | tail -n 1)
if [ -n "$victim" ] && [ "$rc" != hang ] && [ "$rc" -ne 0 ] && [ ! -e "$K/DONE_00000060" ]; then
    pass kill_rank_ends_job "killed pid $victim after DONE_00000010: mpirun exit $rc after ${secs}s; newest complete checkpoint $last"
else fail kill_rank_ends_job "victim '$victim', exit $rc after ${secs}s"; fi
timeout 120 "${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -x 60 -o "$K" -y 1 > "$K.resume.out" 2> "$K.resume.err"
if grep -q "resumed from step ${last#DONE_000000}" "$K.resume.out" || grep -q "resumed from step" "$K.resume.out"; then
    same_file kill_rank_resume_exact "$TMP/ref60/model_00000060.bin" "$K/model_00000060.bin"
else fail kill_rank_resume_exact "$(grep -m1 . "$K.resume.err")"; fi
# --- SIGTERM to mpirun (preemption): Open MPI forwards it, the ranks agree on the step, write one
# complete checkpoint (model, both states, DONE) and stop; -y 1 continues from it
S=$TMP/sigterm
"${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -x 100000 -n 0 -v 0 -o "$S" > "$S.out" 2> "$S.err" &
mpid=$!
for _ in $(seq 1 400); do grep -q '^step  *5/' "$S.out" 2> /dev/null && break; sleep 0.05; done
kill -TERM $mpid
for _ in $(seq 1 400); do kill -0 $mpid 2> /dev/null || break; sleep 0.05; done
kill -0 $mpid 2> /dev/null && { kill -9 $mpid; pkill -9 -f "train_gpt2 .*-o $S( |$)"; }
wait $mpid 2> /dev/null
step=$(sed -n 's/^stopped by signal 15 after step \([0-9]*\).*/\1/p' "$S.out")
if [ -n "$step" ] && [ -e "$S/$(printf 'DONE_%08d' "$step")" ] && [ -e "$S/$(printf 'state_%08d_00001.bin' "$step")" ]; then
    timeout 120 "${MPIRUN[@]}" -np 2 ./train_gpt2 "${FLAGS[@]}" -d 256 -x $((step + 2)) -n 0 -v 0 -o "$S" -y 1 > "$S.resume.out" 2>&1
    if grep -q "resumed from step $step" "$S.resume.out" && [ -e "$S/$(printf 'DONE_%08d' $((step + 2)))" ]; then
        pass sigterm_checkpoint_and_resume "stopped after step $step with a complete 2-rank checkpoint; -y 1 went on to step $((step + 2))"
    else fail sigterm_checkpoint_and_resume "resume: $(grep -m1 -i error "$S.resume.out")"; fi
else fail sigterm_checkpoint_and_resume "no complete checkpoint after SIGTERM: $(tail -n 2 "$S.out" | tr '\n' '|') $(ls "$S" | tr '\n' ' ')"; fi

# --- the CUDA trainer in the emulation (make cuda-emu), FP32: 2 ranks over the emulated NCCL
# (llmc/cuda/emu/nccl.h, carried by MPI) vs 1 rank accumulating; C=64 as the CUDA kernels need;
# -f 0: exact fp32 matmuls (TF32 rounding would swamp the comparison)
if make -s build/emu/train_gpt2cu_fp32 > "$TMP/emu_make.log" 2>&1; then
    $FIX model "$TMP/tiny64.bin" --L 2 --NH 2 --C 64 --maxT 64 && $FIX shard "$TMP/c_train_000000.bin" $((16 * 64 + 1)) --seed 4 &&
    $FIX shard "$TMP/c_val_000000.bin" $((4 * 64 + 1)) --seed 5 || fail fixtures_cuda
    CFLAGS=(-e "$TMP/tiny64.bin" -i "$TMP/c_train_*" -j "$TMP/c_val_*" -tok "$TMP/tok.bin" -b 2 -t 32 -x 8 -n 4 -d 128
            -shuffle 2 -l 1e-3 -u 2 -c 0.1 -v 4 -m 2 -s 0 -f 0)
    timeout 300 build/emu/train_gpt2cu_fp32 "${CFLAGS[@]}" -o "$TMP/cu1" > "$TMP/cu1.out" 2> "$TMP/cu1.err"
    timeout 300 "${MPIRUN[@]}" -np 2 build/emu/train_gpt2cu_fp32 "${CFLAGS[@]}" -o "$TMP/cu2" > "$TMP/cu2.out" 2> "$TMP/cu2.err"
    if grep -q '^comm: MPI + NCCL, 2 processes' "$TMP/cu2.out"; then close emu_cuda_nccl_2_ranks_vs_accum2 "$TMP/cu1" "$TMP/cu2" 8
    else fail emu_cuda_nccl_2_ranks_vs_accum2 "$(grep -m2 . "$TMP/cu2.err" | tr '\n' '|')"; fi
    d=$TMP/cu2_resume
    mkdir -p "$d" && cp "$TMP"/cu2/model_00000004.bin "$TMP"/cu2/state_00000004_0000[01].bin "$TMP"/cu2/DONE_00000004 "$d"/
    timeout 300 "${MPIRUN[@]}" -np 2 build/emu/train_gpt2cu_fp32 "${CFLAGS[@]}" -o "$d" -y 1 > "$d.out" 2> "$d.err"
    same_file emu_cuda_nccl_resume_exact "$TMP/cu2/model_00000008.bin" "$d/model_00000008.bin"
    # ZeRO-1 on the device: BF16 with fp32 master weights (m, v and the masters sharded), NCCL's
    # in-place reduce-scatter and all-gather over padded arenas; equal to -z 0, resumes exactly
    if make -s build/emu/train_gpt2cu >> "$TMP/emu_make.log" 2>&1; then
        for z in 0 1; do
            timeout 300 "${MPIRUN[@]}" -np 2 build/emu/train_gpt2cu "${CFLAGS[@]}" -z $z -o "$TMP/cubf_z$z" > "$TMP/cubf_z$z.out" 2> "$TMP/cubf_z$z.err" \
                || fail "run_cubf_z$z" "$(grep -m2 . "$TMP/cubf_z$z.err" | tr '\n' '|')"
        done
        same_file emu_cuda_bf16_zero1_equals_zero0 "$TMP/cubf_z0/model_00000008.bin" "$TMP/cubf_z1/model_00000008.bin"
        if grep -q 'optimizer state .* MiB per process (ZeRO-1: 1/2 of it)' "$TMP/cubf_z1.out"; then
            pass emu_cuda_zero1_memory "$(grep -o 'optimizer state [0-9.]* MiB' "$TMP/cubf_z0.out") with -z 0, $(grep -o 'optimizer state [0-9.]* MiB per process (ZeRO-1: 1/2 of it)' "$TMP/cubf_z1.out")"
        else fail emu_cuda_zero1_memory "$(grep -m1 memory "$TMP/cubf_z1.out")"; fi
        d=$TMP/cubf_resume
        mkdir -p "$d" && cp "$TMP"/cubf_z1/model_00000004.bin "$TMP"/cubf_z1/state_00000004_0000[01].bin "$TMP"/cubf_z1/DONE_00000004 "$d"/
        timeout 300 "${MPIRUN[@]}" -np 2 build/emu/train_gpt2cu "${CFLAGS[@]}" -z 1 -o "$d" -y 1 > "$d.out" 2> "$d.err"
        same_file emu_cuda_bf16_zero1_resume_exact "$TMP/cubf_z1/model_00000008.bin" "$d/model_00000008.bin"
    else fail emu_cuda_build_bf16 "$(grep -m1 error "$TMP/emu_make.log")"; fi
else fail emu_cuda_build "$(grep -m1 error "$TMP/emu_make.log")"; fi

tmps=$(find "$TMP" -name '*.tmp' | tr '\n' ' ')
if [ -z "$tmps" ]; then pass no_tmp_files_left; else fail no_tmp_files_left "$tmps"; fi

test_end
