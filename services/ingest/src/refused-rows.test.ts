import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clickhouseErrorCode, refusedForContent } from './refused-rows.js';

test('a server error code is read from 18.16\'s text and from the client\'s parsed code; a network error has none', () => {
  const old = new Error('Code: 25, e.displayText() = DB::Exception: Cannot parse escape sequence: missing second part of surrogate pair: (while read the value of key s), e.what() = DB::Exception');
  assert.equal(clickhouseErrorCode(old), 25);
  assert.equal(refusedForContent(old), true);
  assert.equal(clickhouseErrorCode(Object.assign(new Error('Unsigned type must not contain'), { code: '72' })), 72);
  assert.equal(refusedForContent(Object.assign(new Error('Too many parts'), { code: '252' })), false, 'load, not content: the rows wait');
  assert.equal(clickhouseErrorCode(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8123'), { code: 'ECONNREFUSED' })), undefined);
  assert.equal(refusedForContent(new Error('Timeout error.')), false);
});
