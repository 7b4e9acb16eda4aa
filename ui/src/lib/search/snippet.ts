// A search snippet's matched words come between SNIPPET_MARK_START and SNIPPET_MARK_END (private
// use characters the engine puts in). The snippet is mail text: it is split into plain pieces
// that the UI renders as text ({piece.text} inside <mark> or not), never as HTML.
import { SNIPPET_MARK_END, SNIPPET_MARK_START } from '../backend/types';

export type SnippetPart = { text: string; mark: boolean };

/** Pieces of `snippet`, marked or not; stray or unbalanced marks are dropped, never shown. */
export function snippetParts(snippet: string): SnippetPart[] {
  const parts: SnippetPart[] = [];
  let mark = false;
  let text = '';
  const flush = () => {
    if (text) {
      const last = parts.at(-1);
      if (last && last.mark === mark) last.text += text;
      else parts.push({ text, mark });
    }
    text = '';
  };
  for (const ch of snippet) {
    if (ch === SNIPPET_MARK_START) {
      flush();
      mark = true;
    } else if (ch === SNIPPET_MARK_END) {
      flush();
      mark = false;
    } else text += ch;
  }
  flush();
  return parts;
}

/** The snippet as plain text (for titles and screen readers). */
export function snippetText(snippet: string): string {
  return snippetParts(snippet)
    .map((p) => p.text)
    .join('');
}
