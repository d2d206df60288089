/**
 * The shape of one `fanout` command. Each command is one module under
 * `commands/` that exports a {@link CommandModule}: its name, arguments, flags,
 * help text, examples and handler, all in one place (as pnpm's
 * `CommandDefinition` and changesets' command modules do). `index.ts` only
 * lists the modules; {@link registerCommand} turns each into a commander
 * command, so adding a command is one new file and one entry in that list.
 */
import { type Command, Option } from 'commander';
import type { CliContext } from '../cli-context.js';
import type { ExitStatusCode } from '../exit-status.js';

/** A positional argument, in commander's notation. */
export interface ArgumentSpec {
  /** `<name>` (required), `[name]` (optional), with `...` for several. */
  readonly spec: string;
  readonly description: string;
}

/** A flag, in commander's notation. */
export interface OptionSpec {
  /** E.g. `--batch <n>` or `--watch`. */
  readonly flags: string;
  readonly description: string;
  /** Turns the text into the value; throw commander's `InvalidArgumentError` to refuse it (see `option-values.ts`). */
  parse?(value: string, previous: unknown): unknown;
  /** The only values accepted. */
  readonly choices?: readonly string[];
}

/**
 * One command. `handler` receives the context and what commander parsed: the
 * positional arguments in order (a variadic one as an array), then the flags
 * object; it returns the exit status and reports its own errors, or throws a
 * `FanoutError` for the action wrapper to report and map to a status.
 */
export interface CommandModule<A extends unknown[] = unknown[]> {
  readonly name: string;
  /** One line for `fanout --help` and the top of `fanout <name> --help`. */
  readonly description: string;
  readonly arguments?: readonly ArgumentSpec[];
  readonly options?: readonly OptionSpec[];
  /** A paragraph printed after the flags in `--help`, before the examples. */
  readonly help?: string;
  /** Command lines shown under "Example:" in `--help`; every command has at least one. */
  readonly examples: readonly [string, ...string[]];
  handler(ctx: CliContext, ...args: A): Promise<ExitStatusCode>;
}

/** Wraps a handler into a commander action: builds its context, maps what it throws to an exit status. */
export type CommandAction = (
  handler: (ctx: CliContext, ...args: unknown[]) => Promise<ExitStatusCode>,
) => (...args: unknown[]) => Promise<void>;

/** Declare a command module, typing its handler's arguments. */
export function defineCommand<A extends unknown[]>(module: CommandModule<A>): CommandModule<A> {
  return module;
}

/** The "Example:" block of a help text. */
export function example(lines: readonly string[]): string {
  return `\nExample:\n${lines
    .join('\n')
    .split('\n')
    .map((l) => `  $ ${l}`)
    .join('\n')}\n`;
}

/** Add the command a module describes to `program`, its handler wrapped by `action`. */
export function registerCommand(program: Command, module: CommandModule, action: CommandAction): Command {
  const command = program.command(module.name).description(module.description);
  for (const a of module.arguments ?? []) command.argument(a.spec, a.description);
  for (const o of module.options ?? []) {
    const option = new Option(o.flags, o.description);
    if (o.parse) option.argParser(o.parse);
    if (o.choices) option.choices(o.choices);
    command.addOption(option);
  }
  command.addHelpText('after', `${module.help !== undefined ? `\n${module.help}\n` : ''}${example(module.examples)}`);
  return command.action(action((ctx, ...args) => module.handler(ctx, ...args)));
}
