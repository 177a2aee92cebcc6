// The conversations of the reference-parity test (tests/e2e/parity.test.mjs) and of its golden
// file (tests/e2e/golden/make_parity_golden.mjs): system prompts, multi-turn, unicode, text parts,
// and a ~1,000-token prompt.
const longText = Array.from(
  { length: 25 },
  (_, i) =>
    `Paragraph ${i + 1}: the lighthouse keeper counted ${i * 7 + 3} ships passing the northern cape, ` +
    `logged the wind at ${(i * 13) % 40} knots, and wondered whether the tide tables were still right.`,
).join('\n');

export const CONVERSATIONS = [
  { name: 'single user turn', messages: [{ role: 'user', content: 'Hello! How are you today?' }] },
  {
    name: 'system prompt',
    messages: [
      { role: 'system', content: 'You are a terse assistant. Answer in one sentence.' },
      { role: 'user', content: 'Why is the sky blue?' },
    ],
  },
  {
    name: 'multi-turn',
    messages: [
      { role: 'user', content: 'My name is Ada.' },
      { role: 'assistant', content: 'Nice to meet you, Ada! How can I help?' },
      { role: 'user', content: 'What is my name?' },
    ],
  },
  {
    name: 'system and three exchanges',
    messages: [
      { role: 'system', content: 'You help with arithmetic.' },
      { role: 'user', content: 'What is 2 + 2?' },
      { role: 'assistant', content: '4' },
      { role: 'user', content: 'And times 3?' },
      { role: 'assistant', content: '12' },
      { role: 'user', content: 'Now subtract 5.' },
    ],
  },
  { name: 'unicode', messages: [{ role: 'user', content: 'Grüße aus Köln! 你好，世界 🌍🚀 — ¿qué tal? Ωμέγα, नमस्ते, שלום' }] },
  { name: 'emoji and CJK only', messages: [{ role: 'user', content: '🙂🙃 日本語のテキスト 한국어 텍스트 ✨' }] },
  {
    name: 'text parts',
    messages: [
      {
        role: 'user',
        content: [
          { type: 'text', text: 'Summarize this:' },
          { type: 'text', text: 'Cats sleep a lot.' },
        ],
      },
    ],
  },
  { name: 'whitespace trimmed', messages: [{ role: 'user', content: '   padded question with spaces   \n\n' }] },
  {
    name: 'code block',
    messages: [{ role: 'user', content: 'Fix this:\n```js\nfunction f(a,b){ return a+ b }\nconsole.log(f(1,"2"));\n```\nTabs\there.' }],
  },
  { name: 'long prompt (~1000 tokens)', messages: [{ role: 'user', content: `Read the log and answer.\n${longText}\nHow many paragraphs were there?` }] },
];

export const MAX_TOKENS = 32;
