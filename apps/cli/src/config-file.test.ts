import { describe, expect, it } from 'vitest';
import { parseConfig } from './config-file.js';

const parse = (text: string, env: NodeJS.ProcessEnv = {}) => parseConfig(text, 'f.yaml', '/etc/fanout/f.yaml', env);
const errorOf = (text: string): { code: string; spool: string; message: string } => {
  try {
    parse(text);
  } catch (err) {
    return err as { code: string; spool: string; message: string };
  }
  throw new Error('expected an error');
};

describe('config file', () => {
  it('reads named spools and routes, resolving paths against the file and naming destinations', () => {
    const c = parse(
      `
spools:
  in: spool/in
  a: file:///srv/a
  b: { url: webdav+https://dav.example/b, username: u, passwordEnv: PW }
routes:
  - name: main
    from: in
    to: [a, { spool: b, transform: t.mjs }]
    batch: 4
`,
      { PW: 'pw' },
    );
    expect(c.spools.get('in')?.location).toBe('/etc/fanout/spool/in');
    expect(c.spools.get('a')?.location).toBe('file:///srv/a');
    expect(c.spools.get('b')?.credentials).toEqual({ username: 'u', password: 'pw' });
    expect(c.routes).toEqual([
      {
        name: 'main',
        from: 'in',
        to: [
          { spool: 'a', transform: undefined },
          { spool: 'b', transform: '/etc/fanout/t.mjs' },
        ],
        protocol: undefined,
        batch: 4,
        concurrency: undefined,
      },
    ]);
  });

  it('accepts JSON', () => {
    expect(parse('{"spools": {"in": "/x"}, "routes": [{"from": "in", "to": "in"}]}').routes[0]?.to).toEqual([
      { spool: 'in', transform: undefined },
    ]);
  });

  it('points a syntax error at its line', () => {
    expect(errorOf('spools:\n  in: /x\n  a: [1\n')).toMatchObject({
      code: 'EUSAGE',
      spool: expect.stringMatching(/^f\.yaml:4:/),
    });
  });

  it('points a wrong value at its line and column, naming the key', () => {
    const e = errorOf('spools:\n  in: /x\nroutes:\n  - from: in\n    to: in\n    batch: 0\n');
    expect(e.spool).toBe('f.yaml:6:12');
    expect(e.message).toContain('routes.0.batch');
  });

  it('points an unknown key at the key itself', () => {
    const e = errorOf('spools:\n  in: /x\nroutes:\n  - from: in\n    to: in\n    colour: red\n');
    expect(e.spool).toBe('f.yaml:6:5');
    expect(e.message).toContain('unknown key "colour"');
  });

  it('points a route naming an undefined spool at that name', () => {
    const e = errorOf('spools:\n  in: /x\nroutes:\n  - from: in\n    to: [in, nowhere]\n');
    expect(e.spool).toBe('f.yaml:5:14');
    expect(e.message).toContain('no spool named "nowhere"');
  });

  it('refuses an unknown URL scheme and credentials inside a URL', () => {
    expect(errorOf('spools:\n  x: ftp://h/x\n').spool).toBe('f.yaml:2:6');
    expect(errorOf('spools:\n  x: webdav+https://u:p@h/x\n').message).toContain('username');
  });

  it('reports a password variable that is not set', () => {
    expect(errorOf('spools:\n  x: { url: webdav+https://h/x, passwordEnv: NOPE }\n').message).toContain(
      'NOPE is not set',
    );
  });
});
