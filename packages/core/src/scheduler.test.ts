import { img2imgStartIndex } from './scheduler';

describe('img2imgStartIndex (diffusers get_timesteps)', () => {
  it('skips n − min(⌊n·strength⌋, n) steps of `order` timesteps', () => {
    expect(img2imgStartIndex(50, 0.8)).toBe(10);
    expect(img2imgStartIndex(10, 1)).toBe(0);
    expect(img2imgStartIndex(10, 0.05)).toBe(10); // ⌊0.5⌋ = 0 steps denoised, as diffusers
    expect(img2imgStartIndex(10, 0.5, 2)).toBe(10);
    expect(img2imgStartIndex(3, 0.7)).toBe(1);
  });

  it('refuses a strength outside (0, 1], naming it', () => {
    expect(() => img2imgStartIndex(10, 0)).toThrow('strength must be a number in (0, 1], got 0');
    expect(() => img2imgStartIndex(10, 1.5)).toThrow(/strength/);
  });
});
