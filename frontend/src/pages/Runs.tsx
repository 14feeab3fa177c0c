// Run history: filter by status and workflow, follow the server's cursor pages.
import { useState } from "react";
import { Link } from "react-router-dom";
import { useSession } from "../api/auth";
import { Button, Empty, ErrorBox, Loading, StatusBadge, formatCost, formatDuration, formatTime } from "../components/ui";
import { useAsync } from "../live/useAsync";

const STATUSES = ["", "queued", "running", "waiting", "succeeded", "failed", "cancelled"];
const PAGE_SIZE = 50;

export function Runs() {
  const { client } = useSession();
  const [status, setStatus] = useState("");
  const [workflow, setWorkflow] = useState("");
  // The cursors of the pages before the current one, so "Previous" can go back.
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1];
  const [workflows] = useAsync(() => client.workflows(), [client]);
  const [page, reload] = useAsync(
    () => client.runs({ status, workflow, cursor, limit: PAGE_SIZE }),
    [client, status, workflow, cursor],
  );

  const select = (setter: (v: string) => void) => (value: string) => {
    setter(value);
    setCursors([null]);
  };

  return (
    <div className="mx-auto max-w-6xl p-6">
      <div className="mb-4 flex flex-wrap items-end gap-4">
        <h1 className="text-xl font-bold">Runs</h1>
        <div>
          <label htmlFor="filter-status" className="block text-xs text-slate-400">
            Status
          </label>
          <select
            id="filter-status"
            value={status}
            onChange={(e) => select(setStatus)(e.target.value)}
            className="rounded border border-slate-600 bg-slate-900 px-2 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
          >
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {s || "any"}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-workflow" className="block text-xs text-slate-400">
            Workflow
          </label>
          <select
            id="filter-workflow"
            value={workflow}
            onChange={(e) => select(setWorkflow)(e.target.value)}
            className="rounded border border-slate-600 bg-slate-900 px-2 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
          >
            <option value="">any</option>
            {workflows.phase === "ready" &&
              workflows.value.map((w) => (
                <option key={w.name} value={w.name}>
                  {w.name}
                </option>
              ))}
          </select>
        </div>
        <Button onClick={reload}>Refresh</Button>
      </div>
      {page.phase === "loading" && <Loading what="runs" />}
      {page.phase === "error" && <ErrorBox error={page.error} retry={reload} />}
      {page.phase === "ready" && page.value.items.length === 0 && (
        <Empty>
          {status || workflow
            ? "No run matches these filters."
            : "No runs yet. Open a workflow and press Run."}
        </Empty>
      )}
      {page.phase === "ready" && page.value.items.length > 0 && (
        <>
          <table className="w-full text-left text-sm">
            <caption className="sr-only">Runs, newest first</caption>
            <thead className="text-xs uppercase text-slate-400">
              <tr>
                <th className="py-2">Run</th>
                <th>Workflow</th>
                <th>State</th>
                <th>Started</th>
                <th>Duration</th>
                <th className="text-right">Tokens</th>
                <th className="text-right">Cost</th>
              </tr>
            </thead>
            <tbody>
              {page.value.items.map((run) => (
                <tr key={run.id} className="border-t border-slate-800">
                  <td className="py-2 font-mono text-xs">
                    <Link
                      to={`/runs/${encodeURIComponent(run.id)}`}
                      className="text-sky-300 underline focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
                    >
                      {run.id}
                    </Link>
                  </td>
                  <td>{run.workflow}</td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td className="text-slate-400">{formatTime(run.created_at)}</td>
                  <td>{formatDuration(run.duration_s)}</td>
                  <td className="text-right">{run.usage?.total_tokens ?? "—"}</td>
                  <td className="text-right">{formatCost(run.usage?.cost_usd)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav aria-label="Pages" className="mt-4 flex gap-2">
            <Button disabled={cursors.length <= 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous
            </Button>
            <Button
              disabled={!page.value.next_cursor}
              onClick={() => setCursors((c) => [...c, page.value.next_cursor])}
            >
              Next
            </Button>
          </nav>
        </>
      )}
    </div>
  );
}
