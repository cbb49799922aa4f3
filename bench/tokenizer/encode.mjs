// GPT-2 encoding throughput of the npm encoders, on the text file given as the first argument:
// tiktoken (OpenAI's Rust tiktoken compiled to WebAssembly), js-tiktoken (its pure JavaScript
// port) and gpt-tokenizer (pure JavaScript). Each encodes the whole file 5 times per run, 3
// runs; prints the median MB/s, the token count and the ids' fingerprint (h = h * 31 + id mod
// 2^32, as loom's bpe_bench prints it) so the ids can be compared. One JSON object per line.
import { readFileSync } from "node:fs";
import { get_encoding } from "tiktoken";
import { getEncoding } from "js-tiktoken";
import { encode as gptTokenizerEncode } from "gpt-tokenizer/encoding/r50k_base";

const path = process.argv[2];
const text = readFileSync(path, "utf8");
const mb = Buffer.byteLength(text, "utf8") / 1e6;

function fingerprint(ids) {
  let h = 0;
  for (const id of ids) h = (Math.imul(h, 31) + id) >>> 0;
  return h;
}

function measure(name, encode) {
  let ids = encode(text);  // warm-up (JIT, caches)
  const times = [];
  for (let run = 0; run < 3; run++) {
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < 5; r++) ids = encode(text);
    times.push(Number(process.hrtime.bigint() - t0) / 1e9 / 5);
  }
  times.sort((a, b) => a - b);
  const seconds = times[1];
  console.log(JSON.stringify({ name, mb_per_s: mb / seconds, seconds, tokens: ids.length, fingerprint: fingerprint(ids) }));
}

const wasm = get_encoding("gpt2");
measure("tiktoken 1.0.22 (Rust, WebAssembly)", (t) => wasm.encode(t));
const js = getEncoding("gpt2");
measure("js-tiktoken 1.0.21 (JavaScript)", (t) => js.encode(t));
measure("gpt-tokenizer 4.0.0 (JavaScript)", (t) => gptTokenizerEncode(t));
