// Generates the tokenizer parity corpus (corpus.json), the expected outputs of the reference
// (transformers.js) for each npm tokenizer (golden/<name>.json.gz) and for the hand-made
// tokenizers of synthetic.mjs (synthetic.json).
//   usage: node tests/golden/tokenizer/gen.mjs [--corpus-only] [--golden-only]   (after npm ci in tests/)
// The corpus is hand-written categories plus seeded random strings, so it is the same every run.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

import { TOKENIZERS, loadReference } from './tokenizers.mjs';
import { SYNTHETIC, SYNTHETIC_INPUTS } from './synthetic.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));

// ---- seeded PRNG (mulberry32) ----
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---- hand-written categories ----
const prose = [
  'Hello, world! How are you doing today?',
  "I'm sure it's fine; we'll see. They've said you'd DON'T and I'LL and WE'RE.",
  'The quick brown fox jumps over the lazy dog.',
  'Le cœur a ses raisons que la raison ne connaît point.',
  'Über den Wolken muss die Freiheit wohl grenzenlos sein. Straße, Größe, Äpfel.',
  '¿Dónde está la biblioteca? ¡Muy bien! Mañana será otro día.',
  'Москва — столица России. Съешь же ещё этих мягких французских булок.',
  'Η γρήγορη καφέ αλεπού πηδάει πάνω από το τεμπέλικο σκυλί. ΣΟΦΟΣ σοφός',
  'مرحبا بالعالم! كيف حالك اليوم؟',
  'שלום עולם, מה שלומך?',
  'नमस्ते दुनिया, आप कैसे हैं? हिन्दी भाषा',
  'สวัสดีชาวโลก ภาษาไทยไม่มีช่องว่างระหว่างคำ',
  '你好，世界！今天天气很好。我们去公园散步吧。',
  '東京は日本の首都です。ひらがなとカタカナ、漢字を使います。',
  '안녕하세요 세계! 한국어는 한글로 씁니다.',
  'Tiếng Việt có nhiều dấu: ă â ê ô ơ ư đ, và thanh điệu.',
  'İstanbul, Türkiye\'nin en kalabalık şehridir. ıİğĞşŞ',
  'Ελληνικά, Русский, 中文, 日本語, 한국어, العربية, עברית in one line.',
  'Γειά σου Κόσμε! ΟΔΥΣΣΕΥΣ',
  'Ⅻ ½ ² ³ ¹ ¼ ① ⑴ ﬁ ﬀ Å Ω K µ',
  'ｆｕｌｌｗｉｄｔｈ　ｔｅｘｔ　１２３',
  'Ça va? Naïve café résumé façade coöperate',
  'e\u0301 vs é, n\u0303 vs ñ, A\u030a vs Å',
];
const emoji = [
  '😀😃😄😁😆😅😂🤣',
  '👨‍👩‍👧‍👦 family, 👩🏽‍💻 coder, 🏳️‍🌈 flag, 🏴‍☠️ pirate',
  '👍🏻👍🏼👍🏽👍🏾👍🏿',
  '🇫🇷🇩🇪🇯🇵🇺🇸🇬🇧',
  'I ❤️ NY ☕️ ✨ 🚀🌍',
  '🧑‍🤝‍🧑 and 👁️‍🗨️ and ❤️‍🔥',
  'keycaps: 1️⃣ 2️⃣ #️⃣ *️⃣',
  '🙂🙃 🫠 🥲',
];
const code = [
  'def main():\n    print("Hello")\n    return 0\n',
  'int main(int argc, char** argv) {\n\tstd::cout << "hi" << std::endl;\n\treturn 0;\n}\n',
  'const x = (a, b) => a + b; // arrow\nconsole.log(`${x(1, 2)}`);',
  '{"key": "value", "list": [1, 2, 3], "nested": {"a": null, "b": true}}',
  '<html><body><p class="x">Hi &amp; bye</p></body></html>',
  'SELECT * FROM users WHERE id = 42 AND name LIKE \'%bob%\';',
  'for (let i = 0; i < 10; ++i) { sum += arr[i] * 2; }',
  'fn main() { let v: Vec<u32> = (0..10).collect(); println!("{:?}", v); }',
  '#include <stdio.h>\n#define MAX(a,b) ((a)>(b)?(a):(b))\n',
  'x = [i**2 for i in range(100) if i % 3 == 0]',
  'git commit -m "fix: handle \\r\\n line endings" && git push origin main',
  '$ ls -la /usr/local/bin | grep -E "^d" > out.txt 2>&1',
  'a_b_c = __init__.__name__; CamelCaseName; snake_case_name; SCREAMING_CASE',
  'https://example.com/path/to/page?query=1&other=two#frag',
  'user@example.com, +1 (555) 123-4567, 192.168.0.1:8080',
];
const whitespace = [
  '   ', ' ', '\t', '\n', '\n\n', '\r\n', '  leading', 'trailing  ', '  both  ',
  'a  b   c    d     e', 'tab\tseparated\tvalues', 'line1\nline2\n\nline4\n\n\n',
  '\t\t\tindented', 'mixed \t \n \r\n whitespace', '\u00a0nbsp\u00a0here', 'em\u2003space',
  'ideographic\u3000space', ' \n \n ', '\n\n\n\n\n\n\n\n\n\n', ' '.repeat(40), '\t'.repeat(17),
  'end with newline\n', 'x\u2028y\u2029z', 'a\u0085b', 'a\u000bb\u000cc',
];
const digits = [
  '0', '12', '123', '1234', '12345', '1234567890', '3.14159', '1,000,000', '-42', '1e10',
  '2024-01-15', '12:34:56', '0x1F600', '٠١٢٣٤٥٦٧٨٩', '१२३', '１２３', 'v1.2.3-beta.4',
  '99 bottles of beer', 'a1b2c3', '007', '3rd 2nd 1st 4th', '½ ¾ ⅓',
];
const special = [
  '<bos>hello<eos>', '<start_of_turn>user\nHi<end_of_turn>\n<start_of_turn>model\n',
  '<|im_start|>system\nYou are helpful.<|im_end|>\n<|im_start|>user\nhi<|im_end|>',
  '<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|>',
  '<s>[INST] hi [/INST]</s>', 'text <pad> more <unk> end', '<|endoftext|>after',
  '<｜begin▁of▁sentence｜>你好<｜end▁of▁sentence｜>', '<mask> and [multimodal] <unused0>',
  '<image_soft_token><image_soft_token>', '<start_of_image>', ' <bos> ', '<bos><bos>',
  'a<|im_end|>b', '<<bos>>', '<|im_start', 'im_start|>', '<|endoftext|><|endoftext|>',
  '<start_of_turn> spaced <end_of_turn>', '<think>\nreasoning\n</think>\nanswer',
  '<tool_call>{"name": "f"}</tool_call>', '<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>',
];
const oddUnicode = [
  '\ufffd', 'a\ufffdb', '\ufeffBOM at start', 'zero\u200bwidth\u200bspace', 'ZWNJ\u200cZWJ\u200d',
  '\u200e\u200fLTR RTL marks', '\u202eRTL override', 'private \ue000\uf8ff use', '\uffff\ufffe nonchars',
  '\u0301\u0302 lone combining', 'Z̴̡̪͎̹̈́a̶̱̔l̷̰̇g̵͚̃o̵̢͝', '\u0000nul\u0000', '\u0001\u0002\u0007\u001b',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝕞𝕒𝕥𝕙', '𠀀𠀁𪚥 ext-B', '\u{10ffff}\u{e0001}', '\u00ad soft\u00adhyphen',
  '\u2060word\u2060joiner', 'ﾊﾝｶｸ ｶﾀｶﾅ', '℃ ℉ № ™ ©', 'ǅ ǈ ǋ titlecase', 'ß ẞ ﬆ',
  '\u{1d400}\u{1d401}', 'Ａ\u0308', '\u0e01\u0e34\u0e4a', '\u1100\u1161\u11a8 jamo',
];
const longWords = [
  'a'.repeat(300), 'ab'.repeat(200), 'pneumonoultramicroscopicsilicovolcanoconiosis',
  'Supercalifragilisticexpialidocious'.repeat(5), 'x'.repeat(1000), '無'.repeat(120),
  '😀'.repeat(60), 'abc123'.repeat(50), '-'.repeat(100), '='.repeat(80) + '\n' + '#'.repeat(80),
  'Donaudampfschifffahrtselektrizitätenhauptbetriebswerkbauunterbeamtengesellschaft',
  '.'.repeat(64), '\u2581'.repeat(50), '▁hello▁world', 'Ġhello Ċ', '<0x41><0xE4>',
];

// ---- seeded random strings ----
const pools = {
  latin: 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ',
  accents: 'àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿœšžßÀÉÎÕÜŸŒĀāĒēĪīŌōŪūąćęłńśźżĄĆĘŁŃŚŹŻ',
  digits: '0123456789',
  punct: '.,;:!?\'"()[]{}<>-_=+*/\\|@#$%^&~`',
  space: '    \t\n\n\r',
  cyrillic: 'абвгдеёжзийклмнопрстуфхцчшщъыьэюяАБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯ',
  greek: 'αβγδεζηθικλμνξοπρστυφχψωΑΒΓΔΕΖΗΘΙΚΛΜΝΞΟΠΡΣΤΥΦΧΨΩάέήίόύώς',
  cjk: '的一是不了人我在有他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话',
  kana: 'あいうえおかきくけこさしすせそたちつてとなにぬねのはひふへほまみむめもやゆよらりるれろわをんアイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲンー',
  hangul: '가나다라마바사아자차카타파하한국어글말집물불산강바다하늘사람',
  arabic: 'ابتثجحخدذرزسشصضطظعغفقكلمنهوي',
  devanagari: 'अआइईउऊएऐओऔकखगघचछजझटठडढणतथदधनपफबभमयरलवशषसह्ािीुूेैोौं',
  thai: 'กขคงจฉชซญดตถทนบปผพฟภมยรลวศษสหอฮะาิีึืุูเแโใไ่้๊๋',
  emoji: ['😀', '😂', '🥰', '🤔', '👍', '🎉', '🔥', '💯', '✅', '❌', '⭐', '🌟', '🍕', '🐱', '🐶', '🚗', '👨‍💻', '👩‍🔬', '🏳️‍🌈', '❤️', '🇯🇵', '👋🏽'],
  symbols: '©®™°±×÷¶§†‡•…‰′″€£¥¢₹₽→←↑↓↔⇒⇔∀∃∅∈∉∑∏√∞≈≠≤≥⊂⊃∧∨¬∫∂∇■□▲△●○◆◇★☆♠♣♥♦♪♫',
  odd: ['\u200b', '\u200d', '\ufeff', '\u00a0', '\u3000', '\u2028', '\u0085', '\ufffd', '\u0301', '\u0308', '\u00ad', '\ue000'],
};
const words = ('the of and to in is you that it he was for on are as with his they at be this have from or one had by ' +
  'word but not what all were we when your can said there use an each which she do how their if will up other about ' +
  'out many then them these so some her would make like him into time has look two more write go see number no way ' +
  "could people my than first water been call who oil its now find long down day did get come made may part don't " +
  "it's I'm we're they've you'll she'd tokenizer model inference server ONNX Gemma quantization embedding").split(' ');

function pick(r, arr) {
  const a = typeof arr === 'string' ? [...arr] : arr;
  return a[Math.floor(r() * a.length)];
}

function randomString(r) {
  const kind = Math.floor(r() * 10);
  const n = 1 + Math.floor(r() * 40);
  let s = '';
  if (kind <= 2) {
    // sentence of words with random separators and punctuation
    for (let i = 0; i < n; ++i) {
      let w = pick(r, words);
      const c = r();
      if (c < 0.1) w = w.toUpperCase();
      else if (c < 0.2) w = w[0].toUpperCase() + w.slice(1);
      s += w;
      const sep = r();
      s += sep < 0.75 ? ' ' : sep < 0.85 ? pick(r, '.,;:!?') + ' ' : sep < 0.92 ? '\n' : sep < 0.96 ? '  ' : pick(r, pools.digits);
    }
  } else {
    const names = Object.keys(pools);
    const mix = [pick(r, names), pick(r, names), pick(r, names)];
    for (let i = 0; i < n * 2; ++i) {
      const pool = pools[pick(r, mix)];
      s += pick(r, pool);
    }
  }
  if (r() < 0.05) s = ' ' + s;
  if (r() < 0.05) s += '\n';
  return s;
}

function buildCorpus() {
  const r = rng(20240601);
  const corpus = [];
  const add = (category, list) => list.forEach((text) => corpus.push({ category, text }));
  add('prose', prose);
  add('emoji', emoji);
  add('code', code);
  add('whitespace', whitespace);
  add('digits', digits);
  add('special', special);
  add('odd-unicode', oddUnicode);
  add('long-words', longWords);
  // combinations of the hand-written strings
  const hand = corpus.map((x) => x.text);
  for (let i = 0; i < 200; ++i) {
    const k = 2 + Math.floor(r() * 3);
    let s = '';
    for (let j = 0; j < k; ++j) s += pick(r, hand) + pick(r, ['', ' ', '\n', '\t', '  ']);
    corpus.push({ category: 'mixed', text: s });
  }
  while (corpus.length < 2200) corpus.push({ category: 'random', text: randomString(r) });
  return corpus;
}

function writeCorpus() {
  const corpus = buildCorpus();
  fs.writeFileSync(path.join(here, 'corpus.json'), JSON.stringify(corpus, null, 0).replace(/\},\{/g, '},\n{') + '\n');
  console.log(`corpus: ${corpus.length} strings`);
  return corpus;
}

async function writeGolden(corpus) {
  fs.mkdirSync(path.join(here, 'golden'), { recursive: true });
  for (const name of TOKENIZERS) {
    const tok = await loadReference(name);
    // ids: encode(text) with special tokens; ids_plain: without (a number k: ids without its first k);
    // decoded: decode(ids) (a string: the prefix before text, else {text}); decoded_skip: with
    // skip_special_tokens (null: same as decoded)
    const out = { tokenizer: name, ids: [], ids_plain: [], decoded: [], decoded_skip: [] };
    for (const { text } of corpus) {
      const ids = tok.encode(text); // add_special_tokens = true
      const plain = tok.encode(text, { add_special_tokens: false });
      // null: the same as the field before it (keeps the golden files small)
      const decoded = ids.length ? tok.decode(ids) : '';
      const decodedSkip = ids.length ? tok.decode(ids, { skip_special_tokens: true }) : '';
      out.ids.push(ids);
      const k = ids.length - plain.length;
      const samePlain = k >= 0 && JSON.stringify(ids.slice(k)) === JSON.stringify(plain);
      out.ids_plain.push(samePlain ? k : plain);
      out.decoded.push(decoded.endsWith(text) ? decoded.slice(0, decoded.length - text.length) : { text: decoded });
      out.decoded_skip.push(decodedSkip === decoded ? null : decodedSkip);
    }
    const file = path.join(here, 'golden', `${name}.json.gz`);
    fs.writeFileSync(file, zlib.gzipSync(JSON.stringify(out), { level: 9 }));
    console.log(`${name}: ${fs.statSync(file).size} bytes`);
  }
}

async function writeSynthetic() {
  const { PreTrainedTokenizer } = await import('@huggingface/transformers');
  const out = [];
  for (const { name, tokenizer, config } of SYNTHETIC) {
    const tok = new PreTrainedTokenizer(structuredClone(tokenizer), structuredClone(config));
    const cases = [];
    for (const text of SYNTHETIC_INPUTS) {
      try {
        const ids = tok.encode(text);
        const plain = tok.encode(text, { add_special_tokens: false });
        const decoded = ids.length ? tok.decode(ids) : '';
        const decodedSkip = ids.length ? tok.decode(ids, { skip_special_tokens: true }) : '';
        cases.push({ text, ids, ids_plain: plain, decoded, decoded_skip: decodedSkip });
      } catch (e) {
        cases.push({ text, error: String(e) });
      }
    }
    out.push({ name, tokenizer, config, cases });
  }
  fs.writeFileSync(path.join(here, 'synthetic.json'), JSON.stringify(out) + '\n');
  console.log(`synthetic: ${out.length} tokenizers x ${SYNTHETIC_INPUTS.length} inputs`);
}

const args = process.argv.slice(2);
await writeSynthetic();
let corpus;
if (args.includes('--golden-only')) corpus = JSON.parse(fs.readFileSync(path.join(here, 'corpus.json'), 'utf8'));
else corpus = writeCorpus();
if (!args.includes('--corpus-only')) await writeGolden(corpus);
