// Dockerfile parsing and variable substitution, as Docker's parser and shell lexer do them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile, expandWord, expandWords, nameValues, parseDuration } from '../../src/build/index.js';

test('continuations, comments inside them, and flags', () => {
  const df = parseDockerfile([
    'FROM busybox AS base',
    '# a comment',
    'RUN echo a \\',
    '# dropped comment',
    '',
    '    && echo b',
    'COPY --from=base --chown=1:2 /a /b',
    'run echo lower',
  ].join('\n'));
  assert.deepEqual(df.instructions.map((i) => i.cmd), ['FROM', 'RUN', 'COPY', 'RUN']);
  assert.equal(df.instructions[1]!.rest, 'echo a     && echo b');
  assert.equal(df.instructions[1]!.line, 3);
  assert.deepEqual([...df.instructions[2]!.flags], [['from', 'base'], ['chown', '1:2']]);
  assert.equal(df.instructions[2]!.rest, '/a /b');
  assert.equal(df.instructions[3]!.original, 'run echo lower');
});

test('the escape directive changes the continuation character', () => {
  const df = parseDockerfile('# escape=`\nFROM x\nRUN dir c:\\ `\n  && echo hi\n');
  assert.equal(df.escape, '`');
  assert.equal(df.instructions[1]!.rest, 'dir c:\\   && echo hi');
  // A directive after the first instruction is only a comment.
  const late = parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b');
  assert.equal(late.escape, '\\');
  assert.equal(late.instructions[1]!.rest, 'a  b');
  assert.throws(() => parseDockerfile('# escape=x\nFROM x'), /invalid escape token 'x'/);
});

test('JSON and shell forms', () => {
  const df = parseDockerfile('FROM x\nCMD ["sh", "-c", "echo hi"]\nCMD echo hi\nENTRYPOINT [not json\n');
  assert.deepEqual(df.instructions[1]!.json, ['sh', '-c', 'echo hi']);
  assert.equal(df.instructions[2]!.json, undefined);
  assert.equal(df.instructions[3]!.json, undefined);
  assert.equal(df.instructions[3]!.rest, '[not json');
});

test('unknown instructions give Docker\'s parse error', () => {
  assert.throws(() => parseDockerfile('FROM x\n\nFROB y'), (e: Error) => e.message === 'dockerfile parse error on line 3: unknown instruction: FROB');
});

test('variable substitution: $VAR, ${VAR}, modifiers, quotes and escapes', () => {
  const env = new Map([['A', 'one'], ['E', ''], ['SP', 'x y']]);
  assert.equal(expandWord('$A-${A}', env), 'one-one');
  assert.equal(expandWord('${MISSING:-dflt} ${E:-empty} ${E-set}', env), 'dflt empty ');
  assert.equal(expandWord('${A:+alt}|${MISSING:+alt}|${E+alt}', env), 'alt||alt');
  assert.equal(expandWord("'$A' \"$A\" \\$A", env), '$A one $A');
  assert.equal(expandWord('"a\\"b\\\\c\\d"', env), 'a"b\\c\\d');
  assert.equal(expandWord('${MISSING:-$A}', env), 'one');
  assert.equal(expandWord('$ and $1x', env), '$ and x');
  assert.throws(() => expandWord('${MISSING:?need it}', env), /MISSING: need it/);
  assert.throws(() => expandWord('"open', env), /double-quote/);
  assert.deepEqual(expandWords('$SP "q r" s\\ t $MISSING end', env), ['x', 'y', 'q r', 's t', 'end']);
  // With the backtick escape, a backslash is an ordinary character.
  assert.equal(expandWord('c:\\dir `$A', env, '`'), 'c:\\dir $A');
});

test('ENV/LABEL/ARG pairs, and the legacy ENV form', () => {
  const [env1, env2, label, arg, bad] = parseDockerfile('FROM x\nENV A=1 B="two words"\nENV C the rest  here\nLABEL "k"=v\nARG X Y=2\nLABEL novalue').instructions.slice(1);
  assert.deepEqual(nameValues(env1!), [['A', '1'], ['B', '"two words"']]);
  assert.deepEqual(nameValues(env2!), [['C', 'the rest  here']]);
  assert.deepEqual(nameValues(label!), [['"k"', 'v']]);
  assert.deepEqual(nameValues(arg!), [['X', undefined], ['Y', '2']]);
  assert.throws(() => nameValues(bad!), /LABEL must have two arguments/);
});

test('healthcheck durations as Go parses them', () => {
  assert.equal(parseDuration('30s', 'interval'), 30e9);
  assert.equal(parseDuration('1m30s', 'interval'), 90e9);
  assert.equal(parseDuration('500ms', 'timeout'), 5e8);
  assert.throws(() => parseDuration('10', 'interval'), /invalid duration "10"/);
});
