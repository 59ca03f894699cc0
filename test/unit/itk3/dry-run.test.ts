import { ErrorType } from '../../../contracts/errors';
import type * as ErrorsModule from '../../../contracts/errors';
import type * as DryRunModule from '../../../itk3/dry-run';
import { assertDryRun, dryRunIssues, Itk3Error, type DryRunSettings } from '../../../itk3';
import { INVALID_NHS_NUMBER, NOW, PATIENTS, submission } from '../../fixtures/itk3/submissions';

const settings: DryRunSettings = { profile: '2.x', routing: { mode: 'gpprovider', dobFormat: 'DDMMYYYY' }, maxMessageBytes: 5_000_000 };
const now = new Date(NOW);

describe('dryRunIssues (the one submission dry run)', () => {
  it('finds nothing in a submission a receiver would accept, and assertDryRun lets it through', () => {
    expect(dryRunIssues(submission(), settings, now)).toEqual([]);
    expect(() => assertDryRun(submission(), settings, now)).not.toThrow();
  });

  it('returns what a receiver would reject as issues with requirement ids, never the values', () => {
    const bad = submission({ patient: { ...PATIENTS.ada, nhsNumber: INVALID_NHS_NUMBER } });
    const issues = dryRunIssues(bad, settings, now);
    expect(issues).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'patient.nhsNumber', requirementId: 'GPCM-SD-035' })]));
    expect(JSON.stringify(issues)).not.toContain(INVALID_NHS_NUMBER);
  });

  it('applies the deployment size limit to a message of the real size', () => {
    expect(dryRunIssues(submission(), { ...settings, maxMessageBytes: 1000 }, now)).toEqual([
      expect.objectContaining({ requirementId: 'ITK3-20015' }),
    ]);
    // The builder's default limit when the deployment sets none.
    expect(dryRunIssues(submission(), { profile: '2.x', routing: settings.routing }, now)).toEqual([]);
  });

  it('uses the routing it is given (a mailbox that is not a MESH mailbox id is refused)', () => {
    expect(dryRunIssues(submission(), { ...settings, routing: { mode: 'mailbox', mailboxId: '' } }, now).length).toBeGreaterThan(0);
  });

  it('assertDryRun throws ITK3_BUILD_REJECTED carrying exactly the issues dryRunIssues returns', () => {
    const bad = submission({ patient: { ...PATIENTS.ada, nhsNumber: INVALID_NHS_NUMBER } });
    let thrown: unknown;
    try {
      assertDryRun(bad, settings, now);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Itk3Error);
    expect((thrown as Itk3Error).type).toBe(ErrorType.ITK3_BUILD_REJECTED);
    expect((thrown as Itk3Error).issues).toEqual(dryRunIssues(bad, settings, now));
  });
});

describe('dryRunIssues error mapping', () => {
  afterEach(() => jest.resetModules());

  /** The dry run with a builder that throws `makeError()`, built in the isolated registry so `instanceof` sees its classes. */
  function withBuilderThrowing(makeError: (errors: typeof ErrorsModule) => unknown): typeof DryRunModule {
    let mod!: typeof DryRunModule;
    let errors!: typeof ErrorsModule;
    jest.isolateModules(() => {
      errors = jest.requireActual('../../../contracts/errors');
      jest.doMock('../../../itk3/build-message', () => ({
        ...jest.requireActual<object>('../../../itk3/build-message'),
        buildSendDocumentMessage: () => {
          throw makeError(errors);
        },
      }));
      mod = jest.requireActual('../../../itk3/dry-run');
    });
    return mod;
  }

  it('turns a refusal without issues into one issue naming its type and message', () => {
    const { dryRunIssues: isolated } = withBuilderThrowing((e) => new e.CourierError(e.ErrorType.ITK3_BUILD_REJECTED, 'refused', []));
    expect(isolated(submission(), settings, now)).toEqual([{ message: 'ITK3_BUILD_REJECTED: refused' }]);
  });

  it('rethrows anything that is not a CourierError: a bug is not a refusal', () => {
    const { dryRunIssues: isolated } = withBuilderThrowing(() => new TypeError('boom'));
    expect(() => isolated(submission(), settings, now)).toThrow(TypeError);
  });
});
