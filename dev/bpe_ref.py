#!/usr/bin/env python3
"""Independent reference GPT-2 encoder for testing llmc/io/tokenizer.h (shares no code with it).

Follows OpenAI's gpt-2 src/encoder.py: regex pre-tokenization with the `regex` module, then BPE by
merge rank. Bytes are decoded with errors="surrogateescape", so each invalid UTF-8 byte becomes one
lone surrogate: not a letter, number or space, hence an "other" character, and it encodes back to
its own byte. Run with Debian's python, which has `regex`:

  /usr/bin/python3 dev/bpe_ref.py VOCAB_DIR cases FIXTURE        one line of ids per fixture case
  /usr/bin/python3 dev/bpe_ref.py VOCAB_DIR json FIELD FILE...   EOT + ids of each document, one id a line
  /usr/bin/python3 dev/bpe_ref.py VOCAB_DIR text FILE...         EOT + ids of each file, one id a line
  /usr/bin/python3 dev/bpe_ref.py fuzz COUNT SEED                random fixture lines (inputs only)

Fixture format: one case per line, UTF-8; backslash escapes \\n \\t \\r \\\\ \\xHH (a raw byte);
lines that are empty or start with '#' are skipped.
"""
import json
import os
import sys

import regex

PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")
EOT = "<|endoftext|>"


def byte_spelling():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    table, extra = {}, 0
    for b in range(256):
        if b in keep:
            table[b] = chr(b)
        else:
            table[b] = chr(256 + extra)
            extra += 1
    return table


class Encoder:
    def __init__(self, vocab_dir):
        with open(os.path.join(vocab_dir, "encoder.json"), encoding="utf-8") as f:
            self.ids = json.load(f)
        with open(os.path.join(vocab_dir, "vocab.bpe"), encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(l.split()) for l in lines[1:] if l.strip()]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.spell = byte_spelling()
        self.memo = {}

    def bpe(self, word):
        if word in self.memo:
            return self.memo[word]
        parts = list(word)
        while len(parts) > 1:
            pairs = set(zip(parts, parts[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i + 1 < len(parts) and parts[i] == best[0] and parts[i + 1] == best[1]:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self.memo[word] = parts
        return parts

    def encode(self, data):
        """data: bytes. Returns the list of token ids."""
        text = data.decode("utf-8", errors="surrogateescape")
        out = []
        for piece in PATTERN.findall(text):
            raw = piece.encode("utf-8", errors="surrogateescape")
            spelled = "".join(self.spell[b] for b in raw)
            out.extend(self.ids[t] for t in self.bpe(spelled))
        return out


def unescape(line):
    out, i = bytearray(), 0
    while i < len(line):
        c = line[i]
        if c == "\\" and i + 1 < len(line):
            e = line[i + 1]
            if e == "x":
                out.append(int(line[i + 2:i + 4], 16))
                i += 4
                continue
            out.extend({"n": b"\n", "t": b"\t", "r": b"\r", "\\": b"\\"}[e])
            i += 2
            continue
        out.extend(c.encode("utf-8"))
        i += 1
    return bytes(out)


def json_strings(node, field, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == field and isinstance(v, str):
                out.append(v)
            else:
                json_strings(v, field, out)
    elif isinstance(node, list):
        for v in node:
            json_strings(v, field, out)


# Fuzz pieces: every class boundary the pattern cares about, from several scripts, plus bad bytes.
FUZZ_PIECES = [b" ", b"  ", b"\t", b"\n", b"\r\n", b"\x0b", b"\x0c", b"\x1c", b"\xc2\x85", b"\xc2\xa0",
               b"\xe2\x80\xa8", b"\xe3\x80\x80", b"a", b"Z", b"the", b" of", b"\xc3\xa9", b"e\xcc\x81",
               b"\xd0\x96", b"\xce\xbb", b"\xe4\xbd\xa0", b"\xea\xb0\x80", b"\xd9\x85", b"7", b"42",
               b"\xd9\xa3", b"\xe2\x85\xa0", b"\xc2\xbd", b"'", b"'s", b"'ll", b"'re", b"'S", b"\xe2\x80\x99",
               b".", b",", b"!", b"-", b"\xe2\x80\x94", b"$", b"\xf0\x9f\x98\x80", b"\xe2\x80\x8d",
               b"\xef\xb8\x8f", b"\x80", b"\xff", b"\xe2\x82", b"\xed\xa0\x80", b"\xc0\xaf", b"\xf4\x90\x80\x80"]


def fuzz_lines(count, seed):
    import random
    rng = random.Random(seed)
    for i in range(count):
        data = b"".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 30)))
        if i % 500 == 0:  # a long word, for the heap BPE path (pre-tokens >= 128 bytes)
            data = bytes(rng.choice(b"etaoinshrdlu") for _ in range(rng.randint(128, 1500))) + data
        yield "".join(chr(b) if 0x20 <= b < 0x7F and b != 0x5C else "\\x%02x" % b for b in data)


def main():
    if sys.argv[1] == "fuzz":
        for line in fuzz_lines(int(sys.argv[2]), int(sys.argv[3])):
            print(line)
        return
    enc = Encoder(sys.argv[1])
    mode = sys.argv[2]
    w = sys.stdout.write
    if mode == "cases":
        with open(sys.argv[3], encoding="utf-8") as f:
            for line in f.read().split("\n"):
                if not line or line.startswith("#"):
                    continue
                w(" ".join(map(str, enc.encode(unescape(line)))) + "\n")
        return
    eot = enc.ids[EOT]
    docs = []
    if mode == "json":
        for path in sys.argv[4:]:
            with open(path, encoding="utf-8") as f:
                strings = []
                json_strings(json.load(f), sys.argv[3], strings)
            docs.extend(s.encode("utf-8") for s in strings)
    else:
        for path in sys.argv[3:]:
            with open(path, "rb") as f:
                docs.append(f.read())
    for d in docs:
        if d:
            w("%d\n" % eot)
            w("".join("%d\n" % t for t in enc.encode(d)))


if __name__ == "__main__":
    main()
