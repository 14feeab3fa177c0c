// Every agent: its definition (model, tools, skills, run state) and, as a worker of the
// task queue, its live state, load, current tasks, success rate and tokens. Agents
// registered through the API have no file, so they show with the worker columns only.
import { useEffect } from "react";
import { Link } from "react-router-dom";
import { useSession } from "../api/auth";
import type { Agent } from "../api/types";
import type { WorkerDetail } from "../api/team";
import { Empty, ErrorBox, Loading, StatusBadge } from "../components/ui";
import { LINK, WorkerBadge, sessionTokens, successRate } from "../components/teamUi";
import { useAsync } from "../live/useAsync";
import { useWorkers } from "../live/useWorkers";

const REFRESH_MS = 5000;

function List({ items }: { items: string[] }) {
  if (items.length === 0) return <span className="text-slate-500">none</span>;
  return (
    <ul className="flex flex-wrap gap-1">
      {items.map((item) => (
        <li key={item} className="rounded bg-slate-800 px-1.5 py-0.5 font-mono text-xs">
          {item}
        </li>
      ))}
    </ul>
  );
}

function WorkerCells({ worker, loading }: { worker: WorkerDetail | undefined; loading: boolean }) {
  if (!worker) {
    return (
      <td colSpan={5} className="text-xs text-slate-500">
        {loading ? "…" : "not registered as a worker yet"}
      </td>
    );
  }
  return (
    <>
      <td>
        <WorkerBadge state={worker.state} testId={`worker-state-${worker.name}`} />
      </td>
      <td data-testid={`worker-load-${worker.name}`}>
        {worker.active_tasks}/{worker.max_tasks}
      </td>
      <td>
        {worker.current_tasks.length === 0 ? (
          <span className="text-slate-500">—</span>
        ) : (
          <ul>
            {worker.current_tasks.map((id) => (
              <li key={id}>
                <Link to={`/tasks/${encodeURIComponent(id)}`} className={`${LINK} font-mono text-xs`}>
                  {id.slice(0, 8)}
                </Link>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td>{successRate(worker.succeeded, worker.ended)}</td>
      <td className="text-right">{sessionTokens(worker.sessions)}</td>
    </>
  );
}

interface Row {
  name: string;
  agent: Agent | undefined;
  worker: WorkerDetail | undefined;
}

function rows(agents: Agent[], workers: WorkerDetail[]): Row[] {
  const byName = new Map(workers.map((w) => [w.name, w]));
  const known = new Set(agents.map((a) => a.name));
  return [
    ...agents.map((agent) => ({ name: agent.name, agent, worker: byName.get(agent.name) })),
    ...workers.filter((w) => !known.has(w.name)).map((worker) => ({ name: worker.name, agent: undefined, worker })),
  ];
}

export function Agents() {
  const { client } = useSession();
  const [agents, reload] = useAsync(() => client.agents(), [client]);
  const [workers] = useWorkers();

  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  const workerList = workers.phase === "ready" ? workers.value : [];
  return (
    <div className="mx-auto max-w-7xl p-6">
      <h1 className="mb-4 text-xl font-bold">Agents</h1>
      {agents.phase === "loading" && <Loading what="agents" />}
      {agents.phase === "error" && <ErrorBox error={agents.error} retry={reload} />}
      {workers.phase === "error" && (
        <p role="status" className="mb-2 text-sm text-amber-300">
          Worker states are unavailable: {workers.error instanceof Error ? workers.error.message : String(workers.error)}
        </p>
      )}
      {agents.phase === "ready" && agents.value.length === 0 && workerList.length === 0 && (
        <Empty>
          No agents in this project. Add an <code>agents/*.agent.md</code> file.
        </Empty>
      )}
      {agents.phase === "ready" && (agents.value.length > 0 || workerList.length > 0) && (
        <div className="overflow-x-auto">
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Agents</caption>
            <thead className="text-xs uppercase text-slate-400">
              <tr>
                <th className="py-2">Agent</th>
                <th>Model</th>
                <th>Tools</th>
                <th>Skills</th>
                <th title="In workflow runs">Run state</th>
                <th title="In the task queue">Worker state</th>
                <th>Load</th>
                <th>Current tasks</th>
                <th>Success</th>
                <th className="text-right">Tokens</th>
              </tr>
            </thead>
            <tbody>
              {rows(agents.value, workerList).map(({ name, agent, worker }) => (
                <tr key={name} className="border-t border-slate-800 align-top" data-testid={`agent-row-${name}`}>
                  <td className="py-2 pr-2">
                    <Link to={`/agents/${encodeURIComponent(name)}`} className={`${LINK} font-semibold`}>
                      {name}
                    </Link>
                    <div className="text-xs text-slate-400">{agent?.description ?? worker?.description}</div>
                  </td>
                  <td className="font-mono text-xs">{agent?.model ?? worker?.model}</td>
                  <td>{agent ? <List items={agent.tools} /> : "—"}</td>
                  <td>{agent ? <List items={agent.skills} /> : "—"}</td>
                  <td>{agent ? <StatusBadge status={agent.state} /> : "—"}</td>
                  <WorkerCells worker={worker} loading={workers.phase === "loading"} />
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}
