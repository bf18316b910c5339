import { WgplayError } from '../errors.js';
import { FACT_MARKER } from './factScript.js';

/** One `@@wgplay <name> [argument]` section of the fact script's output. */
export interface FactSection {
  name: string;
  /** The marker's argument: a word ("inet") or, for file/sysctl, the decoded JSON string. */
  argument?: string;
  /** Body lines (markers excluded). */
  lines: string[];
  /** Exit status from the section's `@@wgplay rc N` line, when it has one. */
  rc?: number;
}

const MARKER_PREFIX = `${FACT_MARKER} `;

/** Splits the fact script's output into its sections (text before the first marker is ignored). */
export function splitFactSections(output: string): FactSection[] {
  const sections: FactSection[] = [];
  let current: FactSection | undefined;
  const lines = output.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (const raw of lines) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith(MARKER_PREFIX)) {
      current?.lines.push(line);
      continue;
    }
    // Every marker follows a newline the script adds: drop the empty line that leaves.
    if (current && current.lines.at(-1) === '') current.lines.pop();
    const rest = line.slice(MARKER_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const argumentText = space < 0 ? undefined : rest.slice(space + 1);
    if (name === 'rc') {
      if (current) current.rc = Number(argumentText);
      continue;
    }
    let argument = argumentText;
    if (argumentText !== undefined && argumentText.startsWith('"')) {
      try {
        argument = JSON.parse(argumentText) as string;
      } catch {
        throw new WgplayError(`fact output: cannot read the marker line ${JSON.stringify(line)}`);
      }
    }
    current = { name, argument, lines: [] };
    sections.push(current);
  }
  return sections;
}
