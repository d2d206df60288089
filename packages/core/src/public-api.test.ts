import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as internal from './internal.js';
import * as core from './index.js';

/**
 * The values `@fanout/core` exports: its semver-covered API. A name added here
 * is a deliberate, documented addition (TSDoc with an example, docs/API.md);
 * anything else the packages share goes to `@fanout/core/internal`.
 */
const PUBLIC_VALUES = [
  'AGE_BUCKETS',
  'DEFAULT_BATCH_SIZE',
  'DEFAULT_CONCURRENCY',
  'DEFAULT_COPY_WINDOW',
  'DEFAULT_LEASE_MS',
  'DEFAULT_MAX_ATTEMPTS',
  'FanoutError',
  'STALE_TEMP_MS',
  'acknowledge',
  'assertPlainName',
  'backendFor',
  'claim',
  'consume',
  'consumePass',
  'consumerName',
  'defaultOwnerProbe',
  'deleteMessage',
  'deleteMessages',
  'discardRecord',
  'enqueue',
  'fanOut',
  'holdMessage',
  'initSpool',
  'isFanoutError',
  'isValidId',
  'listMessages',
  'newId',
  'openSpool',
  'overrideBackend',
  'processOwner',
  'readSpoolIdentity',
  'recover',
  'release',
  'releaseMessage',
  'releaseStaleClaims',
  'setOwnerEnvironment',
  'showMessage',
  'spoolStatus',
  'tempName',
  'toFanoutError',
];

describe('@fanout/core public API', () => {
  it('exports exactly the deliberate list of values (issue 18: the index had 117, among them performOp and withoutClose)', () => {
    expect(Object.keys(core).sort()).toEqual([...PUBLIC_VALUES].sort());
  });

  it('keeps the machines and codecs in @fanout/core/internal, not in the public entry', () => {
    for (const name of [
      'performOp',
      'withoutClose',
      'encodeClaim',
      'transaction',
      'runMachine',
      'names',
      'encodeMarker',
    ]) {
      expect(internal).toHaveProperty(name);
      expect(core).not.toHaveProperty(name);
    }
  });

  it('gives internal users the very same objects (one FanoutError class, one process owner)', () => {
    for (const name of PUBLIC_VALUES)
      expect((internal as Record<string, unknown>)[name], name).toBe((core as Record<string, unknown>)[name]);
  });
});

describe('@fanout/core public API docs', () => {
  it('documents every export with TSDoc, and every function, class and constant with an @example', () => {
    const entry = fileURLToPath(new URL('./index.ts', import.meta.url));
    const program = ts.createProgram([entry], {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const problems: string[] = [];
    for (const exported of checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(entry)!)!)) {
      const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decl = symbol.declarations![0]!;
      const docs = ts.getJSDocCommentsAndTags(ts.isVariableDeclaration(decl) ? decl.parent.parent : decl);
      if (docs.length === 0) problems.push(`${exported.name}: no TSDoc`);
      const isValue = (symbol.flags & ts.SymbolFlags.Value) !== 0;
      if (isValue && !ts.getJSDocTags(decl).some((tag) => tag.tagName.text === 'example'))
        problems.push(`${exported.name}: no @example`);
    }
    expect(problems).toEqual([]);
  }, 120_000);
});
