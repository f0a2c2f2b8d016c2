import { describe, expect, it } from "vitest";
import { runEstate, stackObject } from "../helpers";

describe("the mock runtime", () => {
  it("refuses a second program while one runs, rather than mixing their resources", async () => {
    const first = runEstate(stackObject("home"));
    await expect(runEstate(stackObject("singapore"))).rejects.toThrow(/one program at a time/);
    await first;
  });
});
