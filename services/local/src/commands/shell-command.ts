/**
 * What `tapfleet run -c CMD` does with CMD. A simple command (words, quotes, redirections,
 * expansions) is exec'd by /bin/sh in place, so the traced pid is the command's own, as
 * bpftrace's -c does. A command with shell syntax that makes more than one process (a list,
 * a pipeline, a background job, a compound command) runs under /bin/sh -c as typed, and the
 * run traces the shell and every process it starts (see run-cgroup.ts).
 */
export type ShellPlan = { kind: 'exec'; argv: string[] } | { kind: 'shell'; argv: string[]; syntax: string };

const RESERVED = new Set(['if', 'for', 'while', 'until', 'case', 'select', 'function', '{', '!', '[[', '((']);

/** The first shell operator or compound keyword outside quotes, or undefined for a simple command. */
export function shellSyntax(cmd: string): string | undefined {
  let word = '';
  let firstWord = true;
  const endWord = () => {
    if (word && firstWord && RESERVED.has(word)) return word;
    if (word) firstWord = false;
    word = '';
    return undefined;
  };
  for (let i = 0; i < cmd.length; i++) {
    const c = cmd[i]!;
    if (c === '\\') {
      word += cmd.slice(i, i + 2);
      i++;
    } else if (c === "'") {
      const end = cmd.indexOf("'", i + 1);
      if (end < 0) return "an unterminated '";
      word += cmd.slice(i, end + 1);
      i = end;
    } else if (c === '"') {
      let j = i + 1;
      while (j < cmd.length && cmd[j] !== '"') j += cmd[j] === '\\' ? 2 : 1;
      if (j >= cmd.length) return 'an unterminated "';
      word += cmd.slice(i, j + 1);
      i = j;
    } else if (c === '$' && cmd[i + 1] === '(') {
      // $( ... ) is an expansion inside a word, not a subshell the user runs: skip to its match.
      let depth = 0;
      let j = i + 1;
      for (; j < cmd.length; j++) {
        if (cmd[j] === '(') depth++;
        else if (cmd[j] === ')' && --depth === 0) break;
      }
      word += cmd.slice(i, j + 1);
      i = j;
    } else if (c === '#' && !word) {
      // A comment runs to the end of its line; what follows a newline is another command.
      const nl = cmd.indexOf('\n', i);
      if (nl < 0) break;
      i = nl - 1;
    } else if (c === ';' || c === '&' || c === '|' || c === '\n' || c === '(' || c === ')') {
      const reserved = endWord();
      if (reserved) return reserved;
      // `>&2` and `2>&1` are redirections, not background jobs.
      if (c === '&' && (cmd[i - 1] === '>' || cmd[i - 1] === '<')) continue;
      return c === '\n' ? 'a newline' : c === '&' && cmd[i + 1] === '&' ? '&&' : c === '|' && cmd[i + 1] === '|' ? '||' : c;
    } else if (c === ' ' || c === '\t') {
      const reserved = endWord();
      if (reserved) return reserved;
    } else {
      word += c;
    }
  }
  return endWord();
}

/** Leading `NAME=value` words of a simple command (values may be quoted). */
const ASSIGNMENTS = /^(?:\s*[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|"(?:[^"\\]|\\.)*"|\\.|[^\s'"\\])*)+\s*/;

/** POSIX builtins that are not programs: `exec cd` would fail, so these run in the shell itself. */
const BUILTINS = new Set(['cd', 'exit', 'export', 'unset', 'set', 'shift', 'source', '.', 'eval', 'read', 'readonly', 'return', 'trap', 'umask', 'wait', 'alias', 'unalias', 'ulimit', 'times', 'break', 'continue', ':']);

export function planShellCommand(cmd: string): ShellPlan {
  const syntax = shellSyntax(cmd);
  if (syntax !== undefined) return { kind: 'shell', argv: ['/bin/sh', '-c', cmd], syntax };
  // exec keeps the traced pid the command's own (a forking shell would not). Assignments go
  // before `exec` (`A=1 exec prog` exports A to prog; `exec A=1 prog` looks for a program "A=1").
  const assignments = ASSIGNMENTS.exec(cmd)?.[0] ?? '';
  const rest = cmd.slice(assignments.length).trim();
  const first = rest.split(/\s+/, 1)[0] ?? '';
  if (!rest || BUILTINS.has(first)) return { kind: 'shell', argv: ['/bin/sh', '-c', cmd], syntax: rest ? `the shell builtin ${first}` : 'assignments only' };
  return { kind: 'exec', argv: ['/bin/sh', '-c', `${assignments}exec ${rest}`] };
}
