/**
 * Residency pins: where a project's (and a key's) requests may be processed. A pin names a data
 * zone (providers' `data_zone`, e.g. `eu`) and/or a list of regions (a target's region as the
 * deployment table knows it); a target is allowed when it satisfies every part. The pin in force
 * for a request is the intersection of its project's and its key's: a key narrows its project's
 * pin, never widens it. Pins are built once per policy snapshot, never per request.
 */

/** The residency settings of one project or one key, as stored (null: not pinned). */
export interface PinSettings {
  readonly dataZone: string | null;
  readonly regions: readonly string[] | null;
}

/** The pin a request is held to: what it allows, and how to name it in a refusal. */
export interface ResidencyPin {
  /** The data zone every target must declare; undefined: any zone. */
  readonly zone: string | undefined;
  /** The regions a target must be in; undefined: any region (an empty set allows none). */
  readonly regions: ReadonlySet<string> | undefined;
  /** True when the key's and the project's zones contradict each other: nothing is allowed. */
  readonly contradictory: boolean;
  /** The policy in words, with where each part comes from, e.g. `data zone "eu" (key), regions westeurope, swedencentral (project)`. */
  readonly policy: string;
}

/** Whether a target in `zone` and `region` may take a request held to `pin`. */
export function allows(pin: ResidencyPin, zone: string | undefined, region: string): boolean {
  if (pin.contradictory) return false;
  if (pin.zone !== undefined && zone !== pin.zone) return false;
  return pin.regions === undefined || pin.regions.has(region);
}

function hasPin(settings: PinSettings | undefined): settings is PinSettings {
  return settings !== undefined && (settings.dataZone !== null || settings.regions !== null);
}

/**
 * Why `key` would widen or contradict `project`, or undefined when it only narrows it (or either
 * is unpinned): a zone other than the project's (`param` data_zone), or a region the project's
 * regions leave out (`param` regions). The reason names both sides.
 */
export function widening(project: PinSettings, key: PinSettings): { param: 'data_zone' | 'regions'; reason: string } | undefined {
  if (project.dataZone !== null && key.dataZone !== null && key.dataZone !== project.dataZone) {
    return { param: 'data_zone', reason: `the key's data zone "${key.dataZone}" contradicts the project's data zone "${project.dataZone}"` };
  }
  const projectRegions = project.regions;
  if (projectRegions !== null && key.regions !== null) {
    const outside = key.regions.filter((region) => !projectRegions.includes(region));
    if (outside.length > 0) {
      return { param: 'regions', reason: `the key's regions ${outside.join(', ')} are outside the project's regions (${projectRegions.join(', ')})` };
    }
  }
  return undefined;
}

/**
 * The pin in force for a request of `project` made with `key` (none for token callers): the
 * intersection of both, or undefined when neither is pinned (routing then does no residency work
 * at all). A contradiction (possible only if storage was changed around the admin API's checks)
 * allows nothing rather than either side's pin.
 */
export function effectivePin(project: PinSettings, key?: PinSettings): ResidencyPin | undefined {
  const keyPinned = hasPin(key);
  if (!hasPin(project) && !keyPinned) return undefined;
  const parts: string[] = [];
  const zoneOf = (settings: PinSettings | undefined): string | undefined => settings?.dataZone ?? undefined;
  const projectZone = zoneOf(project);
  const keyZone = zoneOf(key);
  const contradictory = projectZone !== undefined && keyZone !== undefined && projectZone !== keyZone;
  if (contradictory) parts.push(`data zone "${keyZone}" (key) and data zone "${projectZone}" (project), which contradict each other`);
  else if (projectZone !== undefined || keyZone !== undefined) {
    const source = projectZone !== undefined && keyZone !== undefined ? 'project and key' : projectZone !== undefined ? 'project' : 'key';
    parts.push(`data zone "${projectZone ?? keyZone}" (${source})`);
  }
  let regions: Set<string> | undefined;
  const projectRegions = project.regions;
  const keyRegions = key?.regions ?? null;
  if (projectRegions !== null && keyRegions !== null) {
    regions = new Set(keyRegions.filter((region) => projectRegions.includes(region)));
    parts.push(`regions ${keyRegions.join(', ')} (key) within regions ${projectRegions.join(', ')} (project)`);
  } else if (projectRegions !== null || keyRegions !== null) {
    regions = new Set(projectRegions ?? keyRegions ?? []);
    parts.push(`regions ${[...regions].join(', ')} (${projectRegions !== null ? 'project' : 'key'})`);
  }
  return Object.freeze({ zone: projectZone ?? keyZone, regions, contradictory, policy: parts.join(', ') });
}
