// HTTP client for /api/v1. Every failure becomes an ApiError carrying the contract's stable
// error code, so pages can tell "sign in again" (unauthorized) from "not found" from "server down".
import type {
  Agent,
  EventsPage,
  Me,
  Page,
  Run,
  RunSummary,
  Workflow,
  WorkflowSummary,
} from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details: unknown = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export interface RunFilters {
  status?: string;
  workflow?: string;
  limit?: number;
  cursor?: string | null;
}

function query(params: Record<string, string | number | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

export class ApiClient {
  readonly baseUrl: string;
  readonly key: string | null;

  /** `baseUrl` is the server origin ("" = the page's own origin, which is how `orchestra serve` ships the UI). */
  constructor(key: string | null, baseUrl = "") {
    this.key = key;
    this.baseUrl = baseUrl;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await this.send(method, path, headers, body === undefined ? undefined : JSON.stringify(body));
    if (response.status === 204) return undefined as T;
    return (await response.json()) as T;
  }

  /** A request whose body or answer is a file, not JSON: the answer as it came (errors thrown
   *  as ApiError like every other call). Downloads need this because a plain link cannot carry
   *  the Authorization header. */
  raw(method: string, path: string, body?: Blob, contentType = "application/octet-stream"): Promise<Response> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers["Content-Type"] = body.type || contentType;
    return this.send(method, path, headers, body);
  }

  private async send(
    method: string,
    path: string,
    headers: Record<string, string>,
    body: BodyInit | undefined,
  ): Promise<Response> {
    if (this.key) headers.Authorization = `Bearer ${this.key}`;
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}/api/v1${path}`, { method, headers, body });
    } catch (exc) {
      throw new ApiError(
        0,
        "network",
        `Cannot reach the Orchestra server (${String(exc)}). Check that \`orchestra serve\` is running.`,
      );
    }
    if (response.ok) return response;
    let code = "internal";
    let message = `${method} ${path} failed with HTTP ${response.status}`;
    let details: unknown = null;
    try {
      const payload = (await response.json()) as {
        error?: { code?: string; message?: string; details?: unknown };
      };
      if (payload.error) {
        code = payload.error.code ?? code;
        message = payload.error.message ?? message;
        details = payload.error.details ?? null;
      }
    } catch {
      // Not the contract's JSON error (a proxy's HTML page, say): keep the generic message.
    }
    throw new ApiError(response.status, code, message, details);
  }

  me(): Promise<Me> {
    return this.request("GET", "/me");
  }

  workflows(): Promise<WorkflowSummary[]> {
    return this.request("GET", "/workflows");
  }

  workflow(name: string): Promise<Workflow> {
    return this.request("GET", `/workflows/${encodeURIComponent(name)}`);
  }

  agents(): Promise<Agent[]> {
    return this.request("GET", "/agents");
  }

  startRun(workflow: string, inputs: Record<string, unknown>): Promise<Run> {
    return this.request("POST", "/runs", { workflow, inputs });
  }

  runs(filters: RunFilters = {}): Promise<Page<RunSummary>> {
    return this.request(
      "GET",
      `/runs${query({
        status: filters.status,
        workflow: filters.workflow,
        limit: filters.limit ?? 50,
        cursor: filters.cursor,
      })}`,
    );
  }

  run(id: string): Promise<Run> {
    return this.request("GET", `/runs/${encodeURIComponent(id)}`);
  }

  events(id: string, after = 0, limit = 1000): Promise<EventsPage> {
    return this.request("GET", `/runs/${encodeURIComponent(id)}/events${query({ after, limit })}`);
  }

  cancelRun(id: string): Promise<Run> {
    return this.request("POST", `/runs/${encodeURIComponent(id)}/cancel`);
  }

  resumeRun(id: string): Promise<Run> {
    return this.request("POST", `/runs/${encodeURIComponent(id)}/resume`);
  }

  decide(id: string, step: string, decision: "approve" | "reject", reason: string): Promise<Run> {
    return this.request(
      "POST",
      `/runs/${encodeURIComponent(id)}/steps/${encodeURIComponent(step)}/${decision}`,
      { reason },
    );
  }
}

/** The WebSocket URL on the same origin as the API. */
export function socketUrl(baseUrl = ""): string {
  const origin = baseUrl || window.location.origin;
  return `${origin.replace(/^http/, "ws")}/api/v1/ws`;
}

export function canOperate(role: string | undefined | null): boolean {
  return role === "operator" || role === "admin";
}
