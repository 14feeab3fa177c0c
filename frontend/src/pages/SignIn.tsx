// Sign in with an API key (`orchestra keys create`, or the admin key the first
// `orchestra serve` prints). The key is checked with GET /api/v1/me before it is stored.
import { useState } from "react";
import type { FormEvent } from "react";
import { useAuth } from "../api/auth";
import { Button } from "../components/ui";

export function SignIn() {
  const { state, signIn } = useAuth();
  const [key, setKey] = useState("");
  const [remember, setRemember] = useState(false);
  const [busy, setBusy] = useState(false);
  const error = state.phase === "signed-out" ? state.error : null;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!key.trim()) return;
    setBusy(true);
    await signIn(key, remember);
    setBusy(false);
  };

  return (
    <main className="flex h-screen items-center justify-center">
      <form
        onSubmit={submit}
        aria-labelledby="signin-title"
        className="w-full max-w-md space-y-4 rounded-xl border border-slate-800 bg-slate-900 p-8 shadow-xl"
      >
        <h1 id="signin-title" className="text-2xl font-bold text-sky-300">
          Sign in to Orchestra
        </h1>
        <p className="text-sm text-slate-400">
          Paste an API key. <code>orchestra keys create --role operator --name me</code> makes one;
          the first <code>orchestra serve</code> prints an admin key.
        </p>
        <div>
          <label htmlFor="api-key" className="mb-1 block text-sm font-medium">
            API key
          </label>
          <input
            id="api-key"
            type="password"
            autoComplete="current-password"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            className="w-full rounded-md border border-slate-600 bg-slate-950 px-3 py-2 focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-400"
            required
          />
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={remember} onChange={(e) => setRemember(e.target.checked)} />
          Remember on this computer
        </label>
        {error && (
          <p role="alert" className="rounded border border-red-700 bg-red-950 p-2 text-sm text-red-100">
            {error}
          </p>
        )}
        <Button type="submit" variant="primary" disabled={busy || !key.trim()} className="w-full">
          {busy ? "Checking…" : "Sign in"}
        </Button>
      </form>
    </main>
  );
}
