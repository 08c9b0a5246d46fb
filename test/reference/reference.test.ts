import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseReference, referenceString, normalizedName, familiarName, familiarString, withDefaultTag,
  isImageIdLike, normalize, familiarize, parseRepositoryName, isValidTag,
} from '../../src/reference/index.js';
import { isInvalidArgument } from '../../src/util/index.js';

const HEX = 'a'.repeat(64);
const DIG = `sha256:${'0123456789abcdef'.repeat(4)}`;

// input → [domain, path, tag, digest, familiarString]
const valid: [string, string, string, string | undefined, string | undefined, string][] = [
  ['busybox', 'docker.io', 'library/busybox', undefined, undefined, 'busybox'],
  ['busybox:1.36', 'docker.io', 'library/busybox', '1.36', undefined, 'busybox:1.36'],
  ['library/busybox', 'docker.io', 'library/busybox', undefined, undefined, 'busybox'],
  ['docker.io/busybox', 'docker.io', 'library/busybox', undefined, undefined, 'busybox'],
  ['index.docker.io/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined, 'busybox:latest'],
  ['docker.io/library/busybox:latest', 'docker.io', 'library/busybox', 'latest', undefined, 'busybox:latest'],
  ['user/app', 'docker.io', 'user/app', undefined, undefined, 'user/app'],
  ['user/app:v1', 'docker.io', 'user/app', 'v1', undefined, 'user/app:v1'],
  ['library/a/b', 'docker.io', 'library/a/b', undefined, undefined, 'library/a/b'],
  ['a/b/c/d', 'docker.io', 'a/b/c/d', undefined, undefined, 'a/b/c/d'],
  ['localhost/app', 'localhost', 'app', undefined, undefined, 'localhost/app'],
  ['localhost:5000/app', 'localhost:5000', 'app', undefined, undefined, 'localhost:5000/app'],
  ['localhost:5000/ns/app:tag', 'localhost:5000', 'ns/app', 'tag', undefined, 'localhost:5000/ns/app:tag'],
  ['127.0.0.1:5000/app', '127.0.0.1:5000', 'app', undefined, undefined, '127.0.0.1:5000/app'],
  ['[::1]:5000/app', '[::1]:5000', 'app', undefined, undefined, '[::1]:5000/app'],
  ['registry.example.com/a/b:c', 'registry.example.com', 'a/b', 'c', undefined, 'registry.example.com/a/b:c'],
  ['Example.COM/app', 'Example.COM', 'app', undefined, undefined, 'Example.COM/app'],
  ['UPPER/app', 'UPPER', 'app', undefined, undefined, 'UPPER/app'],
  ['my-host/app', 'docker.io', 'my-host/app', undefined, undefined, 'my-host/app'],
  ['a_b.c-d__e---f', 'docker.io', 'library/a_b.c-d__e---f', undefined, undefined, 'a_b.c-d__e---f'],
  [`busybox@${DIG}`, 'docker.io', 'library/busybox', undefined, DIG, `busybox@${DIG}`],
  [`busybox:1@${DIG}`, 'docker.io', 'library/busybox', '1', DIG, `busybox:1@${DIG}`],
  [`localhost:5000/app@${DIG}`, 'localhost:5000', 'app', undefined, DIG, `localhost:5000/app@${DIG}`],
  ['app:A_b.C-1', 'docker.io', 'library/app', 'A_b.C-1', undefined, 'app:A_b.C-1'],
  [`app:${'t'.repeat(128)}`, 'docker.io', 'library/app', 't'.repeat(128), undefined, `app:${'t'.repeat(128)}`],
  [`${'a'.repeat(63)}`, 'docker.io', `library/${'a'.repeat(63)}`, undefined, undefined, 'a'.repeat(63)],
];

for (const [input, domain, path, tag, digest, familiar] of valid) {
  test(`parses ${input.slice(0, 60)}`, () => {
    const r = parseReference(input);
    assert.equal(r.domain, domain);
    assert.equal(r.path, path);
    assert.equal(r.tag, tag);
    assert.equal(r.digest, digest);
    assert.equal(familiarString(r), familiar);
    // Normalizing is idempotent.
    assert.deepEqual(parseReference(referenceString(r)), r);
  });
}

const invalid: [string, string][] = [
  ['', 'invalid reference format'],
  ['Busybox', 'invalid reference format: repository name (library/Busybox) must be lowercase'],
  ['user/App:tag', 'invalid reference format: repository name (user/App) must be lowercase'],
  ['localhost:5000/App', 'invalid reference format: repository name (App) must be lowercase'],
  [HEX, `invalid repository name (${HEX}), cannot specify 64-byte hexadecimal strings`],
  ['busybox:', 'invalid reference format'],
  [':tag', 'invalid reference format'],
  ['busybox:ta g', 'invalid reference format'],
  ['busybox:-tag', 'invalid reference format'],
  [`busybox:${'t'.repeat(129)}`, 'invalid reference format'],
  ['-busybox', 'invalid reference format'],
  ['busybox-', 'invalid reference format'],
  ['bus..ybox', 'invalid reference format'],
  ['bus___box', 'invalid reference format'],
  ['a//b', 'invalid reference format'],
  ['a/', 'invalid reference format'],
  ['/a', 'invalid reference format'],
  ['a/b/', 'invalid reference format'],
  ['../etc', 'invalid reference format'],
  ['busybox@sha256:abc', 'invalid reference format'],
  [`busybox@sha256:${'A'.repeat(64)}`, 'invalid checksum digest format'],
  [`busybox@sha256:${'a'.repeat(63)}`, 'invalid checksum digest length'],
  [`busybox@md5:${'a'.repeat(32)}`, 'unsupported digest algorithm'],
  ['busybox@latest', 'invalid reference format'],
  ['localhost:abc/app', 'invalid reference format'],
  [`docker.io/${'a/'.repeat(130)}b`, 'repository name must not be more than 255 characters'],
  ['busy box', 'invalid reference format'],
];

for (const [input, message] of invalid) {
  test(`rejects ${JSON.stringify(input.slice(0, 60))}`, () => {
    assert.throws(() => parseReference(input), (err: Error) => {
      assert.ok(isInvalidArgument(err), `kind of ${err}`);
      assert.equal(err.message, message);
      return true;
    });
  });
}

test('normalized, full and familiar names', () => {
  const r = parseReference('busybox');
  assert.equal(normalizedName(r), 'docker.io/library/busybox');
  assert.equal(referenceString(r), 'docker.io/library/busybox');
  assert.equal(referenceString(withDefaultTag(r)), 'docker.io/library/busybox:latest');
  assert.equal(familiarName(r), 'busybox');
  assert.equal(familiarName(parseReference('user/app:1')), 'user/app');
  assert.equal(familiarName(parseReference('localhost:5000/app')), 'localhost:5000/app');
  assert.equal(familiarName(parseReference('docker.io/library/a/b')), 'library/a/b');
  assert.equal(normalize('busybox'), 'docker.io/library/busybox:latest');
  assert.equal(normalize('busybox:1'), 'docker.io/library/busybox:1');
  assert.equal(normalize(`busybox@${DIG}`), `docker.io/library/busybox@${DIG}`);
  assert.equal(familiarize('docker.io/library/busybox:latest'), 'busybox:latest');
  assert.equal(familiarize('localhost:5000/x/y:z'), 'localhost:5000/x/y:z');
});

test('withDefaultTag keeps explicit tags and digests', () => {
  assert.equal(withDefaultTag(parseReference('a:v2')).tag, 'v2');
  const d = withDefaultTag(parseReference(`a@${DIG}`));
  assert.equal(d.tag, undefined);
  assert.equal(d.digest, DIG);
});

test('image ids', () => {
  assert.ok(isImageIdLike(HEX));
  assert.ok(isImageIdLike(`sha256:${HEX}`));
  assert.ok(!isImageIdLike('a'.repeat(63)));
  assert.ok(!isImageIdLike(`sha512:${HEX}`));
  assert.ok(!isImageIdLike('A'.repeat(64)));
  assert.ok(!isImageIdLike('busybox'));
});

test('repository names and tags', () => {
  assert.equal(normalizedName(parseRepositoryName('busybox')), 'docker.io/library/busybox');
  assert.throws(() => parseRepositoryName('busybox:1'), /invalid reference format/);
  assert.ok(isValidTag('v1.0_rc-2'));
  assert.ok(!isValidTag('.v1'));
  assert.ok(!isValidTag(''));
});
