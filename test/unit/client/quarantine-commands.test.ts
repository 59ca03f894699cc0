/** `itk3 quarantine list`: an entry the API could not decode is printed with why, not as a blank row. */
import { Command } from 'commander';
import { registerQuarantineCommands } from '../../../client/cli/quarantine-commands';
import { UNDECODABLE_MESSAGE } from '../../../client/lib/api-schemas';

describe('itk3 quarantine list', () => {
  afterEach(() => jest.restoreAllMocks());

  it('prints an undecodable entry with its id, the reason it cannot be shown and the key it was written under', async () => {
    const items = [
      { quarantineId: 'inbound-quarantine-X26ABC1-M1', status: 'OPEN', reason: 'MALFORMED', receivedAt: '2026-12-06T10:00:00.000Z' },
      { quarantineId: 'inbound-quarantine-X26ABC1-M2', status: 'OPEN', reason: 'MALFORMED', undecodable: { message: UNDECODABLE_MESSAGE, keyIds: ['retired-key'] } },
    ];
    const fetchSpy = jest.spyOn(globalThis, 'fetch').mockResolvedValue(new Response(JSON.stringify({ items }), { status: 200, headers: { 'content-type': 'application/json' } }));
    const printed: string[] = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => printed.push(String(s)) > 0);
    const program = new Command().exitOverride();
    registerQuarantineCommands(program, { apiUrl: () => 'http://127.0.0.1:1', asJson: () => false });

    await program.parseAsync(['quarantine', 'list', '--reason', 'malformed'], { from: 'user' });

    expect(String(fetchSpy.mock.calls[0]![0])).toContain('/v1/quarantine?status=OPEN&reason=MALFORMED');
    const lines = printed.join('').trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^inbound-quarantine-X26ABC1-M1 +OPEN +MALFORMED +2026-12-06T10:00:00.000Z$/);
    expect(lines[1]).toMatch(/^inbound-quarantine-X26ABC1-M2 +OPEN +MALFORMED +cannot be decoded with the configured keys \(key retired-key\)$/);
  });
});
