/**
 * A small Markdown renderer for the evaluation reports eval/ writes: headings, paragraphs, bullet lists, pipe tables,
 * images, inline code, bold and links. Builds DOM nodes (never innerHTML), so report text cannot inject markup.
 */

/** Render `md` into DOM nodes; `resolve` maps a relative image/link target to a URL (or null to drop it). */
export function renderMarkdown(md: string, resolve: (target: string) => string | null): DocumentFragment {
  const out = document.createDocumentFragment();
  const lines = md.replace(/\r\n/g, '\n').split('\n');
  let i = 0;
  const para: string[] = [];
  const flush = () => {
    if (para.length) {
      const p = document.createElement('p');
      inline(p, para.join(' '), resolve);
      out.append(p);
      para.length = 0;
    }
  };
  while (i < lines.length) {
    const line = lines[i];
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      flush();
      const el = document.createElement(`h${Math.min(6, h[1].length + 1)}`);
      inline(el, h[2], resolve);
      out.append(el);
      i++;
    } else if (/^\s*\|/.test(line)) {
      flush();
      const rows: string[][] = [];
      while (i < lines.length && /^\s*\|/.test(lines[i])) {
        const cells = lines[i].trim().replace(/^\|/, '').replace(/\|$/, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
        if (!cells.every((c) => /^:?-{2,}:?$/.test(c))) rows.push(cells);
        i++;
      }
      const table = document.createElement('table');
      rows.forEach((r, ri) => {
        const tr = document.createElement('tr');
        for (const c of r) {
          const td = document.createElement(ri === 0 ? 'th' : 'td');
          inline(td, c, resolve);
          tr.append(td);
        }
        table.append(tr);
      });
      const wrap = document.createElement('div');
      wrap.className = 'table-wrap';
      wrap.append(table);
      out.append(wrap);
    } else if (/^\s*[-*]\s+/.test(line)) {
      flush();
      const ul = document.createElement('ul');
      while (i < lines.length && /^\s*[-*]\s+/.test(lines[i])) {
        const li = document.createElement('li');
        inline(li, lines[i].replace(/^\s*[-*]\s+/, ''), resolve);
        ul.append(li);
        i++;
      }
      out.append(ul);
    } else if (line.trim() === '') {
      flush();
      i++;
    } else {
      para.push(line.trim());
      i++;
    }
  }
  flush();
  return out;
}

/** Inline markup: images, links, `code`, **bold**. */
function inline(parent: HTMLElement, text: string, resolve: (t: string) => string | null): void {
  const re = /!\[([^\]]*)\]\(([^)\s]+)\)|\[([^\]]+)\]\(([^)\s]+)\)|`([^`]+)`|\*\*([^*]+)\*\*/g;
  let last = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m.index > last) parent.append(text.slice(last, m.index));
    if (m[2] !== undefined) {
      const src = resolve(m[2]);
      if (src) {
        const img = document.createElement('img');
        img.src = src;
        img.alt = m[1];
        parent.append(img);
      }
    } else if (m[4] !== undefined) {
      const href = /^https?:\/\//.test(m[4]) ? m[4] : resolve(m[4]);
      if (href) {
        const a = document.createElement('a');
        a.href = href;
        a.textContent = m[3];
        parent.append(a);
      } else parent.append(m[3]);
    } else if (m[5] !== undefined) {
      const c = document.createElement('code');
      c.textContent = m[5];
      parent.append(c);
    } else if (m[6] !== undefined) {
      const b = document.createElement('strong');
      b.textContent = m[6];
      parent.append(b);
    }
    last = re.lastIndex;
  }
  if (last < text.length) parent.append(text.slice(last));
}
