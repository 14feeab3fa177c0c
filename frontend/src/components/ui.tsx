// Small shared pieces: status badges, the loading / empty / error states every page uses,
// and the button style (with a visible focus ring for keyboard users).
import type { ButtonHTMLAttributes, ReactNode } from "react";
import { ApiError } from "../api/client";

const STATUS_COLOURS: Record<string, string> = {
  queued: "bg-slate-600 text-slate-100",
  pending: "bg-slate-600 text-slate-100",
  running: "bg-yellow-400 text-slate-950",
  waiting: "bg-purple-600 text-white",
  succeeded: "bg-green-600 text-white",
  failed: "bg-red-600 text-white",
  cancelled: "bg-slate-700 text-slate-300",
  skipped: "bg-slate-700 text-slate-300",
  idle: "bg-slate-600 text-slate-100",
  active: "bg-yellow-400 text-slate-950",
  error: "bg-red-600 text-white",
};

export function label(status: string): string {
  if (status === "waiting") return "Waiting for approval";
  return status.charAt(0).toUpperCase() + status.slice(1);
}

export function StatusBadge({ status, testId }: { status: string | null; testId?: string }) {
  const value = status ?? "loading";
  return (
    <span
      data-testid={testId}
      data-status={value}
      className={`inline-block rounded px-2 py-0.5 text-xs font-semibold ${
        STATUS_COLOURS[value] ?? "bg-slate-700 text-slate-200"
      }`}
    >
      {status === null ? "…" : label(value)}
    </span>
  );
}

export function Loading({ what }: { what: string }) {
  return (
    <p role="status" className="p-6 text-slate-400">
      Loading {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="rounded-md border border-dashed border-slate-700 p-6 text-slate-400">{children}</div>;
}

export function ErrorBox({ error, retry }: { error: unknown; retry?: () => void }) {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof ApiError ? error.code : null;
  return (
    <div role="alert" className="m-4 rounded-md border border-red-700 bg-red-950 p-4 text-red-100">
      <p className="font-semibold">{code === "not_found" ? "Not found" : "Something went wrong"}</p>
      <p className="mt-1 text-sm">{message}</p>
      {retry && (
        <Button className="mt-3" onClick={retry}>
          Try again
        </Button>
      )}
    </div>
  );
}

type Variant = "primary" | "secondary" | "danger" | "approve";

const VARIANTS: Record<Variant, string> = {
  primary: "bg-sky-600 hover:bg-sky-500 text-white",
  secondary: "bg-slate-700 hover:bg-slate-600 text-slate-100",
  danger: "bg-red-700 hover:bg-red-600 text-white",
  approve: "bg-green-700 hover:bg-green-600 text-white",
};

export function Button({
  variant = "secondary",
  className = "",
  ...props
}: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return (
    <button
      type="button"
      {...props}
      className={`rounded-md px-3 py-1.5 text-sm font-medium focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]} ${className}`}
    />
  );
}

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return "—";
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatCost(usd: number | null | undefined): string {
  if (usd === null || usd === undefined) return "—";
  return usd === 0 ? "$0" : usd < 0.01 ? `$${usd.toFixed(4)}` : `$${usd.toFixed(2)}`;
}

export function formatTime(value: string | number | null | undefined): string {
  if (value === null || value === undefined || value === "") return "—";
  const date = typeof value === "number" ? new Date(value * 1000) : new Date(value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString();
}
