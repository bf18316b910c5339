/**
 * A problem with the user's input or a host, with the place it came from.
 * `where` is "file:line:col", "host web1", "host web1, task 'x'"... whatever lets the
 * operator find it. Messages never hold secrets.
 */
export interface Problem {
  where: string;
  message: string;
}

export class WgplayError extends Error {
  readonly problems: Problem[];

  constructor(problems: Problem[] | string) {
    const list = typeof problems === 'string' ? [{ where: '', message: problems }] : problems;
    super(list.map(formatProblem).join('\n'));
    this.name = 'WgplayError';
    this.problems = list;
  }
}

export function formatProblem(problem: Problem): string {
  return problem.where ? `${problem.where}: ${problem.message}` : problem.message;
}
