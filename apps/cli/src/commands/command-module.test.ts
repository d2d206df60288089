import { PassThrough } from 'node:stream';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { CliContext } from '../cli-context.js';
import { type CommandAction, defineCommand, registerCommand } from './command-module.js';
import { collect, positiveInt } from './option-values.js';

const io = { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough(), env: {} };
const action: CommandAction =
  (fn) =>
  async (...args) => {
    await fn(new CliContext(io, false, undefined), ...args);
  };

function program(): Command {
  return new Command('fanout').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
}

describe('command modules', () => {
  it('become a commander command with their arguments, parsed flags, help paragraph and examples', async () => {
    const seen: unknown[] = [];
    const module = defineCommand({
      name: 'demo',
      description: 'a demo command',
      arguments: [{ spec: '<spool>', description: 'the spool' }],
      options: [
        { flags: '--to <spool>', description: 'repeatable', parse: collect },
        { flags: '--batch <n>', description: 'a number', parse: positiveInt },
        { flags: '--protocol <name>', description: 'one of two', choices: ['staged', 'seed'] },
      ],
      help: 'A paragraph of help.',
      examples: ['fanout demo ./S --to ./A', 'fanout demo ./S --batch 2'],
      handler: async (_ctx: CliContext, spool: string, flags: { to?: string[]; batch?: number; protocol?: string }) => {
        seen.push(spool, flags);
        return 0;
      },
    });
    const p = program();
    const command = registerCommand(p, module, action);
    await p.parseAsync(['demo', './S', '--to', './A', '--to', './B', '--batch', '3', '--protocol', 'seed'], {
      from: 'user',
    });
    expect(seen).toEqual(['./S', { to: ['./A', './B'], batch: 3, protocol: 'seed' }]);

    let help = '';
    command.configureOutput({ writeOut: (s) => (help += s) });
    command.outputHelp();
    expect(help).toContain('a demo command');
    expect(help).toContain('--batch <n>');
    expect(help).toMatch(
      /A paragraph of help\.\n\nExample:\n {2}\$ fanout demo \.\/S --to \.\/A\n {2}\$ fanout demo \.\/S --batch 2\n/,
    );
  });

  it('refuse a flag value their parser rejects, before the handler runs', async () => {
    let ran = false;
    const p = program();
    registerCommand(
      p,
      defineCommand({
        name: 'demo',
        description: 'd',
        options: [{ flags: '--batch <n>', description: 'n', parse: positiveInt }],
        examples: ['fanout demo'],
        handler: async () => ((ran = true), 0),
      }),
      action,
    );
    await expect(p.parseAsync(['demo', '--batch', '0'], { from: 'user' })).rejects.toThrow(/positive whole number/);
    expect(ran).toBe(false);
  });
});
