// How Ansible's INI inventory reads a value: Python's ast.literal_eval, and the text
// itself when that fails. So `3` is a number, `True` a boolean, `[1, 2]` a list,
// `'a b'` a string, and `yes`, `eth0` or `a b` stay the text written. Python
// comments (`# ...`) end a literal, as they do for literal_eval.

class NotALiteral extends Error {}

/** literal_eval(text) if it is a Python literal, else the text (Ansible's _parse_value). */
export function pythonValue(text: string): unknown {
  try {
    const reader = new Reader(text);
    const value = reader.expression();
    reader.end();
    return value;
  } catch (e) {
    if (e instanceof NotALiteral) return text;
    throw e;
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', '\\': '\\', "'": "'", '"': '"', '\n': '' };

class Reader {
  private i = 0;
  private depth = 0;

  constructor(private readonly text: string) {
    // literal_eval refuses leading whitespace (an indentation error).
    if (/^[ \t]/.test(text)) throw new NotALiteral();
  }

  private skip(): void {
    for (;;) {
      while (this.i < this.text.length && /[ \t\r\n]/.test(this.text[this.i]!)) this.i++;
      if (this.text[this.i] !== '#') return;
      while (this.i < this.text.length && this.text[this.i] !== '\n') this.i++;
    }
  }

  end(): void {
    this.skip();
    if (this.i !== this.text.length) throw new NotALiteral();
  }

  expression(): unknown {
    this.skip();
    const c = this.text[this.i];
    if (c === undefined) throw new NotALiteral();
    if (c === '[' || c === '(') return this.sequence(c === '[' ? ']' : ')');
    if (c === '{') return this.mapping();
    if (c === "'" || c === '"' || (/[rRuU]/.test(c) && /['"]/.test(this.text[this.i + 1] ?? ''))) return this.strings();
    const word = /^(?:True|False|None)(?![\w])/.exec(this.text.slice(this.i));
    if (word) {
      this.i += word[0].length;
      return word[0] === 'True' ? true : word[0] === 'False' ? false : null;
    }
    return this.number();
  }

  private number(): number {
    const rest = this.text.slice(this.i);
    const m =
      /^[+-]?(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|(?:\d(?:_?\d)*)?\.?\d(?:_?\d)*(?:[eE][+-]?\d(?:_?\d)*)?\.?)(?![\w.])/.exec(rest);
    if (!m || m[0] === '' || /^[+-]?$/.test(m[0])) throw new NotALiteral();
    const written = m[0].replace(/_/g, '');
    const sign = written.startsWith('-') ? -1 : 1;
    const digits = written.replace(/^[+-]/, '');
    // Python refuses leading zeros in a decimal integer ("0755").
    if (/^0\d/.test(digits) && !/[.eE]/.test(digits)) throw new NotALiteral();
    let value: number;
    if (/^0[xX]/.test(digits)) value = parseInt(digits.slice(2), 16);
    else if (/^0[oO]/.test(digits)) value = parseInt(digits.slice(2), 8);
    else if (/^0[bB]/.test(digits)) value = parseInt(digits.slice(2), 2);
    else value = Number(digits);
    if (Number.isNaN(value)) throw new NotALiteral();
    this.i += m[0].length;
    return sign * value;
  }

  /** Adjacent string literals concatenate, as in Python. */
  private strings(): string {
    let out = '';
    do {
      out += this.string();
      this.skip();
    } while (this.i < this.text.length && (/['"]/.test(this.text[this.i]!) || (/[rRuU]/.test(this.text[this.i]!) && /['"]/.test(this.text[this.i + 1] ?? ''))));
    return out;
  }

  private string(): string {
    let raw = false;
    if (/[rRuU]/.test(this.text[this.i]!)) {
      raw = /[rR]/.test(this.text[this.i]!);
      this.i++;
    }
    const quote = this.text[this.i]!;
    this.i++;
    let out = '';
    for (;;) {
      const c = this.text[this.i];
      if (c === undefined || c === '\n') throw new NotALiteral();
      this.i++;
      if (c === quote) return out;
      if (c === '\\') {
        const next = this.text[this.i];
        if (next === undefined) throw new NotALiteral();
        if (raw) {
          out += c + next;
          this.i++;
        } else if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(this.text.slice(this.i + 1, this.i + 3))) {
          out += String.fromCharCode(parseInt(this.text.slice(this.i + 1, this.i + 3), 16));
          this.i += 3;
        } else if (next === 'u' && /^[0-9a-fA-F]{4}$/.test(this.text.slice(this.i + 1, this.i + 5))) {
          out += String.fromCharCode(parseInt(this.text.slice(this.i + 1, this.i + 5), 16));
          this.i += 5;
        } else {
          out += ESCAPES[next] ?? c + next;
          this.i++;
        }
        continue;
      }
      out += c;
    }
  }

  private enter(): void {
    if (++this.depth > 100) throw new NotALiteral();
  }

  private sequence(close: string): unknown[] {
    this.enter();
    this.i++;
    const items: unknown[] = [];
    for (;;) {
      this.skip();
      if (this.text[this.i] === close) break;
      items.push(this.expression());
      this.skip();
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.text[this.i] !== close) throw new NotALiteral();
    }
    this.i++;
    this.depth--;
    return items;
  }

  private mapping(): Record<string, unknown> | unknown[] {
    this.enter();
    this.i++;
    const out: Record<string, unknown> = {};
    for (;;) {
      this.skip();
      if (this.text[this.i] === '}') break;
      const key = this.expression();
      this.skip();
      if (this.text[this.i] !== ':') throw new NotALiteral(); // a set: not a variable value Ansible can print
      this.i++;
      if (key !== null && typeof key === 'object') throw new NotALiteral();
      // JSON (what Ansible prints) writes the keys True, None and 1 as "true", "null", "1".
      out[String(key)] = this.expression();
      this.skip();
      if (this.text[this.i] === ',') {
        this.i++;
        continue;
      }
      if (this.text[this.i] !== '}') throw new NotALiteral();
    }
    this.i++;
    this.depth--;
    return out;
  }
}
