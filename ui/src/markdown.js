// Markdown from the agents (or a language model) rendered safely: marked
// turns it into HTML with every raw HTML block or tag escaped to text, then
// DOMPurify keeps only an allow-list of plain formatting elements, and the
// result is inserted as a DOM fragment. No HTML from a model or the data
// ever reaches the page as markup.

import { Marked } from './vendor/marked.esm.js';
import DOMPurify from './vendor/purify.es.mjs';

const escape = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const marked = new Marked({
  gfm: true,
  async: false,
  renderer: {
    // Raw HTML in the Markdown is shown as text, never interpreted.
    html({ text }) {
      return escape(text);
    },
    // No images: nothing is loaded from anywhere because of an answer.
    image({ text }) {
      return escape(text || '');
    },
  },
});

const ALLOWED_TAGS = [
  'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'del', 'code', 'pre',
  'blockquote', 'ul', 'ol', 'li', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'a',
];

/** A fragment with `markdown` rendered and sanitised. */
export function renderMarkdown(markdown) {
  const html = marked.parse(String(markdown ?? ''));
  const fragment = DOMPurify.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR: ['href', 'title', 'align'],
    ALLOWED_URI_REGEXP: /^(?:https?:|mailto:)/i,
    RETURN_DOM_FRAGMENT: true,
  });
  for (const a of fragment.querySelectorAll('a')) {
    a.setAttribute('rel', 'noopener noreferrer nofollow');
    a.setAttribute('target', '_blank');
  }
  for (const table of fragment.querySelectorAll('table')) {
    const wrap = document.createElement('div');
    wrap.className = 'table-scroll';
    table.replaceWith(wrap);
    wrap.append(table);
  }
  return fragment;
}
