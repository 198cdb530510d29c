import { flagName, formatOptions, parseArguments, type OptionSpecs } from './argument-parser';
import { UsageError } from './usage-error';

const specs: OptionSpecs = {
  steps: { type: 'integer', short: 's', min: 1, description: 'steps', valueName: '<n>' },
  guidance: { type: 'number', min: 0, description: 'guidance' },
  strength: { type: 'number', min: 0, max: 1, exclusiveMin: true, description: 'strength' },
  textEncoder: { type: 'string', description: 'encoder', valueName: '<name>' },
  quiet: { type: 'boolean', short: 'q', description: 'quiet' },
};

function usageErrorOf(argv: string[]): string {
  try {
    parseArguments(argv, specs, 'generate');
  } catch (error) {
    expect(UsageError.isInstance(error)).toBe(true);
    return (error as Error).message;
  }
  throw new Error(`expected a usage error for ${argv.join(' ')}`);
}

describe('parseArguments', () => {
  it('reads --name value, --name=value, short aliases, switches and positionals', () => {
    expect(parseArguments(['a red', '--steps', '20', '--guidance=7.5', '-q', 'circle', '--text-encoder', 'multilingual'], specs, 'generate')).toEqual({
      values: { steps: 20, guidance: 7.5, quiet: true, textEncoder: 'multilingual' },
      positionals: ['a red', 'circle'],
    });
    expect(parseArguments(['-s', '3'], specs, 'generate').values).toEqual({ steps: 3 });
  });

  it('takes everything after -- as positionals, and negative numbers as values', () => {
    expect(parseArguments(['--', '--steps', '-q'], specs, 'generate').positionals).toEqual(['--steps', '-q']);
    expect(parseArguments(['-5'], specs, 'generate').positionals).toEqual(['-5']);
  });

  it('names unknown options and suggests the nearest one', () => {
    expect(usageErrorOf(['--step', '3'])).toBe("unknown option '--step' for 'latentkit generate': did you mean --steps?");
    expect(usageErrorOf(['--textencoder', 'x'])).toBe("unknown option '--textencoder' for 'latentkit generate': did you mean --text-encoder?");
    expect(usageErrorOf(['--frobnicate'])).toBe("unknown option '--frobnicate' for 'latentkit generate'");
  });

  it('says what value is expected when one is missing or malformed', () => {
    expect(usageErrorOf(['--steps'])).toBe('--steps needs a value (an integer ≥ 1)');
    expect(usageErrorOf(['--steps', '--quiet'])).toBe('--steps needs a value (an integer ≥ 1)');
    expect(usageErrorOf(['--text-encoder'])).toBe('--text-encoder needs a value (<name>)');
    expect(usageErrorOf(['--steps', 'ten'])).toBe("--steps must be an integer ≥ 1, got 'ten'");
    expect(usageErrorOf(['--steps', '2.5'])).toBe("--steps must be an integer ≥ 1, got '2.5'");
    expect(usageErrorOf(['--steps=0'])).toBe("--steps must be an integer ≥ 1, got '0'");
    expect(usageErrorOf(['--steps='])).toBe("--steps must be an integer ≥ 1, got ''");
    expect(usageErrorOf(['--guidance', 'NaN'])).toBe("--guidance must be a number ≥ 0, got 'NaN'");
    expect(usageErrorOf(['--strength', '0'])).toBe("--strength must be a number in (0, 1], got '0'");
    expect(usageErrorOf(['--strength', '1.5'])).toBe("--strength must be a number in (0, 1], got '1.5'");
    expect(usageErrorOf(['--quiet=yes'])).toBe("--quiet is a switch and takes no value, got 'yes'");
  });

  it('maps camelCase keys to kebab-case flags and formats help rows', () => {
    expect(flagName('textEncoder')).toBe('--text-encoder');
    expect(formatOptions({ steps: specs.steps!, quiet: specs.quiet! })).toBe('  -s, --steps <n>  steps\n  -q, --quiet      quiet');
  });
});
