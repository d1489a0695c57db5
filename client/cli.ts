/**
 * `sm8qbo` (npx sm8qbo …): the operator's command line (OPS-2). Talks to the admin API for everything about
 * connections and records, to Temporal directly to replay a workflow's history against the code in this
 * checkout, and to the simulators for the demo. Tables for people, `--json` for scripts.
 *
 * This file: the command tree (commander), help and version, exit codes, and how every failure becomes one
 * sentence on stderr. The commands are in client/cli/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerAdminCommands } from './cli/admin';
import { registerBudgetCommand } from './cli/budget';
import { CliError, createContext, ExitCode, type CliIo } from './cli/context';
import { registerDemoCommands } from './cli/demo';
import { registerOnboardingCommands } from './cli/onboarding';
import { registerReplayCommand } from './cli/replay';
import { registerShowCommand } from './cli/show';
import { registerStuckCommands } from './cli/stuck';

export type { CliIo } from './cli/context';
export { ExitCode } from './cli/context';
export { followOnboarding } from './cli/onboarding';
export { table } from './cli/output';

const ROOT_HELP = `
Exit codes:
  0  done
  1  failed: the API or Temporal is unreachable, the API refused, a replay is not deterministic, a wait timed out
  2  usage: unknown command or option, missing argument, or a value the API refused (HTTP 400)
  3  not found: no such connection, job, inbox event or workflow (HTTP 404)
  4  no admin token, or the API refused it (HTTP 401/403)

The admin token is read from $ADMIN_TOKEN, else DATA_DIR/admin.token (written by npm start / npm run api);
never from the command line, where other users could see it. \`sm8qbo help <command>\` shows a command's
options and examples.
`;

/** The version in package.json (next to the sources, or two folders up from dist/client/). */
function version(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    const file = path.join(dir, 'package.json');
    if (fs.existsSync(file)) {
      const pkg = JSON.parse(fs.readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'sm8-qbo-sync') return pkg.version ?? 'unknown';
    }
    if (path.dirname(dir) === dir) return 'unknown';
  }
}

function buildProgram(out: (s: string) => void, err: (s: string) => void, io: CliIo) {
  const program = new Command('sm8qbo');
  // Settings first: subcommands copy them when they are created.
  program
    .exitOverride()
    .configureOutput({
      writeOut: (s) => out(s.replace(/\n$/, '')),
      writeErr: (s) => err(s.replace(/\n$/, '')),
      outputError: () => {}, // runCli prints the error itself, as one sentence
      getOutHelpWidth: () => io.columns ?? 100,
      getErrHelpWidth: () => io.columns ?? 100,
    })
    .configureHelp({ showGlobalOptions: true })
    .description('operate the ServiceM8 ⇄ QuickBooks Online sync')
    .version(version(), '-v, --version', 'print the version')
    .helpOption('-h, --help', 'show help for the command')
    .helpCommand('help [command]', 'show help for a command (`sm8qbo help demo approve`)')
    .option('--url <url>', 'the sync API (default http://127.0.0.1:$PORT)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', ROOT_HELP);
  const ctx = createContext(out, io, () => program.opts<{ url?: string; json?: boolean }>());
  registerAdminCommands(program, ctx);
  registerShowCommand(program, ctx);
  registerBudgetCommand(program, ctx);
  registerOnboardingCommands(program, ctx);
  registerStuckCommands(program, ctx);
  registerReplayCommand(program, ctx);
  registerDemoCommands(program, ctx);
  return { program, ctx };
}

/** `sm8qbo help demo jobs` is `sm8qbo demo jobs --help` (commander's help command takes one name). */
function helpToFlag(argv: string[]): string[] {
  const at = argv.findIndex((a, i) => !a.startsWith('-') && argv[i - 1] !== '--url');
  if (at < 0 || argv[at] !== 'help' || at === argv.length - 1) return argv;
  return [...argv.slice(0, at), ...argv.slice(at + 1), '--help'];
}

/** The command a command line names ("demo approve"), for the "see sm8qbo help …" hint of a usage error. */
function commandPath(program: Command, argv: string[]): string[] {
  const names: string[] = [];
  let cmd = program;
  for (const a of argv) {
    const sub = cmd.commands.find((c) => c.name() === a);
    if (!sub) continue;
    names.push(a);
    cmd = sub;
  }
  return names;
}

/** commander's message as one sentence: "unknown option --conection; did you mean --connection?". */
function usageSentence(e: CommanderError, where: string[]): string {
  let message = e.message.replace(/^error: /, '').replace(/\n\(Did you mean (.+)\?\)$/, '; did you mean $1?');
  if (e.code === 'commander.unknownOption' || e.code === 'commander.unknownCommand')
    message = message.replace(/'([^']+)'/, '$1');
  return `${message} (see \`sm8qbo help${where.length ? ` ${where.join(' ')}` : ''}\`)`;
}

/**
 * Runs one command line; resolves to its exit code and never throws: a failure is one sentence on
 * `io.err` (default stderr).
 */
export async function runCli(argv: string[], out: (s: string) => void, io: CliIo = {}): Promise<number> {
  const err = io.err ?? ((s: string) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`));
  if (argv.some((a) => a === '--token' || a.startsWith('--token='))) {
    err(
      'error: --token is not accepted (a token on the command line is visible to other users in `ps`): set ADMIN_TOKEN, or let the CLI read DATA_DIR/admin.token',
    );
    return ExitCode.usage;
  }
  const { program, ctx } = buildProgram(out, err, io);
  const args = helpToFlag(argv);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return ExitCode.ok; // help or version, already written
      if (e.code === 'commander.help') return ExitCode.usage; // no command given: the help went to stderr
      err(`error: ${usageSentence(e, commandPath(program, args))}`);
      return ExitCode.usage;
    }
    if (e instanceof CliError) {
      err(`error: ${e.message}`);
      return e.exitCode;
    }
    err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return ExitCode.failure;
  }
}

/** Runs the CLI on process.argv and exits with its code (the `sm8qbo` bin calls this). */
export function runFromProcess(): void {
  void runCli(process.argv.slice(2), (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`), {
    tty: process.stdout.isTTY === true,
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
    write: (s) => process.stdout.write(s),
  }).then((code) => process.exit(code));
}

if (require.main === module) runFromProcess();
