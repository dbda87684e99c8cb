// Second, independent reference for llmc/io/tokenizer.h: OpenAI's tiktoken (Rust, via npm's WASM build),
// "gpt2" encoding, encode_ordinary (special tokens are plain text, as in GPT-2's encoder).
// tiktoken must be installed (scripts/bench_tokenizer.sh does `npm install tiktoken` into
// data/cache/node); pass its node_modules with NODE_PATH. Modes:
//   node dev/tiktoken_ref.js cases FIXTURE           one line of ids per case; "-" for cases that are
//                                                    not valid UTF-8 (JS strings cannot carry them)
//   node dev/tiktoken_ref.js json FIELD FILE...      EOT + ids of each document, one id a line
//   node dev/tiktoken_ref.js bench RUNS FIELD FILE...  encode all documents RUNS times; median MB/s
"use strict";
const fs = require("fs");
const { get_encoding } = require("tiktoken");

function unescape(line) {  // fixture escapes: \n \t \r \\ \xHH
    const out = [];
    for (let i = 0; i < line.length; i++) {
        if (line[i] === "\\" && i + 1 < line.length) {
            const e = line[i + 1];
            if (e === "x") { out.push(parseInt(line.substr(i + 2, 2), 16)); i += 3; continue; }
            out.push({ n: 10, t: 9, r: 13, "\\": 92 }[e]); i += 1; continue;
        }
        for (const b of Buffer.from(line[i] === undefined ? "" : String.fromCodePoint(line.codePointAt(i)), "utf8")) out.push(b);
        if (line.codePointAt(i) > 0xffff) i++;
    }
    return Buffer.from(out);
}

function docs_of(field, files) {
    const docs = [];
    const walk = (v) => {
        if (Array.isArray(v)) v.forEach(walk);
        else if (v && typeof v === "object") {
            for (const [k, x] of Object.entries(v)) {
                if (k === field && typeof x === "string") { if (x.length) docs.push(x); } else walk(x);
            }
        }
    };
    for (const f of files) walk(JSON.parse(fs.readFileSync(f, "utf8")));
    return docs;
}

const enc = get_encoding("gpt2");
const [mode, ...args] = process.argv.slice(2);
if (mode === "cases") {
    const dec = new TextDecoder("utf-8", { fatal: true });
    const out = [];
    for (const line of fs.readFileSync(args[0], "utf8").split("\n")) {
        if (!line || line.startsWith("#")) continue;
        let text;
        try { text = dec.decode(unescape(line)); } catch (e) { out.push("-"); continue; }
        out.push(Array.from(enc.encode_ordinary(text)).join(" "));
    }
    process.stdout.write(out.join("\n") + "\n");
} else if (mode === "json") {
    const parts = [];
    for (const d of docs_of(args[0], args.slice(1))) {
        parts.push("50256\n");
        for (const t of enc.encode_ordinary(d)) parts.push(t + "\n");
    }
    process.stdout.write(parts.join(""));
} else if (mode === "bench") {
    const runs = parseInt(args[0], 10);
    const docs = docs_of(args[1], args.slice(2));
    const bytes = docs.reduce((n, d) => n + Buffer.byteLength(d, "utf8"), 0);
    const rates = [];
    let tokens = 0;
    for (let r = 0; r < runs; r++) {
        const t0 = process.hrtime.bigint();
        tokens = 0;
        for (const d of docs) tokens += enc.encode_ordinary(d).length;
        rates.push(bytes / 1e6 / (Number(process.hrtime.bigint() - t0) / 1e9));
    }
    rates.sort((a, b) => a - b);
    console.log(`tiktoken ${bytes} bytes ${tokens} tokens median ${rates[Math.floor(runs / 2)].toFixed(2)} MB/s`);
} else {
    console.error("usage: node dev/tiktoken_ref.js cases FIXTURE | json FIELD FILE... | bench RUNS FIELD FILE...");
    process.exit(2);
}
enc.free();
