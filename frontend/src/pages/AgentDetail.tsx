// One agent as a worker: its live state and load, what it is suited for, the tasks it holds,
// every session it had (task, outcome, tokens, cost) and every state change, with Pause /
// Resume for operators. Pausing stops new tasks; what the agent holds runs on.
import { useState } from "react";
import type { ReactNode } from "react";
import { Link, useParams } from "react-router-dom";
import { useSession } from "../api/auth";
import { canOperate } from "../api/client";
import { moveWorker } from "../api/team";
import type { WorkerDetail } from "../api/team";
import { Button, ErrorBox, Loading, formatCost, formatDuration, formatTime } from "../components/ui";
import {
  LINK,
  WorkerBadge,
  canPause,
  canResume,
  sessionCost,
  sessionTokens,
  successRate,
  title,
} from "../components/teamUi";
import { useWorker } from "../live/useWorkers";

function Stat({ name, children }: { name: string; children: ReactNode }) {
  return (
    <div className="rounded-md border border-slate-800 bg-slate-900 px-3 py-2">
      <dt className="text-xs uppercase text-slate-400">{name}</dt>
      <dd className="text-sm">{children}</dd>
    </div>
  );
}

function Moves({ worker, refresh }: { worker: WorkerDetail; refresh: () => void }) {
  const { client } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const move = (action: "pause" | "resume") => async () => {
    setBusy(true);
    setError(null);
    try {
      await moveWorker(client, worker.name, action);
      refresh();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="flex items-center gap-2">
      {canPause(worker.state) && (
        <Button disabled={busy} onClick={move("pause")}>
          Pause
        </Button>
      )}
      {canResume(worker.state) && (
        <Button variant="primary" disabled={busy} onClick={move("resume")}>
          Resume
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

function Body({ worker, refresh }: { worker: WorkerDetail; refresh: () => void }) {
  const { me } = useSession();
  const sessions = [...worker.sessions].sort((a, b) => b.started_at - a.started_at);
  const transitions = [...worker.transitions].sort((a, b) => b.at - a.at);
  return (
    <div className="mx-auto max-w-6xl p-6">
      <p className="mb-1 text-sm">
        <Link to="/agents" className={LINK}>
          ← Agents
        </Link>
      </p>
      <div className="mb-2 flex flex-wrap items-center gap-3">
        <h1 className="text-xl font-bold">{worker.name}</h1>
        <WorkerBadge state={worker.state} testId="worker-state" />
        {canOperate(me.role) && <Moves worker={worker} refresh={refresh} />}
      </div>
      <p className="mb-4 text-sm text-slate-400">
        {worker.description || "No description."} <span className="text-slate-500">({worker.source})</span>
      </p>
      <dl className="mb-6 grid grid-cols-2 gap-2 md:grid-cols-4">
        <Stat name="Load">
          <span data-testid="worker-load">
            {worker.active_tasks}/{worker.max_tasks}
          </span>
        </Stat>
        <Stat name="Success rate">{successRate(worker.succeeded, worker.ended)}</Stat>
        <Stat name="Tokens">{sessionTokens(worker.sessions)}</Stat>
        <Stat name="Cost">{formatCost(sessionCost(worker.sessions))}</Stat>
        <Stat name="Capabilities">{worker.capabilities.length ? worker.capabilities.join(", ") : "none"}</Stat>
        <Stat name="Complexity">
          {worker.complexity[0]}–{worker.complexity[1]}
        </Stat>
        <Stat name="Model">
          <span className="font-mono text-xs">{worker.model}</span>
        </Stat>
        <Stat name="Weight">{worker.weight}</Stat>
        <Stat name="Failures in a row">{worker.consecutive_failures}</Stat>
        <Stat name="Last active">{formatTime(worker.last_active_at)}</Stat>
        <Stat name="Heartbeat">{formatTime(worker.heartbeat_at)}</Stat>
        <Stat name="Current tasks">
          {worker.current_tasks.length === 0
            ? "none"
            : worker.current_tasks.map((id) => (
                <Link key={id} to={`/tasks/${encodeURIComponent(id)}`} className={`${LINK} mr-2 font-mono text-xs`}>
                  {id.slice(0, 8)}
                </Link>
              ))}
        </Stat>
      </dl>

      <section aria-label="Sessions" className="mb-6">
        <h2 className="mb-2 text-lg font-semibold">Sessions</h2>
        {sessions.length === 0 ? (
          <p className="text-sm text-slate-400">This agent has not taken a task yet.</p>
        ) : (
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Sessions, newest first</caption>
            <thead className="text-xs uppercase text-slate-400">
              <tr>
                <th className="py-2">Task</th>
                <th>Started</th>
                <th>Duration</th>
                <th>Outcome</th>
                <th className="text-right">Tokens</th>
                <th className="text-right">Cost</th>
              </tr>
            </thead>
            <tbody>
              {sessions.map((s) => (
                <tr key={s.id} className="border-t border-slate-800">
                  <td className="py-1.5">
                    <Link to={`/tasks/${encodeURIComponent(s.task_id)}`} className={`${LINK} font-mono text-xs`}>
                      {s.task_id.slice(0, 8)}
                    </Link>
                  </td>
                  <td className="text-slate-400">{formatTime(s.started_at)}</td>
                  <td>{s.ended_at === null ? "running" : formatDuration(s.ended_at - s.started_at)}</td>
                  <td>{s.outcome ? title(s.outcome) : "—"}</td>
                  <td className="text-right">{s.prompt_tokens + s.completion_tokens}</td>
                  <td className="text-right">{formatCost(s.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>

      <section aria-label="State changes">
        <h2 className="mb-2 text-lg font-semibold">State changes</h2>
        <ol className="text-sm">
          {transitions.map((t, index) => (
            <li key={`${t.at}-${index}`} className="flex flex-wrap items-center gap-2 border-t border-slate-800 py-1.5">
              <span className="w-44 text-xs text-slate-500">{formatTime(t.at)}</span>
              {t.source ? <WorkerBadge state={t.source} /> : <span className="text-slate-400">new</span>}
              <span aria-label="to">→</span>
              <WorkerBadge state={t.target} />
              <span className="text-slate-300">{t.reason}</span>
              <span className="text-xs text-slate-500">by {t.by}</span>
            </li>
          ))}
        </ol>
      </section>
    </div>
  );
}

export function AgentDetail() {
  const { name = "" } = useParams();
  const [worker, refresh] = useWorker(name);
  if (worker.phase === "loading") return <Loading what="the agent" />;
  if (worker.phase === "error") return <ErrorBox error={worker.error} retry={refresh} />;
  return <Body worker={worker.value} refresh={refresh} />;
}
