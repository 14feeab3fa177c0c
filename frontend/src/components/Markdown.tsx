// A small, safe Markdown renderer for step and run outputs: headings, paragraphs, lists,
// quotes, fenced code, inline code, bold, italics and http(s) links. It builds React elements
// only (never innerHTML), so whatever a model writes — <script>, onerror=, javascript: links —
// shows as text and cannot run.
import { memo } from "react";
import type { ReactNode } from "react";

const SAFE_URL = /^(https?:\/\/|mailto:)/i;
const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/;

/** Inline spans of one line of text. */
export function inline(text: string, key = "i"): ReactNode[] {
  const out: ReactNode[] = [];
  let rest = text;
  let n = 0;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) {
      out.push(rest);
      break;
    }
    if (match.index > 0) out.push(rest.slice(0, match.index));
    const token = match[0];
    const k = `${key}-${n++}`;
    if (match[1]) out.push(<code key={k} className="rounded bg-slate-800 px-1">{token.slice(1, -1)}</code>);
    else if (match[2]) out.push(<strong key={k}>{inline(token.slice(2, -2), k)}</strong>);
    else if (match[3]) out.push(<em key={k}>{inline(token.slice(1, -1), k)}</em>);
    else {
      const [, label, url] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token) ?? [];
      out.push(
        SAFE_URL.test(url ?? "") ? (
          <a key={k} href={url} target="_blank" rel="noreferrer noopener" className="text-sky-300 underline">
            {label}
          </a>
        ) : (
          token
        ),
      );
    }
    rest = rest.slice(match.index + token.length);
  }
  return out;
}

type Block =
  | { kind: "heading"; level: number; text: string }
  | { kind: "code"; text: string }
  | { kind: "list"; ordered: boolean; items: string[] }
  | { kind: "quote"; text: string }
  | { kind: "rule" }
  | { kind: "paragraph"; text: string };

/** The blocks of a Markdown text, line by line. */
export function blocks(source: string): Block[] {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (/^\s*(```|~~~)/.test(line)) {
      const fence = line.trim().slice(0, 3);
      const body: string[] = [];
      i += 1;
      while (i < lines.length && !lines[i].trim().startsWith(fence)) body.push(lines[i++]);
      i += 1; // the closing fence (or the end)
      out.push({ kind: "code", text: body.join("\n") });
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.push({ kind: "heading", level: heading[1].length, text: heading[2].replace(/\s*#+\s*$/, "") });
      i += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push({ kind: "rule" });
      i += 1;
      continue;
    }
    const item = /^\s*([-*+]|\d+[.)])\s+/;
    if (item.test(line)) {
      const ordered = /^\s*\d/.test(line);
      const items: string[] = [];
      while (i < lines.length && item.test(lines[i]) && /^\s*\d/.test(lines[i]) === ordered) {
        items.push(lines[i].replace(item, ""));
        i += 1;
        while (i < lines.length && /^\s{2,}\S/.test(lines[i]) && !item.test(lines[i])) {
          items[items.length - 1] += ` ${lines[i].trim()}`;
          i += 1;
        }
      }
      out.push({ kind: "list", ordered, items });
      continue;
    }
    if (/^\s*>/.test(line)) {
      const body: string[] = [];
      while (i < lines.length && /^\s*>/.test(lines[i])) body.push(lines[i++].replace(/^\s*>\s?/, ""));
      out.push({ kind: "quote", text: body.join(" ") });
      continue;
    }
    if (line.trim() === "") {
      i += 1;
      continue;
    }
    const body: string[] = [];
    while (
      i < lines.length &&
      lines[i].trim() !== "" &&
      !/^(#{1,6})\s|^\s*(```|~~~|>)|^\s*([-*+]|\d+[.)])\s+/.test(lines[i])
    )
      body.push(lines[i++]);
    out.push({ kind: "paragraph", text: body.join("\n") });
  }
  return out;
}

const HEADING = ["text-lg", "text-base", "text-sm", "text-sm", "text-sm", "text-sm"];

function withBreaks(text: string, key: string): ReactNode[] {
  return text.split("\n").flatMap((line, n) => (n === 0 ? inline(line, `${key}-${n}`) : [<br key={`${key}-br${n}`} />, ...inline(line, `${key}-${n}`)]));
}

export const Markdown = memo(function Markdown({ text, className = "" }: { text: string; className?: string }) {
  return (
    <div className={`space-y-2 break-words text-sm leading-relaxed text-slate-200 ${className}`} data-testid="markdown">
      {blocks(text).map((block, n) => {
        const key = `b${n}`;
        switch (block.kind) {
          case "heading": {
            const Tag = `h${Math.min(6, block.level + 2)}` as "h3";
            return (
              <Tag key={key} className={`${HEADING[block.level - 1]} font-semibold text-slate-100`}>
                {inline(block.text, key)}
              </Tag>
            );
          }
          case "code":
            return (
              <pre key={key} className="overflow-auto rounded bg-slate-950 p-2 text-xs">
                <code>{block.text}</code>
              </pre>
            );
          case "list": {
            const Tag = block.ordered ? "ol" : "ul";
            return (
              <Tag key={key} className={`${block.ordered ? "list-decimal" : "list-disc"} space-y-0.5 pl-5`}>
                {block.items.map((itemText, m) => (
                  <li key={m}>{inline(itemText, `${key}-${m}`)}</li>
                ))}
              </Tag>
            );
          }
          case "quote":
            return (
              <blockquote key={key} className="border-l-2 border-slate-600 pl-2 text-slate-300">
                {inline(block.text, key)}
              </blockquote>
            );
          case "rule":
            return <hr key={key} className="border-slate-700" />;
          case "paragraph":
            return <p key={key}>{withBreaks(block.text, key)}</p>;
        }
      })}
    </div>
  );
});
