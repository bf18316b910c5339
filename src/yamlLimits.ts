// Limits every YAML load of wgplay applies (inventory, playbook): a 1 KB file of nested
// aliases ("billion laughs") must be refused in milliseconds, with its place, not
// expanded into gigabytes.
import { isAlias, isScalar, visit, type Document, type LineCounter } from 'yaml';
import type { Problem } from './errors.js';

/** At most this many alias expansions per anchor (the yaml package's maxAliasCount). */
export const MAX_ALIAS_COUNT = 100;

/**
 * A problem when the document's aliases would expand past the limit, at the first alias
 * in the file; undefined when the document is safe to expand.
 */
export function aliasExpansionProblem(doc: Document, lines: LineCounter, file: string): Problem | undefined {
  try {
    doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    return undefined;
  } catch (error) {
    if (!(error instanceof ReferenceError)) return undefined;
    let offset = 0;
    visit(doc, {
      Alias(_, node) {
        if (isAlias(node)) offset = node.range?.[0] ?? 0;
        return visit.BREAK;
      },
    });
    const { line, col } = lines.linePos(offset);
    return {
      where: `${file}:${line}:${col}`,
      message: `YAML aliases here expand too often (more than ${MAX_ALIAS_COUNT} copies of one anchor: a "billion laughs"?); write the values out or use variables`,
    };
  }
}

/**
 * Duplicate mapping keys, found with one Set per mapping (the yaml package's own
 * `uniqueKeys` check compares every key with every other: minutes for 20 000 keys).
 * Parse with `uniqueKeys: false` and call this instead.
 */
export function duplicateKeyProblems(doc: Document, lines: LineCounter, file: string, prefix: string): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<string>();
      for (const pair of map.items) {
        if (!isScalar(pair.key)) continue;
        const key = String(pair.key.value);
        if (seen.has(key)) {
          const { line, col } = lines.linePos(pair.key.range?.[0] ?? 0);
          problems.push({ where: `${file}:${line}:${col}`, message: `${prefix}Map keys must be unique ("${key}" is there twice)` });
        }
        seen.add(key);
      }
    },
  });
  return problems;
}
