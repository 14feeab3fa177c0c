// Every agent with its model, tools, skills and current state (refreshed every few seconds,
// since the state changes as runs start and finish).
import { useEffect } from "react";
import { useSession } from "../api/auth";
import { Empty, ErrorBox, Loading, StatusBadge } from "../components/ui";
import { useAsync } from "../live/useAsync";

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

export function Agents() {
  const { client } = useSession();
  const [agents, reload] = useAsync(() => client.agents(), [client]);

  useEffect(() => {
    const timer = setInterval(reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [reload]);

  return (
    <div className="mx-auto max-w-6xl p-6">
      <h1 className="mb-4 text-xl font-bold">Agents</h1>
      {agents.phase === "loading" && <Loading what="agents" />}
      {agents.phase === "error" && <ErrorBox error={agents.error} retry={reload} />}
      {agents.phase === "ready" && agents.value.length === 0 && (
        <Empty>
          No agents in this project. Add an <code>agents/*.agent.md</code> file.
        </Empty>
      )}
      {agents.phase === "ready" && agents.value.length > 0 && (
        <table className="w-full text-left text-sm">
          <caption className="sr-only">Agents</caption>
          <thead className="text-xs uppercase text-slate-400">
            <tr>
              <th className="py-2">Agent</th>
              <th>Model</th>
              <th>Tools</th>
              <th>Skills</th>
              <th>State</th>
            </tr>
          </thead>
          <tbody>
            {agents.value.map((agent) => (
              <tr key={agent.name} className="border-t border-slate-800 align-top">
                <td className="py-2">
                  <div className="font-semibold">{agent.name}</div>
                  <div className="text-xs text-slate-400">{agent.description}</div>
                </td>
                <td className="font-mono text-xs">{agent.model}</td>
                <td>
                  <List items={agent.tools} />
                </td>
                <td>
                  <List items={agent.skills} />
                </td>
                <td>
                  <StatusBadge status={agent.state} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
