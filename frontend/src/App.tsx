// Routes behind the sign-in gate. Hash routes (#/runs/…) so `orchestra serve` only has to
// serve index.html at `/`: a reload or a shared link never asks the server for a UI path.
import { HashRouter, Navigate, Route, Routes } from "react-router-dom";
import { AuthProvider, useAuth } from "./api/auth";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { AgentDetail } from "./pages/AgentDetail";
import { Agents } from "./pages/Agents";
import { RunPage } from "./pages/RunPage";
import { Runs } from "./pages/Runs";
import { SignIn } from "./pages/SignIn";
import { TaskPage } from "./pages/TaskPage";
import { Tasks } from "./pages/Tasks";
import { WorkflowDetail } from "./pages/WorkflowDetail";
import { Workflows } from "./pages/Workflows";

export function AppRoutes() {
  const { state } = useAuth();
  if (state.phase === "checking") return <Loading what="your session" />;
  if (state.phase === "signed-out") return <SignIn />;
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/" element={<Navigate to="/workflows" replace />} />
        <Route path="/workflows" element={<Workflows />} />
        <Route path="/workflows/:name" element={<WorkflowDetail />} />
        <Route path="/runs" element={<Runs />} />
        <Route path="/runs/:id" element={<RunPage />} />
        <Route path="/agents" element={<Agents />} />
        <Route path="/agents/:name" element={<AgentDetail />} />
        <Route path="/tasks" element={<Tasks />} />
        <Route path="/tasks/:id" element={<TaskPage />} />
        <Route path="*" element={<Navigate to="/workflows" replace />} />
      </Route>
    </Routes>
  );
}

export function App() {
  return (
    <AuthProvider>
      <HashRouter>
        <AppRoutes />
      </HashRouter>
    </AuthProvider>
  );
}
