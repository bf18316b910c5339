import { WgplayError } from './errors.js';

/**
 * Quotes a string for bash so that it is always one literal word: bare when it is
 * plainly safe, else single quotes with `'` written as `'\''`. A NUL byte cannot be
 * passed to a shell at all.
 */
export function shellQuote(value: string): string {
  if (value.includes('\0')) throw new WgplayError(`cannot pass a NUL byte to the shell: ${JSON.stringify(value)}`);
  if (/^[A-Za-z0-9_./:=@%+,-]+$/.test(value)) return value;
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
