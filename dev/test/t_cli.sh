#!/usr/bin/env bash
# Command-line tests of the CPU trainer (llmc/train/cli.h): -h lists every flag of the table, malformed
# input is rejected with exactly one "error:" line naming the flag, the config table echoes values.
# One line per check: "PASS name ..." or "FAIL name ..."; exits non-zero if any check failed.
set -u
source "$(dirname "$0")/lib.sh"
test_begin t_cli

build_trainer

# A tiny model and tiny data: if a bad flag slipped through, the run stays short and harmless.
$PY dev/test/make_fixtures.py model "$TMP/tiny.bin" || { fail fixtures model; exit 1; }
$PY dev/test/make_fixtures.py shard "$TMP/d_train_000000.bin" 3000 --seed 1 || { fail fixtures shard; exit 1; }
$PY dev/test/make_fixtures.py shard "$TMP/d_val_000000.bin" 1000 --seed 2 || { fail fixtures shard; exit 1; }
BASE=(-e "$TMP/tiny.bin" -i "$TMP/d_train_*.bin" -j "$TMP/d_val_*.bin" -tok "$TMP/none.bin" -x 1 -v 0 -s 0)

# --- -h lists every flag of the table --------------------------------------------------------
# Flag names straight from flag_table in llmc/train/cli.h: {"-x", &c.field, "help", Trainer::Both}
mapfile -t CPU_FLAGS < <(sed -n 's/^ *{"\(-[a-z0-9]*\)", &c\.[a-z_0-9]*, ".*", Trainer::Both},$/\1/p' llmc/train/cli.h)
mapfile -t CUDA_FLAGS < <(sed -n 's/^ *{"\(-[a-z0-9]*\)", &c\.[a-z_0-9]*, ".*", Trainer::Cuda},$/\1/p' llmc/train/cli.h)
if [ "${#CPU_FLAGS[@]}" -ge 20 ] && [ "${#CUDA_FLAGS[@]}" -ge 1 ]; then
    pass parse_flag_table "${#CPU_FLAGS[@]} CPU flags, ${#CUDA_FLAGS[@]} CUDA-only flags in llmc/train/cli.h"
else
    fail parse_flag_table "found ${#CPU_FLAGS[@]} CPU / ${#CUDA_FLAGS[@]} CUDA flags: the table format changed?"
fi
timeout $((20 * SAN_TIME)) "$BIN"/train_gpt2 -h > "$TMP/help.out" 2> "$TMP/help.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -s "$TMP/help.err" ]; then pass help_exit0
else fail help_exit0 "rc=$rc stderr: $(head -c 200 "$TMP/help.err")"; fi
missing=()
for f in "${CPU_FLAGS[@]}"; do grep -qE -- "^ +$f +" "$TMP/help.out" || missing+=("$f"); done
if [ ${#missing[@]} -eq 0 ]; then pass help_lists_all_flags
else fail help_lists_all_flags "missing from usage: ${missing[*]}"; fi
listed=()
for f in "${CUDA_FLAGS[@]}"; do grep -qE -- "^ +$f +" "$TMP/help.out" && listed+=("$f"); done
if [ ${#listed[@]} -eq 0 ]; then pass help_omits_cuda_flags
else fail help_omits_cuda_flags "CPU usage lists CUDA-only flags: ${listed[*]}"; fi

# --- rejections: non-zero exit (not a signal), one stderr line "error: ..." naming the flag ---
# expect_reject NAME FLAG ARGS...: runs the trainer with BASE + ARGS. FLAG is an ERE (no dots).
expect_reject() {
    local name=$1 flag=$2; shift 2
    timeout $((20 * SAN_TIME)) "$BIN"/train_gpt2 "${BASE[@]}" "$@" > "$TMP/$name.out" 2> "$TMP/$name.err"
    local rc=$? lines err
    lines=$(wc -l < "$TMP/$name.err")
    err=$(head -n 1 "$TMP/$name.err")
    if [ $rc -eq 0 ]; then fail "$name" "accepted: $* (exit 0)"
    elif [ $rc -ge 124 ]; then fail "$name" "$* killed or crashed: exit status $rc (want 1); stderr: $(head -c 200 "$TMP/$name.err")"
    elif [ "$lines" -ne 1 ]; then fail "$name" "$*: $lines stderr lines (want 1): $(head -c 200 "$TMP/$name.err")"
    elif [[ "$err" != error:* ]]; then fail "$name" "$*: stderr does not start with 'error:': $err"
    elif ! grep -qE -- "(^|[^-[:alnum:]])$flag([^[:alnum:]]|$)" "$TMP/$name.err"; then fail "$name" "$*: message does not name $flag: $err"
    else pass "$name" "$err"; fi
}
expect_reject unknown_flag -zz -zz 1
expect_reject missing_value -l -l
expect_reject malformed_int -b -b 4x
expect_reject malformed_float -l -l abc
expect_reject int_overflow -b -b 99999999999
expect_reject float_nan -l -l nan
expect_reject float_inf -l -l inf
expect_reject float_beyond_fp32 -l -l 1e39
expect_reject range_g_huge -g -g 2147483647
expect_reject empty_int -t -t ""
expect_reject range_b_zero -b -b 0
expect_reject range_t_negative -t -t -1
expect_reject range_d_not_multiple -d -d 100
expect_reject range_k_bogus -k -k bogus
expect_reject range_q_above_1 -q -q 2
expect_reject range_x_zero -x -x 0
expect_reject range_shuffle_3 -shuffle -shuffle 3
expect_reject range_z_2 -z -z 2
expect_reject shape_heads_divide -e -e L2:C64:NH3
expect_reject shape_missing_nh -e -e L2:C64
expect_reject shape_head_size -e -e L2:C66:NH2
expect_reject shape_vocab_uint16 -e -e L2:C64:NH2:V70000
expect_reject shape_unknown_field -e -e L2:C64:NH2:X4
expect_reject shape_bad_number -e -e L2:C64x:NH2
expect_reject shape_zero_layers -e -e L0:C64:NH2
expect_reject depth_unsupported -e -e d7
expect_reject range_n_below_minus1 -n -n -2
expect_reject mup_base_without_mup -mup-base -mup-base 128
expect_reject mup_base_zero -mup-base -init mup -mup-base 0
expect_reject mup_zero_q_range -mup-zero-q -init mup -mup-zero-q 2
expect_reject probe_every_negative -probe-every -probe-every -1
expect_reject cuda_only_f -f -f 1
expect_reject cuda_only_w -w -w 0
expect_reject cuda_only_fa -fa -fa 1
# B*T = 2^32 wraps to 0 in int: "-d % (B*T)" must not divide by zero (SIGFPE, exit 136, in
# llmc/train/cli.h validate_config as of 76d98b3). Naming any of -b, -t, -d is fine.
expect_reject range_bt_overflow '(-b|-t|-d)' -b 65536 -t 65536 -d 256

# --- the printed config table shows the values given ------------------------------------------
timeout $((30 * SAN_TIME)) "$BIN"/train_gpt2 "${BASE[@]}" -l 0.001 -b 2 -t 32 -k linear -c 0.05 -u 3 -q 0.25 -b2 0.99 -seed 7 \
    > "$TMP/config.out" 2> "$TMP/config.err"
rc=$?
if [ $rc -eq 0 ]; then pass config_run; else fail config_run "exit $rc: $(head -c 200 "$TMP/config.err")"; fi
# table rows: | -flag | help | value | (help texts contain "|", so the value is the last field)
shown() { awk -F'|' -v f="$1" '{g=$2; gsub(/ /, "", g); if (g == f) {v=$(NF-1); gsub(/^ +| +$/, "", v); print v; exit}}' "$TMP/config.out"; }
bad=()
for kv in "-l=0.001" "-b=2" "-t=32" "-k=\"linear\"" "-c=0.05" "-u=3" "-q=0.25" "-b2=0.99" "-seed=7" "-x=1" \
          "-e=\"$TMP/tiny.bin\"" "-v=0" "-b1=0.9"; do
    f=${kv%%=*}; want=${kv#*=}
    got=$(shown "$f")
    [ "$got" = "$want" ] || bad+=("$f shows '$got' want '$want'")
done
if [ ${#bad[@]} -eq 0 ]; then pass config_table_values "-l 0.001 -b 2 -t 32 -k linear ... all echoed"
else fail config_table_values "${bad[*]}"; fi
missing=()
for f in "${CPU_FLAGS[@]}"; do [ -n "$(shown "$f")" ] || missing+=("$f"); done
if [ ${#missing[@]} -eq 0 ]; then pass config_table_all_flags
else fail config_table_all_flags "missing from the config table: ${missing[*]}"; fi

# -n -1: the log in -o, no checkpoint (model, state, DONE_) at the end
rm -rf "$TMP/n_never"
if timeout $((30 * SAN_TIME)) "$BIN"/train_gpt2 "${BASE[@]}" -x 2 -n -1 -o "$TMP/n_never" > "$TMP/n_never.out" 2>&1 &&
   [ -s "$TMP/n_never/main.log" ] && ! ls "$TMP/n_never" | grep -qE '^(model|state|DONE)_'; then
    pass checkpoint_never "2 steps with -n -1: main.log written, no checkpoint files ($(ls "$TMP/n_never" | tr '\n' ' '))"
else fail checkpoint_never "exit/listing: $(ls "$TMP/n_never" 2>&1 | tr '\n' ' ') $(tail -n 1 "$TMP/n_never.out")"; fi

test_end
