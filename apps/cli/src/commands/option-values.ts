/** Parsers for flag values that several commands share. */
import { InvalidArgumentError } from 'commander';

/** `--batch 8`: a whole number above zero. */
export function positiveInt(value: string): number {
  if (!/^[1-9][0-9]*$/.test(value)) throw new InvalidArgumentError('expected a positive whole number');
  return Number(value);
}

/** A repeatable flag (`--to A --to B`): every value, in order. */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}
