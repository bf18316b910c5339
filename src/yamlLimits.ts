// Limits every input file of wgplay has (inventory, playbook, variables files): a 1 KB
// file of nested aliases ("billion laughs") must be refused in milliseconds, with its
// place, not expanded into gigabytes; a huge file is refused before it is parsed, and
// one of too many tokens as soon as the parse gets past the budget.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Composer, Lexer, Parser, YAMLParseError, isScalar, visit, type Document, type DocumentOptions, type LineCounter, type ParseOptions, type SchemaOptions } from 'yaml';
import { WgplayError, type Problem } from './errors.js';

/**
 * The largest input file wgplay reads (256 KiB; a gateway of 1000 customers is about
 * 160 KB). The yaml package reads about 1 KB per millisecond, less for dense flow
 * collections (`[a, b]`, `{ k: v }`), so this bounds what refusing any file costs to a
 * fraction of a second.
 */
export const MAX_INPUT_BYTES = 256 * 1024;

const tooBig = (bytes: number | 'more') =>
  `wgplay reads input files of at most ${MAX_INPUT_BYTES / 1024} KiB and this one is ${bytes === 'more' ? 'larger' : `${Math.ceil(bytes / 1024)} KiB`} ` +
  '(a gateway of 1000 customers is about 160 KB): split it, e.g. into group_vars/ and host_vars/ files';

/**
 * The text of an input file, or a Problem at `path` when it is larger than
 * MAX_INPUT_BYTES: never more than that is read (a pipe or /dev/zero included).
 * Errors reading it (ENOENT...) are thrown as they are, for the caller to word.
 */
export function readInputFile(path: string): string | { problem: Problem } {
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    if (size > MAX_INPUT_BYTES) return { problem: { where: path, message: tooBig(size) } };
    const buffer = Buffer.alloc(MAX_INPUT_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const read = readSync(fd, buffer, length, buffer.length - length, null);
      if (read === 0) break;
      length += read;
    }
    if (length > MAX_INPUT_BYTES) return { problem: { where: path, message: tooBig('more') } };
    return buffer.toString('utf8', 0, length);
  } finally {
    closeSync(fd);
  }
}

/**
 * The most YAML tokens (keys, values, indicators, spaces and line ends: the yaml
 * package's lexemes) one input file may hold. The parse's cost follows its tokens, not
 * its bytes: 256 KiB of small flow mappings are 131 000 tokens and cost the yaml package
 * about 0.7 s, and with a problem in each of their 3 800 tasks the whole `validate` took
 * 1.3 s on a quiet 2-core machine. A gateway of 1000 customers is about 34 000 tokens.
 * At this budget the worst file that is read and checked costs under a second, and one
 * over it is refused at the line where the budget ran out, without parsing the rest.
 */
export const MAX_YAML_TOKENS = 64_000;

/** Thrown from inside the parse when the budget runs out. */
class TokenBudgetSpent extends Error {}

/** The lexer's tokens for the parser, counted: past MAX_YAML_TOKENS the parse ends. */
function* budgetedTokens(parser: Parser, text: string) {
  let count = 0;
  for (const lexeme of new Lexer().lex(text)) {
    if (++count > MAX_YAML_TOKENS) throw new TokenBudgetSpent();
    yield* parser.next(lexeme);
  }
  yield* parser.end();
}

/** parseDocument (yaml's public-api.ts), with its tokens counted. */
function parseBudgeted(text: string, options: ParseOptions & DocumentOptions & SchemaOptions): Document.Parsed {
  options.lineCounter?.addNewLine(0);
  const parser = new Parser(options.lineCounter?.addNewLine);
  let doc: Document.Parsed | undefined;
  for (const next of new Composer(options).compose(budgetedTokens(parser, text), true, text.length)) {
    if (!doc) doc = next;
    else {
      const [start, end] = next.range;
      doc.errors.push(new YAMLParseError([start, end], 'MULTIPLE_DOCS', 'the file holds more than one YAML document (a second "---"); a playbook or inventory is one'));
      break;
    }
  }
  return doc!;
}

/** At most this many alias expansions per anchor (the yaml package's maxAliasCount). */
export const MAX_ALIAS_COUNT = 100;

const TOO_DEEP = 'the YAML is nested too deeply to read (thousands of levels); a playbook or inventory needs a few dozen at most';

/**
 * parseDocument, except that text nested deeper than the yaml parser's recursion can go
 * (a few thousand levels) is refused with a WgplayError at its deepest line rather than
 * a RangeError.
 */
export function parseLimited(text: string, file: string, options: ParseOptions & DocumentOptions & SchemaOptions): Document.Parsed {
  // Text handed over by a library user, or -e '{...}': the limit of a file holds for it too.
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_INPUT_BYTES) throw new WgplayError([{ where: file, message: tooBig(bytes) }]);
  try {
    const doc = parseBudgeted(text, options);
    for (const error of doc.errors) if (error.message.includes('Maximum call stack size exceeded')) error.message = TOO_DEEP;
    return doc;
  } catch (error) {
    if (error instanceof TokenBudgetSpent) {
      const line = options.lineCounter?.lineStarts.length ?? 0;
      throw new WgplayError([
        {
          where: line > 0 ? `${file}:${line}:1` : file,
          message:
            `this file holds more than ${MAX_YAML_TOKENS.toLocaleString('en-US').replace(/,/g, ' ')} YAML tokens (keys, values, punctuation) by this line, and wgplay reads at most that many ` +
            '(a gateway of 1000 customers is about 34 000): split it, e.g. into group_vars/ and host_vars/ files',
        },
      ]);
    }
    if (!(error instanceof RangeError)) throw error;
    let deepest = 0;
    let widest = -1;
    text.split('\n').forEach((line, index) => {
      const indent = line.length - line.trimStart().length;
      if (indent > widest) [widest, deepest] = [indent, index + 1];
    });
    throw new WgplayError([
      { where: `${file}:${deepest}:${widest + 1}`, message: TOO_DEEP },
    ]);
  }
}

/**
 * Everything wrong with a parsed document beyond its syntax, in one walk: duplicate
 * mapping keys (one Set per mapping: the yaml package's own `uniqueKeys` check compares
 * every key with every other, minutes for 20 000 keys; parse with `uniqueKeys: false`),
 * then aliases that would expand past MAX_ALIAS_COUNT, placed at the first alias. The
 * expansion is tried only when the document has an alias: it costs a whole conversion.
 */
export function yamlLimitProblems(doc: Document, lines: LineCounter, file: string, prefix: string): Problem[] {
  const problems: Problem[] = [];
  const place = (offset: number) => {
    const { line, col } = lines.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  let firstAlias: number | undefined;
  visit(doc, {
    Alias(_, node) {
      firstAlias ??= node.range?.[0] ?? 0;
    },
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) problems.push({ where: place(pair.key.range?.[0] ?? 0), message: `${prefix}Map keys must be unique ("${key}" is there twice)` });
        seen.add(key);
      }
    },
  });
  if (problems.length > 0 || firstAlias === undefined) return problems;
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return [];
  } catch (error) {
    if (!(error instanceof ReferenceError)) return [];
    return [
      {
        where: place(firstAlias),
        message: `YAML aliases here expand too often (more than ${MAX_ALIAS_COUNT} copies of one anchor: a "billion laughs"?); write the values out or use variables`,
      },
    ];
  }
}
