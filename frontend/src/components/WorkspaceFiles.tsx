// The files of a task's or a run's workspace: what the agents wrote there (download any of
// them) and, for operators, an upload into it (the server checks size, type and path; its
// refusal is shown as it said it). A run of a task shares its task's folder, so both pages
// show the same files. Polled while the work is live, rarely once it ended.
import { useRef, useState } from "react";
import { useSession } from "../api/auth";
import { ApiError, canOperate } from "../api/client";
import { downloadWorkspaceFile, listWorkspace, uploadWorkspaceFile } from "../api/team";
import type { WorkspaceKind } from "../api/team";
import { usePolling } from "../live/usePolling";
import { Button, ErrorBox } from "./ui";

const LIVE_POLL_MS = 3000;
const DONE_POLL_MS = 10_000;

/** "No workspace yet" is not an error: a task waiting for an agent, a run no step wrote in. */
function notYet(error: unknown): boolean {
  return error instanceof ApiError && (error.code === "not_found" || error.code === "not_assigned");
}

function saveAs(blob: Blob, path: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = path.split("/").at(-1) ?? path;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export function WorkspaceFiles({ kind, itemId, live }: { kind: WorkspaceKind; itemId: string; live: boolean }) {
  const { client, me } = useSession();
  const [files, refresh] = usePolling(() => listWorkspace(client, kind, itemId), live ? LIVE_POLL_MS : DONE_POLL_MS, [
    client,
    kind,
    itemId,
    live,
  ]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [folder, setFolder] = useState("uploads");
  const picker = useRef<HTMLInputElement>(null);

  const download = async (path: string) => {
    setError(null);
    try {
      saveAs(await downloadWorkspaceFile(client, kind, itemId, path), path);
    } catch (exc) {
      setError(exc);
    }
  };
  const upload = async (file: File) => {
    setBusy(true);
    setError(null);
    const dir = folder.trim().replace(/^\/+|\/+$/g, "");
    try {
      await uploadWorkspaceFile(client, kind, itemId, dir ? `${dir}/${file.name}` : file.name, file);
      refresh();
    } catch (exc) {
      setError(exc);
    } finally {
      setBusy(false);
      if (picker.current) picker.current.value = "";
    }
  };

  const listed = files.phase === "ready" ? files.value.files : [];
  const missing = files.phase === "error" && notYet(files.error);
  return (
    <section aria-label="Workspace files">
      <h2 className="mb-2 text-lg font-semibold">Workspace</h2>
      {files.phase === "error" && !missing && <ErrorBox error={files.error} />}
      {files.phase === "loading" && <p className="text-sm text-slate-400">Loading files…</p>}
      {missing && (
        <p className="text-sm text-slate-400">
          {kind === "tasks"
            ? "No workspace yet: it is made when an agent takes the task."
            : "No files: no step of this run has written to its workspace."}
        </p>
      )}
      {files.phase === "ready" && listed.length === 0 && <p className="text-sm text-slate-400">No files yet.</p>}
      {listed.length > 0 && (
        <ul className="text-sm" data-testid="workspace-files">
          {listed.map((file) => (
            <li key={file.path} className="flex items-center justify-between gap-4 border-t border-slate-800 py-1">
              <button
                type="button"
                className="break-all text-left font-mono text-xs text-sky-300 hover:underline"
                title={`Download ${file.path}`}
                onClick={() => void download(file.path)}
              >
                {file.path}
              </button>
              <span className="shrink-0 text-xs text-slate-500">{file.size} B</span>
            </li>
          ))}
        </ul>
      )}
      {canOperate(me.role) && !(kind === "tasks" && missing) && (
        <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
          <label className="flex items-center gap-1 text-slate-400">
            Folder
            <input
              aria-label="Upload folder"
              className="w-32 rounded bg-slate-900 px-2 py-1 font-mono text-xs text-slate-100"
              value={folder}
              onChange={(e) => setFolder(e.target.value)}
            />
          </label>
          <input
            ref={picker}
            type="file"
            aria-label="Upload a file"
            className="hidden"
            onChange={(e) => {
              const file = e.target.files?.[0];
              if (file) void upload(file);
            }}
          />
          <Button disabled={busy} onClick={() => picker.current?.click()}>
            {busy ? "Uploading…" : "Upload a file"}
          </Button>
        </div>
      )}
      {error !== null && <ErrorBox error={error} />}
    </section>
  );
}
