/**
 * Edit distance with adjacent transpositions counted as one edit (optimal string alignment), so
 * that the typos people actually make ("romos" for "rooms") stay at distance 1.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  const at = (i: number, j: number): number => d[i * cols + j] ?? 0;
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      d[i * cols + j] = best;
    }
  }
  return at(rows - 1, cols - 1);
}

// Case and separators are ignored so that `videoPublishers` or `video_publishers` point at
// `video-publishers`.
function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_]/g, "");
}

// One name inside the other (`livekit_packet_total_total`, `room`) is a doubled or clipped
// name, however many characters differ; below four characters containment means nothing.
function contains(a: string, b: string): boolean {
  const [shorter, longer] = a.length <= b.length ? [a, b] : [b, a];
  return shorter.length >= 4 && longer.includes(shorter);
}

/**
 * The candidates closest to `input`, best first, for "did you mean" hints. A candidate is offered
 * when one name contains the other, or when it is within a third of the input's length (at least
 * 2 edits) and closer than the input is long, so a short unrelated word suggests nothing.
 */
export function closestMatches(input: string, candidates: Iterable<string>, limit = 3): string[] {
  const wanted = normalize(input);
  const budget = Math.max(2, Math.ceil(wanted.length / 3));
  const scored: { candidate: string; distance: number; raw: number }[] = [];
  for (const candidate of new Set(candidates)) {
    const normalized = normalize(candidate);
    const edits = editDistance(wanted, normalized);
    const distance = contains(wanted, normalized) ? Math.min(edits, 1) : edits;
    if (distance <= budget && distance < wanted.length) {
      scored.push({ candidate, distance, raw: editDistance(input, candidate) });
    }
  }
  scored.sort((x, y) => x.distance - y.distance || x.raw - y.raw || x.candidate.localeCompare(y.candidate));
  return scored.slice(0, limit).map((s) => s.candidate);
}
