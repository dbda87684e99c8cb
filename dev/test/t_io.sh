#!/usr/bin/env bash
# Dataloader, RNG, checkpoint/state round trips, schedules, init determinism (dev/test/test_io.cpp).
set -u
source "$(dirname "$0")/lib.sh"
test_begin io
"$BIN"/test_io "$TMP" || failed=1

# llm.c's batch order (-shuffle 1) against dev/llmc_order_ref.py, an independent re-implementation
# of llm.c's dataloader algorithm: 3 shards of different sizes (13, 7 and 10 blocks of B*T at
# P = 1), B=2 T=8, over 5+ epochs, for 1 process and for both ranks of 2
FIX="$PY dev/test/make_fixtures.py"
$FIX shard "$TMP/o_000000.bin" $((13 * 16 + 1)) --seed 1 && $FIX shard "$TMP/o_000001.bin" $((7 * 16 + 1)) --seed 2 &&
$FIX shard "$TMP/o_000002.bin" $((10 * 16 + 5)) --seed 3 || fail fixtures_order
for pr in "1 0" "2 0" "2 1"; do
    read -r P R <<< "$pr"
    n=$(( 160 / P ))
    "$BIN"/test_io order "$TMP/o_*.bin" 1 2 8 "$P" "$R" "$n" > "$TMP/order_ours_$P$R.txt"
    $PY dev/llmc_order_ref.py 2 8 "$P" "$R" "$n" "$TMP"/o_00000[012].bin > "$TMP/order_ref_$P$R.txt"
    epochs=$(tail -n 1 "$TMP/order_ref_$P$R.txt" | cut -d' ' -f1)
    if [ -s "$TMP/order_ref_$P$R.txt" ] && [ "$(wc -l < "$TMP/order_ref_$P$R.txt")" -eq "$n" ] && [ "$epochs" -ge 4 ] &&
       cmp -s "$TMP/order_ours_$P$R.txt" "$TMP/order_ref_$P$R.txt"; then
        pass "llmc_batch_order_P${P}_rank$R" "$n batches over epochs 0..$epochs identical to llm.c's algorithm (shard, block, rank offset)"
    else fail "llmc_batch_order_P${P}_rank$R" "first difference: $(diff "$TMP/order_ours_$P$R.txt" "$TMP/order_ref_$P$R.txt" | head -n 3 | tr '\n' '|')"; fi
done
# the order is not the file order, and -shuffle 2 (our seeded order) differs from it
"$BIN"/test_io order "$TMP/o_*.bin" 0 2 8 1 0 30 > "$TMP/order_0.txt"
"$BIN"/test_io order "$TMP/o_*.bin" 2 2 8 1 0 30 > "$TMP/order_2.txt"
head -n 30 "$TMP/order_ours_10.txt" > "$TMP/order_1.txt"
if ! cmp -s "$TMP/order_0.txt" "$TMP/order_1.txt" && ! cmp -s "$TMP/order_2.txt" "$TMP/order_1.txt"; then
    pass shuffle_modes_differ "-shuffle 0, 1 and 2 give three orders"
else fail shuffle_modes_differ "two modes gave the same 30 batches"; fi
test_end
