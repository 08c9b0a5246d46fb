// Column alignment with the algorithm of Go's text/tabwriter (flags 0, padchar ' '), which the
// docker CLI uses for every table: minwidth 10, tabwidth 1, padding 3. Cells end at a tab; the
// text after the last tab of a line is not part of any column and is never padded.

export interface TabOptions {
  minwidth?: number;
  padding?: number;
}

function runeWidth(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

export function tabwrite(text: string, opts: TabOptions = {}): string {
  const minwidth = opts.minwidth ?? 10;
  const padding = opts.padding ?? 3;
  const endsWithNl = text.endsWith('\n');
  const lines = (endsWithNl ? text.slice(0, -1) : text).split('\n').map((l) => l.split('\t'));
  const widths: number[] = [];
  const out: string[] = [];

  const writeLines = (line0: number, line1: number) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i]!;
      let s = '';
      for (let j = 0; j < cells.length; j++) {
        const c = cells[j]!;
        if (j < widths.length && j < cells.length - 1) s += c + ' '.repeat(Math.max(0, widths[j]! - runeWidth(c)));
        else s += c;
      }
      out.push(s);
    }
  };

  const format = (line0: number, line1: number) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t]!.length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let width = minwidth;
      for (; t < line1; t++) {
        const cells = lines[t]!;
        if (column >= cells.length - 1) break;
        width = Math.max(width, runeWidth(cells[column]!) + padding);
      }
      widths.push(width);
      format(line0, t);
      widths.pop();
      line0 = t;
      t--; // the outer loop's t++ must look at line t again
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out.join('\n') + (endsWithNl ? '\n' : '');
}
