/**
 * The verdict line each bench ends with (issue 12): `PASS|MISS <name> <measured> (goal <goal>)`.
 * The measured figure is a ratio to a baseline measured in the same run (these machines are
 * noisy), except where the goal itself is an absolute bound (a latency in seconds, say).
 */
export type Goal = {
  /** Short, stable name of the figure, e.g. `projection-throughput`. */
  name: string;
  measured: number;
  /** `atLeast`: measured ≥ bound passes; `atMost`: measured ≤ bound; `below`: measured < bound. */
  kind: "atLeast" | "atMost" | "below";
  bound: number;
  /** Unit printed after both numbers: `×` for ratios (the default), ` s`, … */
  unit?: string;
  /** Decimals of the measured figure. @default 3 */
  digits?: number;
};

const SYMBOL = { atLeast: "≥", atMost: "≤", below: "<" } as const;

export function goalMet(goal: Pick<Goal, "measured" | "kind" | "bound">): boolean {
  if (!Number.isFinite(goal.measured)) return false;
  if (goal.kind === "atLeast") return goal.measured >= goal.bound;
  if (goal.kind === "atMost") return goal.measured <= goal.bound;
  return goal.measured < goal.bound;
}

export function goalLine(goal: Goal): string {
  const unit = goal.unit ?? "×";
  const verdict = goalMet(goal) ? "PASS" : "MISS";
  return `${verdict} ${goal.name} ${goal.measured.toFixed(goal.digits ?? 3)}${unit} (goal ${SYMBOL[goal.kind]} ${goal.bound}${unit})`;
}

/** Prints `goalLine(goal)`. */
export function printGoal(goal: Goal): void {
  console.log(goalLine(goal));
}
