import { describe, expect, it } from "vitest";
import { task } from "../test/teamFixtures";
import { STATUS_ORDER, groupTasks } from "./board";

describe("groupTasks", () => {
  it("gives every status a column, in the order a task moves", () => {
    expect(groupTasks([]).map((c) => c.status)).toEqual([...STATUS_ORDER]);
  });

  it("keeps the main columns open and collapses empty optional ones", () => {
    const columns = groupTasks([]);
    const open = columns.filter((c) => !c.collapsed).map((c) => c.status);
    expect(open).toEqual(["queued", "assigned", "complete", "failed"]);
  });

  it("opens a phase column as soon as a task is in it", () => {
    const columns = groupTasks([task({ status: "build", agent: "writer" }), task({ status: "cancelled" })]);
    const byStatus = Object.fromEntries(columns.map((c) => [c.status, c]));
    expect(byStatus.build.collapsed).toBe(false);
    expect(byStatus.build.tasks).toHaveLength(1);
    expect(byStatus.cancelled.collapsed).toBe(false);
    expect(byStatus.design.collapsed).toBe(true);
    expect(byStatus.review.collapsed).toBe(true);
  });

  it("puts each task in its status's column and nowhere else", () => {
    const tasks = [
      task({ status: "queued" }),
      task({ status: "assigned" }),
      task({ status: "complete" }),
      task({ status: "complete" }),
      task({ status: "failed" }),
    ];
    const columns = groupTasks(tasks);
    expect(columns.map((c) => c.tasks.length)).toEqual([1, 1, 0, 0, 0, 0, 2, 1, 0]);
    for (const column of columns) {
      for (const t of column.tasks) expect(t.status).toBe(column.status);
    }
  });

  it("orders queued tasks as the dispatcher takes them: priority, then oldest", () => {
    const low = task({ title: "low", priority: 1, created_at: 1 });
    const highNew = task({ title: "high new", priority: 9, created_at: 30 });
    const highOld = task({ title: "high old", priority: 9, created_at: 10 });
    const queued = groupTasks([low, highNew, highOld])[0];
    expect(queued.tasks.map((t) => t.title)).toEqual(["high old", "high new", "low"]);
  });

  it("puts the most recently moved task on top of the other columns", () => {
    const older = task({ title: "older", status: "complete", updated_at: 100 });
    const newer = task({ title: "newer", status: "complete", updated_at: 200 });
    const complete = groupTasks([older, newer]).find((c) => c.status === "complete")!;
    expect(complete.tasks.map((t) => t.title)).toEqual(["newer", "older"]);
  });

  it("shows a task of a status it does not know with the queued ones", () => {
    const odd = task({ status: "paused-by-future" as never });
    expect(groupTasks([odd])[0].tasks).toEqual([odd]);
  });
});
