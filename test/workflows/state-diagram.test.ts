/**
 * docs/state-machine.md cannot drift from the code: its Mermaid diagram must equal the one generated
 * from the transition table the workflow moves through (workflows/delivery-machine.ts), its response-rule
 * table the one generated from `RESPONSE_RULES`, and the transition table must cover every status of the
 * contract. Regenerate with `UPDATE_STATE_DIAGRAM=1 npx jest
 * --selectProjects workflows -- test/workflows/state-diagram.test.ts`.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { DeliveryStatusSchema, TERMINAL_STATUSES } from '../../contracts/delivery';
import { SenderActionSchema, type SenderAction } from '../../contracts/itk3-response';
import { RESPONSE_CODES } from '../../itk3/response-codes';
import { OPERATOR_SEND_STATES, TRANSITIONS, responseRuleTable, stateDiagram, type StateNode } from '../../workflows/delivery-machine';

const DOC = path.resolve(__dirname, '../../docs/state-machine.md');
const BLOCK = /```mermaid\n([\s\S]*?)\n```/;
const RULES = /<!-- response-rules:begin -->\n([\s\S]*?)\n<!-- response-rules:end -->/;

/** The known ITK-ResponseCodes-1 codes of each sender action, from the code table the inbound edge classifies with. */
const codesByAction = (): Record<SenderAction, string[]> => {
  const out = Object.fromEntries(SenderActionSchema.options.map((a) => [a, [] as string[]])) as Record<SenderAction, string[]>;
  for (const info of Object.values(RESPONSE_CODES)) out[info.action].push(info.code);
  for (const codes of Object.values(out)) codes.sort();
  return out;
};

describe('state machine diagram', () => {
  it('docs/state-machine.md shows exactly the transition table of the workflow', () => {
    const doc = readFileSync(DOC, 'utf8');
    const generated = stateDiagram();
    if (process.env.UPDATE_STATE_DIAGRAM === '1') {
      writeFileSync(DOC, doc.replace(BLOCK, `\`\`\`mermaid\n${generated}\n\`\`\``));
      return;
    }
    const match = BLOCK.exec(doc);
    expect(match).not.toBeNull();
    expect(match![1]).toBe(generated);
  });

  it('docs/state-machine.md shows exactly the response-rule table of the workflow, with the codes of each class', () => {
    const doc = readFileSync(DOC, 'utf8');
    const generated = responseRuleTable(codesByAction());
    if (process.env.UPDATE_STATE_DIAGRAM === '1') {
      writeFileSync(DOC, doc.replace(RULES, `<!-- response-rules:begin -->\n${generated}\n<!-- response-rules:end -->`));
      return;
    }
    const match = RULES.exec(doc);
    expect(match).not.toBeNull();
    expect(match![1]).toBe(generated);
  });

  it('covers every delivery status, reaches each from the start, and ends only from outcome states', () => {
    const statuses = DeliveryStatusSchema.options;
    const nodes = new Set<StateNode>(TRANSITIONS.flatMap((t) => [t.from, t.to]));
    for (const s of statuses) expect(nodes).toContain(s);

    const reachable = new Set<StateNode>(['[*]']);
    for (let grown = true; grown; ) {
      grown = false;
      for (const t of TRANSITIONS) {
        if (reachable.has(t.from) && !reachable.has(t.to)) {
          reachable.add(t.to);
          grown = true;
        }
      }
    }
    for (const s of statuses) expect(reachable).toContain(s);

    const endsFrom = new Set(TRANSITIONS.filter((t) => t.to === '[*]').map((t) => t.from));
    expect([...endsFrom].sort()).toEqual([...TERMINAL_STATUSES].sort());
  });

  it('has one target per state and event (the workflow never has to choose)', () => {
    const seen = new Map<string, StateNode>();
    for (const t of TRANSITIONS) {
      const key = `${t.from}/${t.event}`;
      expect(seen.has(key) ? `${key} -> ${String(seen.get(key))} and ${t.to}` : key).toBe(key);
      seen.set(key, t.to);
    }
    for (const s of OPERATOR_SEND_STATES) {
      expect(TRANSITIONS).toContainEqual({ from: s, event: 'ABANDON', to: 'ABANDONED' });
    }
  });
});
