// Markdown to safe HTML: marked (GFM tables, lists, ...), highlight.js for code, KaTeX for $math$,
// DOMPurify to keep model output from injecting markup. Code blocks get a header with the
// language and a copy button (wired by the page through event delegation).
import { Marked } from 'marked';
import { markedHighlight } from 'marked-highlight';
import markedKatex from 'marked-katex-extension';
import hljs from 'highlight.js/lib/common';
import DOMPurify from 'dompurify';
import 'katex/dist/katex.min.css';

const marked = new Marked(
  markedHighlight({
    emptyLangClass: 'hljs',
    langPrefix: 'hljs language-',
    highlight(code, lang) {
      const language = hljs.getLanguage(lang) ? lang : 'plaintext';
      return hljs.highlight(code, { language, ignoreIllegals: true }).value;
    },
  }),
  markedKatex({ throwOnError: false, nonStandard: true }),
  { gfm: true, breaks: false },
);

const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

export function renderMarkdown(text) {
  const html = DOMPurify.sanitize(marked.parse(text), { ADD_ATTR: ['target'] });
  const tpl = document.createElement('template');
  tpl.innerHTML = html;
  for (const pre of tpl.content.querySelectorAll('pre')) {
    const code = pre.querySelector('code');
    const lang = (code?.className.match(/language-([\w+#-]+)/) || [])[1] || 'text';
    const box = document.createElement('div');
    box.className = 'code';
    box.innerHTML = `<div class="code-head"><span>${escapeHtml(lang)}</span><button type="button" class="copy">Copy</button></div>`;
    pre.replaceWith(box);
    box.append(pre);
  }
  for (const a of tpl.content.querySelectorAll('a[href]')) {
    a.target = '_blank';
    a.rel = 'noopener noreferrer';
  }
  return tpl.content;
}
