/**
 * What every command needs: where to write, whether to be verbose, the config
 * file if one was given, and how to turn a spool argument (a configured name
 * or a location) into an open backend.
 */
import type { Readable, Writable } from 'node:stream';
import { FanoutError, type SpoolBackend, type SpoolOpener } from '@fanout/core';
import type { FanoutConfig } from './config-file.js';
import { type JsonLevel, withEnvelope } from './output/json-lines.js';
import { assertNoCredentialsOnArgv, type Credentials, credentialsFromEnv, openSpool } from './spool-url.js';

/** The process's streams and environment, injectable for tests. */
export interface CliIo {
  readonly stdin: Readable;
  readonly stdout: Writable;
  readonly stderr: Writable & { isTTY?: boolean; columns?: number };
  readonly env: NodeJS.ProcessEnv;
}

/** A spool argument resolved to where it is and how to log in. */
export interface ResolvedSpool {
  readonly location: string;
  readonly credentials: Credentials | undefined;
}

/** The context a command runs in. */
export class CliContext {
  constructor(
    readonly io: CliIo,
    readonly verbose: boolean,
    readonly config: FanoutConfig | undefined,
    /** The command prints JSON lines (`--json`): errors are printed as JSON on stdout too. */
    readonly jsonOutput = false,
  ) {}

  /** The same context with another config (a reloaded `--config` file). */
  withConfig(config: FanoutConfig): CliContext {
    return new CliContext(this.io, this.verbose, config, this.jsonOutput);
  }

  /**
   * A spool argument: the name of a spool in the config file, or a location.
   * A location typed on the command line may not carry credentials.
   */
  resolve(ref: string): ResolvedSpool {
    const named = this.config?.spools.get(ref);
    if (named) return { location: named.location, credentials: named.credentials ?? credentialsFromEnv(this.io.env) };
    assertNoCredentialsOnArgv(ref);
    return { location: ref, credentials: this.credentialsFor(ref) };
  }

  /** Open the spool an argument names. */
  async open(ref: string): Promise<SpoolBackend> {
    const { location, credentials } = this.resolve(ref);
    return openSpool(location, { credentials });
  }

  /**
   * Opens the spools markers name (by the location recorded in them), with the
   * credentials of the configured spool at that location, else the environment's.
   */
  readonly opener: SpoolOpener = async (location) =>
    openSpool(location, { credentials: this.credentialsFor(location) });

  private credentialsFor(location: string): Credentials | undefined {
    for (const s of this.config?.spools.values() ?? []) {
      if (s.location === location && s.credentials) return s.credentials;
    }
    return credentialsFromEnv(this.io.env);
  }

  /** Write a line to stderr, prefixed like every message of the command. */
  note(line: string): void {
    this.io.stderr.write(`fanout: ${line}\n`);
  }

  /**
   * Print an error in one line (spool, file, cause), with its stack and causes
   * under `--verbose`; under `--json` also as a JSON line on stdout
   * (`type: "error"`, `level`: `fatal` for an error that ends the command).
   */
  reportError(err: unknown, level: Extract<JsonLevel, 'error' | 'fatal'> = 'error'): void {
    this.io.stderr.write(this.formatError(err));
    if (this.jsonOutput)
      this.json({
        type: 'error',
        level,
        error:
          err instanceof FanoutError
            ? err
            : { code: 'EINTERNAL', message: err instanceof Error ? err.message : String(err) },
      });
  }

  /** The text {@link CliContext.reportError} prints, ending in a newline. */
  formatError(err: unknown): string {
    const what =
      err instanceof FanoutError
        ? err.oneLine()
        : `internal error: ${err instanceof Error ? err.message : String(err)}`;
    let text = `fanout: ${what}\n`;
    if (!this.verbose) return text;
    let e: unknown = err;
    for (let depth = 0; e !== undefined && depth < 8; depth++) {
      text += `${depth === 0 ? '' : 'caused by: '}${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`;
      e = e instanceof Error ? e.cause : undefined;
    }
    return text;
  }

  /** Write one JSON object as a line on stdout, with `ts` and `level` first. */
  json(value: unknown): void {
    this.io.stdout.write(`${JSON.stringify(withEnvelope(value), jsonReplacer)}\n`);
  }
}

/** Errors become `{code, message, spool, file}` in JSON output; never a stack. */
export function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof FanoutError)
    return { code: value.code, message: value.message, spool: value.spool, file: value.file };
  if (value instanceof Error) return { message: value.message };
  return value;
}
