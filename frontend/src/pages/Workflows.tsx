// Every workflow of the served project, with its inputs and step count.
import { Link } from "react-router-dom";
import { useSession } from "../api/auth";
import { Empty, ErrorBox, Loading } from "../components/ui";
import { useAsync } from "../live/useAsync";

export function Workflows() {
  const { client } = useSession();
  const [workflows, reload] = useAsync(() => client.workflows(), [client]);

  return (
    <div className="mx-auto max-w-5xl p-6">
      <h1 className="mb-4 text-xl font-bold">Workflows</h1>
      {workflows.phase === "loading" && <Loading what="workflows" />}
      {workflows.phase === "error" && <ErrorBox error={workflows.error} retry={reload} />}
      {workflows.phase === "ready" && workflows.value.length === 0 && (
        <Empty>
          No workflows in this project. Add a <code>workflows/*.workflow.md</code> file (
          <code>orchestra init</code> writes examples), then reload.
        </Empty>
      )}
      {workflows.phase === "ready" && workflows.value.length > 0 && (
        <ul className="grid gap-3 md:grid-cols-2">
          {workflows.value.map((workflow) => (
            <li key={workflow.name}>
              <Link
                to={`/workflows/${encodeURIComponent(workflow.name)}`}
                className="block h-full rounded-lg border border-slate-800 bg-slate-900 p-4 hover:border-sky-600 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
              >
                <div className="font-semibold text-sky-300">{workflow.name}</div>
                <p className="mt-1 line-clamp-2 text-sm text-slate-400">
                  {workflow.description || "No description."}
                </p>
                <p className="mt-2 text-xs text-slate-500">
                  {workflow.steps} step{workflow.steps === 1 ? "" : "s"} · inputs:{" "}
                  {workflow.inputs.length ? workflow.inputs.map((i) => i.name).join(", ") : "none"}
                </p>
              </Link>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
