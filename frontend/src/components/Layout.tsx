// The frame of the signed-in app: navigation, who is signed in, and the page.
import { NavLink, Outlet } from "react-router-dom";
import { useAuth, useSession } from "../api/auth";
import { Button } from "./ui";

const LINKS = [
  { to: "/workflows", text: "Workflows" },
  { to: "/runs", text: "Runs" },
  { to: "/tasks", text: "Tasks" },
  { to: "/agents", text: "Agents" },
];

export function Layout() {
  const { signOut } = useAuth();
  const { me, client } = useSession();
  return (
    <div className="flex h-screen min-h-0 flex-col">
      <a
        href="#main"
        className="sr-only focus:not-sr-only focus:absolute focus:left-2 focus:top-2 focus:z-50 focus:rounded focus:bg-sky-600 focus:px-3 focus:py-1"
      >
        Skip to content
      </a>
      <header className="flex min-h-12 shrink-0 flex-wrap items-center gap-x-6 gap-y-1 border-b border-slate-800 bg-slate-900 px-4 py-1">
        <span className="font-bold tracking-wide text-sky-300">Orchestra</span>
        <nav aria-label="Main" className="flex gap-1">
          {LINKS.map((link) => (
            <NavLink
              key={link.to}
              to={link.to}
              className={({ isActive }) =>
                `rounded px-3 py-1 text-sm focus:outline-none focus-visible:ring-2 focus-visible:ring-sky-300 ${
                  isActive ? "bg-slate-700 text-white" : "text-slate-300 hover:bg-slate-800"
                }`
              }
            >
              {link.text}
            </NavLink>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3 text-sm text-slate-400">
          <span data-testid="whoami">
            {me.name ?? "local"} · {me.role}
          </span>
          {/* With --insecure-local there is no key to forget. */}
          {client.key && <Button onClick={signOut}>Sign out</Button>}
        </div>
      </header>
      <main id="main" className="min-h-0 flex-1 overflow-auto">
        <Outlet />
      </main>
    </div>
  );
}
