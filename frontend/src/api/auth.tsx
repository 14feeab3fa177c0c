// Who is signed in. The key lives in sessionStorage (this tab) or, with "remember me",
// localStorage; it is validated with GET /api/v1/me before the app trusts it. A server started
// with --insecure-local answers /me without a key, so the UI then skips the sign-in page.
import { createContext, useCallback, useContext, useEffect, useMemo, useState } from "react";
import type { ReactNode } from "react";
import { ApiClient, ApiError } from "./client";
import type { Me } from "./types";

const STORAGE_KEY = "orchestra.apiKey";

export function storedKey(): string | null {
  return sessionStorage.getItem(STORAGE_KEY) ?? localStorage.getItem(STORAGE_KEY);
}

function storeKey(key: string | null, remember: boolean): void {
  sessionStorage.removeItem(STORAGE_KEY);
  localStorage.removeItem(STORAGE_KEY);
  if (key === null) return;
  (remember ? localStorage : sessionStorage).setItem(STORAGE_KEY, key);
}

export type AuthState =
  | { phase: "checking" }
  | { phase: "signed-out"; error: string | null }
  | { phase: "signed-in"; me: Me; client: ApiClient };

interface AuthContextValue {
  state: AuthState;
  signIn: (key: string, remember: boolean) => Promise<boolean>;
  signOut: () => void;
}

const AuthContext = createContext<AuthContextValue | null>(null);

export function AuthProvider({ children, baseUrl = "" }: { children: ReactNode; baseUrl?: string }) {
  const [state, setState] = useState<AuthState>({ phase: "checking" });

  useEffect(() => {
    let cancelled = false;
    const key = storedKey();
    const client = new ApiClient(key, baseUrl);
    client
      .me()
      .then((me) => {
        if (!cancelled) setState({ phase: "signed-in", me, client });
      })
      .catch((exc: unknown) => {
        if (cancelled) return;
        const expired = key !== null && exc instanceof ApiError && exc.status === 401;
        if (expired) storeKey(null, false);
        setState({
          phase: "signed-out",
          error: expired
            ? "Your stored key was refused; sign in again."
            : exc instanceof ApiError && exc.status !== 401
              ? exc.message
              : null,
        });
      });
    return () => {
      cancelled = true;
    };
  }, [baseUrl]);

  const signIn = useCallback(
    async (key: string, remember: boolean): Promise<boolean> => {
      const client = new ApiClient(key.trim(), baseUrl);
      try {
        const me = await client.me();
        storeKey(key.trim(), remember);
        setState({ phase: "signed-in", me, client });
        return true;
      } catch (exc) {
        const message =
          exc instanceof ApiError && exc.status === 401
            ? "That key was not accepted. Check it, or create one with `orchestra keys create`."
            : exc instanceof Error
              ? exc.message
              : String(exc);
        setState({ phase: "signed-out", error: message });
        return false;
      }
    },
    [baseUrl],
  );

  const signOut = useCallback(() => {
    storeKey(null, false);
    setState({ phase: "signed-out", error: null });
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut }), [state, signIn, signOut]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthContextValue {
  const value = useContext(AuthContext);
  if (value === null) throw new Error("useAuth needs an <AuthProvider> above it");
  return value;
}

/** The signed-in client and identity; only for pages rendered behind the sign-in gate. */
export function useSession(): { me: Me; client: ApiClient } {
  const { state } = useAuth();
  if (state.phase !== "signed-in") throw new Error("useSession used outside the signed-in app");
  return { me: state.me, client: state.client };
}
