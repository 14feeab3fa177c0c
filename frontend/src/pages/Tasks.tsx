// The task board: one column per status, cards moving as the dispatcher and the agents
// move the tasks (useTasks polls; see live/useTasks.ts). Operators get a "New task" form.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useSession } from "../api/auth";
import { canOperate } from "../api/client";
import type { Task } from "../api/team";
import { TASK_PAGE } from "../api/team";
import { Button, Empty, ErrorBox, Loading } from "../components/ui";
import { LINK, title } from "../components/teamUi";
import { useTasks } from "../live/useTasks";
import { groupTasks } from "../tasks/board";
import type { Column } from "../tasks/board";
import { TaskForm } from "../tasks/TaskForm";

function Card({ task }: { task: Task }) {
  return (
    <li
      data-testid="task-card"
      data-task-id={task.id}
      data-task-title={task.title}
      data-status={task.status}
      className="rounded-md border border-slate-700 bg-slate-800 p-2 text-sm shadow"
    >
      <Link to={`/tasks/${encodeURIComponent(task.id)}`} className={`${LINK} font-medium`}>
        {task.title}
      </Link>
      <div className="mt-1 flex flex-wrap gap-x-3 text-xs text-slate-400">
        <span>{task.agent ? `agent ${task.agent}` : "unassigned"}</span>
        <span title="priority (0–9, higher first)">P{task.priority}</span>
        <span title="complexity (1–10)">C{task.complexity}</span>
        {task.attempts > 1 && <span>attempt {task.attempts}</span>}
      </div>
      {task.capabilities.length > 0 && (
        <ul className="mt-1 flex flex-wrap gap-1" aria-label="Capabilities needed">
          {task.capabilities.map((c) => (
            <li key={c} className="rounded bg-slate-900 px-1 font-mono text-[11px] text-slate-300">
              {c}
            </li>
          ))}
        </ul>
      )}
      {task.status === "queued" && task.wait_reason && (
        <p data-testid="wait-reason" className="mt-1 text-xs text-amber-300">
          {task.wait_reason}
        </p>
      )}
    </li>
  );
}

function BoardColumn({ column }: { column: Column }) {
  const name = title(column.status);
  if (column.collapsed) {
    return (
      <section
        aria-label={`${name}, empty`}
        data-testid={`column-${column.status}`}
        data-collapsed="true"
        className="flex w-8 shrink-0 flex-col items-center rounded-lg border border-dashed border-slate-800 py-2 text-xs text-slate-500"
      >
        <span className="[writing-mode:vertical-rl]">{name} · 0</span>
      </section>
    );
  }
  return (
    <section
      aria-label={`${name}, ${column.tasks.length}`}
      data-testid={`column-${column.status}`}
      className="flex w-64 shrink-0 flex-col rounded-lg border border-slate-800 bg-slate-900"
    >
      <h2 className="flex items-center justify-between border-b border-slate-800 px-3 py-2 text-sm font-semibold">
        {name}
        <span className="rounded bg-slate-800 px-1.5 text-xs text-slate-400">{column.tasks.length}</span>
      </h2>
      <ul className="flex min-h-0 flex-1 flex-col gap-2 overflow-y-auto p-2">
        {column.tasks.map((task) => (
          <Card key={task.id} task={task} />
        ))}
      </ul>
    </section>
  );
}

export function Tasks({ pollMs }: { pollMs?: number } = {}) {
  const { me } = useSession();
  const [tasks, refresh] = useTasks(pollMs);
  const [formOpen, setFormOpen] = useState(false);
  const [created, setCreated] = useState<Task | null>(null);

  return (
    <div className="flex h-full min-h-0 flex-col p-6">
      <div className="mb-4 flex flex-wrap items-center gap-4">
        <h1 className="text-xl font-bold">Tasks</h1>
        {canOperate(me.role) && !formOpen && (
          <Button variant="primary" onClick={() => setFormOpen(true)}>
            New task
          </Button>
        )}
        {created && (
          <p role="status" className="text-sm text-green-300">
            Created{" "}
            <Link to={`/tasks/${encodeURIComponent(created.id)}`} className={LINK}>
              {created.title}
            </Link>
          </p>
        )}
        {tasks.phase === "ready" && tasks.error !== null && (
          <p role="status" className="text-sm text-amber-300">
            Cannot refresh the board ({tasks.error instanceof Error ? tasks.error.message : String(tasks.error)});
            retrying.
          </p>
        )}
      </div>
      {formOpen && (
        <TaskForm
          onCreated={(task) => {
            setCreated(task);
            setFormOpen(false);
            refresh();
          }}
          onClose={() => setFormOpen(false)}
        />
      )}
      {tasks.phase === "loading" && <Loading what="tasks" />}
      {tasks.phase === "error" && <ErrorBox error={tasks.error} retry={refresh} />}
      {tasks.phase === "ready" && tasks.value.length === 0 && (
        <Empty>
          No tasks yet.{" "}
          {canOperate(me.role)
            ? "Press New task, or run `orchestra tasks create --title …`."
            : "An operator can queue one with `orchestra tasks create`."}
        </Empty>
      )}
      {tasks.phase === "ready" && tasks.value.length > 0 && (
        <>
          <div data-testid="task-board" className="flex min-h-[300px] flex-1 gap-3 overflow-x-auto pb-2">
            {groupTasks(tasks.value).map((column) => (
              <BoardColumn key={column.status} column={column} />
            ))}
          </div>
          {tasks.value.length >= TASK_PAGE && (
            <p className="mt-2 text-xs text-slate-500">Showing the newest {TASK_PAGE} tasks.</p>
          )}
        </>
      )}
    </div>
  );
}
