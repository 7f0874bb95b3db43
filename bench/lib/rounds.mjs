// Interleaved measurement rounds: which of them count, and their counts summed.

/** A round during which other processes used more than this many cores counts as noisy. */
export const NOISY_CORES = 0.25;

/**
 * Which rounds count. On a machine shared with other work, a round during which other processes
 * used more than NOISY_CORES is left out, as long as every path keeps at least three quiet rounds;
 * otherwise all rounds count and the run is reported as noisy. `foreignOf(round)` gives the
 * cores other processes used during a round (null when unknown).
 */
export function selectRounds(roundsByPath, foreignOf) {
  const isQuiet = (round) => {
    const foreign = foreignOf(round);
    return foreign !== null && foreign !== undefined && foreign <= NOISY_CORES;
  };
  const quietOnly = Object.values(roundsByPath).every((list) => list.filter(isQuiet).length >= Math.min(3, list.length));
  return { quietOnly, pick: (name) => (quietOnly ? roundsByPath[name].filter(isQuiet) : roundsByPath[name]) };
}

/** The statuses and errors of open-loop rounds, summed over all of them. */
export function mergeCounts(rounds) {
  const statuses = {};
  const errors = {};
  for (const round of rounds) {
    for (const [code, n] of Object.entries(round.statuses)) statuses[code] = (statuses[code] ?? 0) + n;
    for (const [code, n] of Object.entries(round.errors)) errors[code] = (errors[code] ?? 0) + n;
  }
  return { statuses, errors };
}
