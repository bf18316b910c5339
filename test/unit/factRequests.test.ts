// What the engine asks the host for (src/engine/run.ts): every task's fact request merged
// into one fact script, and whether facts gathered for one request answer another (the
// second gathering happens exactly when a task read something the first did not fetch).
import { describe, expect, it } from 'vitest';
import { covers, mergeFactRequests } from '../../src/engine/run.js';
import type { FactRequest } from '../../src/facts/types.js';

const table = (name: string, family = 'inet') => ({ family, name });

describe('merging fact requests', () => {
  it('keeps every file, sysctl and table once, and says nothing of inotify or canonical tables no task asked for', () => {
    const merged = mergeFactRequests([
      { files: [{ path: '/a' }], sysctls: ['net.ipv4.ip_forward'], nftTables: [table('x')], nftBootFiles: [table('x')] },
      { files: [{ path: '/a', secret: true }, { path: '/b' }], sysctls: ['net.ipv4.ip_forward', 'fs.inotify.max_user_instances'], nftTables: [table('x'), table('x', 'ip')] },
      {},
    ]);
    // Two requests for one file become one (mergeFileRequests, tested with the fact script).
    expect(merged).toEqual({
      files: [expect.objectContaining({ path: '/a', secret: true }), { path: '/b' }],
      sysctls: ['net.ipv4.ip_forward', 'fs.inotify.max_user_instances'],
      nftTables: [table('x'), table('x', 'ip')],
      nftBootFiles: [table('x')],
    });
    expect(mergeFactRequests([])).toEqual({ files: [], sysctls: [], nftTables: [], nftBootFiles: [] });
  });

  it('keeps one canonical text per table, the last asked for', () => {
    const merged = mergeFactRequests([{ nftCanonical: [{ ...table('x'), text: 'old' }, { ...table('y'), text: 'y' }] }, { nftCanonical: [{ ...table('x'), text: 'new' }] }]);
    expect(merged.nftCanonical).toEqual([
      { ...table('x'), text: 'new' },
      { ...table('y'), text: 'y' },
    ]);
  });

  it('counts inotify instances always when one task says so, else when any listed interface is missing', () => {
    const inotify = (...requests: FactRequest['inotify'][]) => mergeFactRequests(requests.map((request) => ({ inotify: request }))).inotify;
    expect(inotify(undefined, undefined)).toBeUndefined();
    expect(inotify({ ifMissing: ['wg-a'] }, undefined)).toEqual({ ifMissing: ['wg-a'] });
    expect(inotify(undefined, { ifMissing: ['wg-a'] })).toEqual({ ifMissing: ['wg-a'] });
    expect(inotify({ ifMissing: ['wg-a'] }, true)).toBe(true);
    expect(inotify(true, { ifMissing: ['wg-a'] })).toBe(true);
    expect(inotify({ ifMissing: ['wg-a', 'wg-b'] }, { ifMissing: ['wg-b', 'wg-c'] })).toEqual({ ifMissing: ['wg-a', 'wg-b', 'wg-c'] });
  });
});

describe('facts gathered for one request answering another', () => {
  const have: FactRequest = {
    files: [{ path: '/plain' }, { path: '/key', wgKey: true, wgInterface: 'wg-a' }, { path: '/stat', statOnly: true }, { path: '/hashed', expectSha256: 'aa' }],
    sysctls: ['net.ipv4.ip_forward'],
    nftBootFiles: [table('x')],
    nftCanonical: [{ ...table('x'), text: 'table inet x {}' }],
    inotify: { ifMissing: ['wg-a'] },
  };

  it('covers what it fetched', () => {
    expect(covers(have, {})).toBe(true);
    expect(covers(have, have)).toBe(true);
    expect(covers(have, { files: [{ path: '/plain' }, { path: '/key', wgKey: true }], sysctls: ['net.ipv4.ip_forward'], nftBootFiles: [table('x')] })).toBe(true);
    expect(covers(have, { inotify: { ifMissing: ['wg-a'] } })).toBe(true);
    expect(covers({ ...have, inotify: true }, { inotify: { ifMissing: ['wg-z'] } })).toBe(true);
  });

  it('misses a file, a sysctl, a boot file, a canonical text or an inotify count it did not fetch', () => {
    expect(covers(have, { files: [{ path: '/other' }] })).toBe(false);
    expect(covers(have, { files: [{ path: '/plain', wgKey: true }] })).toBe(false);
    expect(covers(have, { files: [{ path: '/key', wgInterface: 'wg-b' }] })).toBe(false);
    expect(covers(have, { files: [{ path: '/hashed', expectSha256: 'bb' }] })).toBe(false);
    // A file fetched for its metadata only does not answer a task that reads its content.
    expect(covers(have, { files: [{ path: '/stat' }] })).toBe(false);
    expect(covers(have, { files: [{ path: '/stat', statOnly: true }] })).toBe(true);
    expect(covers(have, { sysctls: ['net.ipv4.conf.all.rp_filter'] })).toBe(false);
    expect(covers(have, { nftBootFiles: [table('x', 'ip')] })).toBe(false);
    expect(covers({}, { nftBootFiles: [table('x')] })).toBe(false);
    expect(covers(have, { nftCanonical: [{ ...table('x'), text: 'table inet x { }' }] })).toBe(false);
    expect(covers(have, { nftCanonical: [{ ...table('x', 'ip'), text: 'table inet x {}' }] })).toBe(false);
    expect(covers(have, { nftCanonical: [{ ...table('y'), text: 'table inet x {}' }] })).toBe(false);
    expect(covers({}, { nftCanonical: [{ ...table('x'), text: 'table inet x {}' }] })).toBe(false);
    expect(covers(have, { inotify: { ifMissing: ['wg-b'] } })).toBe(false);
    expect(covers(have, { inotify: { ifMissing: ['wg-a', 'wg-b'] } })).toBe(false);
    expect(covers(have, { inotify: true })).toBe(false);
    expect(covers({}, { inotify: { ifMissing: ['wg-a'] } })).toBe(false);
  });
});
