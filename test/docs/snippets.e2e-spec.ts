/**
 * Every ```ts snippet of README.md and docs/*.md type-checks against the library's sources.
 *
 * Each snippet is written to a file of its own and all are checked by one `tsc --noEmit`, with
 * `nestjs-mqtt-ws` mapped to lib/index.ts. The conventions, for whoever writes a snippet:
 *
 * - A snippet is an ES module. It may leave out the imports of names that `nestjs-mqtt-ws`,
 *   `@nestjs/common`, `@nestjs/core`, `@nestjs/config`, `@nestjs/testing` or `class-validator`
 *   export (and `mqtt`, the MQTT.js default export): they are added. Imports a snippet writes are
 *   compiled as written, so they must be right. Top-level `await` is allowed.
 * - Names of the reader's own app that snippets use without defining them (`DevicesService`,
 *   `Device`, `TelemetryModule`…) are declared as `any` in APP_NAMES below. Add a name there when a
 *   new example needs one; never a name the library or Nest exports.
 * - An HTML comment on the line before the fence says how to read a fragment:
 *   `<!-- snippet: class-body -->`   members of a class (methods, decorated handlers): wrapped in a
 *                                    class whose `this.mqtt` is a `MqttService` (other members: any);
 *   `<!-- snippet: method-body -->`  statements of a method of such a class;
 *   `<!-- snippet: skip -->`         not TypeScript (a signature written as in an API reference).
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

const APP_NAMES = [
  // README.md, docs/security.md, docs/cluster.md
  'ReadingDto', 'Device', 'DevicesService', 'User', 'JwtService', 'DeviceGuard', 'MetricsInterceptor', 'checkHttpRequest', 'parseCookie',
  'HealthIndicatorService', 'HealthCheckService', 'HealthCheck',
  // docs/tutorial.md: excerpts of sample/01-telemetry-dashboard
  'AppModule', 'TelemetryModule', 'DashboardModule', 'DevicesStore', 'DeviceStatus', 'DeviceSimulator', 'topics', 'ALERT_THRESHOLD',
  'willTopicOf', 'port', 'logger', 'reading', 'intervalMs', 'id', 'url', 'TelemetryDto', 'RejectedTelemetryFilter',
  'LedCommandDto', 'COMMAND_TIMEOUT_MS',
  // defined in one snippet, used in a later one of the same page
  'DevicesPolicy',
];

const PACKAGES = ['nestjs-mqtt-ws', '@nestjs/common', '@nestjs/core', '@nestjs/config', '@nestjs/testing', 'class-validator'];
const DEFAULT_IMPORTS = new Map([['mqtt', 'mqtt']]);
const EXTRA_IMPORTS = new Map([['AddressInfo', 'node:net']]);

type Kind = 'module' | 'class-body' | 'method-body' | 'skip';

interface Snippet {
  /** `README.md:42`, the line of the opening fence. */
  where: string;
  file: string;
  firstLine: number;
  kind: Kind;
  code: string;
}

function extractSnippets(): Snippet[] {
  const documents = ['README.md', ...readdirSync(join(repo, 'docs')).filter((name) => name.endsWith('.md')).map((name) => `docs/${name}`)];
  const snippets: Snippet[] = [];
  for (const document of documents) {
    const lines = readFileSync(join(repo, document), 'utf8').split('\n');
    for (let i = 0; i < lines.length; i++) {
      if (!/^```ts\s*$/.test(lines[i])) continue;
      const marker = /^<!--\s*snippet:\s*([\w-]+)\s*-->\s*$/.exec(lines[i - 1] ?? '')?.[1];
      if (marker !== undefined && !['class-body', 'method-body', 'skip'].includes(marker)) {
        throw new Error(`${document}:${i}: unknown snippet marker "${marker}"`);
      }
      const end = lines.findIndex((line, index) => index > i && /^```\s*$/.test(line));
      if (end === -1) throw new Error(`${document}:${i + 1}: the fence is never closed`);
      snippets.push({
        where: `${document}:${i + 1}`,
        file: `${document.replace(/[/.]/g, '_')}_${i + 1}.ts`,
        firstLine: i + 2,
        kind: (marker ?? 'module') as Kind,
        code: lines.slice(i + 1, end).join('\n'),
      });
      i = end;
    }
  }
  return snippets;
}

const snippets = extractSnippets();
const checked = snippets.filter((snippet) => snippet.kind !== 'skip');

const compilerOptions = {
  target: 'ES2022',
  module: 'nodenext',
  moduleResolution: 'nodenext',
  lib: ['ES2022'],
  types: ['node'],
  strict: true,
  experimentalDecorators: true,
  emitDecoratorMetadata: true,
  useDefineForClassFields: false,
  strictPropertyInitialization: false,
  skipLibCheck: true,
  noEmit: true,
  paths: { 'nestjs-mqtt-ws': [join(repo, 'lib/index.ts')], 'nestjs-mqtt-ws/testing': [join(repo, 'lib/testing/index.ts')] },
};

/** The names each package exports (values and types), the first package that exports a name wins. */
function exportedNames(dir: string): Map<string, string> {
  const probe = join(dir, 'probe.ts');
  const parsed = ts.parseJsonConfigFileContent({ compilerOptions, files: [probe] }, ts.sys, dir);
  const program = ts.createProgram({ rootNames: [probe], options: parsed.options });
  const checker = program.getTypeChecker();
  const names = new Map<string, string>();
  for (const statement of program.getSourceFile(probe)!.statements) {
    if (!ts.isImportDeclaration(statement)) continue;
    const specifier = (statement.moduleSpecifier as ts.StringLiteral).text;
    const module = checker.getSymbolAtLocation(statement.moduleSpecifier);
    if (module === undefined) throw new Error(`cannot resolve ${specifier} for the snippets`);
    for (const symbol of checker.getExportsOfModule(module)) {
      if (!names.has(symbol.name) && symbol.name !== 'default') names.set(symbol.name, specifier);
    }
  }
  return names;
}

/** Lines of imports for the names a snippet uses without importing or declaring them. */
function prelude(code: string, exported: Map<string, string>): string[] {
  const declared = new Set<string>();
  for (const [, list] of code.matchAll(/^\s*import\s+(?:type\s+)?([^;]*?)\s+from\s/gm)) {
    for (const name of list.matchAll(/[A-Za-z_$][\w$]*/g)) declared.add(name[0]);
  }
  for (const [, name] of code.matchAll(/\b(?:class|interface|type|enum|function|const|let|var)\s+([A-Za-z_$][\w$]*)/g)) declared.add(name);
  const byModule = new Map<string, Set<string>>();
  const lines: string[] = [];
  for (const [name] of code.matchAll(/[A-Za-z_$][\w$]*/g)) {
    if (declared.has(name)) continue;
    declared.add(name);
    if (DEFAULT_IMPORTS.has(name)) {
      lines.push(`import ${name} from '${DEFAULT_IMPORTS.get(name)}';`);
      continue;
    }
    const module = EXTRA_IMPORTS.get(name) ?? exported.get(name);
    if (module !== undefined) byModule.set(module, (byModule.get(module) ?? new Set()).add(name));
  }
  for (const [module, names] of byModule) lines.push(`import { ${[...names].join(', ')} } from '${module}';`);
  return lines;
}

function source(snippet: Snippet, exported: Map<string, string>): { text: string; offset: number } {
  const head = snippet.kind === 'module' ? [] : ['class Snippet {', '  [member: string]: any;', '  constructor(readonly mqtt: MqttService) {}'];
  if (snippet.kind === 'method-body') head.push('  async method() {');
  const tail = snippet.kind === 'method-body' ? ['  }', '}'] : snippet.kind === 'class-body' ? ['}'] : [];
  const imports = prelude([...head, snippet.code].join('\n'), exported);
  const lines = [`// ${snippet.where}`, ...imports, ...head];
  return { text: [...lines, snippet.code, ...tail, 'export {};', ''].join('\n'), offset: lines.length };
}

let dir: string;
const diagnostics = new Map<string, string[]>();
let otherDiagnostics: string[] = [];

beforeAll(async () => {
  await mkdir(join(repo, 'test/.artifacts'), { recursive: true });
  // Inside the repository, so that the snippets resolve @nestjs/* from its node_modules.
  dir = await mkdtemp(join(repo, 'test/.artifacts/docs-snippets-'));
  await writeFile(join(dir, 'probe.ts'), `${PACKAGES.map((name, i) => `import * as p${i} from '${name}';`).join('\n')}\nexport {};\n`);
  const exported = exportedNames(dir);
  const offsets = new Map<string, number>();
  for (const snippet of checked) {
    const { text, offset } = source(snippet, exported);
    offsets.set(snippet.file, offset);
    await writeFile(join(dir, snippet.file), text);
  }
  await writeFile(join(dir, 'app-names.d.ts'), APP_NAMES.map((name) => `declare const ${name}: any;\ntype ${name} = any;`).join('\n') + '\n');
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({ compilerOptions, files: [join(repo, 'lib/types/qlobber.d.ts'), 'app-names.d.ts', ...checked.map((snippet) => snippet.file)] }, null, 2),
  );
  const output = await promisify(execFile)(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json', '--pretty', 'false'], {
    cwd: dir,
    maxBuffer: 16 << 20,
  }).then(
    ({ stdout }) => stdout,
    (error: { stdout?: string }) => error.stdout ?? String(error),
  );
  for (const line of output.split('\n').filter(Boolean)) {
    const match = /^([^(]+)\((\d+),(\d+)\): (.*)$/.exec(line);
    const snippet = match && checked.find((candidate) => candidate.file === match[1]);
    if (!match || !snippet) {
      otherDiagnostics.push(line);
      continue;
    }
    // Point at the line of the Markdown file.
    const docLine = snippet.firstLine + Number(match[2]) - 1 - offsets.get(snippet.file)!;
    diagnostics.set(snippet.file, [...(diagnostics.get(snippet.file) ?? []), `${snippet.where.split(':')[0]}:${docLine}: ${match[4]}`]);
  }
  otherDiagnostics = otherDiagnostics.filter((line) => !line.startsWith(' '));
}, 120_000);

afterAll(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe('the TypeScript snippets of README.md and docs/', () => {
  it('are found, and most of them are checked whole', () => {
    expect(checked.length).toBeGreaterThan(20);
    expect(snippets.filter((snippet) => snippet.kind === 'skip').length).toBeLessThan(5);
  });

  it('raise no errors outside the snippets themselves', () => {
    expect(otherDiagnostics.map((line) => relative(repo, line))).toEqual([]);
  });

  it.each(checked.map((snippet) => [snippet.where, snippet.kind, snippet] as const))('%s (%s) type-checks', (_where, _kind, snippet) => {
    expect(diagnostics.get(snippet.file) ?? []).toEqual([]);
  });
});
