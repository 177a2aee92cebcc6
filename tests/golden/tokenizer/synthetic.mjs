// Small hand-made tokenizer.json files covering the components the npm tokenizers do not use
// (WordPiece, Unigram, Metaspace, BPE suffixes, Bert*, Digits, Punctuation, Split behaviours,
// lstrip/rstrip/normalized added tokens, CTC, Strip, ...). gen.mjs runs the reference on them and
// writes synthetic.json: the tokenizers, their inputs and the expected outputs.

const chars = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,!?;:\'"-()[]{}<>/\\@#$%^&*_+=~`|'];
const words = ['the', 'quick', 'brown', 'fox', 'jump', 'over', 'lazy', 'dog', 'hello', 'world', 'token', 'izer', 'un', 'able', 'café', 'naïve', '你', '好'];

function wordpieceVocab(specials) {
  const vocab = {};
  let id = 0;
  for (const s of specials) vocab[s] = id++;
  for (const w of words) if (!(w in vocab)) vocab[w] = id++;
  for (const c of chars) {
    if (!(c in vocab)) vocab[c] = id++;
    if (!(`##${c}` in vocab)) vocab[`##${c}`] = id++;
  }
  for (const w of ['##s', '##ing', '##ed', '##izer', '##able']) if (!(w in vocab)) vocab[w] = id++;
  return vocab;
}

function added(content, id, extra = {}) {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true, ...extra };
}

function base(model, rest) {
  return { version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer: null, pre_tokenizer: null, post_processor: null, decoder: null, model, ...rest };
}

function bert() {
  const vocab = wordpieceVocab(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  return base(
    { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
    {
      added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map((t, i) => added(t, i)).concat([added('[MASK]', 4, { lstrip: true })]),
      normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
      pre_tokenizer: { type: 'BertPreTokenizer' },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
        pair: [],
        special_tokens: {},
      },
      decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    },
  );
}

function unigram() {
  const pieces = [['<unk>', 0], ['<s>', 0], ['</s>', 0], ['▁', -2]];
  let score = -3;
  for (const w of words) {
    pieces.push([`▁${w}`, score]);
    pieces.push([w, score - 0.5]);
    score -= 0.25;
  }
  for (const c of chars) pieces.push([c, -8 - (c.charCodeAt(0) % 7) * 0.1]);
  pieces.push(['▁t', -5], ['he', -5.5], ['qu', -6], ['ick', -6.1], ['ll', -6.2]);
  return base(
    { type: 'Unigram', unk_id: 0, vocab: pieces, byte_fallback: false },
    {
      added_tokens: [added('<unk>', 0), added('<s>', 1), added('</s>', 2)],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKC' }, { type: 'Replace', pattern: { Regex: ' {2,}' }, content: ' ' }] },
      pre_tokenizer: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [],
        special_tokens: {},
      },
      decoder: { type: 'Metaspace', replacement: '▁', prepend_scheme: 'always', split: true },
    },
  );
}

function bpeSuffix() {
  const vocab = { '<unk>': 0 };
  let id = 1;
  const add = (t) => {
    if (!(t in vocab)) vocab[t] = id++;
  };
  for (const c of chars) {
    add(c);
    add(`${c}</w>`);
  }
  const merges = [];
  for (const w of words) {
    let cur = w[0];
    for (let i = 1; i < w.length; ++i) {
      const next = i === w.length - 1 ? `${w[i]}</w>` : w[i];
      merges.push(`${cur} ${next}`);
      cur += next;
      add(cur);
    }
  }
  return base(
    { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: '</w>', fuse_unk: true, byte_fallback: false, vocab, merges },
    {
      added_tokens: [added('<unk>', 0)],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Lowercase' }, { type: 'NFD' }, { type: 'StripAccents' }] },
      pre_tokenizer: { type: 'Whitespace' },
      decoder: { type: 'BPEDecoder', suffix: '</w>' },
    },
  );
}

function charModel(extra) {
  const vocab = wordpieceVocab(['<unk>', '<pad>']);
  return base({ type: 'WordPiece', unk_token: '<unk>', continuing_subword_prefix: '##', max_input_chars_per_word: 12, vocab }, extra);
}

function splits() {
  return charModel({
    added_tokens: [added('<unk>', 0), added('<pad>', 1)],
    normalizer: { type: 'Strip', strip_left: true, strip_right: true },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '\\s+' }, behavior: 'Removed', invert: false },
        { type: 'Split', pattern: { String: '-' }, behavior: 'Isolated', invert: false },
        { type: 'Split', pattern: { Regex: '(?i:ab|cd)|\\d{1,2}+' }, behavior: 'MergedWithNext', invert: false },
        { type: 'Digits', individual_digits: true },
        { type: 'Punctuation', behavior: 'Isolated' },
      ],
    },
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'WordPiece', prefix: '##', cleanup: false }, { type: 'Replace', pattern: { String: '#' }, content: '%' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 2, stop: 1 }],
    },
  });
}

function inverted() {
  return charModel({
    added_tokens: [added('<unk>', 0), added('<pad>', 1)],
    normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '>' }, { type: 'Replace', pattern: { String: 'a' }, content: 'A' }] },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: '[\\p{L}\\p{M}]+|\\p{N}+|[^\\s\\p{L}\\p{N}]+' }, behavior: 'Removed', invert: true },
        { type: 'Digits', individual_digits: false },
        { type: 'Replace', pattern: { String: 'e' }, content: 'E' },
      ],
    },
    decoder: { type: 'CTC', pad_token: '<pad>', word_delimiter_token: '|', cleanup: true },
  });
}

function addedTokens() {
  const vocab = {};
  let id = 0;
  const bytes = [];
  for (let b = 33; b <= 126; ++b) bytes.push(String.fromCharCode(b));
  for (let b = 161; b <= 172; ++b) bytes.push(String.fromCharCode(b));
  for (let b = 174; b <= 255; ++b) bytes.push(String.fromCharCode(b));
  for (let n = 0; n < 68; ++n) bytes.push(String.fromCharCode(256 + n));
  for (const c of bytes) if (!(c in vocab)) vocab[c] = id++;
  const merges = [['Ġ', 't'], ['h', 'e'], ['Ġt', 'he'], ['l', 'l'], ['e', 'll'], ['h', 'ell'], ['hell', 'o'], ['Ġ', 'w'], ['o', 'r'], ['Ġw', 'or'], ['l', 'd'], ['Ġwor', 'ld']];
  for (const [a, b] of merges) vocab[a + b] = id++;
  const n = id;
  return base(
    { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: false, byte_fallback: false, ignore_merges: true, vocab, merges },
    {
      added_tokens: [
        added('<|lstrip|>', n, { lstrip: true }),
        added('<|rstrip|>', n + 1, { rstrip: true }),
        added('<|both|>', n + 2, { lstrip: true, rstrip: true }),
        added('plain', n + 3, { special: false, normalized: true }),
        added('<|norm|>', n + 4, { special: true, normalized: true }),
        added('  ', n + 5, { special: false }),
      ],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Replace', pattern: { Regex: 'Q+' }, content: 'plain' }] },
      pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      post_processor: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: false, use_regex: true },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    },
  );
}

function byteFallback() {
  const vocab = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  let id = 3;
  for (let b = 0; b < 256; ++b) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = id++;
  for (const c of ['▁', ...'abcdefghijklmnopqrstuvwxyz', 'é']) vocab[c] = id++;
  const merges = [['▁', 't'], ['h', 'e'], ['▁t', 'he'], ['▁', 'a']];
  for (const [a, b] of merges) vocab[a + b] = id++;
  return base(
    { type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null, fuse_unk: true, byte_fallback: true, vocab, merges },
    {
      added_tokens: [added('<unk>', 0), added('<s>', 1), added('</s>', 2)],
      normalizer: { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }] },
      post_processor: {
        type: 'TemplateProcessing',
        single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '</s>', type_id: 0 } }],
        pair: [],
        special_tokens: {},
      },
      decoder: { type: 'Sequence', decoders: [{ type: 'Replace', pattern: { String: '▁' }, content: ' ' }, { type: 'ByteFallback' }, { type: 'Fuse' }, { type: 'Strip', content: ' ', start: 1, stop: 0 }] },
    },
  );
}

export const SYNTHETIC = [
  { name: 'bert-wordpiece', tokenizer: bert(), config: { clean_up_tokenization_spaces: true } },
  { name: 'unigram-metaspace', tokenizer: unigram(), config: { eos_token: '</s>' } },
  { name: 'bpe-suffix', tokenizer: bpeSuffix(), config: { clean_up_tokenization_spaces: false } },
  { name: 'splits', tokenizer: splits(), config: { clean_up_tokenization_spaces: false } },
  { name: 'inverted-ctc', tokenizer: inverted(), config: { clean_up_tokenization_spaces: false } },
  { name: 'added-tokens', tokenizer: addedTokens(), config: { clean_up_tokenization_spaces: false, additional_special_tokens: ['plain'] } },
  { name: 'byte-fallback', tokenizer: byteFallback(), config: { clean_up_tokenization_spaces: false, add_bos_token: true } },
];

export const SYNTHETIC_INPUTS = [
  'hello world', 'Hello World!', 'the quick brown fox jumps over the lazy dog.', '  leading and trailing  ', 'tokenizer unable',
  'Café naïve résumé', 'ÉCOLE Über', '你好世界', 'hello 你好 world', 'abc123def4567', 'AB-CD-ab cd 12345', 'x--y', 'a - b',
  'hello, world ! what ?', "don't can't I'm it's we've they're", 'tab\there\nnewline', '', ' ', 'a', 'supercalifragilistic',
  '[CLS] hello [SEP]', 'hi [MASK] there', 'x <|lstrip|> y', 'x <|rstrip|> y', 'x <|both|> y', 'a plain b', 'aQQb', 'p<|norm|>q',
  'a  b', '  ', 'the the the', 'thé thè', '😀 emoji', 'ﬁ ① ｆｕｌｌ', 'e\u0301', 'aa||bb|cc', 'ééé', 'xyz\u00a0w',
];
