#!/usr/bin/env bash
# Checkpoint/resume exactness of the CPU trainer: a run resumed from its step-10 checkpoint ends
# byte-identical to the uninterrupted run; thread count does not change a bit; checkpoints are
# llm.c-format; a bf16 (version 5) checkpoint loads; no *.tmp files survive.
# Setting: tiny model (L=1, C=32), B=2 T=32 with 2 micro-steps of gradient accumulation a step;
# 2 shards of 13 samples per epoch in all, so the 40 micro-batches cross shard and epoch
# boundaries with shuffling on; warmup + cosine schedule, weight decay, val.
# One line per check: "PASS name ..." or "FAIL name ..."; exits non-zero if any check failed.
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_resume
FIX="$PY dev/test/make_fixtures.py"
# Spinning OpenMP barriers stall when another job holds a core (2x-10x slower steps); sleeping
# waiters do not. The wait policy changes timing only, never a result.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}

build_trainer

$FIX model "$TMP/tiny.bin" --bf16 "$TMP/tiny_bf16.bin" && $FIX tokenizer "$TMP/tok.bin" &&
$FIX shard "$TMP/r_train_000000.bin" 500 --seed 1 && $FIX shard "$TMP/r_train_000001.bin" 400 --seed 2 &&
$FIX shard "$TMP/r_val_000000.bin" 300 --seed 3 || { fail fixtures; exit 1; }

FLAGS=(-i "$TMP/r_train_*.bin" -j "$TMP/r_val_*.bin" -tok "$TMP/tok.bin" -b 2 -t 32 -d 128 -n 10 -shuffle 1 -x 20
       -k cosine -l 1e-3 -u 3 -q 0.1 -c 0.1 -v 5 -m 2 -s 0)
# train NAME THREADS ARGS...: run the trainer, stdout/stderr to $TMP/NAME.{out,err}; check exit 0
train() {
    local name=$1 threads=$2; shift 2
    OMP_NUM_THREADS=$threads timeout $((60 * SAN_TIME)) "$BIN"/train_gpt2 "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
    local rc=$?
    if [ $rc -eq 0 ]; then pass "run_$name"; return 0; fi
    fail "run_$name" "exit $rc: $(tail -n 3 "$TMP/$name.err" | tr '\n' '|')"
    return 1
}
same_file() {  # same_file NAME A B
    if [ ! -f "$2" ] || [ ! -f "$3" ]; then fail "$1" "missing: $(ls "$2" "$3" 2>&1 >/dev/null | tr '\n' ' ')"
    elif cmp -s "$2" "$3"; then pass "$1" "$(basename "$2") identical ($(stat -c %s "$2") bytes)"
    else fail "$1" "$2 and $3 differ: $(cmp "$2" "$3" 2>&1 | head -n 1)"; fi
}
# log lines of steps >= 10 without the timing: "s:N trl:X norm:Y lr:Z" and "s:N tel:X"
log_from_10() { sed -n 's/ ms:.*//; /^s:\([1-9][0-9]\)/p' "$1"; }

# --- run A: 20 steps with checkpoints at 10 and 20; run B: resume from A's step 10 -------------
A=$TMP/dirA B=$TMP/dirB
train A 2 -e "$TMP/tiny.bin" -o "$A" "${FLAGS[@]}"
missing=()
for f in model_00000010.bin state_00000010_00000.bin DONE_00000010 model_00000020.bin state_00000020_00000.bin DONE_00000020 main.log; do
    [ -f "$A/$f" ] || missing+=("$f")
done
if [ ${#missing[@]} -eq 0 ]; then pass checkpoint_files "steps 10 and 20: model, state, DONE"
else fail checkpoint_files "missing in $A: ${missing[*]}"; fi

mkdir -p "$B"
cp "$A/model_00000010.bin" "$A/state_00000010_00000.bin" "$A/DONE_00000010" "$B/"
train B 2 -e "$TMP/tiny.bin" -o "$B" "${FLAGS[@]}" -y 1
if grep -q "resumed from step 10" "$TMP/B.out"; then pass resume_from_step_10
else fail resume_from_step_10 "no 'resumed from step 10' in $TMP/B.out"; fi
same_file resume_model_exact "$A/model_00000020.bin" "$B/model_00000020.bin"
same_file resume_state_exact "$A/state_00000020_00000.bin" "$B/state_00000020_00000.bin"
log_from_10 "$A/main.log" > "$TMP/A.log10"; log_from_10 "$B/main.log" > "$TMP/B.log10"
n_trl=$(grep -c ' trl:' "$TMP/B.log10"); n_tel=$(grep -c ' tel:' "$TMP/B.log10")
if [ "$n_trl" -eq 10 ] && [ "$n_tel" -eq 3 ] && cmp -s "$TMP/A.log10" "$TMP/B.log10"; then
    pass resume_losses_exact "steps 10..19: train loss, grad norm and lr equal; val loss at 10, 15, 20 equal"
else
    fail resume_losses_exact "B has $n_trl train / $n_tel val lines from step 10 (want 10 / 3); diff: $(diff "$TMP/A.log10" "$TMP/B.log10" | head -n 4 | tr '\n' '|')"
fi

# --- thread count: 1 and 3 threads (3 on 2 cores: a different split of every loop) ------------
train T1 1 -e "$TMP/tiny.bin" -o "$TMP/dirT1" "${FLAGS[@]}"
same_file threads_1_vs_2 "$A/model_00000020.bin" "$TMP/dirT1/model_00000020.bin"
train T3 3 -e "$TMP/tiny.bin" -o "$TMP/dirT3" "${FLAGS[@]}"
same_file threads_3_vs_2 "$A/model_00000020.bin" "$TMP/dirT3/model_00000020.bin"
# resume with another thread count than the run that wrote the checkpoint
mkdir -p "$TMP/dirR1" && cp "$A/model_00000010.bin" "$A/state_00000010_00000.bin" "$A/DONE_00000010" "$TMP/dirR1/"
train R1 1 -e "$TMP/tiny.bin" -o "$TMP/dirR1" "${FLAGS[@]}" -y 1
same_file resume_1_thread_exact "$A/model_00000020.bin" "$TMP/dirR1/model_00000020.bin"

# --- the exactness checks can fail: move the saved dataloader position by one sample ----------
# (StateExt at the end of the state file: magic, reserved, num_parameters, epoch, shard_pos,
# sample_pos, ...: sample_pos is the int64 at byte 32 of the block, see llmc/io/state.h)
X=$TMP/dirX
mkdir -p "$X" && cp "$A/model_00000010.bin" "$A/state_00000010_00000.bin" "$A/DONE_00000010" "$X/"
$PY - "$X/state_00000010_00000.bin" "$X/model_00000010.bin" <<'EOF2'
import os, sys, numpy as np
state, model = sys.argv[1:]
nparams = (os.path.getsize(model) - 1024) // 4
blocks = 3 if np.fromfile(state, dtype=np.int32, count=256)[4] else 2   # m, v (+ master weights)
ext = 1024 + 4 * blocks * nparams
with open(state, "r+b") as f:
    f.seek(ext)
    head = f.read(40)
    assert int.from_bytes(head[:4], "little") == 0x47505432, "extension block not found"
    pos = int.from_bytes(head[32:40], "little", signed=True)
    f.seek(ext + 32)
    f.write((pos - 1 if pos > 0 else pos + 1).to_bytes(8, "little", signed=True))
EOF2
train X 2 -e "$TMP/tiny.bin" -o "$X" "${FLAGS[@]}" -y 1
if [ -f "$X/model_00000020.bin" ] && ! cmp -s "$A/model_00000020.bin" "$X/model_00000020.bin"; then
    pass resume_check_is_sensitive "a dataloader position off by one sample gives a different final model"
else fail resume_check_is_sensitive "moving the saved sample position changed nothing: is the position restored at all?"; fi

# --- resume ignores a checkpoint without its DONE marker (a crash mid-save) -------------------
E=$TMP/dirE
mkdir -p "$E" && cp "$A/model_00000010.bin" "$A/state_00000010_00000.bin" "$A/DONE_00000010" "$E/"
head -c 100000 "$A/model_00000020.bin" > "$E/model_00000020.bin"   # half-written, no DONE_00000020
train E 2 -e "$TMP/tiny.bin" -o "$E" "${FLAGS[@]}" -y 1
if grep -q "resumed from step 10" "$TMP/E.out"; then pass resume_skips_incomplete
else fail resume_skips_incomplete "$(grep -m1 resumed "$TMP/E.out")"; fi
same_file resume_skips_incomplete_exact "$A/model_00000020.bin" "$E/model_00000020.bin"

# --- resume with a different -shuffle than the checkpoint is refused --------------------------
mkdir -p "$TMP/dirS" && cp "$A/model_00000010.bin" "$A/state_00000010_00000.bin" "$A/DONE_00000010" "$TMP/dirS/"
OMP_NUM_THREADS=2 timeout $((60 * SAN_TIME)) "$BIN"/train_gpt2 -e "$TMP/tiny.bin" -o "$TMP/dirS" "${FLAGS[@]}" -shuffle 0 -y 1 \
    > "$TMP/S.out" 2> "$TMP/S.err"
rc=$?
if [ $rc -eq 1 ] && [ "$(wc -l < "$TMP/S.err")" -eq 1 ] && grep -q '^error:.*shuffle' "$TMP/S.err"; then
    pass resume_shuffle_mismatch_refused "$(cat "$TMP/S.err")"
else fail resume_shuffle_mismatch_refused "exit $rc: $(head -c 300 "$TMP/S.err")"; fi

# --- llm.c formats: model magic/version/size, state header ------------------------------------
for f in "$A/model_00000010.bin" "$A/model_00000020.bin"; do
    r=$($FIX check_model "$f")
    if [ "$r" = ok ]; then pass "llmc_model_format_$(basename "$f" .bin)" "magic 20240326, version 3, 1024 + 4*num_params bytes"
    else fail "llmc_model_format_$(basename "$f" .bin)" "$f: $r"; fi
done
r=$($PY - "$A/state_00000020_00000.bin" <<'EOF'
import sys, numpy as np
h = np.fromfile(sys.argv[1], dtype=np.int32, count=256)
want = {0: 20240527, 1: 1, 2: 1, 3: 0, 4: 0, 5: 1, 10: 20}
bad = [f"h[{k}]={h[k]} want {v}" for k, v in want.items() if h[k] != v]
print("; ".join(bad) if bad else "ok")
EOF
)
if [ "$r" = ok ]; then pass llmc_state_header "magic 20240527, version 1, 1 process, rank 0, shuffle 1, step 20"
else fail llmc_state_header "$r"; fi

# --- weights load exactly: with -l 0 one step leaves them unchanged, so the step-1 checkpoint ---
# holds exactly what was loaded (fp32: the input bytes; bf16: each value widened to fp32)
ONE=(-i "$TMP/r_train_*.bin" -j "$TMP/r_val_*.bin" -tok "$TMP/tok.bin" -b 2 -t 32 -x 1 -l 0 -v 0 -s 0)
if train L32 2 -e "$TMP/tiny.bin" -o "$TMP/dirL32" "${ONE[@]}"; then
    same_file fp32_load_roundtrip "$TMP/tiny.bin" "$TMP/dirL32/model_00000001.bin"
fi
train bf16 2 -e "$TMP/tiny_bf16.bin" -i "$TMP/r_train_*.bin" -j "$TMP/r_val_*.bin" -tok "$TMP/tok.bin" -b 2 -t 32 -x 2 -v 1 -s 0
if train L16 2 -e "$TMP/tiny_bf16.bin" -o "$TMP/dirL16" "${ONE[@]}"; then
    r=$($PY - "$TMP/tiny_bf16.bin" "$TMP/dirL16/model_00000001.bin" <<'EOF'
import sys, numpy as np
src, out = (np.fromfile(p, dtype=np.uint8) for p in sys.argv[1:])
hs, ho = src[:1024].view(np.int32), out[:1024].view(np.int32)
if hs[1] != 5 or ho[1] != 3 or (hs[2:] != ho[2:]).any():
    print(f"headers: bf16 version {hs[1]}, out version {ho[1]}, sizes equal: {(hs[2:] == ho[2:]).all()}")
else:
    want = (src[1024:].view(np.uint16).astype(np.uint32) << 16)
    got = out[1024:].view(np.uint32)
    print("ok" if got.shape == want.shape and (got == want).all()
          else f"{np.count_nonzero(got != want) if got.shape == want.shape else 'shape'} values differ")
EOF
)
    if [ "$r" = ok ]; then pass bf16_load_exact "version-5 values widened to fp32 bit for bit"
    else fail bf16_load_exact "$r"; fi
fi

# --- untied lm_head (d6 from scratch, -tie 0): resume is exact, the file says untied, -rms logs
U=(-e d6 -tie 0 "${FLAGS[@]}" -x 4 -n 2 -v 0 -rms 2)
if train U1 2 -o "$TMP/dirU1" "${U[@]}"; then
    mkdir -p "$TMP/dirU2"
    cp "$TMP/dirU1/model_00000002.bin" "$TMP/dirU1/state_00000002_00000.bin" "$TMP/dirU1/DONE_00000002" "$TMP/dirU2/"
    train U2 2 -o "$TMP/dirU2" "${U[@]}" -y 1 && same_file untied_resume_exact "$TMP/dirU1/model_00000004.bin" "$TMP/dirU2/model_00000004.bin"
    h8=$(od -An -t d4 -j 32 -N 4 "$TMP/dirU1/model_00000004.bin" | tr -d ' ')
    if [ "$h8" = 1 ]; then pass untied_header_flag "header[8] = 1"; else fail untied_header_flag "header[8] = $h8"; fi
    rms=$(grep -m1 '^s:0 rms' "$TMP/dirU1/main.log")
    n=$(echo "$rms" | grep -o ' [a-z_0-9]*:[0-9.e+-]*/[0-9.e+-]*' | wc -l)
    wte_rms=$(echo "$rms" | sed -n 's/.* wte:\([0-9.e+-]*\)\/.*/\1/p')
    if [ "$n" -eq 17 ] && echo "$rms" | grep -q ' lm_head:' && $PY -c "import sys; sys.exit(0 if abs(float('$wte_rms') - 0.02) < 1e-3 else 1)"; then
        pass rms_log "17 tensors at step 0, wte weight RMS $wte_rms (init std 0.02)"
    else fail rms_log "got $n tensors, wte RMS '$wte_rms': $rms"; fi
    if grep -q '^s:2 rms' "$TMP/dirU1/main.log" && ! grep -q '^s:1 rms' "$TMP/dirU1/main.log"; then pass rms_every_2
    else fail rms_every_2 "rms lines at steps: $(grep -o '^s:[0-9]* rms' "$TMP/dirU1/main.log" | tr '\n' ' ')"; fi
    # 2.4 GB of d6 checkpoints: gone once checked (CI disks are small; a failure keeps them)
    [ "$failed" = 0 ] && [ "${KEEP_TMP:-0}" != 1 ] && rm -f "$TMP"/dirU[12]/{model,state}_*.bin
fi

# --- -sl/-sg: the outlier windows are part of the state, so skipped steps resume exactly -------
SK=(-e "$TMP/tiny.bin" -i "$TMP/r_train_*.bin" -j "$TMP/r_val_*.bin" -b 2 -t 32 -shuffle 1 -x 170 -n 150
    -l 1e-3 -v 0 -s 0 -sg 0.5 -sl 1.0)
if train SK1 2 -o "$TMP/dirSK1" "${SK[@]}"; then
    mkdir -p "$TMP/dirSK2"
    cp "$TMP/dirSK1/model_00000150.bin" "$TMP/dirSK1/state_00000150_00000.bin" "$TMP/dirSK1/DONE_00000150" "$TMP/dirSK2/"
    train SK2 2 -o "$TMP/dirSK2" "${SK[@]}" -y 1 && same_file outlier_skip_resume_exact "$TMP/dirSK1/model_00000170.bin" "$TMP/dirSK2/model_00000170.bin"
    n_skip=$(grep -c 'skipped:1' "$TMP/dirSK1/main.log")
    first=$(grep -m1 'skipped:1' "$TMP/dirSK1/main.log" | sed 's/ .*//; s/s://')
    if [ "$n_skip" -gt 0 ] && [ "$first" -ge 128 ]; then pass outlier_skips "$n_skip skipped updates, the first at step $first (window of 128)"
    else fail outlier_skips "$n_skip skips, first at '$first'"; fi
fi

# --- gradient accumulation: B=4 in one micro-batch vs B=2 twice (-d 256) sees the same rows in
# the same order (-shuffle 0), so losses and norms agree to fp32 rounding ------------------------
# (one shard of exactly 5 x 128 + 1 tokens: no ragged tail for either split)
$FIX shard "$TMP/ga_train_000000.bin" 641 --seed 4
GA=(-e "$TMP/tiny.bin" -i "$TMP/ga_train_*.bin" -t 32 -shuffle 0 -x 5 -l 1e-3 -v 0 -s 0)
if train GA1 2 -o "$TMP/dirGA1" "${GA[@]}" -b 4 && train GA2 2 -o "$TMP/dirGA2" "${GA[@]}" -b 2 -d 128; then
    r=$($PY - "$TMP/dirGA1/main.log" "$TMP/dirGA2/main.log" <<'PYEOF'
import re, sys
def read(p):
    return [(float(l), float(n)) for l, n in re.findall(r"trl:([\d.]+) norm:([\d.]+)", open(p).read())]
a, b = read(sys.argv[1]), read(sys.argv[2])
d = max(max(abs(x[0] - y[0]) / x[0], abs(x[1] - y[1]) / x[1]) for x, y in zip(a, b)) if len(a) == len(b) == 5 else 1
print(f"{'ok' if d < 1e-5 else 'bad'} {len(a)} steps, max relative difference {d:.1e}")
PYEOF
)
    case "$r" in ok*) pass grad_accum_equivalence "${r#ok }";; *) fail grad_accum_equivalence "$r";; esac
fi

# --- -nk 2: only the two newest checkpoints stay, and a resume picks the newest ---------------
NK=(-e "$TMP/tiny.bin" -i "$TMP/r_train_*.bin" -b 2 -t 32 -x 6 -n 1 -nk 2 -l 1e-3 -v 0 -s 0)
if train NK1 2 -o "$TMP/dirNK" "${NK[@]}"; then
    left=$(cd "$TMP/dirNK" && ls | grep -v main.log | tr '\n' ' ')
    want="DONE_00000005 DONE_00000006 model_00000005.bin model_00000006.bin state_00000005_00000.bin state_00000006_00000.bin "
    if [ "$left" = "$want" ]; then pass checkpoints_keep "$left"; else fail checkpoints_keep "left: $left"; fi
    train NK2 2 -o "$TMP/dirNK" "${NK[@]}" -x 8 -y 1 && grep -q "resumed from step 6" "$TMP/NK2.out" \
        && pass checkpoints_keep_resume || fail checkpoints_keep_resume "$(grep resumed "$TMP/NK2.out")"
fi

# --- no partial files: every checkpoint went through NAME.tmp + rename ------------------------
# --- SIGTERM (preemption): the run finishes its step, checkpoints, exits 0; resumed, it ends
# byte-identical to the uninterrupted run A ----------------------------------------------------
S=$TMP/dirSig
OMP_NUM_THREADS=2 "$BIN"/train_gpt2 -e "$TMP/tiny.bin" -o "$S" "${FLAGS[@]}" > "$TMP/sig.out" 2> "$TMP/sig.err" &
sig_pid=$!
# main.log is flushed every step (stdout to a file is not): wait for the first step there
for _ in $(seq 400); do grep -q '^s:0 trl' "$S/main.log" 2>/dev/null && break; sleep 0.02; done
kill -TERM $sig_pid
wait $sig_pid
rc=$?
if [ $rc -eq 0 ] && grep -q '^stopped by signal 15 after step' "$TMP/sig.out"; then
    pass sigterm_checkpoint_and_exit_0 "$(grep '^stopped' "$TMP/sig.out")"
    touch "$S/model_00000099.bin.4242.tmp"  # what a kill -9 mid-write would leave
    train Sig 2 -e "$TMP/tiny.bin" -o "$S" "${FLAGS[@]}" -y 1 &&
        same_file sigterm_resume_exact "$A/model_00000020.bin" "$S/model_00000020.bin"
    if [ ! -e "$S/model_00000099.bin.4242.tmp" ] && grep -q 'removed a stale temp file' "$TMP/Sig.out"; then
        pass stale_tmp_removed_at_start "$(grep -m1 'removed a stale' "$TMP/Sig.out")"
    else fail stale_tmp_removed_at_start "$(ls "$S" | tr '\n' ' ')"; fi
else
    fail sigterm_checkpoint_and_exit_0 "rc $rc: $(tail -n 2 "$TMP/sig.out" | tr '\n' '|') $(head -c 200 "$TMP/sig.err")"
fi

# --- a state written before header int 25 existed: its -shuffle 1 was the -seed order (now 2).
# Simulated from a -shuffle 2 run whose step-10 state is patched to say 1 with int 25 = 0.
train LA 2 -e "$TMP/tiny.bin" -o "$TMP/dirLA" "${FLAGS[@]}" -shuffle 2
L=$TMP/dirL
mkdir -p "$L" && cp "$TMP/dirLA/model_00000010.bin" "$TMP/dirLA/state_00000010_00000.bin" "$TMP/dirLA/DONE_00000010" "$L/"
$FIX patch "$L/state_00000010_00000.bin" 5 1 && $FIX patch "$L/state_00000010_00000.bin" 25 0
OMP_NUM_THREADS=2 timeout $((60 * SAN_TIME)) "$BIN"/train_gpt2 -e "$TMP/tiny.bin" -o "$L" "${FLAGS[@]}" -y 1 > "$TMP/L1.out" 2> "$TMP/L1.err"
rc=$?
if [ $rc -ne 0 ] && grep -q "written with -shuffle 2, this run has -shuffle 1" "$TMP/L1.err"; then
    pass legacy_state_shuffle_refused "$(head -c 160 "$TMP/L1.err")"
else fail legacy_state_shuffle_refused "exit $rc: $(head -c 200 "$TMP/L1.err")"; fi
train L2 2 -e "$TMP/tiny.bin" -o "$L" "${FLAGS[@]}" -shuffle 2 -y 1
same_file legacy_state_resumes_as_shuffle_2 "$TMP/dirLA/model_00000020.bin" "$L/model_00000020.bin"

# --- a custom shape from scratch (-e L2:C64:NH4:T64:V600, untied, a 600-token vocab): trains,
# checkpoints and resumes bit for bit; the shards' token check uses the model's vocab
$FIX shard "$TMP/v_train_000000.bin" 3000 --seed 7 --vocab 600 || fail fixtures_custom_vocab
CF=(-e L2:C64:NH4:T64:V600 -tie 0 -init pytorch -i "$TMP/v_train_*.bin" -v 0 -s 0 -b 2 -t 32 -x 8 -n 4 -l 1e-3)
train CA 2 "${CF[@]}" -o "$TMP/dirCA"
mkdir -p "$TMP/dirCB" && cp "$TMP/dirCA/model_00000004.bin" "$TMP/dirCA/state_00000004_00000.bin" "$TMP/dirCA/DONE_00000004" "$TMP/dirCB/"
train CB 2 "${CF[@]}" -o "$TMP/dirCB" -y 1
same_file custom_shape_resume_exact "$TMP/dirCA/model_00000008.bin" "$TMP/dirCB/model_00000008.bin"
hdr=$(od -An -t d4 -w28 -j 8 -N 28 "$TMP/dirCA/model_00000008.bin" | tr -s ' ')
if [ "$hdr" = " 64 600 2 4 64 640 1" ]; then pass custom_shape_header "maxT V L NH C Vp untied = $hdr"
else fail custom_shape_header "header ints 2..8: '$hdr'"; fi
OMP_NUM_THREADS=2 timeout 60 "$BIN"/train_gpt2 -e L2:C64:NH4:T64:V500 -i "$TMP/v_train_*.bin" -v 0 -s 0 -b 2 -t 32 -x 1 > "$TMP/CV.out" 2> "$TMP/CV.err"
if [ $? -ne 0 ] && grep -q "out of range (vocab size 500)" "$TMP/CV.err"; then pass custom_vocab_checks_tokens "$(head -c 160 "$TMP/CV.err")"
else fail custom_vocab_checks_tokens "$(head -c 200 "$TMP/CV.err")"; fi

# --- a full disk: the checkpoint write fails with one error line, no partial or orphan file is
# left, the last complete checkpoint survives and resumes exactly. A tmpfs sized to hold run A's
# step-10 checkpoint plus step 20's model file but not its state (ENOSPC mid-state); where
# mounting is not allowed (or NO_MOUNT=1), a file-size limit (EFBIG, SIGXFSZ ignored) fails step
# 10's state file instead.
F=$TMP/dirF
mkdir -p "$F"
msize=$(stat -c %s "$A/model_00000010.bin"); ssize=$(stat -c %s "$A/state_00000010_00000.bin")
if [ -z "${NO_MOUNT:-}" ] && mount -t tmpfs -o size=$(( (2 * msize + ssize + ssize / 2) / 1024 + 64 ))k tmpfs "$F" 2> /dev/null; then
    trap 'umount "$F" 2> /dev/null' EXIT
    how="tmpfs of $(( (2 * msize + ssize + ssize / 2) / 1048576 )) MB (ENOSPC at step 20)"; full_step=20
else
    how="ulimit -f (EFBIG at step 10)"; full_step=10
fi
( trap '' XFSZ; [ $full_step -eq 10 ] && ulimit -f $(( (msize + ssize / 2) / 1024 ))
  OMP_NUM_THREADS=2 exec timeout $((60 * SAN_TIME)) "$BIN"/train_gpt2 -e "$TMP/tiny.bin" -o "$F" "${FLAGS[@]}" ) > "$TMP/F.out" 2> "$TMP/F.err"
rc=$?
left=$(cd "$F" && ls *.tmp model_000000$full_step.bin state_000000${full_step}_00000.bin DONE_000000$full_step 2> /dev/null | tr '\n' ' ')
nerr=$(grep -c . "$TMP/F.err")
if [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ "$nerr" -eq 1 ] && grep -q "^error: $F/.*write failed: \(No space left on device\|File too large\)" "$TMP/F.err" && [ -z "$left" ]; then
    pass full_disk_clean_error "$how: exit $rc, one line: $(head -c 160 "$TMP/F.err"); no partial or orphan file"
else fail full_disk_clean_error "$how: exit $rc, $nerr stderr line(s): $(head -c 300 "$TMP/F.err"); left: $left"; fi
if [ $full_step -eq 20 ]; then
    G=$TMP/dirG
    mkdir -p "$G"
    cp "$F/model_00000010.bin" "$F/state_00000010_00000.bin" "$F/DONE_00000010" "$G/"
    same_file full_disk_last_checkpoint_intact "$A/state_00000010_00000.bin" "$F/state_00000010_00000.bin"
    umount "$F"
    train G 2 -e "$TMP/tiny.bin" -o "$G" "${FLAGS[@]}" -y 1
    same_file full_disk_resume_exact "$A/model_00000020.bin" "$G/model_00000020.bin"
else
    umount "$F" 2> /dev/null
    if [ ! -e "$F/DONE_00000010" ] && [ -z "$(ls "$F" | grep -v -e '^main.log$')" ]; then pass full_disk_nothing_half_written "no checkpoint files at all in $F"
    else fail full_disk_nothing_half_written "$(ls "$F" | tr '\n' ' ')"; fi
fi

tmps=$(find "$TMP" -name '*.tmp' | tr '\n' ' ')
if [ -z "$tmps" ]; then pass no_tmp_files_left "$(find "$TMP" -name 'dir*' -type d | wc -l) output dirs"
else fail no_tmp_files_left "$tmps"; fi

test_end
