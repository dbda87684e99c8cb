"""The batch order of llm.c's dataloader (llmc/dataloader.h, shuffling on), re-implemented from its
documented algorithm, for dev/test/t_io.sh to compare ours against: one line per batch,
"epoch shard-file-index first-token-offset".

The algorithm: one MT19937 per process, seeded 42 + rank (PyTorch's/the reference init_genrand).
dataloader_reset (at the start and at every epoch): Fisher-Yates the shard index array in place
(i from n-1 down to 1, j = u32 % (i + 1)), then open shard_indices[0] and shuffle its blocks.
Moving to the next shard: shuffle that shard's blocks from the identity. A shard has
(ntok - 1) // (P*B*T) blocks of P*B*T tokens; process r reads tokens [block*P*B*T + r*B*T, ...).

Usage: llmc_order_ref.py B T P RANK BATCHES SHARD...
"""
import struct
import sys


class MT19937:
    """Plain MT19937 (Matsumoto & Nishimura), init_genrand seeding, tempered 32-bit outputs."""

    def __init__(self, seed):
        self.mt = [0] * 624
        self.mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            self.mt[i] = (1812433253 * (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self.index = 624

    def u32(self):
        if self.index >= 624:
            for i in range(624):
                y = (self.mt[i] & 0x80000000) | (self.mt[(i + 1) % 624] & 0x7FFFFFFF)
                self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.index = 0
        y = self.mt[self.index]
        self.index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y


def shuffle(a, rng):
    for i in range(len(a) - 1, 0, -1):
        j = rng.u32() % (i + 1)
        a[i], a[j] = a[j], a[i]


def main():
    B, T, P, rank, batches = (int(x) for x in sys.argv[1:6])
    shards = sys.argv[6:]
    ntok = []
    for path in shards:
        with open(path, "rb") as f:
            ntok.append(struct.unpack("<3i", f.read(12))[2])
    rng = MT19937(42 + rank)
    order = list(range(len(shards)))
    epoch, pos, blocks, sample = -1, 0, [], 0

    def open_shard():
        nonlocal blocks, sample
        n = (ntok[order[pos]] - 1) // (P * B * T)
        blocks = list(range(n))
        shuffle(blocks, rng)
        sample = 0

    for _ in range(batches):
        if epoch < 0 or sample >= len(blocks):
            if epoch < 0 or pos == len(shards) - 1:
                epoch, pos = epoch + 1, 0
                shuffle(order, rng)
            else:
                pos += 1
            open_shard()
        print(epoch, order[pos], blocks[sample] * P * B * T + rank * B * T)
        sample += 1


main()
