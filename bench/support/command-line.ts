/**
 * `--<name> <value>` from the bench's command line as a positive whole number, `fallback` when
 * absent; anything else stops the bench with a message naming the flag.
 */
export function positiveIntegerArgument(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} must be a positive integer`);
  return value;
}
