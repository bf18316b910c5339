// What a call refuses its input with, each problem as the CLI prints it
// ("file:line:col: message"); anything else it throws is rethrown, and a call that
// refuses nothing fails the test.
import { formatProblem, WgplayError } from '../../src/errors.js';

export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    if (error instanceof WgplayError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a WgplayError');
}
