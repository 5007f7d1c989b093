import { describe, expect, it } from "vitest";
import { planLeaseRound } from "./lease-plan.ts";

const UNITS = [10, 11, 12, 13, 14, 15, 16, 17];

describe("planLeaseRound", () => {
  it.each([
    {
      case: "a lone replica wants every unit",
      held: [],
      live: 1,
      startAt: 0,
      plan: { share: 8, release: [], tryInOrder: UNITS, acquire: 8 },
    },
    {
      case: "a second replica appears: the first gives back its last half",
      held: UNITS,
      live: 2,
      startAt: 0,
      plan: { share: 4, release: [14, 15, 16, 17], tryInOrder: [], acquire: 0 },
    },
    {
      case: "the newcomer tries the free units from its own starting point",
      held: [],
      live: 2,
      startAt: 3,
      plan: { share: 4, release: [], tryInOrder: [13, 14, 15, 16, 17, 10, 11, 12], acquire: 4 },
    },
    {
      case: "three replicas: shares round up, 3 + 3 + 2",
      held: [10, 11, 12],
      live: 3,
      startAt: 0,
      plan: { share: 3, release: [], tryInOrder: [13, 14, 15, 16, 17], acquire: 0 },
    },
    {
      case: "a replica died: the survivors' share grows and they take its units",
      held: [10, 11, 12],
      live: 2,
      startAt: 1,
      plan: { share: 4, release: [], tryInOrder: [14, 15, 16, 17, 13], acquire: 1 },
    },
    {
      case: "no live replica counted yet (the presence lock not seen): counts itself",
      held: [],
      live: 0,
      startAt: 0,
      plan: { share: 8, release: [], tryInOrder: UNITS, acquire: 8 },
    },
    {
      case: "a start point beyond the free units wraps around",
      held: [10, 11, 12, 13, 14, 15],
      live: 1,
      startAt: 5,
      plan: { share: 8, release: [], tryInOrder: [17, 16], acquire: 2 },
    },
  ])("$case", ({ held, live, startAt, plan }) => {
    expect(planLeaseRound({ units: UNITS, held: new Set(held), liveReplicas: live, startAt })).toEqual(plan);
  });

  it("wants nothing when there is nothing to lease", () => {
    expect(planLeaseRound({ units: [], held: new Set(), liveReplicas: 3, startAt: 2 })).toEqual({
      share: 0,
      release: [],
      tryInOrder: [],
      acquire: 0,
    });
  });
});
