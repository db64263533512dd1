import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatPrintf } from './printf.js';
import { parseFormat } from '@tapfleet/compiler/light';

const ORACLE_C = fileURLToPath(new URL('../../fixtures/printf-oracle.c', import.meta.url));

/** Runs C's printf (glibc, built here with gcc) over "FORMAT\tKIND\tVALUE" lines; one result per line. */
function cPrintf(lines: string[]): Buffer[] {
  const dir = mkdtempSync(join(tmpdir(), 'tf-printf-oracle-'));
  try {
    const bin = join(dir, 'oracle');
    execFileSync('gcc', ['-O1', '-w', '-o', bin, ORACLE_C]);
    const out = execFileSync(bin, { input: `${lines.join('\n')}\n`, maxBuffer: 64 << 20 });
    const results: Buffer[] = [];
    let at = 0;
    while (at < out.length) {
      // \x01 RESULT \x01 \n: the result may hold any byte but \x01\n.
      const end = out.indexOf('\x01\n', at + 1);
      results.push(out.subarray(at + 1, end));
      at = end + 2;
    }
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const FLAGS = ['', '-', '+', ' ', '#', '0', '-0', '+0', '#0', ' -', '+ '];
const WIDTHS = ['', '1', '6', '22'];
const PRECISIONS = ['', '.', '.0', '.3', '.21'];
const INTS = ['0', '1', '-1', '42', '-42', '127', '128', '255', '256', '300', '-300', '65535', '70000', '2147483647', '2147483648', '-2147483649', '5000000000', '9223372036854775807', '-9223372036854775808'];

interface Case { format: string; kind: string; value: string }

function integerCases(): Case[] {
  const cases: Case[] = [];
  for (const conv of ['d', 'i', 'u', 'x', 'X', 'o'])
    for (const len of ['', 'hh', 'h', 'l', 'll', 'j', 'z', 't'])
      for (const flags of FLAGS)
        for (const w of WIDTHS)
          for (const p of PRECISIONS)
            for (const value of INTS) cases.push({ format: `%${flags}${w}${p}${len}${conv}`, kind: 'i', value });
  return cases;
}

test('every integer conversion, length, flag, width and precision formats as C printf does', () => {
  const cases = integerCases();
  const expected = cPrintf(cases.map((c) => `${c.format}\t${c.kind}\t${c.value}`));
  assert.equal(expected.length, cases.length);
  let mismatches = 0;
  cases.forEach((c, i) => {
    const got = formatPrintf(c.format, [BigInt(c.value)]);
    if (!got.equals(expected[i]!) && mismatches++ < 10)
      assert.fail(`${c.format} of ${c.value}: tapfleet ${JSON.stringify(got.toString('latin1'))}, C ${JSON.stringify(expected[i]!.toString('latin1'))}`);
  });
  assert.equal(mismatches, 0);
});

test('%c, %p and %s format as C printf does', () => {
  const cases: Case[] = [];
  for (const flags of FLAGS)
    for (const w of WIDTHS) {
      for (const value of ['65', '97', '48', '321', '-191', '0x7e']) cases.push({ format: `%${flags}${w}c`, kind: 'c', value });
      for (const p of PRECISIONS)
        for (const value of ['0', '1', '0x10', '0x7fffdeadbeef', '-1']) cases.push({ format: `%${flags}${w}${p}p`, kind: 'p', value });
      for (const p of PRECISIONS)
        for (const value of ['', 'a', 'hello world', 'ünïcødé', '%d stays text']) cases.push({ format: `%${flags}${w}${p}s`, kind: 's', value });
    }
  const expected = cPrintf(cases.map((c) => `${c.format}\t${c.kind}\t${c.value}`));
  cases.forEach((c, i) => {
    const arg = c.kind === 's' ? c.value : BigInt.asIntN(64, BigInt(c.value));
    const got = formatPrintf(c.format, [arg]);
    assert.ok(got.equals(expected[i]!), `${c.format} of ${c.value}: tapfleet ${JSON.stringify(got.toString('latin1'))}, C ${JSON.stringify(expected[i]!.toString('latin1'))}`);
  });
});

test('literal text, %% and several conversions in one format', () => {
  assert.equal(formatPrintf('pid %d: %s is %5u%%\n', [42n, 'cat', 99n]).toString(), 'pid 42: cat is    99%\n');
  assert.equal(formatPrintf('100%% %-4s|%04x|\n', ['ab', 255n]).toString(), '100% ab  |00ff|\n');
  assert.equal(formatPrintf('no conversions', []).toString(), 'no conversions');
});

test('formats that are not printf formats are refused with where and why', () => {
  const problems = (f: string) => parseFormat(f).problems.map((p) => `${p.at}+${p.length}: ${p.message}`);
  assert.deepEqual(problems('a %q b'), ["2+2: unknown conversion '%q'"]);
  assert.deepEqual(problems('50%'), ["2+1: the format ends inside the conversion '%'"]);
  assert.deepEqual(problems('%5.2'), ["0+4: the format ends inside the conversion '%5.2'"]);
  assert.deepEqual(problems('%*d'), ["0+2: a width or precision given as '*' is not supported"]);
  assert.deepEqual(problems('%ls'), ["0+3: 'l' does not apply to %s"]);
  assert.deepEqual(problems('%f'), ["0+2: unknown conversion '%f'"]);
  assert.deepEqual(problems('%99999d'), ['0+6: a width or precision is at most 4096']);
  assert.deepEqual(problems('%% %-08.3lld %s %c %p'), []);
  assert.deepEqual(parseFormat('x%%y').pieces, [{ text: 'x%y' }]);
});
