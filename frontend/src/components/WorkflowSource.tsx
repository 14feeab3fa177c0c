// The workflow file's Markdown, read-only, with line numbers (diagnostics and step `line`s
// point at them).
import { memo } from "react";

export const WorkflowSource = memo(function WorkflowSource({ source, path }: { source: string; path: string | null }) {
  const lines = source.replace(/\r\n?/g, "\n").split("\n");
  return (
    <section aria-label="Workflow source" className="flex h-full min-h-0 flex-col" data-testid="workflow-source">
      <h2 className="px-2 py-1 text-xs text-slate-400">{path ?? "workflow"} (read-only)</h2>
      <pre className="min-h-0 flex-1 overflow-auto bg-slate-950 p-2 text-xs leading-5 text-slate-200">
        {lines.map((line, n) => (
          <div key={n} className="flex">
            <span aria-hidden="true" className="w-8 shrink-0 select-none pr-2 text-right text-slate-500">
              {n + 1}
            </span>
            <span className="whitespace-pre-wrap break-words">{line}</span>
          </div>
        ))}
      </pre>
    </section>
  );
});
