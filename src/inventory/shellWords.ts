// Shell words the way Ansible splits them (Python's shlex, POSIX mode): INI host
// lines, -e key=value, ansible_ssh_common_args.

/** Shell words as Python's shlex.split(line, comments) makes them; throws on an open quote. */
export function shellSplit(line: string, comments = true): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '#' && comments) break;
    if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error('no closing quotation');
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (c === '"') {
      let s = '';
      for (i++; ; i++) {
        if (i >= line.length) throw new Error('no closing quotation');
        if (line[i] === '"') break;
        if (line[i] === '\\' && (line[i + 1] === '"' || line[i + 1] === '\\')) i++;
        s += line[i];
      }
      word = (word ?? '') + s;
    } else if (c === '\\') {
      if (i + 1 >= line.length) throw new Error('no escaped character');
      word = (word ?? '') + line[++i];
    } else {
      word = (word ?? '') + c;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
