import { isMap } from 'yaml';
import { WgplayError, type Problem } from '../errors.js';
import { readInputFile } from '../yamlLimits.js';
import { checkConnectionVar } from './connection.js';
import { shellSplit } from './shellWords.js';
import type { VarsLayer } from './varsFiles.js';
import { kind, YamlFile } from './yamlFile.js';

// -e / --extra-vars, as Ansible takes them, each later one over the earlier:
//   -e 'region=eu count=3'      key=value words (values stay text, as in Ansible)
//   -e @vars.yml                a YAML or JSON file
//   -e '{"mtu": 1420}'          inline YAML or JSON (starts with { or [)

export function parseExtraVars(options: readonly string[]): VarsLayer {
  const layer: VarsLayer = { vars: {}, origins: new Map() };
  const problems: Problem[] = [];
  options.forEach((option, index) => {
    const where = `-e #${index + 1}`;
    const set = (name: string, value: unknown, at: string) => {
      const problem = checkConnectionVar(name, value);
      if (problem) problems.push({ where: at, message: problem });
      layer.vars[name] = value;
      layer.origins.set(name, { where: at });
    };
    if (option.startsWith('@')) {
      const path = option.slice(1);
      let text: ReturnType<typeof readInputFile>;
      try {
        text = readInputFile(path);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        problems.push({ where: `-e ${option}`, message: code === 'ENOENT' ? 'file not found' : `cannot read the file: ${(e as Error).message}` });
        return;
      }
      if (typeof text !== 'string') {
        problems.push({ where: `-e ${option}`, message: text.problem.message });
        return;
      }
      mapping(new YamlFile(path, text), `-e ${option}`, problems, (name, value, position) => {
        set(name, value, position.where);
        layer.origins.set(name, position);
      });
    } else if (/^\s*[[{]/.test(option)) {
      mapping(new YamlFile(where, option), where, problems, (name, value) => set(name, value, where));
    } else {
      let words: string[];
      try {
        words = shellSplit(option, false);
      } catch (e) {
        problems.push({ where, message: `cannot read "${option}": ${(e as Error).message}` });
        return;
      }
      for (const word of words) {
        const eq = word.indexOf('=');
        if (eq <= 0) {
          problems.push({ where, message: `expected key=value, @FILE or JSON, got "${word}"` });
          continue;
        }
        set(word.slice(0, eq), word.slice(eq + 1), where);
      }
    }
  });
  if (problems.length > 0) throw new WgplayError(problems);
  return layer;
}

function mapping(
  file: YamlFile,
  owner: string,
  problems: Problem[],
  each: (name: string, value: unknown, position: { where: string }) => void,
): void {
  const root = file.root;
  if (file.problems.length === 0 && !file.isEmpty(root)) {
    if (!isMap(root)) {
      problems.push({ where: file.where(root), message: `extra variables must be a mapping (name: value), not ${kind(root)}` });
    } else {
      for (const v of file.variables(root, owner)) each(v.name, v.value, v.position);
    }
  }
  problems.push(...file.problems);
}
