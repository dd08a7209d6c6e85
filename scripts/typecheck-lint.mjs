// `npm run typecheck` and `npm run lint` in one process, for scripts/checks: the TypeScript programs are built and
// checked once, then ESLint's type-aware rules read the same programs (typescript-eslint's `programs` option)
// instead of building and checking them again through its project service. Prints what each would print and one
// verdict line per check; writes {"typecheck":"passed"|"failed","lint":...} to the file named by the first argument.
import { writeFileSync } from 'node:fs';
import ts from 'typescript';
import { ESLint } from 'eslint';

/**
 * The programs `npm run typecheck` checks: the root tsconfig, then the dashboard tests' (DOM types), whose own files
 * only are checked here: src, which they import, is checked in the root program, without the browser's globals.
 */
const CONFIGS = [
  { path: 'tsconfig.json', only: null },
  { path: 'test/dashboard/tsconfig.json', only: 'test/dashboard/' },
];

function program(path) {
  const host = { ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); } };
  const cfg = ts.getParsedCommandLineOfConfigFile(path, undefined, host);
  return ts.createProgram({ rootNames: cfg.fileNames, options: cfg.options, projectReferences: cfg.projectReferences, configFileParsingDiagnostics: cfg.errors });
}

const verdicts = {};
const started = performance.now();
const programs = CONFIGS.map((c) => program(c.path));
const diagnostics = programs.flatMap((p, i) => {
  const only = CONFIGS[i].only;
  if (!only) return [...p.getConfigFileParsingDiagnostics(), ...ts.getPreEmitDiagnostics(p)];
  const own = p.getSourceFiles().filter((f) => f.fileName.includes(`/${only}`));
  return [...p.getConfigFileParsingDiagnostics(), ...p.getOptionsDiagnostics(), ...p.getGlobalDiagnostics(), ...own.flatMap((f) => [...p.getSyntacticDiagnostics(f), ...p.getSemanticDiagnostics(f)])];
});
const seen = new Set();
const unique = diagnostics.filter((d) => {
  const key = `${d.file?.fileName}:${d.start}:${d.code}`;
  return seen.has(key) ? false : (seen.add(key), true);
});
if (unique.length) {
  const fmt = { getCanonicalFileName: (f) => f, getCurrentDirectory: ts.sys.getCurrentDirectory, getNewLine: () => '\n' };
  process.stdout.write(ts.formatDiagnosticsWithColorAndContext(unique, fmt));
}
verdicts.typecheck = unique.length ? 'failed' : 'passed';
console.log(`-- typecheck: ${verdicts.typecheck} (${unique.length} error(s), ${Math.round((performance.now() - started) / 1000)}s)`);

const lintStarted = performance.now();
const eslint = new ESLint({
  overrideConfig: { files: ['**/*.ts'], languageOptions: { parserOptions: { projectService: false, programs } } },
});
const results = await eslint.lintFiles(['.']);
const text = (await eslint.loadFormatter('stylish')).format(results);
if (text) process.stdout.write(text);
const errors = results.reduce((s, r) => s + r.errorCount + r.fatalErrorCount, 0);
const warnings = results.reduce((s, r) => s + r.warningCount, 0);
verdicts.lint = errors === 0 && warnings === 0 ? 'passed' : 'failed'; // --max-warnings 0
console.log(`-- lint: ${verdicts.lint} (${errors} error(s), ${warnings} warning(s), ${Math.round((performance.now() - lintStarted) / 1000)}s)`);

if (process.argv[2]) writeFileSync(process.argv[2], JSON.stringify(verdicts));
process.exitCode = Object.values(verdicts).every((v) => v === 'passed') ? 0 : 1;
