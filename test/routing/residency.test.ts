import { describe, expect, it } from 'vitest';
import { allows, effectivePin, widening } from '../../src/routing/residency.js';

const none = { dataZone: null, regions: null };

describe('residency pins', () => {
  it('is no pin at all when neither the project nor the key is pinned', () => {
    expect(effectivePin(none)).toBeUndefined();
    expect(effectivePin(none, none)).toBeUndefined();
  });

  it("takes the project's pin, the key's, or both, naming where each part comes from", () => {
    const project = effectivePin({ dataZone: 'eu', regions: null }, none);
    expect(project).toMatchObject({ zone: 'eu', regions: undefined, contradictory: false, policy: 'data zone "eu" (project)' });
    const key = effectivePin(none, { dataZone: null, regions: ['swedencentral'] });
    expect(key?.policy).toBe('regions swedencentral (key)');
    expect([...(key?.regions ?? [])]).toEqual(['swedencentral']);
    const both = effectivePin({ dataZone: 'eu', regions: null }, { dataZone: 'eu', regions: ['westeurope'] });
    expect(both?.policy).toBe('data zone "eu" (project and key), regions westeurope (key)');
  });

  it('intersects regions: a key narrows its project', () => {
    const pin = effectivePin({ dataZone: null, regions: ['westeurope', 'swedencentral'] }, { dataZone: null, regions: ['swedencentral', 'eastus'] });
    expect([...(pin?.regions ?? [])]).toEqual(['swedencentral']);
    expect(allows(pin!, undefined, 'swedencentral')).toBe(true);
    expect(allows(pin!, undefined, 'westeurope')).toBe(false);
    expect(allows(pin!, undefined, 'eastus')).toBe(false);
  });

  it('allows a target only when its zone and its region both fit', () => {
    const pin = effectivePin({ dataZone: 'eu', regions: ['westeurope'] })!;
    expect(allows(pin, 'eu', 'westeurope')).toBe(true);
    expect(allows(pin, 'eu', 'francecentral')).toBe(false);
    expect(allows(pin, 'us', 'westeurope')).toBe(false);
    expect(allows(pin, undefined, 'westeurope')).toBe(false);
    expect(allows(pin, 'global', 'westeurope')).toBe(false);
  });

  it('allows nothing when the key and the project contradict each other, and says so', () => {
    const pin = effectivePin({ dataZone: 'us', regions: null }, { dataZone: 'eu', regions: null })!;
    expect(pin.contradictory).toBe(true);
    expect(pin.policy).toBe('data zone "eu" (key) and data zone "us" (project), which contradict each other');
    expect(allows(pin, 'eu', 'westeurope')).toBe(false);
    expect(allows(pin, 'us', 'eastus')).toBe(false);
  });

  it('tells a key that would widen its project from one that narrows it', () => {
    expect(widening({ dataZone: 'eu', regions: null }, { dataZone: 'us', regions: null })).toEqual({
      param: 'data_zone',
      reason: `the key's data zone "us" contradicts the project's data zone "eu"`,
    });
    expect(widening({ dataZone: null, regions: ['westeurope'] }, { dataZone: null, regions: ['westeurope', 'eastus'] })?.param).toBe('regions');
    expect(widening({ dataZone: 'eu', regions: ['westeurope'] }, { dataZone: 'eu', regions: ['westeurope'] })).toBeUndefined();
    expect(widening(none, { dataZone: 'us', regions: ['eastus'] })).toBeUndefined();
    expect(widening({ dataZone: 'eu', regions: null }, none)).toBeUndefined();
  });
});
