import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { EncryptedFileStore } from '../../../store/content-store';
import { KnownDirs } from '../../../store/known-dirs';
import { IdempotencyStore } from '../../../client/api/idempotency';

const tmp = (): string => mkdtempSync(path.join(os.tmpdir(), 'known-dirs-'));

describe('KnownDirs: one mkdir per directory, not one per write', () => {
  afterEach(() => jest.restoreAllMocks());

  it('makes a directory before the first write into it and not before the next ones', async () => {
    const mkdir = jest.spyOn(fsp, 'mkdir');
    const dir = path.join(tmp(), 'a', 'b');
    const dirs = new KnownDirs();
    for (let i = 0; i < 5; i++) await dirs.writeIn(dir, async () => writeFileSync(path.join(dir, `${i}.txt`), 'x'));
    expect(mkdir.mock.calls.filter(([p]) => p === dir)).toHaveLength(1);
    expect(readdirSync(dir).sort()).toEqual(['0.txt', '1.txt', '2.txt', '3.txt', '4.txt']);
  });

  it('makes the directory again when it was removed after the first write', async () => {
    const dir = path.join(tmp(), 'gone');
    const dirs = new KnownDirs();
    const write = (name: string) => () => fsp.writeFile(path.join(dir, name), 'x');
    await dirs.writeIn(dir, write('1.txt'));
    rmSync(dir, { recursive: true });
    await dirs.writeIn(dir, write('2.txt'));
    expect(readdirSync(dir)).toEqual(['2.txt']);
  });

  it('passes on any other failure of the write, and tries it only once', async () => {
    const dirs = new KnownDirs();
    const write = jest.fn(async () => {
      throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    });
    await expect(dirs.writeIn(tmp(), write)).rejects.toThrow('disk full');
    expect(write).toHaveBeenCalledTimes(1);
  });
});

describe('the stores write on after their directory was removed', () => {
  it('content store: a put after its kind directory was removed stores and reads back', async () => {
    const root = tmp();
    const store = new EncryptedFileStore(root, new Map([['k1', Buffer.alloc(32, 7)]]), 'k1');
    await store.put('submission', Buffer.from('first'));
    rmSync(path.join(root, 'submission'), { recursive: true });
    const ref = await store.put('submission', Buffer.from('second'));
    expect((await store.get(ref)).toString()).toBe('second');
  });

  it('idempotency store: a reservation after its directory was removed is new, and the next one sees it', async () => {
    const dir = path.join(tmp(), 'idempotency');
    const store = new IdempotencyStore(dir);
    expect((await store.reserve('key-1', 'a'.repeat(64), 'wf-1')).outcome).toBe('new');
    rmSync(dir, { recursive: true });
    expect(existsSync(dir)).toBe(false);
    expect((await store.reserve('key-2', 'b'.repeat(64), 'wf-2')).outcome).toBe('new');
    expect((await store.reserve('key-2', 'b'.repeat(64), 'wf-2')).outcome).toBe('same');
  });
});
