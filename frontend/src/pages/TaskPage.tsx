// One task: what was asked, who took it, the run it became (with a link to its Run page),
// every update it had (moves, the agent's phase reports and notes), and Cancel / Retry for
// operators. Refreshed every second until the task ends, then every ten.
import { useState } from "react";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router-dom";
import { useSession } from "../api/auth";
import { canOperate } from "../api/client";
import { cancelTask, isFinal, retryTask } from "../api/team";
import type { TaskDetail, TaskUpdate } from "../api/team";
import { Button, ErrorBox, Loading, formatTime } from "../components/ui";
import { LINK, TaskBadge } from "../components/teamUi";
import { WorkspaceFiles } from "../components/WorkspaceFiles";
import { TASK_POLL_MS, useTask } from "../live/useTasks";

const FINAL_POLL_MS = 10_000;

function Row({ name, children }: { name: string; children: ReactNode }) {
  return (
    <div className="grid grid-cols-[9rem_1fr] gap-2 border-t border-slate-800 py-1.5 text-sm">
      <dt className="text-slate-400">{name}</dt>
      <dd className="min-w-0 break-words">{children}</dd>
    </div>
  );
}

function errorText(error: Record<string, unknown>): string {
  const message = error.message;
  const code = error.code;
  if (typeof message === "string") return typeof code === "string" ? `${code}: ${message}` : message;
  return JSON.stringify(error);
}

function UpdateLine({ update }: { update: TaskUpdate }) {
  const move = update.kind === "status" && update.target;
  return (
    <li className="relative border-l border-slate-700 pb-3 pl-4" data-testid="task-update" data-kind={update.kind}>
      <span className="absolute -left-1 top-1.5 h-2 w-2 rounded-full bg-slate-500" aria-hidden="true" />
      <div className="flex flex-wrap items-center gap-2 text-sm">
        {move ? (
          <>
            {update.source ? <TaskBadge status={update.source} /> : <span className="text-slate-400">created</span>}
            <span aria-label="to">→</span>
            <TaskBadge status={update.target!} />
          </>
        ) : (
          <span className="font-medium">{update.kind === "note" ? "Note" : update.kind}</span>
        )}
        <span className="text-xs text-slate-500">
          {formatTime(update.at)} · {update.by}
        </span>
      </div>
      {update.note && <p className="mt-0.5 whitespace-pre-wrap text-sm text-slate-300">{update.note}</p>}
    </li>
  );
}

function Actions({ task, refresh }: { task: TaskDetail; refresh: () => void }) {
  const { client } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const act = (action: typeof cancelTask) => async () => {
    setBusy(true);
    setError(null);
    try {
      await action(client, task.id);
      refresh();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="flex items-center gap-2">
      {!isFinal(task.status) && (
        <Button variant="danger" disabled={busy} onClick={act(cancelTask)}>
          Cancel task
        </Button>
      )}
      {(task.status === "failed" || task.status === "cancelled") && (
        <Button variant="primary" disabled={busy} onClick={act(retryTask)}>
          Retry task
        </Button>
      )}
      {error !== null && (
        <p role="alert" className="text-sm text-red-300">
          {error instanceof Error ? error.message : String(error)}
        </p>
      )}
    </div>
  );
}

function Body({ task, refresh }: { task: TaskDetail; refresh: () => void }) {
  const { me } = useSession();
  return (
    <div className="mx-auto max-w-5xl p-6">
      <p className="mb-1 text-sm">
        <Link to="/tasks" className={LINK}>
          ← Task board
        </Link>
      </p>
      <div className="mb-4 flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">{task.title}</h1>
        <TaskBadge status={task.status} testId="task-status" />
        {canOperate(me.role) && <Actions task={task} refresh={refresh} />}
      </div>
      <div className="grid gap-6 lg:grid-cols-[1fr_22rem]">
        <section aria-label="Task">
          <dl>
            <Row name="Description">
              <span className="whitespace-pre-wrap">{task.description || "—"}</span>
            </Row>
            <Row name="Agent">
              {task.agent ? (
                <Link to={`/agents/${encodeURIComponent(task.agent)}`} className={LINK}>
                  {task.agent}
                </Link>
              ) : (
                "not assigned yet"
              )}
            </Row>
            {task.status === "queued" && task.wait_reason && (
              <Row name="Waiting because">
                <span className="text-amber-300">{task.wait_reason}</span>
              </Row>
            )}
            <Row name="Run">
              {task.run_id ? (
                <Link to={`/runs/${encodeURIComponent(task.run_id)}`} className={`${LINK} font-mono text-xs`} data-testid="task-run">
                  {task.run_id}
                </Link>
              ) : (
                "none yet"
              )}
            </Row>
            {task.error && (
              <Row name="Error">
                <span className="text-red-300">{errorText(task.error)}</span>
              </Row>
            )}
            <Row name="Workflow">{task.workflow ?? "— (one step by its agent)"}</Row>
            {Object.keys(task.inputs).length > 0 && (
              <Row name="Inputs">
                <ul>
                  {Object.entries(task.inputs).map(([key, value]) => (
                    <li key={key}>
                      <span className="font-mono text-xs text-slate-400">{key}</span> = {value}
                    </li>
                  ))}
                </ul>
              </Row>
            )}
            <Row name="Complexity">{task.complexity}</Row>
            <Row name="Priority">{task.priority}</Row>
            <Row name="Capabilities">{task.capabilities.length ? task.capabilities.join(", ") : "none"}</Row>
            <Row name="Attempts">
              {task.attempts} of {task.max_attempts}
            </Row>
            <Row name="Created">
              {formatTime(task.created_at)} by {task.created_by}
            </Row>
            <Row name="Assigned">{formatTime(task.assigned_at)}</Row>
            <Row name="Finished">{formatTime(task.finished_at)}</Row>
            {task.idempotency_key && <Row name="Idempotency key">{task.idempotency_key}</Row>}
            <Row name="Id">
              <span className="font-mono text-xs">{task.id}</span>
            </Row>
          </dl>
        </section>
        <WorkspaceFiles kind="tasks" itemId={task.id} live={!isFinal(task.status)} />
        <section aria-label="Updates">
          <h2 className="mb-2 text-lg font-semibold">Updates</h2>
          {task.updates.length === 0 ? (
            <p className="text-sm text-slate-400">No updates yet.</p>
          ) : (
            <ol>
              {task.updates.map((update) => (
                <UpdateLine key={update.id} update={update} />
              ))}
            </ol>
          )}
        </section>
      </div>
    </div>
  );
}

export function TaskPage() {
  const { id = "" } = useParams();
  const [final, setFinal] = useState(false);
  const [task, refresh] = useTask(id, final ? FINAL_POLL_MS : TASK_POLL_MS);
  const nowFinal = task.phase === "ready" && isFinal(task.value.status);
  if (nowFinal !== final) setFinal(nowFinal);
  if (task.phase === "loading") return <Loading what="the task" />;
  if (task.phase === "error") return <ErrorBox error={task.error} retry={refresh} />;
  return <Body task={task.value} refresh={refresh} />;
}
