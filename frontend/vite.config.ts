/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// `npm run dev` proxies the API and its WebSocket to a running `orchestra serve`
// (ORCHESTRA_URL, default http://127.0.0.1:8000), so the UI hot-reloads against a real server.
const target = process.env.ORCHESTRA_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  // Relative asset URLs: the UI uses hash routes, so index.html is always the page that loads,
  // wherever `orchestra serve` mounts it.
  base: "./",
  plugins: [react()],
  server: {
    proxy: {
      "/api": { target, changeOrigin: true, ws: true },
      "/healthz": { target, changeOrigin: true },
    },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    environment: "jsdom",
    globals: true,
    setupFiles: ["./src/test/setup.ts"],
    include: ["src/**/*.test.{ts,tsx}"],
    css: false,
  },
});
